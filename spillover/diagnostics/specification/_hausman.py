"""Hausman tests of fixed against random effects: classical and cluster-robust."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from spillover._typing import FloatArray
from spillover._validate import preview
from spillover.diagnostics.specification._common import (
    _INTERCEPTS,
    TestResult,
    _broadcast_theta,
    _cluster_cov,
    _ols,
    _PanelArrays,
    _params_vcov,
    _quadratic_form,
    _theta,
)
from spillover.errors import SpecificationError


def hausman(fe: Any, re: Any) -> TestResult:
    """Classical Hausman test of fixed against random effects.

    Parameters
    ----------
    fe, re : results
        Fitted within (consistent) and random-effects (efficient) models with ``params``
        and ``vcov`` (classical covariances: the test assumes RE is efficient).

    Returns
    -------
    TestResult
        ``H = d' [V_FE - V_RE]^-1 d``, ``d`` the difference of the coefficients the
        models share (intercepts excluded), chi-squared with df = rank of the difference.

    Notes
    -----
    Same statistic as plm's ``phtest(fe, re)`` and Stata's ``hausman fe re``. When the
    difference of covariances is not positive definite (common in finite samples) a
    Moore-Penrose inverse is used and df is its rank, as Stata does (plm solves and takes
    the absolute value); the result then says so in ``note``. Use
    :func:`hausman_robust` when errors may be heteroskedastic or serially correlated.
    """
    b_fe, v_fe = _params_vcov(fe)
    b_re, v_re = _params_vcov(re)
    common = [c for c in b_re.index if c in b_fe.index and c not in _INTERCEPTS]
    if not common:
        raise SpecificationError(
            f"the models share no slope coefficients: FE has {preview(b_fe.index)}, RE has "
            f"{preview(b_re.index)}."
        )
    d = (b_fe[common] - b_re[common]).to_numpy()
    dv = v_fe.loc[common, common].to_numpy() - v_re.loc[common, common].to_numpy()
    return _chi2_wald("Hausman test (FE vs RE)", d, dv)


def hausman_robust(
    y: Any, x: Any, *, entity: Any = None, time: Any = None, theta: Any = None
) -> TestResult:
    """Cluster-robust, regression-based Hausman test (Wooldridge 2010, section 10.7.3).

    Parameters
    ----------
    y : pandas.Series or array
        Dependent variable; a Series indexed by (entity, time) needs no codes.
    x : pandas.DataFrame or array
        Regressors without a constant, aligned with ``y``.
    entity, time : array-like, optional
        Codes per observation when ``y``/``x`` are arrays.
    theta : float or array, optional
        Random-effects quasi-demeaning weight: one number, or one per entity (in sorted
        entity order). By default the Swamy-Arora weights of linearmodels'
        ``RandomEffects`` on the same data (per entity when unbalanced).

    Returns
    -------
    TestResult
        Wald statistic for ``gamma = 0``, chi-squared with one df per time-varying regressor.

    Notes
    -----
    Pooled OLS of ``y_it - theta ybar_i`` on ``(1 - theta)``, ``x_it - theta xbar_i`` and
    ``x_it - xbar_i`` (the time-varying columns); H0: the coefficients ``gamma`` on the
    last block are zero. Its covariance is clustered by entity, CR0 (no small-sample
    factor), which is plm's ``phtest(..., method = "aux", vcov = function(x)
    vcovHC(x, method = "arellano"))``. On balanced panels the numbers equal plm's; on
    unbalanced panels plm adds an intercept next to the ``(1 - theta_i)`` column.
    """
    data = _PanelArrays.build(y, x, entity, time)
    th = _theta(data) if theta is None else _broadcast_theta(theta, data)
    ybar, xbar = data.means(data.y), data.means(data.x)
    within = data.x - xbar
    varies = within.std(axis=0) > 1e-12 * (1 + np.abs(data.x).max(axis=0))
    z = np.column_stack([1 - th, data.x - th[:, None] * xbar, within[:, varies]])
    coef, u = _ols(z, data.y - th * ybar)
    q = int(varies.sum())
    v = _cluster_cov(z, u, data.entity)[-q:, -q:]
    return _chi2_wald(
        "Regression-based Hausman test, cluster-robust (Wooldridge 2010, 10.7.3)", coef[-q:], v
    )


def _chi2_wald(name: str, d: FloatArray, v: FloatArray) -> TestResult:
    """``d' V^-1 d`` against chi2(rank V): the result both Hausman tests report."""
    stat, rank, note = _quadratic_form(d, v)
    return TestResult(
        name,
        stat,
        rank,
        float(stats.chi2.sf(stat, rank)),
        "chi2",
        "random-effects estimator consistent (effects uncorrelated with regressors)",
        note,
    )
