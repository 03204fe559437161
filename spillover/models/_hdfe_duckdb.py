"""HDFE on DuckDB: the out-of-core estimator with its rows in DuckDB tables.

The algebra is :class:`._hdfe_out_of_core.OutOfCoreHDFE`'s; the sample is
:class:`._duckdb_sample.DuckDBSample` (shared with the out-of-core 2SLS): it opens the data
on a DuckDB connection and stages the rows in a TEMP table
(:class:`spillover.backends.Staged`, transforms and reductions as SQL), ``W(x)`` terms
computed in SQL first (:class:`._wx_out_of_core.SpatialLags`).
"""

from __future__ import annotations

from spillover.models._duckdb_sample import DuckDBSample
from spillover.models._hdfe_out_of_core import OutOfCoreHDFE
from spillover.models._wx_out_of_core import SpatialLags


class DuckDBHDFE(SpatialLags, DuckDBSample, OutOfCoreHDFE):
    """The DuckDB side of :class:`~spillover.models.HDFE` (``backend="duckdb"``)."""
