"""Standard errors of the effects: delta method, simulation draws, and the results table.

Used by :func:`spillover.inference.impacts.impacts`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from spillover._typing import FloatArray
from spillover._validate import user_stacklevel
from spillover.errors import ApproximationWarning, SpecificationError
from spillover.inference._impacts_spec import _Spec
from spillover.linalg.traces import Multipliers

_EFFECTS = ("direct", "indirect", "total")
_CHUNK = 250


def _delta_se(spec: _Spec, m: FloatArray, dm: FloatArray) -> FloatArray:
    """Delta-method standard errors from the analytic gradient of every effect."""
    k = len(spec.names)
    start = 1 if spec.has_rho else 0
    grad = np.zeros((3 * k, len(spec.labels)))
    for i in range(k):
        b, t = spec.beta[i], spec.theta[i]
        g_dir = np.zeros(len(spec.labels))
        g_tot = np.zeros(len(spec.labels))
        if spec.has_rho:
            g_dir[0] = b * dm[0] + t * dm[1]
            g_tot[0] = b * dm[2] + t * dm[3]
        g_dir[start + i], g_tot[start + i] = m[0], m[2]
        if spec.names[i] in spec.theta_names:
            j = start + k + spec.theta_names.index(spec.names[i])
            g_dir[j], g_tot[j] = m[1], m[3]
        grad[3 * i : 3 * i + 3] = [g_dir, g_tot - g_dir, g_tot]
    var = np.einsum("ij,jk,ik->i", grad, spec.vcov, grad)
    return np.sqrt(np.clip(var, 0.0, None))


def _simulate(
    spec: _Spec, mult: Multipliers, draws: int, rng: np.random.Generator, progress: bool
) -> tuple[FloatArray, int]:
    """Effects at ``draws`` parameter draws from N(estimates, vcov), series multipliers."""
    if draws < 2:
        raise SpecificationError(f"draws must be at least 2, got {draws}.")
    params = rng.multivariate_normal(spec.mean, spec.vcov, size=draws, method="eigh")
    rho, beta, theta = spec.split(params)
    ok = np.abs(rho) * mult.radius < 1 if spec.has_rho else np.ones(draws, dtype=bool)
    dropped = int((~ok).sum())
    if dropped:
        warnings.warn(
            f"{dropped} of {draws} simulated rho fell outside |rho| < {1 / mult.radius:.4g}, "
            "where the effects are defined; they were dropped.",
            ApproximationWarning,
            stacklevel=user_stacklevel(),
        )
    rho, beta, theta = rho[ok], beta[ok], theta[ok]
    out = np.empty((len(rho), 3 * len(spec.names)))
    for lo in tqdm(range(0, len(rho), _CHUNK), desc="impact draws", disable=not progress):
        hi = lo + _CHUNK
        out[lo:hi] = spec.effects(mult.values(rho[lo:hi]), beta[lo:hi], theta[lo:hi])
    if len(out) < 2:
        raise SpecificationError("fewer than 2 usable draws; check rho and vcov.")
    return out, dropped


def _table(
    spec: _Spec, estimate: FloatArray, se: FloatArray, level: float, sims: FloatArray | None
) -> pd.DataFrame:
    with np.errstate(divide="ignore", invalid="ignore"):
        z = estimate / se
    if sims is None:
        c = stats.norm.ppf(0.5 + level / 2)
        lower, upper = estimate - c * se, estimate + c * se
    else:
        lower, upper = np.quantile(sims, [(1 - level) / 2, (1 + level) / 2], axis=0)
    out = pd.DataFrame(
        {
            "variable": np.repeat(spec.names, 3),
            "effect": list(_EFFECTS) * len(spec.names),
            "estimate": estimate,
            "std_error": se,
            "z": z,
            "pvalue": 2 * stats.norm.sf(np.abs(z)),
            "lower": lower,
            "upper": upper,
        }
    )
    if sims is not None:
        out["mean_draws"] = sims.mean(axis=0)
    return out
