"""The reductions of the Conley covariance out of core, in DuckDB.

:class:`ConleyScores` is DuckDB's side of :class:`spillover.models._conley_out_of_core.
CellScores`: it places the row scores ``w e x'`` of a fitted regression on a
:class:`spillover.backends.Staged` table (``w`` the staged regression weight, 1 without)
with each row's entity, time and location, and returns what the spatial and serial sums
need: the checks' counts and example rows, the distinct time labels and locations, the
score sums of each (location, period) cell for a range of periods, and the serial
cross-products of a unit's scores up to ``lags`` calendar periods apart (a self-join on the
entity, summed in SQL). Everything returned is small: labels, locations, one range of
periods' cells, k x k.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from spillover.backends._duckdb import quote_name
from spillover.backends._tables import Staged


class ConleyScores:
    """Row scores of one fit, with entity, period and location, in DuckDB.

    Parameters
    ----------
    table : Staged
        The staged sample; it carries the source columns ``entity``, ``time`` and ``coords``.
    resid : tuple
        The residual handle of :meth:`Staged.residual` (``e`` and the regressors' SQL).
    entity, time : str
        The panel's entity and time columns.
    coords : (str, str)
        Coordinate columns (x, y) or (lon, lat) of the rows; ignored with ``places``.
    places : DataFrame, optional
        One location per entity instead (columns ``entity``, ``x``, ``y``; a panel's
        geometry), joined on the entity column.
    """

    def __init__(
        self,
        table: Staged,
        resid: tuple[str, Sequence[str]],
        *,
        entity: str,
        time: str,
        coords: tuple[str, str],
        places: pd.DataFrame | None = None,
    ) -> None:
        self.con, self.rows, p = table.con, table.rows, table.prefix
        self.scores, self.locs, self.map = f"{p}cscores", f"{p}clocs", f"{p}cperiods"
        self.placed, self.places = f"{p}cplaced", f"{p}cplaces"
        self.entity, self.time = entity, time
        self.resid, self.weighted = resid, table.weighted
        self.k = len(resid[1])
        ent = quote_name(entity)
        if places is None:
            table.check_numeric(list(coords))
            x, y = (quote_name(c) for c in coords)
            self.con.execute(
                f"CREATE OR REPLACE TEMP VIEW {self.placed} AS SELECT *, CAST({x} AS DOUBLE) "
                f"AS __cx, CAST({y} AS DOUBLE) AS __cy FROM {self.rows}"
            )
        else:
            self._table(self.places, places.set_axis(["ent", "__cx", "__cy"], axis=1))
            self.con.execute(
                f"CREATE OR REPLACE TEMP VIEW {self.placed} AS SELECT r.*, g.__cx, g.__cy "
                f"FROM {self.rows} r LEFT JOIN {self.places} g ON r.{ent} = g.ent"
            )

    def _table(self, name: str, frame: pd.DataFrame) -> None:
        self.con.complete()  # a result read by fetchone() is still open; register refuses
        self.con.register(f"{name}_frame", frame)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_frame")
        self.con.unregister(f"{name}_frame")

    def _where(self, where: str) -> tuple[int, list]:
        """Placed rows matching ``where``: their count and the first five keys."""
        e, t = quote_name(self.entity), quote_name(self.time)
        n = int(self.con.execute(f"SELECT count(*) FROM {self.placed} WHERE {where}").fetchone()[0])
        if not n:
            return 0, []
        got = self.con.execute(
            f"SELECT {e}, {t} FROM {self.placed} WHERE {where} ORDER BY ALL LIMIT 5"
        ).fetchall()
        return n, [tuple(r) for r in got]

    def bad_coords(self) -> tuple[int, list]:
        """Rows whose location is missing or not finite, and example keys."""
        bad = (f"{c} IS NULL OR NOT isfinite({c})" for c in ("__cx", "__cy"))
        return self._where(" OR ".join(bad))

    def duplicate_keys(self) -> list:
        """Up to five (entity, time) pairs that occur more than once."""
        e, t = quote_name(self.entity), quote_name(self.time)
        got = self.con.execute(
            f"SELECT {e}, {t} FROM {self.rows} GROUP BY ALL HAVING count(*) > 1 "
            "ORDER BY ALL LIMIT 5"
        ).fetchall()
        return [tuple(r) for r in got]

    def out_of_range(self, lon_max: float, lat_max: float) -> tuple[int, list]:
        """Rows with ``|lon| > lon_max`` or ``|lat| > lat_max`` and example keys."""
        return self._where(f"abs(__cx) > {lon_max!r} OR abs(__cy) > {lat_max!r}")

    def period_labels(self) -> np.ndarray:
        """The distinct values of the time column."""
        t = quote_name(self.time)
        got = self.con.execute(f"SELECT DISTINCT {t} AS label FROM {self.rows}").fetchnumpy()
        return np.asarray(got["label"])

    def index(self, periods: pd.DataFrame) -> None:
        """The score table: each row's entity, period number and code, location and
        weighted scores; the locations numbered in (x, y) order."""
        self._table(self.map, periods)
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {self.locs} AS SELECT cx, cy, "
            "row_number() OVER (ORDER BY cx, cy) - 1 AS loc FROM (SELECT DISTINCT "
            f"__cx AS cx, __cy AS cy FROM {self.placed})"
        )
        e, xs = self.resid
        w = "r.__w * " if self.weighted else ""
        sums = ", ".join(f"{w}{e} * {a} AS s{j}" for j, a in enumerate(xs))
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {self.scores} AS SELECT r.{quote_name(self.entity)} "
            f"AS ent, m.p, m.code, l.loc, {sums} FROM {self.placed} r "
            f"JOIN {self.map} m ON r.{quote_name(self.time)} = m.label "
            f"JOIN {self.locs} l ON r.__cx = l.cx AND r.__cy = l.cy"
        )

    def locations(self) -> np.ndarray:
        """Distinct locations (n_loc x 2), in (x, y) order: row ``loc`` of the cells."""
        got = self.con.execute(f"SELECT cx, cy FROM {self.locs} ORDER BY loc").fetchnumpy()
        return np.column_stack([np.asarray(got["cx"]), np.asarray(got["cy"])]).astype(float)

    def cells(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Location, period code and score sums of the cells of periods ``start <= code <
        stop`` (period codes count the distinct periods in time order)."""
        sums = ", ".join(f"sum(s{j})" for j in range(self.k))
        got = self.con.execute(
            f"SELECT loc, code, {sums} FROM {self.scores} WHERE code >= {int(start)} AND "
            f"code < {int(stop)} GROUP BY loc, code"
        ).fetchnumpy()
        cols = [np.asarray(c) for c in got.values()]
        s = np.column_stack(cols[2:]).astype(float) if len(cols[0]) else np.zeros((0, self.k))
        return cols[0].astype(np.intp), cols[1].astype(np.intp), s

    def serial(self, lags: int) -> np.ndarray:
        """``sum_i sum_{0 < t - s <= lags} (1 - (t - s)/(lags + 1)) s_is s_it'`` (k x k),
        ``t - s`` the calendar distance of a unit's two periods."""
        w = f"(1.0 - (b.p - a.p) / {float(lags + 1)!r})"
        terms = [f"sum({w} * a.s{i} * b.s{j})" for i in range(self.k) for j in range(self.k)]
        got = self.con.execute(
            f"SELECT {', '.join(terms)} FROM {self.scores} a JOIN {self.scores} b "
            f"ON a.ent = b.ent AND b.p > a.p AND b.p - a.p <= {int(lags)}"
        ).fetchone()
        return np.nan_to_num(np.array(got, dtype=float)).reshape(self.k, self.k)

    def close(self) -> None:
        """Drop the score, location, period and place tables."""
        self.con.execute(f"DROP VIEW IF EXISTS {self.placed}")
        for name in (self.scores, self.locs, self.map, self.places):
            self.con.execute(f"DROP TABLE IF EXISTS {name}")
