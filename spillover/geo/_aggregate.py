"""Firm-year panels aggregated to region-year panels."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

import pandas as pd

from spillover._validate import (
    preview,
    require_columns,
    require_numeric,
    user_stacklevel,
    warn_dropped,
)
from spillover.errors import (
    DroppedRowsWarning,
    PanelError,
    SpecificationError,
)
from spillover.panel import Panel

if TYPE_CHECKING:
    import geopandas as gpd
from spillover.geo._attach import _check_option, _key_geometries, attach_geometry


def aggregate(
    firm_panel: Panel,
    *,
    region: str,
    sum: Sequence[str] = (),
    mean: Sequence[str] = (),
    weighted_mean: Mapping[str, str] | None = None,
    share: Sequence[str] = (),
    count: str | None = "n_firms",
    missing: Literal["raise", "skip"] = "raise",
    regions: gpd.GeoDataFrame | None = None,
) -> Panel:
    """Aggregate a firm-year panel to a region-year panel.

    Parameters
    ----------
    firm_panel : Panel
        Firm-year panel with a column ``region`` (e.g. from :func:`assign_regions`).
    region : str
        Column holding each firm-year's region; it becomes the entity of the result.
    sum, mean : sequence of str
        Columns summed, or averaged (unweighted), over the firms of a region-year.
    weighted_mean : dict, optional
        ``{column: weight}``: ``sum(w * x) / sum(w)`` over the region-year's firms, e.g.
        ``{"wage": "emp"}`` for the employment-weighted mean wage. Weights must be >= 0.
    share : sequence of str
        Columns turned into each region's share of the period total: the region-year
        sum divided by the sum over all regions in that period (NaN if that total is 0).
    count : str or None, default "n_firms"
        Name of a column counting the firm rows in each region-year (all of them,
        including firms with missing values); None for no count.
    missing : {"raise", "skip"}, default "raise"
        ``"raise"``: a missing region or a missing value in a used column is an error
        naming the rows. ``"skip"``: rows without region are dropped, and each statistic
        uses the firms whose value (and weight) is present; a
        :class:`~spillover.errors.DroppedRowsWarning` reports the counts. A region-year
        whose values are all missing gets NaN (not 0) for sums too.
    regions : GeoDataFrame, optional
        Region geometries keyed by a column (or index) named ``region``; attached to the
        result (regions without any firm are left out, as they have no rows).

    Returns
    -------
    Panel
        Entity ``region``, time as in ``firm_panel``; output columns carry the input
        names (each column may appear in only one role), plus ``count``. Region-years
        without firms have no row, so the result may be unbalanced.

    Raises
    ------
    PanelError
        If ``missing="raise"`` and values are missing (the rows are named).
    SpecificationError
        If a column is absent or non-numeric, output names clash, or a weight is negative.

    Notes
    -----
    A weighted mean whose weights sum to zero in a region-year is NaN, with a warning.
    :func:`spillover.backends.aggregate_regions` computes the same table in DuckDB or on a
    Dask cluster from Parquet files too large for memory.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover import Panel
    >>> from spillover.geo import aggregate
    >>> firms = Panel(pd.DataFrame({
    ...     "firm": [1, 2, 3, 1, 2, 3], "year": [2000] * 3 + [2001] * 3,
    ...     "state": ["MA", "MA", "CT"] * 2, "emp": [10.0, 30.0, 5.0, 20.0, 20.0, 5.0],
    ...     "wage": [50.0, 70.0, 40.0, 60.0, 80.0, 40.0]}), entity="firm", time="year")
    >>> out = aggregate(firms, region="state", sum=["emp"], weighted_mean={"wage": "emp"})
    >>> out.data.loc[("MA", 2000)].tolist()
    [40.0, 65.0, 2.0]
    """
    _check_option(missing, ("raise", "skip"), "missing")
    if not isinstance(firm_panel, Panel):
        raise SpecificationError(
            f"firm_panel must be a Panel, not {type(firm_panel).__name__}; build one with "
            "Panel(df, entity='firm', time='year')."
        )
    wmean = dict(weighted_mean or {})
    sum, share = list(sum), list(share)
    used = _aggregate_columns(firm_panel, region, [*sum, *share], list(mean), wmean, count)
    frame = _handle_missing(firm_panel.data[[region, *used]], region, used, missing)
    time = firm_panel.time_name
    frame = frame.reset_index()
    for x, w in wmean.items():
        valid = frame[x].notna() & frame[w].notna()
        frame[f"__num_{x}"] = (frame[x] * frame[w]).where(valid)
        frame[f"__den_{x}"] = frame[w].where(valid)
    grouped = frame.groupby([region, time], sort=True)
    parts = [*sum, *share, *(f"__{p}_{x}" for x in wmean for p in ("num", "den"))]
    sums = grouped[parts].sum(min_count=1)
    out = pd.concat([sums[sum], grouped[list(mean)].mean()], axis=1)
    for x in wmean:
        den = sums[f"__den_{x}"]
        out[x] = sums[f"__num_{x}"] / den.where(den != 0)
        _warn_zero_weight(den, x, wmean[x])
    out[share] = period_shares(sums[share], time)
    if count is not None:
        out[count] = grouped.size()
    result = Panel(out.reset_index(), entity=region, time=time)
    if regions is None:
        return result
    keyed = _key_geometries(regions, region, region)
    return attach_geometry(result, keyed.loc[keyed.index.isin(result.entities)], on=region)


def _aggregate_columns(
    panel: Panel,
    region: str,
    sums: list[str],
    means: list[str],
    wmean: dict[str, str],
    count: str | None,
) -> list[str]:
    """Validate names; return the input columns the statistics read."""
    check_outputs([*sums, *means, *wmean], count, region, panel.time_name)
    used = list(dict.fromkeys([*sums, *means, *wmean, *wmean.values()]))
    require_columns(panel.data, [region, *used], "firm panel")
    require_numeric(panel.data, used)
    for w in set(wmean.values()):
        negative = panel.data[w] < 0
        if negative.any():
            raise SpecificationError(
                f"weight {w!r} is negative in {int(negative.sum())} rows, e.g. "
                f"{preview(panel.data.index[negative])}; weights must be >= 0."
            )
    return used


def check_outputs(outputs: list[str], count: str | None, region: str, time: str) -> None:
    """Refuse an empty request and output names used twice or equal to the keys."""
    names = pd.Index([*outputs, *([count] if count else [])])
    if not len(names):
        raise SpecificationError(
            "nothing to aggregate: give sum=, mean=, weighted_mean=, share= or count=."
        )
    clash = [*names[names.duplicated()].unique(), *[n for n in (region, time) if n in names]]
    if clash:
        raise SpecificationError(
            f"output column names clash: {preview(clash)}. Use each column in one role only; "
            "copy it first for a second one, e.g. panel.assign(emp_mean=panel['emp'])."
        )


def _handle_missing(
    frame: pd.DataFrame, region: str, used: list[str], missing: str
) -> pd.DataFrame:
    na = frame[[region, *used]].isna()
    if not na.to_numpy().any():
        return frame
    counts = na.sum()
    rows = na.index[na.any(axis=1)]
    report_missing(counts[counts > 0].to_dict(), rows[:5], len(rows), region, missing)
    return frame.loc[~na[region].to_numpy()]


def report_missing(
    counts: Mapping[str, int], rows: Sequence, n_rows: int, region: str, missing: str
) -> None:
    """Raise (``missing="raise"``) or warn about missing values, as :func:`aggregate` does.

    ``counts``: missing values per column (only columns with some); ``rows``: keys of the
    first rows with any, of ``n_rows`` in all, for the message. Shared with the DuckDB
    path so that both say the same.
    """
    if missing == "raise":
        more = f", ... ({n_rows - 5} more)" if n_rows > 5 else ""
        raise PanelError(
            f"missing values in {preview([f'{c} ({n})' for c, n in counts.items()])}, "
            f"e.g. at {preview(list(rows)[:5])}{more}. Fill them, or pass "
            "missing='skip' to drop rows without region and skip missing values."
        )
    warn_dropped(int(counts.get(region, 0)), f"firm rows without {region!r}")
    skipped = {c: n for c, n in counts.items() if c != region}
    if skipped:
        warnings.warn(
            "aggregate skipped missing values (each statistic uses the firms with a value):"
            f" {', '.join(f'{c} {n}' for c, n in skipped.items())}.",
            DroppedRowsWarning,
            stacklevel=user_stacklevel(),
        )


def period_shares(sums: pd.DataFrame, time: str) -> pd.DataFrame:
    """Region-period sums (indexed by (region, time)) as shares of their period total."""
    total = sums.groupby(level=time).transform("sum")
    return sums / total.where(total != 0)


def _warn_zero_weight(den: pd.Series, x: str, w: str) -> None:
    zero = den.index[(den == 0).to_numpy()]
    if len(zero):
        warnings.warn(
            f"weighted mean of {x!r}: weights {w!r} sum to zero in {len(zero)} region-years, "
            f"e.g. {preview(zero)}; those cells are NaN.",
            DroppedRowsWarning,
            stacklevel=user_stacklevel(),
        )
