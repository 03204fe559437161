"""Technology spillover pools out of core: firm-year stocks and patent-class profiles in
DuckDB, the class-space factorisation as grouped sums and joins, a Parquet folder out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spillover.backends._aggregate import _check_columns, _check_unique
from spillover.backends._dask import DaskBackend
from spillover.backends._dask_tech_pool import dask_technology_pool
from spillover.backends._duckdb import (
    DuckDBBackend,
    new_prefix,
    quote_literal,
    quote_name,
    release,
    translated_errors,
)
from spillover.backends._source import open_source
from spillover.backends._tech_checks import (
    PoolSpec,
    check_proximity,
    long_shares,
    pool_keys,
    refuse_bad_profiles,
    refuse_misaligned,
    refuse_non_finite_stock,
    refuse_pool_column,
    refuse_repeated_pairs,
)
from spillover.backends._written import Written, refuse_existing, written_whole
from spillover.errors import SpecificationError
from spillover.measures._technology import Proximity


def technology_pool(
    data: Any,
    *,
    column: str,
    shares: Any,
    out: str | Path,
    entity: str | None = None,
    time: str | None = None,
    classes: str = "class",
    counts: str = "count",
    proximity: Proximity = "jaffe",
    exclude_self: bool = True,
    name: str | None = None,
    overwrite: bool = False,
    backend: DuckDBBackend | DaskBackend | str = "duckdb",
) -> Written:
    """Technology spillover pool ``S_it = sum_{j != i} P_ij K_jt`` out of core, into Parquet.

    The out-of-core twin of :func:`spillover.measures.technology_pool` with static
    (per-firm) profiles in long format: the firm-year rows and the (firm, class) patent
    counts stay in DuckDB, or the rows stay on the workers of a Dask cluster; the
    proximity P is never formed, and the rows are written to a Parquet folder with the
    pool as a new column (whole or not at all).

    Parameters
    ----------
    data : str, Path, DataFrame, Panel, ParquetPanel, duckdb relation or dask DataFrame
        Firm-year rows holding ``column`` (a relation on DuckDB only, a dask DataFrame on
        Dask only; its partitions may split a firm's rows).
    column : str
        The stock K to pool (e.g. an R&D stock).
    shares : str, Path, DataFrame, pandas Series, duckdb relation or dask DataFrame
        Patent-class profiles in long format, one row per firm and class it patents in:
        columns ``entity``, ``classes`` and ``counts`` (counts or shares, >= 0, each
        firm's total positive); or, as in memory, a Series of counts indexed by
        (firm, class). Every panel firm needs a profile and every profile a panel firm.
    out : str or Path
        The Parquet folder to write: ``data``'s columns plus the pool. On Dask the
        workers write it (on a remote cluster, a path on a file system they share).
    entity, time : str, optional
        Firm and period columns; default: those of a Panel, a ParquetPanel or a DataFrame
        indexed by (entity, time).
    classes, counts : str
        Class and count columns of ``shares``.
    proximity, exclude_self
        As in :func:`spillover.measures.technology_pool` (Jaffe's uncentred correlation,
        or the Mahalanobis-normed closeness of Bloom, Schankerman and Van Reenen 2013;
        leave out the firm's own stock).
    name : str, optional
        The pool's column (default ``"<column>_tech_pool"``).
    overwrite : bool, default False
        Replace ``out`` if it exists (only once the new folder is complete).
    backend : "duckdb", "dask", DuckDBBackend or DaskBackend, default "duckdb"
        Where the rows are read and pooled: DuckDB's connection settings (memory cap,
        spill directory, threads), or a Dask cluster (every wait bounded by its
        ``timeout``); ``"dask"`` starts a local cluster for this call and closes it after.

    Returns
    -------
    Written
        The folder and its row count; ``.panel(entity=..., time=...)`` opens it as a
        ParquetPanel for the estimators.

    Raises
    ------
    PanelError
        If (entity, time) repeats or K is missing or infinite (rows named).
    AlignmentError
        If panel firms have no profile or profiles belong to no panel firm (both named).
    SpecificationError
        If a (firm, class) pair repeats, a firm's counts are missing, negative or all
        zero, a column is absent, or ``out`` exists without ``overwrite``. Nothing is
        written.
    BackendError
        On Dask, if a worker dies or the cluster does not answer within the backend's
        timeout (the step named). Nothing is written.

    Notes
    -----
    The algebra of the in-memory function, as SQL: shares ``T_ic`` (counts over the
    firm's total), unit rows ``x_ic = T_ic / ||T_i||``, then per class and period
    ``V_ct = sum_i x_ic K_it`` over the firms present that period (one GROUP BY), and
    ``S_it = sum_c x_ic V_ct - P_ii K_it`` (a join and a GROUP BY); Jaffe has P_ii = 1.
    Mahalanobis inserts ``Omega = Z'Z`` (Z: shares with unit class columns over all
    profiled firms; a C x C table from a self-join of the profiles on the firm):
    ``S_it = sum_d x_id sum_c Omega_dc V_ct - P_ii K_it``, ``P_ii = x_i' Omega x_i``.
    Time and memory grow with the rows and the profile entries (and, for Mahalanobis,
    the class pairs a firm patents in), never with N^2. Sums are DuckDB's DOUBLE sums:
    equal to the in-memory pool up to summation order (relative 1e-12 on pools of
    same-sign stocks). The written rows are not in any particular order.

    On Dask the same algebra runs as tasks: the (firm, period) keys and the finiteness of
    K are checked after the keys alone are shuffled by a hash of the firm (a repeated key
    is found even when its twin is in another partition); the profiles come to the client
    as pandas (they are far smaller than the rows), are checked there, and the per-firm
    tables (``x_i`` as a sparse firms x classes matrix, ``P_ii``) are broadcast to the
    workers; each partition sums ``x_ic K_it`` by class and period, the sums are added
    pairwise on the workers into V (periods x classes; times Omega on the client for
    Mahalanobis), and each partition writes its rows with their pool to a Parquet file of
    its own, all with one schema (unified over the partitions). Equal to the in-memory
    pool up to summation order, as on DuckDB.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from pathlib import Path
    >>> from spillover.backends import technology_pool
    >>> rows = pd.DataFrame({"firm": [1, 2, 3], "year": 2000, "k": [1.0, 2.0, 4.0]})
    >>> profiles = pd.DataFrame({"firm": [1, 2, 2, 3], "class": ["c1", "c1", "c2", "c2"],
    ...                          "count": [1.0, 1.0, 1.0, 1.0]})
    >>> done = technology_pool(rows, column="k", shares=profiles, entity="firm", time="year",
    ...                        out=Path(tempfile.mkdtemp()) / "pooled")
    >>> pd.read_parquet(done.path).sort_values("firm")["k_tech_pool"].round(4).tolist()
    [1.4142, 3.5355, 1.4142]
    """
    check_proximity(proximity)
    out, name = Path(out), name or f"{column}_tech_pool"
    if isinstance(backend, DaskBackend) or backend == "dask":
        refuse_existing(out, overwrite)
        spec = PoolSpec(column, entity, time, classes, counts, proximity, exclude_self, name)
        return Written(out, dask_technology_pool(data, shares, out, spec, backend))
    if backend == "duckdb":
        backend = DuckDBBackend()
    if not isinstance(backend, DuckDBBackend):
        raise SpecificationError(
            "backend must be 'duckdb', 'dask', DuckDBBackend(...) or DaskBackend(...), got "
            f"{backend!r}; for rows in memory use spillover.measures.technology_pool."
        )
    refuse_existing(out, overwrite)
    con, prefix = backend.connect(data), new_prefix()
    try:
        with translated_errors():
            source = open_source(con, data, prefix)
            entity, time = pool_keys(entity, time, (source.entity, source.time))
            refuse_pool_column(name, source.columns)
            _check_columns(con, source.view, [entity, time, column], [column])
            _check_unique(con, source.view, entity, time)
            _check_finite(con, source.view, entity, time, column)
            prof = _profiles(con, shares, prefix, entity, classes, counts)
            _check_aligned(con, source.view, prof, entity)
            pools = _pools(con, source.view, prof, prefix, entity, time, column, proximity)
            with written_whole(out) as tmp:
                rows = _write(con, source.view, pools, tmp, entity, time, column, name,
                              exclude_self)  # fmt: skip
    finally:
        release(con, prefix, close=backend.owns(data))
    return Written(out, rows)


def _check_finite(con: Any, view: str, entity: str, time: str, column: str) -> None:
    e, t, k = quote_name(entity), quote_name(time), quote_name(column)
    bad = f"{k} IS NULL OR NOT isfinite(CAST({k} AS DOUBLE))"
    n = con.execute(f"SELECT count(*) FROM {view} WHERE {bad}").fetchall()[0][0]
    if n:
        rows = con.execute(f"SELECT {e}, {t} FROM {view} WHERE {bad} ORDER BY 1, 2 LIMIT 5")
        refuse_non_finite_stock(n, rows.fetchall(), column)


def _profiles(con: Any, shares: Any, prefix: str, entity: str, classes: str, counts: str) -> str:
    """The checked profiles as the table ``<prefix>prof(e, c, share, x)``."""
    shares = long_shares(shares, entity, classes, counts)
    view = open_source(con, shares, f"{prefix}sh_").view
    _check_columns(con, view, [entity, classes, counts], [counts])
    e, c, n = quote_name(entity), quote_name(classes), quote_name(counts)
    dup = con.execute(
        f"SELECT {e}, {c} FROM {view} GROUP BY ALL HAVING count(*) > 1 ORDER BY 1, 2 LIMIT 6"
    ).fetchall()
    refuse_repeated_pairs(dup)
    bad = con.execute(
        f"SELECT {e} FROM {view} GROUP BY {e} HAVING bool_or({n} IS NULL OR NOT "
        f"isfinite(CAST({n} AS DOUBLE)) OR {n} < 0) OR sum({n}) <= 0 ORDER BY 1"
    ).fetchall()
    refuse_bad_profiles([r[0] for r in bad])
    table = f"{prefix}prof"
    con.execute(
        f"""CREATE TEMP TABLE {table} AS
        WITH s AS (
            SELECT {e} AS e, {c} AS c, CAST({n} AS DOUBLE) / sum(CAST({n} AS DOUBLE))
                OVER (PARTITION BY {e}) AS share
            FROM {view} WHERE {n} > 0)
        SELECT e, c, share, share / sqrt(sum(share * share) OVER (PARTITION BY e)) AS x
        FROM s"""
    )
    return table


def _check_aligned(con: Any, view: str, prof: str, entity: str) -> None:
    e = quote_name(entity)
    panel = f"(SELECT DISTINCT {e} AS e FROM {view})"
    profiled = f"(SELECT DISTINCT e FROM {prof})"
    sides = []
    for ids, other in ((panel, profiled), (profiled, panel)):
        query = f"SELECT e FROM {ids} EXCEPT SELECT e FROM {other}"
        n = con.execute(f"SELECT count(*) FROM ({query})").fetchall()[0][0]
        examples = [r[0] for r in con.execute(f"{query} ORDER BY 1 LIMIT 5").fetchall()]
        sides.append((n, examples))
    refuse_misaligned(*sides)


def _pools(
    con: Any,
    view: str,
    prof: str,
    prefix: str,
    entity: str,
    time: str,
    column: str,
    proximity: Proximity,
) -> str:
    """``<prefix>pool(e, t, s, d)``: ``sum_c x_ic (Omega) V_ct`` and ``P_ii`` per firm-year."""
    e, t, k = quote_name(entity), quote_name(time), quote_name(column)
    rows = f"(SELECT {e} AS e, {t} AS t, CAST({k} AS DOUBLE) AS k FROM {view})"
    con.execute(
        f"""CREATE TEMP TABLE {prefix}v AS
        SELECT p.c, r.t, sum(p.x * r.k) AS v FROM {rows} r JOIN {prof} p USING (e)
        GROUP BY p.c, r.t"""
    )
    v, diag = f"{prefix}v", "1.0 AS d"
    if proximity == "mahalanobis":
        con.execute(
            f"""CREATE TEMP TABLE {prefix}omega AS
            WITH z AS (SELECT e, c, share / sqrt(sum(share * share) OVER (PARTITION BY c))
                       AS z FROM {prof})
            SELECT a.c AS c, b.c AS d, sum(a.z * b.z) AS omega FROM z a JOIN z b USING (e)
            GROUP BY a.c, b.c"""
        )
        con.execute(
            f"""CREATE TEMP TABLE {prefix}u AS
            SELECT o.d AS c, v.t, sum(o.omega * v.v) AS v FROM {prefix}omega o
            JOIN {prefix}v v ON v.c = o.c GROUP BY o.d, v.t"""
        )
        con.execute(
            f"""CREATE TEMP TABLE {prefix}diag AS
            SELECT a.e, sum(a.x * o.omega * b.x) AS d FROM {prof} a JOIN {prof} b USING (e)
            JOIN {prefix}omega o ON o.c = a.c AND o.d = b.c GROUP BY a.e"""
        )
        v, diag = f"{prefix}u", "d"
    con.execute(
        f"""CREATE TEMP TABLE {prefix}pool AS
        WITH s AS (
            SELECT r.e, r.t, sum(p.x * v.v) AS s
            FROM (SELECT DISTINCT e, t FROM {rows}) r JOIN {prof} p USING (e)
            JOIN {v} v ON v.c = p.c AND v.t = r.t GROUP BY r.e, r.t)
        SELECT s.e, s.t, s.s, {diag} FROM s"""
        + (f" JOIN {prefix}diag USING (e)" if proximity == "mahalanobis" else "")
    )
    return f"{prefix}pool"


def _write(
    con: Any,
    view: str,
    pools: str,
    tmp: Path,
    entity: str,
    time: str,
    column: str,
    name: str,
    exclude_self: bool,
) -> int:
    e, t, k = quote_name(entity), quote_name(time), quote_name(column)
    own = f" - p.d * CAST(src.{k} AS DOUBLE)" if exclude_self else ""
    path = quote_literal(str(tmp / "part-0.parquet"))
    con.execute(
        f"""COPY (SELECT src.*, p.s{own} AS {quote_name(name)} FROM {view} src
        JOIN {pools} p ON p.e = src.{e} AND p.t = src.{t}) TO {path} (FORMAT parquet)"""
    )
    return int(con.execute(f"SELECT count(*) FROM {path}").fetchall()[0][0])


__all__ = ["technology_pool"]
