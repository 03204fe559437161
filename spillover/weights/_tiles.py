"""Neighbour sums over projected points, tile by tile: k nearest and distance bands.

Pure array kernels behind :func:`spillover.measures.knn_pool` and
:func:`spillover.measures.distance_band_pool`. The points are bucketed on a uniform grid
of small cells (about ``_CELL_POINTS`` points each on average); a tile is a square block
of cells, and every tile is solved on its own with the points of a halo of cells around
it. Only one tile's neighbour lists exist at a time, so memory grows with the tile
(``tile_points`` targets times their neighbours), never with N x N or N x k. Coordinates
are planar (projected); distances are ``np.hypot`` of the coordinate differences, as in
:func:`spillover.weights._distance.pair_distances`.

k nearest, tie rule: the k points j != i with the smallest (distance, position) pairs,
i.e. among points at the same distance the one earlier in the input order wins. A tile's
halo is grown (doubled) until, for every target, the k-th distance is strictly smaller
than the distance to the edge of the halo, so no point outside it can enter or tie.

Distance band: the points j != i with ``lower < d_ij <= upper`` (``d_ij <= upper`` when
``lower`` is 0), the halo being ``upper`` wide (plus one cell for rounding). Targets are
taken in chunks of at most ``tile_points``, fewer when the halo's density says a chunk
would hold more than ``_PAIRS`` neighbour pairs. :func:`band_pairs` yields those pairs
chunk by chunk (the Conley covariance out of core sums kernel-weighted score products
over them); :func:`sphere_band_pairs` does the same for lon/lat points and great-circle
distances, on strips of latitude.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree
from tqdm import tqdm

from spillover._typing import FloatArray, IntArray
from spillover.weights._distance import EARTH_RADIUS_KM, _chord, _unit_sphere, haversine_km

_CELL_POINTS = 16
"""Average points per grid cell: fine cells keep the kNN halos small."""
_PAIRS = 20_000_000
"""Most neighbour pairs one band chunk may hold (about 0.5 GB of working arrays)."""
_REL = 1e-9
"""Relative slack between KD-tree and ``np.hypot`` distances (both exact to ~1e-16)."""


class _Grid:
    """Points bucketed on a uniform grid; cells numbered row by row (``cy * nx + cx``)."""

    def __init__(self, xy: FloatArray, cell: float) -> None:
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        n = len(xy)
        shape = np.floor((hi - lo) / cell).astype(np.int64) + 1
        if shape[0] * shape[1] > 4 * n + 16:  # degenerate extents: coarsen, never blow up
            cell *= float(np.sqrt(shape[0] * shape[1] / (4 * n + 16)))
            shape = np.floor((hi - lo) / cell).astype(np.int64) + 1
        self.lo, self.cell = lo, cell
        self.nx, self.ny = int(shape[0]), int(shape[1])
        cx = np.minimum(((xy[:, 0] - lo[0]) / cell).astype(np.int64), self.nx - 1)
        cy = np.minimum(((xy[:, 1] - lo[1]) / cell).astype(np.int64), self.ny - 1)
        cid = cy * self.nx + cx
        del cx, cy
        self.order = np.argsort(cid, kind="stable")
        self.bounds = np.zeros(self.nx * self.ny + 1, dtype=np.int64)
        np.cumsum(np.bincount(cid, minlength=self.nx * self.ny), out=self.bounds[1:])
        # a point may sit up to a rounding error outside its cell's edges
        self.tol = _REL * (cell + float(np.abs(xy).max()))

    def points(self, x0: int, x1: int, y0: int, y1: int) -> IntArray:
        """Indices of the points in cells [x0, x1) x [y0, y1) (clipped to the grid)."""
        x0, x1 = max(x0, 0), min(x1, self.nx)
        y0, y1 = max(y0, 0), min(y1, self.ny)
        if x0 >= x1 or y0 >= y1:
            return np.empty(0, dtype=np.intp)
        rows = np.arange(y0, y1) * self.nx
        starts, ends = self.bounds[rows + x0], self.bounds[rows + x1]
        return np.concatenate([self.order[s:e] for s, e in zip(starts, ends, strict=True)])

    def tiles(self, size: int) -> Iterator[tuple[int, int, int, int]]:
        """Cell blocks [x0, x1) x [y0, y1) of ``size`` x ``size`` cells covering the grid."""
        for y0 in range(0, self.ny, size):
            for x0 in range(0, self.nx, size):
                yield x0, x0 + size, y0, y0 + size

    def clearance(self, xy: FloatArray, x0: int, x1: int, y0: int, y1: int) -> FloatArray:
        """Distance from each point to the nearest edge of cells [x0, x1) x [y0, y1) behind
        which other points can lie (edges at the grid's border are infinitely far)."""
        inf = np.full(len(xy), np.inf)
        left = xy[:, 0] - (self.lo[0] + x0 * self.cell) if x0 > 0 else inf
        right = self.lo[0] + x1 * self.cell - xy[:, 0] if x1 < self.nx else inf
        low = xy[:, 1] - (self.lo[1] + y0 * self.cell) if y0 > 0 else inf
        high = self.lo[1] + y1 * self.cell - xy[:, 1] if y1 < self.ny else inf
        return np.minimum(np.minimum(left, right), np.minimum(low, high)) - self.tol

    def covers(self, x0: int, x1: int, y0: int, y1: int) -> bool:
        return x0 <= 0 and y0 <= 0 and x1 >= self.nx and y1 >= self.ny


def _layout(xy: FloatArray, tile_points: int | None, at_least: float = 0.0) -> tuple[_Grid, int]:
    """The grid (cells of about ``_CELL_POINTS`` points, at least ``at_least`` wide) and
    the tile side in cells (one tile for everything when ``tile_points`` is None)."""
    n = len(xy)
    extent = np.ptp(xy, axis=0)
    area = float(extent[0] * extent[1])
    if area > 0:
        cell = np.sqrt(area * _CELL_POINTS / n)
    else:  # points on a line, or all coincident
        cell = max(float(extent.max()), 1.0) * _CELL_POINTS / n
    grid = _Grid(xy, max(cell, at_least))
    if tile_points is None:
        return grid, max(grid.nx, grid.ny)
    per_cell = n / (grid.nx * grid.ny)
    return grid, max(1, int(np.sqrt(tile_points / per_cell)))


def _batches(idx: IntArray, size: int | None) -> Iterator[IntArray]:
    step = len(idx) if size is None else max(1, size)
    for a in range(0, len(idx), step):
        yield idx[a : a + step]


def band_sums(
    xy: FloatArray,
    values: FloatArray,
    upper: float,
    lower: float = 0.0,
    *,
    tile_points: int | None = 250_000,
    progress: bool = False,
) -> tuple[FloatArray, IntArray]:
    """``sum_j values[j]`` over j != i with ``lower < d_ij <= upper``, and their count.

    ``values`` is (n, m); returns the (n, m) sums and the (n,) neighbour counts. With
    ``lower == 0`` coincident points (d = 0) are neighbours.
    """
    out = np.zeros(values.shape)
    counts = np.zeros(len(xy), dtype=np.int64)
    pairs = band_pairs(xy, upper, lower, tile_points=tile_points, progress=progress)
    for chunk, src, ti, sj, _ in pairs:
        m = sp.csr_array((np.ones(len(ti)), (ti, sj)), shape=(len(chunk), len(src)))
        out[chunk] = m @ values[src]
        counts[chunk] = np.bincount(ti, minlength=len(chunk))
    return out, counts


def band_pairs(
    xy: FloatArray,
    upper: float,
    lower: float = 0.0,
    *,
    tile_points: int | None = 250_000,
    progress: bool = False,
) -> Iterator[tuple[IntArray, IntArray, IntArray, IntArray, FloatArray]]:
    """The pairs j != i with ``lower < d_ij <= upper``, one chunk of targets i at a time.

    Yields ``(chunk, src, ti, sj, d)``: the targets ``chunk`` (indices into ``xy``), the
    points ``src`` of their tile and halo, and each pair as positions ``ti`` in ``chunk``
    and ``sj`` in ``src`` with its distance ``d`` (``np.hypot``). Every target appears in
    exactly one chunk, with all its pairs; a chunk holds at most about ``_PAIRS`` pairs.
    """
    grid, side = _layout(xy, tile_points, at_least=upper / 8.0)
    halo = int(np.ceil(upper / grid.cell)) + 1
    radius = upper * (1 + 1e-12)  # as pairs_within: the exact test is on np.hypot below
    tiles = list(grid.tiles(side))
    for x0, x1, y0, y1 in tqdm(tiles, desc="band pool tiles", disable=not progress):
        targets = grid.points(x0, x1, y0, y1)
        if not len(targets):
            continue
        src = grid.points(x0 - halo, x1 + halo, y0 - halo, y1 + halo)
        tree = cKDTree(xy[src])
        # neighbours per target at the halo's mean density bound the pairs of a chunk
        area = ((x1 - x0 + 2 * halo) * (y1 - y0 + 2 * halo)) * grid.cell**2
        degree = max(1.0, len(src) * np.pi * upper**2 / area)
        size = max(1, int(min(tile_points or len(targets), _PAIRS / degree)))
        for chunk in _batches(targets, size):
            pairs = cKDTree(xy[chunk]).sparse_distance_matrix(tree, radius, output_type="ndarray")
            ti, sj = pairs["i"].astype(np.intp), pairs["j"].astype(np.intp)
            gi, gj = chunk[ti], src[sj]
            d = np.hypot(xy[gi, 0] - xy[gj, 0], xy[gi, 1] - xy[gj, 1])
            keep = (d <= upper) & (gi != gj)
            if lower > 0:
                keep &= d > lower
            yield chunk, src, ti[keep], sj[keep], d[keep]


def sphere_band_pairs(
    lonlat: FloatArray,
    upper_km: float,
    *,
    tile_points: int | None = 250_000,
    progress: bool = False,
) -> Iterator[tuple[IntArray, IntArray, IntArray, IntArray, FloatArray]]:
    """:func:`band_pairs` for (lon, lat) degrees: pairs j != i with great-circle
    ``d_ij <= upper_km`` (km), by the rule and arithmetic of
    :func:`spillover.weights._distance.pairs_within` (a KD-tree on the unit sphere, then
    ``haversine_km`` of the point earlier in ``lonlat`` to the later one).

    Tiles are strips of latitude holding about ``tile_points`` targets; a strip's halo
    is every point within ``upper_km / R`` radians of latitude (a great-circle distance
    is never below the difference of latitudes), all longitudes, so the antimeridian and
    the poles need no special case.
    """
    n = len(lonlat)
    order = np.argsort(lonlat[:, 1], kind="stable")
    lat = lonlat[order, 1]
    reach = np.degrees(upper_km / EARTH_RADIUS_KM) * (1 + 1e-9) + 1e-9
    radius = _chord(upper_km) * (1 + 1e-9)
    step = n if tile_points is None else max(1, tile_points)
    strips = range(0, n, step)
    for a in tqdm(strips, desc="band pair strips", disable=not progress):
        targets = order[a : a + step]
        lo = np.searchsorted(lat, lat[a] - reach, side="left")
        hi = np.searchsorted(lat, lat[min(a + step, n) - 1] + reach, side="right")
        src = order[lo:hi]
        tree = cKDTree(_unit_sphere(lonlat[src]))
        # twice the mean neighbour count of a sample of targets bounds a chunk's pairs
        sample = _unit_sphere(lonlat[targets[:: max(1, len(targets) // 1000)]])
        degree = max(
            1.0, 2.0 * float(np.mean(tree.query_ball_point(sample, radius, return_length=True)))
        )
        size = max(1, int(min(step, _PAIRS / degree)))
        for chunk in _batches(targets, size):
            got = cKDTree(_unit_sphere(lonlat[chunk])).sparse_distance_matrix(
                tree, radius, output_type="ndarray"
            )
            ti, sj = got["i"].astype(np.intp), got["j"].astype(np.intp)
            gi, gj = chunk[ti], src[sj]
            first, second = np.minimum(gi, gj), np.maximum(gi, gj)
            d = haversine_km(
                lonlat[first, 0], lonlat[first, 1], lonlat[second, 0], lonlat[second, 1]
            )
            keep = (d <= upper_km) & (gi != gj)
            yield chunk, src, ti[keep], sj[keep], d[keep]


def knn_sums(
    xy: FloatArray,
    values: FloatArray,
    k: int,
    *,
    tile_points: int | None = 250_000,
    progress: bool = False,
) -> FloatArray:
    """``sum_j values[j]`` over the k nearest points j != i (tie rule: module docstring).

    ``values`` is (n, m); needs 1 <= k < n. Returns the (n, m) sums.
    """
    grid, side = _layout(xy, tile_points)
    out = np.zeros(values.shape)
    tiles = list(grid.tiles(side))
    for x0, x1, y0, y1 in tqdm(tiles, desc="kNN pool tiles", disable=not progress):
        pending = grid.points(x0, x1, y0, y1)
        halo = 1
        while len(pending):
            box = (x0 - halo, x1 + halo, y0 - halo, y1 + halo)
            src = grid.points(*box)
            full = grid.covers(*box)
            halo *= 2
            if len(src) <= k and not full:
                continue
            tree = cKDTree(xy[src])
            unsure = []
            for chunk in _batches(pending, tile_points):
                nb, kth = nearest(tree, src, xy, chunk, k)
                ok = np.ones(len(chunk), bool) if full else kth < grid.clearance(xy[chunk], *box)
                ok &= np.isfinite(kth)
                out[chunk[ok]] = values[nb[ok]].sum(axis=1)
                unsure.append(chunk[~ok])
            pending = np.concatenate(unsure)
    return out


def nearest(
    tree: cKDTree, src: IntArray, xy: FloatArray, query: IntArray, k: int
) -> tuple[IntArray, FloatArray]:
    """The k nearest of the points ``src`` (indexed by ``tree``) to each point ``query``,
    self excluded, under the tie rule; and the k-th distance.

    The tree is asked for k + 2 neighbours (self, k, one more), and again for twice as
    many for the rows whose farthest returned point does not lie beyond the k-th
    distance, until every point tied at the k-th distance has been seen.
    """
    nb = np.empty((len(query), k), dtype=np.intp)
    kth = np.full(len(query), np.inf)
    todo = np.arange(len(query))
    q = min(k + 2, len(src))
    while len(todo):
        pts = xy[query[todo]]
        dist, loc = tree.query(pts, k=q, workers=-1)
        dist, loc = dist.reshape(len(todo), q), loc.reshape(len(todo), q)
        cand = src[loc]
        d = np.hypot(xy[cand, 0] - pts[:, :1], xy[cand, 1] - pts[:, 1:])
        self_first = cand[:, 0] == query[todo]
        d[cand == query[todo, None]] = np.inf  # the point itself
        # usual row: self first, then strictly increasing distances (no tie to break)
        plain = self_first & (np.diff(d[:, 1:], axis=1) > 0).all(axis=1)
        d[plain, :-1], d[plain, -1] = d[plain, 1:], np.inf
        cand[plain, :-1] = cand[plain, 1:]
        odd = ~plain
        order = np.lexsort((cand[odd], d[odd]), axis=1)
        d[odd] = np.take_along_axis(d[odd], order, 1)
        cand[odd] = np.take_along_axis(cand[odd], order, 1)
        done = (q == len(src)) | (dist[:, -1] > d[:, k - 1] * (1 + _REL))
        nb[todo[done]] = cand[done, :k]
        kth[todo[done]] = d[done, k - 1]
        todo = todo[~done]
        q = min(2 * q, len(src))
    return nb, kth
