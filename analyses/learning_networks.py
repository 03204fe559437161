"""Learning inside a cluster through its knowledge network: core and periphery, social
capital, the "flying geese" catch-up of low-capability firms, and which weights matrix
carries the spillover. An end-to-end study on simulated firms with known truth.

``spillover.simulate.learning_network`` draws the firms of one cluster (a 100 km square),
domestic and foreign, high- and low-capability (foreign firms more often high); two firms
are tied with a probability that falls with their distance and rises with their
capability. Productivity spills over along the ties (a spatial Durbin panel on the
row-standardised network), and low-capability firms grow faster the more ties they have
to high-capability firms, while ties to low-capability firms do nothing.

The study finds the core (Borgatti-Everett, ``spillover.networks.core_periphery``) and
Burt's constraint and effective size, and regresses them on capability and foreign
ownership; regresses productivity growth on ties to high- and low-capability firms,
separately for low- and high-capability firms (the flying-geese test, against the
truth); fits the same spatial Durbin model with the network W, a geographic W (k nearest
firms) and a technological W (k closest technology profiles, Jaffe) side by side; and
asks ``spillover.diagnostics.compare_models`` which W and which model family the data
prefer.

Writes ``social_capital``, ``flying_geese``, ``weights_comparison`` and ``model_probabilities``
as .tex and .md; ``network_map`` and ``flying_geese`` as PDF and PNG; ``results.json``
and ``README.md`` (findings, every number filled in from results.json).
Run with ``python -m analyses.learning_networks`` or ``make learning-networks``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analyses._common import run_cli
from spillover import Panel, networks, simulate, weights
from spillover.diagnostics import compare_models
from spillover.models import Pooled, Results, SpatialDurbin
from spillover.report import frame_table, network_map, regression_table, write_atomic
from spillover.report.figures import save_figure

N_FIRMS, N_YEARS, SEED = 400, 8, 2008
K_NEIGHBOURS = 7  # geographic and technological W: about the network's mean degree
FAMILIES = ("sar", "sdm", "sdem")
LABELS = {
    "high": "high capability",
    "foreign": "foreign-owned",
    "ties_high": "ties to high-capability firms",
    "ties_low": "ties to low-capability firms",
    "x": "log R&D intensity",
    "W_x": "W log R&D intensity",
    "rho": "rho (W productivity)",
}
SOCIAL = {
    "degree": "Ties",
    "core": "Core member",
    "constraint": "Constraint",
    "effective_size": "Effective size",
}


FIGURE: str | None = "network_map.png"
"""The figure the README shows (``make readme-images`` copies it to docs/images/)."""


def main(output: Path) -> list[Path]:
    """Run the study at its default size into ``output``; return the paths written."""
    return run(output)


def run(
    output: Path, *, n_firms: int = N_FIRMS, n_years: int = N_YEARS, seed: int = SEED
) -> list[Path]:
    """Run the study on ``n_firms`` firms over ``n_years`` years into ``output``."""
    sim = simulate.learning_network(n_firms, n_years, seed=seed)
    net = sim.network()
    firms = firm_table(sim, net, seed)
    cross = Panel(firms.reset_index().assign(year=0), entity="firm", time="year")
    social = {SOCIAL[c]: Pooled(f"{c} ~ high + foreign", cross).fit(vcov="robust") for c in SOCIAL}
    geese = {
        name: Pooled("growth ~ ties_high + ties_low + foreign", _group(cross, high)).fit(
            vcov="robust"
        )
        for name, high in (("Low capability", False), ("High capability", True))
    }
    ws = _weights(sim, net)
    spatial = {
        name: SpatialDurbin("y ~ x", sim.panel, w=w, effects="twoway").fit(vcov="ml")
        for name, w in ws.items()
    }
    choice = compare_models("y ~ x", sim.panel, weights=ws, families=FAMILIES, effects="twoway")

    output.mkdir(parents=True, exist_ok=True)
    results = _results(sim, net, firms, social, geese, spatial, choice, seed)
    written = _tables(social, geese, spatial, choice, results, output)
    role = np.where(firms["core"] == 1, "core", "periphery")
    written += save_figure(
        network_map(
            net, geo=sim.panel.geo, background=sim.regions,
            color_by=(pd.Series(role, index=firms.index) + ", " + firms["capability"]).rename(
                "position, capability"
            ),
            title="Knowledge network: core or periphery, high or low capability",
        ),
        output / "network_map",
    )  # fmt: skip
    written += save_figure(_geese_figure(results), output / "flying_geese")
    written.append(write_atomic(output / "results.json", json.dumps(results, indent=2) + "\n"))
    written.append(write_atomic(output / "README.md", findings(results)))
    return written


# ---------------------------------------------------------------------- data
def firm_table(sim: simulate.SimulatedLearningNetwork, net: Any, seed: int) -> pd.DataFrame:
    """The firm table the study works with: group labels, ties to high- and low-capability
    firms counted from the network (checked against the simulator's counts), degree, core
    membership, constraint and effective size."""
    high = sim.firms["high"].astype(float)
    adj = net.adjacency  # in net.ids order
    ties_high = pd.Series(adj @ high.reindex(net.ids).to_numpy(), index=net.ids)
    ties_low = pd.Series(adj @ (1.0 - high.reindex(net.ids).to_numpy()), index=net.ids)
    for name, built in (("ties_high", ties_high), ("ties_low", ties_low)):
        truth = sim.firms[name].reindex(net.ids)
        if not np.array_equal(built.to_numpy(), truth.to_numpy()):
            raise AssertionError(f"{name} counted from the network differs from the simulator's.")
    cp = networks.core_periphery(net, seed=seed)
    table = pd.DataFrame(
        {
            "high": high,
            "foreign": sim.firms["foreign"].astype(float),
            "capability": np.where(sim.firms["high"], "high", "low"),
            "growth": sim.firms["growth"],
            "ties_high": ties_high,
            "ties_low": ties_low,
            "degree": networks.degree(net)["degree"],
            "core": cp.core.astype(float),
            "constraint": networks.constraint(net),
            "effective_size": networks.effective_size(net),
        }
    )
    table.attrs["core_correlation"] = cp.correlation
    return table


def _group(cross: Panel, high: bool) -> Panel:
    firms = cross.data.index.get_level_values(0)[(cross["high"] == float(high)).to_numpy()]
    return cross.subset(entities=firms)


def _weights(sim: simulate.SimulatedLearningNetwork, net: Any) -> dict[str, Any]:
    """Network W (the truth), k-nearest-firms W and k-closest-technology W, row-standardised."""
    ids = sim.panel.entities
    with warnings.catch_warnings():  # a few small components: no spillover between them
        warnings.simplefilter("ignore", weights.DisconnectedWeightsWarning)
        return {
            "network": weights.network(net, ids=ids).row_standardize(),
            "geographic": weights.knn(sim.panel.geo, K_NEIGHBOURS).row_standardize(),
            "technological": weights.technology(sim.tech_shares, k=K_NEIGHBOURS).row_standardize(),
        }


# ---------------------------------------------------------------------- results.json
def _coef(res: Results, term: str, truth: float | None = None) -> dict[str, Any]:
    out = {
        "estimate": float(res.params[term]),
        "std_error": float(res.std_errors[term]),
        "pvalue": float(res.pvalues[term]),
    }
    if truth is not None:
        out["truth"] = float(truth)
        out["z"] = (out["estimate"] - truth) / out["std_error"]
    return out


def _results(sim, net, firms, social, geese, spatial, choice, seed) -> dict[str, Any]:
    t = sim.truth
    groups = firms.assign(
        group=np.where(firms["foreign"] == 1, "foreign", "domestic")
        + np.where(firms["high"] == 1, ", high", ", low")
    )
    means = groups.groupby("group")[["degree", "core", "constraint", "effective_size"]].mean()
    means = means.assign(core_percent=100 * means.pop("core"))
    truths = {
        "Low capability": {"ties_high": t.geese, "ties_low": t.geese_low},
        "High capability": {"ties_high": t.geese_high, "ties_low": 0.0},
    }
    truth_spatial = {"x": t.beta, "W_x": t.theta, "rho": t.rho}
    probs = choice.table["probability"]
    return {
        "design": {
            "n_firms": int(net.n_firms),
            "n_years": int(sim.panel.n_periods),
            "seed": seed,
            "n_ties": int(net.n_ties),
            "mean_degree": float(2 * net.n_ties / net.n_firms),
            "n_foreign": int(firms["foreign"].sum()),
            "n_high": int(firms["high"].sum()),
            "k_neighbours": K_NEIGHBOURS,
            "side_km": 100,
        },
        "core": {
            "n_core": int(firms["core"].sum()),
            "correlation": float(firms.attrs["core_correlation"]),
            "percent_high_in_core": 100 * float(firms.loc[firms["core"] == 1, "high"].mean()),
            "percent_high_in_periphery": 100 * float(firms.loc[firms["core"] == 0, "high"].mean()),
        },
        "groups": {
            g: {c: float(v) for c, v in row.items()} | {"n": int((groups["group"] == g).sum())}
            for g, row in means.iterrows()
        },
        "social_capital": {
            name: {x: _coef(res, x) for x in ("high", "foreign")} for name, res in social.items()
        },
        "flying_geese": {
            name: {x: _coef(res, x, truths[name][x]) for x in ("ties_high", "ties_low")}
            for name, res in geese.items()
        },
        "spatial": {
            name: {
                term: _coef(res, term, truth_spatial[term] if name == "network" else None)
                for term in ("x", "W_x", "rho")
            }
            | {"loglik": float(res.fit_stats["loglik"])}
            for name, res in spatial.items()
        },
        "model_choice": {
            "best_weights": choice.best[0],
            "best_family": choice.best[1],
            "probabilities": {f"{w}, {f}": float(p) for (w, f), p in probs.items()},
            "weights_probability": {w: float(probs.xs(w, level=0).sum()) for w in spatial},
        },
    }


# ---------------------------------------------------------------------- findings
def _n(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}"


def _est(c: dict[str, Any], digits: int = 3) -> str:
    text = f"{_n(c['estimate'], digits)} (SE {_n(c['std_error'], digits)}"
    return text + (f"; truth {_n(c['truth'], digits)})" if "truth" in c else ")")


def findings(results: dict[str, Any]) -> str:
    """The findings README, every number formatted from ``results`` (the results.json)."""
    d, core, sc = results["design"], results["core"], results["social_capital"]
    geese, sp, mc = results["flying_geese"], results["spatial"], results["model_choice"]
    low, high = geese["Low capability"], geese["High capability"]
    lines = [
        "# Learning networks in a cluster",
        "",
        f"Simulated cluster: {d['n_firms']} firms ({d['n_foreign']} foreign-owned, "
        f"{d['n_high']} high-capability) in a {d['side_km']} km square, {d['n_ties']} ties "
        f"(mean degree {_n(d['mean_degree'], 2)}), productivity over {d['n_years']} years, "
        f"seed {d['seed']}. Every number below is read from `results.json`.",
        "",
        "## Core and periphery",
        "",
        f"The Borgatti-Everett core holds {core['n_core']} firms (correlation with the ideal "
        f"pattern {_n(core['correlation'])}); {_n(core['percent_high_in_core'], 1)} percent "
        f"of them are high-capability, against {_n(core['percent_high_in_periphery'], 1)} "
        "percent of the periphery"
        + (
            ": ties fall with distance and rise with capability, so the core is where capable "
            "firms sit close together."
            if core["percent_high_in_core"] > core["percent_high_in_periphery"]
            else "."
        ),
        "",
        "## Social capital",
        "",
        "Group means (ties, share in the core, Burt's constraint, effective size):",
        "",
    ]
    for g, m in results["groups"].items():
        lines.append(
            f"- {g} ({m['n']} firms): {_n(m['degree'], 2)} ties, "
            f"{_n(m['core_percent'], 1)} percent in the core, constraint {_n(m['constraint'])}, "
            f"effective size {_n(m['effective_size'], 2)}"
        )
    lines += [
        "",
        f"Regressed on capability and ownership (robust SE): high capability adds "
        f"{_est(sc['Ties']['high'])} ties and {_est(sc['Effective size']['high'])} to effective "
        f"size and changes constraint by {_est(sc['Constraint']['high'])}; foreign ownership, "
        f"given capability, adds {_est(sc['Ties']['foreign'])} ties (ties depend only on "
        "capability and distance in the simulation).",
        "",
        "## Flying geese: do low-capability firms learn from high-capability ones?",
        "",
        f"Productivity growth of low-capability firms changes by {_est(low['ties_high'], 4)} "
        f"per tie to a high-capability firm, and by {_est(low['ties_low'], 4)} per tie to "
        "another low-capability firm. For high-capability firms: ties to high-capability "
        f"firms {_est(high['ties_high'], 4)}, to low-capability firms "
        f"{_est(high['ties_low'], 4)}. "
        + (
            "Low-capability firms learn from the capable ones and not from each other: the "
            "flying-geese pattern."
            if low["ties_high"]["pvalue"] < 0.05 and low["ties_low"]["pvalue"] >= 0.05
            else "The data do not show the flying-geese pattern cleanly at this size."
        ),
        "",
        "## Which W carries the spillover?",
        "",
        "The same spatial Durbin model with two-way effects (ML), three weights matrices "
        "(the network is the truth):",
        "",
    ]
    for name, r in sp.items():
        lines.append(
            f"- {name} W: rho {_est(r['rho'])}, x {_est(r['x'])}, W x {_est(r['W_x'])}, "
            f"log-likelihood {_n(r['loglik'], 1)}"
        )
    wp = mc["weights_probability"]
    lines += [
        "",
        f"Bayesian comparison (LeSage; uniform priors over W and family): the best candidate "
        f"is the {mc['best_family'].upper()} with the {mc['best_weights']} W; the posterior "
        "probability of each W summed over families is "
        + ", ".join(f"{w} {_n(p)}" for w, p in wp.items())
        + ".",
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- tables, figures
def _tables(social, geese, spatial, choice, results, output: Path) -> list[Path]:
    fg = results["flying_geese"]
    sp_truth = results["spatial"]["network"]
    tables = {
        "social_capital": regression_table(
            social, rename=LABELS, dependent_names=[""] * len(social),
            fit_stats=("nobs", "r2"), caption="Social capital by capability and ownership",
            label="tab:networks-social-capital",
            notes=["Core: Borgatti-Everett discrete model. Constraint, effective size: Burt "
                   "(1992). Robust (HC1) standard errors."],
        ),
        "flying_geese": regression_table(
            geese, rename=LABELS, dependent_names=[""] * len(geese), fit_stats=("nobs", "r2"),
            digits=4,
            add_rows={
                f"True effect of {LABELS[x]}": [_n(fg[g][x]["truth"], 4) for g in geese]
                for x in ("ties_high", "ties_low")
            },
            caption="Productivity growth on ties, by capability (flying geese)",
            label="tab:networks-geese", notes=["Robust (HC1) standard errors."],
        ),
        "weights_comparison": regression_table(
            {f"{name.capitalize()} W": r for name, r in spatial.items()}, rename=LABELS,
            dependent_names=[""] * len(spatial), fit_stats=("nobs", "loglik"),
            add_rows={
                f"True {LABELS[x]}": [_n(sp_truth[x]["truth"])] + [""] * (len(spatial) - 1)
                for x in ("x", "W_x", "rho")
            },
            caption="The spatial Durbin model with three weights matrices",
            label="tab:networks-weights",
            notes=[f"Two-way effects, ML. Geographic: {K_NEIGHBOURS} nearest firms; "
                   f"technological: {K_NEIGHBOURS} closest Jaffe profiles; all "
                   "row-standardised. The truth is that of the network W."],
        ),
        "model_probabilities": frame_table(
            choice.probabilities(), caption="Posterior probabilities of W and model family",
            label="tab:networks-model-choice",
            notes=["LeSage's log marginal likelihoods, uniform priors, two-way effects."],
        ),
    }  # fmt: skip
    written = []
    for name, table in tables.items():
        written += [table.write(output / f"{name}.tex"), table.write(output / f"{name}.md")]
    return written


def _geese_figure(results: dict[str, Any]) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    rows = [(g, x, c) for g, cs in results["flying_geese"].items() for x, c in cs.items()]
    for k, (_, _, c) in enumerate(rows):
        half = 1.96 * c["std_error"]
        ax.errorbar(c["estimate"], k, xerr=half, fmt="o", color="C0", ms=4, capsize=2)
        ax.plot(c["truth"], k, "x", color="black", ms=7)
    ax.set_yticks(range(len(rows)), [f"{g}: {LABELS[x]}" for g, x, _ in rows])
    ax.axvline(0, color="grey", lw=0.6, ls="--")
    ax.invert_yaxis()
    ax.set_xlabel("effect on productivity growth per tie (x: truth, bars: 95% CI)")
    ax.set_title("Flying geese: who learns from whom")
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    run_cli(main, __file__)
