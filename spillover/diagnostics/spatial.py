"""Diagnostics for choosing a spatial model: LM tests, LR and Wald tests, Moran's I, and
the spatial Hausman test of random against fixed effects.

All functions take plain arrays (or pandas objects) and a weights matrix, so they apply to
cross-sections, pooled panels and fixed-effects (demeaned) panels alike. Panels are T
cross-sections of N entities stacked time-major (all entities of the first period, then
the second, ...), or any order described by ``time`` and ``entity`` codes. The panel
weights ``I_T (x) W`` are applied period by period; the Kronecker product is never built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from spillover._validate import preview
from spillover.diagnostics.moran import (  # public names re-exported; _ols_residuals shared
    MoranResult,
    _ols_residuals,
    moran_by_period_stacked,
    moran_regression,
    moran_residuals,
)
from spillover.diagnostics.specification import TestResult
from spillover.errors import SpecificationError
from spillover.linalg._trace_kernels import lm_trace
from spillover.measures._moran import lag_periods
from spillover.models.spatial import SpatialResults


@dataclass(frozen=True)
class LMTests:
    """Lagrange multiplier tests from OLS residuals (Anselin et al. 1996).

    Attributes
    ----------
    lag, error, robust_lag, robust_error, sarma : TestResult
        LM-lag, LM-error, their robust versions, and the joint SARMA test (df 2).
    n_periods : int
        Periods T stacked in the data (1 for a cross-section).
    """

    lag: TestResult
    error: TestResult
    robust_lag: TestResult
    robust_error: TestResult
    sarma: TestResult
    n_periods: int = 1

    def to_frame(self) -> pd.DataFrame:
        """One row per test: statistic, df, pvalue."""
        rows = [getattr(self, f.name) for f in fields(self) if f.name != "n_periods"]
        return pd.DataFrame(
            {
                "statistic": [r.statistic for r in rows],
                "df": [r.df for r in rows],
                "pvalue": [r.pvalue for r in rows],
            },
            index=pd.Index([r.name for r in rows], name="test"),
        )

    def __str__(self) -> str:
        head = f"Lagrange multiplier tests (T = {self.n_periods})"
        return head + "\n" + self.to_frame().to_string(float_format=lambda v: f"{v:.4f}")


def _chi2(name: str, stat: float, df: int, null: str) -> TestResult:
    """A chi-squared result in the toolkit's shared TestResult."""
    return TestResult(name, float(stat), int(df), float(stats.chi2.sf(stat, df)), "chi2", null)


# ---------------------------------------------------------------------- LM tests
def lm_tests(
    y: Any,
    x: Any,
    w: Any,
    *,
    n_periods: int | None = None,
    time: Sequence[Any] | None = None,
    entity: Sequence[Any] | None = None,
) -> LMTests:
    """LM lag, LM error, robust LM lag/error and SARMA tests from the OLS fit of y on X.

    Parameters
    ----------
    y : array-like, shape (N T,)
        Dependent variable, already transformed as the model uses it (e.g. demeaned for
        fixed effects).
    x : array-like, shape (N T, k)
        Regressors, transformed the same way (include the constant for pooled OLS).
    w : Weights, libpysal W/Graph, scipy sparse or numpy array
        N x N weights (:func:`spillover.weights.as_weights`). Rows given by position (plain
        arrays, or ``entity=`` positions) take a bare matrix in the entity order of the data;
        rows labelled by an (entity, time) index are matched to W by id, so W must carry ids
        (a Weights, a libpysal object, or ``Weights(matrix, ids)``).
    n_periods : int, optional
        T; by default ``len(y) / N`` (1 gives the cross-sectional tests), or the number of
        distinct ``time`` labels.
    time, entity : array-like, optional
        Period labels and entity ids (positions, or ids of a Weights ``w``) of each row, when
        the rows are not stacked time-major in W's order. A pandas ``y`` indexed by an
        (entity, time) MultiIndex, like a Panel's columns, supplies them itself.

    Returns
    -------
    LMTests

    Notes
    -----
    With e the OLS residuals, ``s2 = e'e / (N T)``, ``T_w = tr(W'W + W W)`` and
    ``J = [(W b)' M (W b) + T T_w s2] / s2`` where ``W b`` is the spatial lag of the
    fitted values and M the OLS residual maker, all panel products using ``I_T (x) W``:
    LM-error = ``(e'We/s2)^2 / (T T_w)``, LM-lag = ``(e'Wy/s2)^2 / J``; robust LM-error
    = ``(e'We/s2 - T T_w/J e'Wy/s2)^2 / (T T_w (1 - T T_w/J))``, robust LM-lag =
    ``(e'Wy/s2 - e'We/s2)^2 / (J - T T_w)``; SARMA = robust LM-lag + LM-error (df 2).
    For T = 1 these are Anselin et al. (1996) as in spreg's ``OLS(spat_diag=True)``; for
    panels they are the pooled versions of Anselin, Le Gallo and Jayet (2008) and
    Elhorst (2014, ``LMsarsem_panel``), applied to the data as transformed by the user
    (T, not T - 1, multiplies the trace after demeaning, as in Elhorst's code).

    Examples
    --------
    >>> import numpy as np
    >>> from libpysal.weights import lat2W
    >>> w = lat2W(5, 5); w.transform = "r"
    >>> rng = np.random.default_rng(0)
    >>> x = np.column_stack([np.ones(25), rng.normal(size=25)])
    >>> res = lm_tests(x @ [1.0, 2.0] + rng.normal(size=25), x, w.sparse)
    >>> 0 <= res.lag.pvalue <= 1
    True
    """
    csr, y, x, n_periods, beta, e = _ols_residuals(y, x, w, n_periods, time, entity)
    s2 = e @ e / len(y)
    wy, we = lag_periods(csr, y, n_periods), lag_periods(csr, e, n_periods)
    t_w = n_periods * lm_trace(csr)
    wxb = lag_periods(csr, x @ beta, n_periods)
    resid_wxb = wxb - x @ np.linalg.lstsq(x, wxb, rcond=None)[0]
    j = (wxb @ resid_wxb + t_w * s2) / s2
    lm_e, lm_y = e @ we / s2, e @ wy / s2
    robust_err = (lm_e - t_w / j * lm_y) ** 2 / (t_w * (1 - t_w / j))
    robust_lag = (lm_y - lm_e) ** 2 / (j - t_w)
    return LMTests(
        lag=_chi2("LM lag", lm_y**2 / j, 1, "no spatial lag (rho = 0)"),
        error=_chi2("LM error", lm_e**2 / t_w, 1, "no spatial error (lambda = 0)"),
        robust_lag=_chi2(
            "Robust LM lag", robust_lag, 1, "rho = 0, robust to local spatial error dependence"
        ),
        robust_error=_chi2(
            "Robust LM error", robust_err, 1, "lambda = 0, robust to local spatial lag dependence"
        ),
        sarma=_chi2("LM SARMA", robust_lag + lm_e**2 / t_w, 2, "rho = 0 and lambda = 0"),
        n_periods=int(n_periods),
    )


# ---------------------------------------------------------------------- LR and Wald
def _loglik(res: Any) -> float:
    value = getattr(res, "loglik", None)
    if value is None:
        value = getattr(res, "fit_stats", {}).get("loglik")
    if value is None:
        raise SpecificationError(
            f"{type(res).__name__} has no log-likelihood (.loglik or fit_stats['loglik'])."
        )
    return float(value)


def lr_test(restricted: Any, unrestricted: Any, *, df: int | None = None) -> TestResult:
    """Likelihood-ratio test of a restricted ML model nested in an unrestricted one.

    ``LR = 2 (loglik_u - loglik_r)``, chi-squared with ``df`` = difference in the number of
    ``params`` unless given. Both fits must use the same sample and likelihood (e.g. both
    with or both without the Lee-Yu correction).
    """
    ll_r, ll_u = _loglik(restricted), _loglik(unrestricted)
    if df is None:
        df = len(unrestricted.params) - len(restricted.params)
    if df < 1:
        raise SpecificationError(
            f"the unrestricted model must have more parameters (df = {df}); check the order "
            "of the arguments: lr_test(restricted, unrestricted)."
        )
    return _chi2("LR", max(2.0 * (ll_u - ll_r), 0.0), df, "the restricted model holds")


def _durbin_names(params: pd.Series, vcov: pd.DataFrame, names: Sequence[str] | None):
    if names is None:
        names = [n[2:] for n in params.index if n.startswith("W_") and n[2:] in params.index]
    names = list(names)
    need = ["rho", *names, *(f"W_{x}" for x in names)]
    missing = [n for n in need if n not in params.index or n not in vcov.index]
    if not names or missing:
        raise SpecificationError(
            f"params/vcov lack {preview(missing or ['W_<x>'])}; a Durbin model needs 'rho', "
            "the x names and 'W_<x>' names."
        )
    return names


def wald_sdm_to_sar(
    params: pd.Series, vcov: pd.DataFrame, *, names: Sequence[str] | None = None
) -> TestResult:
    """Wald test of theta = 0 (SDM reduces to SAR) for the ``W_x`` terms of ``names``.

    ``W = theta' V_theta^-1 theta``, chi-squared with k = len(names) df. By default
    every x with a ``W_x`` term in ``params`` is tested.
    """
    names = _durbin_names(params, vcov, names)
    wx = [f"W_{x}" for x in names]
    th = params[wx].to_numpy(float)
    stat = th @ np.linalg.solve(vcov.loc[wx, wx].to_numpy(float), th)
    return _chi2("Wald theta = 0", stat, len(wx), "theta = 0: the SDM reduces to the SAR")


def wald_common_factor(
    params: pd.Series, vcov: pd.DataFrame, *, names: Sequence[str] | None = None
) -> TestResult:
    """Wald test of the common-factor restriction theta + rho beta = 0 (SDM reduces to SEM).

    Notes
    -----
    ``g = theta + rho beta`` (one entry per x with a ``W_x`` term), ``G`` its Jacobian
    with respect to (rho, beta, theta): ``dg_k/drho = beta_k``, ``dg_k/dbeta_k = rho``,
    ``dg_k/dtheta_k = 1``; ``W = g' (G V G')^-1 g``, chi-squared with k df (delta method,
    Anselin 1988 pp. 226-229; spreg's ``comfac_test``).
    """
    names = _durbin_names(params, vcov, names)
    labels = ["rho", *names, *(f"W_{x}" for x in names)]
    k = len(names)
    rho, beta = float(params["rho"]), params[names].to_numpy(float)
    g = params[[f"W_{x}" for x in names]].to_numpy(float) + rho * beta
    jac = np.hstack([beta[:, None], rho * np.eye(k), np.eye(k)])
    v = jac @ vcov.loc[labels, labels].to_numpy(float) @ jac.T
    stat = g @ np.linalg.solve(v, g)
    return _chi2("Wald common factor", stat, k, "theta = -rho beta: the SDM reduces to the SEM")


def spatial_hausman(fixed: SpatialResults, random: SpatialResults) -> TestResult:
    """Spatial Hausman test of random against fixed effects (Mutl and Pfaffermayr 2011).

    ``H = d' (V_FE - V_RE)^-1 d`` over the coefficients both models estimate (the
    regressors and rho or lambda; not the intercept or phi), ``d = b_FE - b_RE``,
    chi-squared with as many degrees of freedom, as R splm's ``sphtest`` computes it for ML
    fits, except that splm compares the regressors only. For SAR splm's RE variance
    differs from ours, so its value does too; for SEM (``SpatialError(...,
    effects="random")`` against ``effects="entity", bias_correction=None``) the variances
    coincide and restricting ``d`` to the slopes reproduces splm's statistic. In
    finite samples ``V_FE - V_RE`` need not be positive definite and the statistic can
    then be negative; it is returned as is, as splm and Stata's ``hausman`` do.

    Returns
    -------
    TestResult
        ``statistic``, ``df``, ``pvalue`` (also as ``result["statistic"]`` ...); ``note``
        says when ``V_FE - V_RE`` is not positive definite, and when the statistic is
        negative, so its chi-squared p-value tests nothing. ``diagnostics_table`` (report)
        puts the note under the table and ``str(result)`` prints it.

    Raises
    ------
    SpecificationError
        If the two fits share no coefficients or ``V_FE - V_RE`` is singular.
    """
    common = [p for p in fixed.params.index if p in random.params.index and p != "Intercept"]
    if not common:
        raise SpecificationError("the two models share no coefficients to compare.")
    d = (fixed.params[common] - random.params[common]).to_numpy()
    v = (fixed.vcov.loc[common, common] - random.vcov.loc[common, common]).to_numpy()
    try:
        stat = float(d @ np.linalg.solve(v, d))
    except np.linalg.LinAlgError as exc:
        raise SpecificationError(
            "V_FE - V_RE is singular; the Hausman statistic is undefined."
        ) from exc
    df = len(common)
    return TestResult(
        "Spatial Hausman (FE vs RE)",
        stat,
        df,
        float(stats.chi2.sf(stat, df)),
        "chi2",
        "random effects are consistent (uncorrelated with the regressors)",
        _hausman_note(v, stat),
    )


def _hausman_note(v: np.ndarray, stat: float) -> str:
    """Caveat when ``V_FE - V_RE`` is not positive definite or the statistic is negative."""
    eig = np.linalg.eigvalsh((v + v.T) / 2)
    if eig.min() > 0 and stat >= 0:
        return ""
    parts = [
        "V_FE - V_RE is not positive definite (smallest eigenvalue "
        f"{eig.min():.3g}), so the statistic is not a chi-squared quadratic form"
    ]
    if stat < 0:
        parts.append(f"the statistic is negative ({stat:.4g}) and its p-value tests nothing")
    return "; ".join(parts) + " (splm and Stata's hausman return it as is)."


__all__ = [
    "LMTests",
    "MoranResult",
    "lm_tests",
    "lr_test",
    "moran_by_period_stacked",
    "moran_regression",
    "moran_residuals",
    "spatial_hausman",
    "wald_common_factor",
    "wald_sdm_to_sar",
]
