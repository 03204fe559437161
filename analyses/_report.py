"""Compile every table and figure the analyses wrote into one PDF, and fail on a bad page.

``make report`` runs the analyses whose output folder is missing, writes
``analyses/output/report.tex`` (each analysis a section: its ``.tex`` tables, then its
``.pdf`` figures), compiles it with pdflatex into ``analyses/output/report.pdf`` and exits
with status 1 if the log reports an overfull box or a float too large for the page (a
table wider than the 6.5 in text block of an article, or taller than the page), listing
them. Private module: ``run_all`` does not treat it as an analysis.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from analyses._common import OUTPUT
from spillover.report import latex_bad_boxes, latex_document, write_atomic


def _escape(text: str) -> str:
    return text.replace("_", r"\_")


def report_body(output: Path, names: list[str]) -> list[str]:
    """LaTeX for the tables (``\\input``) and figures (``\\includegraphics``) under ``output``,
    with paths relative to ``output``."""
    body = []
    for name in names:
        folder = output / name
        tables = sorted(folder.glob("*.tex"))
        figures = sorted(folder.glob("*.pdf"))
        if not tables and not figures:
            continue
        body.append(rf"\clearpage\section*{{{_escape(name)}}}")
        for path in tables:
            rel = path.relative_to(output).as_posix()
            body += [rf"\subsection*{{{_escape(path.name)}}}", rf"\input{{{rel}}}", r"\clearpage"]
        for path in figures:
            rel = path.relative_to(output).as_posix()
            body += [
                r"\begin{figure}[htbp]\centering",
                rf"\includegraphics[width=\linewidth,height=0.8\textheight,keepaspectratio]{{{rel}}}",
                rf"\par\small {_escape(path.name)}",
                r"\end{figure}",
            ]
    return body


def compile_report(output: Path, names: list[str]) -> tuple[Path, list[str]]:
    """Write and compile ``output/report.tex``; return the PDF and the bad-box lines."""
    if shutil.which("pdflatex") is None:
        raise RuntimeError("pdflatex is not installed (e.g. apt-get install texlive-latex-extra).")
    tex = output / "report.tex"
    write_atomic(tex, latex_document(report_body(output, names)))
    proc = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
        cwd=output,
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = (output / "report.log").read_text(errors="replace") if proc.returncode == 0 else ""
    if proc.returncode != 0:
        raise RuntimeError(f"pdflatex failed on {tex}:\n{proc.stdout[-3000:]}")
    return output / "report.pdf", latex_bad_boxes(log)


def main(argv: list[str]) -> int:
    from analyses import run_all

    names = argv or run_all.discover()
    missing = [n for n in names if not (OUTPUT / n).is_dir()]
    if missing:
        run_all.main(missing)
    pdf, bad = compile_report(OUTPUT, names)
    for line in bad:
        sys.stderr.write(line + "\n")
    sys.stdout.write(f"{pdf}: {len(bad)} overfull boxes or oversized floats\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
