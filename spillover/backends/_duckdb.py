"""DuckDB: an embedded, out-of-core SQL engine (no server), and the inputs it reads.

:class:`DuckDBBackend` holds how to connect (a database file or memory, a memory cap, a
spill directory, threads, a progress bar); :func:`parquet_scan` reads a Parquet file or
folder. DuckDB itself is an optional dependency (``pip install 'spillover[duckdb]'``),
imported only when used.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spillover.errors import BackendError, SpecificationError

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
    progress : bool, default False
        Show a progress bar (tqdm) over the passes of iterative demeaning, with the
        largest relative change of the last pass, and over the batches of
        :func:`spillover.backends.locate_firms`.

    Notes
    -----
    A model fitted on this backend keeps its working TEMP tables (the staged sample) so
    that further ``fit(vcov=...)`` calls need no new pass over the data. ``model.close()``,
    or using the model as a context manager (``with HDFE(...) as model:``), drops them and
    closes the connection the backend opened (a ``connection`` you passed stays open,
    with its own tables untouched).

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
    progress: bool = False

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

    def owns(self, data: Any = None) -> bool:
        """True if :meth:`connect` opens a new connection for ``data`` (to be closed after),
        False for the given ``connection`` or a relation's own."""
        return self.connection is None and not isinstance(data, duckdb_module().DuckDBPyRelation)


def new_prefix() -> str:
    """A fresh name prefix for one model's TEMP tables and views (``__spx<hex>_``)."""
    return f"__spx{uuid.uuid4().hex[:10]}_"


def release(con: Any, prefix: str, *, close: bool) -> None:
    """Drop the TEMP tables and views whose names start with ``prefix`` and the frames
    registered under it from ``con``; or close ``con`` if ``close`` (which drops them all)."""
    if close:
        con.close()
        return
    rows = con.execute(
        "SELECT 'TABLE', table_name FROM duckdb_tables() WHERE temporary AND "
        "starts_with(table_name, ?) UNION ALL SELECT 'VIEW', view_name FROM "
        "duckdb_views() WHERE temporary AND starts_with(view_name, ?)",
        [prefix, prefix],
    ).fetchall()
    for kind, name in sorted(rows, key=lambda r: r[0] != "VIEW"):  # views first
        if kind == "VIEW" and name.endswith("frame"):
            con.unregister(name)  # a registered pandas frame
        else:
            con.execute(f"DROP {kind} IF EXISTS {quote_name(name)}")


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


def parquet_scan(path: Path) -> str:
    """The DuckDB table function reading a Parquet file, or every ``*.parquet`` file under a
    folder as one data set."""
    if path.is_dir():
        files = sorted(path.rglob("*.parquet"))
        if not files:
            raise SpecificationError(f"the folder {path} holds no *.parquet files.")
        pattern = str(path / "**" / "*.parquet")
    elif path.is_file():
        pattern = str(path)
    else:
        raise SpecificationError(f"no Parquet file or folder at {path}.")
    return f"read_parquet({quote_literal(pattern)})"


def quote_name(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"
