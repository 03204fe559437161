"""The estimation sample of an out-of-core estimator, staged in DuckDB.

:class:`DuckDBSample` is the DuckDB side of :class:`._out_of_core.OutOfCoreSample` that
the out-of-core HDFE (:mod:`._hdfe_duckdb`) and 2SLS (:mod:`._iv_duckdb`) share: it opens
the source on the backend's connection as views named by a prefix of its own
(:func:`spillover.backends.open_source`, :func:`spillover.backends.new_prefix`), stages the
rows in a TEMP table (:class:`spillover.backends.Staged`: transforms and reductions as
SQL; regression weights staged with them), reads the time column from the source (a
ParquetPanel, Panel or DataFrame indexed by (entity, time)), and ``close()`` drops the
working tables and views.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, ClassVar

from spillover.backends import (
    ConleyScores,
    DuckDBBackend,
    Source,
    Staged,
    add_spatial_lags,
    new_prefix,
    open_source,
    release,
    translated_errors,
)
from spillover.errors import SpecificationError
from spillover.models._out_of_core import OutOfCoreSample, effect_columns


class DuckDBSample(OutOfCoreSample):
    """An out-of-core estimation sample in DuckDB TEMP tables (one name prefix per model,
    so models sharing a connection never share or drop each other's tables)."""

    label: ClassVar[str] = "DuckDB"
    takes_weights: ClassVar[bool] = True
    #: The staged table's class (a Staged subclass may add estimator-specific transforms).
    staged: ClassVar[type[Staged]] = Staged

    def _open(self, data: Any, backend: DuckDBBackend) -> list[str]:
        self.con = backend.connect(data)
        self._owned, self._prefix = backend.owns(data), new_prefix()
        self.source = open_source(self.con, data, self._prefix)
        return list(self.source.columns)

    def _add_lags(self, columns: list[str], w: Any) -> Source:
        """The source with ``W_x`` for each column x (:class:`._wx_out_of_core.SpatialLags`)."""
        return add_spatial_lags(self.con, self._prefix, self.source, columns, w)

    def _stage(self, columns: list[str], effects: list[list[str]], keep: list[str]) -> Staged:
        keys = [k for k in (self.source.entity, self.source.time) if k is not None]
        return self.staged(
            self.con,
            self._prefix,
            columns,
            effects,
            keep=keep,
            progress=self.progress,
            weights=self.weights,
            frequency=self.weight_type == "frequency",
            keys=keys or effect_columns(effects),
        )

    def _errors(self) -> AbstractContextManager[None]:
        return translated_errors()

    def _release(self) -> None:
        release(self.con, self._prefix, close=self._owned)
        self.con = None

    def _cell_scores(
        self, resid: Any, entity: str, time: str, coords: tuple[str, str], places: Any
    ) -> ConleyScores:
        return ConleyScores(
            self.table, resid, entity=entity, time=time, coords=coords, places=places
        )

    def _panel_keys(self) -> tuple[str | None, str | None]:
        return self.source.entity, self.source.time

    def _time_column(self) -> str:
        time = self.source.time
        if time is None:
            raise SpecificationError(
                "DriscollKraay(...) needs the panel's time column, which a bare Parquet path "
                "or relation does not name; pass ParquetPanel(path, entity=..., time=...) "
                "(spillover.backends), a Panel, or a DataFrame indexed by (entity, time)."
            )
        return time
