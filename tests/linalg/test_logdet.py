"""log|I - rho W| kernels against a dense brute-force slogdet.

Exact kernels (eigen, banded Cholesky, sparse LU) must agree with numpy's dense
``slogdet`` to rounding (1e-9 per unit of N). The approximations are checked per unit of N
against their own stated bounds: Chebyshev (degree 24) and the Barry-Pace series (order 60)
with exact traces within 1e-8 for |rho| <= 0.8, and with Monte Carlo traces within four
standard errors of the rho-weighted trace sum, ``sum_k |rho|^k / k se(tr W^k)``, from the
same probes (the Chebyshev monomial weights are close to these Taylor weights).
"""

from __future__ import annotations

import warnings

import libpysal
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from spillover.errors import ApproximationWarning, SpecificationError
from spillover.linalg.logdet import log_determinant, parameter_bounds
from spillover.linalg.traces import trace_estimate

RHOS = [-0.8, -0.4, 0.0, 0.3, 0.6, 0.8]


def _lattice(side: int, *, row: bool = True, rook: bool = True) -> sp.csr_array:
    w = libpysal.weights.lat2W(side, side, rook=rook)
    if row:
        w.transform = "r"
    return sp.csr_array(w.sparse)


def _knn(n: int, k: int = 4, seed: int = 0) -> sp.csr_array:
    """Row-standardised k-nearest neighbours: not symmetric, complex spectrum."""
    xy = np.random.default_rng(seed).uniform(size=(n, 2))
    d = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    cols = np.argsort(d, axis=1)[:, :k]
    rows = np.repeat(np.arange(n), k)
    return sp.csr_array((np.full(n * k, 1 / k), (rows, cols.ravel())), shape=(n, n))


def _dense(w: sp.csr_array, rho: float) -> float:
    sign, value = np.linalg.slogdet(np.eye(w.shape[0]) - rho * w.toarray())
    assert sign > 0
    return value


@pytest.mark.parametrize(
    "w",
    [_lattice(12), _lattice(10, rook=False), _lattice(8, row=False), _knn(150)],
    ids=["rook-row", "queen-row", "rook-binary", "knn-row"],
)
@pytest.mark.parametrize("method", ["eigen", "lu"])
def test_exact_kernels_match_dense_slogdet(w, method):
    ld = log_determinant(w, method=method)
    lo, hi = ld.bounds
    for rho in RHOS:
        r = rho * (hi if rho > 0 else -lo)  # same share of the admissible interval
        assert_allclose(ld(r), _dense(w, r), atol=1e-9 * w.shape[0])


def test_banded_cholesky_is_used_for_symmetric_like_w_and_lu_otherwise():
    assert "Cholesky" in log_determinant(_lattice(10), method="lu").description
    assert "sparse LU" in log_determinant(_knn(100), method="lu").description


@pytest.mark.parametrize("method", ["chebyshev", "mc"])
def test_approximations_with_exact_traces(method):
    w = _lattice(20)
    ld = log_determinant(w, method=method, traces="exact")
    for rho in RHOS:
        assert abs(ld(rho) - _dense(w, rho)) / w.shape[0] < 1e-8
        assert ld.error_bound(rho) < 1e-6


@pytest.mark.parametrize("method", ["chebyshev", "mc"])
def test_approximations_with_monte_carlo_traces(method):
    w = _lattice(20)
    ld = log_determinant(w, method=method, traces="mc", draws=50, seed=1)
    assert "mc traces, 50 probes" in ld.description
    se = trace_estimate(w, 60, method="mc", draws=50, seed=1).std_errors
    k = np.arange(1, 61)
    for rho in RHOS:
        tol = 4 * (np.abs(rho) ** k / k) @ se + 1e-8 * w.shape[0]
        assert abs(ld(rho) - _dense(w, rho)) < tol


def test_approximation_warns_near_the_bound():
    ld = log_determinant(_lattice(10), method="mc", traces="exact")
    with pytest.warns(ApproximationWarning, match="error bound"):
        ld.check(0.99)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ld.check(0.3)


def test_approximation_warns_for_complex_spectrum():
    ld = log_determinant(_knn(200), method="chebyshev", traces="exact")
    with pytest.warns(ApproximationWarning, match="real spectrum"):
        ld.check(0.3)


def test_bounds():
    assert parameter_bounds(_lattice(5)) == (-1.0, 1.0)
    binary = _lattice(6, row=False)
    r = np.abs(np.linalg.eigvalsh(binary.toarray())).max()
    assert_allclose(parameter_bounds(binary), (-1 / r, 1 / r), rtol=1e-10)


def test_auto_choice_and_bad_method():
    assert log_determinant(_lattice(10)).method == "eigen"
    assert log_determinant(_lattice(40)).method == "lu"
    with pytest.raises(SpecificationError, match="logdet must be one of"):
        log_determinant(_lattice(5), method="cholesky")
