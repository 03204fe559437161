"""Where the rows live: in memory (pandas/numpy, the default), in DuckDB, or on Dask.

An estimator takes one ``backend=`` argument. ``None`` (or ``"memory"``) runs the
in-memory path on a pandas DataFrame or Panel. ``"duckdb"`` or a configured
:class:`DuckDBBackend` keeps the rows in DuckDB, an embedded SQL engine that needs no
server and spills to disk past its memory cap; the data may then also be a
:class:`ParquetPanel` (a Parquet file or folder with its entity and time columns, read
lazily and checked once on open: missing columns, missing or duplicated keys), a bare
Parquet file or folder (read as one data set: nothing is split by file, so a firm may span
files) or a DuckDB relation. ``"dask"`` or a :class:`DaskBackend` (a
``distributed.Client``, a scheduler address, or a local cluster it starts) keeps the rows
as pandas partitions in the memory of a Dask cluster's workers; the data may be a pandas
DataFrame (or Panel), a dask DataFrame, a ParquetPanel or a Parquet file or folder. Every
backend runs the same steps of the estimator: the row-level transforms (dropping
singletons, removing group means and effect coefficients) and small reductions (per-level
sums, level-pair counts, moment matrices, per-cluster and per-period score sums); on
DuckDB the transforms are SQL (:class:`Staged`), on Dask tasks on the partitions
(:class:`DaskStaged`), and only the reductions come back to Python, where the estimator's
own algebra and the covariance registry (:mod:`spillover.inference.registry`) finish the
job. The estimator side is :mod:`spillover.models._out_of_core` (the sample, whatever the
backend), :mod:`spillover.models._hdfe_out_of_core` (HDFE), and the backend sides
:mod:`spillover.models._duckdb_sample` (shared by :mod:`spillover.models._hdfe_duckdb`,
:mod:`spillover.models._iv_duckdb` and :mod:`spillover.models._poisson_duckdb`, whose IRLS
steps are SQL in :class:`IrlsStaged`) and :mod:`spillover.models._dask_sample` (shared by
:mod:`spillover.models._hdfe_dask`, :mod:`spillover.models._iv_dask` and
:mod:`spillover.models._poisson_dask`, whose IRLS steps are tasks in
:class:`DaskIrlsStaged`); the IRLS driver of both backends is
:mod:`spillover.models._poisson_out_of_core`, the 2SLS algebra
:mod:`spillover.models._iv_out_of_core`; the Conley covariance out of core is
:mod:`spillover.models._conley_out_of_core`, with its SQL in :class:`ConleyScores` and its
Dask tasks in :class:`DaskConleyScores`.

Supported on DuckDB: :class:`~spillover.models.HDFE` and :class:`~spillover.models.PanelIV`
(2SLS, with or without absorbed effects, and its first-stage statistics) with any absorbed
effects (firm, year, region x year, ...), ``W(x)`` terms with ``w=`` (spatially lagged
regressors, in any part of an IV formula: :func:`add_spatial_lags` hands W to DuckDB as an
edge table of its stored entries and computes W x within each period by a join and a
grouped sum, before singletons are dropped and effects absorbed, with the in-memory checks
and errors: W's ids equal the panel's entities, the panel balanced, x complete; the entity
and time columns must be known, as for Driscoll-Kraay) and ``vcov="unadjusted"``,
``"robust"``, ``"hc0"``, ``Cluster(a)``, ``Cluster(a, b)`` and ``DriscollKraay(lags=...)``
(per-period score sums; it needs the time column, known for a ParquetPanel, a Panel or a
DataFrame indexed by (entity, time)), with or without regression weights (``weights=``,
``weight_type="analytic"`` or ``"frequency"``: the in-memory conventions, weighted
absorbing and weighted moments and score sums in SQL); HDFE and PanelIV also with
``Conley(cutoff_km=..., lags=..., kernel=...)`` (the time column too, and coordinates:
``coords=`` columns, lon/lat or ``metric="euclidean"`` km, or a Panel's geometry, as in
memory; score sums per location and period from SQL, location pairs within the cutoff
from a tiled search one tile at a time, serial terms by a SQL self-join; see
:mod:`spillover.models._conley_out_of_core`); and :class:`~spillover.models.PoissonHDFE`
(Poisson PML by IRLS, each iteration a weighted HDFE step in SQL; absorbed effects
required, ``separation_check=("fe",)``: the ReLU check is refused; regression weights,
``W(x)`` terms;
the same covariances). Supported on Dask: :class:`~spillover.models.HDFE` with any
absorbed effects, ``W(x)`` terms with ``w=`` (:func:`dask_add_spatial_lags`: the rows
shuffled once by period, W x per period on the workers with the sparse W broadcast to
them, before singletons are dropped and effects absorbed; the checks and errors of DuckDB
and memory, :mod:`._lags`), :class:`~spillover.models.PanelIV` (2SLS, with or without
absorbed effects, and its first-stage statistics) and
:class:`~spillover.models.PoissonHDFE` as on DuckDB (the IRLS steps as tasks on the
partitions, :class:`DaskIrlsStaged`), with ``vcov="unadjusted"``, ``"robust"``,
``"hc0"``, ``Cluster(a)``, ``Cluster(a, b)``, ``DriscollKraay(lags=...)`` (the time column
known as on DuckDB) and ``Conley(...)`` (coordinates as on DuckDB;
score sums per location and period summed on the workers, :class:`DaskConleyScores`, then
the same pair search and kernel), with or without regression weights.
Every wait on a Dask cluster
is bounded (``DaskBackend(timeout=...)``, 600 s per step by default): a cluster that stops
answering is a BackendError naming the step, not a hang. The results equal the in-memory
ones to rounding (tested to 1e-10: the same algebra, summed in another order; Poisson to
its IRLS tolerance, tested to 1e-8). :func:`aggregate_regions` aggregates firm-year rows to
region-year panels (sums, means, weighted means such as the employment-weighted mean wage,
shares, counts) in DuckDB, or on Dask (per-partition sums added on the workers; repeated
keys found across partitions), as :func:`spillover.geo.aggregate` does. :func:`locate_firms`
places firm points in region polygons out of core (DuckDB batches or Dask partitions, the
polygon layer broadcast to each) as :func:`spillover.geo.assign_regions` does, writing a
Parquet folder whole or not at all. :func:`technology_pool` computes the technology
spillover pool of :func:`spillover.measures.technology_pool` in DuckDB or on Dask
(long-format patent profiles, the class-space factorisation as grouped sums and joins, or
as per-partition class sums added on the workers with the per-firm tables broadcast),
writing a Parquet folder the same way. The ReLU separation check runs in memory only.
Spatial
maximum-likelihood models stay single-machine and in memory: their likelihood needs the
whole W and all residuals at every iteration.

A model out of core keeps its staged sample (DuckDB TEMP tables, Dask partitions) between
fits; ``model.close()`` or ``with HDFE(..., backend=...) as model:`` releases it (and
closes the connection the DuckDB backend opened). ``DuckDBBackend(progress=True)`` shows a
progress bar (tqdm) over the absorbing passes.

Examples
--------
>>> import pandas as pd
>>> from spillover.backends import DuckDBBackend, resolve_backend
>>> resolve_backend(None) is None, resolve_backend("duckdb").database
(True, ':memory:')
>>> DuckDBBackend(memory_limit="1GB", progress=True).settings()
{'memory_limit': '1GB'}
"""

from __future__ import annotations

from typing import Any

from spillover.backends._aggregate import aggregate_regions
from spillover.backends._conley_tables import ConleyScores
from spillover.backends._dask import DaskBackend
from spillover.backends._dask import open_source as dask_open_source
from spillover.backends._dask import panel_keys as dask_panel_keys
from spillover.backends._dask import time_column as dask_time_column
from spillover.backends._dask import translated_errors as dask_translated_errors
from spillover.backends._dask_conley import DaskConleyScores
from spillover.backends._dask_irls import DaskIrlsStaged
from spillover.backends._dask_tables import DaskStaged
from spillover.backends._dask_tasks import Partitions
from spillover.backends._dask_wx import add_spatial_lags as dask_add_spatial_lags
from spillover.backends._duckdb import (
    DuckDBBackend,
    duckdb_module,
    new_prefix,
    release,
    translated_errors,
)
from spillover.backends._irls import IrlsStaged
from spillover.backends._locate import Located, locate_firms
from spillover.backends._parquet import ParquetPanel
from spillover.backends._source import Source, open_source, refuse_parquet_in_memory
from spillover.backends._tables import Staged, combination
from spillover.backends._tech_pool import technology_pool
from spillover.backends._written import Written
from spillover.backends._wx import add_columns, add_spatial_lags
from spillover.errors import SpecificationError

__all__ = [
    "ConleyScores",
    "DaskBackend",
    "DaskConleyScores",
    "DaskIrlsStaged",
    "DaskStaged",
    "DuckDBBackend",
    "IrlsStaged",
    "Located",
    "ParquetPanel",
    "Partitions",
    "Source",
    "Staged",
    "Written",
    "add_columns",
    "add_spatial_lags",
    "aggregate_regions",
    "combination",
    "dask_add_spatial_lags",
    "dask_open_source",
    "dask_panel_keys",
    "dask_time_column",
    "dask_translated_errors",
    "duckdb_module",
    "locate_firms",
    "new_prefix",
    "open_source",
    "refuse_parquet_in_memory",
    "release",
    "resolve_backend",
    "technology_pool",
    "translated_errors",
]


def resolve_backend(backend: Any) -> DuckDBBackend | DaskBackend | None:
    """``None`` for in memory, else the DuckDB or Dask backend to use.

    ``"dask"`` starts a :class:`DaskBackend` with its defaults (a local cluster of two
    worker processes, started on first use and closed when the process ends); pass a
    ``DaskBackend(...)`` in a ``with`` block to choose the cluster and close it sooner.

    Raises
    ------
    SpecificationError
        For anything but None, ``"memory"``, ``"duckdb"``, ``"dask"``, a DuckDBBackend or
        a DaskBackend.
    """
    if backend is None or backend == "memory":
        return None
    if backend == "duckdb":
        return DuckDBBackend()
    if backend == "dask":
        return DaskBackend()
    if isinstance(backend, DuckDBBackend | DaskBackend):
        return backend
    raise SpecificationError(
        "backend must be None/'memory', 'duckdb', 'dask', DuckDBBackend(...) or "
        f"DaskBackend(...); got {backend!r}."
    )
