"""Units of pools_by_distance_band edges: km on any CRS, CRS units on request, brute force."""

from itertools import pairwise

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from pyproj import CRS

from spillover import Panel
from spillover.errors import GeographyError, SpecificationError
from spillover.measures import pools_by_distance_band

N, T = 40, 3
IDS = [f"f{i:02d}" for i in range(N)]
US_FOOT_M = 1200 / 3937  # metres per US survey foot, by its definition


def _panel(seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {"firm": np.repeat(IDS, T), "year": np.tile(np.arange(2000, 2000 + T), N)}
    ).assign(k=rng.gamma(2.0, 3.0, N * T))
    return Panel(df.sample(frac=0.8, random_state=seed), entity="firm", time="year")


def _points(crs, seed=3):
    """Firms scattered over ~40 x 40 km around Denver, in ``crs``."""
    rng = np.random.default_rng(seed)
    lonlat = gpd.GeoSeries(
        gpd.points_from_xy(rng.uniform(-105.2, -104.75, N), rng.uniform(39.55, 39.9, N)),
        index=IDS,
        crs="EPSG:4326",
    )
    return lonlat.to_crs(crs)


def _brute(panel, dist_km, lo, hi):
    """S_it = sum of K_jt over other firms j present in t with lo < d_ij <= hi (0 included)."""
    k = panel.data["k"]
    out = []
    for (firm, year), _ in k.items():
        i = IDS.index(firm)
        out.append(
            sum(
                k[(other, year)]
                for j, other in enumerate(IDS)
                if j != i
                and (other, year) in k.index
                and (dist_km[i, j] > lo or lo == 0)
                and dist_km[i, j] <= hi
            )
        )
    return np.array(out)


def _planar_km(pts, metres_per_unit):
    x, y = pts.x.to_numpy(), pts.y.to_numpy()
    return np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) * metres_per_unit / 1000


def test_km_edges_on_metre_crs_equal_metre_edges_and_brute_force():
    panel, pts = _panel(), _points("EPSG:5070")
    km = pools_by_distance_band(panel, "k", pts, bands=[0, 5, 12.5, 30])
    metres = pools_by_distance_band(panel, "k", pts, bands=[0, 5_000, 12_500, 30_000], unit="crs")
    assert list(km.columns) == ["k_0_5km", "k_5_12.5km", "k_12.5_30km"]
    assert list(metres.columns) == ["k_0_5000", "k_5000_12500", "k_12500_30000"]
    assert_array_equal(km.to_numpy(), metres.to_numpy())  # same edges after x 1000: exact
    d = _planar_km(pts, 1.0)
    for (lo, hi), col in zip(pairwise([0, 5, 12.5, 30]), km.columns, strict=True):
        ref = _brute(panel, d, lo, hi)
        assert (ref > 0).any()  # the band is populated, so the comparison can fail
        # sums of the same stocks in another order: rounding only
        assert_allclose(km[col].to_numpy(), ref, rtol=1e-12)


def test_km_edges_on_us_survey_feet_crs_match_brute_force():
    panel, pts = _panel(seed=1), _points("EPSG:2232")  # NAD83 / Colorado Central (ftUS)
    assert pts.crs.axis_info[0].unit_name == "US survey foot"
    got = pools_by_distance_band(panel, "k", pts, bands=[0, 4, 10, 25])
    d = _planar_km(pts, US_FOOT_M)  # independent conversion from the unit's definition
    for (lo, hi), col in zip(pairwise([0, 4, 10, 25]), got.columns, strict=True):
        ref = _brute(panel, d, lo, hi)
        assert (ref > 0).any()
        assert_allclose(got[col].to_numpy(), ref, rtol=1e-12)
    # the same edges written in feet, in the CRS's own units
    feet = [e * 1000 / US_FOOT_M for e in (0, 4, 10, 25)]
    in_feet = pools_by_distance_band(panel, "k", pts, bands=feet, unit="crs")
    assert_allclose(in_feet.to_numpy(), got.to_numpy(), rtol=1e-12)


def test_lonlat_km_edges_are_unchanged_by_unit():
    panel, pts = _panel(seed=2), _points("EPSG:4326")
    km = pools_by_distance_band(panel, "k", pts, bands=[0, 10, 20])
    crs = pools_by_distance_band(panel, "k", pts, bands=[0, 10, 20], unit="crs")
    assert_array_equal(km.to_numpy(), crs.to_numpy())
    assert list(crs.columns) == ["k_0_10", "k_10_20"]


def test_unknown_units_and_unit_mistakes_are_refused():
    panel = _panel()
    pts = _points("EPSG:5070")
    unknown = CRS.from_wkt(
        'ENGCRS["site grid",EDATUM["local"],CS[Cartesian,2],'
        'AXIS["x",east,ORDER[1],LENGTHUNIT["unknown",1]],'
        'AXIS["y",north,ORDER[2],LENGTHUNIT["unknown",1]]]'
    )
    local = pts.set_crs(unknown, allow_override=True)
    with pytest.raises(GeographyError, match="unknown"):
        pools_by_distance_band(panel, "k", local, bands=[0, 5])
    # in the grid's own units it is the user's call, and works
    assert_array_equal(
        pools_by_distance_band(panel, "k", local, bands=[0, 5_000], unit="crs").to_numpy(),
        pools_by_distance_band(panel, "k", pts, bands=[0, 5]).to_numpy(),
    )
    with pytest.raises(SpecificationError, match="unit='crs'"):  # metre edges passed as km
        pools_by_distance_band(panel, "k", pts, bands=[0, 10_000, 50_000])
    with pytest.raises(SpecificationError, match="'km' or 'crs'"):
        pools_by_distance_band(panel, "k", pts, bands=[0, 5], unit="m")
    table = pd.DataFrame({"x": pts.x, "y": pts.y})
    with pytest.raises(GeographyError, match="no CRS"):
        pools_by_distance_band(panel, "k", table, bands=[0, 5], metric="euclidean")
