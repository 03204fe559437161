"""HDFE on Dask: the out-of-core estimator with its rows held by a cluster's workers.

The algebra is :class:`._hdfe_out_of_core.OutOfCoreHDFE`'s, shared with DuckDB; the sample
is :class:`._dask_sample.DaskSample` (shared with the Dask 2SLS): the data handed to a
:class:`spillover.backends.DaskBackend`, the rows staged as pandas partitions on the
workers (:class:`spillover.backends.DaskStaged`: transforms and reductions as tasks,
partitioned by the largest effect set; regression weights staged with the rows and every
reduction weighted, as on DuckDB). Driscoll-Kraay errors use the per-period score sums
summed on the workers, as on DuckDB, so they need the panel's time column (a Panel, a
DataFrame indexed by (entity, time) or a ParquetPanel). Conley errors use the score sums
per location and period summed on the workers
(:class:`spillover.backends.DaskConleyScores`) and the pair search, kernel and checks that
DuckDB uses (:mod:`._conley_out_of_core`), so they also need the entity column. ``W(x)``
terms are added to the source before staging (:class:`._wx_out_of_core.SpatialLags` with
:class:`._dask_sample.DaskSample`'s hook: :func:`spillover.backends.dask_add_spatial_lags`),
so every later step is the same as without them. What the Dask backend does not run
raises a SpecificationError that names what is supported and points to the DuckDB backend
or memory (:func:`unsupported`).
"""

from __future__ import annotations

from spillover.errors import SpecificationError
from spillover.models._dask_sample import DaskSample
from spillover.models._hdfe_out_of_core import OutOfCoreHDFE
from spillover.models._wx_out_of_core import SpatialLags

#: What the Dask backend fits, for the errors that refuse the rest.
SUPPORTED = (
    "HDFE and PanelIV (2SLS, with or without absorbed effects), with or without W(x) "
    "terms, with vcov='unadjusted', 'robust', 'hc0', Cluster(a), Cluster(a, b), "
    "DriscollKraay(lags=...) or Conley(cutoff_km=...), and PoissonHDFE with the same "
    "vcov but Conley, all with or without regression weights"
)


def unsupported(what: str) -> SpecificationError:
    """The error for a model or covariance the Dask backend does not run."""
    return SpecificationError(
        f"{what} is not available on the Dask backend, which runs {SUPPORTED}. Use "
        "backend='duckdb' (out of core on one machine) or the in-memory backend "
        "(backend=None) for it."
    )


class DaskHDFE(SpatialLags, DaskSample, OutOfCoreHDFE):
    """The Dask side of :class:`~spillover.models.HDFE` (``backend="dask"``)."""
