"""The cluster-formation study's results.json and its findings README (every number in the
README formatted from results.json). Private: run_all skips modules starting with ``_``."""

from __future__ import annotations

from typing import Any

import pandas as pd

CITATIONS = ("Sun and Abraham (2021)", "Ellison and Glaeser (1997)", "Klepper (1997)")
LEVEL = 0.95
ES_NAMES = {"Sun-Abraham": "sa", "Sun-Abraham, last-treated": "sa_last", "TWFE": "twfe"}


# ---------------------------------------------------------------------- results.json
def _argmax(s: pd.Series) -> tuple[float, int]:
    return float(s.max()), int(s.idxmax())


def _industry(by_year: pd.DataFrame) -> dict[str, Any]:
    later = by_year.iloc[1:]
    peak, peak_year = _argmax(by_year["firms"])
    er, er_year = _argmax(later["entry_rate"])
    xr, xr_year = _argmax(later["exit_rate"])
    stages = {}
    for stage in dict.fromkeys(by_year["stage"]):
        yrs = by_year.index[by_year["stage"] == stage]
        stages[stage] = {"first": int(yrs.min()), "last": int(yrs.max()), "years": len(yrs)}
    return {
        "firms_first": int(by_year["firms"].iloc[0]),
        "firms_peak": int(peak),
        "peak_year": peak_year,
        "firms_last": int(by_year["firms"].iloc[-1]),
        "entries": int(later["entries"].sum()),
        "exits": int(later["exits"].sum()),
        "spinoff_percent": float(100 * later["spinoff_entries"].sum() / later["entries"].sum()),
        "entry_rate_max": er,
        "entry_rate_max_year": er_year,
        "exit_rate_max": xr,
        "exit_rate_max_year": xr_year,
        "stages": stages,
    }


def _agglomeration(by_year: pd.DataFrame, clusters: dict, alpha: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, col in (("eg", "eg_gamma"), ("moran", "moran_i"), ("hh", "hh_regions")):
        s = by_year[col].astype(float)
        top, when = _argmax(s)
        out[key] = {"first": float(s.iloc[0]), "last": float(s.iloc[-1]), "max": top,
                    "max_year": when}  # fmt: skip
    out["moran"]["years_significant"] = int((by_year["moran_p"] <= alpha).sum())
    out["moran"]["first_significant"] = (
        int(by_year.index[by_year["moran_p"] <= alpha].min())
        if (by_year["moran_p"] <= alpha).any()
        else None
    )
    out["specialised_last"] = int(by_year["specialised_regions"].iloc[-1])
    out["max_lq_last"] = float(by_year["max_lq"].iloc[-1])
    years = sorted(clusters)
    snaps = [years[len(years) // 5], years[len(years) // 2], years[-1]]
    out["lisa"] = [
        {"year": t} | {q: int((clusters[t] == q).sum()) for q in ("HH", "LL", "HL", "LH", "ns")}
        for t in snaps
    ]
    return out


def _coef(res, term: str, truth: float) -> dict[str, Any]:
    ci = res.conf_int(LEVEL).loc[term]
    return {
        "estimate": float(res.params[term]),
        "std_error": float(res.std_errors[term]),
        "pvalue": float(res.pvalues[term]),
        "lower": float(ci["lower"]),
        "upper": float(ci["upper"]),
        "covers_truth": bool(ci["lower"] <= truth <= ci["upper"]),
        "nobs": int(res.nobs),
    }


def _events(events: dict, truth: pd.Series, truth_last: pd.Series, window: list[int]) -> dict:
    lo, hi = window
    shown = [e for e in range(lo, hi + 1) if e != -1]
    by_e: dict[str, Any] = {}
    for e in shown:
        key = f"{e:+d}"
        row = {"event_time": e, "truth": float(truth[key])}
        if key in truth_last.index:
            row["truth_last"] = float(truth_last[key])
        for name, short in ES_NAMES.items():
            res = events[name]
            if key in res.params.index:
                ci = res.conf_int(LEVEL).loc[key]
                row |= {
                    short: float(res.params[key]),
                    f"{short}_se": float(res.std_errors[key]),
                    f"{short}_lower": float(ci["lower"]),
                    f"{short}_upper": float(ci["upper"]),
                }
        by_e[key] = row
    summary = {}
    post = [f"{e:+d}" for e in shown if e >= 0]
    leads = [f"{e:+d}" for e in shown if e < 0]
    for short in ("sa", "twfe"):
        err_post = [abs(by_e[k][short] - by_e[k]["truth"]) for k in post]
        err_lead = [abs(by_e[k][short]) for k in leads]
        covered = sum(by_e[k][f"{short}_lower"] <= by_e[k]["truth"] <= by_e[k][f"{short}_upper"]
                      for k in post)  # fmt: skip
        summary[short] = {"mae_post": sum(err_post) / len(post),
                          "mae_leads": sum(err_lead) / len(leads), "covered_post": covered,
                          "mean_post": sum(by_e[k][short] for k in post) / len(post)}  # fmt: skip
    last = [k for k in post if "sa_last" in by_e[k]]
    summary["sa_last"] = {
        "mae_post": sum(abs(by_e[k]["sa_last"] - by_e[k]["truth_last"]) for k in last) / len(last),
        "n_post": len(last),
    }
    summary["truth_mean_post"] = sum(by_e[k]["truth"] for k in post) / len(post)
    summary["n_post"], summary["n_leads"] = len(post), len(leads)
    pretrend = {}
    for name, short in ES_NAMES.items():
        stat, df, p = events[name].pretrend_test(min_lead=lo)
        pretrend[short] = {"statistic": stat, "df": df, "pvalue": p}
    return {"by_e": by_e, "summary": summary, "pretrend": pretrend}


def results_json(
    sim, panel, by_year, clusters, poisson, events, truth, truth_last, *, design
) -> dict:
    """The key estimates of the study beside the simulated truth."""
    d = panel.data
    start = d["programme_start"].groupby(level="region").first()
    years = sorted(int(t) for t in panel.periods)
    t = sim.truth
    return {
        "design": {
            **design,
            "n_regions": int(panel.n_entities),
            "first_year": years[0],
            "last_year": years[-1],
            "n_years": len(years),
            "level_percent": round(100 * LEVEL),
            "last_lead": -2,
            "n_firms": int(sim.firms.index.get_level_values("firm").nunique()),
            "cohorts": [
                {"start": int(g), "regions": int(n)}
                for g, n in start.value_counts().sort_index().items()
            ],
            "n_never_treated": int(start.isna().sum()),
        },
        "truth": t.as_dict(),
        "industry": _industry(by_year),
        "agglomeration": _agglomeration(by_year, clusters, design["alpha"]),
        "poisson": {name: _coef(res, "log_pool", t.spillover) for name, res in poisson.items()},
        "event_study": _events(events, truth, truth_last, design["window"]),
    }


# ---------------------------------------------------------------------- findings
def _n(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}"


def _p(x: float) -> str:
    return "< 0.001" if x < 0.001 else f"= {x:.3f}"


def findings(r: dict[str, Any]) -> str:
    """The findings README, every number formatted from ``r`` (the results.json)."""
    d, t, ind, ag = r["design"], r["truth"], r["industry"], r["agglomeration"]
    es, pois = r["event_study"], r["poisson"]
    lines = [
        "# How clusters form: entry, spin-offs, spillovers and a cluster programme",
        "",
        f"A simulated industry in {d['n_regions']} regions ({d['n_cells']} x {d['n_cells']} "
        f"squares of {_n(d['cell_km'], 0)} km), {d['first_year']} to {d['last_year']} "
        f"({d['n_years']} years, {d['n_firms']} firms). Entry is Poisson, driven by the "
        f"region's attractiveness, the industry's life cycle, the lagged pool of incumbents "
        f"in other regions (true elasticity {_n(t['spillover'])}, kernel bandwidth "
        f"{_n(t['decay_km'], 0)} km) and a cluster programme; "
        + ", ".join(f"{c['regions']} regions start it in {c['start']}" for c in d["cohorts"])
        + f", {d['n_never_treated']} never do. Every number below is read from `results.json`.",
        "",
        "## The industry's life cycle",
        "",
        f"- Firms: {ind['firms_first']} in {d['first_year']}, a peak of {ind['firms_peak']} "
        f"in {ind['peak_year']}, {ind['firms_last']} in {d['last_year']} "
        f"({ind['entries']} entries and {ind['exits']} exits after the first year; "
        f"{_n(ind['spinoff_percent'], 1)} percent of entrants are spin-offs of incumbents "
        "of their region).",
        f"- The entry rate peaks at {_n(ind['entry_rate_max'])} in {ind['entry_rate_max_year']}"
        f", the exit rate at {_n(ind['exit_rate_max'])} in {ind['exit_rate_max_year']} "
        "(the shakeout, in the manner of Klepper (1997)).",
        "- Stages (`measures.lifecycle_stage`): "
        + "; ".join(
            f"{s} {v['first']} to {v['last']} ({v['years']} year"
            + ("s)" if v["years"] != 1 else ")")
            for s, v in ind["stages"].items()
        )
        + ".",
        "",
        "## Agglomeration over time",
        "",
        f"- Ellison and Glaeser (1997) gamma: {_n(ag['eg']['first'], 4)} in {d['first_year']}, "
        f"{_n(ag['eg']['last'], 4)} in {d['last_year']} (highest {_n(ag['eg']['max'], 4)} in "
        f"{ag['eg']['max_year']}).",
        "- Moran's I of log(1 + firms) (firm density; queen contiguity): "
        f"{_n(ag['moran']['first'])} in {d['first_year']}, {_n(ag['moran']['last'])} in "
        f"{d['last_year']}, highest "
        f"{_n(ag['moran']['max'])} in {ag['moran']['max_year']}; p (permutation, "
        f"{d['permutations']} draws) at or below {_n(d['alpha'], 2)} in "
        f"{ag['moran']['years_significant']} of {d['n_years']} years.",
        "- High-high LISA clusters of firm density: "
        f"{_n(ag['hh']['first'], 0)} regions in {d['first_year']}, "
        f"{_n(ag['hh']['max'], 0)} at most (in {ag['hh']['max_year']}), "
        f"{_n(ag['hh']['last'], 0)} in {d['last_year']}; {ag['specialised_last']} regions have "
        f"a location quotient above {_n(d['specialised_lq'], 2)} in {d['last_year']} "
        f"(largest {_n(ag['max_lq_last'], 2)}). Maps: `emergence_maps.png` ("
        + ", ".join(f"{v['year']}: {v['HH']} high-high" for v in ag["lisa"])
        + ").",
        "",
        "## Entry and spillovers (Poisson PML, region and year effects absorbed)",
        "",
    ]
    for name, c in pois.items():
        lines.append(
            f"- {name}: elasticity of entry to the lagged pool {_n(c['estimate'])} (SE "
            f"{_n(c['std_error'])}, {d['level_percent']} percent interval {_n(c['lower'])} to "
            f"{_n(c['upper'])}; truth {_n(t['spillover'])}, "
            + ("inside" if c["covers_truth"] else "outside")
            + f" the interval; {c['nobs']} region-years)."
        )
    lines += [
        "",
        "The programme raises entry in treated regions, and their entrants feed their "
        "neighbours' pools; absorbing one effect per programme cohort and year since its start "
        "keeps that out of the spillover elasticity.",
        "",
        "## The cluster programme: event study of entries",
        "",
        *_event_lines(d, es),
    ]
    return "\n".join(lines) + "\n"


def _event_lines(d: dict[str, Any], es: dict[str, Any]) -> list[str]:
    s, pre, lo = es["summary"], es["pretrend"], d["window"][0]
    by_e = es["by_e"]
    first = by_e["+0"]
    out = [
        f"Truth: the programme's direct effect on expected entries, averaged over each cohort "
        f"and weighted by the cohorts' shares at each period. Over periods 0 to "
        f"{d['window'][1]} it averages {_n(s['truth_mean_post'])} extra entries per region and "
        f"year; at e = 0 it is {_n(first['truth'])}.",
        "",
        f"- Sun and Abraham (2021), never-treated controls: mean {_n(s['sa']['mean_post'])} "
        f"over the {s['n_post']} post periods, mean absolute error {_n(s['sa']['mae_post'])}; "
        f"the {d['level_percent']} percent interval covers the truth in "
        f"{s['sa']['covered_post']} of {s['n_post']}. Leads {lo} to {d['last_lead']}: mean "
        f"absolute value {_n(s['sa']['mae_leads'])}, pre-trend test chi-squared("
        f"{pre['sa']['df']}) = {_n(pre['sa']['statistic'], 2)}, p {_p(pre['sa']['pvalue'])}.",
        f"- Last-treated controls (the rows from the last cohort's start on are dropped, so "
        f"only {s['sa_last']['n_post']} post periods remain, each compared with the truth of "
        f"its own cohorts): mean absolute error {_n(s['sa_last']['mae_post'])}; pre-trend "
        f"test chi-squared({pre['sa_last']['df']}) = {_n(pre['sa_last']['statistic'], 2)}, "
        f"p {_p(pre['sa_last']['pvalue'])}.",
        f"- Dynamic two-way FE: mean {_n(s['twfe']['mean_post'])} over the post periods, mean "
        f"absolute error {_n(s['twfe']['mae_post'])} (interval covers the truth in "
        f"{s['twfe']['covered_post']} of {s['n_post']}); leads: mean absolute value "
        f"{_n(s['twfe']['mae_leads'])}, pre-trend test chi-squared({pre['twfe']['df']}) = "
        f"{_n(pre['twfe']['statistic'], 2)}, p {_p(pre['twfe']['pvalue'])}.",
        "",
        (
            "Here the two-way FE leads stray further from zero than Sun-Abraham's "
            if s["twfe"]["mae_leads"] > s["sa"]["mae_leads"]
            else "Here the two-way FE leads stay as close to zero as Sun-Abraham's "
        )
        + (
            "and its post-treatment path is further from the truth."
            if s["twfe"]["mae_post"] > s["sa"]["mae_post"]
            else "and its post-treatment path is as close to the truth in this draw; the "
            "slow Monte Carlo test shows its bias on average."
        ),
        "",
        "Why the two differ: the effect grows with time since the start and is larger in the "
        "earlier cohorts. The two-way FE regression pools the cohorts into one coefficient per "
        "period and uses already-treated regions as implicit controls, so each of its "
        "coefficients mixes in effects of other periods and cohorts; Sun-Abraham estimates "
        "every cohort's path against the never-treated and averages with known shares.",
        "",
        f"The pre-trend test uses the leads {lo} to {d['last_lead']}, where every cohort is "
        "observed: farther leads rest on the latest cohort alone, and a Wald test of many of "
        "them with few treated regions per coefficient rejects too often.",
        "",
        "| e | truth | Sun-Abraham (SE) | TWFE (SE) |",
        "|---|---|---|---|",
    ]
    for key, row in by_e.items():
        out.append(
            f"| {key} | {_n(row['truth'])} | {_n(row['sa'])} ({_n(row['sa_se'])}) | "
            f"{_n(row['twfe'])} ({_n(row['twfe_se'])}) |"
        )
    return out
