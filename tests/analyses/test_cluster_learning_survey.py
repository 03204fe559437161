"""The cluster-learning survey study end to end, at a reduced size: every file written
whole, every number of the findings README taken from results.json, the nulls reported."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from analyses import cluster_learning_survey
from tests.analyses._findings import numbers
from tests.analyses._latex import assert_tables_fit_the_page

N_FIRMS, BOOTSTRAP = 150, 100

TABLES = ["cfa_fit", "validity", "efa_loadings", "correlations"] + [
    f"mediation_{f}" for f in ("environment", "structure", "behaviour")
]
EXPECTED = (
    {f"{t}.{ext}" for t in TABLES for ext in ("tex", "md")}
    | {f"{f}.{ext}" for f in ("path_structure", "scree") for ext in ("pdf", "png")}
    | {"results.json", "README.md"}
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("cluster_learning_survey")
    return out, cluster_learning_survey.run(out, n_firms=N_FIRMS, bootstrap=BOOTSTRAP)


@pytest.fixture(scope="module")
def results(run: tuple[Path, list[Path]]) -> dict[str, Any]:
    return json.loads((run[0] / "results.json").read_text())


def test_writes_every_file_whole(run: tuple[Path, list[Path]]) -> None:
    out, written = run
    assert {p.name for p in written} == EXPECTED
    assert all(p.parent == out and p.stat().st_size > 0 for p in written)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary leftovers
    assert (out / "path_structure.pdf").read_bytes().startswith(b"%PDF")
    assert (out / "scree.png").read_bytes().startswith(b"\x89PNG")
    for t in TABLES:
        assert (out / f"{t}.tex").read_text().rstrip().endswith(r"\end{table}")


def test_results_hold_every_indirect_effect(results: dict[str, Any]) -> None:
    assert results["design"]["n_firms"] == N_FIRMS
    assert results["design"]["bootstrap"] == BOOTSTRAP
    pairs = {(e["factor"], e["mediator"]) for e in results["indirect"]}
    assert len(pairs) == 9
    for e in results["indirect"]:
        assert e["lower"] <= e["estimate"] <= e["upper"]
        assert e["covers_truth"] == (e["lower"] <= e["truth"] <= e["upper"])
        assert e["excludes_zero"] == (e["lower"] > 0 or e["upper"] < 0)
    assert {"cfi", "tli", "rmsea", "srmr"} <= set(results["cfa_fit"])
    assert len(results["reliability"]) == 7


def test_every_number_in_the_findings_comes_from_results(
    run: tuple[Path, list[Path]], results: dict[str, Any]
) -> None:
    text = (run[0] / "README.md").read_text()
    allowed = {f"{v:.{d}f}" for v in numbers(results) for d in range(4)}
    found = re.findall(r"-?\d+(?:\.\d+)?", text)
    assert len(found) > 50
    stray = [n for n in found if n not in allowed]
    assert not stray, stray
    # the README is a pure function of results.json: rebuilt from it, it is the same text
    assert cluster_learning_survey.findings(results) == text


def test_truly_zero_paths_are_reported_with_their_truth(
    run: tuple[Path, list[Path]], results: dict[str, Any]
) -> None:
    nulls = [e for e in results["indirect"] if e["truth"] == 0]
    assert {(e["factor"], e["mediator"]) for e in nulls} == {
        ("structure", "transformation"),
        ("structure", "harvest"),
    }
    text = (run[0] / "README.md").read_text()
    for e in nulls:
        shown = f"{e['mediator']} ({e['estimate']:.3f} [{e['lower']:.3f}, {e['upper']:.3f}], "
        assert shown + "truth 0.000)" in text
        row = f"| structure | {e['mediator']} | {e['estimate']:.3f} | "
        assert row in text and f"[{e['lower']:.3f}, {e['upper']:.3f}] | 0.000 |" in text
    assert "are truly zero" in text
    assert results["coverage"]["true_nulls"] == 2


def test_tables_fit_the_page(run: tuple[Path, list[Path]], tmp_path: Path) -> None:
    assert_tables_fit_the_page([p for p in run[1] if p.suffix == ".tex"], tmp_path)
