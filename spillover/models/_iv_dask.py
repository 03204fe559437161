"""2SLS on Dask: :class:`~spillover.models.PanelIV` out of core with its rows held by a
Dask cluster's workers, with or without absorbed effects (:class:`DaskIV`).

The algebra is :class:`._iv_out_of_core.OutOfCoreIV`'s (shared with DuckDB); the sample
is :class:`._dask_sample.DaskSample` (shared with the Dask HDFE). Without absorbed effects
the constant effect set is a column of zeros added to the source frame; its one level is
not kept in one partition (:class:`spillover.backends.DaskStaged`), so its grand means are
summed across the partitions. ``W(x)`` terms (refused by :class:`~spillover.models.PanelIV`
before any cluster starts) and Conley errors are not implemented on Dask.
"""

from __future__ import annotations

from typing import Any, ClassVar

from spillover.errors import SpecificationError
from spillover.inference.registry import Need
from spillover.inference.vcov import Conley
from spillover.models._dask_sample import DaskSample
from spillover.models._hdfe_dask import SUPPORTED
from spillover.models._iv_out_of_core import OutOfCoreIV


class DaskIV(OutOfCoreIV, DaskSample):
    """The Dask side of :class:`~spillover.models.PanelIV` (``backend="dask"``)."""

    estimator: ClassVar[str] = "PanelIV"
    #: Conley is let through the registry to :meth:`fit`, whose error names the way out.
    provides: ClassVar[frozenset] = OutOfCoreIV.provides | {Need.COORDS}

    def fit(self, spec: Any, results_class: type) -> Any:
        if isinstance(spec, Conley):
            raise SpecificationError(
                f"Conley(...) errors of PanelIV are not available on the Dask backend, which "
                f"runs {SUPPORTED}. Fit the model in memory (backend=None) for them."
            )
        return super().fit(spec, results_class)

    def _add_constant(self, name: str) -> list[str]:
        self.source = self.source.assign(**{name: 0})
        return [str(c) for c in self.source.columns]
