"""The semopy boundary: parse a lavaan-style description, fit by ML, return plain tables.

Nothing here keeps a semopy object: :func:`fit_ml` returns a :class:`Fitted` of pandas
objects, so results built from it pickle. semopy's SLSQP stops at ``ftol = 1e-6`` on the
discrepancy function, which leaves standardized loadings off by up to 1e-3; the solution is
therefore polished by Fisher scoring (unbounded, as lavaan's default ``bounds = "none"``)
until the largest gradient element of F_ML is below 1e-10.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import semopy
from scipy import stats
from semopy.inspector import inspect_list
from semopy.parser import parse_desc

from spillover._typing import FloatArray
from spillover.errors import ConvergenceError, SpecificationError

#: Largest |dF/dtheta| accepted as converged after polishing, and the one that is an error.
_GRAD_TOL, _GRAD_FAIL = 1e-10, 1e-6
_MAX_SCORING_STEPS = 100


@dataclass(frozen=True)
class Fitted:
    """What a fit leaves behind, as plain tables (no semopy objects)."""

    table: pd.DataFrame  # lhs, op, rhs, estimate, std_error, z, pvalue, std_all, free
    labels: list[str]  # the free parameters, in the order of vcov
    vcov: FloatArray
    observed: list[str]
    latent: list[str]
    fixed_x: list[str]  # exogenous observed variables, moments fixed at the sample's
    sample_cov: FloatArray
    implied_cov: FloatArray
    latent_cov: pd.DataFrame
    npar: int
    iterations: int


def parse(description: str) -> semopy.Model:
    """A semopy model from lavaan-style syntax; syntax errors as SpecificationError."""
    try:
        return semopy.Model(description)
    except Exception as exc:  # semopy raises bare Exception/SyntaxError/KeyError
        raise SpecificationError(
            f"semopy could not parse the model description ({exc}). Use lavaan syntax: "
            "'f =~ x1 + x2 + x3' for loadings, 'y ~ x' for regressions, 'a ~~ b' for "
            "covariances."
        ) from exc


def lavaan_auto_cov_y(description: str) -> list[str]:
    """The residual covariances lavaan's ``sem()`` adds (``auto.cov.y = TRUE``).

    Among the outcomes of ``~`` regressions that predict nothing (lavaan's ``ov.y`` and
    ``lv.y``), every pair not already in a ``~~`` statement; semopy adds none.
    """
    try:
        operations, _ = parse_desc(description)
    except Exception:  # the full parse in ``parse`` reports the syntax error
        return []
    regressions = operations["~"]
    predictors = {x for rhs in regressions.values() for x in rhs}
    outcomes = [y for y in regressions if y not in predictors]
    given = {frozenset((a, b)) for a, rhs in operations["~~"].items() for b in rhs}
    return [
        f"{a} ~~ {b}"
        for i, a in enumerate(outcomes)
        for b in outcomes[i + 1 :]
        if frozenset((a, b)) not in given
    ]


def fit_ml(model: semopy.Model, data: pd.DataFrame) -> Fitted:
    """Fit ``model`` by ML to the columns of ``data`` it names (complete rows only)."""
    observed = list(model.vars["observed"])
    logger = logging.getLogger("semopy")
    previous, logger.disabled = logger.disabled, True  # its warnings become our errors
    try:
        result = model.fit(data[observed], obj="MLW")
    finally:
        logger.disabled = previous
    if not result.success:
        raise ConvergenceError(
            f"semopy's optimiser did not converge ({result.message}, {result.n_it} "
            "iterations). Check the model is identified (one loading per factor fixed, "
            "enough items) and that the items vary."
        )
    steps = _polish(model, len(data))
    return _collect(model, observed, int(result.n_it) + steps)


def _polish(model: semopy.Model, nobs: int) -> int:
    """Fisher scoring on F_ML from semopy's solution, with step halving; returns steps."""
    fun, grad = model.get_objective("MLW")
    x = np.asarray(model.param_vals, dtype=float).copy()
    f = fun(x)
    step = 0
    for step in range(_MAX_SCORING_STEPS):  # noqa: B007 (reported below)
        g = grad(x)
        if np.max(np.abs(g)) < _GRAD_TOL:
            break
        model.update_matrices(x)
        hessian = model.calc_fim() * 2 / nobs  # expected Hessian of F_ML
        direction = -np.linalg.lstsq(hessian, g, rcond=None)[0]
        x, f, moved = _line_search(fun, x, f, direction)
        if not moved:
            break
    else:
        step = _MAX_SCORING_STEPS
    worst = float(np.max(np.abs(grad(x))))
    if not np.isfinite(worst) or worst > _GRAD_FAIL:
        raise ConvergenceError(
            f"the ML solution did not converge: largest gradient element {worst:.2e} after "
            f"{step} Fisher-scoring steps. The model may be empirically under-identified."
        )
    model.param_vals = x
    model.update_matrices(x)
    return step


def _line_search(fun, x: FloatArray, f: float, direction: FloatArray):
    """Largest step in 1, 1/2, ... 1/2^20 that does not raise F; (x, f, moved)."""
    t = 1.0
    for _ in range(21):
        trial = x + t * direction
        f_trial = fun(trial)
        if np.isfinite(f_trial) and f_trial <= f + 1e-14 * max(1.0, abs(f)):
            return trial, f_trial, True
        t /= 2
    return x, f, False


def _collect(model: semopy.Model, observed: list[str], iterations: int) -> Fitted:
    """Estimates table, covariance of the free parameters and implied moments."""
    raw = inspect_list(model, std_est=True, index_names=True)
    unsorted = _lavaan_table(raw, model)
    active = [name for name, p in model.parameters.items() if p.active]
    first_row = {name: i for i, name in reversed(list(enumerate(raw.index)))}
    labels = [_label(unsorted.iloc[first_row[name]]) for name in active]
    order = unsorted["op"].map({"=~": 0, "~": 1, "~~": 2}).fillna(3).to_numpy()
    table = unsorted.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)
    _, vcov = model.calc_fim(inverse=True)
    sigma, _ = model.calc_sigma()
    return Fitted(
        table=table,
        labels=labels,
        vcov=np.asarray(vcov),
        observed=observed,
        latent=sorted(model.vars["latent"]),
        fixed_x=_fixed_x(model, table),
        sample_cov=np.asarray(model.mx_cov),
        implied_cov=np.asarray(sigma),
        latent_cov=_latent_cov(model),
        npar=len(active),
        iterations=iterations,
    )


def _lavaan_table(raw: pd.DataFrame, model: semopy.Model) -> pd.DataFrame:
    """semopy's inspect rows as lavaan's (lhs, op, rhs): loadings become ``f =~ x``."""
    measured = (
        (raw["op"] == "~")
        & raw["rval"].isin(model.vars["latent"])
        & raw["lval"].isin(model.vars["indicator"])
    )
    free = raw["Std. Err"].map(lambda v: not isinstance(v, str)).to_numpy(dtype=bool)
    estimate = raw["Estimate"].to_numpy(dtype=float)
    se = pd.to_numeric(raw["Std. Err"], errors="coerce").to_numpy(dtype=float)
    z = estimate / se  # semopy's p-values are 1 - cdf, which rounds to 0 beyond z = 8
    table = pd.DataFrame(
        {
            "lhs": np.where(measured, raw["rval"], raw["lval"]),
            "op": np.where(measured, "=~", raw["op"]),
            "rhs": np.where(measured, raw["lval"], raw["rval"]),
            "estimate": estimate,
            "std_error": se,
            "z": z,
            "pvalue": 2 * stats.norm.sf(np.abs(z)),
            "std_all": raw["Est. Std"].to_numpy(dtype=float),
            "free": free,
        }
    )
    return _residual_correlations(table)


def _residual_correlations(table: pd.DataFrame) -> pd.DataFrame:
    """``std.all`` of ``a ~~ b`` (a != b) as lavaan: est / sqrt(var_a var_b), using the
    estimated (residual, for endogenous variables) variances, not semopy's total ones."""
    diagonal = table[(table["op"] == "~~") & (table["lhs"] == table["rhs"])]
    variance = pd.Series(diagonal["estimate"].to_numpy(), index=diagonal["lhs"].to_numpy())
    variance = variance[~variance.index.duplicated()].where(lambda v: v > 0)
    cross = (table["op"] == "~~") & (table["lhs"] != table["rhs"])
    scale = np.sqrt(
        table.loc[cross, "lhs"].map(variance).to_numpy(dtype=float)
        * table.loc[cross, "rhs"].map(variance).to_numpy(dtype=float)
    )
    table.loc[cross, "std_all"] = table.loc[cross, "estimate"].to_numpy() / scale
    return table


def _label(row: pd.Series) -> str:
    return f"{row['lhs']} {row['op']} {row['rhs']}"


def _fixed_x(model: semopy.Model, table: pd.DataFrame) -> list[str]:
    """Observed exogenous variables without a free variance: semopy, like lavaan's default
    ``fixed.x = TRUE``, holds their variances and covariances at the sample values."""
    free_var = table.loc[table["free"] & (table["op"] == "~~") & (table["lhs"] == table["rhs"])]
    exogenous = set(model.vars["exogenous"]) - set(free_var["lhs"])
    return [v for v in model.vars["observed"] if v in exogenous]


def _latent_cov(model: semopy.Model) -> pd.DataFrame:
    """Model-implied covariance of the latent variables, C Psi C' (C = (I - B)^-1)."""
    _, (_, c) = model.calc_sigma()
    full = c @ model.mx_psi @ c.T
    names = list(model.names_psi[0])
    latent = [n for n in names if n in model.vars["latent"]]
    idx = [names.index(n) for n in latent]
    return pd.DataFrame(full[np.ix_(idx, idx)], index=latent, columns=latent)
