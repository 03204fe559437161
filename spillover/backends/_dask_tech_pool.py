"""Technology spillover pools on a Dask cluster: the class-space factorisation of
:func:`._tech_pool.technology_pool` as tasks on the partitions, a Parquet file per
partition.

The firm-year rows stay on the workers. Their keys and the finiteness of K are checked
once the keys alone (firm, period, a flag) are shuffled by a hash of the firm, so that a
repeated (firm, period) key is found even when its twin sits in another partition. The
profiles (long format, far smaller than the rows) come to the client as pandas, are
checked as on DuckDB, and become the per-firm tables (the unit rows ``x_i`` as a sparse
firms x classes matrix and ``P_ii``), broadcast once to the workers. Each partition sums
``x_ic K_it`` by class and period; the sums are combined pairwise on the workers into
``V`` (periods x classes), which comes back to the client (Mahalanobis: times Omega) and
is broadcast again; each partition then computes its rows' pool and writes its own file
into the hidden folder of :func:`._written.written_whole`. The partition functions at the
end of this module are pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp

from spillover.backends._aggregate_shared import refuse_absent, refuse_repeats
from spillover.backends._dask import DaskBackend, open_source, panel_keys, wait_all
from spillover.backends._dask_tasks import DaskTasks, check_numeric, raise_failed
from spillover.backends._tech_checks import (
    PoolSpec,
    long_shares,
    pool_keys,
    refuse_bad_profiles,
    refuse_misaligned,
    refuse_non_finite_stock,
    refuse_pool_column,
    refuse_repeated_pairs,
)
from spillover.backends._written import written_whole

#: Offending keys kept per check (DuckDB's LIMIT: six repeated keys, five others).
SHOWN = 6


@dataclass(frozen=True)
class FirmTables:
    """The per-firm tables every worker holds: the sorted profiled firms, their unit
    class rows ``x`` (CSR, firms x classes) and ``P_ii``."""

    firms: pd.Index
    x: sp.csr_array
    diag: np.ndarray


def dask_technology_pool(
    data: Any, shares: Any, out: Path, spec: PoolSpec, backend: DaskBackend | str
) -> int:
    """Write the rows of ``data`` with the pool to ``out`` (whole or not at all); the rows
    written. ``"dask"`` starts a local cluster for the call and closes it after."""
    owned = not isinstance(backend, DaskBackend)
    backend = DaskBackend() if owned else backend
    try:
        return _run(DaskTasks(backend), data, shares, out, spec)
    finally:
        if owned:
            backend.close()


def _run(tasks: DaskTasks, data: Any, shares: Any, out: Path, spec: PoolSpec) -> int:
    source = open_source(data)
    entity, time = pool_keys(spec.entity, spec.time, panel_keys(data))
    columns = list(source.columns)
    refuse_pool_column(spec.name, columns)
    refuse_absent([entity, time, spec.column], columns)
    check_numeric(source.dtypes, [spec.column])
    tasks.parts = tasks._load(source, [[entity]])
    panel_firms = _checked_keys(tasks, entity, time, spec.column)
    profiles = _profiles(tasks, shares, entity, spec.classes, spec.counts)
    refuse_misaligned(
        _first(panel_firms.difference(profiles.index.unique(0))),
        _first(profiles.index.unique(0).difference(panel_firms)),
    )
    firms, omega = _firm_tables(profiles, spec.proximity)
    tables = tasks._scatter(firms, broadcast=True)
    sums, schema = tasks._reduce(
        "summing stocks by class and period", class_sums, add_sums,
        entity=entity, time=time, column=spec.column, tables=tables,
    )  # fmt: skip
    if omega is not None:  # u_dt = sum_c Omega_cd V_ct (Omega symmetric)
        sums = pd.DataFrame((omega @ sums.to_numpy().T).T, index=sums.index)
    weights = tasks._scatter(sums, broadcast=True)
    with written_whole(out) as tmp:
        step = "writing the pools"
        paths = [str(tmp / f"part-{i:05d}.parquet") for i in range(len(tasks.parts))]
        futures = tasks.client.map(
            write_pools, tasks.parts, paths, pure=False, entity=entity, time=time,
            column=spec.column, name=spec.name, exclude_self=spec.exclude_self,
            tables=tables, sums=weights, schema=schema.append(pa.field(spec.name, pa.float64())),
        )  # fmt: skip
        wait_all(futures, step, tasks.timeout, partitions=futures)
        raise_failed(step, futures, tasks.timeout)
        return int(sum(tasks._gather(step, futures)))


def _first(ids: pd.Index) -> tuple[int, list]:
    return len(ids), ids[:5].tolist()


def _checked_keys(tasks: DaskTasks, entity: str, time: str, column: str) -> pd.Index:
    """The panel's firms (sorted), once no (firm, period) key repeats and K is finite."""
    n = len(tasks.parts)
    keys = tasks._map("checking the keys", key_frame, entity=entity, time=time, column=column, n=n)
    keys = tasks._shuffled(keys, "__b", n)
    repeated, bad, firms = tasks._reduce("checking the keys", key_checks, add_key_checks, keys)
    refuse_repeats(repeated, entity, time)
    refuse_non_finite_stock(bad[0], bad[1][:5], column)
    return pd.Index(firms).sort_values()


def _profiles(tasks: DaskTasks, shares: Any, entity: str, classes: str, counts: str) -> pd.Series:
    """The checked profiles on the client: the counts > 0 indexed by (firm, class)."""
    frame = open_source(long_shares(shares, entity, classes, counts))
    if not isinstance(frame, pd.DataFrame):  # a dask DataFrame or Parquet: small, brought here
        frame = tasks._gather("reading the shares", [tasks.client.compute(frame)])[0]
    refuse_absent([entity, classes, counts], list(frame.columns))
    check_numeric(frame.dtypes, [counts])
    pairs = frame[[entity, classes]]
    repeated = pairs[pairs.duplicated(keep=False)].drop_duplicates()
    refuse_repeated_pairs(_sorted(_tuples(repeated)))
    n = frame[counts].to_numpy(dtype=float, na_value=np.nan)
    flagged = pd.DataFrame({"e": frame[entity].to_numpy(), "bad": ~(n >= 0) | ~np.isfinite(n),
                            "n": np.nan_to_num(n)})  # fmt: skip
    by_firm = flagged.groupby("e", sort=True).agg(bad=("bad", "any"), n=("n", "sum"))
    refuse_bad_profiles(by_firm.index[by_firm["bad"] | (by_firm["n"] <= 0)].tolist())
    kept = frame[n > 0]
    return pd.Series(n[n > 0], index=pd.MultiIndex.from_frame(kept[[entity, classes]]))


def _firm_tables(profiles: pd.Series, proximity: str) -> tuple[FirmTables, Any]:
    """:class:`FirmTables` and Omega (classes x classes, sparse; None for Jaffe) of the
    module docstring's algebra."""
    firms, f = np.unique(profiles.index.get_level_values(0), return_inverse=True)
    classes, c = np.unique(profiles.index.get_level_values(1), return_inverse=True)
    counts = sp.csr_array((profiles.to_numpy(), (f, c)), shape=(len(firms), len(classes)))
    shares = sp.diags_array(1 / counts.sum(axis=1)) @ counts
    squares = shares.multiply(shares)
    x = sp.csr_array(sp.diags_array(1 / np.sqrt(squares.sum(axis=1))) @ shares)
    if proximity == "jaffe":
        return FirmTables(pd.Index(firms), x, np.ones(len(firms))), None
    z = shares @ sp.diags_array(1 / np.sqrt(squares.sum(axis=0)))
    omega = sp.csr_array(z.T @ z)
    diag = np.asarray((x @ omega).multiply(x).sum(axis=1)).ravel()
    return FirmTables(pd.Index(firms), x, diag), omega


def _sorted(keys: Any) -> list[tuple]:
    return sorted(keys)[:SHOWN]


def _tuples(frame: pd.DataFrame) -> list[tuple]:
    """The rows of ``frame`` as tuples of Python scalars (as DuckDB returns them)."""
    return [tuple(r) for r in frame.astype(object).to_numpy().tolist()]


# ---------------------------------------------------------------------- partition functions
def key_frame(p: pd.DataFrame, entity: str, time: str, column: str, n: int) -> pd.DataFrame:
    """The partition's keys, whether K is missing or infinite there, and a bucket (a hash
    of the firm below ``n``)."""
    k = p[column].to_numpy(dtype=float, na_value=np.nan)
    bucket = pd.util.hash_pandas_object(p[entity], index=False).to_numpy() % np.uint64(n)
    keys = {"e": p[entity].to_numpy(), "t": p[time].to_numpy(), "bad": ~np.isfinite(k)}
    return pd.DataFrame({**keys, "__b": bucket.astype(np.int64)})


def key_checks(p: pd.DataFrame) -> tuple:
    """Repeated keys (first :data:`SHOWN`, sorted), missing K (count, first keys) and the
    distinct firms of a partition holding every row of its firms."""
    repeated = p.loc[p.duplicated(["e", "t"], keep=False), ["e", "t"]].drop_duplicates()
    bad = p.loc[p["bad"], ["e", "t"]]
    return (
        _sorted(_tuples(repeated)),
        (len(bad), _sorted(_tuples(bad))),
        p["e"].unique(),
    )


def add_key_checks(a: tuple, b: tuple) -> tuple:
    return (
        _sorted(a[0] + b[0]),
        (a[1][0] + b[1][0], _sorted(a[1][1] + b[1][1])),
        pd.unique(np.concatenate([a[2], b[2]])),
    )


def class_sums(
    p: pd.DataFrame, entity: str, time: str, column: str, tables: FirmTables
) -> tuple[pd.DataFrame, pa.Schema]:
    """``sum_i x_ic K_it`` of the partition's rows (periods x classes), and the Arrow
    schema of its columns (for one schema in every file written)."""
    e = tables.firms.get_indexer(p[entity])
    periods, t = np.unique(p[time].to_numpy(), return_inverse=True)
    k = p[column].to_numpy(dtype=float)
    by_period = sp.csr_array((k, (t, np.arange(len(p)))), shape=(len(periods), len(p)))
    sums = pd.DataFrame((by_period @ tables.x[e, :]).toarray(), index=periods)
    return sums, pa.Schema.from_pandas(p, preserve_index=False).remove_metadata()


def add_sums(a: tuple, b: tuple) -> tuple[pd.DataFrame, pa.Schema]:
    """Class sums added; schemas unified (a column all null in one partition takes the
    other's type; integers beside floats become floats)."""
    schema = pa.unify_schemas([a[1], b[1]], promote_options="permissive")
    return a[0].add(b[0], fill_value=0.0), schema


def write_pools(
    p: pd.DataFrame,
    path: str,
    entity: str,
    time: str,
    column: str,
    name: str,
    exclude_self: bool,
    tables: FirmTables,
    sums: pd.DataFrame,
    schema: pa.Schema,
) -> int:
    """Write the partition with ``S_it = sum_c x_ic U_ct (- P_ii K_it)`` as ``name`` to
    ``path`` (``U``: ``sums``, V or Omega V); its row count (an empty partition writes
    nothing)."""
    if not len(p):
        return 0
    e = tables.firms.get_indexer(p[entity])
    t = sums.index.get_indexer(p[time])
    rows = tables.x[e, :]
    which = np.repeat(np.arange(len(p)), np.diff(rows.indptr))
    terms = rows.data * sums.to_numpy()[t[which], rows.indices]
    pool = np.bincount(which, weights=terms, minlength=len(p))
    if exclude_self:
        pool -= tables.diag[e] * p[column].to_numpy(dtype=float)
    table = pa.Table.from_pandas(p.assign(**{name: pool}), schema=schema, preserve_index=False)
    pq.write_table(table, path)
    return len(p)
