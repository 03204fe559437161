"""HDFE on Dask: the out-of-core estimator with its rows held by a cluster's workers.

The algebra is :class:`._hdfe_out_of_core.OutOfCoreHDFE`'s, shared with DuckDB; this module
hands the data to a :class:`spillover.backends.DaskBackend` and stages the rows as pandas
partitions on the workers (:class:`._dask_sample.DaskSample`, shared with Poisson;
:class:`spillover.backends.DaskStaged`: transforms and reductions as tasks, partitioned by
the largest effect set; regression weights staged with the rows and every reduction
weighted, as on DuckDB). Driscoll-Kraay errors use the per-period score sums summed on the
workers, as on DuckDB, so they need the panel's time column (a Panel, a DataFrame indexed
by (entity, time) or a ParquetPanel). PanelIV and
Conley errors are not implemented on Dask: asked for, they raise a SpecificationError that
names what is supported and points to the DuckDB backend or memory.
"""

from __future__ import annotations

from typing import Any

from spillover.errors import SpecificationError
from spillover.inference.vcov import Conley
from spillover.models._dask_sample import DaskSample
from spillover.models._hdfe_out_of_core import OutOfCoreHDFE
from spillover.models._results import Results

#: What the Dask backend fits, for the errors that refuse the rest.
SUPPORTED = (
    "HDFE and PoissonHDFE with vcov='unadjusted', 'robust', 'hc0', Cluster(a), Cluster(a, b) or "
    "DriscollKraay(lags=...), with or without regression weights"
)


def unsupported(what: str) -> SpecificationError:
    """The error for a model or covariance the Dask backend does not run."""
    return SpecificationError(
        f"{what} is not available on the Dask backend, which runs {SUPPORTED}. Use "
        "backend='duckdb' (out of core on one machine) or the in-memory backend "
        "(backend=None) for it."
    )


class DaskHDFE(DaskSample, OutOfCoreHDFE):
    """The Dask side of :class:`~spillover.models.HDFE` (``backend="dask"``)."""

    def fit(self, spec: Any) -> Results:
        if isinstance(spec, Conley):
            raise unsupported("Conley(...) (spatial sums of per-period scores)")
        return super().fit(spec)
