"""Regional income convergence and spatial spillovers across US states, 1929-2009, in the
manner of Rey and Montouri (1999).

On the bundled BEA per-capita income of the 48 contiguous states
(``spillover.datasets.us_income``) with queen contiguity, row-standardised: global
Moran's I of log income relative to the national mean in every year with permutation
p-values; sigma-convergence (the cross-sectional standard deviation of log income by
year); beta-convergence in cross-section (average annual growth 1929-2009 on log income
in 1929) by OLS, spatial lag and spatial error, with the OLS LM diagnostics and the implied
speed of convergence and half-life; beta-convergence in a panel of 10-year growth spells
with period effects (OLS with period effects, and the spatial error model with period
effects); a LISA cluster map of relative income in the final year.

Writes ``cross_section``, ``panel`` and ``diagnostics`` tables as .tex and .md, ``moran_sigma.csv``
(Moran's I, its p-value and sigma by year); ``moran_over_time``, ``sigma_over_time`` and
``lisa_<last year>`` as PDF and PNG; ``results.json`` (the key estimates) and ``README.md``
(findings, every number filled in from ``results.json``).
Run with ``python -m analyses.us_income_convergence`` or ``make us-income-convergence``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analyses._common import ALBERS, run_cli
from spillover import Panel, datasets, measures, weights
from spillover.diagnostics.spatial import lm_tests
from spillover.models import FixedEffects, Pooled
from spillover.models.spatial import SpatialError, SpatialLag
from spillover.report import diagnostics_table, regression_table, write_atomic
from spillover.report.figures import lisa_map, save_figure

PERMUTATIONS, SEED = 999, 20261202
SPELL = 10
ALPHA = 0.05
P_FLOOR = 0.001  # smaller p-values are reported as < P_FLOOR
FORMULA = "growth ~ log_y0"
LABELS = {
    "log_y0": "initial log income",
    "Intercept": "constant",
    "growth": "annual growth",
    "rho": "rho (W growth)",
    "lambda": "lambda (W error)",
}
LM_TESTS = (
    ("lag", "LM lag"),
    ("error", "LM error"),
    ("robust_lag", "Robust LM lag"),
    ("robust_error", "Robust LM error"),
    ("sarma", "SARMA"),
)


FIGURE: str | None = "lisa_2009.png"
"""The figure the README shows (``make readme-images`` copies it to docs/images/)."""


def main(output: Path) -> list[Path]:
    """Run the study at its default size into ``output``; return the paths written."""
    return run(output)


def run(output: Path, *, permutations: int = PERMUTATIONS, seed: int = SEED) -> list[Path]:
    """Run the study with ``permutations`` draws for Moran's I and LISA p-values."""
    panel = datasets.us_income()
    panel = panel.assign(
        log_rel=panel["log_pcinc"] - panel["log_pcinc"].groupby(level=1).transform("mean")
    )
    w = weights.queen(panel).row_standardize()
    years = sorted(int(t) for t in panel.periods.unique())
    first, last = years[0], years[-1]

    moran = measures.morans_i(panel, "log_rel", w, permutations=permutations, seed=seed)
    sigma = panel["log_pcinc"].groupby(level=1).std(ddof=1)
    clusters = measures.lisa(panel, "log_rel", w, period=last, permutations=permutations, seed=seed)

    cross = _cross_section(panel, first, last)
    cs_models = {
        "OLS": Pooled(FORMULA, cross).fit(vcov="unadjusted"),
        "Spatial lag": SpatialLag(FORMULA, cross, w=w, effects="none").fit(vcov="ml"),
        "Spatial error": SpatialError(FORMULA, cross, w=w, effects="none").fit(vcov="ml"),
    }
    xmat = cross.data[["log_y0"]].assign(const=1.0)[["const", "log_y0"]]
    lm = lm_tests(cross["growth"], xmat, w)
    spells = _spells(panel, years)
    panel_models = {
        "Period FE": FixedEffects(FORMULA, spells, effects="time").fit(vcov="unadjusted"),
        "Two-way FE": FixedEffects(FORMULA, spells, effects="twoway").fit(vcov="unadjusted"),
        "SEM, period FE": SpatialError(FORMULA, spells, w=w, effects="time").fit(),
    }

    output.mkdir(parents=True, exist_ok=True)
    results = _results(
        panel, moran, sigma, clusters, cs_models, lm, panel_models, spells,
        first, last, permutations, seed,
    )  # fmt: skip
    written = _tables(moran, sigma, cs_models, lm, panel_models, first, last, output)
    written += save_figure(_moran_figure(moran), output / "moran_over_time")
    written += save_figure(_sigma_figure(sigma), output / "sigma_over_time")
    written += save_figure(
        lisa_map(
            panel,
            clusters["cluster"],
            title=f"Relative log income {last}: local Moran clusters",
            to_crs=ALBERS,
        ),
        output / f"lisa_{last}",
    )
    written.append(write_atomic(output / "results.json", json.dumps(results, indent=2) + "\n"))
    written.append(write_atomic(output / "README.md", findings(results)))
    return written


# ---------------------------------------------------------------------- data
def _cross_section(panel: Panel, first: int, last: int) -> Panel:
    """The final year's panel with average annual growth since ``first`` and log income then."""
    y = panel["log_pcinc"].unstack(level=1)
    growth = (y[last] - y[first]) / (last - first)
    one = panel.subset(periods=[last])
    states = one.data.index.get_level_values(0)
    return one.assign(
        growth=growth.reindex(states).to_numpy(), log_y0=y[first].reindex(states).to_numpy()
    )


def _spells(panel: Panel, years: list[int]) -> Panel:
    """Non-overlapping ``SPELL``-year growth spells: average annual growth over the spell on
    log income at its start, one period per spell start."""
    starts = [t for t in years if (t - years[0]) % SPELL == 0 and t + SPELL <= years[-1]]
    y = panel["log_pcinc"].unstack(level=1)
    sub = panel.subset(periods=starts)
    idx = sub.data.index
    states, times = idx.get_level_values(0), idx.get_level_values(1).astype(int)
    start = np.array([y.at[s, t] for s, t in zip(states, times, strict=True)])
    end = np.array([y.at[s, t + SPELL] for s, t in zip(states, times, strict=True)])
    return sub.assign(growth=(end - start) / SPELL, log_y0=start)


# ---------------------------------------------------------------------- results.json
def _speed(b: float, horizon: int) -> tuple[float, float]:
    """Speed of convergence implied by a slope ``b`` of average annual growth over
    ``horizon`` years on initial log income, b = -(1 - exp(-beta T)) / T, and its half-life
    ln 2 / beta (NaN when b does not imply convergence)."""
    inside = 1.0 + b * horizon
    if b >= 0 or inside <= 0:
        return float("nan"), float("nan")
    beta = -math.log(inside) / horizon
    return beta, math.log(2) / beta


def _coef(res, term: str) -> dict[str, float]:
    return {
        "estimate": float(res.params[term]),
        "std_error": float(res.std_errors[term]),
        "pvalue": float(res.pvalues[term]),
    }


def _model(res, horizon: int) -> dict[str, Any]:
    b = float(res.params["log_y0"])
    speed, half = _speed(b, horizon)
    out: dict[str, Any] = {
        "beta": _coef(res, "log_y0"),
        "speed_percent": 100 * speed,
        "half_life_years": half,
        "nobs": int(res.nobs),
    }
    for name in ("rho", "lambda"):
        if name in res.params.index:
            out[name] = _coef(res, name)
    for stat in ("loglik", "aic"):
        if stat in res.fit_stats:
            out[stat] = float(res.fit_stats[stat])
    return out


def _results(
    panel, moran, sigma, clusters, cs_models, lm, panel_models, spells,
    first, last, permutations, seed,
) -> dict:  # fmt: skip
    moran = moran.copy()
    years = [int(t) for t in moran.index]
    i_values = moran["I"].astype(float)
    counts = clusters["cluster"].value_counts()
    peak = int(i_values.idxmax())
    low = int(i_values.idxmin())
    n_sig = int((moran["p_sim"] <= ALPHA).sum())
    return {
        "design": {
            "n_states": int(panel.n_entities),
            "first_year": first,
            "last_year": last,
            "n_years": len(years),
            "horizon_years": last - first,
            "permutations": permutations,
            "seed": seed,
            "spell_years": SPELL,
            "n_spells": int(spells.data.index.get_level_values(1).nunique()),
            "weights": "queen contiguity, row-standardised",
            "alpha": ALPHA,
            "p_floor": P_FLOOR,
        },
        "moran": {
            "expected": float(moran["EI"].iloc[0]),
            "first": float(i_values.iloc[0]),
            "last": float(i_values.iloc[-1]),
            "max": float(i_values.max()),
            "max_year": peak,
            "min": float(i_values.min()),
            "min_year": low,
            "years_significant": n_sig,
            "p_sim_last": float(moran["p_sim"].iloc[-1]),
            "by_year": {
                str(t): {"I": float(moran.loc[t, "I"]), "p_sim": float(moran.loc[t, "p_sim"])}
                for t in moran.index
            },
        },
        "sigma": {
            "first": float(sigma.iloc[0]),
            "last": float(sigma.iloc[-1]),
            "max": float(sigma.max()),
            "max_year": int(sigma.idxmax()),
            "min": float(sigma.min()),
            "min_year": int(sigma.idxmin()),
            "by_year": {str(int(t)): float(v) for t, v in sigma.items()},
        },
        "lisa_last": {q: int(counts.get(q, 0)) for q in ("HH", "LL", "HL", "LH", "ns")},
        "cross_section": {name: _model(res, last - first) for name, res in cs_models.items()},
        "lm_tests": {
            key: {
                "statistic": float(getattr(lm, key).statistic),
                "pvalue": float(getattr(lm, key).pvalue),
            }
            for key, _ in LM_TESTS
        },
        "panel": {name: _model(res, SPELL) for name, res in panel_models.items()},
    }


# ---------------------------------------------------------------------- findings
def _n(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}"


def _p(x: float) -> str:
    return f"< {P_FLOOR:.3f}" if x < P_FLOOR else f"= {x:.3f}"


def _beta_line(name: str, m: dict[str, Any], scale: str) -> str:
    b = m["beta"]
    text = (
        f"- {name}: beta {_n(b['estimate'], 4)} (SE {_n(b['std_error'], 4)}, p {_p(b['pvalue'])})"
    )
    if math.isnan(m["speed_percent"]):
        text += ", no convergence implied"
    else:
        text += (
            f", a speed of {_n(m['speed_percent'], 2)} percent a year and a half-life of "
            f"{_n(m['half_life_years'], 1)} years"
        )
    for key, label in (("rho", "rho"), ("lambda", "lambda")):
        if key in m:
            text += f"; {label} {_n(m[key]['estimate'])} (p {_p(m[key]['pvalue'])})"
    return text + f" ({scale})."


def findings(results: dict[str, Any]) -> str:
    """The findings README, every number formatted from ``results`` (the results.json)."""
    d, mo, sg = results["design"], results["moran"], results["sigma"]
    lisa, lm = results["lisa_last"], results["lm_tests"]
    lines = [
        "# Income convergence and spatial spillovers across US states",
        "",
        f"Per-capita personal income of {d['n_states']} contiguous states, {d['first_year']} "
        f"to {d['last_year']} ({d['n_years']} years), in the manner of Rey and Montouri (1999); "
        f"{d['weights']}. Every number below is read from `results.json`.",
        "",
        "## Spatial dependence over time",
        "",
        f"- Moran's I of log income relative to the national mean is {_n(mo['first'])} in "
        f"{d['first_year']} and {_n(mo['last'])} in {d['last_year']} (E[I] "
        f"{_n(mo['expected'])}); it peaks at {_n(mo['max'])} in {mo['max_year']} and is lowest, "
        f"{_n(mo['min'])}, in {mo['min_year']}.",
        f"- {mo['years_significant']} of {d['n_years']} years have a permutation p-value "
        f"at or below {_n(d['alpha'], 2)} ({d['permutations']} permutations; p "
        f"{_p(mo['p_sim_last'])} in {d['last_year']})"
        + (
            ": rich states neighbour rich states in every year."
            if mo["years_significant"] == d["n_years"] and mo["min"] > 0
            else "."
        ),
        f"- Local Moran clusters in {d['last_year']}: {lisa['HH']} high-high, {lisa['LL']} "
        f"low-low, {lisa['HL']} high-low and {lisa['LH']} low-high states; {lisa['ns']} not "
        f"significant at {_n(d['alpha'], 2)}.",
        "",
        "## Sigma-convergence",
        "",
        "The cross-sectional standard deviation of log income "
        + ("falls" if sg["last"] < sg["first"] else "rises")
        + f" from {_n(sg['first'])} in "
        f"{d['first_year']} to {_n(sg['last'])} in {d['last_year']} (highest {_n(sg['max'])} "
        f"in {sg['max_year']}, lowest {_n(sg['min'])} in {sg['min_year']}).",
        "",
        "## Beta-convergence",
        "",
        f"Cross-section: average annual growth of log income from {d['first_year']} to "
        f"{d['last_year']} on log income in {d['first_year']}.",
        "",
    ]
    horizon = f"T = {d['horizon_years']}"
    for name, m in results["cross_section"].items():
        lines.append(_beta_line(name, m, horizon))
    lines += [
        "",
        "LM diagnostics on the OLS residuals: "
        + "; ".join(
            f"{label} {_n(lm[key]['statistic'])} (p {_p(lm[key]['pvalue'])})"
            for key, label in LM_TESTS
        )
        + ".",
        "",
        f"Panel: {d['n_spells']} non-overlapping {d['spell_years']}-year growth spells per "
        "state, average annual growth on log income at the start of the spell.",
        "",
    ]
    spell = f"T = {d['spell_years']}"
    for name, m in results["panel"].items():
        lines.append(_beta_line(name, m, spell))
    pfe, twfe = results["panel"]["Period FE"], results["panel"]["Two-way FE"]
    lines += [
        "",
        "With state effects the slope measures convergence of each state to its own steady "
        "state (conditional convergence)"
        + (
            ", which is faster than convergence to a common level."
            if twfe["speed_percent"] > pfe["speed_percent"]
            else "."
        ),
        "In the spatial lag model beta is the slope before the spatial multiplier, not the "
        "total effect of initial income.",
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- tables, figures
def _tables(moran, sigma, cs_models, lm, panel_models, first, last, output) -> list[Path]:
    lm_named = {label: getattr(lm, key) for key, label in LM_TESTS}
    by_year = pd.DataFrame(
        {
            "Moran's I": moran["I"].astype(float).to_numpy(),
            "p (permutation)": moran["p_sim"].astype(float).to_numpy(),
            "sigma log income": sigma.reindex(moran.index).to_numpy(),
        },
        index=pd.Index([str(int(t)) for t in moran.index], name="year"),
    )
    tables = {
        "cross_section": regression_table(
            cs_models, rename=LABELS, dependent_names=LABELS,
            fit_stats=("nobs", "r2", "loglik", "aic"),
            caption=f"Beta-convergence across US states, growth {first}-{last}",
            label="tab:income-cross-section",
            notes=["Queen contiguity, row-standardised; ML standard errors for spatial models."],
        ),
        "panel": regression_table(
            panel_models, rename=LABELS, dependent_names=LABELS,
            fit_stats=("nobs", "n_entities", "n_periods", "loglik"),
            caption=f"Beta-convergence in {SPELL}-year growth spells",
            label="tab:income-panel",
            notes=[f"Average annual growth over non-overlapping {SPELL}-year spells."],
        ),
        "diagnostics": diagnostics_table(
            lm_named, caption=f"LM tests on the OLS residuals, growth {first}-{last}",
            label="tab:income-lm",
            notes=["Queen contiguity, row-standardised."],
        ),
    }  # fmt: skip
    written = []
    for name, table in tables.items():
        written += [table.write(output / f"{name}.tex"), table.write(output / f"{name}.md")]
    written.append(write_atomic(output / "moran_sigma.csv", by_year.to_csv(float_format="%.6f")))
    return written


def _moran_figure(moran: pd.DataFrame) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(7, 4))
    years = [int(t) for t in moran.index]
    ax.plot(years, moran["I"].astype(float), color="C0", label="Moran's I")
    sig = moran["p_sim"] <= ALPHA
    ax.scatter(
        [t for t, s in zip(years, sig, strict=True) if s],
        moran.loc[sig, "I"].astype(float), s=10, color="C0", label=f"p (permutation) <= {ALPHA}",
    )  # fmt: skip
    ei = float(moran["EI"].iloc[0])
    ax.axhline(ei, color="grey", linestyle="--", linewidth=1, label=f"E[I] = {ei:.3f}")
    ax.set_xlabel("year")
    ax.set_ylabel("Moran's I, relative log income")
    ax.set_title("Spatial autocorrelation of state incomes")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def _sigma_figure(sigma: pd.Series) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([int(t) for t in sigma.index], sigma.to_numpy(), color="C1")
    ax.set_xlabel("year")
    ax.set_ylabel("standard deviation of log income")
    ax.set_title("Sigma-convergence across US states")
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    run_cli(main, __file__)
