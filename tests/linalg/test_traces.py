"""tr(W^k) kernels against dense numpy matrix powers at small N."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from libpysal.weights import lat2W
from numpy.testing import assert_allclose

from spillover.errors import SpecificationError, WeightsError
from spillover.linalg import traces
from spillover.linalg.structure import symmetric_similar
from spillover.linalg.traces import power_traces, trace_estimate


def rook(n_side: int) -> sp.csr_array:
    w = lat2W(n_side, n_side, rook=True)
    w.transform = "r"
    return sp.csr_array(w.sparse)


def knn_like(n: int, k: int, seed: int = 0) -> sp.csr_array:
    """Row-standardised, non-symmetric k-nearest-neighbour W on random points."""
    pts = np.random.default_rng(seed).random((n, 2))
    d = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    np.fill_diagonal(d, np.inf)
    nbr = np.argsort(d, axis=1)[:, :k]
    rows = np.repeat(np.arange(n), k)
    return sp.csr_array((np.full(n * k, 1.0 / k), (rows, nbr.ravel())), shape=(n, n))


def dense_traces(w: sp.csr_array, order: int) -> np.ndarray:
    d = w.toarray()
    out, p = [], np.eye(len(d))
    for _ in range(order):
        p = p @ d
        out.append(np.trace(p))
    return np.array(out)


@pytest.mark.parametrize("w", [rook(6), knn_like(50, 3)], ids=["rook", "knn"])
def test_exact_path_equals_matrix_powers(w):
    # Unit-vector sparse products vs repeated dense products: same sums, rounding only.
    got = trace_estimate(w, 30, method="exact")
    assert got.method == "exact"
    assert_allclose(got.traces, dense_traces(w, 30), rtol=1e-11, atol=1e-11)
    assert not got.std_errors.any()


@pytest.mark.parametrize("order", [1, 2, 3, 8, 9])
@pytest.mark.parametrize("transform", ["r", "b"])
def test_symmetric_form_kernel_for_odd_and_even_orders(order, transform):
    # Row-standardised binary and binary symmetric W take the half-products path.
    w = lat2W(9, 9, rook=False)
    w.transform = transform
    w = sp.csr_array(w.sparse)
    assert symmetric_similar(w) is not None
    assert_allclose(power_traces(w, order, method="exact"), dense_traces(w, order), rtol=1e-11)


def test_symmetric_form_is_none_for_general_w():
    assert symmetric_similar(knn_like(30, 3)) is None


def test_exact_path_spans_several_unit_vector_blocks():
    # N = 150 > the 64-column block: block boundaries must not drop or repeat columns.
    w = knn_like(150, 5, seed=3)
    assert_allclose(power_traces(w, 8, method="exact"), dense_traces(w, 8), rtol=1e-11)


def test_auto_switches_to_monte_carlo_above_the_work_limit(monkeypatch):
    monkeypatch.setattr(traces, "EXACT_MAX_WORK", 10.0)
    assert trace_estimate(rook(5), 5, seed=0).method == "mc"


@pytest.mark.parametrize(
    "w", [knn_like(400, 5), rook(20)], ids=["knn_general", "rook_symmetric_form"]
)
def test_mc_within_its_standard_errors_and_reproducible(w):
    exact = dense_traces(w, 12)
    est = trace_estimate(w, 12, method="mc", draws=200, seed=7)
    assert est.method == "mc" and est.draws == 200
    # k <= 4 are replaced by the exact values from sparse W and W^2.
    assert_allclose(est.traces[:4], exact[:4], rtol=1e-12, atol=1e-12)
    assert not est.std_errors[:4].any()
    # Higher powers: unbiased, error within 4 of its own standard errors (seeded, so fixed).
    z = (est.traces[4:] - exact[4:]) / est.std_errors[4:]
    assert np.abs(z).max() < 4
    again = power_traces(w, 12, method="mc", draws=200, seed=7)
    assert_allclose(again, est.traces, rtol=0, atol=0)


def test_mc_standard_error_shrinks_with_draws():
    w = knn_like(300, 4)
    se_small = trace_estimate(w, 8, method="mc", draws=20, seed=1).std_errors[4:]
    se_big = trace_estimate(w, 8, method="mc", draws=320, seed=1).std_errors[4:]
    # 16x the draws: SEs fall by about 4 (sampling noise in the SD estimate allows 2..8).
    ratio = se_small / se_big
    assert ((ratio > 2) & (ratio < 8)).all()


def test_mc_keeps_only_two_exact_traces_when_w_squared_is_too_dense(monkeypatch):
    monkeypatch.setattr(traces, "LOW_MAX_NNZ", 10.0)
    est = trace_estimate(knn_like(200, 4), 6, method="mc", draws=30, seed=2)
    assert not est.std_errors[:2].any() and est.std_errors[2:].all()


def test_auto_uses_exact_for_small_n_and_dense_input_is_accepted():
    d = np.array([[0, 1.0], [1.0, 0]])
    assert_allclose(power_traces(d, 4, method="auto"), [0, 2, 0, 2])
    assert trace_estimate(sp.csr_array(d), 3).method == "exact"


def test_bad_input_is_rejected():
    w = rook(3)
    with pytest.raises(SpecificationError, match="order"):
        power_traces(w, 0)
    with pytest.raises(SpecificationError, match="method"):
        power_traces(w, 3, method="chebyshev")
    with pytest.raises(SpecificationError, match="draws"):
        power_traces(w, 3, method="mc", draws=1)
    with pytest.raises(WeightsError, match="square"):
        power_traces(sp.csr_array(np.ones((2, 3))), 3)


def _hub_w() -> sp.csr_array:
    """Binary rook lattice plus a hub linked to 20 cells, scaled to spectral radius 1."""
    a = sp.lil_array(rook(7) > 0, dtype=float)
    for j in range(5, 25):
        a[0, j] = a[j, 0] = 1.0
    a = sp.csr_array(a)
    return a / np.abs(np.linalg.eigvals(a.toarray())).max()


@pytest.mark.parametrize(
    "w",
    [_hub_w(), sp.csr_array(lat2W(6, 6).sparse), knn_like(40, 3), rook(6)],
    ids=["hub_spectral", "binary_rook", "knn_row", "rook_row"],
)
def test_spectral_bound_is_an_upper_bound_and_tight(w):
    # Reference: the spectral radius from dense eigenvalues (small N). The bound must not
    # be below it and, for these connected nonnegative W, be within 1% of it.
    radius = np.abs(np.linalg.eigvals(w.toarray())).max()
    r, c = traces.spectral_bound(w)
    assert radius * (1 - 1e-12) <= r <= radius * 1.01  # eigvals carry ~1e-15 rounding
    # |1'W^q 1|/N <= C r^q, checked by dense powers.
    v = np.ones(w.shape[0])
    for q in range(1, 30):
        v = w @ v
        assert abs(v.sum()) / w.shape[0] <= c * r**q * (1 + 1e-9)


def test_spectral_bound_falls_back_to_row_sums_with_negative_weights():
    w = sp.csr_array(np.array([[0, 1.0, -0.5], [0.3, 0, 0.3], [1.0, 0, 0]]))
    assert traces.spectral_bound(w) == (1.5, 1.0)


def _dense_abcd(w: sp.csr_array, rho: float) -> np.ndarray:
    """a, b, c, d of (I - rho W)^-1 from a dense inverse."""
    d = w.toarray()
    n = len(d)
    a = np.linalg.inv(np.eye(n) - rho * d)
    return np.array([np.trace(a), np.trace(a @ d), a.sum(), (a @ d).sum()]) / n


@pytest.mark.parametrize("order", [4, 60])
def test_mean_multipliers_average_and_bound_the_period_mean(order):
    # W_t: row-standardised rook (closed-form sums) and a hub matrix with spectral radius
    # 1.5 and series sums, used in 3 and 1 periods. The mean multipliers must be within
    # their own truncation bound (largest radius) of the dense period mean, and that bound
    # must be small at order 60.
    rho = 0.3
    hub = _hub_w() * 1.5
    parts = [(traces.multipliers(rook(7), order, method="exact"), 3)]
    parts.append((traces.multipliers(hub, order, method="exact"), 1))
    mean = traces.mean_multipliers(parts)
    expect = (3 * _dense_abcd(rook(7), rho) + _dense_abcd(hub, rho)) / 4
    err = np.abs(mean.values(rho)[0] - expect)
    bound = mean.error_bounds(rho)[0]
    assert (err <= bound + 1e-13).all() and mean.radius == parts[1][0].radius
    assert err.max() > 1e-6 if order == 4 else bound.max() < 1e-9
    assert traces.mean_multipliers(parts[:1]) is parts[0][0]
