"""How innovative clusters form and grow: firm entry, spin-offs and exit across regions over
an industry's life cycle, with knowledge spillovers and a staggered cluster programme.
An end-to-end study on simulated regions with known truth.

Simulates 25 years of an industry in 10 x 10 regions (``spillover.simulate.cluster_formation``):
entry driven by the region's attractiveness, the industry's life cycle, the lagged pool of
incumbents in other regions (negative-exponential kernel) and a cluster programme started in
three cohorts of randomly drawn regions; spin-offs from incumbents of the region; exits with
a shakeout after the peak. From the firm-year rows alone, it counts entries and exits by
region and year (``measures.entry_rates``), classifies the industry's and each region's
life-cycle stage (``measures.lifecycle_stage``), follows agglomeration by year (Ellison-
Glaeser gamma, location quotients, Moran's I and LISA clusters of firm density, log(1 +
firms) in equal-area regions, on queen contiguity), fits entry counts on the lagged
spillover pool by Poisson PML with absorbed effects (``models.PoissonHDFE``, clustered by
region), and estimates the programme's effect on entries by event study: Sun and Abraham
(2021) with never-treated or last-treated controls and the dynamic two-way FE regression
(``models.EventStudy``), each beside the known effect, with a pre-trend test.

Writes ``entry_poisson`` and ``event_study`` tables as .tex and .md, ``by_year.csv`` and
``event_study.csv``; ``agglomeration_over_time``, ``emergence_maps``, ``lq_<last year>``
and ``event_study`` as PDF and PNG; ``results.json`` and ``README.md`` (findings, every
number filled in from ``results.json``, by :mod:`analyses._formation_findings`).
Run with ``python -m analyses.cluster_formation`` or ``make cluster-formation``.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analyses._common import run_cli
from analyses._formation_findings import findings, results_json
from spillover import Panel, measures, simulate, weights
from spillover.inference import Cluster
from spillover.models import EventStudy, PoissonHDFE
from spillover.report import event_study_plot, regression_table, write_atomic
from spillover.report.figures import choropleth, lisa_map, save_figure

N_YEARS, N_CELLS, SEED = 25, 10, 20261202
CELL_KM = 50.0
PERMUTATIONS = 999
WINDOW = (-5, 10)  # relative periods shown; the pre-trend test uses the leads from -5
ALPHA = 0.05
SPECIALISED = 1.25  # location quotient above which a region counts as specialised

FIGURE: str | None = "event_study.png"
"""The figure the README shows (``make readme-images`` copies it to docs/images/)."""
STAGE_COLOURS = {"emergence": "#e5f5e0", "growth": "#a1d99b", "maturity": "#fdd0a2",
                 "decline": "#fc9272"}  # fmt: skip


def main(output: Path) -> list[Path]:
    """Run the study at its default size into ``output``; return the paths written."""
    return run(output)


def run(
    output: Path,
    *,
    n_years: int = N_YEARS,
    n_cells: int = N_CELLS,
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
) -> list[Path]:
    """Run the study on ``n_cells`` x ``n_cells`` regions over ``n_years`` years with
    ``permutations`` draws for Moran's I and LISA p-values."""
    sim = simulate.cluster_formation(n_years, n_cells=n_cells, side_km=CELL_KM * n_cells, seed=seed)
    panel = _region_panel(sim)
    years = sorted(int(t) for t in panel.periods)
    queen = weights.queen(panel).row_standardize()
    by_year, clusters = _agglomeration(sim, panel, queen, permutations, seed)
    sample = panel.subset(periods=years[1:])  # entries are known from the second year
    poisson = {
        "Region, year FE": PoissonHDFE(
            "entries ~ log_pool", sample, absorb=["region", "year"]
        ).fit(vcov=Cluster("region")),
        "+ programme cells": PoissonHDFE(
            "entries ~ log_pool", sample, absorb=["region", "year", "programme_cell"]
        ).fit(vcov=Cluster("region")),
    }  # fmt: skip
    events = {
        "Sun-Abraham": EventStudy("entries", sample, cohort="programme_start").fit(),
        "Sun-Abraham, last-treated": EventStudy(
            "entries", sample, cohort="programme_start", control="last"
        ).fit(),
        "TWFE": EventStudy("entries", sample, cohort="programme_start", method="twfe").fit(),
    }
    truth = _event_truth(sample, events["Sun-Abraham"])
    truth_last = _event_truth(sample, events["Sun-Abraham, last-treated"])  # its own cohorts

    output.mkdir(parents=True, exist_ok=True)
    results = results_json(
        sim, panel, by_year, clusters, poisson, events, truth, truth_last,
        design={"n_cells": n_cells, "cell_km": CELL_KM, "permutations": permutations,
                "seed": seed, "window": list(WINDOW), "alpha": ALPHA,
                "specialised_lq": SPECIALISED},
    )  # fmt: skip
    written = _tables(poisson, events, truth, truth_last, by_year, sim, output)
    written += save_figure(_agglomeration_figure(by_year), output / "agglomeration_over_time")
    written += save_figure(_emergence_maps(panel, clusters, years), output / "emergence_maps")
    written += save_figure(
        choropleth(panel, "lq", period=years[-1], title=f"Location quotient, {years[-1]}",
                   legend_title="LQ"),
        output / f"lq_{years[-1]}",
    )  # fmt: skip
    written += save_figure(
        event_study_plot(
            {k: events[k] for k in ("Sun-Abraham", "TWFE")},
            truth=pd.Series(truth.to_numpy(), index=[int(e) for e in truth.index]).reindex(
                sorted({-1, *(int(e) for e in truth.index)}), fill_value=0.0
            ),  # zero at the reference period
            window=WINDOW, ylabel="extra entries per region and year",
            title="Cluster programme: event study of entries",
        ),
        output / "event_study",
    )  # fmt: skip
    written.append(write_atomic(output / "results.json", json.dumps(results, indent=2) + "\n"))
    written.append(write_atomic(output / "README.md", findings(results)))
    return written


# ---------------------------------------------------------------------- data
def _region_panel(sim: simulate.SimulatedFormation) -> Panel:
    """Region-year panel built from the firm-year rows: firms, entries, exits, rates, focal
    employment, location quotient, lagged log spillover pool, and the programme's timing
    (public knowledge) and true effect (kept apart, for comparison only)."""
    firms = sim.firms
    rates = measures.entry_rates(firms, region="region", regions=sim.area.index)
    r = sim.regions.data.reindex(rates.index)
    year = rates.index.get_level_values("year")
    emp = firms.groupby(["region", firms.index.get_level_values("year")])["employment"].sum()
    frame = rates.assign(
        employment=emp.reindex(rates.index, fill_value=0).to_numpy(),
        background_employment=r["background_employment"].to_numpy(),
        programme_start=r["programme_start"].to_numpy(),
        true_effect=r["programme_effect"].to_numpy(),
    )
    e = year - frame["programme_start"]
    frame["programme_cell"] = np.where(
        e >= 0, frame["programme_start"].astype(str) + ":" + e.astype(str), "none"
    )
    cells = pd.concat(
        [
            frame[["employment"]].assign(industry="focal"),
            frame[["background_employment"]]
            .rename(columns={"background_employment": "employment"})
            .assign(industry="other"),
        ]
    ).reset_index()
    lq = measures.location_quotient(
        cells, region="region", industry="industry", employment="employment", time="year"
    ).xs("focal", level="industry")
    frame["lq"] = lq.reorder_levels(["region", "year"]).reindex(frame.index, fill_value=0.0)
    panel = Panel(frame.reset_index(), entity="region", time="year", geo=sim.area)
    w = weights.kernel(sim.area.geometry.centroid, bandwidth=sim.truth.decay_km)
    panel = panel.assign(pool=measures.spillover_pool(panel, "firms", w))
    return panel.assign(log_pool=np.log1p(panel.lag("pool")), log_firms=np.log1p(panel["firms"]))


def _agglomeration(sim, panel: Panel, queen, permutations: int, seed: int):
    """By year: industry firms, entries, exits, rates and stage; EG gamma; Moran's I of the
    location quotient; LISA clusters (labels by region for every year)."""
    d = panel.data
    totals = d.groupby(level="year")[["firms", "entries", "exits"]].sum(min_count=1)
    firms = sim.firms.reset_index().assign(industry="focal")
    area = d["background_employment"].groupby(level="region").first()
    eg = measures.ellison_glaeser(
        firms, industry="industry", region="region", employment="employment", time="year",
        area_shares=area,
    ).xs("focal", level="industry")  # fmt: skip
    moran = measures.morans_i(panel, "log_firms", queen, permutations=permutations, seed=seed)
    clusters = {}
    for t in panel.periods:
        clusters[int(t)] = measures.lisa(
            panel, "log_firms", queen, period=t, permutations=permutations, seed=seed
        )["cluster"]
    region_stage = measures.lifecycle_stage(d["firms"])
    by_year = pd.DataFrame(
        {
            "firms": totals["firms"],
            "entries": totals["entries"],
            "exits": totals["exits"],
            "entry_rate": totals["entries"] / totals["firms"].shift(1),
            "exit_rate": totals["exits"] / totals["firms"].shift(1),
            "spinoff_entries": _spinoffs(sim.firms, totals.index),
            "stage": measures.lifecycle_stage(totals["firms"]).astype(str),
            "eg_gamma": eg["gamma"].reindex(totals.index),
            "moran_i": moran["I"].astype(float).reindex(totals.index),
            "moran_p": moran["p_sim"].astype(float).reindex(totals.index),
            "hh_regions": pd.Series({t: int((c == "HH").sum()) for t, c in clusters.items()}),
            "specialised_regions": (d["lq"] > SPECIALISED).groupby(level="year").sum(),
            "max_lq": d["lq"].groupby(level="year").max(),
        }
    )
    for stage in measures.lifecycle_stage(pd.Series([0.0])).cat.categories:
        by_year[f"regions_{stage}"] = (region_stage == stage).groupby(level="year").sum()
    by_year.index = by_year.index.astype(int)
    return by_year, clusters


def _spinoffs(firms: pd.DataFrame, years: pd.Index) -> pd.Series:
    """Spin-offs among each year's entrants (NaN in the first year, as entries are)."""
    rows = firms.reset_index()
    new = rows[(rows["year"] == rows["entry_year"]) & rows["spinoff"]]
    out = new.groupby("year").size().reindex(years, fill_value=0).astype(float)
    out.iloc[0] = np.nan
    return out


def _event_truth(sample: Panel, res) -> pd.Series:
    """The known effect at each relative period: each cohort's mean true effect on expected
    entries, averaged with the estimator's cohort shares (the Sun-Abraham estimand)."""
    d = sample.data.dropna(subset=["programme_start"])
    e = d.index.get_level_values("year") - d["programme_start"]
    cohort_mean = d["true_effect"].groupby([d["programme_start"], e]).mean()
    shares = res.cohort_shares
    out = {}
    for ev in res.event_times:
        col = shares[ev]
        out[f"{ev:+d}"] = float(
            sum(col[g] * cohort_mean.get((g, ev), 0.0) for g in col.index if col[g] > 0)
        )
    return pd.Series(out)


# ---------------------------------------------------------------------- tables, figures
def _tables(poisson, events, truth, truth_last, by_year, sim, output: Path) -> list[Path]:
    lo, hi = WINDOW
    shown = [f"{e:+d}" for e in range(lo, hi + 1) if e != -1]
    pretrend = [f"{res.pretrend_test(min_lead=lo)[2]:.3f}" for res in events.values()]
    tables = {
        "entry_poisson": regression_table(
            poisson, rename={"log_pool": "log(1 + spillover pool), t-1"},
            dependent_names={"entries": "entries"}, fit_stats=("nobs", "n_entities"),
            add_rows={"True elasticity": [f"{sim.truth.spillover:.3f}"] * len(poisson)},
            caption="Entry counts on the lagged spillover pool, Poisson PML",
            label="tab:formation-poisson",
            notes=["Standard errors clustered by region. Programme cells: one effect per "
                   "programme cohort and year since its start."],
        ),
        "event_study": regression_table(
            events, keep=shown, rename={s: f"e = {s}" for s in shown},
            fit_stats=("nobs", "n_entities"),
            add_rows={
                f"Pre-trend p (leads {lo} to -2)": pretrend,
                "True effect e = +0": [
                    f"{(truth_last if 'last' in name else truth)['+0']:.3f}" for name in events
                ],
            },
            caption="Cluster programme: event study of entries per region and year",
            label="tab:formation-event-study",
            notes=["Reference period e = -1. Standard errors clustered by region."],
        ),
    }  # fmt: skip
    written = []
    for name, table in tables.items():
        written += [table.write(output / f"{name}.tex"), table.write(output / f"{name}.md")]
    written.append(write_atomic(output / "by_year.csv", by_year.to_csv(float_format="%.6f")))
    es = pd.DataFrame(
        {"truth": truth, "truth (last-treated design)": truth_last}
        | {f"{k} estimate": r.params for k, r in events.items()}
        | {f"{k} std_error": r.std_errors for k, r in events.items()}
    )
    es.index.name = "event_time"
    written.append(write_atomic(output / "event_study.csv", es.to_csv(float_format="%.6f")))
    return written


def _agglomeration_figure(by_year: pd.DataFrame) -> plt.Figure:
    fig, axes = plt.subplots(3, 1, figsize=(6.5, 6.5), sharex=True)
    years = by_year.index.to_numpy()
    for ax in axes:
        for t, stage in zip(years, by_year["stage"], strict=True):
            ax.axvspan(t - 0.5, t + 0.5, color=STAGE_COLOURS[stage], lw=0)
    axes[0].plot(years, by_year["firms"], color="black", label="firms")
    axes[0].bar(years, by_year["entries"].fillna(0), color="#0072B2", alpha=0.7, label="entries")
    axes[0].bar(years, -by_year["exits"].fillna(0), color="#D55E00", alpha=0.7, label="exits")
    axes[0].set_ylabel("firms of the industry")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in STAGE_COLOURS.values()]
    axes[0].legend(
        axes[0].get_legend_handles_labels()[0] + handles,
        ["firms", "entries", "exits (negative)", *STAGE_COLOURS], frameon=False, ncols=4,
        fontsize=6,
    )  # fmt: skip
    axes[1].plot(years, by_year["eg_gamma"], color="#009E73")
    axes[1].set_ylabel("Ellison-Glaeser gamma")
    axes[2].plot(years, by_year["moran_i"], color="#0072B2", label="Moran's I of log(1 + firms)")
    sig = by_year["moran_p"] <= ALPHA
    axes[2].scatter(years[sig], by_year.loc[sig, "moran_i"], s=10, color="#0072B2",
                    label=f"p (permutation) <= {ALPHA}")  # fmt: skip
    axes[2].set_ylabel("Moran's I")
    axes[2].set_xlabel("year (background: the industry's life-cycle stage)")
    axes[2].legend(frameon=False)
    fig.tight_layout()
    return fig


def _emergence_maps(panel: Panel, clusters: dict, years: list[int]) -> plt.Figure:
    snaps = [years[len(years) // 5], years[len(years) // 2], years[-1]]
    fig, axes = plt.subplots(1, 3, figsize=(9.0, 3.4))
    for ax, t in zip(axes, snaps, strict=True):
        lisa_map(panel, clusters[t], title=f"LISA clusters of firm density, {t}", ax=ax)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    run_cli(main, __file__)
