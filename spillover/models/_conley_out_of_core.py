"""The Conley (1999) covariance of an out-of-core fit (DuckDB or Dask), never N x N.

The meat is the in-memory one (:func:`spillover.inference.conley.conley_meat`), summed in
pieces:

``M = sum_t S_t' (I + K) S_t + sum_i sum_{0 < |t - s| <= L} (1 - |t - s|/(L + 1)) s_it s_is'``

with ``S_t`` the score sums ``w e x'`` (``w`` the regression weight, 1 without) of period
t at each distinct location (rows sharing a location in a period are summed, as in memory;
locations may change over time) and ``K`` the kernel weights ``K(d) = 1 - d/cutoff``
(Bartlett) or 1 (uniform) between distinct locations with ``d <= cutoff`` (ties at exactly
the cutoff are in: weight 1 under the uniform kernel, 0 under Bartlett, as in memory).

The backend supplies the row scores and their sums (a :class:`CellScores`: DuckDB's
:class:`spillover.backends.ConleyScores`, SQL on a TEMP table; Dask's
:class:`spillover.backends.DaskConleyScores`, tasks on the workers' partitions); this
module does the rest, the same for both:

1. The backend places the rows' scores with their entity, period and location; the
   checks here refuse missing coordinates, repeated (entity, time) pairs and, for lon/lat,
   coordinates out of range, naming rows. The distinct time labels come back and are
   numbered as calendar periods (:func:`spillover._calendar.period_numbers`).
2. The distinct locations come back (n_loc x 2); the score sums of the (location,
   period) cells come back for a range of periods at a time, as a dense (n_loc x periods x
   k) block of at most ``BLOCK_BYTES``.
3. The pairs within the cutoff come from the tiled search of
   :func:`spillover.weights._tiles.band_pairs` (projected coordinates, ``np.hypot``) or
   :func:`~spillover.weights._tiles.sphere_band_pairs` (lon/lat, great circles), one chunk
   of target locations at a time: the memory is that chunk's pairs, never all of them.
   Each chunk adds ``sum_t S_t[i]' K_ij S_t[j]`` to the k x k meat.
4. The serial part, the products of a unit's scores up to ``L`` calendar periods apart,
   is summed to k x k by the backend (a SQL self-join; on Dask, within partitions after
   moving the scores by entity).

Coordinates are read as in memory: ``Conley(coords=(x, y))`` columns of the data, with
``metric="haversine"`` (the default with ``coords``) for (lon, lat) degrees and a cutoff in
km along great circles, ``metric="euclidean"`` for planar coordinates in km; without
``coords``, the geometry of a :class:`~spillover.Panel` (one point per entity, joined on
the entity by the backend): great circles for a geographic CRS, planar distances with the
cutoff converted to the CRS's units for a projected one. The pair search is the tiled
one either way (latitude strips for lon/lat), so no CRS is refused.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from spillover import Panel
>>> from spillover.inference import Conley
>>> from spillover.models import HDFE
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"firm": np.repeat(np.arange(60), 4), "year": np.tile(range(2000, 2004), 60)})
>>> df["x_km"], df["y_km"] = np.repeat(rng.uniform(0, 50, (2, 60)), 4, axis=1)
>>> df["x"] = rng.normal(size=240)
>>> df["y"] = df["x"] + rng.normal(size=240)
>>> panel = Panel(df, entity="firm", time="year")
>>> spec = Conley(cutoff_km=10, lags=1, coords=("x_km", "y_km"), metric="euclidean")
>>> with HDFE("y ~ x", panel, absorb=["firm", "year"], backend="duckdb") as model:
...     out_of_core = model.fit(vcov=spec)
>>> in_memory = HDFE("y ~ x", panel, absorb=["firm", "year"]).fit(vcov=spec)
>>> bool(np.allclose(out_of_core.std_errors, in_memory.std_errors, rtol=1e-10, atol=0))
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp

from spillover._calendar import period_numbers
from spillover._validate import preview
from spillover.errors import GeographyError, PanelError, SpecificationError
from spillover.geo import crs_units_per_km, distance_coordinates
from spillover.inference.vcov import Conley
from spillover.weights._tiles import band_pairs, sphere_band_pairs

BLOCK_BYTES = 256 * 2**20
"""Largest (locations x periods x k) block of cell score sums held at once (one period
at least: 8 k bytes per location, 40 MB per million locations at k = 5)."""
TILE_POINTS = 20_000
"""Target locations per tile of the pair search: a tile holds about this many times the
neighbours per location pairs (at 30 neighbours, 600,000 pairs, tens of MB)."""


class CellScores(Protocol):
    """What a backend supplies: the row scores ``w e x'`` of one fit placed with their
    entity, time label and location (x, y) (``k`` regressors), and their sums.

    Keys are (entity, time) tuples of Python values, the first five in sorted order."""

    k: int

    def bad_coords(self) -> tuple[int, list]:
        """Rows whose x or y is missing or not finite, and example keys."""

    def duplicate_keys(self) -> list:
        """Up to five (entity, time) pairs that occur more than once."""

    def out_of_range(self, lon_max: float, lat_max: float) -> tuple[int, list]:
        """Rows with ``|x| > lon_max`` or ``|y| > lat_max``, and example keys."""

    def period_labels(self) -> np.ndarray:
        """The distinct time labels."""

    def index(self, periods: pd.DataFrame) -> None:
        """Number the rows' periods (``periods``: columns ``label``, ``p`` the calendar
        number, ``code`` its position in time order) and their distinct locations."""

    def locations(self) -> np.ndarray:
        """Distinct locations (n_loc x 2): row ``loc`` of the cells."""

    def cells(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Location, period code and score sums of the cells of periods ``start <= code <
        stop``."""

    def serial(self, lags: int) -> np.ndarray:
        """``sum_i sum_{0 < t - s <= lags} (1 - (t - s)/(lags + 1)) s_is s_it'`` (k x k)."""

    def close(self) -> None:
        """Release what the backend holds for these scores."""


#: ``(coords, places) -> CellScores``: the backend's scores of one fit, located by the
#: coordinate columns ``coords`` or, if ``places`` is a frame (entity, x, y), by entity.
OpenScores = Callable[[tuple[str, str], "pd.DataFrame | None"], CellScores]


def conley_meat_out_of_core(
    spec: Conley,
    open_scores: OpenScores,
    *,
    entity: str | None,
    time: str | None,
    columns: list,
    geo: Any = None,
) -> np.ndarray:
    """The Conley meat (k x k, symmetric, no small-sample factor) of the scores that
    ``open_scores`` places; ``geo`` the panel's geometry (one location per entity), read
    when ``spec.coords`` is None."""
    coords, places, metric, cutoff = _locations(spec, entity, time, columns, geo)
    scores = open_scores(coords, places)
    try:
        _check(scores, coords, places is not None, metric)
        labels = np.asarray(scores.period_labels())
        numbers = np.asarray(period_numbers(labels, name=time), dtype=np.int64)
        order = np.argsort(numbers, kind="stable")
        periods = pd.DataFrame({"label": labels[order], "p": numbers[order]})
        periods["code"] = np.arange(len(periods), dtype=np.int64)
        scores.index(periods)
        meat = _spatial(scores, len(periods), cutoff, metric, spec.kernel)
        if spec.lags > 0:
            acc = scores.serial(int(spec.lags))
            meat += acc + acc.T
    finally:
        scores.close()
    return (meat + meat.T) / 2


def _check(scores: CellScores, coords: tuple[str, str], placed: bool, metric: str) -> None:
    """GeographyError or PanelError naming rows the meat cannot use."""
    n, keys = scores.bad_coords()
    if n and placed:
        raise GeographyError(
            f"{n} rows belong to entities without a location in the panel's geometry, "
            f"e.g. (entity, time) {preview(keys)}. Attach geometry for every entity "
            "(spillover.geo.attach_geometry) or drop those entities from the data."
        )
    if n:
        raise GeographyError(
            f"{n} rows have missing or non-finite coordinates {list(coords)}, e.g. "
            f"(entity, time) {preview(keys)}. Fill or drop those rows in the source "
            "(e.g. WHERE x IS NOT NULL in the relation)."
        )
    if dup := scores.duplicate_keys():
        raise PanelError(
            f"(entity, time) pairs occur more than once, e.g. {preview(dup)}; Conley "
            "standard errors need one observation per unit and period."
        )
    if metric != "haversine":
        return
    n, keys = scores.out_of_range(360.0, 90.0)
    if n:
        raise GeographyError(
            f"Conley(coords={coords!r}) reads (lon, lat) in degrees (metric="
            f"'haversine', the default with coords), but {n} rows are out of range "
            f"(|lat| > 90 or |lon| > 360), e.g. (entity, time) {preview(keys)}: are these "
            "projected x/y? Pass metric='euclidean' with coordinates in km."
        )


def _locations(
    spec: Conley, entity: str | None, time: str | None, columns: list, geo: Any
) -> tuple[tuple[str, str], pd.DataFrame | None, str, float]:
    """Coordinate columns or per-entity places, the metric and the cutoff in coordinate
    units (km, or the projected CRS's units for a geometry), as in memory."""
    if entity is None or time is None:
        raise SpecificationError(
            "Conley(...) needs the panel's entity and time columns, which a bare Parquet "
            "path, DuckDB relation or dask DataFrame does not name; pass ParquetPanel(path, "
            "entity=..., time=...) (spillover.backends), a Panel, or a DataFrame indexed by "
            "(entity, time)."
        )
    if not np.isfinite(spec.cutoff_km):
        raise SpecificationError(
            f"Conley cutoff_km must be a finite number >= 0, got {spec.cutoff_km!r}."
        )
    if spec.coords is None:
        if geo is None:
            raise SpecificationError(
                "Conley(...) without coords= reads the panel's geometry, and this data has "
                "none (only a Panel with geometry carries one): pass Conley(cutoff_km=..., "
                "coords=('lon', 'lat')) for degrees (great-circle km) or coords=('x_km', "
                "'y_km'), metric='euclidean' for projected coordinates in km."
            )
        xy, metric = distance_coordinates(geo)
        cutoff = float(spec.cutoff_km)
        if metric == "euclidean":
            cutoff *= crs_units_per_km(geo.crs, what="the Conley cutoff in km")
        places = pd.DataFrame({"entity": geo.index, "x": xy[:, 0], "y": xy[:, 1]})
        return ("x", "y"), places, metric, cutoff
    missing = [c for c in spec.coords if c not in columns]
    if missing:
        raise SpecificationError(
            f"Conley coordinate columns {missing} are not in the data; available: "
            f"{preview(columns, 12)}. Add them to the source or name others in coords=."
        )
    return (spec.coords[0], spec.coords[1]), None, str(spec.metric), float(spec.cutoff_km)


def _spatial(
    scores: CellScores, n_periods: int, cutoff: float, metric: str, kernel: str
) -> np.ndarray:
    """``sum_t S_t' (I + K) S_t`` over blocks of periods and chunks of location pairs."""
    k = scores.k
    xy = scores.locations()
    n_loc = len(xy)
    width = max(1, min(n_periods, BLOCK_BYTES // max(1, 8 * n_loc * k)))
    meat = np.zeros((k, k))
    for start in range(0, n_periods, width):
        stop = min(n_periods, start + width)
        loc, code, s = scores.cells(start, stop)
        block = np.zeros((n_loc, stop - start, k))
        block[loc, code - start] = s
        flat = block.reshape(n_loc * (stop - start), k)
        meat += flat.T @ flat
        if cutoff > 0 and n_loc > 1:
            meat += _pair_sum(block, xy, cutoff, metric, kernel)
    return meat


def _pair_sum(
    block: np.ndarray, xy: np.ndarray, cutoff: float, metric: str, kernel: str
) -> np.ndarray:
    """``sum_t sum_{i != j, d_ij <= cutoff} K(d_ij) S_t[i]' S_t[j]`` for one period block."""
    if metric == "haversine":
        pairs = sphere_band_pairs(xy, cutoff, tile_points=TILE_POINTS)
    else:
        pairs = band_pairs(xy, cutoff, tile_points=TILE_POINTS)
    k = block.shape[2]
    by_loc = block.reshape(len(block), -1)  # row l: period-major score sums at l
    out = np.zeros((k, k))
    for chunk, src, ti, sj, d in pairs:
        if not len(ti):
            continue
        w = 1.0 - d / cutoff if kernel == "bartlett" else np.ones_like(d)
        kern = sp.csr_array((w, (ti, sj)), shape=(len(chunk), len(src)))
        near = kern @ by_loc[src]  # K S_t of the chunk's locations, every period
        out += by_loc[chunk].reshape(-1, k).T @ near.reshape(-1, k)
    return out
