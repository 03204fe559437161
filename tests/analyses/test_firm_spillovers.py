"""The firm spillover study end to end, at a reduced size: files, LaTeX, recovery of the truth."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import warnings
from pathlib import Path

import pandas as pd
import pytest

from analyses import firm_spillovers
from spillover import simulate
from spillover.errors import DroppedRowsWarning
from spillover.report import latex_bad_boxes, latex_document

N_FIRMS, N_YEARS = 3_000, 6

EXPECTED = {
    "regression.tex",
    "regression.md",
    "standard_errors.tex",
    "standard_errors.md",
    "coef_plot.pdf",
    "coef_plot.png",
    "distance_decay.pdf",
    "distance_decay.png",
    "diagnostics.tex",
    "diagnostics.md",
    "estimates.csv",
    "notes.md",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("firm_spillovers")
    with warnings.catch_warnings():
        # At this size a few state x year cells hold one firm; HDFE drops those singletons
        # with a warning (at the full size there are none).
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return out, firm_spillovers.main(out, n_firms=N_FIRMS, n_years=N_YEARS)


def test_writes_every_file(run: tuple[Path, list[Path]]) -> None:
    out, written = run
    assert {p.name for p in written} == EXPECTED
    assert all(p.parent == out and p.stat().st_size > 0 for p in written)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary leftovers
    assert f"{N_FIRMS:,} firms x {N_YEARS} years" in (out / "notes.md").read_text()


def test_wage_elasticities_recover_the_truth(run: tuple[Path, list[Path]]) -> None:
    # Both FE estimators are consistent under the simulated process (firm effects correlate
    # with R&D, state x year shocks are independent of the pools), and Conley SEs cover the
    # spatially correlated state x year shocks: |estimate - truth| < 4 SE fails by chance
    # with probability ~6e-5 per coefficient, so a failure means a real bias.
    est = pd.read_csv(run[0] / "estimates.csv")
    wage = est[
        (est.outcome == "wage") & est.specification.isin(["Two-way FE", "+ state x year FE"])
    ]
    assert len(wage) == 4
    assert set(wage.truth) == {0.04, 0.02}  # FirmTruth defaults: geo 0.04, tech 0.02
    z = (wage.estimate - wage.truth) / wage.std_error
    assert (z.abs() < 4).all(), wage.assign(z=z)
    assert wage.covariance.str.startswith("Conley (100 km").all()


def test_tables_compile_with_pdflatex(run: tuple[Path, list[Path]], tmp_path: Path) -> None:
    """The tables compile on an article page (6.5 in text block) with no overfull box and
    no float taller than the page."""
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    out = run[0]
    body = [rf"\input{{{out / n}}}" for n in sorted(EXPECTED) if n.endswith(".tex")]
    doc = tmp_path / "doc.tex"
    doc.write_text(latex_document(body))
    proc = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 0
    assert latex_bad_boxes((tmp_path / "doc.log").read_text(errors="replace")) == []


def test_rebuilt_pools_are_checked_against_the_simulator() -> None:
    sim = simulate.firms(400, 3, seed=5)
    panel = firm_spillovers.build_pools(sim)
    assert {"rd_stock", "geo_pool", "tech_pool", "band_0_5", "band_15_30"} <= set(panel.columns)
    # A user who got the decay bandwidth wrong must be stopped, with the pool named.
    wrong = dataclasses.replace(sim, bandwidth_km=4.0)
    with pytest.raises(AssertionError, match="geo_pool"):
        firm_spillovers.build_pools(wrong)
