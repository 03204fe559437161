"""Network-proximity weights: decay against dense shortest paths, ids, pools, spatial models."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.sparse.csgraph import shortest_path

from spillover import Panel, simulate
from spillover.errors import (
    AlignmentError,
    DroppedRowsWarning,
    SpecificationError,
    WeightsError,
)
from spillover.measures import spillover_pool
from spillover.models.spatial import SpatialLag
from spillover.networks import KnowledgeNetwork
from spillover.weights import network
from spillover.weights._graph import hop_distances


def _dense_decay(net: KnowledgeNetwork, f, max_distance: int, directed: bool) -> np.ndarray:
    """Reference: every shortest path by scipy's dense all-pairs BFS, then the decay."""
    d = shortest_path(net.adjacency.toarray() > 0, directed=directed, unweighted=True)
    out = np.zeros_like(d)
    near = (d >= 1) & (d <= max_distance)
    out[near] = f(d[near])
    return out


@pytest.fixture(scope="module")
def sparse_net():
    sim = simulate.knowledge_network(
        80, p_core=0.3, p_core_periphery=0.05, p_periphery=0.02, seed=11
    )
    return sim.network()


@pytest.mark.parametrize("max_distance", [1, 2, 4])
def test_decay_equals_dense_shortest_paths(sparse_net, max_distance):
    cases = [
        ("exponential", lambda d: np.exp(-(d - 1) / 0.7), {"scale": 0.7}),
        ("power", lambda d: d**-1.5, {"alpha": 1.5}),
    ]
    for decay, f, kw in cases:
        w = network(
            sparse_net, kind="decay", decay=decay, max_distance=max_distance, islands="keep", **kw
        )
        ref = _dense_decay(sparse_net, f, max_distance, directed=False)
        assert_allclose(w.matrix.toarray(), ref, rtol=1e-15, atol=0)


@settings(max_examples=60)
@given(
    n=st.integers(3, 14),
    density=st.floats(0.05, 0.6),
    directed=st.booleans(),
    max_distance=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_hop_distances_equal_scipy_on_random_graphs(n, density, directed, max_distance, seed):
    g = nx.gnp_random_graph(n, density, seed=seed, directed=directed)
    firms = pd.DataFrame(index=range(n))
    edges = (
        nx.to_pandas_edgelist(g)
        if g.number_of_edges()
        else pd.DataFrame({"source": pd.Series([], dtype=int), "target": pd.Series([], dtype=int)})
    )
    net = KnowledgeNetwork.from_edges(edges, nodes=firms, directed=directed)
    d = hop_distances(net.adjacency, max_distance).toarray()
    ref = shortest_path(net.adjacency.toarray() > 0, directed=directed, unweighted=True)
    ref[(ref > max_distance) | ~np.isfinite(ref)] = 0
    assert np.array_equal(d, ref)


def test_directed_decay_follows_tie_direction():
    g = nx.gnp_random_graph(40, 0.06, seed=3, directed=True)
    net = KnowledgeNetwork.from_edges(nx.to_pandas_edgelist(g), directed=True)
    w = network(net, kind="decay", decay=lambda d: 1.0 / d, max_distance=3, islands="keep")
    ref = _dense_decay(net, lambda d: 1.0 / d, 3, directed=True)
    assert_allclose(w.matrix.toarray(), ref, rtol=1e-15, atol=0)
    both = network(net, kind="decay", directed=False, max_distance=3, islands="keep")
    assert both.is_symmetric


def test_adjacency_weights_and_options():
    edges = pd.DataFrame(
        {"source": ["a", "b", "b"], "target": ["b", "c", "a"], "n": [2.0, 1.0, 5.0]}
    )
    directed = KnowledgeNetwork.from_edges(edges, weight="n", directed=True)
    w = network(directed, islands="keep")  # c names nobody: an empty row
    assert w.matrix.toarray().tolist() == [[0, 2, 0], [5, 0, 1], [0, 0, 0]]
    assert w.islands.tolist() == ["c"]
    # undirected view of a directed network: w_ij = max(a_ij, a_ji)
    sym = network(directed, directed=False).matrix.toarray()
    assert sym.tolist() == [[0, 5, 0], [5, 0, 1], [0, 1, 0]]
    assert network(directed, directed=False, binary=True).matrix.sum() == 4.0
    # a bare edge list is checked like KnowledgeNetwork.from_edges (undirected by default)
    with pytest.raises(WeightsError, match="more than once"):
        network(edges, weight="n")
    summed = network(edges, weight="n", duplicates="sum").matrix.toarray()
    assert summed.tolist() == [[0, 7, 0], [7, 0, 1], [0, 1, 0]]


def test_ids_are_matched_never_positional():
    edges = pd.DataFrame({"source": [1, 2], "target": [2, 3]})
    w = network(edges, ids=[3, 9, 2, 1], islands="keep")
    assert list(w.ids) == [3, 9, 2, 1]
    dense = pd.DataFrame(w.matrix.toarray(), index=w.ids, columns=w.ids)
    assert dense.loc[1, 2] == dense.loc[2, 3] == dense.loc[3, 2] == 1.0
    assert list(w.islands) == [9]
    with pytest.raises(WeightsError, match=r"1 entities have no neighbours.*9"):
        network(edges, ids=[3, 9, 2, 1])
    with pytest.raises(AlignmentError, match=r"1 firms with ties are not among ids=, e.g. 3"):
        network(edges, ids=[1, 2])
    firms = pd.DataFrame(index=[1, 2, 3, 4])
    net = KnowledgeNetwork.from_edges(edges, nodes=firms)
    assert list(network(net, ids=[1, 2, 3]).ids) == [1, 2, 3]  # isolated firm 4 left out


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "geodesic"}, "kind must be"),
        ({"kind": "decay", "decay": "gauss"}, "decay must be"),
        ({"kind": "decay", "scale": 0.0}, "scale must be"),
        ({"kind": "decay", "max_distance": 0}, "max_distance must be >= 1"),
        ({"kind": "decay", "max_distance": 2.5}, "max_distance must be an integer"),
        ({"kind": "decay", "decay": lambda d: -d}, "finite weight >= 0"),
    ],
)
def test_bad_options_are_refused(kwargs, match):
    edges = pd.DataFrame({"source": [1, 2], "target": [2, 3]})
    with pytest.raises((SpecificationError, WeightsError), match=match):
        network(edges, **kwargs)
    with pytest.raises(WeightsError, match="KnowledgeNetwork or an edge-list"):
        network(np.eye(3))


def test_spillover_pool_equals_a_hand_computation():
    # path a - b - c - d, plus e tied to b. Stocks K = 1, 2, 4, 8, 16 for a..e.
    edges = pd.DataFrame({"source": ["a", "b", "c", "b"], "target": ["b", "c", "d", "e"]})
    net = KnowledgeNetwork.from_edges(edges)
    df = pd.DataFrame(
        {
            "firm": list("edcba") * 2,
            "year": [1] * 5 + [2] * 5,
            "k": [16.0, 8, 4, 2, 1, 32, 16, 8, 4, 2],
        }
    )
    panel = Panel(df, entity="firm", time="year")
    pool = spillover_pool(panel, "k", network(net))
    # adjacency: a <- b; b <- a, c, e; c <- b, d; d <- c; e <- b
    year1 = {"a": 2, "b": 1 + 4 + 16, "c": 2 + 8, "d": 4, "e": 2}
    assert pool.xs(1, level="year").to_dict() == year1
    assert pool.xs(2, level="year").to_dict() == {k: 2 * v for k, v in year1.items()}
    # decay exp(-(d - 1)): a reaches b (1), c and e (e^-1) within 2 ties
    decay = network(net, kind="decay", max_distance=2)
    expected_a = 2 + np.exp(-1) * (4 + 16)
    assert spillover_pool(panel, "k", decay).loc[("a", 1)] == pytest.approx(expected_a, rel=1e-15)
    # row-standardised: the mean of the neighbours' stocks
    mean = spillover_pool(panel, "k", network(net).row_standardize()).xs(1, level="year")
    assert mean["b"] == pytest.approx(21 / 3, rel=1e-15)


def test_spatial_lag_fits_with_network_weights():
    sim = simulate.knowledge_network(120, p_core_periphery=0.1, p_periphery=0.03, seed=8)
    with pytest.warns(DroppedRowsWarning, match="islands"):
        w = network(sim.network(), kind="decay", max_distance=2, islands="drop")
    w = w.row_standardize()
    data = simulate.spatial_panel(w, 6, model="sar", rho=0.4, beta=[1.0, -0.5], seed=9)
    res = SpatialLag("y ~ x1 + x2", data.panel, w=w, effects="twoway").fit()
    assert abs(res.rho - 0.4) < 4 * res.std_errors["rho"]
    assert abs(res.params["x1"] - 1.0) < 4 * res.std_errors["x1"]
    # the same W listed in another order gives the same fit (matched by id)
    shuffled = w.subset(w.ids[::-1])
    again = SpatialLag("y ~ x1 + x2", data.panel, w=shuffled, effects="twoway").fit()
    assert_allclose(again.params, res.params, rtol=1e-10)
