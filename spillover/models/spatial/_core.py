"""The one concentrated likelihood shared by SAR, SEM, SDM, SDEM and SAC.

All families are special cases of ``B (A y - X beta) = eps`` per (transformed) period,
``A = I - rho W`` (absent without a spatial lag), ``B = I - lambda W`` (absent without a
spatial error), eps ~ N(0, sigma^2 I). With ``u = A y - X beta``,

    log L = -n/2 log(2 pi sigma^2) - |B u|^2 / (2 sigma^2)
            + m [log|A| - k log(1 - rho)] + m [log|B| - k log(1 - lambda)],

``n`` the effective number of observations, ``m`` the number of (effective) periods and
``k = 1`` only under the Lee-Yu time transformation. Beta and sigma^2 are concentrated out
(generalised least squares given rho, lambda), so the search is over rho and/or lambda
only: a bounded scalar search for one spatial parameter, nested scalar searches for two.
For a fixed lambda, ``B A y = y - (rho + lambda) W y + rho lambda W^2 y`` is linear in three
stored vectors; their residuals on ``B X`` are computed once per lambda, after which every
rho costs a 3 x 3 quadratic form plus a log-determinant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from scipy.optimize import minimize_scalar

from spillover._typing import FloatArray
from spillover.errors import ConvergenceError
from spillover.linalg.logdet import LogDeterminant
from spillover.models.spatial._data import SpatialData, Transform

_LOG2PI = float(np.log(2 * np.pi))
#: Distance kept from the bounds of the parameter space, and search tolerance.
_EDGE = 1e-7
_XTOL = 1e-10


@dataclass(frozen=True)
class Estimates:
    """Maximum likelihood estimates at the optimum."""

    beta: FloatArray
    rho: float
    lam: float
    sigma2: float
    loglik: float
    structural: FloatArray  # u = A y - X beta
    innovations: FloatArray  # eps = B u


class Likelihood:
    """Concentrated and full log-likelihood of one model on its transformed data."""

    def __init__(
        self,
        data: SpatialData,
        transform: Transform,
        logdet: LogDeterminant,
        w: sp.csr_array,
        *,
        effects: str,
        lag_y: bool,
        error: bool,
    ) -> None:
        self.data = data
        self.w = w
        self.effects = effects
        self.transform = transform
        self.logdet = logdet
        self.lag_y = lag_y
        self.error = error
        zero = np.zeros_like(data.y)
        self._ys = np.column_stack([data.y, data.wy, data.w2y if data.w2y is not None else zero])
        self._cache: tuple[float, FloatArray, FloatArray] | None = None

    # ------------------------------------------------------------------ pieces
    def jacobian(self, r: float) -> float:
        """``m [log|I - r W| - k log(1 - r)]``."""
        tr = self.transform
        ld = self.logdet(r)
        return tr.periods * (ld - (np.log1p(-r) if tr.project else 0.0))

    def _residual_basis(self, lam: float) -> tuple[FloatArray, FloatArray]:
        """Residuals of (y, Wy, W^2 y) on B X, and their coefficients, for one lambda."""
        if self._cache is not None and self._cache[0] == lam:
            return self._cache[1], self._cache[2]
        x = self.data.x if lam == 0.0 else self.data.x - lam * self.data.wx
        coef = linalg.solve(x.T @ x, x.T @ self._ys, assume_a="pos")
        resid = self._ys - x @ coef
        self._cache = (lam, resid, coef)
        return resid, coef

    @staticmethod
    def _combination(rho: float, lam: float) -> FloatArray:
        return np.array([1.0, -(rho + lam), rho * lam])

    def concentrated(self, rho: float, lam: float) -> float:
        """Log-likelihood with beta and sigma^2 concentrated out."""
        resid, _ = self._residual_basis(lam)
        c = self._combination(rho, lam)
        ssr = float(c @ (resid.T @ resid) @ c)
        return self._profile(ssr, rho, lam)

    def _profile(self, ssr: float, rho: float, lam: float) -> float:
        n = self.transform.nobs
        value = -0.5 * n * (_LOG2PI + 1.0 + np.log(ssr / n))
        if self.lag_y:
            value += self.jacobian(rho)
        if self.error:
            value += self.jacobian(lam)
        return float(value)

    # ------------------------------------------------------------------ search
    def _search(self, f, what: str) -> float:
        lo, hi = self.logdet.bounds
        res = minimize_scalar(
            lambda r: -f(r),
            bounds=(lo + _EDGE, hi - _EDGE),
            method="bounded",
            options={"xatol": _XTOL, "maxiter": 500},
        )
        if not res.success or not np.isfinite(res.fun):
            raise ConvergenceError(
                f"the search for {what} did not converge ({res.message}); check the data "
                "for near-collinearity or try another logdet method."
            )
        return float(res.x)

    def maximise(self) -> tuple[float, float]:
        """(rho, lambda) maximising the concentrated likelihood (0 where absent)."""
        if self.lag_y and self.error:
            lam = self._search(lambda lm: self.concentrated(self._inner_rho(lm), lm), "lambda")
            return self._inner_rho(lam), lam
        if self.error:
            return 0.0, self._search(lambda lm: self.concentrated(0.0, lm), "lambda")
        if self.lag_y:
            return self._search(lambda r: self.concentrated(r, 0.0), "rho"), 0.0
        return 0.0, 0.0

    def _inner_rho(self, lam: float) -> float:
        return self._search(lambda r: self.concentrated(r, lam), "rho given lambda")

    def estimates(self, rho: float, lam: float) -> Estimates:
        resid, coef = self._residual_basis(lam)
        c = self._combination(rho, lam)
        eps = resid @ c
        beta = coef @ c
        sigma2 = float(eps @ eps) / self.transform.nobs
        u = self.data.y - rho * self.data.wy - self.data.x @ beta
        return Estimates(beta, rho, lam, sigma2, self.concentrated(rho, lam), u, eps)

    # ------------------------------------------------------------------ full likelihood
    def full(self, theta: FloatArray) -> float:
        """Log-likelihood at ``theta = (beta, [rho], [lambda], sigma2)`` (for the Hessian)."""
        k = self.data.x.shape[1]
        beta, rest = theta[:k], list(theta[k:])
        rho = rest.pop(0) if self.lag_y else 0.0
        lam = rest.pop(0) if self.error else 0.0
        sigma2 = rest.pop(0)
        if sigma2 <= 0:
            return -np.inf
        u = self.data.y - rho * self.data.wy - self.data.x @ beta
        if self.error:
            wu = self.data.wy - self.data.wx @ beta
            if self.lag_y:
                wu = wu - rho * self.data.w2y
            u = u - lam * wu
        n = self.transform.nobs
        value = -0.5 * n * (_LOG2PI + np.log(sigma2)) - float(u @ u) / (2 * sigma2)
        if self.lag_y:
            value += self.jacobian(rho)
        if self.error:
            value += self.jacobian(lam)
        return float(value)
