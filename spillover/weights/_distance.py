"""Distance kernels on points: neighbour pairs within a cutoff, k nearest, great circles.

Pure array functions shared by the weights builders, spillover pools, the firm simulator
and Conley standard errors. Coordinates are either lon/lat in degrees (``metric=
"haversine"``, distances in kilometres along great circles) or projected x/y
(``metric="euclidean"``, distances in the CRS's units). Everything runs on a KD-tree:
nothing here builds an N x N matrix.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from spillover._typing import FloatArray, IntArray, Metric
from spillover.errors import GeographyError, WeightsError

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), the value used by most great-circle tools."""


def haversine_km(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> FloatArray:
    """Great-circle distance in km between points given in degrees (vectorised)."""
    lon1, lat1, lon2, lat2 = (
        np.radians(np.asarray(a, dtype=float)) for a in (lon1, lat1, lon2, lat2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _unit_sphere(lonlat: FloatArray) -> FloatArray:
    lon, lat = np.radians(lonlat[:, 0]), np.radians(lonlat[:, 1])
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _check_coords(coords: FloatArray, metric: Metric) -> FloatArray:
    xy = np.asarray(coords, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise GeographyError(f"coordinates must be an (n, 2) array, got shape {xy.shape}.")
    if not np.isfinite(xy).all():
        bad = np.flatnonzero(~np.isfinite(xy).all(axis=1))
        raise GeographyError(
            f"{len(bad)} points have missing coordinates, e.g. rows {bad[:5].tolist()}."
        )
    if metric == "haversine":
        if (np.abs(xy[:, 1]) > 90).any() or (np.abs(xy[:, 0]) > 360).any():
            raise GeographyError(
                "metric='haversine' needs lon/lat in degrees, but some coordinates are out of "
                "range (|lat| > 90 or |lon| > 360): are these projected x/y? Use "
                "metric='euclidean' for projected coordinates."
            )
    elif metric != "euclidean":
        raise WeightsError(f"unknown metric {metric!r}; use 'haversine' or 'euclidean'.")
    return xy


def _tree(xy: FloatArray, metric: Metric) -> cKDTree:
    return cKDTree(_unit_sphere(xy) if metric == "haversine" else xy)


def _chord(distance_km: float) -> float:
    """Chord length on the unit sphere for a great-circle distance."""
    return 2.0 * np.sin(min(distance_km / EARTH_RADIUS_KM, np.pi) / 2.0)


def pair_distances(xy: FloatArray, i: IntArray, j: IntArray, metric: Metric) -> FloatArray:
    """Distances between points ``i`` and ``j`` (km on the sphere, CRS units if planar)."""
    if metric == "haversine":
        return haversine_km(xy[i, 0], xy[i, 1], xy[j, 0], xy[j, 1])
    return np.hypot(xy[i, 0] - xy[j, 0], xy[i, 1] - xy[j, 1])


def pairs_within(
    coords: FloatArray, upper: float, *, metric: Metric, lower: float = 0.0
) -> tuple[IntArray, IntArray, FloatArray]:
    """All ordered pairs (i, j), i != j, with ``lower < d_ij <= upper``.

    Returns ``(i, j, d)`` sorted by i then j, each unordered pair listed in both
    directions. ``lower`` turns the band into an annulus (for distance-band spillover
    decompositions); pairs at distance exactly ``lower`` belong to the band below.
    """
    xy = _check_coords(coords, metric)
    if upper < 0 or lower < 0 or lower >= upper:
        raise WeightsError(f"need 0 <= lower < upper, got lower={lower}, upper={upper}.")
    radius = _chord(upper) * (1 + 1e-9) if metric == "haversine" else upper * (1 + 1e-12)
    pairs = _tree(xy, metric).query_pairs(radius, output_type="ndarray")
    d = pair_distances(xy, pairs[:, 0], pairs[:, 1], metric)
    keep = (d <= upper) & (d > lower) if lower > 0 else d <= upper
    pairs, d = pairs[keep], d[keep]
    i = np.concatenate([pairs[:, 0], pairs[:, 1]])
    j = np.concatenate([pairs[:, 1], pairs[:, 0]])
    return _sorted_by_row(i, j, np.concatenate([d, d]), len(xy))


def _sorted_by_row(
    i: IntArray, j: IntArray, d: FloatArray, n: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """Sort unique pairs by (i, j) in O(nnz) through a CSR build (faster than lexsort)."""
    m = sp.csr_array((d, (i, j)), shape=(n, n))  # unique pairs: no duplicates summed
    m.sort_indices()
    rows = np.repeat(np.arange(n, dtype=np.intp), np.diff(m.indptr))
    return rows, m.indices.astype(np.intp), m.data


def knn_pairs(
    coords: FloatArray, k: int, *, metric: Metric
) -> tuple[IntArray, IntArray, FloatArray]:
    """Each point's ``k`` nearest other points: ``(i, j, d)`` with n * k rows, sorted by i.

    Ties at the k-th distance are broken by the KD-tree's order (as in libpysal's KNN).
    """
    xy = _check_coords(coords, metric)
    n = len(xy)
    if not 0 < k < n:
        raise WeightsError(f"k must be between 1 and n - 1 = {n - 1}, got {k}.")
    pts = _unit_sphere(xy) if metric == "haversine" else xy
    tree = cKDTree(pts)
    # query in the tree's leaf order: consecutive queries touch the same nodes (~3x faster)
    order = tree.indices
    dist, idx = np.empty((n, k + 1)), np.empty((n, k + 1), dtype=np.intp)
    dist[order], idx[order] = tree.query(pts[order], k=k + 1, workers=-1)
    i = np.repeat(np.arange(n, dtype=np.intp), k + 1).reshape(n, k + 1)
    # drop self: it is usually column 0, but coincident points can come in any order
    not_self = idx != i
    extra = not_self.sum(axis=1) > k  # no self found among k+1: drop the farthest
    not_self[extra, -1] = False
    d = dist[not_self]
    if metric == "haversine":  # chord on the unit sphere -> great-circle km
        d = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(d / 2.0, 1.0))
    return i[not_self], idx[not_self], d


def duplicate_points(coords: FloatArray) -> IntArray:
    """Indices of points that share their exact coordinates with an earlier point."""
    xy = np.asarray(coords, dtype=float)
    if len(xy) < 2:
        return np.empty(0, dtype=np.intp)
    order = np.lexsort((xy[:, 1], xy[:, 0]))
    s = xy[order]
    same = np.r_[False, (s[1:] == s[:-1]).all(axis=1)]
    # within a run of equal points keep the smallest original index as "first"
    run = np.cumsum(~same) - 1
    first = np.full(run[-1] + 1, len(xy), dtype=np.intp)
    np.minimum.at(first, run, order)
    return np.sort(order[order != first[run]]).astype(np.intp)
