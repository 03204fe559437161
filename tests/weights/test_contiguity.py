"""Contiguity weights against libpysal's shipped GAL file and its own constructors."""

import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd
import pytest
from libpysal import weights as lw
from shapely.geometry import Point, box

from spillover import weights
from spillover.errors import GeographyError, WeightsError
from spillover.weights import DisconnectedWeightsWarning


@pytest.fixture(scope="module")
def states():
    return gpd.read_file(libpysal.examples.get_path("us48.shp"))


def _edges(w):
    m = w.matrix.tocoo()
    return {(w.ids[i], w.ids[j]) for i, j in zip(m.row, m.col, strict=True)}


def test_queen_us_states_equals_shipped_states48_gal(states):
    # states48.gal numbers the states 0..47 in the row order of usjoin.csv (alphabetical by
    # name; e.g. 0 = Alabama with neighbours 7, 8, 21, 39 = FL, GA, MS, TN), not in the
    # shapefile's order, so both sides are translated to state names. Exact set equality.
    gal = libpysal.io.open(libpysal.examples.get_path("states48.gal")).read()
    names = pd.read_csv(libpysal.examples.get_path("usjoin.csv"))["Name"]
    expected = {(names[int(i)], names[int(j)]) for i, nbrs in gal.neighbors.items() for j in nbrs}
    w = weights.queen(states.set_index("STATE_NAME"))
    assert _edges(w) == expected
    assert w.n == 48 and w.nnz == 214 and w.is_symmetric
    assert w.ids.name == "STATE_NAME"


def test_queen_and_rook_match_libpysal_constructors(states):
    # the shapefile has no rook-only difference for states (Four Corners is the one
    # corner-only touch: AZ-CO and NM-UT are queen but not rook neighbours)
    gdf = states.set_index("STATE_ABBR")
    for ours, ref in [(weights.queen(gdf), lw.Queen), (weights.rook(gdf), lw.Rook)]:
        theirs = ref.from_dataframe(gdf, use_index=True)
        expected = {(i, j) for i, nbrs in theirs.neighbors.items() for j in nbrs}
        assert _edges(ours) == expected
    queen_only = _edges(weights.queen(gdf)) - _edges(weights.rook(gdf))
    assert queen_only == {("AZ", "CO"), ("CO", "AZ"), ("NM", "UT"), ("UT", "NM")}


def test_panel_geometry_is_accepted(states):
    from spillover import Panel

    gdf = states.set_index("STATE_ABBR")[["geometry"]]
    df = pd.DataFrame({"state": np.repeat(gdf.index, 2), "year": [2000, 2001] * 48, "y": 1.0})
    panel = Panel(df, entity="state", time="year", geo=gdf)
    w = weights.queen(panel)
    assert set(w.ids) == set(panel.entities)
    assert w.align(panel).ids.equals(panel.entities)


@pytest.mark.parametrize("cumulative", [False, True])
@pytest.mark.parametrize("k", [2, 3])
def test_higher_order_matches_libpysal(states, k, cumulative):
    gdf = states.set_index("STATE_ABBR")
    ref = lw.higher_order(lw.Queen.from_dataframe(gdf, use_index=True), k, lower_order=cumulative)
    expected = {(i, j) for i, nbrs in ref.neighbors.items() for j in nbrs}
    ours = weights.queen(gdf, order=k, cumulative=cumulative)
    assert _edges(ours) == expected
    assert _edges(weights.higher_order(weights.queen(gdf), k, cumulative=cumulative)) == expected


def test_higher_order_on_a_line_by_hand():
    strip = gpd.GeoSeries([box(x, 0, x + 1, 1) for x in range(5)], index=list("abcde"))
    with pytest.warns(DisconnectedWeightsWarning):  # a-c-e and b-d never meet at order 2
        w2 = weights.higher_order(weights.rook(strip), 2)
    assert _edges(w2) == {("a", "c"), ("c", "a"), ("b", "d"), ("d", "b"), ("c", "e"), ("e", "c")}


def _with_island():
    cells = [box(x, y, x + 1, y + 1) for y in range(2) for x in range(2)]
    return gpd.GeoSeries([*cells, box(10, 10, 11, 11)], index=["a", "b", "c", "d", "far"])


def test_island_raises_by_default_and_names_it():
    with pytest.raises(WeightsError, match="'far'"):
        weights.queen(_with_island())


def test_island_keep_and_drop():
    kept = weights.queen(_with_island(), islands="keep")
    assert list(kept.islands) == ["far"] and kept.n == 5
    with pytest.warns(UserWarning, match="dropped 1 rows"):
        dropped = weights.queen(_with_island(), islands="drop")
    assert list(dropped.ids) == ["a", "b", "c", "d"]


def test_disconnected_groups_are_warned():
    two = [box(0, 0, 1, 1), box(1, 0, 2, 1), box(5, 0, 6, 1), box(6, 0, 7, 1)]
    with pytest.warns(DisconnectedWeightsWarning, match="2 disconnected groups"):
        w = weights.rook(gpd.GeoSeries(two, index=[1, 2, 3, 4]))
    assert w.components().tolist() == [0, 0, 1, 1]


def test_points_and_duplicate_ids_are_refused():
    with pytest.raises(GeographyError, match="polygons"):
        weights.queen(gpd.GeoSeries([Point(0, 0), Point(1, 1)], index=[1, 2]))
    with pytest.raises(WeightsError, match="duplicate"):
        weights.queen(gpd.GeoSeries([box(0, 0, 1, 1), box(1, 0, 2, 1)], index=[1, 1]))
    with pytest.raises(GeographyError, match="GeoDataFrame"):
        weights.queen(np.zeros((3, 2)))


def test_higher_order_keeps_islands_as_ids():
    strip = [box(x, 0, x + 1, 1) for x in range(3)]
    cells = gpd.GeoSeries([*strip, box(9, 9, 10, 10)], index=["a", "b", "c", "far"])
    first = weights.rook(cells, islands="keep")
    second = weights.higher_order(first, 2, islands="keep")
    assert list(second.ids) == ["a", "b", "c", "far"]
    assert _edges(second) == {("a", "c"), ("c", "a")}
    assert set(second.islands) == {"b", "far"}


def test_polygons_reduced_to_points_for_distance_weights(states):
    # us48.shp ships without a CRS: distance weights refuse it until one is set
    with pytest.raises(GeographyError, match="no CRS"):
        weights.knn(states.set_index("STATE_ABBR"), 4)
    gdf = states.set_index("STATE_ABBR").set_crs("EPSG:4326")
    w = weights.knn(gdf, 4)
    pts = gdf.geometry.representative_point()
    lon, lat = pts.x.to_numpy(), pts.y.to_numpy()
    from spillover.weights._distance import haversine_km

    d = haversine_km(lon[:, None], lat[:, None], lon[None, :], lat[None, :])
    np.fill_diagonal(d, np.inf)
    expected = {(gdf.index[i], gdf.index[j]) for i in range(48) for j in np.argsort(d[i])[:4]}
    assert _edges(w) == expected and w.meta["unit"] == "km"


def test_queen_on_bundled_us_states_panel_equals_states48_gal():
    from spillover import datasets

    panel = datasets.us_states()
    w = weights.queen(panel)
    assert w.ids.equals(panel.entities)  # panel order, ready for the estimators
    gal = libpysal.io.open(libpysal.examples.get_path("states48.gal")).read()
    names = pd.read_csv(libpysal.examples.get_path("usjoin.csv"))["Name"]
    abbr = dict(zip(panel.geo["name"], panel.geo.index, strict=True))
    expected = {
        (abbr[names[int(i)]], abbr[names[int(j)]])
        for i, nbrs in gal.neighbors.items()
        for j in nbrs
    }
    assert _edges(w) == expected


def test_point_builders_accept_a_panel_with_geometry():
    from spillover import datasets

    panel = datasets.us_states()  # EPSG:4326 polygons -> representative points, km
    w = weights.knn(panel, 4)
    assert w.ids.equals(panel.entities) and w.meta["metric"] == "haversine"
    with pytest.raises(WeightsError, match="'AZ', 'FL'"):  # big states: centres > 500 km apart
        weights.distance_band(panel, 500.0)
    band = weights.distance_band(panel, 800.0)
    assert band.is_symmetric and band.meta["unit"] == "km"
