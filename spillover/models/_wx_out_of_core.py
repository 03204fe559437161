"""``W(x)`` terms of an out-of-core formula: spatially lagged regressors computed in DuckDB.

:class:`SpatialLags` goes before :class:`._duckdb_sample.DuckDBSample` in the bases of a
DuckDB estimator (HDFE, 2SLS). It reads the ``W(x)`` terms of the formula with the
in-memory checks (:func:`._formula.spatial_lag_terms`: weights given, one column per
term), writes each as its design column ``W_x`` (the name it has in memory, in
``params`` too), and once the source is open adds those columns to it
(:func:`spillover.backends.add_spatial_lags`: W matched to the panel's entities by id,
``W x`` within each period by a join and a grouped sum in SQL). The lag uses every row of
the source, before singletons are dropped, as in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spillover.backends import add_spatial_lags
from spillover.models._formula import spatial_lag_terms, with_lag_names


class SpatialLags:
    """Mixin: ``W(x)`` terms of the formula as DuckDB columns ``W_x`` (module docstring).

    Takes the keyword ``w`` (the model's weights) besides the estimator's own arguments.
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
        self.source = add_spatial_lags(self.con, self._prefix, self.source, self._lagged, self._w)
        return list(self.source.columns)
