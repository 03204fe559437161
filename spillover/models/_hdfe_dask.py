"""HDFE on Dask: the out-of-core estimator with its rows held by a cluster's workers.

The algebra is :class:`._hdfe_out_of_core.OutOfCoreHDFE`'s, shared with DuckDB; this module
hands the data to a :class:`spillover.backends.DaskBackend` and stages the rows as pandas
partitions on the workers (:class:`spillover.backends.DaskStaged`: transforms and
reductions as tasks, partitioned by the largest effect set; regression weights staged
with the rows and every reduction weighted, as on DuckDB). Driscoll-Kraay errors and
PanelIV are not implemented on Dask: asked for, they raise a SpecificationError that names
what is supported and points to the DuckDB backend or memory.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, ClassVar

from spillover.backends import DaskBackend, DaskStaged
from spillover.backends import dask_open_source as open_source
from spillover.backends import dask_translated_errors as translated_errors
from spillover.errors import SpecificationError
from spillover.inference.vcov import DriscollKraay
from spillover.models._hdfe_out_of_core import OutOfCoreHDFE
from spillover.models._results import Results

#: What the Dask backend fits, for the errors that refuse the rest.
SUPPORTED = (
    "HDFE with vcov='unadjusted', 'robust', 'hc0', Cluster(a) or Cluster(a, b), with or "
    "without regression weights"
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

    def fit(self, spec: Any) -> Results:
        if isinstance(spec, DriscollKraay):
            raise unsupported("DriscollKraay(...) (per-period score sums)")
        return super().fit(spec)

    def _open(self, data: Any, backend: DaskBackend) -> list[str]:
        self.backend = backend
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

    def _time_column(self) -> str:  # pragma: no cover - fit refuses Driscoll-Kraay first
        raise unsupported("DriscollKraay(...) (per-period score sums)")

    def _release(self) -> None:
        self.table.parts = []  # the workers drop partitions no future refers to
