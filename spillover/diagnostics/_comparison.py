"""Likelihood-ratio tests and information criteria of the candidates of ``compare_models``.

Everything here is computed from the maximised log-likelihoods that
:func:`spillover.diagnostics.compare_models` obtains in the same pass as the log marginal
likelihoods: no model is fitted twice, and the LR statistics, AIC and BIC refer to exactly
the fits whose posterior probabilities stand beside them.

Parameter count (``n_params``)
------------------------------
``p = k + s + 1``: the ``k`` columns of the design (X, plus W X in SLX, SDM and SDEM),
the ``s`` spatial parameters (0 for SLX, 1 for SAR, SEM, SDM and SDEM, 2 for SAC) and
sigma^2. The fixed effects are **not** counted: the log-likelihood is that of the Lee-Yu
transformed data (entity and/or time effects eliminated, not estimated), an exact density
of ``n`` effective observations (N(T-1) with entity effects, (N-1)T with time effects,
(N-1)(T-1) two-way), and BIC uses ``log(n)`` of those ``n``. This is
:attr:`SpatialResults.fit_stats` ``aic``/``bic`` of the fitted models, and what R's
``logLik`` reports as ``df`` for spatialreg's ``sarlm`` fits (coefficients, spatial
parameter(s) and sigma^2) applied to the transformed likelihood. spreg's ``Panel_FE_Lag``
and statsmodels' OLS leave sigma^2 out of ``k`` (their AIC is ours minus 2, their BIC ours
minus ``log n``; differences between candidates are the same), and spreg counts ``N T``
demeaned observations rather than the transformed ``n``.

LR degrees of freedom
---------------------
``df = p_large - p_small``, the number of restrictions:

=============  ===========  ======================================  =========
model          restricted   restriction                             df
=============  ===========  ======================================  =========
SDM            SAR          theta = 0                               k_x
SDM            SEM          theta = -rho beta (common factor)       k_x
SDM            SLX          rho = 0                                 1
SDEM           SEM          theta = 0                               k_x
SDEM           SLX          lambda = 0                              1
SAC            SAR          lambda = 0                              1
SAC            SEM          rho = 0                                 1
=============  ===========  ======================================  =========

``k_x`` is the number of lagged regressors W x. The common-factor restriction is
non-linear (SEM is SDM with ``theta = -rho beta``, lambda = rho), so its LR statistic is
asymptotically chi-squared(k_x) like the Wald test
:func:`~spillover.diagnostics.wald_common_factor`. A statistic below zero (the restricted
maximum above the unrestricted one by the search tolerance, about 1e-9) is reported as 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

#: Nested pairs (model, restricted) tested within one W, and their restriction.
NESTED: dict[tuple[str, str], str] = {
    ("sdm", "sar"): "theta = 0",
    ("sdm", "sem"): "theta = -rho beta",
    ("sdm", "slx"): "rho = 0",
    ("sdem", "sem"): "theta = 0",
    ("sdem", "slx"): "lambda = 0",
    ("sac", "sar"): "lambda = 0",
    ("sac", "sem"): "rho = 0",
}
LR_COLUMNS = ("weights", "model", "restricted", "restriction", "statistic", "df", "pvalue")


def n_params(n_columns: int, n_spatial: int) -> int:
    """``k + s + 1``: design columns, spatial parameters and sigma^2 (no fixed effects).

    Examples
    --------
    >>> n_params(4, 1)  # SDM with two regressors: beta (2), theta (2), rho, sigma^2
    6
    """
    return int(n_columns) + int(n_spatial) + 1


def information_criteria(loglik: float, p: int, nobs: float) -> dict[str, float]:
    """``aic = -2 loglik + 2 p`` and ``bic = -2 loglik + p log(n)``, n effective.

    Examples
    --------
    >>> ic = information_criteria(-100.0, 3, 50)
    >>> ic["aic"], round(ic["bic"], 4)
    (206.0, 211.7361)
    """
    return {
        "aic": float(-2.0 * loglik + 2.0 * p),
        "bic": float(-2.0 * loglik + np.log(nobs) * p),
    }


def lr_tests(table: pd.DataFrame) -> pd.DataFrame:
    """LR tests of every nested pair present within each W.

    ``table``: indexed by (weights, family) with columns ``loglik`` and ``n_params``, as
    :attr:`ModelComparison.table`. Returns one row per test with columns
    ``weights, model, restricted, restriction, statistic, df, pvalue``:
    ``statistic = max(2 (loglik_model - loglik_restricted), 0)``, ``df = p_model -
    p_restricted`` and ``pvalue`` from chi-squared(df).
    """
    rows = []
    for name in table.index.get_level_values("weights").unique():
        got = table.xs(name, level="weights")
        for (large, small), restriction in NESTED.items():
            if large not in got.index or small not in got.index:
                continue
            stat = max(2.0 * float(got.at[large, "loglik"] - got.at[small, "loglik"]), 0.0)
            df = int(got.at[large, "n_params"] - got.at[small, "n_params"])
            rows.append(
                {
                    "weights": name,
                    "model": large,
                    "restricted": small,
                    "restriction": restriction,
                    "statistic": stat,
                    "df": df,
                    "pvalue": float(stats.chi2.sf(stat, df)),
                }
            )
    return pd.DataFrame(rows, columns=list(LR_COLUMNS))
