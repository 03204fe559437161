import matplotlib

matplotlib.use("Agg")

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.legend import Legend
from matplotlib.patches import FancyArrowPatch
from semopy.examples import holzinger39

from spillover import report, simulate
from spillover.errors import AlignmentError, SpecificationError
from spillover.networks import core_periphery, degree
from spillover.report import network_map, path_diagram, scree_plot
from spillover.report._maps import equal_area_crs
from spillover.report.figures import save_figure
from spillover.survey import Mediation, cfa, parallel_analysis, sem

HS = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
MINUS = "\N{MINUS SIGN}"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def questionnaire():
    return simulate.cluster_survey(300, seed=3, missing_rate=0.0, straightliner_rate=0.0)


@pytest.fixture(scope="module")
def survey(questionnaire):
    """Construct scores of the simulated cluster-learning questionnaire (items averaged)."""
    book = questionnaire.codebook.set_index("item")
    items = questionnaire.responses.drop(columns="firm_id")
    scores = {
        c: items[book.index[book["construct"] == c]].mean(axis=1)
        for c in book["construct"].unique()
    }
    return pd.DataFrame(scores).assign(size=np.random.default_rng(0).normal(size=300))


@pytest.fixture(scope="module")
def serial(survey):
    model = Mediation(
        survey, x="environment", mediators=["transfer", "harvest"], y="spillover",
        covariates=["size"], kind="serial",
    )  # fmt: skip
    return model.fit(bootstrap=200, seed=1)


@pytest.fixture(scope="module")
def hs_cfa():
    return cfa(holzinger39.get_data(), HS)


@pytest.fixture(scope="module")
def latent_sem(questionnaire):
    """Environment -> transfer -> spillover, each construct measured by its Likert items."""
    book = questionnaire.codebook
    measured = {
        c: " + ".join(book.loc[book["construct"] == c, "item"])
        for c in ("environment", "transfer", "spillover")
    }
    text = "\n".join(f"{c} =~ {items}" for c, items in measured.items())
    text += "\ntransfer ~ environment\nspillover ~ transfer + environment"
    return sem(text, questionnaire.responses)


@pytest.fixture(scope="module")
def simulated_firms():
    firms = simulate.firms(60, 2, seed=2)
    net = simulate.knowledge_network(60, seed=2).network()
    return firms, net


def _arrows(fig):
    return [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]


def _labels(fig):
    """Arrow label texts by (source, target)."""
    out = {}
    for t in fig.axes[0].texts:
        gid = t.get_gid() or ""
        if gid.startswith("path:"):
            source, target = gid[5:].split("->")
            out[source, target] = t.get_text()
    return out


def _legends(ax):
    return {a.get_gid(): a for a in ax.get_children() if isinstance(a, Legend)}


def _formatted(value, pvalue, digits=2):
    text = f"{value:.{digits}f}".replace("-", MINUS)
    return text + "*" * sum(pvalue < t for t in (0.1, 0.05, 0.01))


def test_mediation_arrows_and_labels_are_the_fitted_paths(serial):
    fig = path_diagram(serial)
    paths = [n for n in serial.params.index if n.split(":")[0] in ("a", "b", "c'", "d")]
    assert len(paths) == 6  # a1, a2, d21, b1, b2, c'
    assert len(_arrows(fig)) == len(paths)
    want = {}
    for name in paths:
        source, target = name.split(": ")[1].split(" -> ")
        want[source, target] = _formatted(serial.params[name], serial.pvalues[name])
    assert _labels(fig) == want


def test_mediation_layout_and_caption(serial):
    fig = path_diagram(serial)
    where = {t.get_gid()[5:]: t.get_position() for t in fig.axes[0].texts
             if (t.get_gid() or "").startswith("node:")}  # fmt: skip
    # x left, y right, mediators chained between them in causal order
    assert where["environment"][0] < where["transfer"][0] < where["harvest"][0]
    assert where["harvest"][0] < where["spillover"][0]
    caption = next(t for t in fig.axes[0].texts if t.get_gid() == "caption").get_text()
    row = serial.indirect.loc["total indirect"]
    assert f"total indirect: {row['estimate']:.2f} [{row['lower']:.2f}, {row['upper']:.2f}]" in (
        caption.replace(MINUS, "-")
    )
    assert "95% percentile bootstrap interval" in caption and "N = 300" in caption
    assert "* p<0.1, ** p<0.05, *** p<0.01" in caption


def test_parallel_mediators_are_stacked(survey):
    res = Mediation(
        survey, x="environment", mediators=["transfer", "transformation", "harvest"],
        y="spillover",
    ).fit(bootstrap=0)  # fmt: skip
    fig = path_diagram(res)
    assert len(_arrows(fig)) == 3 + 3 + 1
    where = {t.get_gid()[5:]: t.get_position() for t in fig.axes[0].texts
             if (t.get_gid() or "").startswith("node:")}  # fmt: skip
    xs = {where[m][0] for m in ("transfer", "transformation", "harvest")}
    assert len(xs) == 1 and where["transfer"][1] > where["harvest"][1]


def test_sem_structural_paths_standardized(latent_sem):
    fig = path_diagram(latent_sem)
    reg = latent_sem.estimates[latent_sem.estimates["op"] == "~"]
    assert len(_arrows(fig)) == len(reg) == 3
    want = {(r.rhs, r.lhs): _formatted(r.std_all, r.pvalue) for r in reg.itertuples()}
    assert _labels(fig) == want
    ellipses = [t.get_bbox_patch().get_boxstyle().__class__.__name__ for t in fig.axes[0].texts
                if t.get_gid().startswith("node:")]  # fmt: skip
    assert ellipses == ["Ellipse"] * 3
    loadings = latent_sem.estimates[latent_sem.estimates["op"] == "=~"]
    fig = path_diagram(latent_sem, measurement=True)
    assert len(_arrows(fig)) == len(reg) + len(loadings)
    raw = path_diagram(latent_sem, standardized=False, digits=3)
    assert _labels(raw) == {
        (r.rhs, r.lhs): _formatted(r.estimate, r.pvalue, 3) for r in reg.itertuples()
    }


def test_cfa_draws_loadings_and_optional_covariances(hs_cfa):
    fig = path_diagram(hs_cfa)  # a CFA has no regressions: loadings by default
    assert len(_arrows(fig)) == 9
    labels = _labels(fig)
    assert labels["visual", "x1"] == "0.77"  # fixed marker: no stars
    assert labels["visual", "x2"] == "0.42***"  # lavaan's std.all 0.424
    fig = path_diagram(hs_cfa, covariances=True)
    assert len(_arrows(fig)) == 12
    doubles = [a for a in _arrows(fig) if a.get_arrowstyle().__class__.__name__ == "CurveFilledAB"]
    assert len(doubles) == 3


def test_labels_do_not_overlap_nodes(serial, hs_cfa):
    for fig in (path_diagram(serial), path_diagram(hs_cfa, covariances=True)):
        renderer = fig.canvas.get_renderer()
        fig.draw(renderer)
        texts = fig.axes[0].texts
        nodes = [t.get_bbox_patch().get_window_extent(renderer) for t in texts
                 if t.get_gid().startswith("node:")]  # fmt: skip
        labels = [t.get_window_extent(renderer) for t in texts if t.get_gid().startswith("path:")]
        for box in labels:
            assert not any(box.overlaps(node) for node in nodes)
        for i, box in enumerate(labels):
            assert not any(box.overlaps(other) for other in labels[i + 1 :])


def test_user_layout_is_used_and_checked(serial):
    layout = {"environment": (0, 0), "transfer": (1, 2), "harvest": (2, 2), "spillover": (3, 0)}
    fig = path_diagram(serial, layout=layout)
    where = {t.get_gid()[5:]: t.get_position() for t in fig.axes[0].texts
             if (t.get_gid() or "").startswith("node:")}  # fmt: skip
    assert where["transfer"][1] == pytest.approx(where["harvest"][1])
    assert where["transfer"][1] > where["environment"][1]
    with pytest.raises(SpecificationError, match="missing 'harvest'"):
        path_diagram(serial, layout={k: v for k, v in layout.items() if k != "harvest"})


def test_path_diagram_bad_inputs(serial, survey):
    with pytest.raises(SpecificationError, match="got DataFrame"):
        path_diagram(survey)
    with pytest.raises(SpecificationError, match="standardize"):
        path_diagram(serial, standardized=True)


def test_path_diagram_saves_whole(serial, tmp_path):
    written = save_figure(path_diagram(serial), tmp_path / "paths")
    assert [p.suffix for p in written] == [".pdf", ".png"]
    assert (
        written[0].read_bytes().startswith(b"%PDF")
        and written[0].read_bytes().rstrip()[-5:] == b"%%EOF"
    )
    assert written[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert written[1].read_bytes()[-8:-4] == b"IEND"


def test_network_map_on_projected_geography(simulated_firms, tmp_path):
    firms, net = simulated_firms
    cp = core_periphery(net)
    fig = network_map(net, geo=firms.locations, background=firms.regions, core=cp,
                      source="simulated")  # fmt: skip
    ax = fig.axes[0]
    dots = next(c for c in ax.collections if c.get_gid() == "firms")
    assert isinstance(dots, PathCollection)
    loc = firms.locations.loc[net.ids]
    xy = np.column_stack([loc.geometry.x, loc.geometry.y])
    np.testing.assert_allclose(dots.get_offsets(), xy)
    ties = next(c for c in ax.collections if c.get_gid() == "ties")
    assert isinstance(ties, LineCollection) and len(ties.get_segments()) == net.n_ties
    n_core = int(cp.core.sum())
    legends = _legends(ax)
    texts = [t.get_text() for t in legends["colour legend"].get_texts()]
    assert texts == [f"core ({n_core})", f"periphery ({net.n_firms - n_core})"]
    # node sizes follow degree: the firm with most ties has the largest marker
    sizes = dots.get_sizes()
    assert np.argmax(sizes) == np.argmax(degree(net)["degree"].to_numpy())
    assert any(line.get_gid() == "scalebar" for line in ax.lines)
    assert any(t.get_text() == "Source: simulated" for t in ax.texts)
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    frame = ax.get_window_extent(renderer)
    assert set(legends) == {"colour legend", "size legend"}
    for legend in legends.values():
        assert legend.get_window_extent(renderer).x0 >= frame.x1
    written = save_figure(fig, tmp_path / "network")
    assert all(p.stat().st_size > 1000 for p in written)
    assert written[0].read_bytes().rstrip().endswith(b"%%EOF")


def test_network_map_spring_layout_is_seeded_and_colours_by_attribute(simulated_firms):
    _, net = simulated_firms
    a = network_map(net, color_by="capability", size_by=None)
    b = network_map(net, color_by="capability", size_by=None)
    offsets = [next(c for c in f.axes[0].collections if c.get_gid() == "firms").get_offsets()
               for f in (a, b)]  # fmt: skip
    np.testing.assert_array_equal(offsets[0], offsets[1])
    assert len(offsets[0]) == net.n_firms
    assert a.axes[-1].get_ylabel() == "capability"  # continuous: a colour bar
    groups = pd.Series(np.where(net.nodes["capability"] > 0, "high", "low"), index=net.ids,
                       name="capability group")  # fmt: skip
    fig = network_map(net, color_by=groups)
    texts = [t.get_text() for t in _legends(fig.axes[0])["colour legend"].get_texts()]
    counts = groups.value_counts()
    assert texts == [f"high ({counts['high']})", f"low ({counts['low']})"]


def test_network_map_geo_errors(simulated_firms):
    firms, net = simulated_firms
    with pytest.raises(AlignmentError, match=r"2 firms .* e\.g\. 1, 2"):
        network_map(net, geo=firms.locations.drop(index=[1, 2]))
    lonlat = firms.locations.to_crs("EPSG:4326")
    fig = network_map(net, geo=lonlat)  # degrees: drawn in an equal-area projection
    dots = next(c for c in fig.axes[0].collections if c.get_gid() == "firms")
    crs = equal_area_crs(lonlat.loc[net.ids].total_bounds)
    assert crs.coordinate_operation.method_name in {"Albers Equal Area",
                                                    "Lambert Azimuthal Equal Area"}  # fmt: skip
    expected = lonlat.loc[net.ids].to_crs(crs).geometry
    np.testing.assert_allclose(dots.get_offsets(), np.column_stack([expected.x, expected.y]))
    fig = network_map(net, geo=lonlat, allow_geographic=True)
    assert fig.axes[0].get_xlabel() == "longitude (degrees)"
    fig = network_map(net, geo=lonlat, to_crs="EPSG:5070")
    dots = next(c for c in fig.axes[0].collections if c.get_gid() == "firms")
    back = gpd.GeoSeries(gpd.points_from_xy(*dots.get_offsets().T), crs="EPSG:5070")
    np.testing.assert_allclose(back.x, firms.locations.loc[net.ids].geometry.x, atol=1e-3)
    with pytest.raises(SpecificationError, match="neither a centrality"):
        network_map(net, size_by="nonsense")
    with pytest.raises(SpecificationError, match="KnowledgeNetwork"):
        network_map(firms.locations)
    with pytest.raises(SpecificationError, match="needs firm locations"):
        network_map(net, background=firms.regions)


def test_core_outlined_when_colouring_by_another_attribute(simulated_firms):
    _, net = simulated_firms
    cp = core_periphery(net)
    fig = network_map(net, color_by="capability", core=cp)
    dots = next(c for c in fig.axes[0].collections if c.get_gid() == "firms")
    black = np.all(dots.get_edgecolors()[:, :3] == 0, axis=1)
    np.testing.assert_array_equal(black, cp.core.reindex(net.ids).to_numpy())


def test_figures_are_exported():
    assert {"path_diagram", "network_map"} <= set(report.__all__)


def test_scree_plot_draws_the_parallel_analysis():
    pa = parallel_analysis(holzinger39.get_data()[[f"x{i}" for i in range(1, 10)]], n_iter=50,
                           seed=1)  # fmt: skip
    fig = scree_plot(pa)
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    np.testing.assert_array_equal(lines["observed"].get_ydata(),
                                  pa.eigenvalues["observed_factors"])  # fmt: skip
    np.testing.assert_array_equal(lines["simulated 95th percentile"].get_ydata(),
                                  pa.eigenvalues["percentile_factors"])  # fmt: skip
    assert fig.axes[0].get_xlabel() == "Factor number"
    assert f"{pa.n_factors} factors retained" in fig.axes[0].get_title()
    plt.close(fig)
