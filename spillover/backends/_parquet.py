"""A panel whose rows stay in Parquet files: read lazily by DuckDB, checked once on open.

:class:`ParquetPanel` names a Parquet file or folder and its entity and time columns. Opening
it reads the schema and runs one aggregate pass over the keys (missing keys, duplicated
(entity, time) pairs); nothing else is loaded. Estimators on the DuckDB backend read it as
their ``panel`` and know its time column (Driscoll-Kraay needs it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from spillover._validate import preview
from spillover.backends._duckdb import duckdb_module, parquet_scan, quote_name, translated_errors
from spillover.errors import PanelError, SpecificationError
from spillover.panel import Panel


class ParquetPanel:
    """A long panel keyed by (entity, time) in a Parquet file or folder, read lazily.

    Parameters
    ----------
    path : str or Path
        A ``.parquet`` file, or a folder whose ``*.parquet`` files (searched recursively)
        are read as one data set (an entity may span files).
    entity, time : str
        Names of the entity and time columns.

    Attributes
    ----------
    columns : list of str
        Column names, in file order.
    n_rows : int
        Number of rows (from the files' metadata and the key pass).

    Raises
    ------
    SpecificationError
        If there is no Parquet file at ``path``, or ``entity``/``time`` are not columns (the
        message lists the columns there are).
    PanelError
        If a row has no entity or time, or an (entity, time) key occurs more than once (the
        message gives how many keys, example keys and how to fix it).

    Notes
    -----
    Use it as ``panel`` of :class:`~spillover.models.HDFE` or
    :class:`~spillover.models.PanelIV` with ``backend="duckdb"`` (or a
    :class:`DuckDBBackend`): the estimator reads the files through DuckDB, out of core.
    ``to_panel()`` reads everything into an in-memory :class:`~spillover.Panel` instead.
    Opening runs one ``GROUP BY entity, time`` over the keys in a private in-memory DuckDB
    connection (DuckDB's default memory cap and threads).

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from pathlib import Path
    >>> from spillover.backends import ParquetPanel
    >>> folder = Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"firm": [1, 1, 2], "year": [2000, 2001, 2000],
    ...               "y": [1.0, 2.0, 3.0]}).to_parquet(folder / "a.parquet")
    >>> panel = ParquetPanel(folder, entity="firm", time="year")
    >>> panel.columns, panel.n_rows
    (['firm', 'year', 'y'], 3)
    >>> panel.head(2)["y"].tolist()
    [1.0, 2.0]
    """

    def __init__(self, path: str | Path, *, entity: str, time: str) -> None:
        self.path = Path(path)
        self.entity, self.time = entity, time
        self.scan = parquet_scan(self.path)
        with self._connection() as con, translated_errors():
            self.columns = [
                r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {self.scan}").fetchall()
            ]
            missing = [c for c in (entity, time) if c not in self.columns]
            if missing:
                raise SpecificationError(
                    f"the key columns {missing} are not in {self.path}; its columns are "
                    f"{preview(self.columns, 12)}. Pass entity= and time= as named there."
                )
            self.n_rows = self._check_keys(con)

    def __repr__(self) -> str:
        return f"ParquetPanel({str(self.path)!r}, entity={self.entity!r}, time={self.time!r})"

    def _connection(self) -> Any:
        return duckdb_module().connect(":memory:")

    def _check_keys(self, con: Any) -> int:
        e, t = quote_name(self.entity), quote_name(self.time)
        rows, no_entity, no_time = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {e} IS NULL), "
            f"count(*) FILTER (WHERE {t} IS NULL) FROM {self.scan}"
        ).fetchone()
        for name, n in ((self.entity, no_entity), (self.time, no_time)):
            if n:
                raise PanelError(
                    f"{n} rows of {self.path} have no {name!r} key. Every row needs an "
                    "entity and a time; drop or fill these rows in the files first."
                )
        dup = (
            f"SELECT {e}, {t}, count(*) AS n FROM {self.scan} GROUP BY {e}, {t} HAVING count(*) > 1"
        )
        n_dup, examples = con.execute(
            f"SELECT count(*), list(({e}, {t}) ORDER BY {e}, {t})[1:5] FROM ({dup})"
        ).fetchone()
        if n_dup:
            shown = ", ".join(f"({a!r}, {b!r})" for a, b in examples)
            raise PanelError(
                f"{n_dup} ({self.entity}, {self.time}) keys occur more than once in "
                f"{self.path}, e.g. {shown}{', ...' if n_dup > 5 else ''}. Keep one row per "
                f"key: aggregate the copies (GROUP BY {self.entity}, {self.time} in DuckDB, or "
                "df.groupby(...).sum() in pandas) and write the files again, or check that "
                "entity= and time= name the right columns."
            )
        return int(rows)

    def head(self, n: int = 5) -> pd.DataFrame:
        """The first ``n`` rows, as a pandas DataFrame (file order)."""
        with self._connection() as con, translated_errors():
            return con.execute(f"SELECT * FROM {self.scan} LIMIT {int(n)}").df()

    def to_panel(self) -> Panel:
        """Everything, read into memory as a :class:`~spillover.Panel`."""
        with self._connection() as con, translated_errors():
            frame = con.execute(f"SELECT * FROM {self.scan}").df()
        return Panel(frame, entity=self.entity, time=self.time)
