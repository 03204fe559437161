"""The reductions of the Conley covariance out of core, on Dask.

:class:`DaskConleyScores` is the Dask side of :class:`spillover.models._conley_out_of_core.
CellScores` (DuckDB's is :class:`spillover.backends.ConleyScores`): each staged partition
(:class:`spillover.backends.DaskStaged`) becomes a small frame of its rows' scores ``w e x'``
(``w`` the regression weight, 1 without) with entity, time label and location, kept on the
workers and moved once so that every entity's rows lie in one partition (split by a hash of
the entity). What comes back to the client is small: the checks' counts and example rows,
the distinct time labels and locations, the score sums of the (location, period) cells for
a range of periods (summed within partitions, added pairwise on the workers), and the
serial cross-products of a unit's scores (k x k, within partitions: a unit's rows are in
one). The pure partition functions are at the end of this module.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from spillover.backends import _dask_parts as parts
from spillover.backends._dask_parts import Linear, Residual
from spillover.backends._dask_tables import DaskStaged


class DaskConleyScores:
    """Row scores of one fit, with entity, period and location, on the Dask workers.

    Parameters
    ----------
    table : DaskStaged
        The staged sample; it carries the source columns ``entity``, ``time`` and ``coords``.
    resid : Residual or Linear
        The residual handle of :meth:`DaskStaged.residual` or
        :meth:`DaskStaged.linear_scores` (2SLS).
    entity, time : str
        The panel's entity and time columns.
    coords : (str, str)
        Coordinate columns (x, y) or (lon, lat) of the rows; ignored with ``places``.
    places : DataFrame, optional
        One location per entity instead (columns entity, x, y; a panel's geometry),
        sent to every worker and looked up by entity.
    """

    def __init__(
        self,
        table: DaskStaged,
        resid: Residual | Linear,
        *,
        entity: str,
        time: str,
        coords: tuple[str, str],
        places: pd.DataFrame | None = None,
    ) -> None:
        self.table = table
        self.k = parts.score_width(resid)
        self._xy = np.zeros((0, 2))
        if places is None:
            table.check_numeric(list(coords))
        else:
            places = table._scatter(places.set_axis(["ent", "x", "y"], axis=1), broadcast=True)
        pieces = table._map(
            "placing Conley scores", place, table.parts, resid=resid, entity=entity,
            time=time, coords=list(coords), places=places, n=len(table.parts),
        )  # fmt: skip
        self.rows = table._regroup("moving Conley scores by entity", pieces)
        self._survey: Survey | None = None

    def _reduce(self, fn: Any, combine: Any, **kw: Any) -> Any:
        return self.table._reduce("summing Conley scores", fn, combine, self.rows, **kw)

    @property
    def survey(self) -> Survey:
        """The checks, labels and locations of the placed rows (one pass, kept)."""
        if self._survey is None:
            self._survey = self._reduce(survey, Survey.add)
        return self._survey

    def bad_coords(self) -> tuple[int, list]:
        """Rows whose location is missing or not finite, and example keys."""
        return self.survey.bad

    def duplicate_keys(self) -> list:
        """Up to five (entity, time) pairs that occur more than once."""
        return self.survey.duplicates

    def out_of_range(self, lon_max: float, lat_max: float) -> tuple[int, list]:
        """Rows with ``|lon| > lon_max`` or ``|lat| > lat_max`` and example keys."""
        return self._reduce(flagged, add_flagged, bounds=(lon_max, lat_max))

    def period_labels(self) -> np.ndarray:
        """The distinct values of the time column."""
        return self.survey.labels

    def index(self, periods: pd.DataFrame) -> None:
        """Each row's period number and code and location number, the locations numbered
        in (x, y) order."""
        self._xy = self.survey.locations
        sent = self.table._scatter([self._xy, periods], broadcast=True)
        self.rows = self.table._map(
            "numbering periods and locations", number, self.rows, xy=sent[0], periods=sent[1]
        )

    def locations(self) -> np.ndarray:
        """Distinct locations (n_loc x 2), in (x, y) order: row ``loc`` of the cells."""
        return self._xy.astype(float)

    def cells(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Location, period code and score sums of the cells of periods ``start <= code <
        stop``."""
        got = self._reduce(cell_sums, parts.add_frames, start=start, stop=stop, k=self.k)
        if not len(got):
            return np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros((0, self.k))
        loc = got.index.get_level_values(0).to_numpy(dtype=np.intp)
        code = got.index.get_level_values(1).to_numpy(dtype=np.intp)
        return loc, code, got.to_numpy(dtype=float)

    def serial(self, lags: int) -> np.ndarray:
        """``sum_i sum_{0 < t - s <= lags} (1 - (t - s)/(lags + 1)) s_is s_it'`` (k x k),
        ``t - s`` the calendar distance of a unit's two periods."""
        return self._reduce(serial_sums, operator.add, lags=lags, k=self.k)

    def close(self) -> None:
        """Let the workers drop the placed scores."""
        self.rows = []


# ---------------------------------------------------------------------- partition functions
def _scores(k: int) -> list[str]:
    return [f"s{j}" for j in range(k)]


def place(
    p: pd.DataFrame,
    resid: Residual | Linear,
    entity: str,
    time: str,
    coords: Sequence[str],
    places: pd.DataFrame | None,
    n: int,
) -> list[pd.DataFrame]:
    """Columns ``ent``, ``t``, ``cx``, ``cy`` (NaN where missing) and the scores ``s0``...
    (``w e x'``) of a staged partition, in ``n`` pieces by a hash of the entity (the same
    on every worker)."""
    e, x = parts.residual_and_design(p, resid)
    w = parts.weights(p)
    s = x * (e if w is None else e * w)[:, None]
    out = pd.DataFrame({"ent": p[entity].to_numpy(), "t": p[time].to_numpy()})
    if places is None:
        for name, c in zip(("cx", "cy"), coords, strict=True):
            out[name] = p[c].to_numpy(dtype=float, na_value=np.nan)
    else:
        at = pd.Index(places["ent"]).get_indexer(out["ent"])
        for name, c in (("cx", "x"), ("cy", "y")):
            out[name] = np.where(at >= 0, places[c].to_numpy(dtype=float)[at], np.nan)
    for j in range(s.shape[1]):
        out[f"s{j}"] = s[:, j]
    bucket = (pd.util.hash_array(out["ent"].to_numpy()) % np.uint64(n)).astype(np.int64)
    order = np.argsort(bucket, kind="stable")
    cuts = np.searchsorted(bucket[order], np.arange(n + 1))
    return [out.iloc[order[cuts[j] : cuts[j + 1]]] for j in range(n)]


def _keys(frame: pd.DataFrame) -> list[tuple]:
    """The first five (entity, time) keys of ``frame`` in sorted order, as Python values."""
    keys = frame[["ent", "t"]].sort_values(["ent", "t"]).head(5)
    return [tuple(r) for r in keys.astype(object).to_numpy().tolist()]


def first_keys(a: list, b: list) -> list:
    return sorted(a + b)[:5]


def flagged(p: pd.DataFrame, bounds: tuple[float, float] | None = None) -> tuple[int, list]:
    """Rows with a missing or non-finite location (``bounds`` None), else with ``|x| >
    bounds[0]`` or ``|y| > bounds[1]``: their count and first keys."""
    x, y = p["cx"].to_numpy(), p["cy"].to_numpy()
    if bounds is None:
        mask = ~(np.isfinite(x) & np.isfinite(y))
    else:
        mask = (np.abs(x) > bounds[0]) | (np.abs(y) > bounds[1])
    return int(mask.sum()), _keys(p[mask])


def add_flagged(a: tuple[int, list], b: tuple[int, list]) -> tuple[int, list]:
    return a[0] + b[0], first_keys(a[1], b[1])


@dataclass(frozen=True)
class Survey:
    """Of the placed rows: missing or non-finite locations (count, first keys), repeated
    (entity, time) pairs (first five), distinct time labels and locations (sorted)."""

    bad: tuple[int, list]
    duplicates: list
    labels: np.ndarray
    locations: np.ndarray

    def add(self, other: Survey) -> Survey:
        xy = np.unique(np.vstack([self.locations, other.locations]), axis=0)
        return Survey(
            add_flagged(self.bad, other.bad),
            first_keys(self.duplicates, other.duplicates),
            np.union1d(self.labels, other.labels),
            xy,
        )


def survey(p: pd.DataFrame) -> Survey:
    """The :class:`Survey` of a partition (a unit's rows are all in one partition)."""
    repeated = p[p.duplicated(["ent", "t"])].drop_duplicates(["ent", "t"])
    return Survey(
        flagged(p),
        _keys(repeated),
        np.unique(p["t"].to_numpy()),
        np.unique(p[["cx", "cy"]].to_numpy(dtype=float).reshape(-1, 2), axis=0),
    )


def number(p: pd.DataFrame, xy: np.ndarray, periods: pd.DataFrame) -> pd.DataFrame:
    """Add ``loc`` (row of ``xy``), ``p`` (calendar number) and ``code`` (period position)."""
    where = pd.MultiIndex.from_arrays([xy[:, 0], xy[:, 1]])
    out = p.copy()
    out["loc"] = where.get_indexer(pd.MultiIndex.from_arrays([p["cx"], p["cy"]]))
    at = pd.Index(periods["label"]).get_indexer(p["t"])
    out["p"] = periods["p"].to_numpy()[at]
    out["code"] = periods["code"].to_numpy()[at]
    if (out["loc"] < 0).any() or (at < 0).any():  # pragma: no cover - tables hold all
        raise RuntimeError("locations or periods missing from their tables")
    return out


def cell_sums(p: pd.DataFrame, start: int, stop: int, k: int) -> pd.DataFrame:
    """Score sums per (loc, code) of the rows with ``start <= code < stop``."""
    rows = p[(p["code"] >= start) & (p["code"] < stop)]
    return rows.groupby(["loc", "code"], sort=False)[_scores(k)].sum()


def serial_sums(p: pd.DataFrame, lags: int, k: int) -> np.ndarray:
    """``sum (1 - (t - s)/(lags + 1)) s_is s_it'`` over a unit's pairs of rows with ``0 < t
    - s <= lags`` (each unit's rows all in this partition, one per period)."""
    rows = p.sort_values(["ent", "p"], kind="stable")
    unit = pd.factorize(rows["ent"])[0]
    t = rows["p"].to_numpy(dtype=np.int64)
    s = rows[_scores(k)].to_numpy(dtype=float)
    out = np.zeros((k, k))
    for h in range(1, len(rows)):
        gap = t[h:] - t[:-h]
        near = (unit[h:] == unit[:-h]) & (gap <= lags)
        if not near.any():  # farther rows of a unit are farther apart in time
            break
        w = 1.0 - gap[near] / (lags + 1)
        out += (s[:-h][near] * w[:, None]).T @ s[h:][near]
    return out
