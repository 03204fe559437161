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
"""

from __future__ import annotations

import numpy as np

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
