"""The Conley (1999) covariance of an out-of-core fit (DuckDB), never N x N.

The meat is the in-memory one (:func:`spillover.inference.conley.conley_meat`), summed in
pieces:

``M = sum_t S_t' (I + K) S_t + sum_i sum_{0 < |t - s| <= L} (1 - |t - s|/(L + 1)) s_it s_is'``

with ``S_t`` the score sums ``e x'`` of period t at each distinct location (rows sharing a
location in a period are summed, as in memory; locations may change over time) and ``K``
the kernel weights ``K(d) = 1 - d/cutoff`` (Bartlett) or 1 (uniform) between distinct
locations with ``d <= cutoff`` (ties at exactly the cutoff are in: weight 1 under the
uniform kernel, 0 under Bartlett, as in memory).

1. DuckDB materialises the row scores once with their entity, calendar period number
   (:func:`spillover._calendar.period_numbers` of the time column's distinct values) and
   location (:class:`spillover.backends.ConleyScores`).
2. The distinct locations come back (n_loc x 2); the score sums of the (location,
   period) cells come back for a range of periods at a time, as a dense (n_loc x periods x
   k) block of at most ``BLOCK_BYTES``.
3. The pairs within the cutoff come from the tiled search of
   :func:`spillover.weights._tiles.band_pairs` (projected coordinates, ``np.hypot``) or
   :func:`~spillover.weights._tiles.sphere_band_pairs` (lon/lat, great circles), one chunk
   of target locations at a time: the memory is that chunk's pairs, never all of them.
   Each chunk adds ``sum_t S_t[i]' K_ij S_t[j]`` to the k x k meat.
4. The serial part is a self-join of a unit's rows in SQL, summed to k x k.

Coordinates are ``Conley(coords=(x, y))`` columns of the data, read as in memory:
``metric="haversine"`` (the default with ``coords``) for (lon, lat) degrees and a cutoff in
km along great circles, ``metric="euclidean"`` for planar coordinates in km. The panel's
geometry (``Conley()`` without ``coords``) is not read out of core.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from spillover._calendar import period_numbers
from spillover._validate import preview
from spillover.backends import ConleyScores
from spillover.errors import GeographyError, SpecificationError
from spillover.inference.vcov import Conley
from spillover.weights._tiles import band_pairs, sphere_band_pairs

BLOCK_BYTES = 256 * 2**20
"""Largest (locations x periods x k) block of cell score sums held at once."""
TILE_POINTS = 250_000
"""Target locations per tile of the pair search."""


def conley_meat_out_of_core(
    spec: Conley, table: Any, resid: Any, *, entity: str | None, time: str | None, columns: list
) -> np.ndarray:
    """The Conley meat of the fit whose residual handle is ``resid`` on the staged
    ``table`` (k x k, symmetric, no small-sample factor)."""
    coords = _check_spec(spec, entity, time, columns)
    scores = ConleyScores(
        table,
        resid,
        entity=entity,
        time=time,
        coords=coords,
        periods=lambda labels: period_numbers(labels, name=time),
    )
    try:
        if spec.metric == "haversine":
            n, keys = scores.out_of_range(360.0, 90.0)
            if n:
                raise GeographyError(
                    f"Conley(coords={coords!r}) reads (lon, lat) in degrees (metric="
                    f"'haversine', the default with coords), but {n} rows are out of range "
                    f"(|lat| > 90 or |lon| > 360), e.g. (entity, time) {keys}: are these "
                    "projected x/y? Pass metric='euclidean' with coordinates in km."
                )
        meat = _spatial(scores, float(spec.cutoff_km), spec.metric, spec.kernel)
        if spec.lags > 0:
            acc = scores.serial(int(spec.lags))
            meat += acc + acc.T
    finally:
        scores.close()
    return (meat + meat.T) / 2


def _check_spec(
    spec: Conley, entity: str | None, time: str | None, columns: list
) -> tuple[str, str]:
    if spec.coords is None:
        raise SpecificationError(
            "Conley(...) on the DuckDB backend reads coordinates from columns of the data, "
            "not the panel's geometry: pass Conley(cutoff_km=..., coords=('lon', 'lat')) "
            "for degrees (great-circle km) or coords=('x_km', 'y_km'), metric='euclidean' "
            "for projected coordinates in km."
        )
    if entity is None or time is None:
        raise SpecificationError(
            "Conley(...) needs the panel's entity and time columns, which a bare Parquet "
            "path or relation does not name; pass ParquetPanel(path, entity=..., time=...) "
            "(spillover.backends), a Panel, or a DataFrame indexed by (entity, time)."
        )
    missing = [c for c in spec.coords if c not in columns]
    if missing:
        raise SpecificationError(
            f"Conley coordinate columns {missing} are not in the data; available: "
            f"{preview(columns, 12)}. Add them to the source or name others in coords=."
        )
    if not np.isfinite(spec.cutoff_km):
        raise SpecificationError(
            f"Conley cutoff_km must be a finite number >= 0, got {spec.cutoff_km!r}."
        )
    return spec.coords[0], spec.coords[1]


def _spatial(scores: ConleyScores, cutoff: float, metric: str, kernel: str) -> np.ndarray:
    """``sum_t S_t' (I + K) S_t`` over blocks of periods and chunks of location pairs."""
    k = scores.k
    xy = scores.locations()
    n_loc = len(xy)
    width = max(1, min(scores.n_periods, BLOCK_BYTES // max(1, 8 * n_loc * k)))
    meat = np.zeros((k, k))
    for start in range(0, scores.n_periods, width):
        stop = min(scores.n_periods, start + width)
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
