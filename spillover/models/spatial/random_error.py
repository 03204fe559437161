"""Random effects for the spatial error model (Baltagi, Song, Jung and Koh 2007; Elhorst 2003).

Model (splm's ``spml(model="random", spatial.error="b")``): ``y = X beta + u``,
``u = (iota_T (x) I_N) mu + (I_T (x) B^-1) v``, ``B = I - lambda W``, ``mu ~ N(0, s_mu^2 I)``,
``v ~ N(0, s^2 I)``: the random effect is not spatially filtered, the idiosyncratic error
is. With ``C = B'B``, ``phi^2 = s^2 / (T s_mu^2 + s^2)`` (the parameter of the SAR random
effects model, spreg's ``ML_LagRE`` convention) and ``M = I + (1/phi^2 - 1) C``,

    Omega / s^2 = Jbar_T (x) (T s_mu^2/s^2 I + C^-1) + E_T (x) C^-1,
    log L = -NT/2 log(2 pi s^2) - 1/2 log|M| + T log|B|
            - [T ubar' C M^-1 ubar + sum_t |B (u_t - ubar)|^2] / (2 s^2),

``ubar`` the entity means of ``u``, ``Jbar_T = 11'/T``, ``E_T = I - Jbar_T``. splm reports
``phi_splm = s_mu^2 / s^2 = (1/phi^2 - 1) / T``. Given (lambda, phi), beta and s^2 are
generalised least squares and are concentrated out; phi is found by an outer bounded
search and lambda by an inner one. ``log|M|`` and ``M^-1`` use a sparse LU of ``M`` (no
dense N x N matrix); ``log|B|`` uses the model's log-determinant kernel.

Variance (:func:`random_error_vcov`): by default (``vcov="ml"``) splm's convention, block
diagonal with the GLS variance ``s^2 (X' Omega^-1 X)^-1`` of beta (analytic; in a Gaussian
model whose mean is ``X beta`` the expected information has no beta-variance cross terms)
and the ``(lambda, phi, s^2)`` block of the inverse numerical Hessian (statsmodels
``approx_hess3``) of the full log-likelihood (that of the likelihood profiled in beta);
``vcov="hessian"`` inverts the numerical Hessian over all of ``(beta, lambda, phi, s^2)``
(observed information, with its in-sample beta-variance cross terms; beta SEs then differ
from splm's by a few %: 3-8% on the Munnell panel).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.optimize import minimize_scalar
from statsmodels.tools.numdiff import approx_hess3

from spillover._typing import FloatArray
from spillover.errors import ConvergenceError
from spillover.inference.logdet import LogDeterminant
from spillover.models.spatial._core import Estimates
from spillover.models.spatial._data import SpatialData
from spillover.models.spatial._variance import _invert

_LOG2PI = float(np.log(2 * np.pi))
_PHI_BOUNDS = (1e-6, 1.0 - 1e-9)
_EDGE = 1e-7
_XTOL = 1e-10


class ErrorRandomLikelihood:
    """Log-likelihood of the random effects SEM on raw (not demeaned) stacked data."""

    def __init__(self, data: SpatialData, logdet: LogDeterminant, w: sp.csr_array) -> None:
        n = w.shape[0]
        t = len(data.y) // n
        self.n, self.t, self.w, self.logdet = n, t, w, logdet
        z = np.column_stack([data.y, data.x]).reshape(n, t, -1)
        wz = np.column_stack([data.wy, data.wx]).reshape(n, t, -1)
        self._zbar, self._wzbar = z.mean(axis=1), wz.mean(axis=1)
        self._dev = (z - self._zbar[:, None]).reshape(n * t, -1)
        self._wdev = (wz - self._wzbar[:, None]).reshape(n * t, -1)
        self._eye = sp.identity(n, format="csc")
        self._data = data

    def cross_products(self, lam: float, phi: float) -> tuple[FloatArray, float]:
        """``Z' Omega^-1 Z * s^2`` for Z = [y, X], and ``log|M|``."""
        b = sp.csc_matrix(self._eye - lam * self.w)
        m = sp.csc_matrix(self._eye + (1.0 / phi**2 - 1.0) * (b.T @ b))
        lu = spla.splu(m, permc_spec="MMD_AT_PLUS_A")
        logdet_m = float(np.log(np.abs(lu.U.diagonal())).sum())
        bz = self._zbar - lam * self._wzbar
        between = self.t * bz.T @ (b @ lu.solve(self._zbar))
        dev = self._dev - lam * self._wdev
        return between + dev.T @ dev, logdet_m

    def _constant(self, lam: float, logdet_m: float) -> float:
        return -0.5 * logdet_m + self.t * self.logdet(lam)

    def concentrated(self, lam: float, phi: float) -> float:
        """Log-likelihood with beta and s^2 concentrated out."""
        q, logdet_m = self.cross_products(lam, phi)
        nobs = self.n * self.t
        beta = np.linalg.solve(q[1:, 1:], q[1:, 0])
        ssr = float(q[0, 0] - q[1:, 0] @ beta)
        return -0.5 * nobs * (_LOG2PI + 1.0 + np.log(ssr / nobs)) + self._constant(lam, logdet_m)

    def full(self, theta: FloatArray) -> float:
        """Log-likelihood at ``theta = (beta, lambda, phi, s2)``."""
        beta, lam, phi, s2 = theta[:-3], theta[-3], theta[-2], theta[-1]
        lo, hi = self.logdet.bounds
        if s2 <= 0 or not 0 < phi <= 1 or not lo < lam < hi:
            return -np.inf
        q, logdet_m = self.cross_products(lam, phi)
        c = np.concatenate([[1.0], -beta])
        nobs = self.n * self.t
        value = -0.5 * nobs * (_LOG2PI + np.log(s2)) - float(c @ q @ c) / (2 * s2)
        return float(value + self._constant(lam, logdet_m))

    def _lambda_given(self, phi: float) -> float:
        lo, hi = self.logdet.bounds
        res = minimize_scalar(
            lambda lm: -self.concentrated(lm, phi),
            bounds=(lo + _EDGE, hi - _EDGE),
            method="bounded",
            options={"xatol": _XTOL, "maxiter": 500},
        )
        _check(res, "lambda given phi")
        return float(res.x)

    def maximise(self) -> tuple[float, float]:
        """(lambda, phi) maximising the concentrated likelihood."""
        res = minimize_scalar(
            lambda p: -self.concentrated(self._lambda_given(p), p),
            bounds=_PHI_BOUNDS,
            method="bounded",
            options={"xatol": _XTOL, "maxiter": 500},
        )
        _check(res, "phi")
        phi = float(res.x)
        return self._lambda_given(phi), phi

    def estimates(self, lam: float, phi: float) -> Estimates:
        q, _ = self.cross_products(lam, phi)
        beta = np.linalg.solve(q[1:, 1:], q[1:, 0])
        nobs = self.n * self.t
        sigma2 = float(q[0, 0] - q[1:, 0] @ beta) / nobs
        d = self._data
        u = d.y - d.x @ beta
        filtered = u - lam * (d.wy - d.wx @ beta)
        return Estimates(beta, 0.0, lam, sigma2, self.concentrated(lam, phi), u, filtered)


def _check(res, what: str) -> None:
    if not res.success or not np.isfinite(res.fun):
        raise ConvergenceError(
            f"the random effects SEM search for {what} did not converge ({res.message}); "
            "check the data for near-collinearity."
        )


def fit_random_error(
    data: SpatialData, logdet: LogDeterminant, w: sp.csr_array
) -> tuple[ErrorRandomLikelihood, Estimates, float]:
    """(likelihood, estimates, phi-hat) of the random effects SEM."""
    lik = ErrorRandomLikelihood(data, logdet, w)
    lam, phi = lik.maximise()
    return lik, lik.estimates(lam, phi), phi


def random_error_vcov(
    lik: ErrorRandomLikelihood, est: Estimates, phi: float, vcov: str
) -> FloatArray:
    """Covariance of (beta, lambda, phi, s2).

    ``"ml"``: block diagonal, ``s^2 (X' Omega^-1 X)^-1`` for beta (the GLS variance, the
    beta block of the expected information, which has no beta-variance cross terms) and
    the (lambda, phi, s2) block of the inverse of minus the numerical Hessian (equal to the
    inverse Hessian of the likelihood profiled in beta), as splm's ``spreml``.
    ``"hessian"``: inverse of minus the numerical Hessian over all parameters.
    """
    theta = np.concatenate([est.beta, [est.lam, phi, est.sigma2]])
    full = _invert(-approx_hess3(theta, lik.full), "numerical Hessian")
    if vcov == "hessian":
        return full
    k = len(est.beta)
    q, _ = lik.cross_products(est.lam, phi)
    out = np.zeros_like(full)
    out[:k, :k] = est.sigma2 * _invert(q[1:, 1:], "GLS cross-product matrix")
    out[k:, k:] = full[k:, k:]
    return out
