import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely

from spillover import Panel
from spillover.report import figures
from spillover.weights import Weights

from .conftest import make_results


@pytest.fixture(scope="module")
def states():
    geo = gpd.read_file(libpysal.examples.get_path("us48.shp")).set_crs("EPSG:4326")
    geo = geo.set_index("STATE_ABBR")
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {"st": np.repeat(geo.index, 2), "yr": np.tile([2000, 2001], 48), "v": rng.normal(size=96)}
    )
    return Panel(df, entity="st", time="yr", geo=geo)


def test_choropleth_draws_every_polygon(states, tmp_path):
    fig = figures.choropleth(states, "v", period=2001, k=4)
    ax = fig.axes[0]
    # geopandas draws one collection per class and one path per geometry (a compound path
    # for a MultiPolygon, geopandas >= 1.0) or per polygon part (0.14)
    paths = sum(len(c.get_paths()) for c in ax.collections)
    parts = int(shapely.get_num_geometries(states.geo.geometry.values).sum())
    assert len(states.geo) == 48 and paths in (48, parts)
    paths = figures.save_figure(fig, tmp_path / "map")
    assert [p.suffix for p in paths] == [".pdf", ".png"] and all(
        p.stat().st_size > 0 for p in paths
    )


def test_saved_figures_are_deterministic(states, tmp_path):
    for name in ("a", "b"):
        figures.save_figure(figures.choropleth(states, "v", period=2000), tmp_path / name)
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_choropleth_unknown_period(states):
    with pytest.raises(ValueError, match="1999"):
        figures.choropleth(states, "v", period=1999)


def test_lisa_map_counts(states):
    labels = pd.Series(["HH"] * 5 + ["LL"] * 3 + ["ns"] * 40, index=states.geo.index)
    fig = figures.lisa_map(states, labels, alpha=0.05, permutations=999)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "HH (5)" in legend and "LL (3)" in legend and "ns (40)" in legend
    with pytest.raises(ValueError, match="XX"):
        figures.lisa_map(states, labels.replace("HH", "XX"), alpha=0.05, permutations=999)


def test_moran_scatter_slope_is_morans_i():
    import esda

    w = libpysal.weights.lat2W(6, 6)
    w.transform = "r"
    rng = np.random.default_rng(1)
    y = pd.Series(rng.normal(size=36), index=w.id_order, name="y")
    ours = Weights.from_libpysal(w)
    fig = figures.moran_scatter(y, ours)
    assert len(fig.axes[0].collections[0].get_offsets()) == 36
    slope = float(fig.axes[0].get_title().split("slope ")[1].rstrip(")"))
    # the title prints three decimals: half a unit of the last one
    assert slope == pytest.approx(esda.Moran(y.to_numpy(), w, permutations=0).I, abs=5e-4)


def test_coef_effects_and_decay_plots():
    a = make_results({"x": 0.2, "z": 0.1}, [0.1, 0.05], model="A", dependent="y")
    b = make_results({"x": 0.3}, [0.1], model="B", dependent="y")
    fig = figures.coef_plot([a, b], ["x", "z"])
    points = sum(len(line.get_xdata()) for line in fig.axes[0].lines if line.get_marker() == "o")
    assert points == 3  # x and z from A, x from B
    eff = pd.DataFrame(
        {
            "variable": ["x"] * 3,
            "effect": ["direct", "indirect", "total"],
            "estimate": [1.0, 0.5, 1.5],
            "lower": [0.8, 0.1, 1.0],
            "upper": [1.2, 0.9, 2.0],
        }
    )
    fig = figures.effects_plot(eff)
    assert sum(len(line.get_xdata()) for line in fig.axes[0].lines if line.get_marker() == "o") == 3
    bands = make_results({"p0_50": 0.3, "p50_100": 0.1}, [0.05, 0.05], model="A", dependent="y")
    fig = figures.distance_decay_plot(bands, {"p0_50": (0, 50), "p50_100": (50, 100)})
    np.testing.assert_allclose(fig.axes[0].lines[0].get_xdata(), [25, 75])
    with pytest.raises(ValueError, match="p100"):
        figures.distance_decay_plot(bands, {"p100": (100, 200)})


def test_weights_ids_must_match_values():
    w = Weights(sp.csr_array(np.ones((2, 2)) - np.eye(2)), pd.Index(["a", "b"]))
    with pytest.raises(ValueError, match="no value"):
        figures.moran_scatter(pd.Series([1.0], index=["a"]), w)


def test_coef_plot_marks_reference_values():
    a = make_results({"x": 0.2, "z": 0.1}, [0.1, 0.05], model="A", dependent="y")
    fig = figures.coef_plot([a], ["x", "z"], reference={"x": 0.25})
    from matplotlib.collections import PathCollection

    crosses = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    assert len(crosses) == 1
    np.testing.assert_allclose(crosses[0].get_offsets(), [[0.25, 0.0]])
    assert "true value" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
