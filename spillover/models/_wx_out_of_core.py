"""``W(x)`` terms of an out-of-core formula: spatially lagged regressors computed by the
backend.

:class:`SpatialLags` goes first in the bases of an out-of-core estimator (HDFE and 2SLS on
DuckDB, HDFE on Dask). It reads the ``W(x)`` terms of the formula with the in-memory
checks (:func:`._formula.spatial_lag_terms`: weights given, one column per term), writes
each as its design column ``W_x`` (the name it has in memory, in ``params`` too), and once
the source is open adds those columns to it through the backend's hook ``_add_lags``
(DuckDB: :func:`spillover.backends.add_spatial_lags`, ``W x`` within each period by a
join and a grouped sum in SQL; Dask: :func:`spillover.backends.dask_add_spatial_lags`,
rows shuffled by period and W x per period on the workers; W matched to the panel's
entities by id either way). The lag uses every row of the source, before singletons are
dropped, as in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spillover.models._formula import spatial_lag_terms, with_lag_names


class SpatialLags:
    """Mixin: ``W(x)`` terms of the formula as source columns ``W_x`` (module docstring).

    Takes the keyword ``w`` (the model's weights) besides the estimator's own arguments;
    the backend side provides ``_add_lags(columns, w)``, the source with the lags added.
    """

    def __init__(
        self,
        formula: str,
        data: Any,
        absorb: Sequence[str],
        backend: Any,
        *,
        w: Any = None,
        **kwargs: Any,
    ) -> None:
        self._lagged = spatial_lag_terms(formula, w)
        self._w = w
        super().__init__(with_lag_names(formula), data, absorb, backend, **kwargs)

    def _open(self, data: Any, backend: Any) -> list[str]:
        columns = super()._open(data, backend)
        if not self._lagged:
            return columns
        self.source = self._add_lags(self._lagged, self._w)
        return list(self.source.columns)
