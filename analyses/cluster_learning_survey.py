"""Collective learning in an industrial cluster: do environmental, structural and behavioural
learning factors raise knowledge spillover through knowledge transfer, transformation and
harvest? An end-to-end questionnaire study on simulated firms with known truth.

Simulates a cluster-learning questionnaire (``spillover.simulate.cluster_survey``), reads
it against its codebook, drops straight-lining respondents, checks reliability (alpha,
omega), sampling adequacy (KMO, Bartlett), the number of factors (parallel analysis),
the exploratory and confirmatory factor structure and construct validity (CR, AVE,
Fornell-Larcker, HTMT), then fits one parallel mediation model per learning factor on
standardized item-mean scores with the other two factors as covariates, bias-corrected
bootstrap intervals for every indirect path. Structure truly does not act through
transformation or harvest: the findings say whether the intervals find those nulls.

Writes ``cfa_fit``, ``validity``, ``efa_loadings``, ``correlations`` and
``mediation_<factor>`` tables as .tex and .md; ``path_structure`` and ``scree`` as PDF and
PNG; ``results.json`` (fit, reliability, every indirect effect beside its truth) and
``README.md`` (findings, every number filled in from ``results.json``).
Run with ``python -m analyses.cluster_learning_survey`` or ``make analyses``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from analyses._common import run_cli
from spillover import simulate
from spillover.errors import DroppedRowsWarning, SurveyDataWarning
from spillover.report import (
    construct_correlation_table,
    loadings_table,
    mediation_table,
    path_diagram,
    scree_plot,
    sem_fit_table,
    validity_table,
    write_atomic,
)
from spillover.report.figures import save_figure
from spillover.survey import (
    Mediation,
    MediationResults,
    bartlett_sphericity,
    cfa,
    efa,
    kmo,
    parallel_analysis,
    read_responses,
    reliability,
)

N_FIRMS, BOOTSTRAP, SEED = 500, 2000, 2026
PA_ITER = 200
LEVEL = 0.95
FACTORS = ("environment", "structure", "behaviour")
MEDIATORS = ("transfer", "transformation", "harvest")
OUTCOME = "spillover"
FIT_KEYS = ("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea_lower", "rmsea_upper", "srmr")


FIGURE: str | None = "path_structure.png"
"""The figure the README shows (``make readme-images`` copies it to docs/images/)."""


def main(output: Path) -> list[Path]:
    """Run the study at its default size into ``output``; return the paths written."""
    return run(output)


def run(
    output: Path, *, n_firms: int = N_FIRMS, bootstrap: int = BOOTSTRAP, seed: int = SEED
) -> list[Path]:
    """Run the study with ``n_firms`` respondents and ``bootstrap`` draws per model."""
    sim = simulate.cluster_survey(n_firms, seed=seed)
    with warnings.catch_warnings():
        # The simulator plants straight-liners; read_responses reports them, we drop them.
        warnings.simplefilter("ignore", SurveyDataWarning)
        warnings.simplefilter("ignore", DroppedRowsWarning)
        q = read_responses(sim.responses, sim.codebook)
        liners = q.check().straightlining["respondent"].unique()
        if len(liners):
            q = q.drop(liners, reason="straight-lining (the same answer to every item)")
        items, constructs = q.items, {c: list(v) for c, v in q.constructs.items()}
        rel = reliability(items, constructs)
        adequacy = kmo(items), bartlett_sphericity(items)
        pa = parallel_analysis(items, n_iter=PA_ITER, seed=seed)
        explore = efa(items, len(constructs), method="pa", rotation="promax")
        confirm = cfa(items, constructs)
    val = confirm.validity()
    scores = q.scores("item-mean")
    fits = {f: _mediation(scores, f, bootstrap, seed) for f in FACTORS}

    output.mkdir(parents=True, exist_ok=True)
    results = _results(sim, q, len(liners), rel, adequacy, pa, confirm, val, fits, bootstrap)
    size = (
        f"Simulated questionnaire: {n_firms:,} firms ({len(liners)} straight-liners dropped), "
        f"seed {seed}."
    )
    written = _tables(confirm, val, rel, explore, scores, fits, size, output)
    written += save_figure(
        path_diagram(fits["structure"], title="Structure -> spillover (standardized scores)"),
        output / "path_structure",
    )
    written += save_figure(scree_plot(pa), output / "scree")
    written.append(write_atomic(output / "results.json", json.dumps(results, indent=2) + "\n"))
    written.append(write_atomic(output / "README.md", findings(results)))
    return written


# ---------------------------------------------------------------------- estimation
def _mediation(scores: pd.DataFrame, factor: str, bootstrap: int, seed: int) -> MediationResults:
    """Parallel mediation of ``factor`` on spillover, the other factors as covariates, on
    standardized scores (the simulated paths are standardized)."""
    z = (scores - scores.mean()) / scores.std(ddof=1)
    others = [f for f in FACTORS if f != factor]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)  # rows with a missing score
        model = Mediation(
            z, x=factor, mediators=list(MEDIATORS), y=OUTCOME, covariates=others,
            kind="parallel", missing="listwise",
        )  # fmt: skip
    return model.fit(bootstrap=bootstrap, ci="bc", level=LEVEL, seed=seed)


# ---------------------------------------------------------------------- results.json
def _results(sim, q, n_liners, rel, adequacy, pa, confirm, val, fits, bootstrap) -> dict:
    k, bart = adequacy
    fit = confirm.fit_stats
    relframe = rel.to_frame()
    vtable = val.to_frame()
    indirect = []
    for f, res in fits.items():
        for m in MEDIATORS:
            row = res.indirect.loc[f"{f} -> {m} -> {OUTCOME}"]
            truth = float(sim.indirect[(f, m)])
            lo, hi = float(row["lower"]), float(row["upper"])
            indirect.append({
                "factor": f, "mediator": m, "estimate": float(row["estimate"]),
                "std_error": float(row["std_error"]), "lower": lo, "upper": hi,
                "truth": truth, "covers_truth": bool(lo <= truth <= hi),
                "excludes_zero": bool(lo > 0 or hi < 0),
            })  # fmt: skip
    return {
        "design": {
            "n_firms": len(sim.responses),
            "straightliners_dropped": int(n_liners),
            "n_used": int(fits["environment"].nobs),
            "bootstrap": bootstrap,
            "interval": "bias-corrected bootstrap",
            "level_percent": round(100 * LEVEL),
            "parallel_analysis_iterations": PA_ITER,
        },
        "sampling_adequacy": {
            "kmo": k.overall,
            "bartlett_chi2": bart.statistic,
            "bartlett_df": int(bart.df),
            "bartlett_pvalue": bart.pvalue,
        },
        "parallel_analysis": {"n_factors": int(pa.n_factors), "n_constructs": len(q.constructs)},
        "cfa_fit": {key: float(fit[key]) for key in FIT_KEYS} | {"nobs": int(confirm.nobs)},
        "reliability": {
            c: {
                "alpha": float(relframe.loc[c, "alpha"]),
                "omega": float(relframe.loc[c, "omega_total"]),
                "cr": float(vtable.loc[c, "cr"]),
                "ave": float(vtable.loc[c, "ave"]),
                "fornell_larcker": bool(vtable.loc[c, "fornell_larcker"]),
                "max_htmt": float(vtable.loc[c, "max_htmt"]),
            }
            for c in vtable.index
        },
        "indirect": indirect,
        "coverage": {
            "intervals": len(indirect),
            "covering_truth": sum(e["covers_truth"] for e in indirect),
            "true_nulls": sum(e["truth"] == 0 for e in indirect),
            "true_nulls_with_zero_inside": sum(
                e["truth"] == 0 and not e["excludes_zero"] for e in indirect
            ),
        },
        "direct": {
            f: {
                "estimate": float(res.effects.loc["direct", "estimate"]),
                "lower": float(res.effects.loc["direct", "lower"]),
                "upper": float(res.effects.loc["direct", "upper"]),
                "truth": float(sim.direct[f]),
            }
            for f, res in fits.items()
        },
    }


# ---------------------------------------------------------------------- findings
def _n(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}"


def _effect(e: dict[str, Any]) -> str:
    return (
        f"{e['mediator']} ({_n(e['estimate'])} [{_n(e['lower'])}, {_n(e['upper'])}], "
        f"truth {_n(e['truth'])})"
    )


def findings(results: dict[str, Any]) -> str:
    """The findings README, every number formatted from ``results`` (the results.json)."""
    d, a, fit = results["design"], results["sampling_adequacy"], results["cfa_fit"]
    rel = results["reliability"]
    alphas = [r["alpha"] for r in rel.values()]
    aves = [r["ave"] for r in rel.values()]
    fl = [c for c, r in rel.items() if not r["fornell_larcker"]]
    lines = [
        "# Collective learning in an industrial cluster (simulated survey)",
        "",
        f"A simulated questionnaire of {d['n_firms']} firms; {d['straightliners_dropped']} "
        f"straight-lining respondents were dropped and {d['n_used']} firms enter the "
        "mediation models. Every number below is read from `results.json`.",
        "",
        "## Measurement",
        "",
        f"- Sampling adequacy: KMO {_n(a['kmo'])}; Bartlett's chi-square "
        f"{_n(a['bartlett_chi2'], 1)} on {a['bartlett_df']} df (p {_n(a['bartlett_pvalue'])}).",
        f"- Parallel analysis ({d['parallel_analysis_iterations']} simulated data sets) retains "
        f"{results['parallel_analysis']['n_factors']} factors for "
        f"{results['parallel_analysis']['n_constructs']} constructs.",
        f"- CFA: chi-square {_n(fit['chisq'], 1)} on {_n(fit['df'], 0)} df, CFI {_n(fit['cfi'])}, "
        f"TLI {_n(fit['tli'])}, RMSEA {_n(fit['rmsea'])} [{_n(fit['rmsea_lower'])}, "
        f"{_n(fit['rmsea_upper'])}], SRMR {_n(fit['srmr'])} (N {fit['nobs']}).",
        f"- Cronbach's alpha ranges from {_n(min(alphas))} to {_n(max(alphas))}, AVE from "
        f"{_n(min(aves))} to {_n(max(aves))}; Fornell-Larcker "
        + ("holds for every construct." if not fl else f"fails for {', '.join(fl)}."),
        "",
        "## Which factors act through which mediators",
        "",
        f"Indirect effects on standardized item-mean scores, {d['interval']} intervals "
        f"({d['bootstrap']} draws, level {d['level_percent']} percent), each factor's model "
        "holding the other two factors as covariates. Item means carry measurement error, "
        "so estimates tend to fall short of the latent truth.",
        "",
    ]
    by_factor: dict[str, list[dict[str, Any]]] = {}
    for e in results["indirect"]:
        by_factor.setdefault(e["factor"], []).append(e)
    for f, effects in by_factor.items():
        real = [e for e in effects if e["truth"] != 0]
        null = [e for e in effects if e["truth"] == 0]
        found = [e for e in real if e["excludes_zero"]]
        missed = [e for e in real if not e["excludes_zero"]]
        text = f"- **{f}** acts on spillover through " + (
            "; ".join(_effect(e) for e in found) if found else "no mediator the intervals find"
        )
        if missed:
            text += (
                "; its intervals include zero for "
                + " and ".join(_effect(e) for e in missed)
                + ", whose truth is not zero"
            )
        if null:
            kept = all(not e["excludes_zero"] for e in null)
            text += (
                "; its paths through "
                + " and ".join(_effect(e) for e in null)
                + (" are truly zero, and the intervals include zero"
                   if kept else " are truly zero, but an interval excludes zero")
            )  # fmt: skip
        uncovered = [e["mediator"] for e in effects if not e["covers_truth"]]
        if uncovered:
            text += f" (the interval misses the truth for {', '.join(uncovered)})"
        lines.append(text + ".")
    cov = results["coverage"]
    lines += [
        "",
        f"{cov['covering_truth']} of {cov['intervals']} intervals cover the true indirect "
        f"effect; {cov['true_nulls_with_zero_inside']} of the {cov['true_nulls']} truly zero "
        "paths have intervals that include zero.",
        "",
        "| factor | mediator | estimate | interval | truth | covers truth | excludes zero |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in results["indirect"]:
        lines.append(
            f"| {e['factor']} | {e['mediator']} | {_n(e['estimate'])} | "
            f"[{_n(e['lower'])}, {_n(e['upper'])}] | {_n(e['truth'])} | "
            f"{'yes' if e['covers_truth'] else 'no'} | {'yes' if e['excludes_zero'] else 'no'} |"
        )
    lines += ["", "Direct effects (c'):", ""]
    for f, e in results["direct"].items():
        lines.append(
            f"- {f}: {_n(e['estimate'])} [{_n(e['lower'])}, {_n(e['upper'])}], "
            f"truth {_n(e['truth'])}"
        )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- tables
def _tables(confirm, val, rel, explore, scores, fits, size, output: Path) -> list[Path]:
    tables = {
        "cfa_fit": sem_fit_table(
            {"CFA, seven constructs": confirm},
            caption="Fit of the measurement model", label="tab:cluster-cfa-fit",
        ),
        "validity": validity_table(
            val, reliability=rel,
            caption="Reliability and validity of the constructs", label="tab:cluster-validity",
        ),
        "efa_loadings": loadings_table(
            explore, suppress=0.3,
            caption="Exploratory factor loadings (principal axis, promax)",
            label="tab:cluster-efa",
        ),
        "correlations": construct_correlation_table(
            scores, ave=val.table["ave"],
            caption="Construct correlations, sqrt(AVE) on the diagonal",
            label="tab:cluster-correlations",
        ),
    }  # fmt: skip
    for f, res in fits.items():
        tables[f"mediation_{f}"] = mediation_table(
            res,
            caption=f"Mediation of {f} on spillover (other factors as covariates). {size}",
            label=f"tab:cluster-mediation-{f}",
        )
    written = []
    for name, table in tables.items():
        written += [table.write(output / f"{name}.tex"), table.write(output / f"{name}.md")]
    return written


if __name__ == "__main__":
    run_cli(main, __file__)
