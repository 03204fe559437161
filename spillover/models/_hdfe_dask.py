"""HDFE on Dask: the out-of-core estimator with its rows held by a cluster's workers.

The algebra is :class:`._hdfe_out_of_core.OutOfCoreHDFE`'s, shared with DuckDB; this module
hands the data to a :class:`spillover.backends.DaskBackend` and stages the rows as pandas
partitions on the workers (:class:`spillover.backends.DaskStaged`: transforms and
reductions as tasks, partitioned by the largest effect set; regression weights staged
with the rows and every reduction weighted, as on DuckDB). Driscoll-Kraay errors use the
per-period score sums summed on the workers, as on DuckDB, so they need the panel's time
column (a Panel, a DataFrame indexed by (entity, time) or a ParquetPanel). ``W(x)`` terms
are added to the source before staging (:class:`._wx_out_of_core.SpatialLags` with
:class:`DaskSample`'s hook: :func:`spillover.backends.dask_add_spatial_lags`), so every
later step is the same as without them. PanelIV and
Conley errors are not implemented on Dask: asked for, they raise a SpecificationError that
names what is supported and points to the DuckDB backend or memory.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any, ClassVar

from spillover.backends import DaskBackend, DaskStaged, Partitions
from spillover.backends import dask_add_spatial_lags as add_spatial_lags
from spillover.backends import dask_key_columns as key_columns
from spillover.backends import dask_open_source as open_source
from spillover.backends import dask_translated_errors as translated_errors
from spillover.errors import SpecificationError
from spillover.inference.vcov import Conley
from spillover.models._hdfe_out_of_core import OutOfCoreHDFE
from spillover.models._out_of_core import OutOfCoreSample
from spillover.models._results import Results
from spillover.models._wx_out_of_core import SpatialLags

#: What the Dask backend fits, for the errors that refuse the rest.
SUPPORTED = (
    "HDFE with vcov='unadjusted', 'robust', 'hc0', Cluster(a), Cluster(a, b) or "
    "DriscollKraay(lags=...), with or without regression weights and W(x) terms"
)


def unsupported(what: str) -> SpecificationError:
    """The error for a model or covariance the Dask backend does not run."""
    return SpecificationError(
        f"{what} is not available on the Dask backend, which runs {SUPPORTED}. Use "
        "backend='duckdb' (out of core on one machine) or the in-memory backend "
        "(backend=None) for it."
    )


class DaskSample(OutOfCoreSample):
    """The Dask side of an out-of-core estimation sample: the data handed to the
    cluster (:func:`spillover.backends.dask_open_source`), ``W(x)`` lags added on it
    (:func:`spillover.backends.dask_add_spatial_lags`), the rows staged as partitions
    (:class:`spillover.backends.DaskStaged`)."""

    label: ClassVar[str] = "Dask"
    takes_weights: ClassVar[bool] = True

    def _open(self, data: Any, backend: DaskBackend) -> list[str]:
        self.backend, (self.entity, self.time) = backend, key_columns(data)
        self.source = open_source(data)
        return [str(c) for c in self.source.columns]

    def _add_lags(self, columns: list[str], w: Any) -> Any:
        """The source with ``W_x`` for each column x (:class:`._wx_out_of_core.SpatialLags`)."""
        return add_spatial_lags(
            self.backend, self.source, columns, w, entity=self.entity, time=self.time
        )

    def _stage(self, columns: list[str], effects: list[list[str]], keep: list[str]) -> DaskStaged:
        staged = DaskStaged(
            self.backend,
            self.source,
            columns,
            effects,
            keep=keep,
            weights=self.weights,
            frequency=self.weight_type == "frequency",
            keys=list(dict.fromkeys(p for e in effects for p in e)),
        )
        if isinstance(self.source, Partitions):  # lagged rows: the workers may drop them now
            self.source = replace(self.source, futures=[])
        return staged

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


class DaskHDFE(SpatialLags, DaskSample, OutOfCoreHDFE):
    """The Dask side of :class:`~spillover.models.HDFE` (``backend="dask"``)."""

    def fit(self, spec: Any) -> Results:
        if isinstance(spec, Conley):
            raise unsupported("Conley(...) (spatial sums of per-period scores)")
        return super().fit(spec)

    def _errors(self) -> AbstractContextManager[None]:
        return translated_errors("fitting HDFE on Dask")
