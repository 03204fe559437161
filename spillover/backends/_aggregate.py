"""Firm-year rows aggregated to region-year panels in DuckDB or on Dask (Parquet in, small
Panel out); the Dask side is :mod:`._dask_aggregate`, what both share
:mod:`._aggregate_shared`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from spillover.backends._aggregate_shared import (
    Stats,
    finish,
    refuse_absent,
    refuse_negative,
    refuse_non_numeric,
    refuse_repeats,
)
from spillover.backends._dask import DaskBackend
from spillover.backends._dask_aggregate import grouped_on_dask
from spillover.backends._duckdb import (
    DuckDBBackend,
    new_prefix,
    quote_name,
    release,
    translated_errors,
)
from spillover.backends._source import open_source
from spillover.backends._tables import NUMERIC
from spillover.errors import SpecificationError
from spillover.geo._aggregate import check_outputs, report_missing
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
    backend: DuckDBBackend | DaskBackend | str = "duckdb",
) -> Panel:
    """Aggregate firm-year rows to a region-year panel in DuckDB or on Dask, out of core.

    The out-of-core twin of :func:`spillover.geo.aggregate`: the firm rows stay in
    DuckDB (a Parquet file or folder, a DataFrame or a relation) or in the memory of a
    Dask cluster's workers (a pandas or dask DataFrame, a ParquetPanel, a Parquet file or
    folder), and only the region-year table comes back.

    Parameters
    ----------
    data : str, Path, pandas.DataFrame, ParquetPanel, duckdb relation or dask DataFrame
        Firm-year rows with columns ``entity``, ``time``, ``region`` and the values (a
        relation on DuckDB only, a dask DataFrame on Dask only).
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
    backend : "duckdb", "dask", DuckDBBackend or DaskBackend, default "duckdb"
        Where the rows are read and summed: DuckDB's connection settings (memory cap,
        spill directory, threads), or the Dask cluster (every wait bounded by its
        ``timeout``). ``"dask"`` starts a local cluster for this call and closes it after.

    Returns
    -------
    Panel
        The same panel as ``geo.aggregate`` on the rows in memory.

    Raises
    ------
    PanelError
        If (entity, time) repeats, or values are missing and ``missing="raise"``.
    SpecificationError
        If a column is absent or not numeric, a weight is negative, or output names clash.
    BackendError
        On Dask, if a worker dies or the cluster does not answer within the backend's
        ``timeout`` (the step is named).

    Notes
    -----
    Counts are exact; sums and means are float64 sums (DuckDB's DOUBLE ``sum``/``avg``;
    on Dask pandas sums per partition, added across partitions; weighted means the ratio
    of the sums of ``w x`` and ``w``), equal to the in-memory ones up to summation order
    (relative 1e-12 for same-sign values). NaN values count as missing, like NULL. Cost
    on DuckDB: one scan for the checks and one GROUP BY region, time; memory is DuckDB's
    (capped by ``memory_limit``). On Dask: the checks and the per-partition sums by
    (region, time) run on the workers, added pairwise there; repeated (entity, time)
    keys are found after one shuffle of the two key columns by a hash of the entity, so
    that a repeat in another partition is found too. What reaches the client: the
    region-year table, counts and the first offending keys.

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

    The same on a Dask cluster (here two thread workers of this process):

    >>> from spillover.backends import DaskBackend
    >>> with DaskBackend(n_workers=2, processes=False) as cluster:
    ...     on_dask = aggregate_regions(rows, entity="firm", time="year", region="state",
    ...                                 sum=["emp"], weighted_mean={"wage": "emp"},
    ...                                 backend=cluster)
    >>> on_dask.data.loc[("MA", 2000)].tolist()
    [40.0, 65.0, 2.0]
    """
    if missing not in ("raise", "skip"):
        raise SpecificationError(f"missing={missing!r} is not one of 'raise', 'skip'.")
    sum, mean, share = list(sum), list(mean), list(share)
    wmean = dict(weighted_mean or {})
    _check_names(entity, time, region, [*sum, *mean, *wmean, *share], count)
    stats = Stats(sum, share, mean, wmean, count)
    if isinstance(backend, DaskBackend) or backend == "dask":
        out = grouped_on_dask(data, entity, time, region, stats, missing, backend)
    elif isinstance(backend, DuckDBBackend) or backend == "duckdb":
        out = _on_duckdb(data, entity, time, region, stats, missing, backend)
    else:
        raise SpecificationError(
            f"backend must be 'duckdb', 'dask', DuckDBBackend(...) or DaskBackend(...), got "
            f"{backend!r}; for rows in memory use spillover.geo.aggregate."
        )
    result = Panel(out, entity=region, time=time)
    if regions is None:
        return result
    keyed = _key_geometries(regions, region, region)
    return attach_geometry(result, keyed.loc[keyed.index.isin(result.entities)], on=region)


def _on_duckdb(
    data: Any, entity: str, time: str, region: str, stats: Stats, missing: str, backend: Any
) -> pd.DataFrame:
    """The region-year table from DuckDB (checks, then one GROUP BY)."""
    backend = DuckDBBackend() if backend == "duckdb" else backend
    used = stats.used
    con, prefix = backend.connect(data), new_prefix()
    try:
        with translated_errors():
            view = open_source(con, data, prefix).view
            _check_columns(con, view, [entity, time, region, *used], used)
            _check_unique(con, view, entity, time)
            _check_weights(con, view, entity, time, stats.weights)
            _missing(con, view, entity, time, region, used, missing)
            return _grouped(con, view, region, time, stats, missing)
    finally:
        release(con, prefix, close=backend.owns(data))


def _check_names(
    entity: str, time: str, region: str, outputs: list[str], count: str | None
) -> None:
    check_outputs(outputs, count, region, time)
    if len({entity, time, region}) < 3:
        raise SpecificationError("entity, time and region must be three different columns.")


def _check_columns(con: Any, view: str, needed: list[str], numeric: list[str]) -> None:
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {view})").fetchall())
    refuse_absent(needed, list(types))
    bad = [c for c in numeric if not str(types[c]).startswith(NUMERIC)]
    refuse_non_numeric(bad, [types[c] for c in bad])


def _check_unique(con: Any, view: str, entity: str, time: str) -> None:
    e, t = quote_name(entity), quote_name(time)
    dup = con.execute(
        f"SELECT {e}, {t}, count(*) FROM {view} GROUP BY ALL HAVING count(*) > 1 "
        f"ORDER BY {e}, {t} LIMIT 6"
    ).fetchall()
    refuse_repeats([(a, b) for a, b, _ in dup], entity, time)


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
            refuse_negative(w, n, [tuple(r) for r in rows])


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


def _value(c: str) -> str:
    return f"CASE WHEN NOT {_absent(c, True)} THEN CAST({quote_name(c)} AS DOUBLE) END"


def _grouped(
    con: Any, view: str, region: str, time: str, stats: Stats, missing: str
) -> pd.DataFrame:
    """The region-year table: sums, means, weighted means, shares and the row count,
    sorted by key."""
    r, t = quote_name(region), quote_name(time)
    parts = [f"sum({_value(c)}) AS __s{j}" for j, c in enumerate(stats.summed)]
    parts += [f"avg({_value(c)}) AS __m{j}" for j, c in enumerate(stats.means)]
    for j, (x, w) in enumerate(stats.wmean.items()):  # both present, else left out
        parts.append(f"sum({_value(x)} * {_value(w)}) AS __wn{j}")
        parts.append(f"sum(CASE WHEN {_value(x)} IS NOT NULL THEN {_value(w)} END) AS __wd{j}")
    parts.append("count(*) AS __n")
    where = f"WHERE {r} IS NOT NULL" if missing == "skip" else ""
    got = con.execute(
        f"SELECT {r}, {t}, {', '.join(parts)} FROM {view} {where} GROUP BY {r}, {t} "
        f"ORDER BY {r}, {t}"
    ).df()
    return finish(got, region, time, stats)
