"""Random entity effects with fixed time effects: Swamy-Arora components and GLS (plm's way).

The model is ``y_it = x_it' b + alpha_t + mu_i + e_it`` with ``alpha_t`` fixed (period
dummies), ``mu_i ~ (0, sigma2_mu)`` and ``e_it ~ (0, sigma2_e)``: R plm's
``plm(y ~ x + factor(year), model = "random")``. The period dummies (all but the first
period when the formula has an intercept, all periods otherwise) are regressors of every
step and are partialled out of the final regression (Frisch-Waugh-Lovell), so they are not
reported as coefficients.

Swamy-Arora (plm's ``random.method = "swar"``, Stata's ``xtreg, re``):

* ``sigma2_e = SSR_within / (n - N - K_w)``, the within (entity-demeaned) regression of y
  on the slopes and dummies, ``K_w`` its number of identified coefficients;
* balanced panels: ``sigma2_mu = (SSR_B - (N - K_B - 1) sigma2_e) / (T (N - K_B - 1))``,
  with ``SSR_B = sum_i T_i ebar_i^2`` from the between regression (entity means, each
  repeated T_i times) and ``K_B`` its identified slopes (the dummies' means are constant
  and drop out), plm's ``dfcor = 2``;
* unbalanced panels: plm's ``dfcor = 3`` moments, ``(SSR_B - (N - K_B - 1) sigma2_e) /
  (n - tr[(Z_B'Z_B)^+ Z_S'Z])``, ``Z_B`` the repeated entity means and ``Z_S`` the
  repeated entity sums of the design ``Z``. Two periods missing for no entity give equal
  dummy-mean columns, so ``Z_B'Z_B`` is singular: plm (2.6.2) then stops, here the
  Moore-Penrose inverse ``^+`` is used and ``K_B`` is the rank of ``Z_B`` minus one
  (plm counts all columns). This unbalanced variant has no external reference.

A negative ``sigma2_mu`` is set to 0 (plm). The GLS weight is
``theta_i = 1 - sqrt(sigma2_e / (T_i sigma2_mu + sigma2_e))`` and every column ``a`` is
quasi-demeaned, ``a_it - theta_i abar_i``, before least squares.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from spillover._typing import FloatArray, IntArray
from spillover.models._fit import Transformed, entity_codes, ols, time_codes
from spillover.models._formula import Design


@dataclass(frozen=True)
class Components:
    """Swamy-Arora variance components and the quasi-demeaning weight per observation.

    ``sigma2_mu``: variance of the random entity effect; ``sigma2_e``: idiosyncratic
    variance; ``theta``: ``1 - sqrt(sigma2_e / (T_i sigma2_mu + sigma2_e))`` per row.
    """

    sigma2_mu: float
    sigma2_e: float
    theta: FloatArray


def period_dummies(time: IntArray, *, drop_first: bool) -> FloatArray:
    """0/1 columns, one per period code (the first dropped when ``drop_first``)."""
    dummies = (time[:, None] == np.arange(time.max() + 1)[None, :]).astype(float)
    return dummies[:, 1:] if drop_first else dummies


def _group_mean(a: FloatArray, groups: IntArray) -> FloatArray:
    """Entity means of the rows of ``a``, repeated on every row of the entity."""
    counts = np.bincount(groups).astype(float)
    sums = np.zeros((counts.size, *a.shape[1:]))
    np.add.at(sums, groups, a)
    return (sums / counts.reshape(-1, *([1] * (a.ndim - 1))))[groups]


def _lstsq_resid(x: FloatArray, y: FloatArray) -> tuple[FloatArray, int]:
    """Least-squares residuals and the rank of ``x`` (collinear columns allowed)."""
    coef, _, rank, _ = np.linalg.lstsq(x, y, rcond=None)
    return y - x @ coef, int(rank)


def swamy_arora(z: FloatArray, y: FloatArray, groups: IntArray, icpt: bool) -> Components:
    """Swamy-Arora components of the regression of ``y`` on ``z`` (intercept, slopes and
    period dummies; ``icpt`` whether column 0 is the intercept); see the module notes."""
    n_obs, n = len(y), int(groups.max()) + 1
    counts = np.bincount(groups).astype(float)
    zw = z[:, int(icpt) :] - _group_mean(z[:, int(icpt) :], groups)
    resid_w, k_w = _lstsq_resid(zw, y - _group_mean(y, groups))
    sigma2_e = float(resid_w @ resid_w) / (n_obs - n - k_w)
    zb = _group_mean(z, groups)
    resid_b, rank_b = _lstsq_resid(zb, _group_mean(y, groups))
    ssr_b = float(resid_b @ resid_b)
    if np.all(counts == counts[0]):
        df = n - (rank_b - int(icpt)) - 1
        sigma2_mu = (ssr_b - df * sigma2_e) / (counts[0] * df)
    else:
        zs = zb * counts[groups][:, None]
        trace = float(np.trace(np.linalg.pinv(zb.T @ zb) @ (zs.T @ z)))
        sigma2_mu = (ssr_b - (n - rank_b) * sigma2_e) / (n_obs - trace)
    sigma2_mu = max(float(sigma2_mu), 0.0)
    theta = 1.0 - np.sqrt(sigma2_e / (counts[groups] * sigma2_mu + sigma2_e))
    return Components(sigma2_mu, sigma2_e, theta)


def quasi_demean(a: FloatArray, groups: IntArray, theta: FloatArray) -> FloatArray:
    """``a_it - theta_i abar_i`` for a vector or the columns of a matrix."""
    th = theta if a.ndim == 1 else theta[:, None]
    return a - th * _group_mean(a, groups)


def partial_out(d: FloatArray, *arrays: FloatArray) -> list[FloatArray]:
    """Residuals of each array on the columns of ``d`` (Frisch-Waugh-Lovell)."""
    q, r = np.linalg.qr(d)
    keep = np.abs(np.diag(r)) > 1e-10 * max(1.0, float(np.abs(np.diag(r)).max()))
    q = q[:, keep]
    return [a - q @ (q.T @ a) for a in arrays]


def fit_with_time_effects(
    d: Design, frame: pd.DataFrame
) -> tuple[Transformed, Components, pd.Series]:
    """GLS with random entity effects and period dummies: the transformed regression
    (dummies partialled out, counted as absorbed df), the components and fitted values."""
    idx = d.x.index
    groups = entity_codes(idx)
    dummies = period_dummies(time_codes(idx), drop_first=d.has_intercept)
    x, y = d.x.to_numpy(), d.y.to_numpy()
    first = [list(d.x.columns).index("Intercept")] if d.has_intercept else []
    z = np.column_stack([x[:, first + [i for i in range(x.shape[1]) if i not in first]], dummies])
    comp = swamy_arora(z, y, groups, d.has_intercept)
    xs, ys, ds = (quasi_demean(a, groups, comp.theta) for a in (x, y, dummies))
    xr, yr = partial_out(ds, xs, ys)
    b = ols(xr, yr)
    resid = yr - xr @ b
    t = Transformed(xr, resid, list(d.x.columns), b, frame, absorbed=dummies.shape[1])
    return t, comp, pd.Series(y - resid, index=d.y.index)  # fitted: GLS incl. time effects


def components_stats(comp: Components, groups: IntArray) -> dict[str, float]:
    """``fit_stats`` entries: sigma2_mu, sigma2_e, theta (mean over entities; theta_min and
    theta_max when they differ), and the earlier names sigma2_effects and sigma2."""
    per_entity = comp.theta[np.unique(groups, return_index=True)[1]]
    out = {
        "sigma2_mu": comp.sigma2_mu,
        "sigma2_e": comp.sigma2_e,
        "theta": float(per_entity.mean()),
        "sigma2_effects": comp.sigma2_mu,
        "sigma2": comp.sigma2_e,
    }
    if np.ptp(per_entity) > 0:
        out |= {"theta_min": float(per_entity.min()), "theta_max": float(per_entity.max())}
    return out
