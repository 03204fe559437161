"""Compile an analysis' tables on an article page and read the log for bad boxes."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

from spillover.report import latex_bad_boxes, latex_document


def assert_tables_fit_the_page(tables: Iterable[Path], tmp_path: Path) -> None:
    """``tables`` (.tex) compile in one article (6.5 in text block, US letter) with no
    overfull box and no float taller than the page; skipped without pdflatex."""
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    body = [rf"\input{{{p}}}" + "\n\\clearpage" for p in sorted(tables)]
    assert body, "no .tex tables to compile"
    (tmp_path / "doc.tex").write_text(latex_document(body))
    proc = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert latex_bad_boxes(log) == []
