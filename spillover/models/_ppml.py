"""Poisson pseudo-maximum likelihood with absorbed effects: arrays in, arrays out.

:func:`irls` estimates by iteratively reweighted least squares with the effects swept out
by weighted demeaning inside each iteration (weights mu), warm-started from the previous
iteration's residuals, with step halving, as ppmlhdfe and pyfixest ``fepois`` do. It stops
when the relative change of the deviance, ``|D_r - D_{r-1}| / (0.1 + |D_r|)``, is below
``tol`` (their criterion). With regression weights w the working weights are ``w mu`` and
the deviance is ``sum w d_i`` (the weighted quasi-likelihood; pyfixest's ``fepois`` stops
on the unweighted deviance, which moves the stopping point, not the optimum).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spillover._typing import FloatArray, IntArray
from spillover.errors import ConvergenceError
from spillover.models._wdemean import weighted_demean

#: Linear predictors are clipped here so that exp() stays finite while iterating.
_ETA_MAX = 700.0


def poisson_deviance(y: FloatArray, mu: FloatArray, w: FloatArray | None = None) -> float:
    """2 sum w (y log(y / mu) - (y - mu)), with y log y = 0 at y = 0 (w = 1 if None)."""
    w = np.ones(len(y)) if w is None else w
    pos = y > 0
    return float(2 * (np.sum(w[pos] * y[pos] * np.log(y[pos] / mu[pos])) - w @ (y - mu)))


@dataclass(frozen=True)
class IrlsFit:
    """Estimates, fitted means and the weighted demeaned design at the estimates."""

    params: FloatArray
    mu: FloatArray
    x_tilde: FloatArray
    deviance: float
    iterations: int
    last_change: float


def _rel_change(new: float, old: float) -> float:
    return abs(new - old) / (0.1 + abs(new))


def _step(y, offset, x, x_prev, z_prev, zt_prev, mu, tol_inner, codes, max_demean, w):
    """One IRLS step: working response, demeaning with weights w mu (warm start), WLS."""
    eta = np.log(mu)
    z = eta - offset + (y - mu) / mu
    z_in = z if zt_prev is None else zt_prev + (z - z_prev)
    x_in = x if x_prev is None else x_prev
    both = np.column_stack([z_in, x_in])
    if codes:
        both, _ = weighted_demean(both, codes, w * mu, tol=tol_inner, max_iter=max_demean)
    zt, xt = both[:, 0], both[:, 1:]
    wx = xt * (w * mu)[:, None]
    beta = np.linalg.solve(xt.T @ wx, wx.T @ zt)
    # without effects x beta directly: z - (z - x beta) loses |z| * eps where mu is tiny and
    # y > 0 (z ~ y / mu), enough to make step halving reject the step to the optimum
    eta_new = z - (zt - xt @ beta) + offset if codes else x @ beta + offset
    return beta, eta_new, z, zt, xt


def irls(
    y: FloatArray,
    x: FloatArray,
    codes: Sequence[IntArray],
    offset: FloatArray,
    *,
    tol: float,
    max_iter: int,
    demean_tol: float,
    max_demean: int = 10_000,
    weights: FloatArray | None = None,
) -> IrlsFit:
    """PPML by IRLS with absorbed effects and optional regression weights (module notes).

    Raises
    ------
    ConvergenceError
        If the deviance criterion is not met in ``max_iter`` iterations, or step halving
        cannot lower the deviance.
    """
    w = np.ones(len(y)) if weights is None else weights
    mu = (y + (w @ y) / w.sum()) / 2
    dev = poisson_deviance(y, mu, w)
    state: tuple = (None, None, None)  # x_tilde, z, z_tilde of the previous step
    change, inner = np.inf, max(demean_tol, 1e-4)
    for it in range(1, max_iter + 1):
        beta, eta_new, z, zt, xt = _step(
            y, offset, x, state[0], state[1], state[2], mu, inner, codes, max_demean, w
        )
        if it == 1:  # the start is no model fit, so the first step is taken whole
            mu_new = np.exp(np.minimum(eta_new, _ETA_MAX))
            dev_new, full = poisson_deviance(y, mu_new, w), False
        else:
            mu_new, dev_new, full = _halve(y, np.log(mu), eta_new, dev, tol, w)
        change = _rel_change(dev_new, dev)
        mu, dev, state = mu_new, dev_new, (xt, z, zt)
        if change < tol and inner <= demean_tol and full:
            return IrlsFit(beta, mu, xt, dev, it, change)
        inner = max(demean_tol, min(inner, 0.01 * change))
    raise ConvergenceError(
        f"PPML did not converge in {max_iter} IRLS iterations: the relative deviance "
        f"change |D_r - D_r-1| / (0.1 + |D_r|) is {change:.2e}, above tol={tol:g}. Raise "
        "max_iter; if the fitted means of some rows go to zero, regressors separate them "
        "(Correia, Guimarães and Zylkin 2019): drop those rows or regressors."
    )


def _halve(y, eta, eta_new, dev: float, tol: float, w: FloatArray):
    """Full step if the deviance falls (or moves by less than ``tol``, rounding at the
    optimum), else halve it until it falls; True if the step was full."""
    alpha = 1.0
    while alpha > 1e-12:
        cand = np.minimum(eta + alpha * (eta_new - eta), _ETA_MAX)
        mu = np.exp(cand)
        new = poisson_deviance(y, mu, w)
        if new <= dev or (alpha == 1.0 and _rel_change(new, dev) < tol):
            return mu, new, alpha == 1.0
        alpha /= 2
    raise ConvergenceError(
        "PPML step halving could not lower the deviance; the design is near-collinear or "
        "regressors separate some rows. Drop collinear regressors."
    )


def final_design(
    x: FloatArray, x_tilde: FloatArray, codes: Sequence[IntArray], weights: FloatArray,
    demean_tol: float,
) -> FloatArray:  # fmt: skip
    """The design demeaned with the final weights w mu (warm-started), for the covariance."""
    if not codes:
        return x
    return weighted_demean(x_tilde, codes, weights, tol=demean_tol)[0]
