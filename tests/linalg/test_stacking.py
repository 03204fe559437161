"""The one stacking convention: W within each period against explicit Kronecker products.

On a small case the dense ``I_T (x) W`` (time-major rows) and ``W (x) I_T`` (entity-major
rows) are built with ``np.kron`` and compared with :func:`lag` / :func:`solve`, which never
form them. Lags are the same sums of the same products (exact up to the order of
summation: 1e-13 relative); solves agree to rounding of a sparse LU against a dense LU.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from spillover.errors import WeightsError
from spillover.linalg.stacking import PeriodMatrices, lag, solve, to_entity_major, to_time_major

N, T, K = 6, 4, 3


def _w(seed: int) -> sp.csr_array:
    rng = np.random.default_rng(seed)
    dense = rng.uniform(size=(N, N)) * (rng.uniform(size=(N, N)) < 0.5)
    np.fill_diagonal(dense, 0.0)
    return sp.csr_array(dense / np.maximum(dense.sum(axis=1, keepdims=True), 1e-12))


def test_lag_is_kron_of_identity_and_w_on_time_major_rows():
    w = _w(0)
    rng = np.random.default_rng(1)
    a = rng.normal(size=(N * T, K))  # entity-major
    kron_tm = np.kron(np.eye(T), w.toarray())  # I_T (x) W acts on time-major rows
    expected = to_entity_major(kron_tm @ to_time_major(a, T), T)
    assert_allclose(lag(w, a), expected, rtol=1e-13, atol=1e-15)
    assert_allclose(lag(w, a), np.kron(w.toarray(), np.eye(T)) @ a, rtol=1e-13, atol=1e-15)
    v = a[:, 0]
    assert_allclose(lag(w, v), np.kron(w.toarray(), np.eye(T)) @ v, rtol=1e-13, atol=1e-15)
    # the (N, T) and (N, T, K) views are the same stacking
    assert_array_equal(lag(w, v.reshape(N, T)).ravel(), lag(w, v))
    assert_array_equal(lag(w, a.reshape(N, T, K)).reshape(N * T, K), lag(w, a))


def test_weights_by_period_are_block_diagonal_kron():
    mats = [_w(0), _w(1), _w(0)]  # periods 0 and 2 share their matrix
    pm = PeriodMatrices.of(mats)
    assert [periods for _, periods in pm.groups] == [(0, 2), (1,)]
    a = np.random.default_rng(2).normal(size=(N * T - N, K))  # T = 3 here
    blocks = scipy.linalg.block_diag(*[m.toarray() for m in mats])  # time-major rows
    expected = to_entity_major(blocks @ to_time_major(a, 3), 3)
    assert_allclose(lag(pm, a), expected, rtol=1e-13, atol=1e-15)
    rho = 0.6
    inverse = np.linalg.inv(np.eye(3 * N) - rho * blocks)
    want = to_entity_major(inverse @ to_time_major(a, 3), 3)
    assert_allclose(solve(pm, rho, a), want, rtol=1e-12, atol=1e-14)


def test_solve_with_one_w_inverts_every_period():
    w = _w(3)
    y = np.random.default_rng(4).normal(size=N * T)
    kron = np.kron(w.toarray(), np.eye(T))  # entity-major
    x = solve(w, 0.7, y)
    assert_allclose(x - 0.7 * (kron @ x), y, rtol=1e-12, atol=1e-13)
    assert_array_equal(solve(w, 0.0, y), y)


def test_reordering_round_trips_and_mismatched_periods_are_named():
    a = np.arange(N * T * 2.0).reshape(N * T, 2)
    assert_array_equal(to_time_major(to_entity_major(a, T), T), a)
    assert_array_equal(to_entity_major(a[:, 0], T).reshape(N, T)[:, 0], a[:N, 0])
    with pytest.raises(WeightsError, match=r"period 'b' is 5 x 5.*6 x 6"):
        PeriodMatrices.of([_w(0), sp.identity(5, format="csr")], labels=["a", "b"])
    with pytest.raises(WeightsError, match="empty"):
        PeriodMatrices.of([])
