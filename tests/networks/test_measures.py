"""Network measures against networkx on its bundled graphs, and closed forms on tiny graphs.

Where spillover wraps networkx the arithmetic is the same, so the comparison is exact up to
rtol 1e-12; eigenvector centrality comes from ARPACK with a random start vector in each
call (converged to machine precision), hence rtol 1e-10 there.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.errors import DisconnectedWeightsWarning, SpecificationError
from spillover.networks import (
    KnowledgeNetwork,
    betweenness,
    closeness,
    communities,
    constraint,
    degree,
    effective_size,
    eigenvector,
    leader_follower,
)

EXACT = 1e-12


def _net(g: nx.Graph, weight: str | None = None) -> KnowledgeNetwork:
    edges = nx.to_pandas_edgelist(g)
    return KnowledgeNetwork.from_edges(edges, weight=weight, directed=g.is_directed())


def _ref(net: KnowledgeNetwork, values: dict) -> np.ndarray:
    return np.array([values[i] for i in net.ids], dtype=float)


@pytest.fixture(scope="module")
def karate():
    g = nx.karate_club_graph()  # weighted: interactions between members
    return g, _net(g, "weight")


@pytest.fixture(scope="module")
def florentine():
    g = nx.florentine_families_graph()
    return g, _net(g)


@pytest.mark.parametrize("graph", ["karate", "florentine"])
def test_centralities_equal_networkx(graph, request):
    g, net = request.getfixturevalue(graph)
    gd = g.copy()
    for *_, d in gd.edges(data=True):
        d["distance"] = 1.0 / d.get("weight", 1.0)
    assert_allclose(betweenness(net), _ref(net, nx.betweenness_centrality(g)), rtol=EXACT)
    assert_allclose(
        betweenness(net, normalized=False, weighted=True),
        _ref(net, nx.betweenness_centrality(gd, normalized=False, weight="distance")),
        rtol=EXACT,
    )
    assert_allclose(closeness(net), _ref(net, nx.closeness_centrality(g)), rtol=EXACT)
    assert_allclose(
        closeness(net, weighted=True),
        _ref(net, nx.closeness_centrality(gd, distance="distance")),
        rtol=EXACT,
    )
    assert_allclose(eigenvector(net), _ref(net, nx.eigenvector_centrality_numpy(g)), rtol=1e-10)
    assert_allclose(degree(net)["degree"], _ref(net, dict(g.degree())), rtol=0)


def test_weighted_measures_equal_networkx_on_karate(karate):
    g, net = karate
    assert_allclose(
        eigenvector(net, weighted=True),
        _ref(net, nx.eigenvector_centrality_numpy(g, weight="weight")),
        rtol=1e-10,
    )
    assert_allclose(
        degree(net, weighted=True)["degree"], _ref(net, dict(g.degree(weight="weight"))), rtol=0
    )
    for weighted, w in [(True, "weight"), (False, None)]:
        assert_allclose(
            constraint(net, weighted=weighted), _ref(net, nx.constraint(g, weight=w)), rtol=EXACT
        )
        assert_allclose(
            effective_size(net, weighted=weighted),
            _ref(net, nx.effective_size(g, weight=w)),
            rtol=EXACT,
        )


def _in_id_order(g: nx.Graph) -> nx.Graph:
    """``g`` with its nodes in sorted (firm id) order, edges in the same order as ``g``."""
    h = nx.Graph()
    h.add_nodes_from(sorted(g))
    h.add_edges_from(g.edges(data=True))
    return h


def test_communities_equal_networkx(karate, florentine):
    # Louvain visits nodes in a seeded shuffle of the graph's node order: the reference gets
    # the same order as the network (firm ids sorted), then the partitions are identical.
    for g0, net in (karate, florentine):
        g = _in_id_order(g0)
        for seed in (0, 7):
            ours = communities(net, seed=seed)
            ref = nx.community.louvain_communities(g, weight="weight", seed=seed)
            assert ours.modularity == pytest.approx(
                nx.community.modularity(g, ref, weight="weight"), rel=EXACT
            )
            assert {frozenset(ours.labels.index[ours.labels == k]) for k in ours.sizes.index} == {
                frozenset(c) for c in ref
            }
    g, net = karate
    greedy = communities(net, method="greedy", weighted=False)
    ref = nx.community.greedy_modularity_communities(g)
    assert greedy.sizes.tolist() == sorted((len(c) for c in ref), reverse=True)
    assert greedy.modularity == pytest.approx(
        nx.community.modularity(g, ref, weight=None), rel=EXACT
    )
    assert communities(net, seed=3).labels.equals(communities(net, seed=3).labels)


def test_star_closed_forms():
    # hub with k = 4 spokes: p_hub,j = 1/4 and no indirect paths, so the hub's constraint
    # is 4 (1/4)^2 = 1/4; a spoke's only contact is the hub: constraint 1. Effective size:
    # the hub's contacts share no ties, 4; a spoke has 1 contact, 1. Betweenness: the hub
    # lies on all C(4, 2) = 6 spoke pairs; normalised by (N-1)(N-2)/2 = 6 it is 1.
    star = pd.DataFrame({"source": ["hub"] * 4, "target": list("abcd")})
    net = KnowledgeNetwork.from_edges(star)
    assert constraint(net).to_dict() == {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0, "hub": 0.25}
    assert effective_size(net).to_dict() == {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0, "hub": 4.0}
    assert betweenness(net, normalized=False)["hub"] == 6.0
    assert betweenness(net)["hub"] == 1.0
    assert closeness(net)["hub"] == 1.0  # distance 1 to each of the 4 others
    assert closeness(net)["a"] == pytest.approx(4 / (1 + 2 + 2 + 2), rel=EXACT)


def test_triangle_with_pendant_closed_forms():
    # a-b-c a triangle, c-d a pendant. For c (contacts a, b, d, p = 1/3 each):
    # local constraint from a = (1/3 + p_cb p_ba)^2 = (1/3 + 1/3 * 1/2)^2 = 1/4, same for
    # b, and from d (1/3)^2: c(c) = 1/2 + 1/9. Effective size (Borgatti): n - 2t/n with
    # n = 3 contacts and t = 1 tie among them: 3 - 2/3.
    edges = pd.DataFrame({"source": ["a", "a", "b", "c"], "target": ["b", "c", "c", "d"]})
    net = KnowledgeNetwork.from_edges(edges)
    assert constraint(net)["c"] == pytest.approx(0.5 + 1 / 9, rel=EXACT)
    # a and b: contacts {b, c} / {a, c}, p = 1/2 each; from b: (1/2 + p_ac p_cb)^2 with
    # p_cb = 1/3, so (1/2 + 1/6)^2 = 4/9; from c: (1/2 + 1/2 * 1/2)^2 = 9/16
    assert constraint(net)["a"] == pytest.approx(4 / 9 + 9 / 16, rel=EXACT)
    triangle = KnowledgeNetwork.from_edges(edges.iloc[:3])
    assert_allclose(constraint(triangle), 2 * (1 / 2 + 1 / 4) ** 2, rtol=EXACT)  # 1.125
    assert effective_size(net)["c"] == pytest.approx(3 - 2 / 3, rel=EXACT)


def test_directed_degree_and_isolates_are_kept():
    edges = pd.DataFrame({"source": ["a", "b", "c"], "target": ["b", "c", "b"]})
    firms = pd.DataFrame(index=["a", "b", "c", "z"])
    net = KnowledgeNetwork.from_edges(edges, nodes=firms, directed=True)
    deg = degree(net)
    assert deg.loc["b"].tolist() == [2.0, 1.0]
    assert deg.loc["z"].tolist() == [0.0, 0.0]
    assert np.isnan(constraint(net)["z"]) and np.isnan(effective_size(net)["z"])


def test_eigenvector_on_a_disconnected_network_warns_and_uses_the_largest_component():
    g = nx.karate_club_graph()
    edges = nx.to_pandas_edgelist(g)
    extra = pd.DataFrame({"source": [100, 101], "target": [101, 102]})
    net = KnowledgeNetwork.from_edges(pd.concat([edges[["source", "target"]], extra]))
    with pytest.warns(DisconnectedWeightsWarning, match="largest component"):
        x = eigenvector(net)
    assert x[[100, 101, 102]].isna().all()
    assert_allclose(x.dropna(), _ref(_net(g), nx.eigenvector_centrality_numpy(g)), rtol=1e-10)


def test_eigenvector_of_a_directed_network_uses_ties_received():
    g = nx.DiGraph([(0, 1), (1, 2), (2, 3), (3, 0), (0, 2), (3, 1), (2, 4), (4, 0)])
    net = _net(g)
    assert_allclose(eigenvector(net), _ref(net, nx.eigenvector_centrality_numpy(g)), rtol=1e-10)
    g.add_edge(5, 0)  # 5 names 0 but nobody names 5: not strongly connected
    with pytest.warns(DisconnectedWeightsWarning, match="not strongly connected"):
        x = eigenvector(_net(g))
    assert np.isnan(x[5]) and x.notna().sum() == 5


def test_eigenvector_needs_a_component_of_three_firms():
    net = KnowledgeNetwork.from_edges(pd.DataFrame({"source": [1, 3], "target": [2, 4]}))
    with pytest.raises(SpecificationError, match="has 2 firm"):
        eigenvector(net)


def test_leader_follower_by_hand():
    # high: A, B (capability > 2); low: c, d, e, f. Ties c-A, d-A, e-B, e-f.
    # low firms tied to a high firm: c, d, e -> 3 / 4. Expected under random partners among
    # the other N - 1 = 5 firms (2 high): degree 1 -> 1 - 3/5; degree 2 -> 1 - C(3,2)/C(5,2).
    firms = pd.DataFrame({"capability": [3.0, 2.5, 1.0, 0.5, 0.2, 0.1]}, index=list("ABcdef"))
    edges = pd.DataFrame({"source": list("cdee"), "target": list("AABf")})
    lf = leader_follower(KnowledgeNetwork.from_edges(edges, nodes=firms), threshold=2.0)
    assert lf.share_tied == 0.75
    expected = np.mean([2 / 5, 2 / 5, 1 - 3 / 10, 2 / 5])  # c, d, e (2 ties), f (1 tie)
    assert lf.expected_share == pytest.approx(expected, rel=EXACT)
    assert lf.table.to_numpy().tolist() == [[1, 3], [3, 0]]
    assert (lf.n_low, lf.n_high) == (4, 2)
    directed = KnowledgeNetwork.from_edges(edges, nodes=firms, directed=True)
    assert leader_follower(directed, threshold=2.0).table.to_numpy().tolist() == [[1, 3], [0, 0]]


def test_leader_follower_needs_capability():
    net = KnowledgeNetwork.from_edges(pd.DataFrame({"source": [1], "target": [2]}))
    with pytest.raises(Exception, match="no column 'capability'"):
        leader_follower(net)
