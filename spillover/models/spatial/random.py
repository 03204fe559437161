"""Random effects for the spatial lag (and Durbin) model.

Model (Elhorst 2003, 2014; Baltagi's quasi-demeaning): ``y = rho W y + X beta + mu_i + e``,
``mu_i ~ N(0, s_mu^2)``, ``e ~ N(0, s^2)``. With ``phi^2 = s^2 / (T s_mu^2 + s^2)`` and
``a* = a - (1 - phi) abar_i`` (abar_i the entity mean over time; W commutes with it),

    log L = -NT/2 log(2 pi s^2) + N log phi + T log|I - rho W| - |y* - rho W y* - X* b|^2 / (2 s^2).

For each phi this is the pooled SAR likelihood of the transformed data (the shared core
concentrates out beta and s^2 and searches rho); phi is found by an outer bounded search.

``phi`` (spreg's ``ML_LagRE`` parameterisation) is the quasi-demeaning parameter: ``phi^2
= s^2 / (T s_mu^2 + s^2)``, so 0 < phi <= 1, phi = 1 is no entity effect (pooled) and
phi -> 0 the within transformation; ``1 - phi`` is plm's and Stata's ``theta``. It is not
a coefficient and is not in ``params``: the results report it in ``fit_stats`` (``phi``,
its ML standard error ``phi_se``, ``theta = 1 - phi``, ``sigma2_mu = s_mu^2 = s^2
(1/phi^2 - 1) / T`` and ``sigma2_e = s^2``) and keep its row in ``vcov_full``. It is not
splm's ``phi`` (``s_mu^2 / s^2``, also ``phi_re`` of
:func:`spillover.diagnostics.bsk_tests`).

Fixed time effects (``time_effects=True``): y, W y and X (lagged before demeaning) lose
their period means first, then are quasi-demeaned. For any W this is the likelihood with
the period effects concentrated out: the quasi-demeaning maps the span of the period
dummies onto itself and commutes with removing period means, so the GLS estimate of the
period effects is their least-squares one. The log-likelihood keeps its ``NT``
observations and ``T log|I - rho W|``.

Information entries of phi, from the expected Hessian:
``I_phi,phi = 2N/phi^2``, ``I_phi,rho = -2 tr(G)/phi``, ``I_phi,s2 = -N/(phi s^2)``, zero
for beta; the (beta, rho, s^2) block is that of the pooled SAR on the transformed data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize_scalar

from spillover._typing import FloatArray
from spillover.linalg.logdet import LogDeterminant
from spillover.models.spatial._core import Estimates, Likelihood
from spillover.models.spatial._data import SpatialData, Transform, within

_PHI_BOUNDS = (1e-6, 1.0 - 1e-9)


def quasi_demeaned(data: SpatialData, n: int, phi: float) -> SpatialData:
    """``a - (1 - phi) abar_i`` for y, W y and X (rows stacked entity-major)."""

    def tr(a: FloatArray) -> FloatArray:
        dm = within(a, n, "entity")
        return dm + phi * (a - dm)

    return dataclasses.replace(data, y=tr(data.y), wy=tr(data.wy), x=tr(data.x))


def _sar_likelihood(
    data: SpatialData, logdet: LogDeterminant, w, phi: float, n: int, t: int
) -> Likelihood:
    """The pooled SAR likelihood of the data quasi-demeaned with ``phi``."""
    return Likelihood(
        quasi_demeaned(data, n, phi),
        Transform(float(n * t), t, False),
        logdet,
        w,
        effects="none",
        lag_y=True,
        error=False,
    )


def fit_random(
    data: SpatialData, logdet: LogDeterminant, w, n: int, t: int
) -> tuple[Likelihood, Estimates, float]:
    """(likelihood at phi-hat, estimates, phi-hat) maximising the RE likelihood."""

    def profile(phi: float) -> float:
        lik = _sar_likelihood(data, logdet, w, phi, n, t)
        rho, _ = lik.maximise()
        return lik.concentrated(rho, 0.0) + n * np.log(phi)

    res = minimize_scalar(
        lambda p: -profile(p), bounds=_PHI_BOUNDS, method="bounded", options={"xatol": 1e-10}
    )
    phi = float(res.x)
    lik = _sar_likelihood(data, logdet, w, phi, n, t)
    est = lik.estimates(*lik.maximise())
    est = dataclasses.replace(est, loglik=est.loglik + n * np.log(phi))
    return lik, est, phi


def variance_components(sigma2: float, phi: float, t: int) -> dict[str, float]:
    """``sigma2_mu``, ``sigma2_e``, ``phi`` and ``theta = 1 - phi`` from (s^2, phi, T)."""
    return {
        "sigma2_mu": sigma2 * (1.0 / phi**2 - 1.0) / t,
        "sigma2_e": sigma2,
        "phi": phi,
        "theta": 1.0 - phi,
    }


def add_phi(info: FloatArray, est: Estimates, phi: float, n: int, t: int) -> FloatArray:
    """Information of (beta, rho, phi, s2) from that of (beta, rho, s2)."""
    k = info.shape[0]
    out = np.zeros((k + 1, k + 1))
    keep = [*range(k - 1), k]  # beta, rho -> same slots; s2 -> last
    out[np.ix_(keep, keep)] = info
    s2 = est.sigma2
    trace_g = info[k - 2, k - 1] * s2 / t  # I_rho,s2 = T tr(G) / s2
    out[k - 1, k - 1] = 2 * n / phi**2
    out[k - 1, k - 2] = out[k - 2, k - 1] = -2 * trace_g / phi
    out[k - 1, k] = out[k, k - 1] = -n / (phi * s2)
    return out


def random_loglik(data: SpatialData, logdet: LogDeterminant, w) -> Callable[[FloatArray], float]:
    """Log-likelihood of (beta, rho, phi, s2) (-inf outside 0 < phi <= 1)."""
    n = w.shape[0]
    t = len(data.y) // n

    def loglik(theta: FloatArray) -> float:
        p = float(theta[-2])
        if not 0 < p <= 1:
            return -np.inf
        lik = _sar_likelihood(data, logdet, w, p, n, t)
        return lik.full(np.delete(theta, -2)) + n * np.log(p)

    return loglik
