"""Tests for spillover.geo: attaching geometry, firm points, point-in-polygon, aggregation."""

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from spillover import AlignmentError, GeographyError, Panel, PanelError, SpecificationError
from spillover.datasets import us_states
from spillover.errors import DroppedRowsWarning, SpilloverWarning
from spillover.geo import (
    aggregate,
    assign_regions,
    attach_geometry,
    distance_coordinates,
    points_from_xy,
)

UTM = "EPSG:32633"


@pytest.fixture
def panel():
    df = pd.DataFrame(
        {
            "region": ["A", "A", "B", "B", "C", "C"],
            "year": [2000, 2001] * 3,
            "y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )
    return Panel(df, entity="region", time="year")


@pytest.fixture
def shapes():
    """Three unit squares side by side (km), keyed by 'code', in a projected CRS."""
    return gpd.GeoDataFrame(
        {"code": ["C", "A", "B"], "pop": [3, 1, 2]},
        geometry=[box(2000, 0, 3000, 1000), box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)],
        crs=UTM,
    )


@pytest.fixture(scope="module")
def states():
    return us_states()


# ---------------------------------------------------------------------- attach_geometry
def test_attach_aligns_geometry_to_entities(panel, shapes):
    out = attach_geometry(panel, shapes, on="code")
    assert out.geo.index.tolist() == ["A", "B", "C"]
    assert out.geo.index.name == "region"
    assert out.geo.loc["B", "pop"] == 2
    assert out.geo.loc["C"].geometry.equals(box(2000, 0, 3000, 1000))
    assert out.geo.crs == shapes.crs
    assert not panel.has_geometry  # input untouched
    assert "code" in shapes.columns


@pytest.mark.parametrize("name", ["regions.gpkg", "regions.parquet"])
def test_attach_reads_a_vector_file(panel, shapes, tmp_path, name):
    path = tmp_path / name
    shapes.to_parquet(path) if name.endswith(".parquet") else shapes.to_file(path)
    out = attach_geometry(panel, str(path), on="code")
    assert out.geo.index.tolist() == ["A", "B", "C"]
    assert out.geo.crs.equals(shapes.crs)


def test_attach_default_key_is_entity_name(panel, shapes):
    out = attach_geometry(panel, shapes.rename(columns={"code": "region"}))
    assert out.has_geometry


def test_unmatched_keys_on_both_sides_are_listed(panel, shapes):
    other = shapes.assign(code=["C", "A", "Z"])
    with pytest.raises(AlignmentError, match=r"'B'.*'Z'"):
        attach_geometry(panel, other, on="code")


def test_unmatched_drop_keeps_intersection_and_counts_rows(panel, shapes):
    other = shapes.assign(code=["C", "A", "Z"])
    with pytest.warns(DroppedRowsWarning) as record:
        out = attach_geometry(panel, other, on="code", unmatched="drop")
    messages = " ".join(str(w.message) for w in record)
    assert "dropped 2 rows: panel rows of 1 entities without geometry" in messages
    assert "dropped 1 rows: geometries with no panel rows" in messages
    assert out.entities.tolist() == ["A", "C"]
    assert out.nobs == 4
    assert out.geo.index.tolist() == ["A", "C"]


def test_unmatched_keep_gives_missing_geometry_that_distances_refuse(panel, shapes):
    with pytest.warns(SpilloverWarning, match="1 entities have no geometry"):
        out = attach_geometry(panel, shapes.iloc[:2], on="code", unmatched="keep")
    assert out.nobs == panel.nobs
    assert out.geo.geometry.isna().tolist() == [False, True, False]
    with pytest.raises(GeographyError, match="missing or empty"):
        distance_coordinates(out.geo)


def test_key_errors_name_the_problem(panel, shapes):
    with pytest.raises(GeographyError, match="no column 'nuts'"):
        attach_geometry(panel, shapes, on="nuts")
    with pytest.raises(GeographyError, match=r"more than one geometry row.*'A'"):
        attach_geometry(panel, shapes.assign(code=["A", "A", "B"]), on="code")
    empty = shapes.copy()
    empty.loc[0, "geometry"] = None
    with pytest.raises(GeographyError, match=r"missing or empty.*'C'"):
        attach_geometry(panel, empty, on="code")
    with pytest.raises(SpecificationError, match="unmatched='ignore'"):
        attach_geometry(panel, shapes, on="code", unmatched="ignore")


def test_key_dtype_mismatch_is_explained(shapes):
    df = pd.DataFrame({"region": [1, 2, 3], "year": [2000] * 3})
    p = Panel(df, entity="region", time="year")
    with pytest.raises(AlignmentError, match="No key matches at all"):
        attach_geometry(p, shapes, on="code")


# ---------------------------------------------------------------------- points_from_xy
def test_points_need_an_explicit_valid_crs():
    firms = pd.DataFrame({"lon": [10.0], "lat": [50.0]})
    with pytest.raises(GeographyError, match="crs is required"):
        points_from_xy(firms, x="lon", y="lat", crs=None)
    with pytest.raises(TypeError):
        points_from_xy(firms, x="lon", y="lat")  # no default CRS
    with pytest.raises(GeographyError, match="not a CRS"):
        points_from_xy(firms, x="lon", y="lat", crs="EPSG:0")


def test_points_reject_out_of_range_degrees_and_missing_coordinates():
    firms = pd.DataFrame({"x": [10.0, 512000.0], "y": [50.0, 5400000.0]}, index=["f1", "f2"])
    with pytest.raises(GeographyError, match=r"1 rows are not lon/lat.*'f2'"):
        points_from_xy(firms, x="x", y="y", crs="EPSG:4326")
    pts = points_from_xy(firms, x="x", y="y", crs=UTM)  # fine as projected metres
    assert pts.geometry.iloc[1].equals(Point(512000.0, 5400000.0))
    assert pts.index.tolist() == ["f1", "f2"]
    holes = pd.DataFrame({"x": [1.0, np.nan], "y": [1.0, 2.0]})
    with pytest.raises(GeographyError, match=r"missing or infinite.*rows 1"):
        points_from_xy(holes, x="x", y="y", crs=UTM)


# ---------------------------------------------------------------------- assign_regions
CITIES = pd.DataFrame(
    {
        "firm": ["boston", "chicago", "denver", "austin", "sacramento", "atlanta"],
        "lon": [-71.06, -87.63, -104.99, -97.74, -121.49, -84.39],
        "lat": [42.36, 41.88, 39.74, 30.27, 38.58, 33.75],
        "expected": ["MA", "IL", "CO", "TX", "CA", "GA"],
    }
)


def test_firms_at_known_cities_get_their_states(states):
    pts = points_from_xy(CITIES, x="lon", y="lat", crs="EPSG:4326")
    out = assign_regions(pts, states.geo, region_key="state")
    assert out["state"].tolist() == CITIES["expected"].tolist()
    # The same join in a projected CRS (both layers reprojected explicitly) agrees.
    out_m = assign_regions(pts.to_crs(5070), states.geo.to_crs(5070), region_key="state")
    assert out_m["state"].tolist() == CITIES["expected"].tolist()


def test_round_trip_every_state_recovers_itself(states):
    inside = states.geo.geometry.representative_point()  # guaranteed inside each polygon
    pts = gpd.GeoDataFrame({"truth": states.geo.index}, geometry=inside.to_numpy(), crs=4326)
    out = assign_regions(pts, states.geo, region_key="state")
    assert (out["state"].to_numpy() == out["truth"].to_numpy()).all()


def test_points_outside_every_region(states):
    frame = pd.concat(
        [CITIES, pd.DataFrame({"firm": ["atlantic"], "lon": [-40.0], "lat": [30.0]})],
        ignore_index=True,
    )
    pts = points_from_xy(frame, x="lon", y="lat", crs="EPSG:4326")
    with pytest.raises(GeographyError, match=r"1 points lie outside every region, e.g. rows 6"):
        assign_regions(pts, states.geo, region_key="state")
    with pytest.warns(DroppedRowsWarning, match="dropped 1 rows: points outside"):
        dropped = assign_regions(pts, states.geo, region_key="state", unmatched="drop")
    assert dropped.index.tolist() == list(range(6))
    kept = assign_regions(pts, states.geo, region_key="state", unmatched="keep")
    assert kept["state"].isna().tolist() == [False] * 6 + [True]


def test_crs_must_be_present_and_equal(shapes):
    pts = gpd.GeoDataFrame({"f": [1]}, geometry=[Point(500, 500)])
    with pytest.raises(GeographyError, match="points have no CRS"):
        assign_regions(pts, shapes, region_key="code")
    with pytest.raises(GeographyError, match="regions have no CRS"):
        # set_crs(None, allow_override=True) needs geopandas >= 1.0
        no_crs = gpd.GeoDataFrame(
            shapes.drop(columns="geometry"), geometry=np.asarray(shapes.geometry.values)
        )
        assign_regions(pts.set_crs(UTM), no_crs, region_key="code")
    with pytest.raises(GeographyError, match="Reproject one explicitly"):
        assign_regions(pts.set_crs("EPSG:32632"), shapes, region_key="code")


def test_points_on_shared_borders_get_the_first_key(shapes):
    # x=1000 is the A|B border, x=2000 the B|C border, (1000, 1000) a corner of A and B.
    pts = gpd.GeoDataFrame(
        geometry=[Point(1000, 500), Point(2000, 500), Point(1000, 1000), Point(2500, 500)],
        crs=UTM,
    )
    out = assign_regions(pts, shapes, region_key="code")
    assert out["code"].tolist() == ["A", "B", "A", "C"]


def test_region_key_may_be_the_index(panel, shapes):
    geo = attach_geometry(panel, shapes, on="code").geo  # indexed by 'region'
    pts = gpd.GeoDataFrame(geometry=[Point(1500, 10)], crs=UTM)
    assert assign_regions(pts, geo, region_key="region")["region"].tolist() == ["B"]


# ---------------------------------------------------------------------- aggregate
@pytest.fixture
def firms():
    rng = np.random.default_rng(7)
    n, years = 60, [2000, 2001, 2002]
    df = pd.DataFrame(
        {
            "firm": np.repeat(np.arange(n), len(years)),
            "year": np.tile(years, n),
            "state": np.repeat(rng.choice(["CT", "MA", "RI"], n), len(years)),
            "rd": rng.gamma(2.0, 5.0, n * len(years)),
            "emp": rng.integers(1, 500, n * len(years)).astype(float),
            "wage": rng.normal(60.0, 10.0, n * len(years)),
        }
    )
    return df


def test_aggregate_matches_pandas_groupby(firms):
    p = Panel(firms, entity="firm", time="year")
    out = aggregate(p, region="state", sum=["rd", "emp"], mean=["wage"], count="n_firms")
    g = firms.groupby(["state", "year"])
    assert out.entity_name == "state" and out.time_name == "year"
    np.testing.assert_allclose(out["rd"], g["rd"].sum().to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(out["emp"], g["emp"].sum().to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(out["wage"], g["wage"].mean().to_numpy(), rtol=1e-12)
    assert out["n_firms"].tolist() == g.size().tolist()


def test_weighted_mean_is_sum_wx_over_sum_w(firms):
    p = Panel(firms, entity="firm", time="year")
    out = aggregate(p, region="state", weighted_mean={"wage": "emp"}, count=None)
    ma = firms[(firms.state == "MA") & (firms.year == 2001)]
    expected = (ma.wage * ma.emp).sum() / ma.emp.sum()
    assert out.data.loc[("MA", 2001), "wage"] == pytest.approx(expected, rel=1e-12)
    assert list(out.columns) == ["wage"]


def test_missing_values_raise_or_are_skipped_with_counts(firms):
    firms = firms.copy()
    firms.loc[0, "rd"] = np.nan
    firms.loc[1, "emp"] = np.nan
    firms.loc[2, "state"] = None
    p = Panel(firms, entity="firm", time="year")
    spec = {"region": "state", "sum": ["rd"], "weighted_mean": {"wage": "emp"}}
    with pytest.raises(PanelError, match=r"missing values in 'state \(1\)', 'rd \(1\)'"):
        aggregate(p, **spec)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        out = aggregate(p, **spec, missing="skip")
    text = " ".join(str(w.message) for w in record)
    assert "dropped 1 rows: firm rows without 'state'" in text
    assert "rd 1, emp 1" in text
    kept = firms[firms.state.notna()]
    g = kept.groupby(["state", "year"])
    np.testing.assert_allclose(out["rd"], g["rd"].sum().to_numpy(), rtol=1e-12)
    valid = kept.dropna(subset=["emp", "wage"])
    wm = (valid.wage * valid.emp).groupby([valid.state, valid.year]).sum() / valid.groupby(
        ["state", "year"]
    )["emp"].sum()
    np.testing.assert_allclose(out["wage"], wm.to_numpy(), rtol=1e-12)
    assert out["n_firms"].tolist() == g.size().tolist()  # counts firms with missing values


def test_all_missing_sum_is_nan_not_zero():
    df = pd.DataFrame({"firm": [1, 2], "year": [2000] * 2, "r": ["X", "X"], "v": [np.nan] * 2})
    with pytest.warns(DroppedRowsWarning):
        out = aggregate(
            Panel(df, entity="firm", time="year"), region="r", sum=["v"], missing="skip"
        )
    assert np.isnan(out.data.loc[("X", 2000), "v"])


def test_aggregate_specification_errors(firms):
    p = Panel(firms, entity="firm", time="year")
    with pytest.raises(SpecificationError, match="clash: 'emp'"):
        aggregate(p, region="state", sum=["emp"], mean=["emp"])
    with pytest.raises(SpecificationError, match="no column"):
        aggregate(p, region="state", sum=["sales"])
    neg = p.assign(emp=-p["emp"])
    with pytest.raises(SpecificationError, match="weight 'emp' is negative"):
        aggregate(neg, region="state", weighted_mean={"wage": "emp"})
    with pytest.raises(SpecificationError, match="nothing to aggregate"):
        aggregate(p, region="state", count=None)
    with pytest.raises(SpecificationError, match="must be a Panel"):
        aggregate(firms, region="state", sum=["rd"])


def test_zero_total_weight_gives_nan_with_warning():
    df = pd.DataFrame(
        {"firm": [1, 2], "year": [2000] * 2, "r": ["X", "X"], "w": [0.0, 0.0], "v": [1.0, 2.0]}
    )
    with pytest.warns(DroppedRowsWarning, match="sum to zero in 1 region-years"):
        out = aggregate(Panel(df, entity="firm", time="year"), region="r", weighted_mean={"v": "w"})
    assert np.isnan(out.data.loc[("X", 2000), "v"])


def test_full_pipeline_points_to_regional_panel(states, firms):
    """Firms placed inside given states end up in those states' rows of the region panel."""
    inside = states.geo.geometry.representative_point()
    firms = firms.drop(columns="state")
    firm_state = np.resize(np.array(["CT", "MA", "RI", "NY"]), firms.firm.nunique())
    firms["true_state"] = firm_state[firms.firm]
    firms["lon"] = inside.x.reindex(firms.true_state).to_numpy()
    firms["lat"] = inside.y.reindex(firms.true_state).to_numpy()
    pts = assign_regions(
        points_from_xy(firms, x="lon", y="lat", crs="EPSG:4326"), states.geo, region_key="state"
    )
    assert (pts["state"] == pts["true_state"]).all()
    out = aggregate(
        Panel(pts, entity="firm", time="year"), region="state", sum=["rd"], regions=states.geo
    )
    assert out.geo.index.tolist() == ["CT", "MA", "NY", "RI"]
    assert out.geo.crs.equals(states.geo.crs)
    expected = firms.groupby(["true_state", "year"])["rd"].sum()
    np.testing.assert_allclose(out["rd"], expected.to_numpy(), rtol=1e-12)
