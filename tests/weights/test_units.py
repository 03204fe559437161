"""Distances in km on any CRS (unit="km") or in the CRS's own units (unit="crs").

References: brute-force dense distances at small N, in metres for EPSG:5070 and in US
survey feet (1 ft = 1200 / 3937 m, the legal definition, not pyproj's factor) for
EPSG:2232; great-circle km for lon/lat. Neighbour sets are compared exactly (no random pair
lies within 7e-6 of a cutoff, far beyond rounding on any machine); weights to
rtol 1e-12 (a few roundings of a distance, nothing iterative).
"""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from pyproj import CRS

from spillover import Panel, weights
from spillover.errors import GeographyError, SpecificationError
from spillover.measures import pools_by_distance_band, spillover_pool
from spillover.weights._distance import haversine_km

pytestmark = pytest.mark.filterwarnings("ignore::spillover.weights.DisconnectedWeightsWarning")

N = 250
US_FOOT_M = 1200 / 3937


@pytest.fixture(scope="module")
def xy():
    return np.random.default_rng(31).uniform(0, 60_000, size=(N, 2))  # metres or feet


def _gdf(xy, crs):
    pts = gpd.points_from_xy(xy[:, 0], xy[:, 1])
    return gpd.GeoSeries(pts, index=[f"f{i}" for i in range(len(xy))], crs=crs)


def _planar(xy):
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    return d


def _pairs(w):
    m = w.matrix.tocoo()
    return {(int(i), int(j)): float(v) for i, j, v in zip(m.row, m.col, m.data, strict=True)}


def _assert_pairs(w, d, keep, values):
    """Neighbour set of ``w`` is exactly where ``keep``; weights equal ``values(d)``."""
    i, j = np.nonzero(keep)
    got = _pairs(w)
    assert set(got) == set(zip(i.tolist(), j.tolist(), strict=True))
    assert_allclose([got[p] for p in zip(i, j, strict=True)], values(d[i, j]), rtol=1e-12)


def _same(a, b):
    for attr in ("indptr", "indices", "data"):
        assert_array_equal(getattr(a.matrix, attr), getattr(b.matrix, attr))


def test_km_on_metre_crs_equals_metres_with_unit_crs_exactly(xy):
    gdf = _gdf(xy, "EPSG:5070")
    _same(
        weights.distance_band(gdf, 9, lower=2, islands="keep"),
        weights.distance_band(gdf, 9_000, lower=2_000, unit="crs", islands="keep"),
    )
    for function in ("negative_exponential", "gaussian", "triangular", "bisquare"):
        km = weights.kernel(gdf, bandwidth=5, cutoff=15, function=function, islands="keep")
        m = weights.kernel(
            gdf, bandwidth=5_000, cutoff=15_000, function=function, unit="crs", islands="keep"
        )
        _same(km, m)  # z = d / h: 5 * 1000.0 is exactly 5000.0
    # 1 / d in km is 1000^power times 1 / d in metres
    for power in (1.0, 2.0):
        km = weights.inverse_distance(gdf, power=power, cutoff=20, islands="keep")
        m = weights.inverse_distance(gdf, power=power, cutoff=20_000, unit="crs", islands="keep")
        assert_array_equal(km.matrix.indices, m.matrix.indices)
        assert_allclose(km.matrix.data, m.matrix.data * 1000.0**power, rtol=1e-12)


def test_km_on_metre_crs_equals_brute_force(xy):
    gdf = _gdf(xy, "EPSG:5070")
    d = _planar(xy) / 1000.0  # km
    _assert_pairs(
        weights.distance_band(gdf, 9, lower=2, binary=False, islands="keep"),
        d,
        (d > 2) & (d <= 9),
        lambda x: 1 / x,
    )
    _assert_pairs(weights.kernel(gdf, bandwidth=5, cutoff=15), d, d <= 15, lambda x: np.exp(-x / 5))


def test_us_survey_feet_crs_equals_brute_force(xy):
    gdf = _gdf(xy, "EPSG:2232")  # NAD83 / Colorado Central, US survey feet
    d = _planar(xy) * US_FOOT_M / 1000.0  # km
    band = weights.distance_band(gdf, 10, lower=3, islands="keep")
    _assert_pairs(band, d, (d > 3) & (d <= 10), np.ones_like)
    gauss = weights.kernel(gdf, bandwidth=4, cutoff=12, function="gaussian", islands="keep")
    _assert_pairs(gauss, d, d <= 12, lambda x: np.exp(-0.5 * (x / 4) ** 2))
    inv = weights.inverse_distance(gdf, power=2, cutoff=12, islands="keep")
    _assert_pairs(inv, d, d <= 12, lambda x: x**-2.0)
    assert gauss.name == "kernel(gaussian, bandwidth=4 km, cutoff=12 km)"
    assert gauss.meta["unit"] == "km" and gauss.meta["bandwidth"] == 4
    # in the CRS's own unit the distances are feet
    feet = _planar(xy)
    crs = weights.distance_band(gdf, 30_000, unit="crs", islands="keep")
    _assert_pairs(crs, feet, feet <= 30_000, np.ones_like)
    assert crs.name == "distance_band(0-30000 US survey foot)"


def test_lonlat_is_great_circle_km_whatever_the_unit():
    rng = np.random.default_rng(32)
    ll = np.column_stack([rng.uniform(5, 15, 200), rng.uniform(45, 55, 200)])
    gdf = _gdf(ll, "EPSG:4326")
    d = haversine_km(ll[:, None, 0], ll[:, None, 1], ll[None, :, 0], ll[None, :, 1])
    np.fill_diagonal(d, np.inf)
    km = weights.kernel(gdf, bandwidth=40, cutoff=120, islands="keep")
    _assert_pairs(km, d, d <= 120, lambda x: np.exp(-x / 40))
    _same(km, weights.kernel(gdf, bandwidth=40, cutoff=120, unit="crs", islands="keep"))
    raw = weights.kernel(ll, bandwidth=40, cutoff=120, metric="haversine", ids=range(200))
    _same(km, raw)
    assert km.name == "kernel(negative_exponential, bandwidth=40 km, cutoff=120 km)"
    inv = weights.inverse_distance(gdf, cutoff=100, islands="keep")
    _same(inv, weights.inverse_distance(gdf, cutoff=100, unit="crs", islands="keep"))
    with pytest.raises(SpecificationError, match="unit='crs'"):  # no 25,000 km on Earth
        weights.distance_band(gdf, 25_000)


def test_names_state_the_unit(xy):
    gdf = _gdf(xy, "EPSG:5070")
    w = weights.kernel(gdf, bandwidth=5, cutoff=15)
    assert w.name == "kernel(negative_exponential, bandwidth=5 km, cutoff=15 km)"
    assert "bandwidth=5 km, cutoff=15 km" in repr(w)
    crs = weights.kernel(gdf, bandwidth=5_000, cutoff=15_000, unit="crs")
    assert crs.name == "kernel(negative_exponential, bandwidth=5000 metre, cutoff=15000 metre)"
    assert crs.meta["unit"] == "metre"
    compact = weights.kernel(gdf, bandwidth=5, function="triangular", islands="keep")
    assert compact.name == "kernel(triangular, bandwidth=5 km)"  # cutoff = bandwidth
    assert weights.distance_band(gdf, 9).name == "distance_band(0-9 km)"
    inv = weights.inverse_distance(gdf, cutoff=20, islands="keep")
    assert inv.name == "inverse_distance(power=1, cutoff=20 km)"
    assert inv.meta == {"metric": "euclidean", "unit": "km", "power": 1.0, "cutoff": 20}


def test_same_km_bands_as_pools_by_distance_band(xy):
    gdf = _gdf(xy, "EPSG:2232")
    df = pd.DataFrame({"firm": gdf.index, "year": 2000, "k": np.arange(1.0, N + 1)})
    panel = Panel(df, entity="firm", time="year")
    pools = pools_by_distance_band(panel, "k", gdf, bands=[0, 4, 9])
    band = weights.distance_band(gdf, 9, lower=4, islands="keep")
    assert_allclose(pools["k_4_9km"], spillover_pool(panel, "k", band), rtol=1e-12)


def test_unit_mistakes_are_refused(xy):
    gdf = _gdf(xy, "EPSG:5070")
    builders = {
        "distance_band": lambda **kw: weights.distance_band(gdf, 9, **kw),
        "inverse_distance": lambda **kw: weights.inverse_distance(gdf, cutoff=9, **kw),
        "kernel": lambda **kw: weights.kernel(gdf, bandwidth=9, **kw),
    }
    for build in builders.values():
        with pytest.raises(SpecificationError, match="'km' or 'crs'"):
            build(unit="m")
    with pytest.raises(SpecificationError, match="unit='crs'"):  # metres passed as km
        weights.distance_band(gdf, 50_000)
    with pytest.raises(SpecificationError, match="20,015 km"):
        weights.distance_band(gdf, 9, lower=30_000)
    with pytest.raises(SpecificationError, match="unit='crs'"):
        weights.inverse_distance(gdf, cutoff=25_000)
    with pytest.raises(SpecificationError, match="unit='crs'"):
        weights.kernel(gdf, bandwidth=25_000, function="uniform")
    with pytest.raises(SpecificationError, match="unit='crs'"):
        weights.kernel(gdf, bandwidth=5, cutoff=30_000)


def test_raw_euclidean_arrays_need_unit_crs(xy):
    ids = range(N)
    with pytest.raises(GeographyError, match=r"no CRS.*unit='crs'"):
        weights.distance_band(xy, 9, metric="euclidean", ids=ids)
    with pytest.raises(GeographyError, match="no CRS"):
        weights.inverse_distance(xy[:20], metric="euclidean", ids=range(20))  # no cutoff
    with pytest.raises(GeographyError, match="no CRS"):
        weights.kernel(xy, bandwidth=5, cutoff=15, metric="euclidean", ids=ids)
    w = weights.distance_band(xy, 9_000, unit="crs", metric="euclidean", ids=ids, islands="keep")
    assert w.name == "distance_band(0-9000 coordinate units)"


def test_unknown_crs_unit_refused_for_km(xy):
    unknown = CRS.from_wkt(
        'ENGCRS["site grid",EDATUM["local"],CS[Cartesian,2],'
        'AXIS["x",east,ORDER[1],LENGTHUNIT["unknown",1]],'
        'AXIS["y",north,ORDER[2],LENGTHUNIT["unknown",1]]]'
    )
    gdf = _gdf(xy, unknown)
    with pytest.raises(GeographyError, match="unknown"):
        weights.kernel(gdf, bandwidth=5, cutoff=15)
    grid = weights.kernel(gdf, bandwidth=5_000, cutoff=15_000, unit="crs")
    _same(grid, weights.kernel(_gdf(xy, "EPSG:5070"), bandwidth=5, cutoff=15))


def test_bad_distances_are_reported_in_the_users_unit(xy):
    # The builders convert km to the CRS's metres internally; a refused distance must be
    # quoted as the user gave it (-2, not -2000), and a band given upside down or as NaN
    # refused before any pair search (NaN used to pass every comparison and end as a
    # misleading "no neighbours" error).
    gdf = _gdf(xy, "EPSG:5070")
    with pytest.raises(SpecificationError, match=r"cutoff must be positive, got -2 \(in 'km'"):
        weights.kernel(gdf, bandwidth=1, cutoff=-2)
    with pytest.raises(SpecificationError, match=r"got -2 \(in 'km'"):
        weights.kernel(gdf, bandwidth=1, cutoff=-2, function="triangular")
    with pytest.raises(SpecificationError, match=r"got 0 \(in 'km'"):
        weights.inverse_distance(gdf, cutoff=0)
    with pytest.raises(SpecificationError, match=r"lower=5 and threshold=3 \(in 'km'"):
        weights.distance_band(gdf, 3, lower=5)
    with pytest.raises(SpecificationError, match="threshold=nan"):
        weights.distance_band(gdf, float("nan"))
    with pytest.raises(SpecificationError, match=r"lower=-1 and threshold=3 \(in 'crs'"):
        weights.distance_band(gdf, 3, lower=-1, unit="crs")
