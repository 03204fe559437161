"""Moran's I of regression residuals: pooled, per period, and with regression moments.

Residuals of balanced panels are stacked time-major (or labelled by ``time``/``entity``)
and tested against ``I_T (x) W`` through per-period sparse products, never a Kronecker
product. W is received as in :func:`spillover.diagnostics.spatial.lm_tests`: a bare matrix
only when rows are given by position, ids otherwise. The statistic and its moments under
normality come from the Moran kernel shared with :func:`spillover.measures.morans_i`
(:mod:`spillover.measures._moran`); :func:`moran_regression` adds the moments of regression
residuals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from spillover.diagnostics._stacking import _prepare
from spillover.measures._moran import (
    MoranMoments,
    lag_periods,
    moran,
    moran_statistic,
    moran_sums,
)


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


def _result(name: str, m: MoranMoments) -> MoranResult:
    """The normality-assumption part of the shared kernel's moments."""
    return MoranResult(name, m.statistic, m.expected, m.variance_norm, m.z_norm, m.p_norm)


def _prepare_residuals(residuals, w, n_periods, time, entity):
    """W as csr, residuals in time-major order, and T (see ``_stacking._prepare``)."""
    csr, e, _, t = _prepare(residuals, np.zeros(np.size(residuals)), w, n_periods, time, entity)
    return csr, e, t


def _ols_residuals(y, x, w, n_periods, time, entity):
    """W as csr, y and X in time-major order, T, and the OLS residuals of y on X."""
    csr, y, x, t = _prepare(y, x, w, n_periods, time, entity)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    return csr, y, x, t, beta, y - x @ beta


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
    csr, e, t = _prepare_residuals(residuals, w, n_periods, time, entity)
    return _result("Moran's I (pooled)", moran(e, csr, n_periods=t))


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
    csr, _, xx, t, _, e = _ols_residuals(y, x, w, n_periods, time, entity)
    n, k = xx.shape
    xtx_inv = np.linalg.inv(xx.T @ xx)
    wx = lag_periods(csr, xx, t)
    wtx = lag_periods(sp.csr_array(csr.T), xx, t)
    wwx = lag_periods(csr, wx, t)
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
    stat = float(moran_statistic(e, lag_periods(csr, e, t), n, s0, e @ e))
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
    :func:`spillover.diagnostics.specification.moran_by_period`.

    Returns a DataFrame indexed by period (the sorted time labels when ``time`` or an
    (entity, time) MultiIndex is given, else 0..T-1) with columns
    ``statistic, expected, variance, z, pvalue``.
    """
    csr, e, n_periods = _prepare_residuals(residuals, w, n_periods, time, entity)
    index = getattr(residuals, "index", None)
    if time is None and isinstance(index, pd.MultiIndex):
        time = index.get_level_values(1)
    labels = range(n_periods) if time is None else np.unique(np.asarray(time))
    sums = moran_sums(csr)
    keys = ["statistic", "expected", "variance", "z", "pvalue"]
    rows = []
    for label, block in zip(labels, e.reshape(n_periods, csr.shape[0]), strict=True):
        res = _result(f"Moran's I ({label})", moran(block, csr, sums=sums))
        rows.append([getattr(res, k) for k in keys])
    return pd.DataFrame(rows, columns=keys, index=pd.Index(list(labels), name="period"))
