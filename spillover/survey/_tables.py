"""Tables of an OLS mediation fit: effects, indirect effects, Sobel and Baron-Kenny steps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from spillover.models import Results
from spillover.survey import _bootstrap
from spillover.survey._mediation_results import MediationResults
from spillover.survey._paths import PathModel


def build(
    model: Any,
    params: pd.Series,
    vcov: pd.DataFrame,
    vcov_name: str,
    df: int | None,
    fits: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    estimate: np.ndarray,
    draws: np.ndarray | None,
    level: float,
    boot: dict[str, Any],
) -> MediationResults:
    """The results of an OLS fit of ``model`` (a :class:`~spillover.survey.Mediation`)."""
    p: PathModel = model.paths
    base = Results(params, vcov, len(fits[0][2]), df, vcov_name)
    coefs = base.coef_table(level)
    labels = [p.path_name(path) for path in p.paths()] + ["total indirect"]
    info = {
        "Mediators": f"{', '.join(p.mediators)} ({p.kind})",
        "Covariates": ", ".join(p.covariates) or "none",
        "Interval level": f"{level:.0%}",
    }
    if model.cluster is not None:
        info["Clusters"] = f"{model.data[model.cluster].nunique():,} ({model.cluster})"
    if draws is not None:
        unit = f"clusters of {model.cluster}" if model.cluster is not None else "rows"
        seed = "a Generator" if isinstance(boot["seed"], np.random.Generator) else boot["seed"]
        info["Bootstrap"] = f"{boot['draws']:,} draws of {unit}, seed {seed}"
        if boot["replaced"]:
            info["Bootstrap"] += f", {boot['replaced']} singular samples replaced"
    return MediationResults(
        params=params,
        vcov=vcov,
        nobs=base.nobs,
        df_resid=df,
        vcov_name=vcov_name,
        model="Mediation (OLS paths)",
        dependent=p.y,
        fit_stats=_r2(model, fits),
        info=info,
        indirect=indirect_table(labels, estimate, draws, level, boot["ci"]),
        effects=coefs.loc[[f"c': {p.x} -> {p.y}", f"c: {p.x} -> {p.y}"]]
        .set_axis(["direct", "total"])
        .rename(columns={"coef": "estimate"}),
        sobel=sobel_table(p, coefs),
        baron_kenny=baron_kenny_table(p, coefs, 1 - level),
        draws=None if draws is None else pd.DataFrame(draws, columns=labels),
    )


def indirect_table(
    labels: list[str], estimate: np.ndarray, draws: np.ndarray | None, level: float, ci: str
) -> pd.DataFrame:
    """Estimate, bootstrap SD, interval bounds and interval method per indirect effect."""
    if draws is None:
        nan = np.full(len(labels), np.nan)
        lower, upper, se, method = nan, nan, nan, "none"
    else:
        lower, upper = _bootstrap.interval(draws, estimate, level, ci)
        se, method = draws.std(axis=0, ddof=1), ci
    return pd.DataFrame(
        {"estimate": estimate, "std_error": se, "lower": lower, "upper": upper, "method": method},
        index=pd.Index(labels, name="effect"),
    )


def sobel_table(p: PathModel, coefs: pd.DataFrame) -> pd.DataFrame:
    """Sobel (1982) z of each x -> m_j -> y: ``a b / sqrt(b^2 se_a^2 + a^2 se_b^2)``."""
    rows = {}
    for m in p.mediators:
        a_name, b_name = p.path_terms((m,))
        a, se_a = coefs.loc[a_name, ["coef", "std_error"]]
        b, se_b = coefs.loc[b_name, ["coef", "std_error"]]
        se = float(np.sqrt(b**2 * se_a**2 + a**2 * se_b**2))
        z = a * b / se
        rows[p.path_name((m,))] = (a * b, se, z, 2 * stats.norm.sf(abs(z)))
    frame = pd.DataFrame.from_dict(
        rows, orient="index", columns=["estimate", "std_error", "z", "pvalue"]
    )
    return frame.rename_axis("effect")


def baron_kenny_table(p: PathModel, coefs: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Baron and Kenny (1986): (1) c, (2) each a, (3) each b given x, (4) c' given the m."""
    steps = [("1. x -> y", f"c: {p.x} -> {p.y}")]
    steps += [(f"2. x -> {m}", f"a: {p.x} -> {m}") for m in p.mediators]
    steps += [(f"3. {m} -> y | x", f"b: {m} -> {p.y}") for m in p.mediators]
    steps += [("4. x -> y | mediators", f"c': {p.x} -> {p.y}")]
    table = coefs.loc[[term for _, term in steps], ["coef", "std_error", "pvalue"]]
    table = table.rename(columns={"coef": "estimate"})
    table.insert(0, "step", [s for s, _ in steps])
    table["significant"] = table["pvalue"] < alpha
    return table.rename_axis("path")


def _r2(model: Any, fits: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> dict[str, float]:
    """R^2 of every equation: ``r2`` is the outcome equation's, ``r2 (m1)`` etc. the others'."""
    out = {}
    for eq, (_, _, e) in zip(model.paths.equations(), fits, strict=True):
        y = model.data[eq.dependent].to_numpy()
        r2 = 1 - float(e @ e) / float(((y - y.mean()) ** 2).sum())
        out["r2" if eq.label == model.paths.y else f"r2 ({eq.label})"] = r2
    return out
