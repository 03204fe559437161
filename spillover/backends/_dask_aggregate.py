"""Firm-year rows aggregated to region-year tables on a Dask cluster.

:func:`grouped_on_dask` is the Dask side of :func:`spillover.backends.aggregate_regions`:
the checks of the DuckDB path in its order, with its errors
(:mod:`._aggregate_shared`), then per-partition sums and counts by (region, time) added
pairwise on the workers (:meth:`._dask_tasks.DaskTasks._reduce`), so that only the
region-year table (and, from the checks, counts and the first offending keys) reaches the
client. Repeated (entity, time) keys are found after a shuffle of the key columns alone
by a hash of the entity, which brings every row of a firm into one partition. The
partition functions at the end of this module are pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from spillover.backends import _aggregate_shared as shared
from spillover.backends._aggregate_shared import Stats
from spillover.backends._dask import DaskBackend, open_source
from spillover.backends._dask_tasks import DaskTasks
from spillover.geo._aggregate import report_missing

#: Offending keys kept per check (five are shown, a sixth tells that there are more).
SHOWN = 6


def grouped_on_dask(
    data: Any,
    entity: str,
    time: str,
    region: str,
    stats: Stats,
    missing: str,
    backend: DaskBackend | str,
) -> pd.DataFrame:
    """The region-year table of :func:`._aggregate_shared.finish` from rows on Dask
    (``backend="dask"``: a local cluster started for the call and closed after)."""
    owned = backend == "dask"
    backend = DaskBackend() if owned else backend
    try:
        source = open_source(data)
        _check_columns(source, [entity, time, region, *stats.used], stats.used)
        tasks = DaskTasks(backend)
        tasks.parts = tasks._load(source, [[entity]])
        _check_unique(tasks, entity, time)
        _check_weights(tasks, entity, time, stats.weights)
        _missing(tasks, entity, time, region, stats.used, missing)
        table = tasks._reduce(
            "summing by region and period", cell_sums, add_cells, region=region,
            time=time, stats=stats, skip=missing == "skip",
        )  # fmt: skip
        return shared.finish(_cells(table, region, time, stats), region, time, stats)
    finally:
        if owned:
            backend.close()


def _check_columns(source: Any, needed: list[str], numeric: list[str]) -> None:
    shared.refuse_absent(needed, list(source.columns))
    dtypes = source.dtypes
    bad = [c for c in numeric if not _is_numeric(dtypes[c])]
    shared.refuse_non_numeric(bad, [str(dtypes[c]) for c in bad])


def _is_numeric(dtype: Any) -> bool:
    api = pd.api.types
    return api.is_numeric_dtype(dtype) and not api.is_bool_dtype(dtype)


def _check_unique(tasks: DaskTasks, entity: str, time: str) -> None:
    """PanelError naming repeated (entity, time) keys, wherever their twins are."""
    step = "checking repeated keys"
    n = len(tasks.parts)
    keys = tasks._map(step, entity_buckets, entity=entity, time=time, n=n)
    if n > 1:
        keys = tasks._shuffled(keys, "__h", n, n)
    [(_, rows)] = tasks._reduce(step, repeated_keys, add_counted, items=keys, keys=[entity, time])
    shared.refuse_repeats(_tuples(rows), entity, time)


def _check_weights(tasks: DaskTasks, entity: str, time: str, weights: list[str]) -> None:
    """SpecificationError naming the rows where a weight is negative."""
    if not weights:
        return
    found = tasks._reduce(
        "checking weights", negative_weights, add_counted, keys=[entity, time], weights=weights
    )
    for w, (n, rows) in zip(weights, found, strict=True):
        shared.refuse_negative(w, n, _tuples(rows))


def _missing(
    tasks: DaskTasks, entity: str, time: str, region: str, used: list[str], missing: str
) -> None:
    """Count missing values per column; raise or warn exactly as ``geo.aggregate``."""
    columns = [region, *used]
    counts, (n_rows, rows) = tasks._reduce(
        "checking missing values", missing_values, add_missing, keys=[entity, time],
        columns=columns,
    )  # fmt: skip
    found = {c: int(n) for c, n in zip(columns, counts, strict=True) if n}
    if found:
        report_missing(found, _tuples(rows)[:5], int(n_rows), region, missing)


def _tuples(rows: pd.DataFrame) -> list[tuple]:
    return list(rows.itertuples(index=False, name=None))


def _cells(table: pd.DataFrame, region: str, time: str, stats: Stats) -> pd.DataFrame:
    """The summed cells as :func:`._aggregate_shared.finish` reads them, sorted by key:
    a sum, mean or weighted-mean part NaN where no value was present."""
    table = table.sort_index()

    def ratio(num: str, den: str) -> np.ndarray:
        d = table[den].to_numpy(dtype=float)
        return table[num].to_numpy(dtype=float) / np.where(d > 0, d, np.nan)

    got = {region: table.index.get_level_values(0), time: table.index.get_level_values(1)}
    for j in range(len(stats.summed)):
        got[f"__s{j}"] = table[f"__s{j}"].where(table[f"__sc{j}"] > 0).to_numpy(dtype=float)
    for j in range(len(stats.means)):
        got[f"__m{j}"] = ratio(f"__m{j}", f"__mc{j}")
    for j in range(len(stats.wmean)):
        present = table[f"__wc{j}"] > 0
        got[f"__wn{j}"] = table[f"__wn{j}"].where(present).to_numpy(dtype=float)
        got[f"__wd{j}"] = table[f"__wd{j}"].where(present).to_numpy(dtype=float)
    got["__n"] = table["__n"].to_numpy(dtype=np.int64)
    return pd.DataFrame(got)


# ---------------------------------------------------------------------- partition functions
def _first(rows: pd.DataFrame) -> pd.DataFrame:
    """The first :data:`SHOWN` rows in key order."""
    return rows.sort_values(list(rows.columns)).head(SHOWN).reset_index(drop=True)


def add_counted(a: list, b: list) -> list:
    """Add (count, first keys) pairs: the counts summed, the first keys of both."""
    return [(x[0] + y[0], _first(_stacked(x[1], y[1]))) for x, y in zip(a, b, strict=True)]


def _stacked(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Both frames' rows (an empty one left out: its column types may be unknown)."""
    return pd.concat([a, b]) if len(a) and len(b) else (a if len(a) else b)


def entity_buckets(p: pd.DataFrame, entity: str, time: str, n: int) -> pd.DataFrame:
    """The key columns with ``__h``: a hash of the entity, below ``n`` (equal entities,
    equal buckets, in every partition)."""
    h = pd.util.hash_pandas_object(p[entity], index=False).to_numpy() % np.uint64(n)
    return p[[entity, time]].assign(__h=h.astype(np.int64))


def repeated_keys(p: pd.DataFrame, keys: Sequence[str]) -> list:
    """The number of keys repeated in the partition and the first (every row of their
    entities is here)."""
    twice = p.loc[p.duplicated(list(keys), keep=False), list(keys)].drop_duplicates()
    return [(len(twice), _first(twice))]


def negative_weights(p: pd.DataFrame, keys: Sequence[str], weights: Sequence[str]) -> list:
    """Per weight column: rows with a negative weight, and the first of their keys."""
    out = []
    for w in weights:
        bad = (p[w] < 0).fillna(False).to_numpy(dtype=bool)
        out.append((int(bad.sum()), _first(p.loc[bad, list(keys)])))
    return out


def missing_values(p: pd.DataFrame, keys: Sequence[str], columns: Sequence[str]) -> tuple:
    """Missing values per column (None or NaN), and the rows with any: their count and
    first keys."""
    na = p[list(columns)].isna().to_numpy()
    anywhere = na.any(axis=1)
    return na.sum(axis=0), (int(anywhere.sum()), _first(p.loc[anywhere, list(keys)]))


def add_missing(a: tuple, b: tuple) -> tuple:
    return a[0] + b[0], add_counted([a[1]], [b[1]])[0]


def add_cells(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Both partitions' cell sums added by (region, time); a missing key is kept (the
    Panel then refuses it, as on DuckDB), not dropped."""
    both = pd.concat([a, b])
    return both.groupby(level=[0, 1], sort=False, dropna=False).sum()


def _floats(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Values as float64 with missing ones as 0, and where they are present."""
    v = column.astype("float64").to_numpy()
    present = ~np.isnan(v)
    return np.where(present, v, 0.0), present


def cell_sums(p: pd.DataFrame, region: str, time: str, stats: Stats, skip: bool) -> pd.DataFrame:
    """Per (region, time) cell of the partition: sums and counts of present values
    (``__s``/``__sc``, ``__m``/``__mc``), of ``w x`` and ``w`` over rows with both present
    (``__wn``, ``__wd``, ``__wc``), and rows (``__n``); rows without region left out if
    ``skip``."""
    if skip:
        p = p.loc[p[region].notna().to_numpy()]
    cols: dict[str, np.ndarray] = {}
    for tag, names in (("s", stats.summed), ("m", stats.means)):
        for j, c in enumerate(names):
            cols[f"__{tag}{j}"], present = _floats(p[c])
            cols[f"__{tag}c{j}"] = present.astype(np.int64)
    for j, (x, w) in enumerate(stats.wmean.items()):
        (xv, xp), (wv, wp) = _floats(p[x]), _floats(p[w])
        both = xp & wp
        cols[f"__wn{j}"], cols[f"__wd{j}"] = xv * wv, np.where(both, wv, 0.0)
        cols[f"__wc{j}"] = both.astype(np.int64)
    cols["__n"] = np.ones(len(p), np.int64)
    keys = [pd.Series(p[c].to_numpy(), name=c) for c in (region, time)]
    return pd.DataFrame(cols).groupby(keys, sort=False, dropna=False).sum()
