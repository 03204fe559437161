"""What a journal checks on a figure, asserted on the matplotlib objects.

Map legends name the class intervals and the mapclassify scheme (the limits are compared
with mapclassify run here on the same values) and sit outside the polygons, on the US and
the Mexican states; signed data get a diverging palette symmetric around zero; longitude/
latitude geometry is drawn in an equal-area projection (pyproj's method name); LISA maps
state alpha and permutations; every plot labels its axes.
"""

from __future__ import annotations

import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
import pytest
from matplotlib.transforms import Bbox

from spillover import datasets, measures, weights
from spillover.report import (
    choropleth,
    coef_plot,
    distance_decay_plot,
    effects_plot,
    lisa_map,
    moran_scatter,
)
from spillover.report._maps import equal_area_crs, lonlat_extent
from tests.report.conftest import make_results

EQUAL_AREA = {"Albers Equal Area", "Lambert Azimuthal Equal Area"}


@pytest.fixture(scope="module")
def us():
    return datasets.us_states()


@pytest.fixture(scope="module")
def mexico():
    return datasets.mexico()


def _polygon_boxes(ax) -> list[Bbox]:
    return [
        path.transformed(c.get_transform()).get_extents()
        for c in ax.collections
        for path in c.get_paths()
    ]


def _legend_clear_of_data(fig) -> None:
    fig.canvas.draw()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1  # outside the axes, to the right
    assert not any(legend.overlaps(box) for box in _polygon_boxes(ax))


@pytest.mark.parametrize(
    "which, column, period", [("us", "unemp", 1986), ("mexico", "pcgdp", 2000)]
)
def test_map_legend_lists_intervals_and_scheme_outside_the_polygons(request, which, column, period):
    panel = request.getfixturevalue(which)
    fig = choropleth(panel, column, period=period, scheme="fisher_jenks", k=4, units="USD")
    legend = fig.axes[0].get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    values = panel[column].xs(period, level=1).to_numpy(float)
    bins = mapclassify.FisherJenks(values, k=4).bins
    lower = [values.min(), *bins[:-1]]
    expected = [
        f"{'[' if i == 0 else '('}{lo:.2f}, {hi:.2f}]"
        for i, (lo, hi) in enumerate(zip(lower, bins, strict=True))
    ]
    assert texts == expected
    title = legend.get_title().get_text()
    assert title == f"{column} (USD)\nFisher jenks, 4 classes (mapclassify)"
    _legend_clear_of_data(fig)


def test_lonlat_is_drawn_equal_area(mexico):
    fig = choropleth(mexico, "pcgdp", period=2000)
    crs = equal_area_crs(mexico.geo.total_bounds)
    assert not crs.is_geographic
    assert crs.coordinate_operation.method_name in EQUAL_AREA
    x0, _, x1, _ = mexico.geo.to_crs(crs).total_bounds
    xlim = fig.axes[0].get_xlim()
    assert xlim[0] <= x0 and xlim[1] >= x1 and x1 - x0 > 1e6  # metres, not degrees
    # a CRS given by the user wins
    fig = choropleth(mexico, "pcgdp", period=2000, to_crs="EPSG:6372")
    bx0, _, bx1, _ = mexico.geo.to_crs("EPSG:6372").total_bounds
    assert fig.axes[0].get_xlim()[0] <= bx0 < bx1 <= fig.axes[0].get_xlim()[1]


@pytest.mark.parametrize(
    "bounds, method",
    [
        ((-125, 24, -66, 50), "Albers Equal Area"),  # conterminous US
        ((-118, 14, -86, 33), "Albers Equal Area"),  # Mexico
        ((-20, -35, 52, 38), "Lambert Azimuthal Equal Area"),  # Africa: both hemispheres
    ],
)
def test_equal_area_projection_for_the_extent(bounds, method):
    crs = equal_area_crs(bounds)
    assert crs.coordinate_operation.method_name == method
    params = {p.name: p.value for p in crs.coordinate_operation.params}
    origin = "Longitude of false origin" if "Albers" in method else "Longitude of natural origin"
    assert params[origin] == pytest.approx((bounds[0] + bounds[2]) / 2)


def test_data_across_the_antimeridian_are_centred_on_it():
    """Islands on both sides of 180 degrees (Fiji-like): the extent is the short arc (6
    degrees wide, not 360), the projection is centred near 180 and the drawn map is as
    compact as the same islands shifted away from the antimeridian."""
    from shapely.geometry import box

    def islands(a, b):
        return gpd.GeoSeries([box(a, -19, a + 3.9, -16), box(b, -19, b + 1.9, -16)], crs=4326)

    fiji = islands(176, -179.9)
    west, south, east, north = lonlat_extent(fiji)
    assert (west, east) == pytest.approx((176, 182)) and (south, north) == (-19, -16)
    crs = equal_area_crs((west, south, east, north))
    params = {p.name: p.value for p in crs.coordinate_operation.params}
    assert params["Longitude of false origin"] == pytest.approx(179)
    width = np.ptp(fiji.to_crs(crs).total_bounds[[0, 2]])
    moved = islands(156, 160.1)  # the same islands 20 degrees west: no antimeridian
    moved_width = np.ptp(moved.to_crs(equal_area_crs(lonlat_extent(moved))).total_bounds[[0, 2]])
    assert width == pytest.approx(moved_width, rel=1e-6)  # same shape, same projected size
    # and data away from 180 keep the plain bounds
    assert lonlat_extent(moved)[::2] == pytest.approx((156, 162))


def test_signed_data_get_a_diverging_palette_centred_at_zero(mexico):
    growth = np.log(mexico["pcgdp"]).groupby(level=0).diff()
    panel = mexico.assign(growth=growth - growth.xs(2000, level=1).median())
    fig = choropleth(panel, "growth", period=2000, k=5)
    polygons = fig.axes[0].collections[-1]
    assert polygons.cmap.name == "RdBu_r"
    assert polygons.norm.vmin == -polygons.norm.vmax
    # classes coloured by side of zero: blue below, the palette's centre across, red above
    legend = fig.axes[0].get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    # negative limits print with a true minus sign (U+2212), as the tables do
    assert any("\u2212" in t for t in texts) and not any("-" in t for t in texts)
    bounds = [t.replace("\u2212", "-").strip("[(]").split(", ") for t in texts]
    for (lo, hi), patch in zip(bounds, legend.legend_handles, strict=True):
        r, _, b, _ = patch.get_facecolor()
        if float(hi) <= 0:
            assert b > r
        elif float(lo) >= 0:
            assert r > b
        else:
            assert patch.get_facecolor() == pytest.approx(polygons.cmap(0.5))
    # unsigned data: sequential
    fig = choropleth(mexico, "pcgdp", period=2000)
    assert fig.axes[0].collections[-1].cmap.name == "viridis"
    # continuous colour bar: symmetric too, labelled with units and base year
    fig = choropleth(panel, "growth", period=2000, scheme=None, units="log points",
                     base_year=1993)  # fmt: skip
    mappable = fig.axes[0].collections[-1]
    assert mappable.norm.vmin == -mappable.norm.vmax and mappable.cmap.name == "RdBu_r"
    assert fig.axes[1].get_ylabel() == "growth (log points, base year 1993)"


def test_source_note_under_the_map(us):
    fig = choropleth(us, "unemp", period=1986, source="Munnell (1990)")
    notes = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "source"]
    assert notes == ["Source: Munnell (1990)"]


def test_lisa_map_states_alpha_and_permutations(us):
    w = weights.queen(us).row_standardize()
    clusters = measures.lisa(us, "unemp", w, period=1986, permutations=199, alpha=0.1, seed=1)
    fig = lisa_map(us, clusters["cluster"])
    ax = fig.axes[0]
    assert "p \u2264 0.1, 199 conditional permutations" in ax.get_title()
    assert "199 conditional permutations" in ax.get_legend().get_title().get_text()
    _legend_clear_of_data(fig)
    with pytest.raises(ValueError, match="alpha= and permutations="):
        lisa_map(us, pd.Series("ns", index=us.geo.index))


def test_every_plot_labels_its_axes():
    a = make_results({"x": 0.2, "z": 0.1}, [0.1, 0.05], model="A", dependent="y")
    eff = pd.DataFrame({"variable": ["x"] * 3, "effect": ["direct", "indirect", "total"],
                        "estimate": [1.0, 0.5, 1.5], "lower": [0.8, 0.1, 1.0],
                        "upper": [1.2, 0.9, 2.0]})  # fmt: skip
    eff.attrs["level"] = 0.9
    fig = effects_plot(eff)
    assert fig.axes[0].get_xlabel() == "effect (estimate and 90% interval)"
    fig.canvas.draw()
    ax = fig.axes[0]
    below = ax.get_legend().get_window_extent().y1 <= ax.get_window_extent().y0
    assert below  # the legend sits under the axes, clear of the intervals
    assert effects_plot(eff, xlabel="effect on log output").axes[0].get_xlabel() == (
        "effect on log output"
    )
    assert coef_plot([a], ["x", "z"], xlabel="elasticity").axes[0].get_xlabel() == "elasticity"
    bands = make_results({"p0_50": 0.3, "p50_100": 0.1}, [0.05, 0.05], model="A", dependent="y")
    ax = distance_decay_plot(bands, {"p0_50": (0, 50), "p50_100": (50, 100)}).axes[0]
    assert ax.get_xlabel() == "distance band midpoint (km)" and ax.get_ylabel()


def test_moran_scatter_labels_both_axes(us):
    w = weights.queen(us).row_standardize()
    values = us["unemp"].xs(1986, level=1).rename("unemployment")
    ax = moran_scatter(values, w).axes[0]
    assert ax.get_xlabel() == "unemployment (standardised)"
    assert ax.get_ylabel() == "spatial lag of unemployment (standardised)"
