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
search and lambda by an inner one. ``log|M|`` and the between quadratic form come from one
exact factorisation per ``(lambda, phi)`` of ``N = I + a B B'`` (same determinant as ``M``;
:mod:`~spillover.models.spatial._gram`: banded Cholesky, or sparse LU for wide bands; no
dense N x N matrix); ``log|B|`` uses the model's log-determinant kernel, once per lambda.
Cross products are cached by ``(lambda, phi)``, so the numerical Hessian (which moves beta
at fixed ``(lambda, phi)`` in most of its evaluations) factorises only 13 matrices.

Variance (:mod:`spillover.inference.ml_vcov`, with :func:`gls_beta_vcov`): by default
(``vcov="ml"``) splm's convention, block diagonal with the GLS variance
``s^2 (X' Omega^-1 X)^-1`` of beta (analytic; in a Gaussian model whose mean is ``X beta``
the expected information has no beta-variance cross terms) and the ``(lambda, phi, s^2)``
block of the inverse numerical Hessian (statsmodels ``approx_hess3``) of the full
log-likelihood (that of the likelihood profiled in beta); ``vcov="hessian"`` inverts the
numerical Hessian over all of ``(beta, lambda, phi, s^2)`` (observed information, with its
in-sample beta-variance cross terms; beta SEs then differ from splm's by a few %: 3-8% on
the Munnell panel).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from scipy.optimize import minimize_scalar

from spillover._typing import FloatArray
from spillover.errors import ConvergenceError, SpecificationError
from spillover.inference.ml_vcov import invert
from spillover.linalg.logdet import LogDeterminant
from spillover.models.spatial._core import Estimates
from spillover.models.spatial._data import SpatialData
from spillover.models.spatial._gram import ShiftedGram

_LOG2PI = float(np.log(2 * np.pi))
_PHI_BOUNDS = (1e-6, 1.0 - 1e-9)
_EDGE = 1e-7
_XTOL = 1e-10
#: (lambda, phi) points whose cross products are kept (the Hessian revisits 13 points).
_CACHE = 32


class ErrorRandomLikelihood:
    """Log-likelihood of the random effects SEM on raw (not demeaned) stacked data.

    Internally ``Z = [y, X]`` is replaced by ``Z T = [y - X b, X R^-1]`` (``X = QR``, ``b``
    the OLS coefficients), a fixed change of variables made once: the GLS fit of the new
    columns gives the same SSR and ``beta = b + R^-1 beta~``, but its cross products are of
    the size of the residuals, so the concentrated SSR is not a small difference of large
    numbers. (On the Munnell panel, ``y`` around 10 and residuals around 0.03, that
    difference lost five digits; the likelihood jittered by ~1e-10 between neighbouring
    ``lambda`` and the maximiser found was 2e-7 from the 40-digit one, against 5e-9 now.)
    """

    def __init__(self, data: SpatialData, logdet: LogDeterminant, w: sp.csr_array) -> None:
        n = w.shape[0]
        t = len(data.y) // n
        self.n, self.t, self.w, self.logdet = n, t, w, logdet
        self._b, self._r, rotate = _rotation(data.y, data.x)
        z = (np.column_stack([data.y, data.x]) @ rotate).reshape(n, t, -1)
        wz = (np.column_stack([data.wy, data.wx]) @ rotate).reshape(n, t, -1)
        self._zbar, self._wzbar = z.mean(axis=1), wz.mean(axis=1)
        self._dev = (z - self._zbar[:, None]).reshape(n * t, -1)
        self._wdev = (wz - self._wzbar[:, None]).reshape(n * t, -1)
        self._gram = ShiftedGram(w)
        self._cache: dict[tuple[float, float], tuple[FloatArray, float]] = {}
        self._jacobians: dict[float, float] = {}
        self._data = data

    def cross_products(self, lam: float, phi: float) -> tuple[FloatArray, float]:
        """``(Z T)' Omega^-1 (Z T) * s^2`` and ``log|M|`` (cached by (lambda, phi))."""
        key = (float(lam), float(phi))
        if key not in self._cache:
            if len(self._cache) >= _CACHE:
                self._cache.pop(next(iter(self._cache)))
            bz = self._zbar - key[0] * self._wzbar
            logdet_m, between = self._gram.logdet_quad(key[0], 1.0 / key[1] ** 2 - 1.0, bz)
            dev = self._dev - key[0] * self._wdev
            self._cache[key] = (self.t * between + dev.T @ dev, logdet_m)
        return self._cache[key]

    def gls_cross_product(self, lam: float, phi: float) -> FloatArray:
        """``X' Omega^-1 X * s^2`` in the original regressors."""
        q, _ = self.cross_products(lam, phi)
        return self._r.T @ q[1:, 1:] @ self._r

    def _gls(self, lam: float, phi: float) -> tuple[FloatArray, float, float]:
        """(rotated GLS coefficients, SSR, log|M|)."""
        q, logdet_m = self.cross_products(lam, phi)
        beta = np.linalg.solve(q[1:, 1:], q[1:, 0])
        return beta, float(q[0, 0] - q[1:, 0] @ beta), logdet_m

    def _constant(self, lam: float, logdet_m: float) -> float:
        if lam not in self._jacobians:
            self._jacobians[lam] = self.t * self.logdet(lam)
        return -0.5 * logdet_m + self._jacobians[lam]

    def concentrated(self, lam: float, phi: float) -> float:
        """Log-likelihood with beta and s^2 concentrated out."""
        _, ssr, logdet_m = self._gls(lam, phi)
        nobs = self.n * self.t
        return -0.5 * nobs * (_LOG2PI + 1.0 + np.log(ssr / nobs)) + self._constant(lam, logdet_m)

    def full(self, theta: FloatArray) -> float:
        """Log-likelihood at ``theta = (beta, lambda, phi, s2)``."""
        beta, lam, phi, s2 = theta[:-3], theta[-3], theta[-2], theta[-1]
        lo, hi = self.logdet.bounds
        if s2 <= 0 or not 0 < phi <= 1 or not lo < lam < hi:
            return -np.inf
        q, logdet_m = self.cross_products(lam, phi)
        c = np.concatenate([[1.0], -self._r @ (beta - self._b)])  # (Z T)^-1-coordinates
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
        rotated, ssr, _ = self._gls(lam, phi)
        beta = self._b + linalg.solve_triangular(self._r, rotated)
        d = self._data
        u = d.y - d.x @ beta
        filtered = u - lam * (d.wy - d.wx @ beta)
        sigma2 = ssr / (self.n * self.t)
        return Estimates(beta, 0.0, lam, sigma2, self.concentrated(lam, phi), u, filtered)


def _rotation(y: FloatArray, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """OLS coefficients b, the R of ``X = QR``, and T with ``[y, X] T = [y - X b, X R^-1]``."""
    qx, r = np.linalg.qr(x)
    b = linalg.solve_triangular(r, qx.T @ y)
    k = x.shape[1]
    rotate = np.zeros((k + 1, k + 1))
    rotate[0, 0] = 1.0
    rotate[1:, 0] = -b
    rotate[1:, 1:] = linalg.solve_triangular(r, np.eye(k))
    return b, r, rotate


def _check(res, what: str) -> None:
    if not res.success or not np.isfinite(res.fun):
        raise ConvergenceError(
            f"the random effects SEM search for {what} did not converge ({res.message}); "
            "check the data for near-collinearity."
        )


def check_time_demeaning(w: sp.csr_array, *, tol: float = 1e-10) -> None:
    """Refuse fixed time effects in the random effects SEM unless removing the period means
    is exact: all row sums of W equal and all column sums equal (``W 1 = c 1``,
    ``1'W = c 1'``; e.g. a row-standardised W that is also column-stochastic).

    Then ``C = B'B`` maps the constant vector to a multiple of itself, so generalised least
    squares for the period effects is ordinary least squares (the period means), and
    removing them from y and X (lagged before demeaning) gives the likelihood concentrated
    in the time effects. Otherwise it does not, and the model is refused.
    """
    rows, cols = np.asarray(w.sum(axis=1)).ravel(), np.asarray(w.sum(axis=0)).ravel()
    scale = max(1.0, float(np.abs(rows).max()))
    if np.ptp(rows) > tol * scale or np.ptp(cols) > tol * scale:
        raise SpecificationError(
            "fixed time effects in the random effects spatial error model are implemented by "
            "removing the period means, which is exact only when every row of W and every "
            f"column sum to the same value; here row sums span [{rows.min():.4g}, "
            f"{rows.max():.4g}] and column sums [{cols.min():.4g}, {cols.max():.4g}]. Use "
            "SpatialLag/SpatialDurbin (exact for any W) or fixed effects (effects='twoway')."
        )


def fit_random_error(
    data: SpatialData, logdet: LogDeterminant, w: sp.csr_array
) -> tuple[ErrorRandomLikelihood, Estimates, float]:
    """(likelihood, estimates, phi-hat) of the random effects SEM."""
    lik = ErrorRandomLikelihood(data, logdet, w)
    lam, phi = lik.maximise()
    return lik, lik.estimates(lam, phi), phi


def gls_beta_vcov(lik: ErrorRandomLikelihood, est: Estimates, phi: float) -> FloatArray:
    """``s^2 (X' Omega^-1 X)^-1``: the GLS variance of beta.

    The beta block of the expected information, which has no beta-variance cross terms;
    ``vcov="ml"`` combines it with the (lambda, phi, s2) block of the inverse numerical
    Hessian (:mod:`spillover.inference.ml_vcov`), as splm's ``spreml``.
    """
    gls = lik.gls_cross_product(est.lam, phi)
    return est.sigma2 * invert(gls, "GLS cross-product matrix")
