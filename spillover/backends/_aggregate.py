"""Firm-year rows aggregated to region-year panels in DuckDB (Parquet in, small Panel out)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from spillover._validate import preview
from spillover.backends._duckdb import (
    DuckDBBackend,
    new_prefix,
    quote_name,
    release,
    translated_errors,
)
from spillover.backends._source import open_source
from spillover.backends._tables import NUMERIC
from spillover.errors import PanelError, SpecificationError
from spillover.geo._aggregate import (
    _warn_zero_weight,
    check_outputs,
    period_shares,
    report_missing,
)
from spillover.geo._attach import _key_geometries, attach_geometry
from spillover.panel import Panel

if TYPE_CHECKING:
    import geopandas as gpd


def aggregate_regions(
    data: Any,
    *,
    entity: str,
    time: str,
    region: str,
    sum: Sequence[str] = (),
    mean: Sequence[str] = (),
    weighted_mean: Mapping[str, str] | None = None,
    share: Sequence[str] = (),
    count: str | None = "n_firms",
    missing: Literal["raise", "skip"] = "raise",
    regions: gpd.GeoDataFrame | None = None,
    backend: DuckDBBackend | str = "duckdb",
) -> Panel:
    """Aggregate firm-year rows to a region-year panel in DuckDB, out of core.

    The DuckDB twin of :func:`spillover.geo.aggregate`: the firm rows stay in DuckDB
    (a Parquet file or folder, a DataFrame or a relation) and only the region-year
    table comes back.

    Parameters
    ----------
    data : str, Path, pandas.DataFrame or duckdb relation
        Firm-year rows with columns ``entity``, ``time``, ``region`` and the values.
    entity, time : str
        Firm and period columns; (entity, time) must be unique, as in a Panel.
    region : str
        Region code of each firm-year; it becomes the entity of the result.
    sum, mean, weighted_mean, share, count, missing, regions
        As in :func:`spillover.geo.aggregate`: sums (NaN when every value of a
        region-year is missing), unweighted means, weighted means ``{column: weight}``
        (``sum(w x) / sum(w)`` over the region-year's firms, e.g. ``{"wage": "emp"}`` for
        the employment-weighted mean wage; weights >= 0, a negative one is an error
        naming the rows), shares of the period total, the number of firm rows (all of
        them, including rows with missing values), the missing-value policy (the same
        errors and warnings, naming (entity, time) rows) and region geometries to attach
        (region codes without geometry raise the same AlignmentError). Missing weights
        are missing values like any other: ``missing="raise"`` refuses them, ``"skip"``
        leaves a firm out of a weighted mean when its value or its weight is missing
        (NULL or NaN); a region-year whose weights sum to zero gets NaN, with a
        DroppedRowsWarning.
    backend : "duckdb" or DuckDBBackend, default "duckdb"
        Connection settings (memory cap, spill directory, threads).

    Returns
    -------
    Panel
        The same panel as ``geo.aggregate`` on the rows in memory.

    Raises
    ------
    PanelError
        If (entity, time) repeats, or values are missing and ``missing="raise"``.
    SpecificationError
        If a column is absent or not numeric, or output names clash.

    Notes
    -----
    Counts are exact; sums and means are DuckDB's DOUBLE ``sum``/``avg`` (weighted means
    the ratio of the sums of ``w x`` and ``w``), equal to the in-memory ones up to
    summation order (relative 1e-12 for same-sign values). NaN
    values count as missing, like NULL. Cost: one scan for the checks and one
    GROUP BY region, time; memory is DuckDB's (capped by ``memory_limit``).

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover.backends import aggregate_regions
    >>> rows = pd.DataFrame({"firm": [1, 2, 3], "year": 2000, "state": ["MA", "MA", "CT"],
    ...                      "emp": [10.0, 30.0, 5.0], "wage": [50.0, 70.0, 40.0]})
    >>> out = aggregate_regions(rows, entity="firm", time="year", region="state",
    ...                         sum=["emp"], weighted_mean={"wage": "emp"})
    >>> out.data.loc[("MA", 2000)].tolist()
    [40.0, 65.0, 2.0]
    """
    if missing not in ("raise", "skip"):
        raise SpecificationError(f"missing={missing!r} is not one of 'raise', 'skip'.")
    sum, mean, share = list(sum), list(mean), list(share)
    wmean = dict(weighted_mean or {})
    _check_names(entity, time, region, [*sum, *mean, *wmean, *share], count)
    if backend == "duckdb":
        backend = DuckDBBackend()
    if not isinstance(backend, DuckDBBackend):
        raise SpecificationError(
            f"backend must be 'duckdb' or DuckDBBackend(...), got {backend!r}; for rows in "
            "memory use spillover.geo.aggregate."
        )
    con, prefix = backend.connect(data), new_prefix()
    try:
        with translated_errors():
            view = open_source(con, data, prefix).view
            used = list(dict.fromkeys([*sum, *share, *mean, *wmean, *wmean.values()]))
            _check_columns(con, view, [entity, time, region, *used], used)
            _check_unique(con, view, entity, time)
            _check_weights(con, view, entity, time, list(dict.fromkeys(wmean.values())))
            _missing(con, view, entity, time, region, used, missing)
            stats = _Stats(sum, share, mean, wmean, count)
            out = _grouped(con, view, region, time, stats, missing)
    finally:
        release(con, prefix, close=backend.owns(data))
    result = Panel(out, entity=region, time=time)
    if regions is None:
        return result
    keyed = _key_geometries(regions, region, region)
    return attach_geometry(result, keyed.loc[keyed.index.isin(result.entities)], on=region)


def _check_names(
    entity: str, time: str, region: str, outputs: list[str], count: str | None
) -> None:
    check_outputs(outputs, count, region, time)
    if len({entity, time, region}) < 3:
        raise SpecificationError("entity, time and region must be three different columns.")


def _check_columns(con: Any, view: str, needed: list[str], numeric: list[str]) -> None:
    columns = [r[0] for r in con.execute(f"DESCRIBE {view}").fetchall()]
    absent = [c for c in dict.fromkeys(needed) if c not in columns]
    if absent:
        raise SpecificationError(
            f"the data have no column {preview(absent)}; available: {preview(columns, 12)}."
        )
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {view})").fetchall())
    bad = [c for c in numeric if not str(types[c]).startswith(NUMERIC)]
    if bad:
        raise SpecificationError(
            f"columns {preview(bad)} are not numeric ({preview(types[c] for c in bad)}); "
            "cast them in the source."
        )


def _check_unique(con: Any, view: str, entity: str, time: str) -> None:
    e, t = quote_name(entity), quote_name(time)
    dup = con.execute(
        f"SELECT {e}, {t}, count(*) FROM {view} GROUP BY ALL HAVING count(*) > 1 "
        f"ORDER BY {e}, {t} LIMIT 6"
    ).fetchall()
    if dup:
        raise PanelError(
            f"(entity, time) keys repeat, e.g. {preview([(a, b) for a, b, _ in dup])}: each "
            f"{entity!r} may have one row per {time!r}. Aggregate or deduplicate the source."
        )


def _check_weights(con: Any, view: str, entity: str, time: str, weights: list[str]) -> None:
    """SpecificationError naming the rows where a weight is negative."""
    e, t = quote_name(entity), quote_name(time)
    for w in weights:
        q = quote_name(w)
        n = con.execute(f"SELECT count(*) FROM {view} WHERE {q} < 0").fetchone()[0]
        if n:
            rows = con.execute(
                f"SELECT {e}, {t} FROM {view} WHERE {q} < 0 ORDER BY 1, 2 LIMIT 5"
            ).fetchall()
            raise SpecificationError(
                f"weight {w!r} is negative in {int(n)} rows, e.g. "
                f"{preview([tuple(r) for r in rows])}; weights must be >= 0."
            )


def _absent(column: str, numeric: bool) -> str:
    c = quote_name(column)
    return f"({c} IS NULL OR isnan(CAST({c} AS DOUBLE)))" if numeric else f"({c} IS NULL)"


def _missing(
    con: Any, view: str, entity: str, time: str, region: str, used: list[str], missing: str
) -> None:
    """Count missing values per column; raise or warn exactly as ``geo.aggregate``."""
    cols = [region, *used]
    tests = [_absent(region, False), *(_absent(c, True) for c in used)]
    any_test = " OR ".join(tests)
    *counts, n_rows = con.execute(
        "SELECT "
        + ", ".join(f"count(*) FILTER (WHERE {x})" for x in [*tests, any_test])
        + f" FROM {view}"
    ).fetchone()
    found = {c: int(n) for c, n in zip(cols, counts, strict=True) if n}
    if not found:
        return
    rows = con.execute(
        f"SELECT {quote_name(entity)}, {quote_name(time)} FROM {view} "
        f"WHERE {any_test} ORDER BY 1, 2 LIMIT 5"
    ).fetchall()
    report_missing(found, [tuple(r) for r in rows], int(n_rows), region, missing)


@dataclass(frozen=True)
class _Stats:
    """What to compute per region-year: the output columns of each role."""

    sums: list[str]
    shares: list[str]
    means: list[str]
    wmean: dict[str, str]
    count: str | None


def _value(c: str) -> str:
    return f"CASE WHEN NOT {_absent(c, True)} THEN CAST({quote_name(c)} AS DOUBLE) END"


def _grouped(
    con: Any, view: str, region: str, time: str, stats: _Stats, missing: str
) -> pd.DataFrame:
    """The region-year table: sums, means, weighted means, shares and the row count,
    sorted by key."""
    r, t = quote_name(region), quote_name(time)
    sums, shares, means, count = stats.sums, stats.shares, stats.means, stats.count
    parts = [f"sum({_value(c)}) AS __s{j}" for j, c in enumerate([*sums, *shares])]
    parts += [f"avg({_value(c)}) AS __m{j}" for j, c in enumerate(means)]
    for j, (x, w) in enumerate(stats.wmean.items()):  # both present, else left out
        parts.append(f"sum({_value(x)} * {_value(w)}) AS __wn{j}")
        parts.append(f"sum(CASE WHEN {_value(x)} IS NOT NULL THEN {_value(w)} END) AS __wd{j}")
    parts.append("count(*) AS __n")
    where = f"WHERE {r} IS NOT NULL" if missing == "skip" else ""
    got = con.execute(
        f"SELECT {r}, {t}, {', '.join(parts)} FROM {view} {where} GROUP BY {r}, {t} "
        f"ORDER BY {r}, {t}"
    ).df()
    keys = pd.MultiIndex.from_frame(got[[region, time]])
    summed = [*sums, *shares]
    table = pd.DataFrame(
        {c: got[f"__s{j}"].to_numpy(dtype=float) for j, c in enumerate(summed)}, index=keys
    )
    out = table[sums].copy()
    for j, c in enumerate(means):
        out[c] = got[f"__m{j}"].to_numpy(dtype=float)
    for j, (x, w) in enumerate(stats.wmean.items()):
        den = pd.Series(got[f"__wd{j}"].to_numpy(dtype=float), index=keys)
        out[x] = got[f"__wn{j}"].to_numpy(dtype=float) / den.where(den != 0).to_numpy()
        _warn_zero_weight(den, x, w)
    out[shares] = period_shares(table[shares], time)
    if count is not None:
        out[count] = got["__n"].to_numpy(dtype=np.int64)
    return out.reset_index()
