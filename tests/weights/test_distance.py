import numpy as np
import pytest

from spillover.errors import GeographyError
from spillover.weights._distance import haversine_km, knn_pairs, pairs_within


def test_great_circle_known_city_pairs():
    # Published great-circle distances (mean-radius sphere), to 0.5%: a sphere vs the
    # ellipsoid differs by up to ~0.5%.
    london, paris = (-0.1278, 51.5074), (2.3522, 48.8566)
    ny, la = (-74.0060, 40.7128), (-118.2437, 34.0522)
    assert haversine_km(*london, *paris) == pytest.approx(343.5, rel=5e-3)
    assert haversine_km(*ny, *la) == pytest.approx(3936, rel=5e-3)
    # closed form: a quarter of a great circle along the equator
    assert haversine_km(0, 0, 90, 0) == pytest.approx(np.pi / 2 * 6371.0088, rel=1e-12)


def _brute(xy, upper, lower, metric):
    n = len(xy)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    if metric == "haversine":
        d = haversine_km(xy[i, 0], xy[i, 1], xy[j, 0], xy[j, 1])
    else:
        d = np.hypot(xy[i, 0] - xy[j, 0], xy[i, 1] - xy[j, 1])
    keep = (i != j) & (d <= upper) & (d > lower)
    return set(zip(i[keep], j[keep], strict=True))


@pytest.mark.parametrize("metric", ["haversine", "euclidean"])
@pytest.mark.parametrize("lower", [0.0, 150.0])
def test_pairs_within_matches_brute_force(metric, lower):
    rng = np.random.default_rng(3)
    if metric == "haversine":
        xy = np.column_stack([rng.uniform(-100, -80, 300), rng.uniform(30, 45, 300)])
    else:
        xy = rng.uniform(0, 2000, size=(300, 2))
    i, j, d = pairs_within(xy, 400.0, metric=metric, lower=lower)
    assert set(zip(i, j, strict=True)) == _brute(xy, 400.0, lower, metric)
    assert (d <= 400).all() and (d > lower).all()


def test_knn_matches_brute_force():
    rng = np.random.default_rng(4)
    xy = rng.uniform(0, 1, size=(200, 2))
    i, j, _ = knn_pairs(xy, 5, metric="euclidean")
    full = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(full, np.inf)
    ref = np.argsort(full, axis=1)[:, :5]
    for row in range(200):
        assert set(j[i == row]) == set(ref[row])


def test_degrees_out_of_range_rejected():
    with pytest.raises(GeographyError, match="projected"):
        pairs_within(np.array([[500000.0, 4e6], [500100.0, 4e6]]), 10, metric="haversine")


def test_duplicate_points_flags_every_later_copy():
    from spillover.weights._distance import duplicate_points

    rng = np.random.default_rng(9)
    xy = rng.integers(0, 6, size=(400, 2)).astype(float)  # many exact repeats
    _, first = np.unique(xy, axis=0, return_index=True)
    expected = np.setdiff1d(np.arange(len(xy)), first)  # all but the first of each location
    np.testing.assert_array_equal(duplicate_points(xy), expected)
    assert len(duplicate_points(xy[first])) == 0


def test_knn_great_circle_distances_equal_haversine():
    rng = np.random.default_rng(10)
    ll = np.column_stack([rng.uniform(-180, 180, 500), rng.uniform(-80, 80, 500)])
    i, j, d = knn_pairs(ll, 3, metric="haversine")
    # chord -> arc conversion vs the haversine formula: same great circle to ~1e-12
    np.testing.assert_allclose(d, haversine_km(ll[i, 0], ll[i, 1], ll[j, 0], ll[j, 1]), rtol=1e-10)
