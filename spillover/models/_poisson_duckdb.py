"""Poisson PML with absorbed effects on DuckDB: :class:`~spillover.models.PoissonHDFE`
with ``backend="duckdb"``.

The IRLS driver and covariance are :class:`._poisson_out_of_core.OutOfCorePoisson`'s
(shared with Dask); the sample is :class:`._duckdb_sample.DuckDBSample`, its rows staged
with the SQL working columns of :class:`spillover.backends.IrlsStaged`.
"""

from __future__ import annotations

from typing import ClassVar

from spillover.backends import IrlsStaged
from spillover.models._duckdb_sample import DuckDBSample
from spillover.models._poisson_out_of_core import OutOfCorePoisson
from spillover.models._wx_out_of_core import SpatialLags


class DuckDBPoisson(SpatialLags, DuckDBSample, OutOfCorePoisson):
    """The DuckDB side of :class:`~spillover.models.PoissonHDFE` (``backend="duckdb"``)."""

    staged: ClassVar[type] = IrlsStaged

    def _keys(self) -> list[str]:
        keys = [k for k in (self.source.entity, self.source.time) if k is not None]
        return keys or super()._keys()
