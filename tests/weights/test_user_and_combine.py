"""User matrices, edge lists, libpysal round trips, combinations and time-varying weights."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from libpysal import weights as lw

from spillover import Panel, weights
from spillover.errors import AlignmentError, SpecificationError, WeightsError
from spillover.weights import Weights, WeightsByPeriod

pytestmark = pytest.mark.filterwarnings("ignore::spillover.weights.DisconnectedWeightsWarning")

DENSE = np.array([[0, 1, 2], [1, 0, 0], [3, 0, 0]], dtype=float)


def test_from_matrix_dense_sparse_and_frame_agree():
    ids = ["a", "b", "c"]
    dense = weights.from_matrix(DENSE, ids)
    sparse = weights.from_matrix(sp.csr_matrix(DENSE), ids)
    frame = pd.DataFrame(DENSE, index=ids, columns=ids)[["c", "a", "b"]]  # columns shuffled
    labelled = weights.from_matrix(frame)
    for w in (dense, sparse, labelled):
        np.testing.assert_array_equal(w.matrix.toarray(), DENSE)
        assert list(w.ids) == ids


def test_from_matrix_bad_input():
    with pytest.raises(WeightsError, match="square"):
        weights.from_matrix(np.ones((2, 3)), ids=[1, 2])
    with pytest.raises(WeightsError, match="square"):
        weights.from_matrix(np.ones((2, 2, 2)), ids=[1, 2])
    with pytest.raises(WeightsError, match="square"):
        weights.from_matrix(sp.csr_array(np.ones((3, 2))), ids=[1, 2, 3])
    with pytest.raises(WeightsError, match=r"non-zero weight on themselves, e.g. 'b'"):
        weights.from_matrix(DENSE + np.diag([0, 1, 0]), ids=["a", "b", "c"])
    zeroed = weights.from_matrix(DENSE + np.diag([0, 1, 0]), ids=["a", "b", "c"], diagonal="zero")
    np.testing.assert_array_equal(zeroed.matrix.toarray(), DENSE)
    with pytest.raises(WeightsError, match="3 ids"):
        weights.from_matrix(np.ones((2, 2)) - np.eye(2), ids=[1, 2, 3])
    with pytest.raises(SpecificationError, match="ids="):
        weights.from_matrix(DENSE)
    with pytest.raises(AlignmentError, match="same ids"):
        weights.from_matrix(pd.DataFrame(DENSE, index=[1, 2, 3], columns=[1, 2, 4]))
    with pytest.raises(WeightsError, match="'b'"):  # b's row is zero once its self-weight goes
        weights.from_matrix(np.array([[0, 1.0], [0, 0]]), ids=["a", "b"])


def test_from_edges():
    edges = pd.DataFrame({"o": ["a", "b", "c"], "d": ["b", "c", "a"], "w": [1.0, 2.0, 3.0]})
    w = weights.from_edges(edges, "o", "d", "w")
    np.testing.assert_array_equal(w.matrix.toarray(), [[0, 1, 0], [0, 0, 2], [3, 0, 0]])
    und = weights.from_edges(edges, "o", "d", "w", directed=False)
    assert und.is_symmetric and und.matrix[1, 0] == 1.0
    with_island = weights.from_edges(edges, "o", "d", ids=["c", "b", "a", "z"], islands="keep")
    assert list(with_island.islands) == ["z"] and with_island.matrix[2, 1] == 1.0


def test_from_edges_bad_input():
    def edges(o, d):
        return pd.DataFrame({"o": o, "d": d})

    with pytest.raises(WeightsError, match=r"\('a', 'b'\)"):
        weights.from_edges(edges(["a", "a"], ["b", "b"]), "o", "d")
    with pytest.raises(WeightsError, match=r"itself, e\.g\. 'a'"):
        weights.from_edges(edges(["a", "b"], ["a", "a"]), "o", "d", islands="keep")
    with pytest.raises(AlignmentError, match="'q'"):
        weights.from_edges(edges(["a", "q"], ["b", "a"]), "o", "d", ids=["a", "b"])
    with pytest.raises(WeightsError, match="missing"):
        weights.from_edges(edges(["a", None], ["b", "a"]), "o", "d")
    with pytest.raises(SpecificationError, match="no column"):
        weights.from_edges(edges(["a"], ["b"]), "o", "dest")


def test_libpysal_round_trip_by_id():
    lpw = lw.W({"x": ["y"], "y": ["x", "z"], "z": ["y"]}, id_order=["z", "x", "y"])
    w = Weights.from_libpysal(lpw)
    assert list(w.ids) == ["z", "x", "y"]
    assert w.align(["x", "y", "z"]).matrix.toarray().tolist() == [[0, 1, 0], [1, 0, 1], [0, 1, 0]]
    back = w.to_libpysal()
    assert {k: sorted(v) for k, v in back.neighbors.items()} == {
        "x": ["y"],
        "y": ["x", "z"],
        "z": ["y"],
    }


def test_product_and_weighted_sum_align_by_id():
    a = weights.from_matrix(DENSE, ["a", "b", "c"])
    b_dense = np.array([[0, 0, 5], [2, 0, 1], [1, 1, 0]], dtype=float)  # in order c, a, b
    b = weights.from_matrix(b_dense, ["c", "a", "b"])
    b_in_a_order = b.align(["a", "b", "c"]).matrix.toarray()
    prod = weights.product(a, b, islands="keep")  # c: its only link (to a) is 0 in b
    np.testing.assert_array_equal(prod.matrix.toarray(), DENSE * b_in_a_order)
    combo = weights.weighted_sum([a, b], [0.3, 0.7])
    np.testing.assert_allclose(combo.matrix.toarray(), 0.3 * DENSE + 0.7 * b_in_a_order)
    assert combo.transform == "original"
    assert weights.product(a.row_standardize(), b, islands="keep").transform == "custom"


def test_combinations_refuse_mismatched_ids_and_report_islands():
    a = weights.from_matrix(DENSE, ["a", "b", "c"])
    other = weights.from_matrix(DENSE, ["a", "b", "x"])
    with pytest.raises(AlignmentError, match="'c'"):
        weights.product(a, other)
    disjoint = weights.from_matrix(
        np.array([[0, 0, 0], [0, 0, 1], [0, 1, 0]]), ["a", "b", "c"], islands="keep"
    )
    with pytest.raises(WeightsError, match="'a'"):
        weights.product(a, disjoint)
    with pytest.raises(SpecificationError, match="coefficients"):
        weights.weighted_sum([a, a], [1.0])


def test_weights_by_period_aligns_to_panel():
    df = pd.DataFrame({"r": ["a", "b", "c"] * 2, "t": [1, 1, 1, 2, 2, 2], "y": 1.0})
    panel = Panel(df, entity="r", time="t")
    w1 = weights.from_matrix(DENSE, ["c", "b", "a"])
    w2 = weights.from_matrix(DENSE.T, ["a", "b", "c"])
    wt = WeightsByPeriod({1: w1, 2: w2, 3: w2})
    assert list(wt.ids) == ["c", "b", "a"]  # every id, in order of first appearance
    aligned = wt.align(panel)
    assert list(aligned) == [1, 2] and list(aligned[1].ids) == ["a", "b", "c"]
    np.testing.assert_array_equal(aligned[2].matrix.toarray(), DENSE.T)
    with pytest.raises(AlignmentError, match=r"no matrix for 1 panel periods, e\.g\. 2"):
        WeightsByPeriod({1: w1}).align(panel)
    # periods may hold different ids (unbalanced panels); the panel policy refuses non-entities
    odd = WeightsByPeriod({1: w1, 2: weights.from_matrix(DENSE, ["a", "b", "x"])})
    with pytest.raises(AlignmentError, match="'x'"):
        odd.align(panel)
    rows = wt.map(Weights.row_standardize)
    assert all(w.transform == "row" for w in rows.values())
    with pytest.raises(KeyError, match="period 9"):
        wt[9]


def test_from_libpysal_graph_matches_by_id():
    from libpysal.graph import Graph

    adj = pd.DataFrame(
        {
            "focal": ["p", "q", "q", "r"],
            "neighbor": ["q", "p", "r", "q"],
            "weight": [1.0, 2.0, 3.0, 4.0],
        }
    )
    w = Weights.from_libpysal(Graph.from_adjacency(adj))
    dense = w.align(["r", "q", "p"]).matrix.toarray()
    np.testing.assert_array_equal(dense, [[0, 4, 0], [3, 0, 2], [0, 1, 0]])


def test_from_libpysal_reads_the_graph_transformation():
    # libpysal's Graph keeps its transform in .transformation (.transform is a method), so
    # a row-standardised Graph must arrive as "row", as a row-standardised W does; the
    # label is what describe() and summaries print.
    from libpysal.graph import Graph

    lpw = lw.lat2W(3, 3)
    graph = Graph.from_W(lpw)
    assert Weights.from_libpysal(graph).transform == "original"
    assert Weights.from_libpysal(graph.transform("R")).transform == "row"
    assert Weights.from_libpysal(graph.transform("B")).transform == "original"
    assert Weights.from_libpysal(graph.transform("V")).transform == "custom"
    lpw.transform = "r"
    assert Weights.from_libpysal(lpw).transform == "row"
    lpw.transform = "d"
    assert Weights.from_libpysal(lpw).transform == "custom"
    # the row-standardised Graph's rows sum to one, so "row" is the truth, not a guess
    rows = Weights.from_libpysal(graph.transform("R")).row_sums
    np.testing.assert_allclose(rows.to_numpy(), 1.0, rtol=0, atol=1e-15)


def test_from_edges_refuses_duplicate_ids():
    edges = pd.DataFrame({"s": ["a", "b"], "t": ["b", "a"]})
    with pytest.raises(WeightsError, match=r"more than once, e\.g\. 'a'"):
        weights.from_edges(edges, "s", "t", ids=["a", "b", "a"])


def test_nan_entries_are_named_by_id():
    with pytest.raises(WeightsError, match=r"NaN or infinite entries in 1 rows, e\.g\. 'b'"):
        weights.from_matrix(np.array([[0, 1, 0], [np.inf, 0, 1], [1, 0, 0]]), ids=list("abc"))
    with pytest.raises(WeightsError, match=r"e\.g\. 'c'"):
        weights.from_matrix(pd.DataFrame([[0, 1, 0], [1, 0, 1], [np.nan, 1, 0]], **_lab("abc")))


def _lab(ids):
    return {"index": list(ids), "columns": list(ids)}


def test_lag_of_series_refuses_missing_ids_even_with_nans_elsewhere():
    w = weights.from_matrix(np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]]), ids=["a", "b", "c"])
    full = pd.Series([1.0, 2.0, 4.0], index=["c", "b", "a"])
    assert w.lag(full).tolist() == [3.0, 4.0, 4.0]  # matched by id: a -> b + c = 2 + 1
    # 'c' absent while 'b' is NaN: the lag of 'a' must not come out silently NaN
    with pytest.raises(AlignmentError, match=r"lack 1 ids of the weights, e\.g\. 'c'"):
        w.lag(pd.Series([4.0, np.nan], index=["a", "b"]))
    with pytest.raises(AlignmentError, match="2 rows but the weights have 3 ids"):
        w.lag(np.array([1.0, 2.0]))
    # a NaN the user passed stays a NaN in the lags that use it (nothing is filled in)
    lagged = w.lag(pd.Series([4.0, np.nan, 1.0], index=["a", "b", "c"]))
    assert np.isnan(lagged["a"]) and lagged["b"] == 4.0


def test_lag_of_frame_is_matched_by_id_not_position():
    # A DataFrame used to go through np.asarray, i.e. by position: rows in another order
    # than w.ids gave silently wrong lags. Reference: the Series lag of each column.
    w = weights.from_matrix(np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]]), ids=["a", "b", "c"])
    frame = pd.DataFrame({"x": [1.0, 2.0, 4.0], "y": [8.0, 16.0, 32.0]}, index=["c", "b", "a"])
    lagged = w.lag(frame)
    assert list(lagged.index) == ["a", "b", "c"] and list(lagged.columns) == ["x", "y"]
    for col in frame:
        pd.testing.assert_series_equal(lagged[col], w.lag(frame[col]), check_exact=True)
    assert lagged["x"].tolist() == [3.0, 4.0, 4.0]  # a: b + c = 2 + 1; b, c: a = 4
    with pytest.raises(AlignmentError, match=r"1 repeated ids, e\.g\. 'a'"):
        w.lag(pd.Series([1.0, 2.0, 3.0, 4.0], index=["a", "a", "b", "c"]))
    with pytest.raises(AlignmentError, match=r"lack 1 ids of the weights, e\.g\. 'b'"):
        w.lag(frame.drop(index="b"))
