"""Tiled kNN and distance-band pools against the in-memory pool and dense brute force.

Tolerance: rtol 1e-12. Both paths add the same (positive) stocks over the same neighbour
sets and differ only in summation order (and 1/k applied per weight or once), which moves
a sum of <= 100 positive terms by a few ulp (~1e-15 relative); 1e-12 leaves room for that
and nothing else: a single wrong or missing neighbour changes the pool by >= 1e-3.
"""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover import Panel, weights
from spillover.errors import GeographyError, WeightsError
from spillover.measures import distance_band_pool, knn_pool, spillover_pool

RTOL = 1e-12
TILES = [None, 40, 7]  # one tile; a few; many tiny ones (most firms near a tile edge)


def _panel(n, periods=1, drop=0.0, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {"firm": np.repeat(np.arange(n), periods), "year": np.tile(np.arange(periods), n)}
    ).assign(rd=rng.gamma(2.0, 5.0, n * periods) + 0.1)
    if drop:  # every firm keeps its first year, so the panel's firms are all the points
        df = df[(df["year"] == 0) | (rng.uniform(size=len(df)) > drop)]
    return Panel(df, entity="firm", time="year")


def _coords(xy):
    return pd.DataFrame(xy, columns=["x", "y"], index=np.arange(len(xy)))


def _clustered(n, seed=1):
    """Two tight far-apart clusters and a sparse scatter: most grid tiles are empty."""
    rng = np.random.default_rng(seed)
    a = rng.normal([0, 0], 50.0, (n // 2, 2))
    b = rng.normal([1e5, 7e4], 80.0, (n // 3, 2))
    c = rng.uniform(0, 1e5, (n - len(a) - len(b), 2))
    return np.vstack([a, b, c])


def _brute_knn(xy, x, k):
    """Dense reference: k smallest (distance, index) pairs of each row, self excluded."""
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    np.fill_diagonal(d, np.inf)
    idx = np.broadcast_to(np.arange(len(xy)), d.shape)
    order = np.lexsort((idx, d), axis=1)[:, :k]
    return x[order].sum(axis=1)


@pytest.mark.parametrize("tile_points", TILES)
@pytest.mark.parametrize("statistic", ["sum", "mean"])
@pytest.mark.parametrize("absent", ["zero", "renormalize"])
def test_knn_pool_equals_in_memory_pool(tile_points, statistic, absent):
    xy = _clustered(400)
    panel = _panel(400, periods=3, drop=0.3)
    w = weights.knn(xy, 6, metric="euclidean", ids=np.arange(400))
    w = w.row_standardize() if statistic == "mean" else w
    expected = spillover_pool(panel, "rd", w, absent=absent)
    got = knn_pool(panel, "rd", _coords(xy), k=6, metric="euclidean", statistic=statistic,
                   absent=absent, tile_points=tile_points)  # fmt: skip
    assert got.index.equals(expected.index)
    assert_allclose(got, expected, rtol=RTOL)
    assert np.isfinite(expected).any()


@pytest.mark.parametrize("tile_points", TILES)
@pytest.mark.parametrize("statistic", ["sum", "mean"])
@pytest.mark.parametrize("absent", ["zero", "renormalize"])
def test_band_pool_equals_in_memory_pool(tile_points, statistic, absent):
    xy = _clustered(400)
    panel = _panel(400, periods=3, drop=0.3, seed=2)
    band = dict(threshold=3_000.0, lower=40.0, unit="crs")
    w = weights.distance_band(xy, metric="euclidean", ids=np.arange(400), islands="keep", **band)
    w = w.row_standardize(zero_rows="keep") if statistic == "mean" else w
    expected = spillover_pool(panel, "rd", w, absent=absent)
    got = distance_band_pool(panel, "rd", _coords(xy), metric="euclidean", islands="keep",
                             statistic=statistic, absent=absent, tile_points=tile_points,
                             **band)  # fmt: skip
    assert_allclose(got, expected, rtol=RTOL)
    assert (w.cardinalities == 0).any() and (w.cardinalities > 20).any()  # both cases met


@pytest.mark.parametrize("tile_points", TILES)
@pytest.mark.parametrize("k", [1, 4, 8, 13])
def test_knn_ties_follow_the_stated_rule(tile_points, k):
    """Integer lattice with holes: the k-th distance is tied for most firms, many firms
    sit exactly on grid-cell edges; the dense (distance, position) rule is the reference."""
    g = np.array([(i, j) for i in range(17) for j in range(13) if (i * 7 + j * 3) % 5])
    xy = g * 1000.0
    panel = _panel(len(xy), seed=3)
    x = panel.data["rd"].to_numpy()
    got = knn_pool(panel, "rd", _coords(xy), k=k, metric="euclidean", tile_points=tile_points)
    assert_allclose(got, _brute_knn(xy, x, k), rtol=RTOL)
    d = np.sort(np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1)), axis=1)
    assert (d[:, k] == d[:, k + 1]).mean() > 0.3  # the k-th distance is tied for many firms


def test_knn_ties_do_not_depend_on_tiling():
    xy = np.array([(i, j) for i in range(40) for j in range(30)], float)
    panel = _panel(len(xy), seed=4)
    runs = [
        knn_pool(panel, "rd", _coords(xy), k=5, metric="euclidean", tile_points=t)
        for t in (None, 3, 50, 333)
    ]
    for other in runs[1:]:
        assert_allclose(other, runs[0], rtol=RTOL)


@pytest.mark.parametrize("tile_points", TILES)
def test_band_ties_at_the_threshold_match_distance_band(tile_points):
    """Lattice with spacing 1 and threshold 1 (and sqrt 2): every edge pair is tied at
    the threshold, and the in-memory weights include it (d <= threshold)."""
    xy = np.array([(i, j) for i in range(20) for j in range(15)], float)
    panel = _panel(len(xy), seed=5)
    for threshold in (1.0, float(np.hypot(1.0, 1.0))):
        w = weights.distance_band(xy, threshold, unit="crs", metric="euclidean",
                                  ids=np.arange(len(xy)))  # fmt: skip
        got = distance_band_pool(panel, "rd", _coords(xy), threshold=threshold, unit="crs",
                                 metric="euclidean", tile_points=tile_points)  # fmt: skip
        assert_allclose(got, spillover_pool(panel, "rd", w), rtol=RTOL)


def test_km_on_a_metre_crs_and_a_geodataframe():
    xy = _clustered(300, seed=6)
    panel = _panel(300, seed=6)
    pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), index=np.arange(300),
                        crs="EPSG:3035")  # fmt: skip
    w = weights.distance_band(pts, 2.0, islands="keep")  # 2 km
    got = distance_band_pool(panel, "rd", pts, threshold=2.0, islands="keep", tile_points=25)
    assert_allclose(got, spillover_pool(panel, "rd", w), rtol=RTOL)
    got = knn_pool(panel, "rd", pts, k=3, tile_points=25)
    assert_allclose(got, spillover_pool(panel, "rd", weights.knn(pts, 3)), rtol=RTOL)


def test_geographic_crs_is_refused():
    panel = _panel(5)
    pts = gpd.GeoSeries(gpd.points_from_xy(np.arange(5.0), np.zeros(5)), index=np.arange(5),
                        crs="EPSG:4326")  # fmt: skip
    with pytest.raises(GeographyError, match="projected"):
        knn_pool(panel, "rd", pts, k=2)
    with pytest.raises(GeographyError, match="projected"):
        distance_band_pool(panel, "rd", pts, threshold=100.0)
    with pytest.raises(GeographyError, match="projected"):
        knn_pool(panel, "rd", _coords(np.zeros((5, 2)) + 1), k=2, metric="haversine")


def test_duplicates_and_islands_are_named():
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [50.0, 0.0]])
    panel = _panel(4)
    with pytest.raises(WeightsError, match=r"share their coordinates.*2"):
        knn_pool(panel, "rd", _coords(xy), k=1, metric="euclidean")
    kept = knn_pool(panel, "rd", _coords(xy), k=1, metric="euclidean", duplicates="keep")
    x = panel.data["rd"].to_numpy()
    assert kept.iloc[1] == x[2] and kept.iloc[2] == x[1]  # each other's neighbour, d = 0
    with pytest.raises(WeightsError, match=r"1 firms have no other firm.*\b3\b"):
        distance_band_pool(panel, "rd", _coords(xy), threshold=5.0, unit="crs",
                           metric="euclidean", duplicates="keep")  # fmt: skip


def test_bad_options_are_refused():
    panel, xy = _panel(5), _coords(np.arange(10.0).reshape(5, 2))
    with pytest.raises(Exception, match="k must be between 1 and 4"):
        knn_pool(panel, "rd", xy, k=5, metric="euclidean")
    with pytest.raises(Exception, match="statistic"):
        knn_pool(panel, "rd", xy, k=2, metric="euclidean", statistic="median")
    with pytest.raises(Exception, match="lower < threshold"):
        distance_band_pool(panel, "rd", xy, threshold=1.0, lower=2.0, unit="crs",
                           metric="euclidean")  # fmt: skip


@pytest.mark.slow
def test_knn_and_band_pools_at_200k_firms_match_in_memory():
    rng = np.random.default_rng(7)
    n = 200_000
    xy = np.vstack([rng.normal(0, 5e3, (n // 2, 2)), rng.uniform(-1e5, 1e5, (n - n // 2, 2))])
    panel, coords = _panel(n, seed=7), _coords(xy)
    w = weights.knn(xy, 10, metric="euclidean", ids=np.arange(n))
    got = knn_pool(panel, "rd", coords, k=10, metric="euclidean", tile_points=20_000)
    assert_allclose(got, spillover_pool(panel, "rd", w), rtol=RTOL)
    w = weights.distance_band(xy, 1_000.0, unit="crs", metric="euclidean",
                              ids=np.arange(n), islands="keep")  # fmt: skip
    got = distance_band_pool(panel, "rd", coords, threshold=1_000.0, unit="crs",
                             metric="euclidean", islands="keep", tile_points=20_000)  # fmt: skip
    assert_allclose(got, spillover_pool(panel, "rd", w), rtol=RTOL)


@pytest.mark.parametrize("side", [1, 2, 3])
def test_firms_exactly_on_cell_and_tile_edges(monkeypatch, side):
    """Grid cells of exactly 2 lattice steps: every other lattice row and column lies on a
    cell edge, and with ``side`` cells per tile on tile edges too; ties everywhere."""
    from spillover.weights import _tiles

    monkeypatch.setattr(_tiles, "_layout", lambda xy, tile_points, at_least=0.0: (
        _tiles._Grid(xy, max(2.0, at_least)), side))  # fmt: skip
    xy = np.array([(i, j) for i in range(21) for j in range(17)], float)
    panel = _panel(len(xy), seed=8)
    x = panel.data["rd"].to_numpy()
    for k in (3, 4, 9):
        got = knn_pool(panel, "rd", _coords(xy), k=k, metric="euclidean")
        assert_allclose(got, _brute_knn(xy, x, k), rtol=RTOL)
    w = weights.distance_band(xy, 2.0, unit="crs", metric="euclidean", ids=np.arange(len(xy)))
    got = distance_band_pool(panel, "rd", _coords(xy), threshold=2.0, unit="crs",
                             metric="euclidean")  # fmt: skip
    assert_allclose(got, spillover_pool(panel, "rd", w), rtol=RTOL)


@pytest.mark.parametrize("tile_points", TILES)
def test_degenerate_layouts_collinear_and_coincident(tile_points):
    """Firms on one line (a grid one cell high) and a stack of coincident firms."""
    rng = np.random.default_rng(9)
    line = np.column_stack([np.round(rng.uniform(0, 500, 120)), np.full(120, 7.0)])
    stack = np.vstack([line, np.full((6, 2), 250.5)])
    panel = _panel(len(stack), seed=9)
    x = panel.data["rd"].to_numpy()
    got = knn_pool(panel, "rd", _coords(stack), k=4, metric="euclidean", duplicates="keep",
                   tile_points=tile_points)  # fmt: skip
    assert_allclose(got, _brute_knn(stack, x, 4), rtol=RTOL)
    w = weights.distance_band(stack, 3.0, unit="crs", metric="euclidean", islands="keep",
                              ids=np.arange(len(stack)), duplicates="keep")  # fmt: skip
    got = distance_band_pool(panel, "rd", _coords(stack), threshold=3.0, unit="crs",
                             metric="euclidean", islands="keep", duplicates="keep",
                             tile_points=tile_points)  # fmt: skip
    assert_allclose(got, spillover_pool(panel, "rd", w), rtol=RTOL)
