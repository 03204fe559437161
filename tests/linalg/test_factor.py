"""The one factorisation of I - rho W against dense numpy.

``SpatialFilter`` (sparse LU, COLAMD) and ``np.linalg.slogdet`` / ``solve`` (dense LU with
partial pivoting) compute the same quantities with the same floating-point operations in a
different order (pivoting and fill-reducing permutations), so they agree to a few ulps
times the condition of I - rho W, far below 1e-12 relative for these |rho| < 1 and
well-conditioned lattices; nothing is approximated on either side.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from libpysal.weights import lat2W
from numpy.testing import assert_allclose, assert_array_equal

from spillover.linalg import SpatialMatrix
from spillover.linalg.factor import SpatialFilter
from spillover.linalg.logdet import log_determinant


def _knn(n: int, k: int, seed: int = 0) -> sp.csr_array:
    xy = np.random.default_rng(seed).uniform(size=(n, 2))
    d = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    cols = np.argsort(d, axis=1)[:, :k]
    return sp.csr_array(
        (np.full(n * k, 1 / k), (np.repeat(np.arange(n), k), cols.ravel())), shape=(n, n)
    )


def _rook(side: int) -> sp.csr_array:
    w = lat2W(side, side)
    return sp.csr_array(w.sparse, dtype=float)  # binary: spectral radius near 4


@pytest.mark.parametrize(
    ("w", "rhos"),
    [(_knn(120, 5), (-0.9, -0.3, 0.4, 0.95)), (_rook(9), (-0.2, 0.1, 0.24))],
    ids=["knn-row", "rook-binary"],
)
def test_spatial_filter_matches_dense_slogdet_and_solve(w, rhos):
    n = w.shape[0]
    rng = np.random.default_rng(7)
    b = rng.normal(size=(n, 3))
    for rho in rhos:
        dense = np.eye(n) - rho * w.toarray()
        f = SpatialFilter(w, rho)
        sign, value = np.linalg.slogdet(dense)
        assert sign > 0
        assert_allclose(f.logdet(), value, rtol=1e-12)
        assert_allclose(f.solve(b), np.linalg.solve(dense, b), rtol=1e-12, atol=1e-13)
        assert_allclose(f.solve(b[:, 0]), np.linalg.solve(dense, b[:, 0]), rtol=1e-12)


def test_rho_zero_is_the_identity_and_iterations_match_lu():
    w = _knn(80, 4)
    b = np.arange(80.0)
    assert SpatialFilter(w, 0.0).logdet() == 0.0
    assert_array_equal(SpatialFilter(w, 0.0).solve(b), b)
    lu = SpatialFilter(w, 0.5).solve(b)
    # the fixed-point path (used by the variance above ITERATE_ABOVE_N) stops at a 1e-11 step
    it = SpatialFilter(w, 0.5, iterate=True)
    it._lu = None
    assert_allclose(it.solve(b), lu, rtol=1e-9)
    assert_allclose(it.logdet(), SpatialFilter(w, 0.5).logdet(), rtol=0)


def test_lu_log_determinant_is_the_filter():
    w = SpatialMatrix(_knn(150, 4))  # not symmetric-like: the sparse LU kernel
    ld = log_determinant(w, method="lu")
    assert "sparse LU" in ld.description
    for rho in (-0.5, 0.3, 0.8):
        assert ld(rho) == SpatialFilter(w, rho).logdet()
