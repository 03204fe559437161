"""The US income convergence study end to end with few permutations: every file written
whole, the estimates consistent, every number of the findings README taken from
results.json."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from analyses import us_income_convergence
from tests.analyses._findings import numbers
from tests.analyses._latex import assert_tables_fit_the_page

PERMUTATIONS = 49

TABLES = ["cross_section", "panel", "diagnostics"]
FIGURES = ["moran_over_time", "sigma_over_time", "lisa_2009"]
EXPECTED = (
    {f"{t}.{ext}" for t in TABLES for ext in ("tex", "md")}
    | {f"{f}.{ext}" for f in FIGURES for ext in ("pdf", "png")}
    | {"moran_sigma.csv", "results.json", "README.md"}
)
CITATION = "Rey and Montouri (1999)"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("us_income_convergence")
    return out, us_income_convergence.run(out, permutations=PERMUTATIONS)


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
    assert len((out / "moran_sigma.csv").read_text().splitlines()) == 1 + 81


def test_results_are_consistent(results: dict[str, Any]) -> None:
    d = results["design"]
    assert (d["n_states"], d["first_year"], d["last_year"], d["n_years"]) == (48, 1929, 2009, 81)
    assert d["permutations"] == PERMUTATIONS
    assert len(results["moran"]["by_year"]) == 81
    assert results["moran"]["expected"] == pytest.approx(-1 / 47)
    for row in results["moran"]["by_year"].values():
        assert 1 / (PERMUTATIONS + 1) <= row["p_sim"] <= 1
    assert sum(results["lisa_last"].values()) == 48
    assert results["sigma"]["last"] < results["sigma"]["first"]  # sigma-convergence
    for group, horizon in (("cross_section", d["horizon_years"]), ("panel", d["spell_years"])):
        for m in results[group].values():
            b = m["beta"]["estimate"]
            assert b < 0  # beta-convergence in every specification
            speed = m["speed_percent"] / 100
            assert -(1 - math.exp(-speed * horizon)) / horizon == pytest.approx(b)
            assert m["half_life_years"] == pytest.approx(math.log(2) / speed)
    assert "rho" in results["cross_section"]["Spatial lag"]
    assert "lambda" in results["cross_section"]["Spatial error"]
    assert set(results["lm_tests"]) == {"lag", "error", "robust_lag", "robust_error", "sarma"}


def test_every_number_in_the_findings_comes_from_results(
    run: tuple[Path, list[Path]], results: dict[str, Any]
) -> None:
    text = (run[0] / "README.md").read_text()
    allowed = {f"{v:.{d}f}" for v in numbers(results) for d in range(5)}
    assert text.count(CITATION) == 1
    found = re.findall(r"-?\d+(?:\.\d+)?", text.replace(CITATION, ""))
    assert len(found) > 40
    stray = [n for n in found if n not in allowed]
    assert not stray, stray
    # the README is a pure function of results.json: rebuilt from it, it is the same text
    assert us_income_convergence.findings(results) == text


def test_tables_fit_the_page(run: tuple[Path, list[Path]], tmp_path: Path) -> None:
    assert_tables_fit_the_page([p for p in run[1] if p.suffix == ".tex"], tmp_path)
