"""Asymptotic variance of the spatial ML estimators: information matrix or Hessian.

The analytic variance is the inverse of the expected information of
``theta = (beta, rho, lambda, sigma^2)`` (Lee and Yu 2010; Elhorst 2014, ch. 3; Anselin
1988 for SAC). With ``G = W A^-1``, ``Gt = B G B^-1``, ``H = W B^-1``, ``Xs = B X`` and
``eta = B G X beta`` (stacked over periods, re-demeaned):

    I_bb = Xs'Xs / s2          I_br = Xs' eta / s2
    I_rr = eta'eta / s2 + m [tr(Gt^2) + tr(Gt'Gt)]      I_rs = m tr(Gt) / s2
    I_ll = m [tr(H^2) + tr(H'H)]                         I_ls = m tr(H) / s2
    I_rl = m [tr(H Gt) + tr(H'Gt)]                       I_ss = n / (2 s2^2)

``m`` periods and ``n`` observations of the transformed likelihood. Under the Lee-Yu time
transformation every operator is sandwiched by the centring projection ``J = I - 11'/N``.
Traces are exact (dense, N <= ``DENSE_MAX_N``) or Hutchinson estimates with Rademacher
probes and sparse solves, so no N x N inverse is formed at large N. Every solve with A or
B goes through the one factorisation, :class:`~spillover.linalg.factor.SpatialFilter`
(with fixed-point iterations instead of LU above its ``ITERATE_ABOVE_N``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from spillover._typing import FloatArray
from spillover._validate import as_rng
from spillover.linalg.factor import SpatialFilter
from spillover.linalg.matrix import as_spatial_matrix
from spillover.linalg.stacking import PeriodMatrices, lag, solve
from spillover.models.spatial._core import Estimates, Likelihood
from spillover.models.spatial._data import within

#: Largest N for exact (dense) traces in the information matrix.
DENSE_MAX_N = 1500
#: Rademacher probes for the traces above DENSE_MAX_N (fewer at N > 100,000, where the
#: relative error, of order 1 / sqrt(N probes), is already below 1e-3).
PROBES = 30
PROBES_LARGE = 10


def default_probes(n: int) -> int:
    return PROBES if n <= 100_000 else PROBES_LARGE


def information(lik: Likelihood, est: Estimates, *, draws: int, seed: int) -> FloatArray:
    """Expected information of (beta, [rho], [lambda], sigma2) at the estimates."""
    d, tr = lik.data, lik.transform
    w = lik.w
    s2, m, n = est.sigma2, tr.periods, tr.nobs
    xs = d.x - est.lam * d.wx if lik.error else d.x
    t = _mean_traces(w, est, lik, draws=draws, seed=seed)
    k = xs.shape[1]
    dim = k + int(lik.lag_y) + int(lik.error) + 1
    info = np.zeros((dim, dim))
    info[:k, :k] = xs.T @ xs / s2
    pos = k
    if lik.lag_y:
        eta = _mean_lag(lik, est)
        info[:k, pos] = info[pos, :k] = xs.T @ eta / s2
        info[pos, pos] = eta @ eta / s2 + m * (t["GG"] + t["GtG"])
        info[pos, -1] = info[-1, pos] = m * t["G"] / s2
        pos += 1
    if lik.error:
        info[pos, pos] = m * (t["HH"] + t["HtH"])
        info[pos, -1] = info[-1, pos] = m * t["H"] / s2
        if lik.lag_y:
            info[pos - 1, pos] = info[pos, pos - 1] = m * (t["HG"] + t["HtG"])
    info[-1, -1] = n / (2 * s2**2)
    return info


def _mean_lag(lik: Likelihood, est: Estimates) -> FloatArray:
    """``eta``: the (filtered, demeaned) expectation of the spatial lag of y.

    One W: ``B G X beta`` on the demeaned X (G commutes with the demeaning). W_t by
    period (no error term): the fixed effects do not cancel from ``G_t (X_t beta + mu)``,
    so ``E[W_t y_t] = W_t y_t - G_t e_t`` (e the residuals), demeaned.
    """
    d, w, n = lik.data, lik.w, lik.w.shape[0]
    if isinstance(w, PeriodMatrices):
        e = est.structural.reshape(n, -1)
        return d.wy - within(lag(w, _solve_periods(w, est.rho, e).ravel()), n, lik.effects)
    xb = (d.x @ est.beta).reshape(n, -1)
    eta = lag(w, _solve_periods(w, est.rho, xb).ravel())
    if lik.error:
        eta = eta - est.lam * lag(w, eta)
    return within(eta, n, lik.effects)


def _solve_periods(w: Any, r: float, cube: FloatArray) -> FloatArray:
    """``(I - r W) x = b`` for the (N, T) columns of ``cube`` (``W_t`` per column if given)."""
    return solve(w, r, cube, iterate=True)


def _mean_traces(
    w: Any, est: Estimates, lik: Likelihood, *, draws: int, seed: int
) -> dict[str, float]:
    """Traces for one W, or their mean over periods for one W per period."""
    pairs = w.distinct if isinstance(w, PeriodMatrices) else [(w, 1)]
    total = sum(c for _, c in pairs)
    out: dict[str, float] = {}
    for sm, count in pairs:
        spatial = as_spatial_matrix(sm)
        matrix = spatial.matrix
        solvers = (
            SpatialFilter(spatial, est.rho, iterate=True),
            SpatialFilter(spatial, est.lam, iterate=True),
        )
        one = _traces(matrix, *solvers, est, lik, draws=draws, seed=seed)
        for key, value in one.items():
            out[key] = out.get(key, 0.0) + count * value / total
    return out


def _traces(
    w: sp.csr_array,
    a_solve: SpatialFilter,
    b_solve: SpatialFilter,
    est: Estimates,
    lik: Likelihood,
    *,
    draws: int,
    seed: int,
) -> dict[str, float]:
    n = w.shape[0]
    project = lik.transform.project

    def g_op(z: FloatArray) -> FloatArray:  # Gt z = B W A^-1 B^-1 z
        v = w @ a_solve.solve(b_solve.solve(z))
        return v - est.lam * (w @ v)

    def h_op(z: FloatArray) -> FloatArray:  # H z = W B^-1 z
        return w @ b_solve.solve(z)

    def centred(op: Callable[[FloatArray], FloatArray]) -> Callable[[FloatArray], FloatArray]:
        if not project:
            return op
        return lambda z: _centre(op(_centre(z)))

    g, h = centred(g_op), centred(h_op)
    if n <= DENSE_MAX_N:
        eye = np.eye(n)
        if project:
            eye = _centre(eye)
        gm = g(eye) if lik.lag_y else None
        hm = h(eye) if lik.error else None
        return _products(gm, hm, lambda a, b: float(np.einsum("ij,ji->", a, b)))
    z = as_rng(seed).choice([-1.0, 1.0], size=(n, draws))
    if project:
        z = _centre(z)
    gz = g(z) if lik.lag_y else None
    hz = h(z) if lik.error else None
    out: dict[str, float] = {}
    if gz is not None:
        out |= {"G": _mean_dot(z, gz), "GG": _mean_dot(z, g(gz)), "GtG": _mean_dot(gz, gz)}
    if hz is not None:
        out |= {"H": _mean_dot(z, hz), "HH": _mean_dot(z, h(hz)), "HtH": _mean_dot(hz, hz)}
    if gz is not None and hz is not None:
        out |= {"HG": _mean_dot(z, h(gz)), "HtG": _mean_dot(hz, gz)}
    return out


def _products(
    gm: FloatArray | None, hm: FloatArray | None, tr_ab: Callable[[FloatArray, FloatArray], float]
) -> dict[str, float]:
    out: dict[str, float] = {}
    if gm is not None:
        out |= {"G": float(np.trace(gm)), "GG": tr_ab(gm, gm), "GtG": float((gm * gm).sum())}
    if hm is not None:
        out |= {"H": float(np.trace(hm)), "HH": tr_ab(hm, hm), "HtH": float((hm * hm).sum())}
    if gm is not None and hm is not None:
        out |= {"HG": tr_ab(hm, gm), "HtG": float((hm * gm).sum())}
    return out


def _centre(z: FloatArray) -> FloatArray:
    return z - z.mean(axis=0, keepdims=True)


def _mean_dot(a: FloatArray, b: FloatArray) -> float:
    return float(np.einsum("ij,ij->", a, b)) / a.shape[1]
