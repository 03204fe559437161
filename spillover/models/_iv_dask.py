"""2SLS on Dask: :class:`~spillover.models.PanelIV` out of core with its rows held by a
Dask cluster's workers, with or without absorbed effects (:class:`DaskIV`).

The algebra is :class:`._iv_out_of_core.OutOfCoreIV`'s (shared with DuckDB); the sample
is :class:`._dask_sample.DaskSample` (shared with the Dask HDFE). Without absorbed effects
the constant effect set is a column of zeros added to the source frame; its one level is
not kept in one partition (:class:`spillover.backends.DaskStaged`), so its grand means are
summed across the partitions. ``W(x)`` terms are added to the source first, as for the
Dask HDFE (:class:`._wx_out_of_core.SpatialLags`); Conley errors are those of the Dask
HDFE mapped by the first-stage coefficients, as on DuckDB.
"""

from __future__ import annotations

from typing import ClassVar

from spillover.models._dask_sample import DaskSample
from spillover.models._iv_out_of_core import OutOfCoreIV
from spillover.models._wx_out_of_core import SpatialLags


class DaskIV(SpatialLags, OutOfCoreIV, DaskSample):
    """The Dask side of :class:`~spillover.models.PanelIV` (``backend="dask"``), with
    ``W(x)`` terms in any part of the formula."""

    estimator: ClassVar[str] = "PanelIV"

    def _add_constant(self, name: str) -> list[str]:
        self.source = self.source.assign(**{name: 0})
        return [str(c) for c in self.source.columns]
