"""Array kernels of the Baltagi, Song and Koh (2003) LM tests (see random_effects_lm).

Every panel array here is ``(N, T)``: one row per entity in W's order, one column per
period (the package's entity-major convention), so :func:`spillover.linalg.stacking.lag`
lags every period in one product and ``I_T (x) W`` is never formed. Residual vectors ``u``
are such arrays; ``ubar`` their entity means.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy import stats
from scipy.optimize import minimize_scalar

from spillover._typing import FloatArray
from spillover._validate import as_rng
from spillover.errors import ConvergenceError, SpecificationError
from spillover.linalg._trace_kernels import _low_traces, lm_trace
from spillover.linalg.factor import SpatialFilter
from spillover.linalg.stacking import lag

#: Largest N for exact traces of ``W (I - lambda W)^-1`` (2 N sparse solves); Hutchinson
#: estimates with Rademacher probes above.
EXACT_TRACE_MAX_N = 2000
_BLOCK = 256
#: Search interval of ``sqrt(psi)``, ``psi = s2_e / (T s2_mu + s2_e)`` (the random-effects
#: quasi-demeaning weight; 1 is no random effects).
_SQRT_PSI_BOUNDS = (1e-6, 1.0)


def marginal(u: FloatArray, w: sp.csr_array) -> tuple[float, float]:
    """(LM1, LM2) of BSK eqs. (2.12) and (2.16) from pooled OLS residuals ``u`` (N, T)."""
    n, t = u.shape
    uu = float(np.sum(u * u))
    s = u.sum(axis=1)
    lm1 = np.sqrt(n * t / (2.0 * (t - 1))) * (s @ s / uu - 1.0)
    h = float(np.sum(u * lag(w, u))) / uu  # u'(I_T (x) (W + W')/2) u / u'u
    lm2 = np.sqrt(n * n * t / lm_trace(w)) * h
    return float(lm1), float(lm2)


def chi_bar_pvalue(stat: float) -> float:
    """P(chi-bar^2 >= stat) for the mixture 1/4 chi2(0) + 1/2 chi2(1) + 1/4 chi2(2)."""
    if stat <= 0:
        return 1.0
    return float(0.5 * stats.chi2.sf(stat, 1) + 0.25 * stats.chi2.sf(stat, 2))


def clm_lambda(u: FloatArray, w: sp.csr_array) -> float:
    """One-sided conditional LM for lambda = 0 given random effects, BSK eq. (2.25).

    ``u`` are the residuals ``y - X beta`` of the ML random-effects (no spatial) fit.
    """
    n, t = u.shape
    ubar = u.mean(axis=1)
    dev = u - ubar[:, None]
    s2_e = float(np.sum(dev * dev)) / (n * (t - 1))  # u'(E_T (x) I_N)u / N(T-1)
    s2_1 = t * float(ubar @ ubar) / n  # u'(Jbar_T (x) I_N)u / N
    # 1/2 u'[(s2_e/s2_1^2) Jbar_T (x) (W + W') + (1/s2_e) E_T (x) (W + W')] u
    score = s2_e / s2_1**2 * t * float(ubar @ (w @ ubar)) + float(np.sum(dev * lag(w, dev))) / s2_e
    return score / np.sqrt(((t - 1) + s2_e**2 / s2_1**2) * lm_trace(w))


class FilterTraces(NamedTuple):
    """``tr(K)``, ``tr(K^2) + tr(K'K)`` for ``K = W (I - lambda W)^-1``, their Monte Carlo
    standard errors (0 if exact) and ``method``."""

    tr_k: float
    tr_kk: float
    method: str
    se_k: float = 0.0
    se_kk: float = 0.0


def filter_traces(
    w: sp.csr_array, lam: float, *, probes: int, seed: int | np.random.Generator | None
) -> FilterTraces:
    """Traces of ``K = W B^-1``, ``B = I - lambda W``: exact up to ``EXACT_TRACE_MAX_N``.

    Exact: the unit vectors in blocks, two sparse-LU solves per vector. Above: with
    ``K = W + lambda M``, ``M = W K``, the terms in W alone are exact (``tr(W)``,
    ``tr(W^2)``, ``tr(W'W)``) and those in M are Hutchinson estimates with ``probes``
    Rademacher vectors (unbiased; their error scales with lambda, so it vanishes at
    lambda = 0). The standard errors, from the spread over probes, are stated in ``method``.
    """
    n = w.shape[0]
    b_inv = SpatialFilter(w, lam)  # B = I - lambda W factorised once

    def k_op(z: FloatArray) -> FloatArray:
        return w @ b_inv.solve(z)

    tr_k = tr_kk = 0.0
    if n <= EXACT_TRACE_MAX_N:
        for start in range(0, n, _BLOCK):
            cols = np.arange(start, min(start + _BLOCK, n))
            z = np.zeros((n, len(cols)))
            z[cols, np.arange(len(cols))] = 1.0
            kz = k_op(z)
            tr_k += float(kz[cols, np.arange(len(cols))].sum())
            tr_kk += float(k_op(kz)[cols, np.arange(len(cols))].sum() + np.sum(kz * kz))
        return FilterTraces(tr_k, tr_kk, "exact")
    if probes < 2:
        raise SpecificationError(f"probes must be at least 2, got {probes}.")
    # K = W + lambda M with M = W K: the W terms are exact, the M terms estimated
    z = as_rng(seed).choice([-1.0, 1.0], size=(n, int(probes)))
    mz = w @ k_op(z)
    wtz, wz = w.T @ z, w @ z
    tr_w, tr_w2 = _low_traces(w)
    exact_k = tr_w + lam * tr_w2
    one = exact_k + lam**2 * np.sum(wtz * mz, axis=0)  # tr(W) + lam tr(W^2) + lam^2 tr(W M)
    cross = np.sum(wtz * mz, axis=0) + np.sum(wz * mz, axis=0)  # tr(W M) + tr(W'M)
    square = np.sum(z * (w @ k_op(mz)), axis=0) + np.sum(mz * mz, axis=0)  # tr(M^2) + |M|^2
    two = lm_trace(w) + 2 * lam * cross + lam**2 * square
    se = [float(v.std(ddof=1) / np.sqrt(probes)) for v in (one, two)]
    method = f"Hutchinson, {probes} probes (standard errors {se[0]:.2g} and {se[1]:.2g})"
    return FilterTraces(float(one.mean()), float(two.mean()), method, *se)


def clm_mu(u: FloatArray, w: sp.csr_array, lam: float, traces: FilterTraces) -> float:
    """One-sided conditional LM for s2_mu = 0 given spatial error, BSK eq. (2.31).

    ``u = y - X beta`` and ``lam`` from the ML pooled spatial-error fit.
    """
    n, t = u.shape
    b = sp.csr_array(sp.identity(n, format="csr") - lam * w)
    c = sp.csr_array(b.T @ b)
    bu = b @ u
    s2 = float(np.sum(bu * bu)) / (n * t)  # u'(I_T (x) B'B)u / NT
    cs = c @ u.sum(axis=1)
    h = float(b.multiply(b).sum())  # tr(B'B)
    e = float(c.multiply(c).sum())  # tr((B'B)^2)
    d = 2.0 * float(b.multiply(w).sum())  # tr(W'B + B'W)
    g = 2.0 * traces.tr_k  # tr[(W'B + B'W)(B'B)^-1] = tr(K + K')
    cc = 2.0 * traces.tr_kk  # tr[((W'B + B'W)(B'B)^-1)^2] = tr((K + K')^2)
    score = -t / (2.0 * s2) * h + float(cs @ cs) / (2.0 * s2**2)
    # eq. (2.31) with the common factor s2^2 of numerator and denominator cancelled
    num = 2.0 * s2**2 / t * (n * cc - g * g)
    den = n * t * e * cc - n * d * d - t * g * g * e + 2.0 * g * h * d - h * h * cc
    if not (num > 0 and den > 0):
        raise SpecificationError(
            f"the information for s2_mu is not positive (numerator {num:.3g}, denominator "
            f"{den:.3g}); the conditional LM test for random effects is undefined here."
        )
    return score * np.sqrt(num / den)


class RandomEffectsML(NamedTuple):
    """ML random-effects (no spatial) fit: beta, residuals y - X beta, phi = s2_mu / s2_e."""

    beta: FloatArray
    resid: FloatArray
    phi: float
    loglik: float


def random_effects_ml(y: FloatArray, x: FloatArray) -> RandomEffectsML:
    """Gaussian ML of ``y = X beta + mu_i + e_it`` on a balanced panel (y (N, T), x (N, T, k)).

    With ``psi = s2_e / (T s2_mu + s2_e)``, beta is OLS on the quasi-demeaned data
    ``a - (1 - sqrt(psi)) abar_i`` and the profile log-likelihood is
    ``-NT/2 (log(2 pi SSR / NT) + 1) + N/2 log(psi)``, maximised over ``sqrt(psi)`` in
    (1e-6, 1] by a bounded scalar search (psi = 1: no random effects).
    """
    n, t = y.shape
    ybar, xbar = y.mean(axis=1, keepdims=True), x.mean(axis=1, keepdims=True)

    def ols(r: float) -> tuple[FloatArray, float]:
        ys = (y - (1 - r) * ybar).reshape(-1)
        xs = (x - (1 - r) * xbar).reshape(n * t, -1)
        beta = np.linalg.lstsq(xs, ys, rcond=None)[0]
        resid = ys - xs @ beta
        return beta, float(resid @ resid)

    def loglik(r: float) -> float:
        ssr = ols(r)[1]
        return -0.5 * n * t * (np.log(2 * np.pi * ssr / (n * t)) + 1) + n * np.log(r)

    res = minimize_scalar(
        lambda r: -loglik(r), bounds=_SQRT_PSI_BOUNDS, method="bounded", options={"xatol": 1e-12}
    )
    if not res.success:
        raise ConvergenceError(f"the random-effects ML search did not converge ({res.message}).")
    r = 1.0 if loglik(1.0) >= -res.fun else float(res.x)
    beta = ols(r)[0]
    resid = y - x @ beta
    return RandomEffectsML(beta, resid, (1.0 / r**2 - 1.0) / t, loglik(r))
