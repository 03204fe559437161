"""Learning by doing with spillovers, in the manner of Irwin and Klenow (1994), and how
technology spillover raises local employment, productivity and wages. Simulated firms
with known truth.

Part 1, experience curves. ``spillover.simulate.learning_by_doing`` draws firms in a
1,000 km square of 100 regions whose unit costs fall with their own cumulative output and
with the cumulative output of firms nearby (exp(-d / 25 km)), and not at all with that of
firms far away. The study rebuilds the experience stocks with ``measures.experience_stocks``
(own; others in the firm's region; others outside it), checks them against the simulator,
and estimates log unit cost on them with firm and year effects (Irwin and Klenow's
specification with regions as clusters); then pools of others' experience weighted by
exp(-d / h) at several bandwidths h, and h estimated by profiling the residual sum of
squares over h (an LR interval from the concentrated Gaussian likelihood).

Part 2, local labour markets. ``spillover.simulate.firms`` on the same square, with the
firm study's geographic R&D pool (``analyses.firm_spillovers.build_pools``); firms are
aggregated to regions (``spillover.geo.aggregate``: employment summed, wages and
productivity employment-weighted, the pool averaged), and each regional outcome is fitted
by the dynamic spatial Durbin model (queen contiguity, two-way effects) with short- and
long-run direct, indirect and total effects of the pool.

Writes ``learning_curves``, ``bandwidths`` and ``regional`` tables, ``regional_effects`` (effects
table) as .tex and .md; ``bandwidths``, ``decay_profile`` as PDF and PNG;
``results.json`` and ``README.md`` (findings, every number filled in from results.json).
Run with ``python -m analyses.learning_by_doing`` or ``make learning-by-doing``.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq, minimize_scalar
from scipy.stats import chi2

from analyses._common import run_cli
from analyses._decay_figures import bandwidth_figure, profile_figure
from analyses._regional_labour import OUTCOMES, regional_fits, regional_result, regional_tables
from spillover import Panel, measures, simulate, weights
from spillover.inference import Cluster
from spillover.models import HDFE, Results
from spillover.report import regression_table, write_atomic
from spillover.report.figures import save_figure

N_FIRMS, N_YEARS, SEED = 2500, 15, 1994
N_REGIONAL_FIRMS, N_REGIONAL_YEARS = 20_000, 10
TRUTH = simulate.LearningTruth()
BANDWIDTHS_KM = (10, 25, 50, 100, 200)
GRID_KM = (5, 10, 15, 20, 25, 30, 40, 50, 75, 100)
CUTOFF_FACTOR = 5  # the decay pool stops at 5 bandwidths, as in the simulator's truth
VCOV = Cluster("region")
OWN, CLUSTER, OUTSIDE = "log(exp_own)", "log1p(exp_cluster)", "log1p(exp_outside)"
LOCAL = "log1p(exp_local)"
LABELS = {
    OWN: "log own experience",
    CLUSTER: "log(1 + experience, others in region)",
    OUTSIDE: "log(1 + experience, others outside region)",
    LOCAL: "log(1 + decay-weighted experience of others)",
    "firm": "Firm FE",
    "year": "Year FE",
}


FIGURE: str | None = "decay_profile.png"
"""The figure the README shows (``make readme-images`` copies it to docs/images/)."""


def main(output: Path) -> list[Path]:
    """Run the study at its default size into ``output``; return the paths written."""
    return run(output)


def run(
    output: Path,
    *,
    n_firms: int = N_FIRMS,
    n_years: int = N_YEARS,
    n_regional_firms: int = N_REGIONAL_FIRMS,
    n_regional_years: int = N_REGIONAL_YEARS,
    grid_km: tuple[float, ...] = GRID_KM,
    seed: int = SEED,
) -> list[Path]:
    """Run both parts with the given sizes into ``output``; return the paths written."""
    sim = simulate.learning_by_doing(n_firms, n_years, truth=TRUTH, seed=seed)
    panel = experience_panel(sim)
    curves = {
        "Own": _fit(panel, OWN),
        "Irwin-Klenow": _fit(panel, f"{OWN} + {CLUSTER} + {OUTSIDE}"),
    }
    bands = {f"h = {h:g} km": _decay_fit(panel, h) for h in BANDWIDTHS_KM}
    profile, h_hat, ci = _profile(panel, grid_km)
    curves["Decay pool, h estimated"] = _fit(
        _with_local(panel, h_hat), f"{OWN} + {LOCAL} + {OUTSIDE}"
    )

    regional, region_panel = regional_fits(n_regional_firms, n_regional_years, seed + 1)
    effects = {o: r.impacts(method="delta") for o, r in regional.items()}

    output.mkdir(parents=True, exist_ok=True)
    results = _results(
        sim, panel, curves, bands, profile, h_hat, ci, regional, effects, region_panel, seed
    )
    written = _tables(curves, bands, results, output)
    written += regional_tables(regional, effects, output)
    written += save_figure(bandwidth_figure(bands, LOCAL, results["truth"]), output / "bandwidths")
    written += save_figure(
        profile_figure(profile, h_hat, ci, TRUTH.bandwidth_km), output / "decay_profile"
    )
    written.append(write_atomic(output / "results.json", json.dumps(results, indent=2) + "\n"))
    written.append(write_atomic(output / "README.md", findings(results)))
    return written


# ---------------------------------------------------------------------- part 1: data
def experience_panel(sim: simulate.SimulatedLearning) -> Panel:
    """The user's panel (output, unit cost, region) with the experience stocks rebuilt by
    ``measures.experience_stocks`` and checked against the simulator (AssertionError)."""
    panel = sim.panel.select(["region", "output", "unit_cost"])
    panel = panel.assign(initial=sim.truth.initial_years * panel["output"])
    stocks = measures.experience_stocks(panel, "output", "region", initial="initial")
    _check_equal("own experience", stocks["own"], sim.panel["experience"])
    others = stocks["cluster"] + stocks["outside"]
    _check_equal("others' experience", others, sim.panel["national_pool"])
    panel = panel.assign(
        exp_own=stocks["own"], exp_cluster=stocks["cluster"], exp_outside=stocks["outside"]
    )
    if sim.truth.cutoff_km == CUTOFF_FACTOR * sim.truth.bandwidth_km:  # the study's kernel
        local = _with_local(panel, sim.truth.bandwidth_km)["exp_local"]
        _check_equal("decay-weighted experience", local, sim.panel["local_pool"])
    return panel


def _check_equal(name: str, built: pd.Series, truth: pd.Series, rtol: float = 1e-9) -> None:
    diff = np.abs(built - truth.reindex(built.index)) / (1.0 + np.abs(truth))
    if not (diff <= rtol).all():
        raise AssertionError(f"rebuilt {name} differs from the simulator's (max {diff.max():.2e}).")


def _with_local(panel: Panel, h_km: float) -> Panel:
    """``exp_local``: others' experience weighted by exp(-d / h) within CUTOFF_FACTOR h."""
    with warnings.catch_warnings():  # remote firms have no neighbour within the cutoff
        warnings.simplefilter("ignore", weights.DisconnectedWeightsWarning)
        w = weights.kernel(
            panel.geo, bandwidth=h_km, cutoff=CUTOFF_FACTOR * h_km,
            function="negative_exponential", islands="keep", duplicates="keep",
        )  # fmt: skip
    return panel.assign(exp_local=measures.spillover_pool(panel, "exp_own", w))


# ---------------------------------------------------------------------- part 1: fits
def _fit(panel: Panel, rhs: str) -> Results:
    return HDFE(f"log(unit_cost) ~ {rhs}", panel, absorb=["firm", "year"]).fit(vcov=VCOV)


def _decay_fit(panel: Panel, h_km: float) -> Results:
    return _fit(_with_local(panel, h_km), f"{OWN} + {LOCAL}")


def _ssr(panel: Panel, h_km: float) -> float:
    return float(np.sum(np.square(_decay_fit(panel, h_km).residuals)))


def _profile(panel: Panel, grid_km: tuple[float, ...]) -> tuple[pd.Series, float, list[float]]:
    """SSR over the grid of bandwidths; the minimiser, refined by a bounded scalar search on
    log h between the grid neighbours of the best grid point (stopping within 5e-3 in log
    h, i.e. 0.5%); and the 95% LR interval {h : n log(SSR_h / SSR_min) <= chi2_1(0.95)},
    its ends found by Brent's method on log h (to 5e-3) inside the grid's range (an end
    that does not cross inside the range is reported as the range's end)."""
    ssr = pd.Series({float(h): _ssr(panel, h) for h in grid_km}, name="ssr")
    k = int(np.argmin(ssr.to_numpy()))
    lo, hi = ssr.index[max(k - 1, 0)], ssr.index[min(k + 1, len(ssr) - 1)]
    best = minimize_scalar(
        lambda z: _ssr(panel, math.exp(z)),
        bounds=(math.log(lo), math.log(hi)),
        method="bounded",
        options={"xatol": 5e-3},
    )
    h_hat, ssr_min = float(math.exp(best.x)), float(best.fun)
    ssr.loc[h_hat] = ssr_min

    def excess(z: float) -> float:
        return panel.nobs * math.log(_ssr(panel, math.exp(z)) / ssr_min) - chi2.ppf(0.95, 1)

    ends = []
    for edge in (ssr.index.min(), ssr.index.max()):
        if excess(math.log(edge)) <= 0:
            ends.append(float(edge))
        else:
            ends.append(math.exp(brentq(excess, math.log(h_hat), math.log(edge), xtol=5e-3)))
    return ssr.sort_index(), h_hat, ends


# ---------------------------------------------------------------------- results.json
def _coef(res: Results, term: str, truth: float | None = None) -> dict[str, Any]:
    out = {
        "estimate": float(res.params[term]),
        "std_error": float(res.std_errors[term]),
        "pvalue": float(res.pvalues[term]),
    }
    if truth is not None:
        out["truth"] = truth
        out["z"] = (out["estimate"] - truth) / out["std_error"]
    return out


def _results(
    sim, panel, curves, bands, profile, h_hat, ci, regional, effects, region_panel, seed
) -> dict[str, Any]:
    t = sim.truth
    own_only, ik, decay = curves["Own"], curves["Irwin-Klenow"], curves["Decay pool, h estimated"]
    return {
        "design": {
            "n_firms": int(sim.panel.n_entities),
            "n_years": int(sim.panel.n_periods),
            "nobs": int(panel.nobs),
            "n_regions": int(sim.regions.shape[0]),
            "region_km": 100,
            "seed": seed,
            "cutoff_factor": CUTOFF_FACTOR,
            "bandwidths_km": list(BANDWIDTHS_KM),
            "level_percent": 95,
            "grid_km": [float(h) for h in profile.index],
            "n_regional_firms": int(region_panel["n_firms"].groupby(level=1).sum().iloc[0]),
            "n_regional_years": int(region_panel.n_periods),
            "n_regional_units": int(region_panel.n_entities),
        },
        "truth": {
            "own": -t.own,
            "local": -t.local,
            "national": 0.0 - t.national,
            "bandwidth_km": t.bandwidth_km,
            "cutoff_km": t.cutoff_km,
            "learning_rate_percent": 100 * (1 - 2 ** (-t.own)),
        },
        "own_only": {"own": _coef(own_only, OWN, -t.own)},
        "irwin_klenow": {
            "own": _coef(ik, OWN, -t.own),
            "cluster": _coef(ik, CLUSTER),
            "outside": _coef(ik, OUTSIDE),
            "learning_rate_percent": 100 * (1 - 2 ** float(ik.params[OWN])),
        },
        "decay": {
            "bandwidth_km": h_hat,
            "ci_km": ci,
            "own": _coef(decay, OWN, -t.own),
            "local": _coef(decay, LOCAL, -t.local),
            "outside": _coef(decay, OUTSIDE, 0.0 - t.national),
            "learning_rate_percent": 100 * (1 - 2 ** float(decay.params[OWN])),
        },
        "bandwidths": {
            str(h): {
                "local": _coef(
                    bands[f"h = {h:g} km"], LOCAL, -t.local if h == t.bandwidth_km else None
                ),
                "r2_within": float(bands[f"h = {h:g} km"].fit_stats["r2_within"]),
            }
            for h in BANDWIDTHS_KM
        },
        "regional": {o: regional_result(regional[o], effects[o], o) for o in OUTCOMES},
    }


# ---------------------------------------------------------------------- findings
def _n(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}"


def _est(c: dict[str, Any], digits: int = 3) -> str:
    text = f"{_n(c['estimate'], digits)} (SE {_n(c['std_error'], digits)}"
    if "truth" in c:
        text += f"; truth {_n(c['truth'], digits)}"
    return text + ")"


def findings(results: dict[str, Any]) -> str:
    """The findings README, every number formatted from ``results`` (the results.json)."""
    d, t, ik, dc = results["design"], results["truth"], results["irwin_klenow"], results["decay"]
    at_truth = results["bandwidths"].get(f"{t['bandwidth_km']:g}")
    lines = [
        "# Learning by doing with spillovers",
        "",
        f"Simulated firms: {d['n_firms']} firms x {d['n_years']} years ({d['nobs']} firm-years) "
        f"in {d['n_regions']} square regions of {d['region_km']} km, seed {d['seed']}. Unit "
        f"costs fall with own experience (elasticity {_n(t['own'])}, a learning rate of "
        f"{_n(t['learning_rate_percent'], 1)} percent per doubling) and with others' experience "
        f"weighted by exp(-d / {_n(t['bandwidth_km'], 0)} km) (elasticity {_n(t['local'])}); "
        f"experience far away has elasticity {_n(t['national'])}. Firm and year effects, "
        "standard errors clustered by region. Every number below is read from `results.json`.",
        "",
        "## Experience curves (Irwin and Klenow 1994)",
        "",
        f"- Own experience alone: {_est(results['own_only']['own'])}.",
        f"- With others' experience in the firm's region and outside it: own {_est(ik['own'])}, "
        f"a learning rate of {_n(ik['learning_rate_percent'], 1)} percent; region "
        f"{_est(ik['cluster'])}; outside {_est(ik['outside'])}.",
        "- Learning spillovers are "
        + (
            "local: others' experience in the region lowers costs, experience outside it does not."
            if ik["cluster"]["pvalue"] < 0.05 and ik["outside"]["pvalue"] >= 0.05
            else "not cleanly local at this sample size (see the p-values above)."
        )
        + " With year effects, experience outside the region varies only through the "
        "differences across regions in what lies outside them, so its coefficient is "
        "imprecise: a national spillover is hard to tell apart from common cost shocks.",
        "",
        "## How fast learning spillovers decay with distance",
        "",
        "Pools of others' experience weighted by exp(-d / h), cut at "
        f"{d['cutoff_factor']} h, one regression per bandwidth h (with own experience, "
        "without the pool outside the region):",
        "",
    ]
    for h, c in results["bandwidths"].items():
        lines.append(f"- h = {h} km: {_est(c['local'])}, within R-squared {_n(c['r2_within'], 4)}")
    lines += [
        "",
        f"Parametric decay exp(-d / h), cut at {d['cutoff_factor']} h, with h estimated by "
        f"profiling the residual sum of squares: h = {_n(dc['bandwidth_km'], 1)} km "
        f"({d['level_percent']}% likelihood-ratio interval {_n(dc['ci_km'][0], 1)} to "
        f"{_n(dc['ci_km'][1], 1)} km; truth "
        f"{_n(t['bandwidth_km'], 1)} km). At that h: own {_est(dc['own'])}, decay-weighted "
        f"pool {_est(dc['local'])}, whose standard error takes h as known"
        + (f" (at the true h: {_est(at_truth['local'])})" if at_truth else "")
        + f", and experience outside the region {_est(dc['outside'])}: "
        + (
            "given the local pool, experience further away does not lower costs; learning "
            "spillovers are local."
            if dc["outside"]["pvalue"] >= 0.05
            else "experience outside the region matters even given the local pool."
        ),
        "",
        "## Technology spillover and local labour markets",
        "",
        f"{d['n_regional_firms']} simulated firms aggregated to {d['n_regional_units']} regions x "
        f"{d['n_regional_years']} years; dynamic spatial Durbin model (queen contiguity, "
        "two-way effects, bias-corrected QML), effects of the log of one plus the mean "
        "geographic R&D pool of the region's firms. "
        "The firm-level elasticity is the simulator's truth for a firm's own pool; the "
        "regional effects are of the regional mean pool, a different parameter.",
        "",
    ]
    for o, r in results["regional"].items():
        lines.append(
            f"- {o}: tau {_n(r['tau']['estimate'])}, rho {_n(r['rho']['estimate'])}; "
            f"short-run direct {_est(r['short_direct'])}, indirect {_est(r['short_indirect'])}, "
            f"total {_est(r['short_total'])}; long-run total {_est(r['long_total'])} "
            f"(firm-level truth {_n(r['firm_level_truth'], 3)})."
        )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- tables
def _tables(curves, bands, results, output: Path) -> list[Path]:
    t = results["truth"]
    truth_rows = {
        "True own elasticity": [_n(t["own"])] * len(curves),
        "True decay-weighted elasticity": ["", "", _n(t["local"])],
        "True elasticity outside region": ["", "", _n(t["national"])],
    }
    tables = {
        "learning_curves": regression_table(
            curves,
            rename=LABELS,
            dependent_names=[""] * len(curves),
            drop=["Intercept"],
            fit_stats=("nobs", "r2_within"),
            add_rows=truth_rows,
            caption="Experience curves with spillovers: log unit cost",
            label="tab:learning-curves",
            notes=[
                f"Decay pool bandwidth h = {results['decay']['bandwidth_km']:.1f} km "
                f"(truth {t['bandwidth_km']:.0f} km), estimated by profile."
            ],
        ),
        "bandwidths": regression_table(
            bands,
            rename=LABELS,
            dependent_names=[""] * len(bands),
            drop=["Intercept"],
            fit_stats=("nobs", "r2_within"),
            add_rows={
                "True decay-weighted elasticity": [
                    _n(t["local"]) if h == t["bandwidth_km"] else "" for h in BANDWIDTHS_KM
                ]
            },
            caption="Log unit cost with decay-weighted experience pools at several bandwidths",
            label="tab:learning-bandwidths",
            notes=[f"Pools weighted by exp(-d / h), cut at {CUTOFF_FACTOR} h."],
        ),
    }
    written = []
    for name, table in tables.items():
        # the bandwidths table has more columns than an article's text block holds: scaled to it
        width = "resize" if name == "bandwidths" else "natural"
        written += [
            table.write(output / f"{name}.tex", width=width),
            table.write(output / f"{name}.md"),
        ]
    return written


if __name__ == "__main__":
    run_cli(main, __file__)
