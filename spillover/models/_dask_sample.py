"""The estimation sample of an out-of-core estimator, held by Dask workers.

:class:`DaskSample` is the Dask side of :class:`._out_of_core.OutOfCoreSample` that the
HDFE (:mod:`._hdfe_dask`) and Poisson (:mod:`._poisson_dask`) fits share: it hands the data
to a :class:`spillover.backends.DaskBackend` (:func:`spillover.backends.dask_open_source`),
stages the rows as pandas partitions on the workers (``staged``:
:class:`spillover.backends.DaskStaged` or a subclass; transforms and reductions as tasks,
partitioned by the largest effect set; regression weights staged with the rows and every
reduction weighted), reads the time column from the data (a Panel, a DataFrame indexed by
(entity, time) or a ParquetPanel), turns a dead or out-of-memory worker into a
BackendError, and ``close()`` lets the workers drop the partitions.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, ClassVar

from spillover.backends import DaskBackend, DaskStaged
from spillover.backends import dask_open_source as open_source
from spillover.backends import dask_time_column as time_column
from spillover.backends import dask_translated_errors as translated_errors
from spillover.errors import SpecificationError
from spillover.models._out_of_core import OutOfCoreSample


class DaskSample(OutOfCoreSample):
    """An out-of-core estimation sample as pandas partitions on Dask workers."""

    label: ClassVar[str] = "Dask"
    takes_weights: ClassVar[bool] = True
    #: The staged partitions' class (a DaskStaged subclass may add estimator-specific steps).
    staged: ClassVar[type[DaskStaged]] = DaskStaged
    #: The step named in a BackendError.
    step: ClassVar[str] = "fitting HDFE on Dask"

    def _open(self, data: Any, backend: DaskBackend) -> list[str]:
        self.backend, self.time = backend, time_column(data)
        self.source = open_source(data)
        return [str(c) for c in self.source.columns]

    def _stage(self, columns: list[str], effects: list[list[str]], keep: list[str]) -> DaskStaged:
        return self.staged(
            self.backend,
            self.source,
            columns,
            effects,
            keep=keep,
            weights=self.weights,
            frequency=self.weight_type == "frequency",
            keys=list(dict.fromkeys(p for e in effects for p in e)),
        )

    def _errors(self) -> AbstractContextManager[None]:
        return translated_errors(self.step)

    def _time_column(self) -> str:
        if self.time is None:
            raise SpecificationError(
                "DriscollKraay(...) needs the panel's time column, which a bare Parquet path "
                "or dask DataFrame does not name; pass ParquetPanel(path, entity=..., "
                "time=...) (spillover.backends), a Panel, or a DataFrame indexed by "
                "(entity, time)."
            )
        return self.time

    def _release(self) -> None:
        self.table.parts = []  # the workers drop partitions no future refers to
