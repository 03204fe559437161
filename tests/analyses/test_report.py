"""make report: one PDF of every table and figure, failing on a table that overflows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analyses import _report
from spillover.report import regression_table
from tests.report.conftest import make_results


def _table(n_models: int):
    fits = {
        f"Spatial Durbin, two-way effects {i}": make_results(
            {"x": 0.1}, [0.05], model="m", dependent="y"
        )
        for i in range(n_models)
    }
    return regression_table(fits)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_report_lists_what_overflows(tmp_path: Path) -> None:
    _table(2).write(tmp_path / "narrow" / "t.tex")
    _table(8).write(tmp_path / "wide" / "t.tex")
    pdf, bad = _report.compile_report(tmp_path, ["narrow"])
    assert pdf.stat().st_size > 0 and bad == []
    _, bad = _report.compile_report(tmp_path, ["narrow", "wide"])
    assert len(bad) == 1 and bad[0].startswith("Overfull \\hbox")
    body = "\n".join(_report.report_body(tmp_path, ["narrow", "wide", "absent"]))
    assert r"\input{narrow/t.tex}" in body and r"\input{wide/t.tex}" in body
    assert "absent" not in body
