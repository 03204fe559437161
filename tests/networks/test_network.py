"""KnowledgeNetwork: construction, validation at the boundary, ids and isolates."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from spillover.errors import AlignmentError, DroppedRowsWarning, SpecificationError, WeightsError
from spillover.networks import KnowledgeNetwork


def _edges(*pairs, weight=None):
    frame = pd.DataFrame(pairs, columns=["source", "target"])
    if weight is not None:
        frame["w"] = weight
    return frame


def test_undirected_ties_are_stored_once_and_symmetric():
    net = KnowledgeNetwork.from_edges(_edges(("b", "a"), ("b", "c")))
    assert net.ties[["source", "target"]].values.tolist() == [["a", "b"], ["b", "c"]]
    assert net.adjacency.toarray().tolist() == [[0, 1, 0], [1, 0, 1], [0, 1, 0]]
    assert list(net.graph.nodes) == ["a", "b", "c"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        net.directed = True


def test_node_table_keeps_isolates_and_attributes():
    firms = pd.DataFrame({"id": [3, 1, 2, 9], "foreign": [True, False, False, True]})
    net = KnowledgeNetwork.from_edges(_edges((1, 2), (2, 3)), nodes=firms, id_column="id")
    assert list(net.ids) == [3, 1, 2, 9]  # the firm table's order
    assert list(net.isolates) == [9]
    assert net.graph.nodes[9]["foreign"]
    assert "1 isolated firm" in repr(net)


def test_edges_to_unknown_firms_are_named():
    firms = pd.DataFrame(index=[1, 2, 3])
    with pytest.raises(AlignmentError, match=r"2 firms .* not in the firm table, e.g. 8, 7"):
        KnowledgeNetwork.from_edges(_edges((1, 7), (8, 2)), nodes=firms)


def test_duplicates_raise_or_sum():
    edges = _edges(("a", "b"), ("b", "a"), ("b", "c"), weight=[1.0, 2.0, 1.0])
    with pytest.raises(WeightsError, match=r"1 ties \(in either direction\).*\('a', 'b'\)"):
        KnowledgeNetwork.from_edges(edges, weight="w")
    net = KnowledgeNetwork.from_edges(edges, weight="w", duplicates="sum")
    assert net.adjacency.toarray()[0, 1] == 3.0 and net.n_ties == 2
    # directed: (a, b) and (b, a) are different ties
    directed = KnowledgeNetwork.from_edges(edges, weight="w", directed=True)
    assert directed.adjacency.toarray().tolist() == [[0, 1, 0], [2, 0, 1], [0, 0, 0]]


def test_self_loops_raise_or_drop_with_a_warning():
    edges = _edges(("a", "a"), ("a", "b"))
    with pytest.raises(WeightsError, match=r"1 edges tie a firm to itself, e.g. 'a'"):
        KnowledgeNetwork.from_edges(edges)
    with pytest.warns(DroppedRowsWarning, match="self-loops"):
        net = KnowledgeNetwork.from_edges(edges, self_loops="drop")
    assert net.n_ties == 1


@pytest.mark.parametrize(
    ("edges", "kwargs", "error", "match"),
    [
        (_edges(("a", None)), {}, WeightsError, "missing firm id"),
        (_edges(("a", "b"), weight=[0.0]), {"weight": "w"}, WeightsError, "non-positive"),
        (_edges(("a", "b"), weight=["x"]), {"weight": "w"}, WeightsError, "non-numeric"),
        (_edges(("a", "b")), {"weight": "w"}, SpecificationError, "no column"),
        (_edges(("a", "b")), {"duplicates": "max"}, SpecificationError, "duplicates must"),
        (_edges(("a", "b")), {"id_column": "id"}, SpecificationError, "needs a firm table"),
    ],
)
def test_bad_edges_are_refused(edges, kwargs, error, match):
    with pytest.raises(error, match=match):
        KnowledgeNetwork.from_edges(edges, **kwargs)


def test_bad_firm_table_is_refused():
    with pytest.raises(AlignmentError, match=r"more than once, e\.g\. 1"):
        KnowledgeNetwork.from_edges(_edges((1, 2)), nodes=pd.DataFrame(index=[1, 1, 2]))
    with pytest.raises(SpecificationError, match="no column 'capability'"):
        KnowledgeNetwork.from_edges(_edges((1, 2))).attribute("capability")


def test_weights_from_the_network_match_its_adjacency():
    net = KnowledgeNetwork.from_edges(_edges((1, 2), (2, 3), weight=[2.0, 0.5]), weight="w")
    w = net.weights()
    assert list(w.ids) == [1, 2, 3]
    assert np.array_equal(w.matrix.toarray(), net.adjacency.toarray())
