"""Ellison-Glaeser (1997) index of geographic concentration from plant-level employment."""

from __future__ import annotations

import numpy as np
import pandas as pd

from spillover._validate import preview
from spillover.errors import AlignmentError, SpecificationError
from spillover.measures._cluster import _by, _checked


def ellison_glaeser(
    data: pd.DataFrame,
    *,
    industry: str,
    region: str,
    employment: str,
    time: str | None = None,
    area_shares: pd.Series | None = None,
) -> pd.DataFrame:
    """Ellison-Glaeser (1997) agglomeration index gamma of each industry.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per plant (or firm): its industry, region and employment.
    industry, region, employment : str
        Column names.
    time : str, optional
        Period column: the index is computed separately for each period.
    area_shares : pandas.Series, optional
        x_r, each region's share of aggregate employment, indexed by region (rescaled
        to sum to one; used for every period). Default: computed from ``data``, all
        industries together (EG use total manufacturing employment).

    Returns
    -------
    pandas.DataFrame
        Indexed by ([time,] industry), columns ``n_plants``, ``G``, ``H``, ``gamma``.

    Raises
    ------
    SpecificationError
        On missing keys, negative employment, or an industry with zero employment.
    AlignmentError
        If ``area_shares`` lacks regions present in ``data``.

    Notes
    -----
    With s_r the industry's share of its employment in region r, x_r the region's share
    of aggregate employment and z_j plant j's share of the industry's employment
    (Ellison and Glaeser 1997, eqs. 1-4):

    * G = sum_r (s_r - x_r)^2, the raw geographic concentration, summed over all
      regions (also those where the industry is absent); it is not divided by
      (1 - sum_r x_r^2);
    * H = sum_j z_j^2, the plant Herfindahl;
    * gamma = (G - (1 - sum_r x_r^2) H) / ((1 - sum_r x_r^2) (1 - H)).

    Under EG's model E[G] = (1 - sum_r x_r^2) (gamma + (1 - gamma) H), so gamma is
    unbiased for the spillover/natural-advantage parameter and has expectation 0 when
    plants locate independently with probabilities x_r. gamma is NaN for a
    single-plant industry (H = 1).

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover.measures import ellison_glaeser
    >>> df = pd.DataFrame({"ind": list("aabbccc"), "reg": list("NNNSNSS"),
    ...                    "emp": [10.0, 10, 10, 10, 20, 20, 20]})
    >>> eg = ellison_glaeser(df, industry="ind", region="reg", employment="emp")
    >>> eg.round(4)  # doctest: +NORMALIZE_WHITESPACE
         n_plants       G       H   gamma
    ind
    a           2  0.5000  0.5000  1.0000
    b           2  0.0000  0.5000 -1.0000
    c           3  0.0556  0.3333 -0.3333
    """
    sub = _checked(data, _by(time, industry, region), employment)
    cells = sub.groupby(_by(time, industry, region))[employment].sum().astype(float)
    ind_total = cells.groupby(level=_by(time, industry)).transform("sum")
    if (ind_total <= 0).any():
        empty = ind_total.index[ind_total <= 0].droplevel(region).unique()
        raise SpecificationError(
            f"{len(empty)} industries have zero total employment, e.g. {preview(empty)}; "
            "their regional shares are undefined. Drop them first."
        )
    s = cells / ind_total
    x, x_sq = _area_shares(sub, cells, region, employment, time, area_shares)
    xr = (
        x.reindex(cells.index.droplevel(industry)).to_numpy()
        if time
        else x.reindex(cells.index.get_level_values(region)).to_numpy()
    )
    levels = _by(time, industry)
    cross = (s**2 - 2 * s * xr).groupby(level=levels).sum()
    sum_x2 = x_sq.reindex(cross.index.get_level_values(time)).to_numpy() if time else x_sq
    g = cross + sum_x2
    z = sub[employment].astype(float) / sub.groupby(levels)[employment].transform("sum")
    h = (z**2).groupby([sub[c] for c in levels]).sum().reindex(g.index)
    n = sub.groupby(levels).size().reindex(g.index)
    one_x = 1.0 - sum_x2
    with np.errstate(divide="ignore", invalid="ignore"):
        gamma = np.where(h < 1, (g - one_x * h) / (one_x * (1 - h)), np.nan)
    return pd.DataFrame({"n_plants": n, "G": g, "H": h, "gamma": gamma}, index=g.index)


def _area_shares(
    sub: pd.DataFrame,
    cells: pd.Series,
    region: str,
    employment: str,
    time: str | None,
    area_shares: pd.Series | None,
) -> tuple[pd.Series, pd.Series | float]:
    """x_r (by [time,] region) and sum_r x_r^2 (by time, or a number)."""
    if area_shares is None:
        e_r = sub.groupby(_by(time, region))[employment].sum().astype(float)
        x = e_r / (e_r.groupby(level=time).transform("sum") if time else e_r.sum())
        x_sq = (x**2).groupby(level=time).sum() if time else float((x**2).sum())
        return x, x_sq
    given = pd.Series(area_shares, dtype=float)
    regions = pd.Index(cells.index.get_level_values(region).unique())
    missing = regions.difference(given.index)
    if len(missing):
        raise AlignmentError(
            f"area_shares has no share for {len(missing)} regions in the data, e.g. "
            f"{preview(missing)}."
        )
    if given.isna().any() or (given < 0).any() or given.sum() <= 0:
        raise SpecificationError("area_shares must be non-negative with a positive total.")
    x = given / given.sum()
    x_sq = float((x**2).sum())
    if time is None:
        return x, x_sq
    periods = pd.Index(cells.index.get_level_values(time).unique(), name=time)
    full = pd.Series(
        np.tile(x.to_numpy(), len(periods)),
        index=pd.MultiIndex.from_product([periods, x.index], names=[time, region]),
    )
    return full, pd.Series(x_sq, index=periods)
