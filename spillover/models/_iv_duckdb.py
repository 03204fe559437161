"""2SLS on DuckDB: :class:`~spillover.models.PanelIV` out of core with its rows in DuckDB
tables, ``W(x)`` terms anywhere in the formula (:class:`DuckDBIV`).

The algebra is :class:`._iv_out_of_core.OutOfCoreIV`'s (shared with Dask); the sample is
:class:`._duckdb_sample.DuckDBSample` (shared with the out-of-core HDFE), the constant
effect set of a model without absorbed effects a column of the source view
(:func:`spillover.backends.add_columns`), and the ``W(x)`` terms are computed in SQL first
(:class:`._wx_out_of_core.SpatialLags`).
"""

from __future__ import annotations

from spillover.backends import add_columns
from spillover.models._duckdb_sample import DuckDBSample
from spillover.models._iv_out_of_core import OutOfCoreIV
from spillover.models._wx_out_of_core import SpatialLags


class DuckDBIV(SpatialLags, OutOfCoreIV, DuckDBSample):
    """The DuckDB side of :class:`~spillover.models.PanelIV` (``backend="duckdb"``), with
    ``W(x)`` terms in any part of the formula (exogenous regressors, endogenous regressors
    or instruments)."""

    def _add_constant(self, name: str) -> list[str]:
        self.source = add_columns(self.con, self._prefix, self.source, [f"0 AS {name}"])
        return list(self.source.columns)
