"""Poisson PML with absorbed effects on Dask: :class:`~spillover.models.PoissonHDFE` with
``backend="dask"`` or a :class:`spillover.backends.DaskBackend`.

The IRLS driver and covariance are :class:`._poisson_out_of_core.OutOfCorePoisson`'s
(shared with DuckDB); the sample is :class:`._dask_sample.DaskSample`, its partitions
staged with the working columns of :class:`spillover.backends.DaskIrlsStaged` (each IRLS
step a task per partition). Driscoll-Kraay errors need the panel's time column, as for
HDFE on Dask.
"""

from __future__ import annotations

from typing import ClassVar

from spillover.backends import DaskIrlsStaged
from spillover.models._dask_sample import DaskSample
from spillover.models._poisson_out_of_core import OutOfCorePoisson
from spillover.models._wx_out_of_core import SpatialLags


class DaskPoisson(SpatialLags, DaskSample, OutOfCorePoisson):
    """The Dask side of :class:`~spillover.models.PoissonHDFE` (``backend="dask"``)."""

    staged: ClassVar[type] = DaskIrlsStaged
    estimator: ClassVar[str] = "PoissonHDFE"

    def _keys(self) -> list[str]:
        keys = super()._keys()
        return keys if self.time is None or self.time in keys else [*keys, self.time]
