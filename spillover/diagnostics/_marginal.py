"""Log marginal likelihoods of the static spatial families (LeSage's flat priors).

The model-choice driver (:mod:`.model_choice`) hands each candidate model to
:func:`candidate`, which runs its one ML search and integrates the transformed (demeaned)
data's likelihood; the integrands and quadratures below are arrays in, numbers out. The
expressions are
those of LeSage and Pace (2009, ch. 6), LeSage (2014, 2015) and LeSage's MATLAB
routine ``log_marginal_panelprob`` (with Elhorst's degrees-of-freedom adjustment for the
fixed effects); see :func:`spillover.diagnostics.compare_models` for the formulas.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import scipy.sparse.linalg as spla
from scipy import integrate
from scipy.optimize import minimize_scalar
from scipy.special import gammaln

from spillover.diagnostics._comparison import information_criteria, n_params
from spillover.linalg.logdet import LogDeterminant
from spillover.linalg.matrix import SpatialMatrix
from spillover.linalg.spectral import EIGEN_MAX_N
from spillover.models.spatial._core import Likelihood
from spillover.models.spatial._model import SpatialModel

Normalisation = Literal["lesage", "flat"]
#: Distance kept from the ends of the feasible interval. The integrand vanishes at the ends
#: except at r = 1 under the time transformation, where ``-k log(1 - r)`` cancels the unit
#: eigenvalue of a row-standardised W; the mass cut off there is below 1e-10 relative.
_EDGE = 1e-10
#: Relative tolerance of the outer integral over lambda in SAC; the inner integrals over
#: rho are computed to 1e-11, so their quadrature noise stays far below it.
SAC_EPSREL = 1e-9


def constant(nobs: float, k: int, normalisation: Normalisation) -> float:
    """``log Gamma(d) - d log(2 pi)`` (LeSage) or ``log Gamma(d) - d log(pi)`` (exact).

    ``d = (n - k) / 2``. The exact constant is what ``p(beta, sigma^2) = 1 / sigma^2``
    integrates to; LeSage's code writes ``(2 pi)^-d``, which differs by ``d log 2``.
    """
    d = 0.5 * (nobs - k)
    return float(gammaln(d) - d * np.log(2 * np.pi if normalisation == "lesage" else np.pi))


def scale_term(y: np.ndarray, x: np.ndarray, nobs: float) -> float:
    """``(n - k) log s_y + sum_j log s_j``: the shift to standardised y and columns of X.

    ``s = sqrt(sum(v^2) / n)`` of the transformed (demeaned) vectors. Adding it gives the
    log marginal of ``y / s_y`` on ``X / s_x``, i.e. flat priors on the standardised
    coefficients ``beta_j s_j / s_y`` and on ``log(sigma / s_y)``.
    """
    k = x.shape[1]
    s_y = np.sqrt(float(y @ y) / nobs)
    s_x = np.sqrt(np.einsum("ij,ij->j", x, x) / nobs)
    return float((nobs - k) * np.log(s_y) + np.log(s_x).sum())


def feasible_interval(w: SpatialMatrix, ld: LogDeterminant) -> tuple[float, float]:
    """Prior interval of rho: ``(1/lambda_min, 1/lambda_max)`` of W where it is computed.

    Real eigenvalues (W symmetric or similar to a symmetric matrix) with an exact
    log-determinant: from all eigenvalues up to N = 1,000, else the extreme ones by ARPACK
    (``eigsh``). Otherwise the estimation interval ``ld.bounds`` (``(-1/r, 1/r)``, r the
    spectral radius), as the spatial models search.
    """
    sym = w.symmetric_similar
    if sym is None or ld.method not in ("eigen", "lu"):
        return ld.bounds
    if w.shape[0] <= EIGEN_MAX_N:
        lam = np.real(w.eigenvalues)
        low, high = float(lam.min()), float(lam.max())
    else:
        op = sym.astype(float).tocsr()
        low = float(spla.eigsh(op, k=1, which="SA", return_eigenvectors=False)[0])
        high = float(spla.eigsh(op, k=1, which="LA", return_eigenvectors=False)[0])
    return 1.0 / low, 1.0 / high


def log_det_gram(x: np.ndarray) -> float:
    """``log|X'X|`` by Cholesky (X has full column rank, checked by the model)."""
    chol = np.linalg.cholesky(x.T @ x)
    return float(2 * np.log(np.diag(chol)).sum())


def log_integral(
    f: Callable[[float], float],
    lo: float,
    hi: float,
    mode: float,
    grid: int | None,
    *,
    epsrel: float = 1e-11,
) -> float:
    """``log int_lo^hi exp(f(r)) dr``, scaled by ``exp(-f(mode))`` to avoid overflow.

    ``grid=None``: adaptive Gauss-Kronrod (``scipy.integrate.quad``, relative tolerance
    ``epsrel``, the mode a break point); an integer: the trapezoid rule on that many equally
    spaced points, as LeSage's code (his grid step 0.001 is ``grid=2001`` on (-1, 1)).
    """
    lo, hi = lo + _EDGE, hi - _EDGE
    top = f(mode)
    if grid is not None:
        r = np.linspace(lo, hi, int(grid))
        vals = np.exp(np.array([f(v) for v in r]) - top)
        return float(np.log(np.trapezoid(vals, r)) + top)

    def g(r: float) -> float:
        return float(np.exp(f(r) - top))

    value, _ = integrate.quad(g, lo, hi, points=[mode], epsabs=0.0, epsrel=epsrel, limit=500)
    return float(np.log(value) + top)


def lag_integrand(lik: Likelihood, dof: float, lam: float = 0.0) -> Callable[[float], float]:
    """``rho -> -d log Q(rho) + m [log|I - rho W| - k log(1 - rho)]`` (SAR, SDM; SAC given
    ``lam``, where Q is the SSR of ``(I - lam W)(I - rho W) y`` on ``(I - lam W) X``)."""
    resid, _ = lik._residual_basis(lam)
    gram = resid.T @ resid

    def f(r: float) -> float:
        c = lik._combination(r, lam)
        return float(-dof * np.log(c @ gram @ c) + lik.jacobian(r))

    return f


def error_integrand(lik: Likelihood, dof: float) -> Callable[[float], float]:
    """``lam -> -d log Q(lam) - log|X_lam' X_lam| / 2 + Jacobian(lam)`` (SEM, SDEM).

    ``X_lam = X - lam W X``: the Gaussian integral over beta leaves the determinant of the
    filtered Gram matrix inside the integral.
    """
    data = lik.data

    def f(lam: float) -> float:
        resid, _ = lik._residual_basis(lam)
        c = np.array([1.0, -lam, 0.0])
        e = resid @ c
        return float(
            -dof * np.log(e @ e) - 0.5 * log_det_gram(data.x - lam * data.wx) + lik.jacobian(lam)
        )

    return f


def sac_log_integral(
    lik: Likelihood, dof: float, lo: float, hi: float, mode: tuple[float, float], grid: int | None
) -> float:
    """``log int int exp(g(rho, lam)) drho dlam`` over the square ``(lo, hi)^2`` (SAC).

    ``g = -d log Q(rho, lam) - log|X_lam' X_lam| / 2 + J(rho) + J(lam)``, ``Q`` the sum of
    squared residuals of ``B A y`` on ``X_lam = B X`` (``B A y = y - (rho + lam) W y +
    rho lam W^2 y``). Iterated: for each lambda, the integral over rho by
    :func:`log_integral` (relative tolerance 1e-11, the conditional mode a break point);
    then over lambda (relative tolerance :data:`SAC_EPSREL`, the ML lambda a break point).
    The result is accurate to about ``SAC_EPSREL`` relative, i.e. that much absolute in
    the log. With ``grid``, the trapezoid rule on a ``grid x grid`` lattice.
    """
    data = lik.data

    def over_rho(lam: float) -> float:
        f = lag_integrand(lik, dof, lam)
        peak = _argmax(f, lo, hi) if lam != mode[1] else mode[0]
        inner = log_integral(f, lo, hi, peak, grid)
        return inner - 0.5 * log_det_gram(data.x - lam * data.wx) + lik.jacobian(lam)

    return log_integral(over_rho, lo, hi, mode[1], grid, epsrel=SAC_EPSREL)


def _argmax(f: Callable[[float], float], lo: float, hi: float) -> float:
    """Where ``f`` peaks on (lo, hi): a break point for the quadrature, not an estimate."""
    res = minimize_scalar(
        lambda r: -f(r), bounds=(lo + _EDGE, hi - _EDGE), method="bounded", options={"xatol": 1e-6}
    )
    return float(res.x)


def candidate(
    model: SpatialModel,
    param: str,
    constants: tuple[Normalisation, bool],
    grid: int | None,
    seed: int,
) -> dict[str, Any]:
    """Log marginal, maximised log-likelihood and criteria of one (W, family).

    ``param``: the family's spatial parameters, "", "rho", "lambda" or "rho, lambda";
    ``constants``: (normalisation, standardise) of
    :func:`~spillover.diagnostics.compare_models`. One ML search
    per candidate: its maximum gives ``loglik`` (hence AIC, BIC and the LR tests) and its
    estimates are the break points of the integrals.
    """
    data, tr = model.data, model.transform
    n, k = tr.nobs, data.x.shape[1]
    dof = 0.5 * (n - k)
    c = constant(n, k, constants[0])
    c += scale_term(data.y, data.x, n) if constants[1] else 0.0
    lag, error = "rho" in param, "lambda" in param
    rho = lam = lower = upper = np.nan
    if not param:
        beta = np.linalg.lstsq(data.x, data.y, rcond=None)[0]
        ssr = float(np.sum((data.y - data.x @ beta) ** 2))
        loglik = -0.5 * n * (np.log(2 * np.pi) + 1.0 + np.log(ssr / n))
        log_marginal = c - 0.5 * log_det_gram(data.x) - dof * np.log(ssr)
    else:
        ld = model._logdet(seed)
        lik = Likelihood(
            data, tr, ld, model._operator(), effects=model.effects, lag_y=lag, error=error
        )
        rho, lam = lik.maximise()
        loglik = lik.concentrated(rho, lam)
        lower, upper = feasible_interval(model.weights, ld)
        log_marginal = c - (lag + error) * np.log(upper - lower)
        if lag and error:
            log_marginal += sac_log_integral(lik, dof, lower, upper, (rho, lam), grid)
        else:
            f = lag_integrand(lik, dof) if lag else error_integrand(lik, dof)
            log_marginal += log_integral(f, lower, upper, rho if lag else lam, grid)
            log_marginal -= 0.5 * log_det_gram(data.x) if lag else 0.0
    p = n_params(k, lag + error)
    return {
        "log_marginal": float(log_marginal),
        "loglik": float(loglik),
        "n_params": p,
        **information_criteria(loglik, p, n),
        "spatial_parameter": param,
        "rho": float(rho) if lag else np.nan,
        "lambda": float(lam) if error else np.nan,
        "prior_lower": lower,
        "prior_upper": upper,
    }
