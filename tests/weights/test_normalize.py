"""Normalisations against dense computations; alignment, islands and the report."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from spillover import weights
from spillover.errors import AlignmentError, SpecificationError, WeightsError
from spillover.weights import Weights, spectral_radius

pytestmark = pytest.mark.filterwarnings("ignore::spillover.weights.DisconnectedWeightsWarning")


def _random(n=80, density=0.08, seed=0, symmetric=False, signed=False):
    rng = np.random.default_rng(seed)  # numpy only: scipy's random_array changed its API
    m = sp.csr_array(np.where(rng.uniform(size=(n, n)) < density, rng.uniform(size=(n, n)), 0))
    if signed:
        m.data -= 0.5
    m = sp.csr_array(m - sp.diags_array(m.diagonal()))
    return sp.csr_array(m + m.T) if symmetric else m


def _lattice(side=6):
    """Rook lattice: bipartite, so +lambda and -lambda are both eigenvalues."""
    idx = np.arange(side * side).reshape(side, side)
    i = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    j = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    m = sp.csr_array((np.ones(len(i)), (i, j)), shape=(side**2, side**2))
    return sp.csr_array(m + m.T)


@pytest.mark.parametrize(
    "matrix",
    [
        _random(symmetric=True),
        _random(),
        _random(signed=True),
        _random(symmetric=True, signed=True),
        _lattice(),
        _random(n=3, density=0.9),
    ],
    ids=["symmetric", "nonsymmetric", "signed", "signed-symmetric", "bipartite", "n=3"],
)
def test_spectral_radius_equals_numpy_eigvals(matrix):
    # reference: LAPACK on the dense matrix (small n); ARPACK converges to machine precision
    ref = np.max(np.abs(np.linalg.eigvals(matrix.toarray())))
    assert spectral_radius(matrix) == pytest.approx(ref, rel=1e-10)
    w = Weights(matrix, range(matrix.shape[0]))
    scaled = w.spectral_normalize()
    np.testing.assert_allclose(scaled.matrix.toarray(), matrix.toarray() / ref, rtol=1e-10)
    assert scaled.transform == "spectral" and scaled.meta["scale"] == pytest.approx(ref)


def test_spectral_radius_exact_for_constant_row_sums():
    # Perron-Frobenius: binary knn has row sums k, so the radius is exactly k
    xy = np.random.default_rng(1).uniform(size=(50, 2))
    w = weights.knn(xy, 4, metric="euclidean", ids=range(50))
    assert spectral_radius(w.matrix) == 4.0
    assert np.max(np.abs(np.linalg.eigvals(w.matrix.toarray()))) == pytest.approx(4.0, rel=1e-12)
    assert spectral_radius(w.row_standardize().matrix) == 1.0


def test_minmax_normalize_dense_reference():
    m = _random(signed=True)
    dense = np.abs(m.toarray())
    tau = min(dense.sum(axis=1).max(), dense.sum(axis=0).max())
    w = Weights(m, range(m.shape[0])).minmax_normalize()
    np.testing.assert_allclose(w.matrix.toarray(), m.toarray() / tau, rtol=1e-14)
    assert w.transform == "minmax"


def test_row_standardize_dense_reference_and_zero_rows():
    m = _random(seed=3).toarray()
    m[5] = 0
    w = Weights(sp.csr_array(m), [f"u{i}" for i in range(len(m))])
    with pytest.raises(WeightsError, match="'u5'"):
        w.row_standardize()
    kept = w.row_standardize(zero_rows="keep").matrix.toarray()
    sums = m.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(kept, np.divide(m, sums, out=np.zeros_like(m), where=sums > 0))
    with pytest.raises(SpecificationError):
        w.row_standardize(zero_rows="drop")


def test_align_by_id_lists_mismatches():
    w = weights.from_matrix(np.array([[0, 1, 0], [1, 0, 2], [0, 2, 0]]), ids=["a", "b", "c"])
    reordered = w.align(["c", "a", "b"])
    assert reordered.matrix.toarray().tolist() == [[0, 0, 2], [0, 0, 1], [2, 1, 0]]
    with pytest.raises(AlignmentError, match=r"1 panel entities have no row in W \(e.g. 'd'\)"):
        w.align(["a", "b", "c", "d"])
    with pytest.raises(
        AlignmentError, match=r"1 W ids are not among the panel entities \(e.g. 'c'\)"
    ):
        w.align(["a", "b"])
    assert list(w.drop("b").ids) == ["a", "c"]
    with pytest.raises(AlignmentError, match="'zz'"):
        w.drop(["zz"])


def test_align_to_panel():
    from spillover import Panel

    df = pd.DataFrame({"r": ["b", "a", "c"] * 2, "t": [1, 1, 1, 2, 2, 2], "y": 1.0})
    panel = Panel(df, entity="r", time="t")
    w = weights.from_matrix(np.ones((3, 3)) - np.eye(3), ids=["c", "b", "a"])
    assert list(w.align(panel).ids) == ["a", "b", "c"]
    with pytest.raises(AlignmentError, match="'a'"):
        w.drop("a").align(panel)


def test_non_square_and_nan_refused():
    with pytest.raises(WeightsError, match="square"):
        Weights(sp.csr_array(np.ones((2, 3))), [1, 2])
    with pytest.raises(WeightsError, match="NaN"):
        Weights(sp.csr_array(np.array([[0, np.nan], [1, 0]])), [1, 2])


def test_describe_reads_well():
    w = weights.from_matrix(
        np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]),
        ids=["a", "b", "c", "d"],
        islands="keep",
    )
    text = str(w.describe())
    assert "entities              4" in text
    assert "symmetric             no" in text
    assert "islands               1: 'd'" in text
    assert "connected components  2 (sizes 2, 2)" in text  # d is an island, yet c -> d
    assert "neighbour counts      0:1  1:3" in text
    summary = w.describe().to_dict()
    assert summary["components"] == 2 and summary["islands"] == 1 and summary["nnz"] == 3
    assert w.components().tolist() == [0, 0, 1, 1]


def test_symmetrize_dense_reference():
    m = _random(seed=4).toarray()
    w = Weights(sp.csr_array(m), range(len(m)))
    np.testing.assert_array_equal(w.symmetrize().matrix.toarray(), np.maximum(m, m.T))
    np.testing.assert_allclose(w.symmetrize("mean").matrix.toarray(), (m + m.T) / 2)
    assert w.symmetrize().is_symmetric
    with pytest.raises(SpecificationError, match="how"):
        w.symmetrize("min")
