"""HDFE on Dask: the out-of-core estimator with its rows held by a cluster's workers.

The algebra is :class:`._hdfe_out_of_core.OutOfCoreHDFE`'s, shared with DuckDB; this module
hands the data to a :class:`spillover.backends.DaskBackend` and stages the rows as pandas
partitions on the workers (:class:`spillover.backends.DaskStaged`: transforms and
reductions as tasks, partitioned by the largest effect set).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from spillover.backends import DaskBackend, DaskStaged
from spillover.backends import dask_open_source as open_source
from spillover.backends import dask_translated_errors as translated_errors
from spillover.models._hdfe_out_of_core import OutOfCoreHDFE


class DaskHDFE(OutOfCoreHDFE):
    """The Dask side of :class:`~spillover.models.HDFE` (``backend="dask"``)."""

    label = "Dask"

    def _open(self, data: Any, backend: DaskBackend) -> list[str]:
        self.backend = backend
        self.source = open_source(data)
        return [str(c) for c in self.source.columns]

    def _stage(self, columns: list[str], effects: list[list[str]], keep: list[str]) -> DaskStaged:
        return DaskStaged(self.backend, self.source, columns, effects, keep=keep)

    def _errors(self) -> AbstractContextManager[None]:
        return translated_errors("fitting HDFE on Dask")
