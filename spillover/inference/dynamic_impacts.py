"""Short- and long-run effects of dynamic spatial panel models, with standard errors.

For ``y_t = tau y_{t-1} + rho W y_t + eta W y_{t-1} + X_t beta + W X_t theta + ...`` the
effect of a permanent change in x_k is, in the short run (the period of the change),
``S_k = (I - rho W)^-1 (beta_k I + theta_k W)`` and, in the long run (the new steady state),
``L_k = ((1 - tau) I - (rho + eta) W)^-1 (beta_k I + theta_k W)`` (Debarsy, Ertur and
LeSage 2012, Spatial Economic Analysis 7; Elhorst 2014, Spatial Econometrics, ch. 4). Both
are summarised as LeSage and Pace (2009): direct ``tr/N``, total ``1' . 1/N``, indirect
their difference. Since ``L_k = (1/(1 - tau)) (I - rho_L W)^-1 (beta_k I + theta_k W)`` with
``rho_L = (rho + eta)/(1 - tau)``, the long-run effects are the static spatial Durbin
effects at ``(rho_L, beta/(1 - tau), theta/(1 - tau))``.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from spillover._typing import FloatArray
from spillover._validate import as_rng, user_stacklevel
from spillover.errors import ApproximationWarning, SpecificationError
from spillover.inference.impacts import impacts
from spillover.linalg.matrix import as_spatial_matrix
from spillover.linalg.traces import multipliers
from spillover.weights import as_weights

Horizon = Literal["short", "long", "both"]
#: Powers of rho_L in the series used for the simulated long-run effects.
LONG_RUN_ORDER = 200


def dynamic_impacts(
    w: Any,
    *,
    tau: float,
    rho: float,
    eta: float = 0.0,
    beta: pd.Series,
    theta: pd.Series | None = None,
    vcov: pd.DataFrame,
    horizon: Horizon = "both",
    method: Literal["simulation", "delta"] = "simulation",
    draws: int = 1000,
    seed: int | np.random.Generator | None = None,
    level: float = 0.95,
    progress: bool = False,
    **options: Any,
) -> pd.DataFrame:
    """Average short- and long-run direct, indirect and total effects with standard errors.

    Parameters
    ----------
    w : Weights, libpysal W/Graph, scipy.sparse or numpy array
        The N x N weights of the fitted model (a bare matrix is used by position: the
        averages do not depend on how entities are numbered).
    tau, rho, eta : float
        Coefficients of ``y_{t-1}``, ``W y_t`` and ``W y_{t-1}`` (eta 0 when absent).
    beta, theta : pandas.Series
        Coefficients of the regressors and of their spatial lags, keyed by x name.
    vcov : pandas.DataFrame
        Covariance labelled ``"tau"``, ``"rho"``, (``"eta"``), x names and ``"W_" + x``.
    horizon : {"short", "long", "both"}, default "both"
    method : {"simulation", "delta"}, default "simulation"
        Simulation: ``draws`` draws of all parameters from N(estimates, vcov), mapped to
        the effects; draws outside the region where the long-run multiplier exists
        (``tau >= 1`` or ``|rho_L| r >= 1``, r the spectral bound of W) are dropped and
        counted in ``attrs["dropped_draws"]``. Delta: the exact gradient through
        ``(rho_L, beta_L, theta_L)`` (chain rule).
    draws, seed, level, progress
        As in :func:`spillover.inference.impacts.impacts`.
    **options
        Passed to :func:`spillover.inference.impacts.impacts` (``traces``, ``order``).

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`~spillover.inference.impacts.impacts` preceded by
        ``horizon`` (``"short"`` or ``"long"``). ``estimate`` is the effect at the
        estimates.
    """
    if horizon not in ("short", "long", "both"):
        raise SpecificationError(f"horizon must be 'short', 'long' or 'both', got {horizon!r}.")
    sm = as_spatial_matrix(as_weights(w, bare="positional"))
    short_rng, long_rng = as_rng(seed).spawn(2)
    common = dict(method=method, draws=draws, level=level, progress=progress, **options)
    parts = []
    if horizon in ("short", "both"):
        out = _static(sm, rho, beta, theta, vcov, seed=short_rng, **common)
        parts.append(out.assign(horizon="short"))
    if horizon in ("long", "both"):
        parts.append(_long_run(sm, tau, rho, eta, beta, theta, vcov, long_rng, common))
    table = pd.concat(parts, ignore_index=True)
    table = table[["horizon", *[c for c in table.columns if c != "horizon"]]]
    table.attrs = {**parts[-1].attrs, "horizon": horizon}
    return table


def _static(sm: Any, rho: float, beta, theta, vcov, **kwargs: Any) -> pd.DataFrame:
    kind = "sdm" if theta is not None and len(theta) else "sar"
    return impacts(sm, model=kind, rho=rho, beta=beta, theta=theta, vcov=vcov, **kwargs)


def _labels(beta: pd.Series, theta: pd.Series | None, eta_in: bool) -> list[str]:
    th = [] if theta is None else [f"W_{x}" for x in theta.index]
    return ["tau", "rho", *(["eta"] if eta_in else []), *beta.index, *th]


def _long_run_map(
    p: FloatArray, k: int, eta_in: bool
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Rows of (tau, rho, [eta], beta, theta) -> (rho_L, beta_L, theta_L) and 1 - tau."""
    tau, rho = p[:, 0], p[:, 1]
    start = 3 if eta_in else 2
    eta = p[:, 2] if eta_in else 0.0
    scale = 1.0 - tau
    return (
        (rho + eta) / scale,
        p[:, start : start + k] / scale[:, None],
        p[:, start + k :] / scale[:, None],
        scale,
    )


def _long_run(sm, tau, rho, eta, beta, theta, vcov, rng, common) -> pd.DataFrame:
    eta_in = "eta" in vcov.index
    labels = _labels(beta, theta, eta_in)
    mean = np.array(
        [tau, rho, *([eta] if eta_in else []), *beta, *([] if theta is None else theta)]
    )
    v = vcov.loc[labels, labels].to_numpy(dtype=float)
    k = len(beta)
    rho_l, beta_l, theta_l, scale = _long_run_map(mean[None, :], k, eta_in)
    if scale[0] <= 0 or abs(rho_l[0]) * sm.spectral_bound[0] >= 1:
        raise SpecificationError(
            f"the long-run effects do not exist at these estimates (tau = {tau:.4g}, "
            f"(rho + eta)/(1 - tau) = {rho_l[0]:.4g}): the model is not stable. Report the "
            "short-run effects (horizon='short')."
        )
    jac = _jacobian(mean, k, eta_in)
    th_names = [] if theta is None else list(theta.index)
    out_labels = ["rho", *beta.index, *[f"W_{x}" for x in th_names]]
    v_l = pd.DataFrame(jac @ v @ jac.T, index=out_labels, columns=out_labels)
    b_l = pd.Series(beta_l[0], index=beta.index)
    t_l = None if theta is None else pd.Series(theta_l[0], index=theta.index)
    kw = {k_: val for k_, val in common.items() if k_ not in ("method", "draws", "progress")}
    out = _static(sm, rho_l[0], b_l, t_l, v_l, method="delta", seed=rng, **kw)
    if common["method"] == "simulation":
        out = _simulated(out, sm, mean, v, k, th_names, list(beta.index), eta_in, rng, common)
    return out.assign(horizon="long")


def _jacobian(mean: FloatArray, k: int, eta_in: bool) -> FloatArray:
    """d(rho_L, beta_L, theta_L) / d(tau, rho, [eta], beta, theta) at ``mean``."""
    p = len(mean)
    tau, rho = mean[0], mean[1]
    start = 3 if eta_in else 2
    eta = mean[2] if eta_in else 0.0
    s = 1.0 - tau
    jac = np.zeros((p - start + 1, p))
    jac[0, 0] = (rho + eta) / s**2
    jac[0, 1] = 1.0 / s
    if eta_in:
        jac[0, 2] = 1.0 / s
    for j in range(start, p):
        jac[j - start + 1, 0] = mean[j] / s**2
        jac[j - start + 1, j] = 1.0 / s
    return jac


def _simulated(out, sm, mean, v, k, th_names, names, eta_in, rng, common) -> pd.DataFrame:
    """Replace the delta-method columns by those of ``draws`` simulated long-run effects."""
    draws = int(common["draws"])
    params = rng.multivariate_normal(mean, v, size=draws, method="eigh")
    rho_l, beta_l, th_l, scale = _long_run_map(params, k, eta_in)
    radius = sm.spectral_bound[0]
    ok = (scale > 0) & (np.abs(rho_l) * radius < 1)
    dropped = int((~ok).sum())
    if dropped:
        warnings.warn(
            f"{dropped} of {draws} simulated parameter vectors are not stable (no long-run "
            "multiplier); they were dropped.",
            ApproximationWarning,
            stacklevel=user_stacklevel(),
        )
    theta_full = np.zeros((draws, k))
    for j, x in enumerate(th_names):
        theta_full[:, names.index(x)] = th_l[:, j]
    mult = multipliers(sm, int(common.get("order", LONG_RUN_ORDER)), seed=rng)
    m = mult.values(rho_l[ok])
    b, t = beta_l[ok], theta_full[ok]
    direct = b * m[:, [0]] + t * m[:, [1]]
    total = b * m[:, [2]] + t * m[:, [3]]
    sims = np.stack([direct, total - direct, total], axis=2).reshape(len(m), -1)
    level = float(common["level"])
    se = sims.std(axis=0, ddof=1)
    est = out["estimate"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = est / se
    lower, upper = np.quantile(sims, [(1 - level) / 2, (1 + level) / 2], axis=0)
    out = out.assign(
        std_error=se, z=z, pvalue=2 * stats.norm.sf(np.abs(z)), lower=lower, upper=upper
    )
    out["mean_draws"] = sims.mean(axis=0)
    out.attrs.update(method="simulation", draws=draws, dropped_draws=dropped)
    return out
