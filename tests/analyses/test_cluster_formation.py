"""The cluster-formation study end to end on a small simulation with few permutations:
every file written whole, the estimates consistent with the data and the truth, every
number of the findings README taken from results.json. The slow test checks, by Monte
Carlo, that the estimators that should recover the simulated truth do."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analyses import cluster_formation
from analyses._formation_findings import CITATIONS, findings
from spillover.errors import DroppedRowsWarning
from spillover.inference import Cluster
from spillover.models import EventStudy, PoissonHDFE
from spillover.simulate import cluster_formation as simulate_formation
from tests.analyses._findings import numbers
from tests.analyses._latex import assert_tables_fit_the_page

N_YEARS, N_CELLS, PERMUTATIONS = 20, 6, 49

TABLES = ["entry_poisson", "event_study"]
FIGURES = ["agglomeration_over_time", "emergence_maps", f"lq_{1999 + N_YEARS}", "event_study"]
EXPECTED = (
    {f"{t}.{ext}" for t in TABLES for ext in ("tex", "md")}
    | {f"{f}.{ext}" for f in FIGURES for ext in ("pdf", "png")}
    | {"by_year.csv", "event_study.csv", "results.json", "README.md"}
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("cluster_formation")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)  # regions without any entry
        written = cluster_formation.run(
            out, n_years=N_YEARS, n_cells=N_CELLS, permutations=PERMUTATIONS
        )
    return out, written


@pytest.fixture(scope="module")
def results(run: tuple[Path, list[Path]]) -> dict[str, Any]:
    return json.loads((run[0] / "results.json").read_text())


def test_writes_every_file_whole(run: tuple[Path, list[Path]]) -> None:
    out, written = run
    assert {p.name for p in written} == EXPECTED
    assert all(p.parent == out and p.stat().st_size > 0 for p in written)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    for f in FIGURES:
        assert (out / f"{f}.pdf").read_bytes().startswith(b"%PDF")
        assert (out / f"{f}.png").read_bytes().startswith(b"\x89PNG")
    for t in TABLES:
        assert (out / f"{t}.tex").read_text().rstrip().endswith(r"\end{table}")
    assert len((out / "by_year.csv").read_text().splitlines()) == 1 + N_YEARS


def test_results_are_consistent(run: tuple[Path, list[Path]], results: dict[str, Any]) -> None:
    d, ind = results["design"], results["industry"]
    assert (d["n_regions"], d["n_years"], d["permutations"]) == (N_CELLS**2, N_YEARS, PERMUTATIONS)
    assert sum(c["regions"] for c in d["cohorts"]) + d["n_never_treated"] == N_CELLS**2
    by_year = pd.read_csv(run[0] / "by_year.csv", index_col=0)
    # the industry's books balance: N_t = N_t-1 + entries - exits
    change = by_year["firms"].diff().iloc[1:]
    assert (change == (by_year["entries"] - by_year["exits"]).iloc[1:]).all()
    assert ind["firms_peak"] == by_year["firms"].max() >= ind["firms_last"]
    assert 0 < ind["spinoff_percent"] < 100
    assert sum(v["years"] for v in ind["stages"].values()) == N_YEARS
    for v in results["agglomeration"]["lisa"]:
        assert sum(v[q] for q in ("HH", "LL", "HL", "LH", "ns")) == N_CELLS**2
    for c in results["poisson"].values():
        assert c["lower"] < c["estimate"] < c["upper"] and c["std_error"] > 0
    es = results["event_study"]
    for key, row in es["by_e"].items():
        assert row["event_time"] == int(key)
        assert (row["truth"] == 0) == (row["event_time"] < 0)  # no effect before the start
        assert row["sa_lower"] < row["sa"] < row["sa_upper"]
    for test in es["pretrend"].values():
        assert test["df"] == sum(r["event_time"] < 0 for r in es["by_e"].values())
        assert 0 <= test["pvalue"] <= 1


def test_every_number_in_the_findings_comes_from_results(
    run: tuple[Path, list[Path]], results: dict[str, Any]
) -> None:
    text = (run[0] / "README.md").read_text()
    allowed = {f"{v:.{d}f}" for v in numbers(results) for d in range(5)}
    for citation in CITATIONS:
        assert text.count(citation) == 1
        text = text.replace(citation, "")
    found = re.findall(r"-?\d+(?:\.\d+)?", text)
    assert len(found) > 80
    stray = [n for n in found if n not in allowed]
    assert not stray, stray
    full = (run[0] / "README.md").read_text()
    assert findings(results) == full  # a pure function of results.json


def _one_replication(seed: int) -> tuple[float, pd.Series, pd.Series, pd.Series]:
    """The study's estimators on one simulated draw at the study's size: the Poisson
    spillover elasticity, Sun-Abraham and TWFE event-study coefficients and their truth."""
    sim = simulate_formation(seed=seed)
    panel = cluster_formation._region_panel(sim)
    years = sorted(int(t) for t in panel.periods)
    sample = panel.subset(periods=years[1:])
    pois = PoissonHDFE(
        "entries ~ log_pool", sample, absorb=["region", "year", "programme_cell"]
    ).fit(vcov=Cluster("region"))
    sa = EventStudy("entries", sample, cohort="programme_start").fit()
    tw = EventStudy("entries", sample, cohort="programme_start", method="twfe").fit()
    truth = cluster_formation._event_truth(sample, sa)
    return float(pois.params["log_pool"]), sa.params, tw.params, truth


@pytest.mark.slow
def test_estimators_recover_the_simulated_truth() -> None:
    # 40 draws at the study's size (100 regions, 25 years). Tolerances are 3.5 Monte Carlo
    # standard errors of the mean over the draws (sd across draws / sqrt(40)), so a
    # correct estimator fails with probability about 5e-4 per check.
    reps = 40
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        draws = [_one_replication(1000 + s) for s in range(reps)]
    elasticity = np.array([d[0] for d in draws])
    mcse = elasticity.std(ddof=1) / np.sqrt(reps)
    assert abs(elasticity.mean() - 0.5) < 3.5 * mcse + 0.02  # 0.02: O(1/T) bias of FE Poisson
    terms = ["-5", "-4", "-3", "-2", "+0", "+2", "+4", "+6", "+8"]
    sa = pd.DataFrame([d[1][terms] for d in draws])
    tw = pd.DataFrame([d[2][terms] for d in draws])
    truth = pd.DataFrame([d[3][terms] for d in draws])
    err = sa - truth
    bound = 3.5 * err.std(ddof=1) / np.sqrt(reps)
    assert (err.mean().abs() < bound).all(), (err.mean(), bound)
    # the dynamic TWFE regression is biased: its leads are not centred on zero
    lead_bias = (tw - truth)[["-5", "-4", "-3", "-2"]].mean()
    lead_mcse = (tw - truth)[["-5", "-4", "-3", "-2"]].std(ddof=1) / np.sqrt(reps)
    assert (lead_bias.abs() > 3.5 * lead_mcse).any(), (lead_bias, lead_mcse)


def test_tables_fit_the_page(run: tuple[Path, list[Path]], tmp_path: Path) -> None:
    assert_tables_fit_the_page([run[0] / f"{t}.tex" for t in TABLES], tmp_path)
