"""Cell formatting, significance stars, escaping, and atomic file writes.

Formatting code formats; it never computes statistics.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}

_HTML_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}

_MARKDOWN_SPECIAL = {"|": r"\|", "*": r"\*", "_": r"\_"}


def escape_latex(text: str) -> str:
    """Escape LaTeX's special characters so ``text`` prints literally."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def escape_html(text: str) -> str:
    return "".join(_HTML_SPECIAL.get(ch, ch) for ch in str(text))


def escape_markdown(text: str) -> str:
    return "".join(_MARKDOWN_SPECIAL.get(ch, ch) for ch in str(text))


def format_number(value: float, digits: int = 3) -> str:
    """Fixed-point with ``digits`` decimals; scientific for very large or small magnitudes.

    Negative zero prints as zero; NaN prints as an empty cell.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    v = float(value)
    if v != 0 and (abs(v) >= 10 ** (9 - digits) or abs(v) < 10 ** (-digits) / 2):
        return f"{v:.{max(digits - 1, 1)}e}"
    text = f"{v:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def format_count(value: int) -> str:
    """Integer with thousands separators, e.g. ``12,345``."""
    return f"{int(value):,}"


def stars(pvalue: float, thresholds: Sequence[float]) -> str:
    """One star per threshold that ``pvalue`` falls below (thresholds any order)."""
    if pvalue is None or math.isnan(pvalue):
        return ""
    return "*" * sum(pvalue < t for t in thresholds)


def star_note(thresholds: Sequence[float]) -> str:
    """Plain-text legend, e.g. ``* p<0.1, ** p<0.05, *** p<0.01``."""
    ordered = sorted(thresholds, reverse=True)
    return ", ".join(f"{'*' * (i + 1)} p<{t:g}" for i, t in enumerate(ordered))


def write_atomic(path: str | Path, text: str | bytes) -> Path:
    """Write ``text`` to ``path`` whole or not at all (temp file in the same folder, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8") if isinstance(text, str) else text
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
