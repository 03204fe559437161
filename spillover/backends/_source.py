"""What the DuckDB backend reads: a DataFrame or Panel, a Parquet path, a ParquetPanel, or
a DuckDB relation, exposed as one view on the connection."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from spillover.backends._duckdb import duckdb_module, parquet_scan
from spillover.backends._parquet import ParquetPanel
from spillover.errors import SpecificationError
from spillover.panel import Panel


@dataclass(frozen=True)
class Source:
    """The view's name and column names, and the panel's entity and time columns when
    known."""

    view: str
    columns: list[str]
    entity: str | None = None
    time: str | None = None


def open_source(con: Any, data: Any, prefix: str) -> Source:
    """Expose ``data`` as the view ``<prefix>src`` on ``con``.

    A DataFrame's index levels become columns (a Panel's entity and time). The entity and
    time columns are known for a Panel, a DataFrame indexed by (entity, time) and a
    ParquetPanel; a bare path or relation has none.
    """
    duckdb = duckdb_module()
    view = f"{prefix}src"
    keys: tuple[str | None, str | None] = (None, None)
    if isinstance(data, Panel):
        data = data.data
    if isinstance(data, pd.DataFrame):
        names = list(data.index.names)
        if len(names) == 2 and all(isinstance(n, str) for n in names):
            keys = (names[0], names[1])
        frame = data.reset_index() if _has_named_index(data) else data
        con.register(f"{prefix}frame", frame)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM {prefix}frame")
    elif isinstance(data, ParquetPanel):
        keys = (data.entity, data.time)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM {data.scan}")
    elif isinstance(data, str | Path):
        scan = parquet_scan(Path(data))
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM {scan}")
    elif isinstance(data, duckdb.DuckDBPyRelation):
        try:
            data.create_view(view, replace=True)
            con.execute(f"SELECT * FROM {view} LIMIT 0")
        except duckdb.CatalogException as exc:
            raise SpecificationError(
                "the DuckDB relation was made on another connection; pass "
                "backend=DuckDBBackend(connection=con), con the connection that made it."
            ) from exc
    else:
        raise SpecificationError(
            "data for the DuckDB backend must be a pandas DataFrame (or Panel), a "
            "ParquetPanel, a Parquet file or folder path, or a DuckDB relation; got "
            f"{type(data).__name__}."
        )
    columns = [r[0] for r in con.execute(f"DESCRIBE {view}").fetchall()]
    return Source(view, columns, *keys)


def _has_named_index(frame: pd.DataFrame) -> bool:
    return any(name is not None for name in frame.index.names)


def refuse_parquet_in_memory(data: Any) -> None:
    """SpecificationError for a ParquetPanel given to an in-memory estimator, naming both
    ways out."""
    if isinstance(data, ParquetPanel):
        raise SpecificationError(
            f"{data!r} is read by DuckDB, out of core: pass backend='duckdb' (or "
            "DuckDBBackend(...)), or read it into memory with .to_panel()."
        )
