"""The learning-networks study end to end at a reduced size: every file written whole,
every number of the findings README taken from results.json; at full size (slow) the
estimators that should recover the simulated truth do, and the true W is chosen."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from analyses import learning_networks
from spillover import simulate
from tests.analyses._findings import numbers
from tests.analyses._latex import assert_tables_fit_the_page

N_FIRMS, N_YEARS = 120, 4
TABLES = ["social_capital", "flying_geese", "weights_comparison", "model_probabilities"]
FIGURES = ["network_map", "flying_geese"]
EXPECTED = (
    {f"{t}.{ext}" for t in TABLES for ext in ("tex", "md")}
    | {f"{f}.{ext}" for f in FIGURES for ext in ("pdf", "png")}
    | {"results.json", "README.md"}
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("learning_networks")
    return out, learning_networks.run(out, n_firms=N_FIRMS, n_years=N_YEARS)


@pytest.fixture(scope="module")
def results(run: tuple[Path, list[Path]]) -> dict[str, Any]:
    return json.loads((run[0] / "results.json").read_text())


def test_writes_every_file_whole(run: tuple[Path, list[Path]]) -> None:
    out, written = run
    assert {p.name for p in written} == EXPECTED
    assert all(p.parent == out and p.stat().st_size > 0 for p in written)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary leftovers
    for f in FIGURES:
        assert (out / f"{f}.pdf").read_bytes().startswith(b"%PDF")
        assert (out / f"{f}.png").read_bytes().startswith(b"\x89PNG")
    for t in TABLES:
        assert (out / f"{t}.tex").read_text().rstrip().endswith(r"\end{table}")


def test_results_are_consistent(results: dict[str, Any]) -> None:
    d = results["design"]
    assert (d["n_firms"], d["n_years"]) == (N_FIRMS, N_YEARS)
    assert sum(g["n"] for g in results["groups"].values()) == N_FIRMS
    assert d["mean_degree"] == pytest.approx(2 * d["n_ties"] / d["n_firms"])
    probs = results["model_choice"]["probabilities"]
    assert len(probs) == 9 and sum(probs.values()) == pytest.approx(1.0)
    assert sum(results["model_choice"]["weights_probability"].values()) == pytest.approx(1.0)
    geese = results["flying_geese"]["Low capability"]
    assert geese["ties_high"]["truth"] == 0.02 and geese["ties_low"]["truth"] == 0.0
    assert results["spatial"]["network"]["rho"]["truth"] == 0.4
    assert "truth" not in results["spatial"]["geographic"]["rho"]


def test_every_number_in_the_findings_comes_from_results(
    run: tuple[Path, list[Path]], results: dict[str, Any]
) -> None:
    text = (run[0] / "README.md").read_text()
    allowed = {f"{v:.{d}f}" for v in numbers(results) for d in range(5)}
    found = re.findall(r"-?\d+(?:\.\d+)?", text)
    assert len(found) > 40
    stray = [n for n in found if n not in allowed]
    assert not stray, stray
    # the README is a pure function of results.json: rebuilt from it, it is the same text
    assert learning_networks.findings(results) == text


def test_tie_counts_are_checked_against_the_simulator() -> None:
    sim = simulate.learning_network(40, 2, seed=3)
    net = sim.network()
    table = learning_networks.firm_table(sim, net, seed=0)
    assert (table["degree"] == table["ties_high"] + table["ties_low"]).all()
    firms = sim.firms.assign(ties_high=sim.firms["ties_high"] + 1)
    wrong = simulate.SimulatedLearningNetwork(
        sim.panel, firms, sim.edges, sim.tech_shares, sim.regions, sim.truth
    )
    with pytest.raises(AssertionError, match="ties_high"):
        learning_networks.firm_table(wrong, net, seed=0)


@pytest.mark.slow
def test_full_study_recovers_the_truth(tmp_path: Path) -> None:
    learning_networks.main(tmp_path)
    r = json.loads((tmp_path / "results.json").read_text())
    # Flying geese: growth is an exact linear model of the tie counts with iid noise, so
    # OLS is unbiased with valid robust SEs; |z| < 4 fails by chance w.p. ~6e-5 each.
    for group in r["flying_geese"].values():
        for c in group.values():
            assert abs(c["z"]) < 4, c
    assert r["flying_geese"]["Low capability"]["ties_high"]["pvalue"] < 0.001
    # SDM with the true (network) W by ML: consistent; |z| < 4 as above.
    for c in (r["spatial"]["network"][k] for k in ("x", "W_x", "rho")):
        assert abs(c["z"]) < 4, c
    # The misspecified W fit worse and the Bayesian comparison picks the truth.
    ll = {w: s["loglik"] for w, s in r["spatial"].items()}
    assert ll["network"] > max(ll["geographic"], ll["technological"])
    mc = r["model_choice"]
    assert (mc["best_weights"], mc["best_family"]) == ("network", "sdm")
    assert mc["weights_probability"]["network"] > 0.99
    # Capability draws ties: high-capability firms dominate the core.
    assert r["core"]["percent_high_in_core"] > r["core"]["percent_high_in_periphery"]
    high = r["social_capital"]["Ties"]["high"]
    assert high["estimate"] > 0 and high["pvalue"] < 0.001
    assert np.isfinite(r["core"]["correlation"])


def test_tables_fit_the_page(run: tuple[Path, list[Path]], tmp_path: Path) -> None:
    assert_tables_fit_the_page([run[0] / f"{t}.tex" for t in TABLES], tmp_path)
