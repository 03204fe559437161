"""The estimation sample of an out-of-core estimator, held by a Dask cluster's workers.

:class:`DaskSample` is the Dask side of :class:`._out_of_core.OutOfCoreSample` that the
out-of-core HDFE (:mod:`._hdfe_dask`), 2SLS (:mod:`._iv_dask`) and Poisson
(:mod:`._poisson_dask`) share: it hands the data
to a :class:`spillover.backends.DaskBackend` (a pandas or dask DataFrame, a Panel, a
ParquetPanel or a Parquet path: :func:`spillover.backends.dask_open_source`), stages the
rows as pandas partitions on the workers, ``W(x)`` lags added first if any
(:func:`spillover.backends.dask_add_spatial_lags`; :class:`spillover.backends.DaskStaged`:
transforms and reductions as tasks, partitioned by the largest effect set; regression
weights staged with the rows and every reduction weighted, as on DuckDB), knows the
entity and time columns (Driscoll-Kraay, Conley) for a Panel, a DataFrame indexed by
(entity, time) or a ParquetPanel, places the Conley scores
(:class:`spillover.backends.DaskConleyScores`), and ``close()`` lets the workers drop the
partitions. Every wait is bounded
by ``DaskBackend(timeout=)``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any, ClassVar

from spillover.backends import DaskBackend, DaskConleyScores, DaskStaged, Partitions
from spillover.backends import dask_add_spatial_lags as add_spatial_lags
from spillover.backends import dask_open_source as open_source
from spillover.backends import dask_panel_keys as panel_keys
from spillover.backends import dask_translated_errors as translated_errors
from spillover.errors import SpecificationError
from spillover.models._out_of_core import OutOfCoreSample, effect_columns


class DaskSample(OutOfCoreSample):
    """An out-of-core estimation sample as pandas partitions on Dask workers."""

    label: ClassVar[str] = "Dask"
    takes_weights: ClassVar[bool] = True
    #: The estimator's name in the step of a failure ("fitting HDFE on Dask").
    estimator: ClassVar[str] = "HDFE"
    #: The staged partitions' class (a DaskStaged subclass may add estimator-specific steps).
    staged: ClassVar[type[DaskStaged]] = DaskStaged

    def _open(self, data: Any, backend: DaskBackend) -> list[str]:
        self.backend, self.keys = backend, panel_keys(data)
        self.entity, self.time = self.keys
        self.source = open_source(data)
        return [str(c) for c in self.source.columns]

    def _add_lags(self, columns: list[str], w: Any) -> Any:
        """The source with ``W_x`` for each column x (:class:`._wx_out_of_core.SpatialLags`)."""
        return add_spatial_lags(
            self.backend, self.source, columns, w, entity=self.entity, time=self.time
        )

    def _stage(self, columns: list[str], effects: list[list[str]], keep: list[str]) -> DaskStaged:
        staged = self.staged(
            self.backend,
            self.source,
            columns,
            effects,
            keep=keep,
            weights=self.weights,
            frequency=self.weight_type == "frequency",
            keys=effect_columns(effects),
        )
        if isinstance(self.source, Partitions):  # lagged rows: the workers may drop them now
            self.source = replace(self.source, futures=[])
        return staged

    def _errors(self) -> AbstractContextManager[None]:
        return translated_errors(f"fitting {self.estimator} on Dask")

    def _time_column(self) -> str:
        if self.time is None:
            raise SpecificationError(
                "DriscollKraay(...) needs the panel's time column, which a bare Parquet path "
                "or dask DataFrame does not name; pass ParquetPanel(path, entity=..., "
                "time=...) (spillover.backends), a Panel, or a DataFrame indexed by "
                "(entity, time)."
            )
        return self.time

    def _panel_keys(self) -> tuple[str | None, str | None]:
        return self.keys

    def _cell_scores(
        self, resid: Any, entity: str, time: str, coords: tuple[str, str], places: Any
    ) -> DaskConleyScores:
        return DaskConleyScores(
            self.table, resid, entity=entity, time=time, coords=coords, places=places
        )

    def _release(self) -> None:
        self.table.parts = []  # the workers drop partitions no future refers to
