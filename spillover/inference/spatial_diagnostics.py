"""Diagnostics for choosing a spatial model: LM tests, LR and Wald tests, Moran's I.

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
import scipy.sparse as sp
from scipy import stats

from spillover._typing import FloatArray
from spillover._validate import preview
from spillover.errors import AlignmentError, SpecificationError
from spillover.inference.specification import TestResult
from spillover.inference.traces import as_sparse_weights


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


@dataclass(frozen=True)
class MoranResult:
    """Moran's I with its normal-approximation moments (randomness under normality)."""

    name: str
    statistic: float
    expected: float
    variance: float
    z: float
    pvalue: float

    def __str__(self) -> str:
        return (
            f"{self.name}: I = {self.statistic:.4f} (E[I] = {self.expected:.4f}, "
            f"z = {self.z:.3f}, p-value = {self.pvalue:.4g})"
        )


def _chi2(name: str, stat: float, df: int, null: str) -> TestResult:
    """A chi-squared result in the toolkit's shared TestResult."""
    return TestResult(name, float(stat), int(df), float(stats.chi2.sf(stat, df)), "chi2", null)


# ---------------------------------------------------------------------- stacking
def _order(n_obs: int, n: int, n_periods: int | None, time: Any, entity: Any, w: Any):
    """(permutation to time-major order or None, T), checking the panel is balanced."""
    if (time is None) != (entity is None):
        raise SpecificationError("pass both time= and entity= codes, or neither.")
    if time is None:
        t = n_obs // n if n_periods is None else int(n_periods)
        if n_obs != n * t:
            raise AlignmentError(
                f"{n_obs} observations do not fill {t} period(s) of the {n} entities in W; "
                "the panel must be balanced (n_obs = N x T) and stacked time-major."
            )
        return None, t
    t_codes, t_levels = pd.factorize(np.asarray(time), sort=True)
    t = len(t_levels)
    ids = getattr(w, "ids", None)
    ent = np.asarray(entity)
    e_codes = ids.get_indexer(ent) if ids is not None else ent.astype(np.intp)
    bad = (e_codes < 0) | (e_codes >= n)
    if bad.any() or (n_periods is not None and t != n_periods):
        raise AlignmentError(
            f"time/entity codes do not match W and n_periods={n_periods}: {t} periods "
            f"found; entities not in W: {preview(ent[bad]) or 'none'}."
        )
    pos = t_codes * n + e_codes
    if n_obs != n * t or len(np.unique(pos)) != n_obs:
        raise AlignmentError(
            f"{n_obs} rows for {n} entities x {t} periods: the panel must be balanced with "
            "each (time, entity) pair exactly once."
        )
    return np.argsort(pos), t


def _lag(w: sp.csr_array, a: FloatArray, n_periods: int) -> FloatArray:
    """(I_T (x) W) a for time-major stacked a (1-d or 2-d), one sparse product."""
    n = w.shape[0]
    shape = a.shape
    blocks = a.reshape(n_periods, n, -1).transpose(1, 0, 2).reshape(n, -1)
    out = (w @ blocks).reshape(n, n_periods, -1).transpose(1, 0, 2)
    return out.reshape(shape)


def _prepare(y, x, w, n_periods, time, entity):
    """Arrays in time-major order and T; (entity, time) MultiIndex rows are read as codes."""
    csr = as_sparse_weights(w)
    index = getattr(y, "index", None)
    if time is None and entity is None and isinstance(index, pd.MultiIndex):
        if index.nlevels != 2:
            raise SpecificationError("a MultiIndex must have two levels, (entity, time).")
        entity, time = index.get_level_values(0), index.get_level_values(1)
    y = np.asarray(y, dtype=float).ravel()
    x = np.asarray(x, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    if len(x) != len(y):
        raise AlignmentError(f"y has {len(y)} rows but X has {len(x)}.")
    perm, t = _order(len(y), csr.shape[0], n_periods, time, entity, w)
    if perm is not None:
        y, x = y[perm], x[perm]
    return csr, y, x, t


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
    w : Weights, scipy sparse or numpy array
        N x N weights in the entity order of the data.
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
    csr, y, x, n_periods = _prepare(y, x, w, n_periods, time, entity)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    e = y - x @ beta
    s2 = e @ e / len(y)
    wy, we = _lag(csr, y, n_periods), _lag(csr, e, n_periods)
    t_w = n_periods * float(csr.multiply(csr).sum() + csr.multiply(csr.T).sum())
    wxb = _lag(csr, x @ beta, n_periods)
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


# ---------------------------------------------------------------------- Moran's I
def _moran(z: FloatArray, wz: FloatArray, n: int, s0: float, s1: float, s2: float, name: str):
    stat = n / s0 * (z @ wz) / (z @ z)
    expected = -1.0 / (n - 1)
    var = (n * n * s1 - n * s2 + 3 * s0 * s0) / ((n * n - 1) * s0 * s0) - expected**2
    zval = (stat - expected) / np.sqrt(var)
    return MoranResult(
        name, float(stat), expected, float(var), float(zval), float(2 * stats.norm.sf(abs(zval)))
    )


def _moran_sums(w: sp.csr_array) -> tuple[float, float, float]:
    """S0, S1 and S2 of Cliff and Ord for W."""
    sym = w + w.T
    s1 = 0.5 * float(sym.multiply(sym).sum())
    rows, cols = np.asarray(w.sum(axis=1)).ravel(), np.asarray(w.sum(axis=0)).ravel()
    return float(w.sum()), s1, float(((rows + cols) ** 2).sum())


def moran_residuals(
    residuals: Any,
    w: Any,
    *,
    n_periods: int | None = None,
    time: Sequence[Any] | None = None,
    entity: Sequence[Any] | None = None,
) -> MoranResult:
    """Moran's I of residuals pooled over periods, with weights ``I_T (x) W``.

    Notes
    -----
    ``I = (n / S0) z'(I_T (x) W) z / z'z`` with n = N T, z the residuals minus their mean,
    and the moments under normality as in ``esda.Moran`` (``EI``, ``VI_norm``, two-sided
    ``p_norm``) with ``S0, S1, S2`` of ``I_T (x) W`` (T times those of W). For T = 1 this
    equals ``esda.Moran(residuals, w)``. These moments treat the residuals as observed
    data; they do not correct for the estimated coefficients: for a test of OLS residuals
    use :func:`moran_regression`, whose moments do (as spdep's ``lm.morantest``).
    """
    csr, e, _, t = _prepare(residuals, np.zeros(np.size(residuals)), w, n_periods, time, entity)
    z = e - e.mean()
    s0, s1, s2 = _moran_sums(csr)
    return _moran(z, _lag(csr, z, t), len(z), t * s0, t * s1, t * s2, "Moran's I (pooled)")


def moran_regression(
    y: Any,
    x: Any,
    w: Any,
    *,
    n_periods: int | None = None,
    time: Sequence[Any] | None = None,
    entity: Sequence[Any] | None = None,
) -> MoranResult:
    """Moran's I test of OLS residuals with the regression-residual moments (Cliff and Ord).

    Fits y on X by OLS (pass X already transformed as the model uses it: with a constant
    for pooled OLS, demeaned for fixed effects) and tests its residuals e = M y with
    ``I_T (x) W``, never built. Unlike :func:`moran_residuals`, the moments account for
    the estimated coefficients (M = I - X (X'X)^-1 X'):

    ``I = (n/S0) e'We / e'e``, ``E[I] = (n/S0) tr(MW) / (n - k)``,
    ``Var[I] = (n/S0)^2 [tr(MWMW') + tr(MWMW) + tr(MW)^2] / ((n - k)(n - k + 2)) - E[I]^2``

    (Anselin 1988, p. 102; spreg's ``MoranRes`` and spdep's ``lm.morantest``). The
    p-value is two-sided; spdep prints the one-sided ``greater`` p, half of it when z > 0.
    """
    csr, yy, xx, t = _prepare(y, x, w, n_periods, time, entity)
    n, k = xx.shape
    xtx_inv = np.linalg.inv(xx.T @ xx)
    e = yy - xx @ (xtx_inv @ (xx.T @ yy))
    wx = _lag(csr, xx, t)
    wtx = _lag(sp.csr_array(csr.T), xx, t)
    wwx = _lag(csr, wx, t)
    a_xwx = xtx_inv @ (xx.T @ wx)  # A X'WX
    a_xwtx = xtx_inv @ (xx.T @ wtx)  # A X'W'X
    tr_w = t * float(csr.diagonal().sum())
    tr_mw = tr_w - np.trace(a_xwx)
    tr_wwt = t * float(csr.multiply(csr).sum())
    tr_ww = t * float(csr.multiply(csr.T).sum())
    tr_mwmwt = (
        tr_wwt
        - np.trace(xtx_inv @ (wtx.T @ wtx))  # tr(P W W') = tr(A X'W W'X)
        - np.trace(xtx_inv @ (wx.T @ wx))  # tr(W P W') = tr(A X'W'W X)
        + np.trace(a_xwx @ a_xwtx)
    )
    tr_mwmw = tr_ww - 2 * np.trace(xtx_inv @ (xx.T @ wwx)) + np.trace(a_xwx @ a_xwx)
    s0 = t * float(csr.sum())
    scale = n / s0
    stat = scale * float(e @ _lag(csr, e, t)) / float(e @ e)
    expected = scale * tr_mw / (n - k)
    var = scale**2 * (tr_mwmwt + tr_mwmw + tr_mw**2) / ((n - k) * (n - k + 2)) - expected**2
    zval = (stat - expected) / np.sqrt(var)
    return MoranResult(
        "Moran's I (regression residuals)",
        stat,
        float(expected),
        float(var),
        float(zval),
        float(2 * stats.norm.sf(abs(zval))),
    )


def moran_by_period_stacked(
    residuals: Any,
    w: Any,
    *,
    n_periods: int | None = None,
    time: Sequence[Any] | None = None,
    entity: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Moran's I of residuals period by period (each exactly ``esda.Moran`` of that period).

    For balanced residuals stacked time-major (or labelled by ``time``/``entity``); for
    unbalanced panels matched by id use
    :func:`spillover.inference.specification.moran_by_period`.

    Returns a DataFrame indexed by period (the sorted time labels when ``time`` or an
    (entity, time) MultiIndex is given, else 0..T-1) with columns
    ``statistic, expected, variance, z, pvalue``.
    """
    csr, e, _, n_periods = _prepare(
        residuals, np.zeros(np.size(residuals)), w, n_periods, time, entity
    )
    index = getattr(residuals, "index", None)
    if time is None and isinstance(index, pd.MultiIndex):
        time = index.get_level_values(1)
    labels = range(n_periods) if time is None else np.unique(np.asarray(time))
    sums = _moran_sums(csr)
    n = csr.shape[0]
    keys = ["statistic", "expected", "variance", "z", "pvalue"]
    rows = []
    for label, block in zip(labels, e.reshape(n_periods, n), strict=True):
        z = block - block.mean()
        res = _moran(z, csr @ z, n, *sums, f"Moran's I ({label})")
        rows.append([getattr(res, k) for k in keys])
    return pd.DataFrame(rows, columns=keys, index=pd.Index(list(labels), name="period"))
