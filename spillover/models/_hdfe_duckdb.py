"""HDFE on DuckDB: the out-of-core estimator with its rows in DuckDB tables.

The algebra is :class:`._hdfe_out_of_core.OutOfCoreHDFE`'s; this module opens the data on a
DuckDB connection and stages the rows in a TEMP table (:class:`spillover.backends.Staged`,
transforms and reductions as SQL).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from spillover.backends import DuckDBBackend, Staged, open_source, translated_errors
from spillover.models._hdfe_out_of_core import OutOfCoreHDFE


class DuckDBHDFE(OutOfCoreHDFE):
    """The DuckDB side of :class:`~spillover.models.HDFE` (``backend="duckdb"``)."""

    label = "DuckDB"

    def _open(self, data: Any, backend: DuckDBBackend) -> list[str]:
        self.con = backend.connect(data)
        return open_source(self.con, data)

    def _stage(self, columns: list[str], effects: list[list[str]], keep: list[str]) -> Staged:
        return Staged(self.con, columns, effects, keep=keep)

    def _errors(self) -> AbstractContextManager[None]:
        return translated_errors()
