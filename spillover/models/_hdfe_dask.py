"""HDFE on Dask: the out-of-core estimator with its rows held by a cluster's workers.

The algebra is :class:`._hdfe_out_of_core.OutOfCoreHDFE`'s, shared with DuckDB; this module
hands the data to a :class:`spillover.backends.DaskBackend` and stages the rows as pandas
partitions on the workers (:class:`spillover.backends.DaskStaged`: transforms and
reductions as tasks, partitioned by the largest effect set; regression weights staged
with the rows and every reduction weighted, as on DuckDB). Driscoll-Kraay errors use the
per-period score sums summed on the workers, as on DuckDB, so they need the panel's time
column (a Panel, a DataFrame indexed by (entity, time) or a ParquetPanel). Conley errors
use the score sums per location and period summed on the workers
(:class:`spillover.backends.DaskConleyScores`) and the pair search, kernel and checks that
DuckDB uses (:mod:`._conley_out_of_core`), so they also need the entity column. PanelIV is
not implemented on Dask: asked for, it raises a SpecificationError that names what is
supported and points to the DuckDB backend or memory.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, ClassVar

from spillover.backends import DaskBackend, DaskConleyScores, DaskStaged
from spillover.backends import dask_open_source as open_source
from spillover.backends import dask_panel_keys as panel_keys
from spillover.backends import dask_translated_errors as translated_errors
from spillover.errors import SpecificationError
from spillover.models._hdfe_out_of_core import OutOfCoreHDFE

#: What the Dask backend fits, for the errors that refuse the rest.
SUPPORTED = (
    "HDFE with vcov='unadjusted', 'robust', 'hc0', Cluster(a), Cluster(a, b), "
    "DriscollKraay(lags=...) or Conley(cutoff_km=...), with or without regression weights"
)


def unsupported(what: str) -> SpecificationError:
    """The error for a model or covariance the Dask backend does not run."""
    return SpecificationError(
        f"{what} is not available on the Dask backend, which runs {SUPPORTED}. Use "
        "backend='duckdb' (out of core on one machine) or the in-memory backend "
        "(backend=None) for it."
    )


class DaskHDFE(OutOfCoreHDFE):
    """The Dask side of :class:`~spillover.models.HDFE` (``backend="dask"``)."""

    label: ClassVar[str] = "Dask"
    takes_weights: ClassVar[bool] = True

    def _open(self, data: Any, backend: DaskBackend) -> list[str]:
        self.backend, self.keys = backend, panel_keys(data)
        self.time = self.keys[1]
        self.source = open_source(data)
        return [str(c) for c in self.source.columns]

    def _stage(self, columns: list[str], effects: list[list[str]], keep: list[str]) -> DaskStaged:
        return DaskStaged(
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
        return translated_errors("fitting HDFE on Dask")

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
