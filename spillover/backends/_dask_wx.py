"""Spatially lagged columns ``W x`` computed on a Dask cluster, before the rows are staged.

:func:`add_spatial_lags` returns the source as partitions on the workers with a column
``W_x`` for each lagged column x: ``(W x)_it = sum_j w_ij x_jt`` within each period t, as
:func:`spillover.models._formula.spatial_lag_panel` computes it in memory. The rows are
coded by entity (position in the sorted entity ids, to which W is matched by id:
:func:`spillover.weights.as_weights`, the in-memory check and errors) and by period, then
shuffled once by period code range (:meth:`._dask_tasks.DaskTasks._shuffled`), so that
every period lies whole in one partition; each partition then forms, per period, the
N-vector of x in entity order and multiplies it by W (sparse, broadcast once to the
workers: nnz(W) entries, never a dense N x N block, never I_T (x) W). What reaches the
client: the entity and period tables, counts and the first five offending keys of the
checks. The checks are the in-memory ones in their order, with their errors
(:mod:`._lags`, shared with DuckDB): entity and time columns known, x present and numeric,
W's ids equal the panel's entities, the panel balanced (a period's absent entities, or
repeated keys, found within its partition), x complete. The partition functions at the
end of this module are pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from spillover.backends import _dask_parts as parts
from spillover.backends._dask import DaskBackend
from spillover.backends._dask_tasks import DaskTasks, Partitions, check_numeric
from spillover.backends._lags import (
    lag_name,
    require_balanced,
    require_complete,
    require_lag_columns,
)
from spillover.weights import as_weights

#: Offending keys kept per check (the first five are shown, as in memory).
SHOWN = 5


def add_spatial_lags(
    backend: DaskBackend,
    source: Any,
    columns: Sequence[str],
    w: Any,
    *,
    entity: str | None,
    time: str | None,
) -> Partitions:
    """The source (a pandas or dask DataFrame, as :func:`._dask.open_source` returns it)
    with ``W_x`` for each column x of ``columns``, as partitions on the workers (module
    docstring); a source column ``W_x`` is replaced.

    Raises
    ------
    SpecificationError
        If ``entity`` or ``time`` is None, or a column is not in the source or not numeric.
    AlignmentError, WeightsError
        As :func:`spillover.weights.as_weights` in memory: W's ids differ from the
        panel's entities (both sides listed), a bare matrix, weights by period.
    PanelError
        If the panel is unbalanced, a key repeats, or x is missing somewhere (the keys are
        named as in memory).
    BackendError
        If a worker dies or the cluster does not answer within the backend's timeout.
    """
    columns = list(columns)
    require_lag_columns(
        entity, time, columns, list(source.columns), unnamed="a bare Parquet path or dask DataFrame"
    )
    check_numeric(source.dtypes, columns)
    tasks = DaskTasks(backend)
    tasks.parts = tasks._load(source, [[entity]])
    step = "listing entities and periods"
    distinct = tasks._map(step, parts.distinct, effects=[[entity], [time]])
    tables = tasks._tree(step, distinct, parts.union)
    entities = pd.Index(tables[0][entity]).sort_values()
    periods = pd.Index(tables[1][time]).sort_values()
    w = as_weights(w, entities)
    labels = tasks._scatter([entities, periods], broadcast=True)
    tasks.parts = tasks._map(
        "coding entities and periods", key_codes, entity=entity, time=time, labels=labels
    )
    n = min(len(tasks.parts), len(periods))
    tasks.parts = tasks._shuffled(tasks.parts, "__t", len(periods), n)
    found = tasks._reduce(
        "checking the panel", lag_checks, add_checks, n_entities=len(entities), columns=columns
    )
    rows, repeated, absent, missing = found

    def decoded(keys: tuple[int, np.ndarray]) -> tuple[int, pd.DataFrame]:
        count, codes = keys
        return count, pd.DataFrame({entity: entities[codes[:, 0]], time: periods[codes[:, 1]]})

    require_balanced(
        rows, len(entities), len(periods), lambda: decoded(absent), (entity, time),
        repeated=repeated,
    )  # fmt: skip
    for c, keys in zip(columns, missing, strict=True):
        require_complete(c, decoded(keys))
    matrix = tasks._scatter(w.matrix, broadcast=True)
    names = [lag_name(c) for c in columns]
    tasks.parts = tasks._map(
        "computing spatial lags", spatial_lags, w=matrix, columns=columns, names=names
    )
    kept = [c for c in source.columns if c not in names]
    dtypes = pd.concat([source.dtypes[kept], pd.Series(np.dtype(float), index=names)])
    return Partitions(tasks.parts, [*kept, *names], dtypes)


# ---------------------------------------------------------------------- partition functions
def key_codes(p: pd.DataFrame, entity: str, time: str, labels: Sequence[pd.Index]) -> pd.DataFrame:
    """The partition with ``__i`` and ``__t``: positions of its entity and period in the
    sorted tables ``labels``."""
    codes = {
        name: index.get_indexer(p[column]).astype(np.int64)
        for name, column, index in zip(("__i", "__t"), (entity, time), labels, strict=True)
    }
    return p.assign(**codes)


def _by_period(t: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """Each period code of ``t`` with the positions of its rows (one sort, not a pass over
    the rows per period)."""
    order = np.argsort(t, kind="stable")
    periods, starts = np.unique(t[order], return_index=True)
    return list(zip(periods.tolist(), np.split(order, starts[1:]), strict=True))


def _first(codes: np.ndarray) -> tuple[int, np.ndarray]:
    """The count of (entity, period) code pairs and the first :data:`SHOWN` in order."""
    order = np.lexsort((codes[:, 1], codes[:, 0]))
    return len(codes), codes[order[:SHOWN]]


def lag_checks(p: pd.DataFrame, n_entities: int, columns: Sequence[str]) -> tuple:
    """Rows, rows repeating a key, absent cells and missing values of each column (counts
    and first keys) of the partition's periods (whole here)."""
    e, t = p["__i"].to_numpy(dtype=np.intp), p["__t"].to_numpy(dtype=np.intp)
    keys = np.unique(np.column_stack([e, t]), axis=0)
    absent, n_absent = [], 0
    for period, rows in _by_period(t):
        seen = np.zeros(n_entities, bool)
        seen[e[rows]] = True
        n_absent += int((~seen).sum())
        first = np.flatnonzero(~seen)[:SHOWN]  # holds any of the first keys in this period
        absent.append(np.column_stack([first, np.full(len(first), period)]))
    cells = np.vstack([np.empty((0, 2), np.intp), *absent])
    missing = []
    for c in columns:
        bad = p[c].isna().to_numpy()
        missing.append(_first(np.column_stack([e[bad], t[bad]])))
    return len(p), len(p) - len(keys), (n_absent, _first(cells)[1]), missing


def add_checks(a: tuple, b: tuple) -> tuple:
    def both(x: tuple, y: tuple) -> tuple[int, np.ndarray]:
        return x[0] + y[0], _first(np.vstack([x[1], y[1]]))[1]

    return (
        a[0] + b[0],
        a[1] + b[1],
        both(a[2], b[2]),
        [both(x, y) for x, y in zip(a[3], b[3], strict=True)],
    )


def spatial_lags(
    p: pd.DataFrame, w: Any, columns: Sequence[str], names: Sequence[str]
) -> pd.DataFrame:
    """The partition with ``W x`` of each column as ``names`` (its periods whole and
    balanced here; W in entity-code order), without the codes."""
    e, t = p["__i"].to_numpy(dtype=np.intp), p["__t"].to_numpy(dtype=np.intp)
    x = p[list(columns)].to_numpy(dtype=float)
    out = np.empty_like(x)
    full = np.zeros((w.shape[0], x.shape[1]))
    for _, rows in _by_period(t):
        full[e[rows]] = x[rows]
        out[rows] = (w @ full)[e[rows]]
    lagged = pd.DataFrame(out, columns=list(names), index=p.index)
    kept = p.drop(columns=["__i", "__t", *(n for n in names if n in p.columns)])
    return pd.concat([kept, lagged], axis=1)
