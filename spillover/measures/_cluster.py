"""Agglomeration and cluster indices from a firm (plant) or region-industry table."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from spillover._validate import preview, require_columns, require_numeric
from spillover.errors import SpecificationError


def _checked(data: pd.DataFrame, keys: list[str], employment: str) -> pd.DataFrame:
    """The key and employment columns, complete, with employment >= 0."""
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError(f"data must be a pandas DataFrame, not {type(data).__name__}.")
    frame = data.reset_index() if any(k not in data.columns for k in keys) else data
    require_columns(frame, [*keys, employment], "data")
    require_numeric(frame, [employment])
    sub = frame[[*keys, employment]]
    bad = sub.isna().any(axis=1) | (sub[employment] < 0)
    if bad.any():
        raise SpecificationError(
            f"{int(bad.sum())} rows have a missing key or a missing/negative {employment!r}, "
            f"e.g. rows {preview(sub.index[bad])}. Drop or fix them first."
        )
    return sub


def _by(time: str | None, *cols: str) -> list[str]:
    return [time, *cols] if time is not None else list(cols)


def location_quotient(
    data: pd.DataFrame, *, region: str, industry: str, employment: str, time: str | None = None
) -> pd.Series:
    """Location quotient LQ_rs = (E_rs / E_r) / (E_s / E).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per firm, plant or region-industry cell (rows are summed).
    region, industry, employment : str
        Column names.
    time : str, optional
        Period column: the index is computed separately for each period.

    Returns
    -------
    pandas.Series
        Indexed by ([time,] region, industry) for the cells with rows in ``data``;
        cells without rows have E_rs = 0, hence LQ = 0, and are not listed.

    Notes
    -----
    E_rs is employment of industry s in region r, E_r and E_s the region and industry
    totals and E the grand total, all within the period. LQ > 1: the industry is
    over-represented in the region relative to the whole economy in ``data``.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover.measures import location_quotient
    >>> df = pd.DataFrame({"r": ["A", "A", "B"], "s": ["x", "y", "x"], "e": [30, 10, 60]})
    >>> location_quotient(df, region="r", industry="s", employment="e").round(4).tolist()
    [0.8333, 2.5, 1.1111]
    """
    sub = _checked(data, _by(time, region, industry), employment)
    e_rs = sub.groupby(_by(time, region, industry))[employment].sum().astype(float)
    e_r = e_rs.groupby(level=_by(time, region)).transform("sum")
    e_s = e_rs.groupby(level=_by(time, industry)).transform("sum")
    total = e_rs.groupby(level=time).transform("sum") if time else e_rs.sum()
    return ((e_rs / e_r) / (e_s / total)).rename("location_quotient")


def krugman_index(
    data: pd.DataFrame,
    *,
    region: str,
    industry: str,
    employment: str,
    time: str | None = None,
    reference: Literal["rest", "all"] = "rest",
) -> pd.Series:
    """Krugman specialisation index K_r = sum_s |E_rs / E_r - E^ref_s / E^ref|.

    Parameters
    ----------
    data, region, industry, employment, time
        As in :func:`location_quotient`.
    reference : {"rest", "all"}, default "rest"
        Industry structure the region is compared with: all other regions pooled
        (Krugman 1991; Midelfart-Knarvik et al. 2000) or the whole economy including
        the region.

    Returns
    -------
    pandas.Series
        Indexed by ([time,] region); 0 = same structure as the reference, at most 2.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover.measures import krugman_index
    >>> df = pd.DataFrame({"r": ["A", "A", "B"], "s": ["x", "y", "x"], "e": [30, 10, 60]})
    >>> krugman_index(df, region="r", industry="s", employment="e").tolist()
    [0.5, 0.5]
    """
    if reference not in ("rest", "all"):
        raise SpecificationError(f"reference must be 'rest' or 'all', got {reference!r}.")
    sub = _checked(data, _by(time, region, industry), employment)
    grid = sub.groupby(_by(time, region, industry))[employment].sum().unstack(fill_value=0)
    grid = grid.astype(float)
    period_tot = grid.groupby(level=time).transform("sum") if time else grid.sum()
    ref = period_tot - grid if reference == "rest" else grid * 0 + period_tot
    own = grid.div(grid.sum(axis=1), axis=0)
    other = ref.div(ref.sum(axis=1), axis=0)
    return (own - other).abs().sum(axis=1).rename("krugman_index")


def herfindahl(
    data: pd.DataFrame,
    *,
    group: str,
    employment: str,
    unit: str | None = None,
    time: str | None = None,
) -> pd.Series:
    """Herfindahl index H_g = sum_u (E_u / E_g)^2 of unit shares within each group.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per firm or plant.
    group : str
        The groups within which shares are taken (e.g. industry, or region).
    employment : str
        Size measure.
    unit : str, optional
        Units whose shares are squared (e.g. ``"region"`` for the regional concentration
        of an industry); rows of one unit are summed first. Default: each row is a unit
        (firm or plant concentration).
    time : str, optional
        Period column: the index is computed separately for each period.

    Returns
    -------
    pandas.Series
        Indexed by ([time,] group), between 1/n and 1.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover.measures import herfindahl
    >>> df = pd.DataFrame({"ind": ["x", "x", "x", "y"], "e": [50, 30, 20, 7]})
    >>> herfindahl(df, group="ind", employment="e").tolist()
    [0.38, 1.0]
    """
    keys = _by(time, group) + ([unit] if unit else [])
    sub = _checked(data, keys, employment)
    size = sub.groupby(keys)[employment].sum() if unit else sub.set_index(keys)[employment]
    size = size.astype(float)
    share = size / size.groupby(level=_by(time, group)).transform("sum")
    return (share**2).groupby(level=_by(time, group)).sum().rename("herfindahl")
