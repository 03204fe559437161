"""Technological proximity: by hand, against dense closed forms, and the size guard."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from spillover import weights
from spillover.errors import SpecificationError, WeightsError

pytestmark = pytest.mark.filterwarnings("ignore::spillover.weights.DisconnectedWeightsWarning")


@pytest.fixture(params=["dense", "sparse"])
def path(request, monkeypatch):
    """Run a test through the BLAS (dense block) and the sparse-product code paths."""
    from spillover.weights import _technology

    if request.param == "sparse":
        monkeypatch.setattr(_technology, "_DENSE_MAX", 0)
    return request.param


def _random_shares(n=120, classes=15, seed=5):
    rng = np.random.default_rng(seed)
    counts = rng.poisson(0.6, size=(n, classes)) * (rng.uniform(size=(n, classes)) < 0.4)
    counts[counts.sum(axis=1) == 0, 0] = 1  # every firm patents somewhere
    return pd.DataFrame(counts.astype(float), index=[f"f{i}" for i in range(n)])


def _few_classes_each(n=300, classes=100, seed=6):
    """Two classes per firm among 100 with skewed popularity: sparse rows, dense P."""
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, classes + 1)
    counts = np.zeros((n, classes))
    for i in range(n):
        counts[i, rng.choice(classes, size=2, replace=False, p=pop / pop.sum())] = [1, 3]
    return pd.DataFrame(counts, index=range(n))


def _dense_jaffe(counts):
    t = counts / counts.sum(axis=1, keepdims=True)
    unit = t / np.linalg.norm(t, axis=1, keepdims=True)
    p = unit @ unit.T
    np.fill_diagonal(p, 0)
    return p


def _dense_mahalanobis(counts):
    # BSV (2013): T~ rows of unit length, X~ share columns of unit length, TECH^M = T~ X~'X~ T~'
    t = counts / counts.sum(axis=1, keepdims=True)
    t = t[:, t.sum(axis=0) > 0]  # a class no firm uses has no norm, and no weight either
    t_tilde = t / np.linalg.norm(t, axis=1, keepdims=True)
    x_tilde = t / np.linalg.norm(t, axis=0, keepdims=True)
    p = t_tilde @ (x_tilde.T @ x_tilde) @ t_tilde.T
    np.fill_diagonal(p, 0)
    return p


def test_jaffe_by_hand():
    # f1 = (1, 0), f2 = (1/2, 1/2), f3 = (0, 1), f4 = (2, 2) counts -> same shares as f2
    shares = pd.DataFrame({"a": [1.0, 1, 0, 2], "b": [0.0, 1, 1, 2]}, index=[1, 2, 3, 4])
    p = weights.technology(shares).matrix.toarray()
    r = 1 / np.sqrt(2)
    expected = np.array([[0, r, 0, r], [r, 0, r, 1], [0, r, 0, r], [r, 1, r, 0]])
    np.testing.assert_allclose(p, expected, rtol=1e-15, atol=1e-15)


def test_mahalanobis_by_hand():
    # Two firms, classes a, b: f1 = (1, 0), f2 = (1/2, 1/2). Column norms: a sqrt(1.25),
    # b 1/2; Omega_ab = (1 * 0 + 1/2 * 1/2) / (sqrt(1.25) * 1/2) = 1/sqrt(5).
    # TECH^M_12 = T~_1 Omega T~_2' = (1, 0) [[1, w], [w, 1]] (r, r)' = r (1 + w), r = 1/sqrt2
    shares = pd.DataFrame({"a": [1.0, 1.0], "b": [0.0, 1.0]}, index=["f1", "f2"])
    p = weights.technology(shares, method="mahalanobis").matrix.toarray()
    expected = (1 + 1 / np.sqrt(5)) / np.sqrt(2)
    np.testing.assert_allclose(p, [[0, expected], [expected, 0]], rtol=1e-14)


@pytest.mark.parametrize(
    ("method", "dense"), [("jaffe", _dense_jaffe), ("mahalanobis", _dense_mahalanobis)]
)
@pytest.mark.parametrize("profiles", [_random_shares, _few_classes_each])
def test_matches_dense_closed_form(method, dense, path, profiles):
    shares = profiles()
    ref = dense(shares.to_numpy())
    w = weights.technology(shares, method=method, islands="keep")
    # same products in another order: agreement to a few ulps
    np.testing.assert_allclose(w.matrix.toarray(), ref, rtol=1e-12, atol=1e-14)
    assert w.nnz == np.count_nonzero(ref > 0)  # only positive pairs stored
    assert w.is_symmetric and list(w.ids) == list(shares.index)


def test_threshold_and_top_k(path):
    shares = _random_shares()
    ref = _dense_jaffe(shares.to_numpy())
    w = weights.technology(
        shares, threshold=0.55, islands="keep"
    )  # no value within rounding of 0.55
    np.testing.assert_allclose(w.matrix.toarray(), np.where(ref >= 0.55, ref, 0), rtol=1e-12)
    top = weights.technology(shares, k=3, islands="keep").matrix.toarray()
    for i in range(len(ref)):
        kept = np.flatnonzero(top[i])
        assert len(kept) == min(3, np.count_nonzero(ref[i]))
        # every kept value is at least as large as every dropped positive value
        dropped = np.setdiff1d(np.flatnonzero(ref[i]), kept)
        if len(dropped):
            assert ref[i, kept].min() >= ref[i, dropped].max() - 1e-12


def test_sparse_inputs_and_blocks(monkeypatch):
    from spillover.weights import _technology

    shares = _random_shares()
    ref = _dense_jaffe(shares.to_numpy())
    monkeypatch.setattr(_technology, "_BLOCK", 50)  # many small row blocks
    from_matrix = weights.technology(
        sp.csr_array(shares.to_numpy()), ids=shares.index, islands="keep"
    )
    from_sparse_frame = weights.technology(
        shares.astype(pd.SparseDtype(float, 0.0)), islands="keep"
    )
    for w in (from_matrix, from_sparse_frame):
        np.testing.assert_allclose(w.matrix.toarray(), ref, rtol=1e-12, atol=1e-14)


def test_top_k_ties_keep_lower_columns(path):
    shares = pd.DataFrame({"a": np.ones(6)}, index=list("uvwxyz"))  # every P_ij = 1
    top = weights.technology(shares, k=2).matrix.toarray()
    expected = np.zeros((6, 6))
    for i in range(6):
        expected[i, [j for j in range(6) if j != i][:2]] = 1.0
    np.testing.assert_array_equal(top, expected)


def test_refuses_when_too_large_and_points_to_low_rank_pool(path):
    shares = pd.DataFrame({"a": np.ones(300)}, index=range(300))  # everyone in one class
    with pytest.raises(WeightsError, match=r"measures\.technology_pool"):
        weights.technology(shares, max_nnz=10_000)  # 300 x 299 = 89,700 pairs
    assert weights.technology(shares, k=5, max_nnz=10_000).nnz == 1_500


def test_firm_without_patents_or_alone_is_an_island():
    shares = pd.DataFrame(
        {"a": [1.0, 1.0, 0.0, 0.0], "b": [0.0, 0.0, 1.0, 0.0]}, index=["x", "y", "solo", "none"]
    )
    with pytest.raises(WeightsError, match="'solo', 'none'"):
        weights.technology(shares)
    assert list(weights.technology(shares, islands="keep").islands) == ["solo", "none"]


def test_bad_shares_are_named():
    bad = pd.DataFrame({"a": [1.0, -1.0, np.nan], "b": [0.0, 1.0, 1.0]}, index=["ok", "neg", "nan"])
    with pytest.raises(WeightsError, match="'neg', 'nan'"):
        weights.technology(bad)
    dup = pd.DataFrame({"a": [1.0, 1.0]}, index=["f", "f"])
    with pytest.raises(WeightsError, match="duplicate"):
        weights.technology(dup)
    with pytest.raises(SpecificationError, match="ids="):
        weights.technology(np.ones((3, 2)))
    with pytest.raises(SpecificationError, match="method"):
        weights.technology(dup.iloc[:1], method="cosine")


def test_non_numeric_share_columns_are_named():
    # A firm-name column left among the classes used to fail inside pandas ("could not
    # convert string to float") without saying which column or what to do.
    shares = pd.DataFrame(
        {"c1": [1.0, 1.0, 0.0], "c2": [0.0, 1.0, 1.0], "name": ["x", "y", "z"]},
        index=["f1", "f2", "f3"],
    )
    with pytest.raises(SpecificationError, match=r"columns 'name' are not numeric.*set_index"):
        weights.technology(shares)
    sparse = shares[["c1", "c2"]].astype(pd.SparseDtype(float, 0.0))
    assert weights.technology(sparse).nnz == 4  # sparse numeric columns still accepted
