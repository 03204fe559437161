"""Stability and the analytic bias correction of the dynamic spatial panel (Yu, de Jong, Lee).

Model ``y_t = tau y_{t-1} + rho W y_t + eta W y_{t-1} + X_t beta + W X_t theta + mu + e_t``.
With ``S = I - rho W``, ``A = S^-1 (tau I + eta W)`` and ``G = W S^-1``, the direct QML on
the within-transformed data (T' = T - 1 periods used) has the leading bias
``E[theta_hat] - theta = -(1/T') Sigma^-1 a`` (Yu, de Jong and Lee 2008, J. Econometrics
146, Theorem 2; stable case), ``Sigma`` the information per observation and

    a = (1/n) ( tr(R), tr(W R), 0 (beta, theta), tau tr(G R) + eta tr(G W R) + tr(G),
                n / (2 sigma^2) ),

where ``R = (sum_h A^h) S^-1 = (I - A)^-1 S^-1 = ((1 - tau) I - (rho + eta) W)^-1``. In
terms of the total information ``I = n T' Sigma`` of the transformed likelihood the
corrected estimate is ``theta_1 = theta_hat + n I^-1 a = theta_hat + I^-1 a_tilde``,
``a_tilde = n a`` (the raw traces). With two-way effects removed by the Lee-Yu (2010,
Econometric Theory 26) transformation, n is replaced by n - 1 and every trace of a
function f(W) by its trace on the orthogonal complement of the constant vector,
``tr(f(W)) - f(1)`` for row-standardised W (``F_n' f(W) F_n = f(F_n' W F_n)``).

With one W_t per period the same derivation (the score's expectation from the reduced form
``y_t = A_t y_{t-1} + S_t^-1 (...)``) gives the traces of :func:`period_bias_traces`, with
products of the transitions A_t in place of powers of A; the stability check is
:func:`period_stability_modulus`.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
from scipy.sparse.linalg import LinearOperator, eigs

from spillover._typing import FloatArray
from spillover._validate import as_rng
from spillover.linalg.factor import SpatialFilter
from spillover.linalg.matrix import SpatialMatrix

#: Largest N for exact traces from the eigenvalues of W; Hutchinson estimates above.
EIGEN_MAX_N = 1500


def transition_eigenvalues(w: SpatialMatrix, tau: float, rho: float, eta: float) -> FloatArray:
    """Eigenvalues ``(tau + eta omega) / (1 - rho omega)`` of ``(I - rho W)^-1 (tau I + eta W)``.

    ``omega`` runs over all eigenvalues of W when N <= ``EIGEN_MAX_N``; above, over the
    two ends of the real spectrum ``1/lo`` and ``1/hi`` (``(lo, hi)`` the parameter bounds
    of W), where a Moebius map of a real interval attains its largest modulus.
    """
    if w.shape[0] <= EIGEN_MAX_N:
        omega = np.asarray(w.eigenvalues)
    else:
        lo, hi = w.parameter_bounds
        omega = np.array([1.0 / lo, 1.0 / hi])
    return (tau + eta * omega) / (1.0 - rho * omega)


def stability_modulus(w: SpatialMatrix, tau: float, rho: float, eta: float) -> float:
    """Largest modulus of the eigenvalues of ``(I - rho W)^-1 (tau I + eta W)`` (< 1: stable)."""
    return float(np.max(np.abs(transition_eigenvalues(w, tau, rho, eta))))


def bias_traces(
    w: SpatialMatrix,
    tau: float,
    rho: float,
    eta: float,
    *,
    project: bool,
    probes: int,
    seed: int,
) -> dict[str, float]:
    """``tr(R), tr(W R), tr(G R), tr(G W R), tr(G)`` (centred when ``project``).

    Exact from the eigenvalues of W for N <= ``EIGEN_MAX_N``; otherwise Hutchinson
    estimates with ``probes`` Rademacher vectors and sparse solves with ``S`` and
    ``(1 - tau) I - (rho + eta) W`` (relative error of order ``1/sqrt(N probes)``).
    """
    if w.shape[0] <= EIGEN_MAX_N:
        return _eigen_traces(np.asarray(w.eigenvalues), tau, rho, eta, project=project)
    return _probe_traces(w, tau, rho, eta, project=project, probes=probes, seed=seed)


def _scalar_functions(omega: FloatArray, tau: float, rho: float, eta: float) -> dict:
    d = (1.0 - tau) - (rho + eta) * omega
    s = 1.0 - rho * omega
    return {
        "R": 1.0 / d,
        "WR": omega / d,
        "GR": omega / (s * d),
        "GWR": omega**2 / (s * d),
        "G": omega / s,
    }


def _eigen_traces(
    omega: FloatArray, tau: float, rho: float, eta: float, *, project: bool
) -> dict[str, float]:
    values = _scalar_functions(omega, tau, rho, eta)
    out = {k: float(np.real(v.sum())) for k, v in values.items()}
    if project:  # remove the eigenvalue 1 of the constant vector (row-standardised W)
        at_one = _scalar_functions(np.array([1.0]), tau, rho, eta)
        out = {k: v - float(at_one[k][0]) for k, v in out.items()}
    return out


def _probe_traces(
    w: SpatialMatrix,
    tau: float,
    rho: float,
    eta: float,
    *,
    project: bool,
    probes: int,
    seed: int,
) -> dict[str, float]:
    m = w.matrix
    s_solve = SpatialFilter(m, rho, iterate=True)
    r_solve = SpatialFilter(m, (rho + eta) / (1.0 - tau), iterate=True)

    def centre(z: FloatArray) -> FloatArray:
        return z - z.mean(axis=0, keepdims=True) if project else z

    z = centre(as_rng(seed).choice([-1.0, 1.0], size=(m.shape[0], probes)))
    rz = centre(r_solve.solve(z) / (1.0 - tau))
    wrz = centre(m @ rz)
    products = {
        "R": rz,
        "WR": wrz,
        "GR": centre(m @ s_solve.solve(rz)),
        "GWR": centre(m @ s_solve.solve(wrz)),
        "G": centre(m @ s_solve.solve(z)),
    }
    return {k: float(np.einsum("ij,ij->", z, v)) / probes for k, v in products.items()}


def bias_vector(
    traces: dict[str, float],
    *,
    k_before: int,
    k_after: int,
    tau: float,
    eta: float | None,
    sigma2: float,
    units: int,
) -> FloatArray:
    """``a_tilde`` in the parameter order (regressors, tau, [eta], regressors, rho, sigma2).

    ``k_before``/``k_after``: numbers of regressors before and after the dynamic terms
    (their entries are zero); ``eta`` None when W y_{t-1} is not in the model.
    """
    lag_terms = [traces["R"]] + ([] if eta is None else [traces["WR"]])
    rho_term = tau * traces["GR"] + (0.0 if eta is None else eta * traces["GWR"]) + traces["G"]
    return np.concatenate(
        [np.zeros(k_before), lag_terms, np.zeros(k_after), [rho_term, units / (2 * sigma2)]]
    )


# ---------------------------------------------------------------- one W per period
#: Largest N for exact traces with one W per period (unit vectors through the recursion
#: below: 3N right-hand sides per period); Hutchinson estimates above.
PERIODS_EXACT_MAX_N = 500


def period_transitions(matrices: Sequence[Any]) -> list[tuple[Any, Any]]:
    """The (W_{t-1}, W_t) of the transitions ``A_t = (I - rho W_t)^-1 (tau I + eta W_{t-1})``.

    ``matrices`` are W_0..W_T' (the initial period first). The first pair is (W_0, W_0):
    before the sample the weights are taken to be the initial period's (see
    :func:`period_bias_traces`); then (W_0, W_1), ..., (W_T'-1, W_T').
    """
    return [(matrices[0], matrices[0]), *pairwise(matrices)]


def period_stability_modulus(
    matrices: Sequence[SpatialMatrix], tau: float, rho: float, eta: float
) -> float:
    """Largest spectral radius of the transitions ``A_t`` over the periods (< 1: each stable).

    A pair with W_{t-1} = W_t uses :func:`stability_modulus` (eigenvalues of W); otherwise the
    eigenvalues of the dense ``A_t`` (N <= ``EIGEN_MAX_N``) or ARPACK's largest-modulus one.
    """
    out = 0.0
    seen: list[tuple[Any, Any]] = []
    for before, now in period_transitions(matrices):
        if any(before is a and now is b for a, b in seen):
            continue
        seen.append((before, now))
        if before is now:
            out = max(out, stability_modulus(now, tau, rho, eta))
        else:
            out = max(out, _mixed_radius(before, now, tau, rho, eta))
    return out


def _mixed_radius(before: SpatialMatrix, now: SpatialMatrix, tau, rho, eta) -> float:
    n = now.shape[0]
    if n <= EIGEN_MAX_N:
        s = np.eye(n) - rho * now.matrix.toarray()
        a = np.linalg.solve(s, tau * np.eye(n) + eta * before.matrix.toarray())
        return float(np.max(np.abs(np.linalg.eigvals(a))))
    solver = SpatialFilter(now.matrix, rho, iterate=True)
    op = LinearOperator(
        (n, n), matvec=lambda v: solver.solve(tau * v + eta * (before.matrix @ v)), dtype=float
    )
    value = eigs(op, k=1, which="LM", return_eigenvectors=False, tol=1e-8)
    return float(np.max(np.abs(value)))


def period_bias_traces(
    matrices: Sequence[SpatialMatrix],
    tau: float,
    rho: float,
    eta: float,
    *,
    project: bool,
    probes: int,
    seed: int,
) -> dict[str, float]:
    """The traces of :func:`bias_traces` for one W per period, averaged over the periods.

    ``matrices``: W_0 (the initial period, conditioned on) .. W_T'. With ``S_t = I - rho
    W_t``, ``G_t = W_t S_t^-1`` and ``A_t = S_t^-1 (tau I + eta W_{t-1})``, the cumulated
    response of ``y_{t-1}`` to all earlier shocks is ``P_t = sum_{s < t} A_{t-1} ... A_{s+1}
    S_s^-1``; before the sample the weights are taken to be W_0, so ``P_1 = R_0 = ((1 -
    tau) I - (rho + eta) W_0)^-1`` and ``P_{t+1} = S_t^-1 + A_t P_t``. Returned, as means
    over t = 1..T': ``R``: tr(P_t), ``WR``: tr(W_{t-1} P_t), ``GR``: tr(G_t P_t), ``GWR``:
    tr(G_t W_{t-1} P_t), ``G``: tr(G_t) (on the complement of the constant vector when
    ``project``, which needs every W_t row-standardised). With every W_t equal, P_t = R
    and these are the traces of :func:`bias_traces`.

    Exact (unit vectors) for N <= ``PERIODS_EXACT_MAX_N``; otherwise Hutchinson estimates
    with ``probes`` Rademacher vectors, relative error of order ``1/sqrt(N probes)``.
    """
    first = matrices[0].matrix
    n = first.shape[0]
    if n <= PERIODS_EXACT_MAX_N:
        z = np.eye(n)
    else:
        z = as_rng(seed).choice([-1.0, 1.0], size=(n, probes))
    if project:  # E z_c' M z_c = tr(J M J) = tr(M) - 1'M1/N when M 1 = m 1
        z = z - z.mean(axis=0, keepdims=True)
    filters: dict[int, SpatialFilter] = {}

    def s_solve(m: SpatialMatrix, b: FloatArray) -> FloatArray:
        if id(m) not in filters:
            filters[id(m)] = SpatialFilter(m.matrix, rho, iterate=True)
        return filters[id(m)].solve(b)

    v = SpatialFilter(first, (rho + eta) / (1.0 - tau), iterate=True).solve(z) / (1.0 - tau)
    p = z.shape[1]
    sums = dict.fromkeys(("R", "WR", "GR", "GWR", "G"), 0.0)
    periods = len(matrices) - 1
    for t in range(1, periods + 1):
        before, now = matrices[t - 1], matrices[t]
        wv = before.matrix @ v
        solved = s_solve(now, np.hstack([v, wv, z]))
        sv, swv, sz = solved[:, :p], solved[:, p : 2 * p], solved[:, 2 * p :]
        w = now.matrix
        for key, prod in (("R", v), ("WR", wv), ("GR", w @ sv), ("GWR", w @ swv), ("G", w @ sz)):
            sums[key] += float(np.einsum("ij,ij->", z, prod))
        v = sz + tau * sv + eta * swv  # P_{t+1} z = S_t^-1 (z + (tau I + eta W_{t-1}) P_t z)
    scale = 1.0 if n <= PERIODS_EXACT_MAX_N else 1.0 / p
    return {k: s * scale / periods for k, s in sums.items()}
