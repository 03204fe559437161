"""Tables that fit the page: the overfull-box check catches a table too wide or too tall
for an article's 6.5 in text block, and each layout option (resize, tabularx, landscape,
longtable, split) makes such a table fit. Compiled with pdflatex; skipped without it."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from spillover.report import latex_bad_boxes, latex_document, regression_table
from tests.report.conftest import make_results

needs_pdflatex = pytest.mark.skipif(
    shutil.which("pdflatex") is None, reason="pdflatex not installed"
)


def _wide(n: int = 8):
    """``n`` models with long names: far wider than 6.5 in at natural width."""
    fits = {
        f"Spatial Durbin, two-way effects {i}": make_results(
            {"x": 0.1 * i, "z": -0.2}, [0.05, 0.1], model="m", dependent="y"
        )
        for i in range(n)
    }
    return regression_table(fits)


def _long():
    """Sixty coefficients: taller than a page."""
    params = {f"x{i}": 0.01 * i for i in range(60)}
    return regression_table([make_results(params, [0.1] * 60, model="OLS", dependent="y")])


def _bad_boxes(tmp_path, *bodies: str) -> list[str]:
    (tmp_path / "doc.tex").write_text(latex_document(bodies))
    proc = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    return latex_bad_boxes((tmp_path / "doc.log").read_text(errors="replace"))


@needs_pdflatex
def test_the_check_catches_a_wide_and_a_long_table(tmp_path):
    wide = _bad_boxes(tmp_path, _wide().to_latex())
    assert wide and wide[0].startswith("Overfull \\hbox")
    long = _bad_boxes(tmp_path, _long().to_latex())
    assert long and "Float too large" in long[0]


@needs_pdflatex
@pytest.mark.parametrize("options", [{"width": "resize"}, {"landscape": True, "width": "resize"}])
def test_wide_table_options_fit(tmp_path, options):
    assert _bad_boxes(tmp_path, _wide().to_latex(**options)) == []


@needs_pdflatex
def test_tabularx_wraps_long_headers(tmp_path):
    table = _wide(5)  # about 750 pt at natural width; the headers wrap in X columns
    assert _bad_boxes(tmp_path, table.to_latex())
    assert _bad_boxes(tmp_path, table.to_latex(width="tabularx")) == []


@needs_pdflatex
def test_long_table_breaks_or_splits(tmp_path):
    table = _long()
    assert _bad_boxes(tmp_path, table.to_latex(longtable=True)) == []
    parts = table.split(max_rows=40)
    # 123 body rows (60 estimates, their SEs, 3 counts): four tables of at most 40
    assert len(parts) == 4 and all(sum(len(s.rows) for s in p.sections) <= 40 for p in parts)
    assert sum(len(r.rows) for p in parts for r in p.sections) == sum(
        len(s.rows) for s in table.sections
    )
    assert parts[-1].notes == table.notes and parts[0].notes == ()
    assert _bad_boxes(tmp_path, *(p.to_latex() for p in parts)) == []


def test_split_keeps_each_estimate_with_its_standard_error():
    for part in _long().split(max_rows=7):
        rows = [r for s in part.sections for r in s.rows]
        coef = [r for r in rows if r.label.startswith("x")]
        assert rows[0].label != ""  # never starts with an orphaned SE row
        assert all(rows[rows.index(r) + 1].label == "" for r in coef)
