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
Traces are exact where affordable (``EXACT_MAX_WORK``): ``tr(M) = sum_j e_j' M e_j`` over
the unit vectors (M formed densely at N <= ``DENSE_MAX_N``); otherwise Hutchinson estimates
with Rademacher probes (``E z'Mz = tr(M)``), their precision stated in the results. No N x N
matrix is formed above ``DENSE_MAX_N``. Every solve with A or
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

#: Largest cost of exact traces in the information matrix, in units of one sparse
#: solve's work: ``N x nnz(LU factors) x solves per unit vector`` (2 for SAR and SEM,
#: 7 for SAC). Measured (``benchmarks/trace_cost.py``; k = 6 nearest-neighbour W, one core
#: of a shared machine): 1.1-1.3 s CPU for SAR at N = 3,085 (work 6.2e8), 3.7 s for SAC
#: there (2.2e9), 3.4-3.6 s for SAR at N = 5,000 (1.9e9), 11 s for SAC at 5,000 (6.8e9); about
#: 2e-9 s per unit, growing like N^2 on planar W. Monte Carlo traces cost 0.01-0.1 s at
#: these N but leave a relative error of order 1e-4 to 1e-3 in the SEs of rho and lambda
#: (stated in the results). 4e9 keeps exact traces to a few seconds, about the time of
#: the fit itself, and covers SAC on 3,085 regions with a rook-like planar W (nnz(LU)
#: 1.6e5, work 3.4e9) and SAR up to about 5,000 regions.
EXACT_MAX_WORK = 4e9
#: Largest N for which the exact traces form Gt and H as dense N x N matrices (fewer
#: solves, N^2 memory); above it they sum e_j' M e_j over blocks of UNIT_BLOCK unit vectors.
DENSE_MAX_N = 1500
UNIT_BLOCK = 256
#: Rademacher probes for the traces above EXACT_MAX_WORK (fewer at N > 100,000, where the
#: relative error, of order 1 / sqrt(N probes), is already below 1e-3).
PROBES = 30
PROBES_LARGE = 10


def default_probes(n: int) -> int:
    return PROBES if n <= 100_000 else PROBES_LARGE


def information(
    lik: Likelihood,
    est: Estimates,
    *,
    draws: int,
    seed: int,
    note: dict[str, str] | None = None,
    memo: dict | None = None,
) -> FloatArray:
    """Expected information of (beta, [rho], [lambda], sigma2) at the estimates.

    ``memo``, if given, keeps the traces by ``(rho, lambda)`` (they depend on nothing else),
    so repeated calls at estimates that differ only in beta or sigma^2 (numerical
    derivatives) solve nothing again.

    ``note``, if given, receives ``note["Traces"]``: ``"exact"``, or for Monte Carlo traces
    (exact work above ``EXACT_MAX_WORK``) e.g. ``"stochastic (30 Rademacher draws; relative SE of
    SE(rho) 2.1e-04)"``: the Monte Carlo standard error of each spatial parameter's
    standard error relative to it, by the delta method (``V = I^-1``, ``dV = -V dI V``,
    ``dI`` the per-probe deviations of the information, which is linear in the traces;
    halved for the square root).
    """
    key = (est.rho, est.lam, draws, seed)
    if memo is not None and key in memo:
        t, per_probe = memo[key]
    else:
        t, per_probe = _mean_traces(lik.w, est, lik, draws=draws, seed=seed)
        if memo is not None:
            memo[key] = (t, per_probe)
    eta = _mean_lag(lik, est) if lik.lag_y else None
    info = _assemble(lik, est, t, eta)
    if note is not None:
        note["Traces"] = _precision(lik, est, info, eta, per_probe)
    return info


def _assemble(
    lik: Likelihood, est: Estimates, t: dict[str, Any], eta: FloatArray | None
) -> FloatArray:
    """The information matrix from the traces ``t`` (linear in them)."""
    d, tr = lik.data, lik.transform
    s2, m, n = est.sigma2, tr.periods, tr.nobs
    xs = d.x - est.lam * d.wx if lik.error else d.x
    k = xs.shape[1]
    dim = k + int(lik.lag_y) + int(lik.error) + 1
    info = np.zeros((dim, dim))
    info[:k, :k] = xs.T @ xs / s2
    pos = k
    if eta is not None:
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


def _precision(
    lik: Likelihood,
    est: Estimates,
    info: FloatArray,
    eta: FloatArray | None,
    per_probe: dict[str, FloatArray] | None,
) -> str:
    """``"exact"``, or the Monte Carlo relative SE of the spatial parameters' SEs."""
    if per_probe is None:
        return "exact"
    draws = len(next(iter(per_probe.values())))
    v = np.linalg.inv(info)

    def deviation(r: int) -> FloatArray:  # diag of V dI_r V, dI_r = I(forms of probe r) - I
        one = _assemble(lik, est, {key: f[r] for key, f in per_probe.items()}, eta)
        return np.diag(v @ (one - info) @ v)

    dev = np.array([deviation(r) for r in range(draws)])
    rel = 0.5 * dev.std(axis=0, ddof=1) / np.sqrt(draws) / np.abs(np.diag(v))
    k = lik.data.x.shape[1]
    names = ["rho"] * lik.lag_y + ["lambda"] * lik.error
    parts = ", ".join(f"SE({name}) {rel[k + i]:.1e}" for i, name in enumerate(names))
    return f"stochastic ({draws} Rademacher draws; relative SE of {parts})"


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
) -> tuple[dict[str, float], dict[str, FloatArray] | None]:
    """Traces for one W, or their mean over periods for one W per period, and the
    per-probe forms (Monte Carlo, the same probes for every W) or None (exact)."""
    pairs = w.distinct if isinstance(w, PeriodMatrices) else [(w, 1)]
    total = sum(c for _, c in pairs)
    parts = []
    for sm, count in pairs:
        spatial = as_spatial_matrix(sm)
        matrix = spatial.matrix
        solvers = (
            SpatialFilter(spatial, est.rho, iterate=True),
            SpatialFilter(spatial, est.lam, iterate=True),
        )
        parts.append((count / total, *_traces(matrix, *solvers, est, lik, draws=draws, seed=seed)))
    out = {key: sum(c * one[key] for c, one, _ in parts) for key in parts[0][1]}
    if all(forms is None for _, _, forms in parts):
        return out, None
    # per probe: Monte Carlo forms, or the exact trace (the same for every probe)
    probes = {
        key: sum(c * (one[key] if forms is None else forms[key]) for c, one, forms in parts)
        for key in out
    }
    return out, {key: np.broadcast_to(v, (draws,)).astype(float) for key, v in probes.items()}


def _traces(
    w: sp.csr_array,
    a_solve: SpatialFilter,
    b_solve: SpatialFilter,
    est: Estimates,
    lik: Likelihood,
    *,
    draws: int,
    seed: int,
) -> tuple[dict[str, float], dict[str, FloatArray] | None]:
    """Traces (exact: summed over all unit vectors) and, for Monte Carlo, the per-probe
    quadratic forms whose mean they are."""
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

    g = centred(g_op) if lik.lag_y else None
    h = centred(h_op) if lik.error else None
    solves = (2 + 2 * lik.error if lik.lag_y else 0) + (2 + lik.lag_y if lik.error else 0)
    work = n * max(w.nnz, a_solve.factor_nnz, b_solve.factor_nnz) * solves
    if work <= EXACT_MAX_WORK and n <= DENSE_MAX_N:  # the matrices, from all unit vectors
        gm = None if g is None else g(np.eye(n))
        hm = None if h is None else h(np.eye(n))
        return _products(gm, hm), None
    if work <= EXACT_MAX_WORK:  # tr(M) = sum_j e_j' M e_j, UNIT_BLOCK unit vectors at a time
        sums: dict[str, float] = {}
        for start in range(0, n, UNIT_BLOCK):
            cols = np.arange(start, min(start + UNIT_BLOCK, n))
            z = np.zeros((n, len(cols)))
            z[cols, np.arange(len(cols))] = 1.0
            for key, forms in _forms(z, g, h).items():
                sums[key] = sums.get(key, 0.0) + float(forms.sum())
        return sums, None
    z = as_rng(seed).choice([-1.0, 1.0], size=(n, draws))
    if project:
        z = _centre(z)
    per_probe = _forms(z, g, h)
    return {key: float(forms.mean()) for key, forms in per_probe.items()}, per_probe


def _products(gm: FloatArray | None, hm: FloatArray | None) -> dict[str, float]:
    """Traces from dense Gt and H: tr(AB) = sum(A .* B'), tr(A'B) = sum(A .* B)."""
    out: dict[str, float] = {}
    if gm is not None:
        out |= {"G": float(np.trace(gm)), "GG": _tr_ab(gm, gm), "GtG": float((gm * gm).sum())}
    if hm is not None:
        out |= {"H": float(np.trace(hm)), "HH": _tr_ab(hm, hm), "HtH": float((hm * hm).sum())}
    if gm is not None and hm is not None:
        out |= {"HG": _tr_ab(hm, gm), "HtG": float((hm * gm).sum())}
    return out


def _tr_ab(a: FloatArray, b: FloatArray) -> float:
    return float(np.einsum("ij,ji->", a, b))


def _forms(
    z: FloatArray,
    g: Callable[[FloatArray], FloatArray] | None,
    h: Callable[[FloatArray], FloatArray] | None,
) -> dict[str, FloatArray]:
    """Per column r of z: ``z_r' M z_r`` for every M whose trace the information needs."""
    gz = None if g is None else g(z)
    hz = None if h is None else h(z)
    out: dict[str, FloatArray] = {}
    if g is not None and gz is not None:
        out |= {"G": _dots(z, gz), "GG": _dots(z, g(gz)), "GtG": _dots(gz, gz)}
    if h is not None and hz is not None:
        out |= {"H": _dots(z, hz), "HH": _dots(z, h(hz)), "HtH": _dots(hz, hz)}
    if h is not None and gz is not None and hz is not None:
        out |= {"HG": _dots(z, h(gz)), "HtG": _dots(hz, gz)}
    return out


def _dots(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.einsum("ij,ij->j", a, b)


def _centre(z: FloatArray) -> FloatArray:
    return z - z.mean(axis=0, keepdims=True)
