"""Render the tables shown in README.md from the LaTeX the analyses write.

``docs/images/spatial_table.png`` and ``docs/images/effects_table.png`` are the US states
study's spatial-model table and effects table (``analyses/output/us_states_spatial/``),
each compiled by pdflatex in an article with the package's preamble, rasterised by
pdftoppm (poppler) and cropped to the ink. Needs pdflatex and pdftoppm (Debian's texlive
and poppler-utils); ``make readme-images`` runs it after ``make analyses``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from analyses._common import OUTPUT, REPOSITORY
from spillover.report import latex_document

IMAGES = REPOSITORY / "docs" / "images"
TABLES = {
    "spatial_table": OUTPUT / "us_states_spatial" / "spatial.tex",
    "effects_table": OUTPUT / "us_states_spatial" / "effects.tex",
}
DPI = 200
MARGIN = 12  # pixels of white kept around the cropped table


def render(source: Path, target: Path) -> Path:
    """Compile the table in ``source`` and write its cropped PNG to ``target``."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        body = [r"\pagestyle{empty}", source.read_text()]
        (work / "t.tex").write_text(latex_document(body))
        run = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
            cwd=work, capture_output=True, text=True, check=False,
        )
        if run.returncode != 0:
            raise RuntimeError(f"pdflatex failed on {source}:\n{run.stdout[-2000:]}")
        subprocess.run(
            ["pdftoppm", "-png", "-r", str(DPI), "-singlefile", "t.pdf", "t"],
            cwd=work, check=True,
        )
        page = Image.open(work / "t.png").convert("L")
        ink = np.argwhere(np.asarray(page) < 250)
        (top, left), (bottom, right) = ink.min(axis=0), ink.max(axis=0)
        box = (
            max(left - MARGIN, 0), max(top - MARGIN, 0),
            min(right + MARGIN, page.width), min(bottom + MARGIN, page.height),
        )
        tmp_png = target.with_suffix(".png.tmp")
        page.crop(box).save(tmp_png, format="PNG", optimize=True)
        tmp_png.replace(target)
    return target


def main() -> int:
    for tool in ("pdflatex", "pdftoppm"):
        if shutil.which(tool) is None:
            sys.stderr.write(f"{tool} not found: install Debian's texlive and poppler-utils\n")
            return 1
    missing = [str(p.relative_to(REPOSITORY)) for p in TABLES.values() if not p.exists()]
    if missing:
        sys.stderr.write("run `make analyses` first; missing: " + ", ".join(missing) + "\n")
        return 1
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name, source in TABLES.items():
        path = render(source, IMAGES / f"{name}.png")
        sys.stdout.write(f"{path.relative_to(REPOSITORY)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
