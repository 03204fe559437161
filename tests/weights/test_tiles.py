"""Tiled neighbour sums against dense brute force on random integer points (ties, stacks).

Integer coordinates on a small range make ties at the k-th distance, ties at the band
edge and coincident points common; tiles as small as one point put most points on tile
edges. Values are positive, so rtol 1e-12 only allows summation-order rounding.
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from spillover.weights._tiles import band_pairs, band_sums, knn_sums, sphere_band_pairs

TILE = st.sampled_from([None, 1, 3, 17, 1_000])


def _dense(xy):
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    np.fill_diagonal(d, np.inf)
    return d


@st.composite
def _points(draw):
    n = draw(st.integers(2, 60))
    span = draw(st.sampled_from([3, 10, 1_000]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, span, (n, 2)).astype(float) * draw(st.sampled_from([1.0, 0.1, 250.0]))
    return xy, rng.gamma(2.0, 3.0, (n, 2)) + 0.01


@given(_points(), st.integers(1, 12), TILE)
def test_knn_sums_match_dense_rule(points, k, tile_points):
    xy, v = points
    k = min(k, len(xy) - 1)
    d = _dense(xy)
    idx = np.broadcast_to(np.arange(len(xy)), d.shape)
    nearest = np.lexsort((idx, d), axis=1)[:, :k]  # (distance, position) order
    got = knn_sums(xy, v, k, tile_points=tile_points)
    assert_allclose(got, v[nearest].sum(axis=1), rtol=1e-12)


@given(_points(), st.floats(0.05, 3.0), st.booleans(), st.sampled_from([0.0, 0.3]), TILE)
def test_band_sums_match_dense_rule(points, radius, on_a_pair, lower_share, tile_points):
    xy, v = points
    d = _dense(xy)
    finite = np.unique(d[np.isfinite(d) & (d > 0)])
    if on_a_pair and len(finite):  # the band edge equals a pair's distance: a tie at the edge
        upper = float(finite[int(radius * 1e6) % len(finite)])
    else:
        upper = radius * float(np.ptp(xy, axis=0).max() or 1.0)
    lower = lower_share * upper
    inside = (d <= upper) & ((d > lower) if lower > 0 else True)
    got, counts = band_sums(xy, v, upper, lower, tile_points=tile_points)
    assert_allclose(got, inside.astype(float) @ v, rtol=1e-12, atol=0)
    assert (counts == inside.sum(axis=1)).all()


@st.composite
def _lonlat(draw):
    """Points clustered near the poles, the antimeridian and the equator (strips cut
    everywhere), some coincident."""
    n = draw(st.integers(2, 80))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    centre = np.array([[179.9, 0.0], [-179.9, 0.1], [0.0, 89.95], [45.0, -89.9], [10.0, 47.0]])
    pts = centre[rng.integers(0, len(centre), n)] + rng.normal(0, 0.05, (n, 2))
    pts[:, 1] = np.clip(pts[:, 1], -90, 90)
    pts[rng.random(n) < 0.1] = pts[0]
    return pts


@given(_lonlat(), st.sampled_from([0.5, 3.0, 25.0, 500.0]), TILE)
def test_sphere_band_pairs_match_pairs_within(lonlat, upper_km, tile_points):
    """The same pairs and distances as the untiled great-circle search (a KD-tree on the
    unit sphere over all points), across the antimeridian and near the poles."""
    from spillover.weights._distance import pairs_within

    i, j, d = pairs_within(lonlat, upper_km, metric="haversine")
    got = [
        (chunk[ti], src[sj], dist)
        for chunk, src, ti, sj, dist in sphere_band_pairs(lonlat, upper_km, tile_points=tile_points)
    ]
    gi, gj, gd = (np.concatenate(p) for p in zip(*got, strict=True))
    order = np.lexsort((gj, gi))
    assert len(gi) == len(i)
    assert (gi[order] == i).all() and (gj[order] == j).all()
    assert_allclose(gd[order], d, rtol=0, atol=0)


@given(_points(), st.floats(0.05, 3.0), TILE)
def test_band_pairs_are_the_band_sums_pairs(points, radius, tile_points):
    """Each target once, with every pair of the dense rule and its np.hypot distance."""
    xy, _ = points
    upper = radius * float(np.ptp(xy, axis=0).max() or 1.0)
    d = _dense(xy)
    seen = np.zeros(len(xy), int)
    found = np.zeros_like(d, dtype=bool)
    for chunk, src, ti, sj, dist in band_pairs(xy, upper, tile_points=tile_points):
        seen[chunk] += 1
        found[chunk[ti], src[sj]] = True
        assert_allclose(dist, d[chunk[ti], src[sj]], rtol=0, atol=0)
    assert (seen == 1).all()
    assert (found == (d <= upper)).all()
