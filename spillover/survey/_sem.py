"""The mediation model as a path model fitted by maximum likelihood on semopy.

The path model has the same equations as the OLS fit (without intercepts: semopy fits the
covariance structure), and for parallel models free residual covariances between the
mediators, so it is saturated and recursive: its ML path estimates equal the OLS ones.
Indirect, direct and total effects get first-order delta-method standard errors from the
inverse expected information (lavaan's default ``se = "standard"``).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import semopy
from scipy import stats

from spillover._validate import preview
from spillover.errors import ConvergenceError, SpecificationError
from spillover.survey._mediation_results import MediationResults
from spillover.survey._paths import PathModel

#: SLSQP stops when the ML objective changes by less than this: the path estimates then
#: agree with OLS to about 1e-7 (semopy's default, 1e-6, leaves about 1e-4).
SOLVER_OPTIONS = {"ftol": 1e-12, "maxiter": 10_000}


def description(p: PathModel) -> tuple[str, dict[str, str]]:
    """semopy model text with one label per path, and the map from label to our name."""
    bad = [c for c in p.columns if not c.isidentifier()]
    if bad:
        raise SpecificationError(
            f"engine='sem' needs column names that are identifiers; {preview(bad)} are not. "
            "Rename them (e.g. data.rename(columns=...))."
        )
    lines, names = [], {}
    for eq in p.equations()[:-1]:
        terms = []
        for reg, name in zip(eq.regressors, eq.names, strict=True):
            if reg == "Intercept":
                continue
            label = f"p{len(names)}"
            names[label] = name
            terms.append(f"{label}*{reg}")
        lines.append(f"{eq.dependent} ~ {' + '.join(terms)}")
    if p.kind == "parallel":
        lines += [f"{s} ~~ {t}" for s, t in combinations(p.mediators, 2)]
    return "\n".join(lines), names


def fit_sem(p: PathModel, data: pd.DataFrame, *, level: float) -> MediationResults:
    """ML estimates of the path model, with delta-method effects (see module docstring)."""
    text, names = description(p)
    model = semopy.Model(text)
    result = model.fit(data[list(p.columns)], options=SOLVER_OPTIONS)
    if not getattr(result, "success", True):
        raise ConvergenceError(f"semopy did not converge: {getattr(result, 'message', '')}")
    active = [k for k, v in model.parameters.items() if v.active]
    inverse = model.calc_fim(inverse=True)[1]
    pos = [active.index(label) for label in names]
    ours = list(names.values())
    params = pd.Series(np.asarray(model.param_vals)[pos], index=ours)
    vcov = pd.DataFrame(inverse[np.ix_(pos, pos)], index=ours, columns=ours)
    indirect, effects = _delta_tables(p, params, vcov, level)
    return MediationResults(
        params=params,
        vcov=vcov,
        nobs=len(data),
        df_resid=None,
        vcov_name="ML (inverse expected information)",
        model="Mediation (ML path model)",
        dependent=p.y,
        info={
            "Mediators": f"{', '.join(p.mediators)} ({p.kind})",
            "Engine": "semopy ML",
            "Interval level": f"{level:.0%}",
        },
        indirect=indirect,
        effects=effects,
    )


def _delta_tables(
    p: PathModel, params: pd.Series, vcov: pd.DataFrame, level: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Effects as gradients on the parameters; delta SE ``sqrt(g' V g)``, Wald bounds."""
    where = {n: i for i, n in enumerate(params.index)}
    value = params.to_numpy()
    grads, labels = [], []
    for path in p.paths():
        idx = [where[t] for t in p.path_terms(path)]
        g = np.zeros(len(value))
        for i in idx:
            g[i] += np.prod([value[j] for j in idx if j != i])
        grads.append(g)
        labels.append(p.path_name(path))
    grads.append(np.sum(grads, axis=0))
    labels.append("total indirect")
    direct = np.zeros(len(value))
    direct[where[f"c': {p.x} -> {p.y}"]] = 1.0
    each = [np.prod([value[where[t]] for t in p.path_terms(path)]) for path in p.paths()]
    ind = np.array([*each, sum(each)])
    indirect = _wald(ind, grads, vcov, labels, level)
    indirect = indirect.drop(columns="pvalue").assign(method="delta (normal)")
    c_prime = value[where[f"c': {p.x} -> {p.y}"]]
    est = np.array([c_prime, c_prime + ind[-1]])
    effects = _wald(est, [direct, direct + grads[-1]], vcov, ["direct", "total"], level)
    return indirect, effects


def _wald(
    est: np.ndarray, grads: list[np.ndarray], vcov: pd.DataFrame, labels: list[str], level: float
) -> pd.DataFrame:
    """Delta-method SE ``sqrt(g' V g)`` per gradient, normal p-value and Wald bounds."""
    g = np.array(grads)
    se = np.sqrt(np.einsum("ij,jk,ik->i", g, vcov.to_numpy(), g))
    crit = stats.norm.ppf(0.5 + level / 2)
    return pd.DataFrame(
        {
            "estimate": est,
            "std_error": se,
            "pvalue": 2 * stats.norm.sf(np.abs(est / se)),
            "lower": est - crit * se,
            "upper": est + crit * se,
        },
        index=pd.Index(labels, name="effect"),
    )
