"""DuckDB: an embedded, out-of-core SQL engine (no server), and the inputs it reads.

:class:`DuckDBBackend` holds how to connect (a database file or memory, a memory cap, a
spill directory, threads); :func:`open_source` turns a pandas DataFrame, a Parquet file or
folder, or a DuckDB relation into a view ``__spx_src`` on that connection. DuckDB itself is
an optional dependency (``pip install 'spillover[duckdb]'``), imported only when used.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from spillover.errors import BackendError, SpecificationError
from spillover.panel import Panel

SOURCE = "__spx_src"
INSTALL = "DuckDB is not installed: pip install 'spillover[duckdb]' (or pip install duckdb)."


def duckdb_module() -> Any:
    """The ``duckdb`` module, or a BackendError saying how to install it."""
    try:
        return importlib.import_module("duckdb")
    except ImportError as exc:
        raise BackendError(INSTALL) from exc


@dataclass(frozen=True)
class DuckDBBackend:
    """Run absorbing, moments and score sums in DuckDB, out of core.

    Parameters
    ----------
    database : str, default ":memory:"
        A DuckDB database file, or ``":memory:"``. Working tables are TEMP tables, so a
        database file is never changed.
    memory_limit : str, optional
        DuckDB's memory cap, e.g. ``"256MB"``, ``"4GB"`` (DuckDB's default: 80% of RAM).
        Past it, DuckDB spills to ``temp_directory``.
    temp_directory : str or Path, optional
        Where DuckDB spills; default: DuckDB's (``<database>.tmp``, or ``.tmp`` for memory).
    threads : int, optional
        Worker threads (DuckDB's default: all cores).
    connection : duckdb.DuckDBPyConnection, optional
        Use this open connection instead (needed when the data are a relation made on it);
        ``memory_limit``/``temp_directory``/``threads`` are then SET on it if given.

    Examples
    --------
    >>> from spillover.backends import DuckDBBackend
    >>> DuckDBBackend(memory_limit="256MB").memory_limit
    '256MB'
    """

    database: str = ":memory:"
    memory_limit: str | None = None
    temp_directory: str | Path | None = None
    threads: int | None = None
    connection: Any = None

    def settings(self) -> dict[str, Any]:
        """The DuckDB settings this backend imposes."""
        out: dict[str, Any] = {}
        if self.memory_limit is not None:
            out["memory_limit"] = self.memory_limit
        if self.temp_directory is not None:
            out["temp_directory"] = str(self.temp_directory)
        if self.threads is not None:
            out["threads"] = int(self.threads)
        return out

    def connect(self, data: Any = None) -> Any:
        """An open connection with the settings applied (the relation's own, if ``data`` is
        a relation and no connection was given: DuckDB's default connection)."""
        duckdb = duckdb_module()
        con = self.connection
        if con is None and isinstance(data, duckdb.DuckDBPyRelation):
            con = duckdb.default_connection()
        if con is None:
            return duckdb.connect(self.database, config=self.settings())
        for key, value in self.settings().items():
            con.execute(f"SET {key} = ?", [value])
        return con


@contextmanager
def translated_errors() -> Iterator[None]:
    """DuckDB's out-of-memory and I/O failures as BackendError naming the fix."""
    duckdb = duckdb_module()
    try:
        yield
    except duckdb.OutOfMemoryException as exc:
        raise BackendError(
            f"DuckDB ran out of memory ({str(exc).splitlines()[0]}). Raise "
            "DuckDBBackend(memory_limit=...), give it a temp_directory with free disk to "
            "spill to, or use fewer threads (each holds its own buffers). Nothing was written."
        ) from exc
    except duckdb.IOException as exc:
        raise BackendError(f"DuckDB could not read or write: {exc}") from exc


def open_source(con: Any, data: Any) -> list[str]:
    """Expose ``data`` as the view ``__spx_src`` on ``con``; return its column names.

    A DataFrame's index levels become columns (a Panel's entity and time).
    """
    duckdb = duckdb_module()
    if isinstance(data, Panel):
        data = data.data
    if isinstance(data, pd.DataFrame):
        frame = data.reset_index() if _has_named_index(data) else data
        con.register("__spx_frame", frame)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {SOURCE} AS SELECT * FROM __spx_frame")
    elif isinstance(data, str | Path):
        con.execute(f"CREATE OR REPLACE TEMP VIEW {SOURCE} AS {_parquet_scan(Path(data))}")
    elif isinstance(data, duckdb.DuckDBPyRelation):
        try:
            data.create_view(SOURCE, replace=True)
            con.execute(f"SELECT * FROM {SOURCE} LIMIT 0")
        except duckdb.CatalogException as exc:
            raise SpecificationError(
                "the DuckDB relation was made on another connection; pass "
                "backend=DuckDBBackend(connection=con), con the connection that made it."
            ) from exc
    else:
        raise SpecificationError(
            "data for the DuckDB backend must be a pandas DataFrame (or Panel), a Parquet "
            f"file or folder path, or a DuckDB relation; got {type(data).__name__}."
        )
    return [r[0] for r in con.execute(f"DESCRIBE {SOURCE}").fetchall()]


def _has_named_index(frame: pd.DataFrame) -> bool:
    return any(name is not None for name in frame.index.names)


def _parquet_scan(path: Path) -> str:
    if path.is_dir():
        files = sorted(path.rglob("*.parquet"))
        if not files:
            raise SpecificationError(f"the folder {path} holds no *.parquet files.")
        pattern = str(path / "**" / "*.parquet")
    elif path.is_file():
        pattern = str(path)
    else:
        raise SpecificationError(f"no Parquet file or folder at {path}.")
    return f"SELECT * FROM read_parquet({quote_literal(pattern)})"


def quote_name(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"
