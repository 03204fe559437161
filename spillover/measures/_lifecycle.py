"""Firm dynamics of an industry or cluster: entry and exit rates, and its life-cycle stage."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd

from spillover._validate import preview
from spillover.errors import PanelError, SpecificationError

STAGES = ("emergence", "growth", "maturity", "decline")
"""Life-cycle stages, in order (the categories of :func:`lifecycle_stage`)."""


def entry_rates(
    firms: pd.DataFrame,
    *,
    region: str | None = None,
    regions: Iterable[Any] | None = None,
    denominator: Literal["lagged", "average"] = "lagged",
) -> pd.DataFrame:
    """Firms, entries, exits and entry and exit rates by year (and region).

    Parameters
    ----------
    firms : pandas.DataFrame
        One row per firm and year it is active, indexed by (firm, year) with integer
        years; a firm's years must be consecutive (no re-entry).
    region : str, optional
        Column of the firm's region: the counts are then by region and year. A firm that
        moves enters in its region of entry and exits from its region of its last year.
    regions : iterable, optional
        Regions to report (default: those in ``firms``); regions without firms get zeros.
    denominator : {"lagged", "average"}, default "lagged"
        Rates per firm active the year before (N_t-1), or per the average of N_t-1 and
        N_t (Davis, Haltiwanger and Schuh 1996).

    Returns
    -------
    pandas.DataFrame
        Indexed by ([region,] year) over every year from the first to the last, columns
        ``firms`` (N_t, active in t), ``entries`` (active in t, not in t - 1), ``exits``
        (active in t - 1, not in t), ``entry_rate`` and ``exit_rate``. The first year's
        entries and exits are unknown (NaN: the data do not say who was active before),
        and a rate with a zero denominator is NaN.

    Raises
    ------
    PanelError
        If a firm's years have a gap, or (firm, year) repeats.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover.measures import entry_rates
    >>> rows = [(1, 2000), (1, 2001), (2, 2001), (2, 2002), (3, 2000)]
    >>> df = pd.DataFrame(rows, columns=["firm", "year"]).set_index(["firm", "year"])
    >>> entry_rates(df).loc[2001, ["firms", "entries", "exits", "entry_rate"]].tolist()
    [2.0, 1.0, 1.0, 0.5]
    """
    if denominator not in ("lagged", "average"):
        raise SpecificationError(f"denominator must be 'lagged' or 'average', got {denominator!r}.")
    if firms.index.nlevels != 2:
        raise PanelError("firms must be indexed by (firm, year), one row per firm and year.")
    if region is not None and region not in firms.columns:
        raise SpecificationError(
            f"no column {region!r} in firms; columns: {preview(firms.columns)}."
        )
    frame = _checked(firms)
    year = frame.index.get_level_values(1).to_numpy()
    where = frame[region].to_numpy() if region is not None else np.zeros(len(frame), int)
    first = np.r_[True, frame.index.codes[0][1:] != frame.index.codes[0][:-1]]
    last = np.r_[first[1:], True]
    years = np.arange(year.min(), year.max() + 1)
    groups = pd.Index(pd.unique(where) if regions is None else list(regions))
    unknown = ~np.isin(where, groups)
    if unknown.any():
        raise SpecificationError(
            "firms are in regions not listed in regions=, e.g. "
            f"{preview(pd.unique(where[unknown]))}."
        )
    grid = pd.MultiIndex.from_product([groups, years])

    def count(mask: np.ndarray, shift: int = 0) -> np.ndarray:
        key = pd.MultiIndex.from_arrays([where[mask], year[mask] + shift])
        return pd.Series(1.0, index=key).groupby(level=[0, 1]).sum().reindex(grid, fill_value=0.0)

    out = pd.DataFrame(
        {
            "firms": count(np.ones(len(frame), bool)).to_numpy(),
            "entries": count(first).to_numpy(),
            "exits": count(last, 1).to_numpy(),
        },
        index=grid,
    )
    out.loc[out.index.get_level_values(1) == years[0], ["entries", "exits"]] = np.nan
    before = out["firms"].groupby(level=0).shift(1)
    base = before if denominator == "lagged" else (before + out["firms"]) / 2
    base = base.where(base > 0)
    out["entry_rate"] = out["entries"] / base
    out["exit_rate"] = out["exits"] / base
    if region is None:
        out.index = out.index.droplevel(0)
        out.index.name = firms.index.names[1]
    else:
        out.index.names = [region, firms.index.names[1]]
    return out


def _checked(firms: pd.DataFrame) -> pd.DataFrame:
    frame = firms.sort_index()
    dup = frame.index.duplicated()
    if dup.any():
        raise PanelError(
            f"(firm, year) repeats, e.g. {preview(frame.index[dup])}; keep one row each."
        )
    year = frame.index.get_level_values(1).to_numpy()
    same = np.r_[False, frame.index.codes[0][1:] == frame.index.codes[0][:-1]]
    gap = same & (np.r_[1, np.diff(year)] != 1)
    if gap.any():
        raise PanelError(
            f"{int(gap.sum())} firms have gaps in their years, e.g. at "
            f"{preview(frame.index[gap])}; entry and exit need consecutive years. Split a "
            "re-entering firm into two ids."
        )
    return frame


def lifecycle_stage(
    counts: pd.Series,
    *,
    window: int = 3,
    threshold: float = 0.02,
    emergence_share: float = 0.25,
) -> pd.Series:
    """Life-cycle stage of an industry or cluster in each year, from its number of firms.

    Parameters
    ----------
    counts : pandas.Series
        Firms (or employment) by year, indexed by year or by (group, year) for several
        clusters (each classified on its own).
    window : int, default 3
        Years over which growth is measured.
    threshold : float, default 0.02
        Annual growth above which a cluster grows and below minus which it declines.
    emergence_share : float, default 0.25
        Before its peak, a cluster below this share of its peak size is emerging.

    Returns
    -------
    pandas.Series
        Ordered categorical with categories ``"emergence" < "growth" < "maturity" <
        "decline"``, indexed like ``counts``.

    Notes
    -----
    With N_t the count and N* its largest value (first reached in year t*), the annual
    growth g_t = (N_t / N_s)^(1 / (t - s)) - 1 with s = max(t - window, first year); in
    the first year, the growth to the next. A year is "emergence" if t < t* and N_t <
    emergence_share N*; otherwise "growth" if g_t > threshold, "decline" if g_t <
    -threshold or N_t = 0 after t*, and "maturity" in between (the stage scheme of
    Menzel and Fornahl 2010, on the growth of the number of firms). Growth from zero
    firms counts as growth.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover.measures import lifecycle_stage
    >>> n = pd.Series([1, 2, 10, 20, 30, 30, 30, 25, 20], index=range(2000, 2009))
    >>> lifecycle_stage(n, window=1).tolist()
    ['emergence', 'emergence', 'growth', 'growth', 'growth', 'maturity', 'maturity', \
'decline', 'decline']
    """
    if window < 1 or threshold < 0 or not 0 <= emergence_share <= 1:
        raise SpecificationError(
            "need window >= 1, threshold >= 0 and emergence_share in [0, 1]; got "
            f"{window}, {threshold}, {emergence_share}."
        )
    if counts.isna().any() or (counts < 0).any():
        bad = counts.index[counts.isna() | (counts < 0)]
        raise SpecificationError(f"counts must be non-negative numbers; not at {preview(bad)}.")
    if counts.index.nlevels == 1:
        values = _stages(counts.to_numpy(dtype=float), window, threshold, emergence_share)
    else:
        values = np.empty(len(counts), dtype=object)
        order = counts.sort_index()
        pos = counts.index.get_indexer(order.index)
        for _, part in order.groupby(level=0, sort=False):
            rows = pos[order.index.get_indexer(part.index)]
            values[rows] = _stages(part.to_numpy(dtype=float), window, threshold, emergence_share)
    return pd.Series(pd.Categorical(values, categories=STAGES, ordered=True), index=counts.index,
                     name="stage")  # fmt: skip


def _stages(n: np.ndarray, window: int, threshold: float, share: float) -> np.ndarray:
    t = np.arange(len(n))
    s = np.maximum(t - window, 0)
    s[0] = min(1, len(n) - 1)
    span = np.abs(t - s).astype(float)
    span[span == 0] = 1.0
    lo, hi = np.where(t >= s, n[s], n[t]), np.where(t >= s, n[t], n[s])
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(lo > 0, (hi / lo) ** (1 / span) - 1, np.where(hi > 0, np.inf, 0.0))
    peak = int(np.argmax(n))
    out = np.where(g > threshold, "growth", np.where(g < -threshold, "decline", "maturity"))
    out = np.where((t > peak) & (n == 0), "decline", out)
    return np.where((t < peak) & (n < share * n[peak]), "emergence", out).astype(object)
