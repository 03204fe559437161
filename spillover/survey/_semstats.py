"""Array kernels for covariance-structure models: fit indices and validity statistics.

Arrays in, numbers out; no pandas and no semopy here. Every formula is lavaan's (0.6) for
``estimator = "ML"``, ``likelihood = "normal"``, one group and no mean structure: the sample
covariance ``s`` has divisor N and N (not N - 1) multiplies the discrepancy function.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from spillover._typing import FloatArray


def discrepancy(s: FloatArray, sigma: FloatArray) -> float:
    """ML discrepancy F = log|Sigma| + tr(S Sigma^-1) - log|S| - p (0 at a perfect fit)."""
    _, logdet_sigma = np.linalg.slogdet(sigma)
    _, logdet_s = np.linalg.slogdet(s)
    return float(logdet_sigma + np.trace(np.linalg.solve(sigma, s)) - logdet_s - len(s))


def loglik(s: FloatArray, sigma: FloatArray, nobs: int) -> float:
    """Normal log-likelihood -N/2 (p log 2 pi + log|Sigma| + tr(S Sigma^-1)) (lavaan's logl)."""
    _, logdet_sigma = np.linalg.slogdet(sigma)
    quad = np.trace(np.linalg.solve(sigma, s))
    return float(-nobs / 2 * (len(s) * np.log(2 * np.pi) + logdet_sigma + quad))


def srmr(s: FloatArray, sigma: FloatArray) -> float:
    """Bentler's SRMR: root mean square of (s_ij - sigma_ij) / sqrt(s_ii s_jj), i <= j.

    This is lavaan's ``srmr`` (= ``srmr_bentler``) without a mean structure; the diagonal
    counts, so the mean is over p (p + 1) / 2 elements.
    """
    scale = 1 / np.sqrt(np.diag(s))
    resid = (s - sigma) * np.outer(scale, scale)
    lower = resid[np.tril_indices(len(s))]
    return float(np.sqrt(np.mean(lower**2)))


def baseline_chisq(s: FloatArray, nobs: int, fixed_x: list[int]) -> tuple[float, int]:
    """Chi-square and df of lavaan's baseline (independence) model.

    Sigma_b = diag(S), except that the block of the fixed exogenous covariates ``fixed_x``
    keeps its sample covariances (lavaan with ``fixed.x = TRUE``); df = p (p - 1) / 2 minus
    the k (k - 1) / 2 covariances among those k covariates.
    """
    sigma = np.diag(np.diag(s))
    sigma[np.ix_(fixed_x, fixed_x)] = s[np.ix_(fixed_x, fixed_x)]
    p, k = len(s), len(fixed_x)
    return nobs * discrepancy(s, sigma), p * (p - 1) // 2 - k * (k - 1) // 2


def cfi(chisq: float, df: int, base_chisq: float, base_df: int) -> float:
    """Bentler's CFI, 1 - max(X2 - df, 0) / max(X2 - df, X2_b - df_b, 0) (1 if both are 0)."""
    t1 = max(chisq - df, 0.0)
    t2 = max(chisq - df, base_chisq - base_df, 0.0)
    return 1.0 if t2 == 0 else 1 - t1 / t2


def tli(chisq: float, df: int, base_chisq: float, base_df: int) -> float:
    """Tucker-Lewis index (X2_b/df_b - X2/df) / (X2_b/df_b - 1); NaN when df is 0."""
    if df == 0 or base_df == 0:
        return float("nan")
    base = base_chisq / base_df
    return (base - chisq / df) / (base - 1)


def rmsea(chisq: float, df: int, nobs: int) -> float:
    """RMSEA sqrt(max(X2 - df, 0) / (df N)), N not N - 1 (lavaan, likelihood "normal")."""
    if df == 0:
        return float("nan")
    return float(np.sqrt(max(chisq - df, 0.0) / (df * nobs)))


def _ncp_at(chisq: float, df: int, prob: float) -> float:
    """The noncentrality lambda with P(chi2(df, lambda) <= chisq) = prob, or 0 if none."""
    if stats.chi2.cdf(chisq, df) < prob:
        return 0.0

    def gap(ncp: float) -> float:
        return (
            float(stats.ncx2.cdf(chisq, df, ncp) - prob)
            if ncp > 0
            else (float(stats.chi2.cdf(chisq, df) - prob))
        )

    upper = max(chisq, 1.0)
    while gap(upper) > 0:
        upper *= 2
    return float(optimize.brentq(gap, 0.0, upper, xtol=1e-12, rtol=1e-14))


def rmsea_interval(chisq: float, df: int, nobs: int, level: float = 0.90) -> tuple[float, float]:
    """Confidence interval of the RMSEA from the noncentral chi-square (as lavaan).

    The bounds are sqrt(lambda / (df N)) for the noncentralities lambda at which the observed
    X2 is the (1 + level)/2 and (1 - level)/2 quantile.
    """
    if df == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2
    lower = _ncp_at(chisq, df, 1 - tail)
    upper = _ncp_at(chisq, df, tail)
    return float(np.sqrt(lower / (df * nobs))), float(np.sqrt(upper / (df * nobs)))


def rmsea_pclose(chisq: float, df: int, nobs: int, close: float = 0.05) -> float:
    """P-value of H0: RMSEA <= close, 1 - F(X2; df, ncp = N df close^2) (lavaan's)."""
    if df == 0:
        return float("nan")
    return float(stats.ncx2.sf(chisq, df, nobs * df * close**2))


def fit_measures(
    s: FloatArray, sigma: FloatArray, nobs: int, npar: int, fixed_x: list[int]
) -> dict[str, float]:
    """lavaan's ``fitMeasures`` for ML, likelihood "normal", one group, no mean structure.

    ``fixed_x`` are the positions of exogenous observed covariates whose moments are fixed
    at the sample values (lavaan's ``fixed.x = TRUE``): df loses their k (k + 1) / 2
    moments and logL is conditional on them, logL(S, Sigma) - logL(S_xx, S_xx).
    """
    p, k = len(s), len(fixed_x)
    df = p * (p + 1) // 2 - k * (k + 1) // 2 - npar
    chisq = nobs * discrepancy(s, sigma)
    base, base_df = baseline_chisq(s, nobs, fixed_x)
    lower, upper = rmsea_interval(chisq, df, nobs)
    logl = loglik(s, sigma, nobs)
    if k:
        s_xx = s[np.ix_(fixed_x, fixed_x)]
        logl -= loglik(s_xx, s_xx, nobs)
    return {
        "chisq": chisq,
        "df": float(df),
        "pvalue": float(stats.chi2.sf(chisq, df)) if df > 0 else float("nan"),
        "cfi": cfi(chisq, df, base, base_df),
        "tli": tli(chisq, df, base, base_df),
        "rmsea": rmsea(chisq, df, nobs),
        "rmsea_lower": lower,
        "rmsea_upper": upper,
        "rmsea_pclose": rmsea_pclose(chisq, df, nobs),
        "srmr": srmr(s, sigma),
        "loglik": logl,
        "aic": -2 * logl + 2 * npar,
        "bic": float(-2 * logl + npar * np.log(nobs)),
        "npar": float(npar),
        "baseline_chisq": base,
        "baseline_df": float(base_df),
    }


def composite_reliability(loadings: FloatArray) -> float:
    """(sum l)^2 / ((sum l)^2 + sum(1 - l^2)) from standardized loadings l."""
    total = float(np.sum(loadings)) ** 2
    return total / (total + float(np.sum(1 - loadings**2)))


def average_variance_extracted(loadings: FloatArray) -> float:
    """Mean of the squared standardized loadings."""
    return float(np.mean(loadings**2))


def htmt(corr: FloatArray, first: list[int], second: list[int]) -> float:
    """Heterotrait-monotrait ratio of two constructs from the item correlations.

    Mean of the correlations between the items of the two constructs, divided by the
    geometric mean of each construct's mean off-diagonal within-construct correlation
    (Henseler, Ringle and Sarstedt 2015, eq. 6). ``corr`` is used as given: pass absolute
    correlations for semTools' ``absolute = TRUE``.
    """
    hetero = float(np.mean(corr[np.ix_(first, second)]))
    return hetero / np.sqrt(_monotrait(corr, first) * _monotrait(corr, second))


def _monotrait(corr: FloatArray, items: list[int]) -> float:
    block = corr[np.ix_(items, items)]
    return float(np.mean(block[np.triu_indices(len(items), k=1)]))
