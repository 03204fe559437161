"""Where the rows live: in memory (pandas/numpy, the default), in DuckDB, or on Dask.

An estimator takes one ``backend=`` argument. ``None`` (or ``"memory"``) runs the
in-memory path on a pandas DataFrame or Panel. ``"duckdb"`` or a configured
:class:`DuckDBBackend` keeps the rows in DuckDB, an embedded SQL engine that needs no
server and spills to disk past its memory cap; the data may then also be a Parquet file,
a folder of Parquet files (read as one data set: nothing is split by file, so a firm may
span files) or a DuckDB relation. ``"dask"`` or a :class:`DaskBackend` (a
``distributed.Client``, a scheduler address, or a local cluster it starts) keeps the rows
as pandas partitions in the memory of a Dask cluster's workers; the data may be a pandas
DataFrame, a dask DataFrame or a Parquet file or folder. All backends run the same steps
of the estimator: the row-level transforms (dropping singletons, removing group means and
effect coefficients) and small reductions (per-level sums, level-pair counts, ``X'X``,
``X'y``, per-cluster score sums); on DuckDB the transforms are SQL (:class:`Staged`), on
Dask tasks on the partitions (:class:`DaskStaged`), and only the reductions come back to
Python, where the estimator's own algebra (:mod:`spillover.models._hdfe_out_of_core`) and
the covariance registry (:mod:`spillover.inference.registry`) finish the job.

Supported out of core: :class:`~spillover.models.HDFE` with any absorbed effects (firm,
year, region x year, ...) and ``vcov="unadjusted"``, ``"robust"``, ``"hc0"``,
``Cluster(a)`` and ``Cluster(a, b)``; the results equal the in-memory ones to rounding
(tested to 1e-10). Spatial maximum-likelihood models stay single-machine and in memory:
their likelihood needs the whole W and all residuals at every iteration.

Examples
--------
>>> import pandas as pd
>>> from spillover.backends import DuckDBBackend, resolve_backend
>>> resolve_backend(None) is None, resolve_backend("duckdb").database
(True, ':memory:')
"""

from __future__ import annotations

from typing import Any

from spillover.backends._dask import DaskBackend
from spillover.backends._dask import open_source as dask_open_source
from spillover.backends._dask import translated_errors as dask_translated_errors
from spillover.backends._dask_tables import DaskStaged
from spillover.backends._duckdb import DuckDBBackend, duckdb_module, open_source, translated_errors
from spillover.backends._tables import Staged
from spillover.errors import SpecificationError

__all__ = [
    "DaskBackend",
    "DaskStaged",
    "DuckDBBackend",
    "Staged",
    "dask_open_source",
    "dask_translated_errors",
    "duckdb_module",
    "open_source",
    "resolve_backend",
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
