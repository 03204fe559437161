"""Distance weights against libpysal's constructors (projected) and brute force (lon/lat)."""

import geopandas as gpd
import numpy as np
import pytest
from libpysal import weights as lw

from spillover import weights
from spillover.errors import GeographyError, SpecificationError, WeightsError
from spillover.weights._distance import haversine_km

# random points in a band leave a few far-out points in their own group: expected here
pytestmark = pytest.mark.filterwarnings(
    "ignore::spillover.weights.DisconnectedWeightsWarning",
    "ignore:divide by zero:RuntimeWarning",  # inside libpysal's DistanceBand(binary=False)
)


@pytest.fixture(scope="module")
def xy():
    return np.random.default_rng(11).uniform(0, 100_000, size=(400, 2))  # metres


@pytest.fixture(scope="module")
def lonlat():
    rng = np.random.default_rng(12)
    return np.column_stack([rng.uniform(5, 15, 300), rng.uniform(45, 55, 300)])


def _pairs(w):
    m = w.matrix.tocoo()
    return {(int(i), int(j)): float(v) for i, j, v in zip(m.row, m.col, m.data, strict=True)}


def _libpysal_pairs(lpw):
    return {
        (i, j): v
        for i in lpw.neighbors
        for j, v in zip(lpw.neighbors[i], lpw.weights[i], strict=True)
    }


def _brute_distances(ll):
    d = haversine_km(ll[:, None, 0], ll[:, None, 1], ll[None, :, 0], ll[None, :, 1])
    np.fill_diagonal(d, np.inf)
    return d


def test_knn_equals_libpysal_knn(xy):
    ours = weights.knn(xy, 6, metric="euclidean", ids=range(len(xy)))
    theirs = lw.KNN.from_array(xy, k=6)
    assert set(_pairs(ours)) == set(_libpysal_pairs(theirs))  # exact neighbour sets


def test_knn_lonlat_equals_brute_force_great_circle(lonlat):
    d = _brute_distances(lonlat)
    w = weights.knn(lonlat, 5, metric="haversine", ids=range(len(lonlat)))
    expected = {(i, int(j)) for i in range(len(d)) for j in np.argsort(d[i])[:5]}
    assert set(_pairs(w)) == expected


def test_geographic_crs_gives_great_circle_km(lonlat):
    gdf = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]), crs="EPSG:4326"
    ).set_axis([f"f{i}" for i in range(len(lonlat))])
    w = weights.distance_band(gdf, 60.0, binary=False, islands="keep")
    d = _brute_distances(lonlat)
    i, j = np.nonzero(d <= 60.0)
    got = _pairs(w)
    assert set(got) == set(zip(i.tolist(), j.tolist(), strict=True))
    # 1/d with d in km: the KD-tree (chord) and haversine agree to rounding
    np.testing.assert_allclose([got[p] for p in zip(i, j, strict=True)], 1 / d[i, j], rtol=1e-12)
    assert w.meta["metric"] == "haversine" and w.meta["unit"] == "km"
    assert w.ids[0] == "f0"


def test_projected_crs_is_euclidean_in_metres(xy):
    gdf = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:32632")
    w = weights.knn(gdf, 4)
    assert w.meta["metric"] == "euclidean" and w.meta["unit"] == "metre"


@pytest.mark.parametrize("binary", [True, False])
def test_distance_band_equals_libpysal(xy, binary):
    ours = weights.distance_band(
        xy,
        9_000.0,
        binary=binary,
        unit="crs",
        metric="euclidean",
        ids=range(len(xy)),
        islands="keep",
    )
    theirs = lw.DistanceBand.from_array(xy, 9_000.0, binary=binary, silence_warnings=True)
    ref = _libpysal_pairs(theirs)
    got = _pairs(ours)
    assert set(got) == set(ref)
    np.testing.assert_allclose([got[p] for p in ref], list(ref.values()), rtol=1e-12)


def test_distance_band_annulus_and_lonlat_brute_force(lonlat):
    d = _brute_distances(lonlat)
    w = weights.distance_band(
        lonlat, 80.0, lower=40.0, metric="haversine", ids=range(len(d)), islands="keep"
    )
    i, j = np.nonzero((d > 40.0) & (d <= 80.0))
    assert set(_pairs(w)) == set(zip(i.tolist(), j.tolist(), strict=True))


@pytest.mark.parametrize("power", [1.0, 2.0])
def test_inverse_distance_dense_reference(xy, power):
    small = xy[:60]
    d = np.hypot(*(small[:, None, :] - small[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    full = weights.inverse_distance(
        small, power=power, unit="crs", metric="euclidean", ids=range(60)
    )
    assert full.nnz == 60 * 59
    got = _pairs(full)
    np.testing.assert_allclose([got[(i, j)] for i, j in got], [d[i, j] ** -power for i, j in got])
    cut = weights.inverse_distance(
        small,
        power=power,
        cutoff=20_000,
        unit="crs",
        metric="euclidean",
        ids=range(60),
        islands="keep",
    )
    i, j = np.nonzero(d <= 20_000)
    assert set(_pairs(cut)) == set(zip(i.tolist(), j.tolist(), strict=True))


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("negative_exponential", "exponential"),
        ("gaussian", "gaussian"),
        ("triangular", "triangular"),
        ("epanechnikov", "parabolic"),
        ("bisquare", "bisquare"),
        ("uniform", "boxcar"),
    ],
)
def test_kernels_equal_libpysal_decay_form(xy, ours, theirs):
    # libpysal.kernels.kernel(..., decay=True) is K(z) / K(0): the same functions
    lk = pytest.importorskip("libpysal.kernels", reason="the reference needs libpysal >= 4.14")
    h = 8_000.0
    w = weights.kernel(
        xy,
        bandwidth=h,
        function=ours,
        cutoff=12_000,
        unit="crs",
        metric="euclidean",
        ids=range(len(xy)),
        islands="keep",
    )
    i, j, d = _ijd(xy, 12_000 if ours in ("negative_exponential", "gaussian") else h)
    ref = lk.kernel(d, h, kernel=theirs, taper=False, decay=True)
    keep = ref > 0
    got = _pairs(w)
    assert set(got) == set(zip(i[keep].tolist(), j[keep].tolist(), strict=True))
    np.testing.assert_allclose(
        [got[(a, b)] for a, b in zip(i[keep], j[keep], strict=True)], ref[keep], rtol=1e-12
    )


def _ijd(xy, cutoff):
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    i, j = np.nonzero(d <= cutoff)
    return i, j, d[i, j]


def test_no_crs_is_an_error(xy):
    gdf = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]))
    with pytest.raises(GeographyError, match="no CRS"):
        weights.knn(gdf, 3)


def test_raw_array_needs_metric_and_ids(xy):
    with pytest.raises(SpecificationError, match="metric="):
        weights.knn(xy, 3)
    with pytest.raises(SpecificationError, match="metric="):
        weights.knn(xy, 3, metric="euclidean")
    with pytest.raises(WeightsError, match="ids"):
        weights.knn(xy, 3, metric="euclidean", ids=range(5))
    with pytest.raises(GeographyError, match="projected"):  # metres are not degrees
        weights.knn(xy, 3, metric="haversine", ids=range(len(xy)))
    gdf = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:32632")
    with pytest.raises(SpecificationError, match="CRS decides"):
        weights.knn(gdf, 3, metric="euclidean")


def test_duplicate_points_named_then_kept():
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [5.0, 5.0]])
    ids = ["a", "b", "c", "d"]
    with pytest.raises(WeightsError, match="'a'='c'"):
        weights.knn(xy, 1, metric="euclidean", ids=ids)
    with pytest.raises(WeightsError, match="identical coordinates"):
        weights.distance_band(xy, 2.0, unit="crs", metric="euclidean", ids=ids, islands="keep")
    with pytest.raises(WeightsError, match="'a'='c'"):  # 1 / 0 cannot be kept
        weights.inverse_distance(xy, unit="crs", metric="euclidean", ids=ids)
    w = weights.knn(xy, 1, metric="euclidean", ids=ids, duplicates="keep")
    assert _pairs(w)[(0, 2)] == 1.0 and _pairs(w)[(2, 0)] == 1.0  # each other's nearest
    k = weights.kernel(
        xy,
        bandwidth=1.0,
        cutoff=2.0,
        unit="crs",
        metric="euclidean",
        ids=ids,
        duplicates="keep",
        islands="keep",
    )
    assert _pairs(k)[(0, 2)] == 1.0  # K(0) = 1


def test_band_islands_policy():
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [50.0, 0.0]])
    with pytest.raises(WeightsError, match="'far'"):
        weights.distance_band(xy, 2.0, unit="crs", metric="euclidean", ids=["a", "b", "far"])
    w = weights.distance_band(
        xy, 2.0, unit="crs", metric="euclidean", ids=["a", "b", "far"], islands="keep"
    )
    assert list(w.islands) == ["far"]


def test_all_pairs_refused_when_too_large(monkeypatch):
    from spillover.weights import _points

    monkeypatch.setattr(_points, "MAX_PAIRS", 100)
    xy = np.random.default_rng(0).uniform(size=(20, 2))
    with pytest.raises(WeightsError, match="cutoff="):
        weights.inverse_distance(xy, unit="crs", metric="euclidean", ids=range(20))
    with pytest.raises(WeightsError, match="cutoff="):
        weights.kernel(
            xy, bandwidth=0.1, function="gaussian", unit="crs", metric="euclidean", ids=range(20)
        )


def test_bad_options():
    xy = np.random.default_rng(0).uniform(size=(20, 2))
    with pytest.raises(SpecificationError, match="unknown kernel"):
        weights.kernel(
            xy, bandwidth=1, function="cosine", unit="crs", metric="euclidean", ids=range(20)
        )
    with pytest.raises(WeightsError, match="k must be"):
        weights.knn(xy, 20, metric="euclidean", ids=range(20))
    with pytest.raises(SpecificationError, match="power"):
        weights.inverse_distance(xy, power=0, unit="crs", metric="euclidean", ids=range(20))
    with pytest.raises(SpecificationError, match="islands"):
        weights.distance_band(
            xy, 0.5, unit="crs", metric="euclidean", ids=range(20), islands="ignore"
        )


def test_warnings_point_at_the_callers_line():
    # DroppedRowsWarning (islands dropped) and DisconnectedWeightsWarning must name the
    # user's line, however many internal frames the builder goes through (contiguity
    # passes through a private helper, higher orders through higher_order).
    import warnings

    import geopandas as gpd
    from shapely.geometry import box

    from spillover.errors import DisconnectedWeightsWarning, DroppedRowsWarning

    xy = np.array([[0.0, 0], [1, 0], [50, 0], [60, 60], [61, 60]])
    cells = gpd.GeoSeries(
        [box(0, 0, 1, 1), box(1, 0, 2, 1), box(5, 5, 6, 6), box(6, 5, 7, 6)], index=list("abcd")
    )
    calls = [
        lambda: weights.distance_band(
            xy, 2, unit="crs", metric="euclidean", ids=list("abcde"), islands="drop"
        ),
        lambda: weights.queen(cells),
        lambda: weights.rook(cells, order=2, cumulative=True),
        lambda: weights.knn(xy, 1, metric="euclidean", ids=list("abcde")),
    ]
    seen = set()
    for call in calls:
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            call()
        assert rec
        for r in rec:
            assert r.filename == __file__, (r.category.__name__, r.filename, r.lineno)
            seen.add(r.category)
    assert seen == {DroppedRowsWarning, DisconnectedWeightsWarning}


def test_a_band_too_wide_is_refused_before_the_search(monkeypatch):
    # A band covering most of the map links ~N^2 pairs: refused up front from a sampled
    # count instead of exhausting memory. The estimate is checked against the exact count
    # (the built weights' nnz): within 10% at this size (2,000 of 3,000 points sampled
    # for the tree, 1,000 queried; the relative sd of such a count is ~1%).
    import re

    from spillover.weights import _points

    xy = np.random.default_rng(3).uniform(0, 100, size=(3_000, 2))
    kw = {"unit": "crs", "metric": "euclidean", "ids": range(3_000), "islands": "keep"}
    exact = weights.distance_band(xy, 30, **kw).nnz
    monkeypatch.setattr(_points, "MAX_BAND_PAIRS", 1_000_000)
    monkeypatch.setattr(_points, "_SAMPLE_POINTS", 2_000)
    with pytest.raises(WeightsError, match="a distance of 30 coordinate units links about") as e:
        weights.distance_band(xy, 30, **kw)
    estimate = float(re.search(r"about ([\d,]+)", str(e.value)).group(1).replace(",", ""))
    assert abs(estimate / exact - 1) < 0.1
    with pytest.raises(WeightsError, match=r"weights\.knn"):
        weights.kernel(xy, bandwidth=10, cutoff=30, **kw)
    with pytest.raises(WeightsError, match="links about"):
        weights.inverse_distance(xy, cutoff=30, **kw)
    assert weights.distance_band(xy, 5, **kw).nnz < 1_000_000  # a narrow band still builds


def test_nan_power_is_refused():
    # 1 ** nan is 1: a NaN power used to give weights of one at unit distance silently.
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    with pytest.raises(SpecificationError, match="power must be positive, got nan"):
        weights.inverse_distance(
            xy, power=float("nan"), unit="crs", metric="euclidean", ids=[1, 2, 3]
        )
