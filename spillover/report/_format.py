"""Cell formatting, significance stars, escaping, and atomic file writes.

Formatting code formats; it never computes statistics.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
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


SIGNIFICANT = 2
"""Significant digits a nonzero number that would print as zero keeps (see :func:`number`)."""

MAX_DECIMALS = 9
"""Most decimals fixed point uses; a nonzero value needing more prints as a power of ten."""

MAX_MAGNITUDE = 1e9
"""Values whose rounded magnitude reaches this print as a power of ten."""


@dataclass(frozen=True)
class Number:
    """A formatted number that each renderer writes in its own notation.

    ``mantissa`` is the digits as printed (fixed point, possibly with thousands separators);
    ``exponent`` is ``None`` for fixed point, else the power of ten the mantissa multiplies.
    Fixed point reads the same everywhere; a power of ten is ``1.2e-09`` in text and
    Markdown, ``1.2${}\\times10^{-9}$`` in LaTeX (the power in math mode) and
    ``1.2&times;10<sup>-9</sup>`` in HTML.
    """

    mantissa: str
    exponent: int | None = None

    def plain(self) -> str:
        """Text and Markdown form: fixed point, or Python/Stata ``e`` notation (``1.2e-09``)."""
        if self.exponent is None:
            return self.mantissa
        return f"{self.mantissa}e{self.exponent:+03d}"

    def latex(self) -> str:
        """LaTeX form: ``1.2${}\\times10^{-9}$``.

        The power of ten is in math mode so the table compiles (``{}`` gives the times sign
        its binary-operator spacing); the signed mantissa stays in text mode, so its digits and
        hyphen minus match the fixed-point cells beside it.
        """
        if self.exponent is None:
            return self.mantissa
        return f"{self.mantissa}${{}}\\times10^{{{self.exponent}}}$"

    def html(self) -> str:
        """HTML form; a power of ten as ``&times;10<sup>k</sup>``."""
        if self.exponent is None:
            return self.mantissa
        return f"{self.mantissa}&times;10<sup>{self.exponent}</sup>"

    def __str__(self) -> str:
        return self.plain()


def number(value: float | None, digits: int = 3, *, significant: int = SIGNIFICANT) -> Number:
    """Format ``value`` for a publication table: fixed point that never hides a small number.

    Parameters
    ----------
    value : float or None
        The number; ``None`` and NaN give an empty cell.
    digits : int, default 3
        Decimals shown for ordinary values (the table's precision).
    significant : int, default 2
        Significant digits shown for a nonzero value that ``digits`` decimals would round
        to zero.

    Returns
    -------
    Number
        Render with :meth:`Number.plain`, :meth:`Number.latex` or :meth:`Number.html`.

    Notes
    -----
    The rule, for ``a = |value|``:

    1. ``None``/NaN: empty. Zero, including negative zero: ``digits`` zeros after the point
       (``0.000``). Infinities: ``inf`` / ``-inf``.
    2. Decimals ``d = digits`` if ``value`` rounded to ``digits`` decimals is nonzero
       (``a >= 0.0005`` for ``digits=3``): 0.12345 -> ``0.123``, 0.0025 -> ``0.003``, as a
       fixed ``%.3f``. Otherwise, ``d = significant - 1 - e``, where ``e`` is the power of ten
       of ``a`` rounded to ``significant`` significant digits, so the value shows
       ``significant`` significant digits instead of ``0.000``: 0.00031 -> ``0.00031``,
       -0.000049 -> ``-0.000049``, 0.000099996 -> ``0.00010``.
    3. If ``d <= 9`` (``MAX_DECIMALS``) and ``value`` rounded to ``d`` decimals is below
       1e9 (``MAX_MAGNITUDE``) in magnitude: fixed point with ``d`` decimals and a comma
       between thousands of the integer part (12345.6789 -> ``12,345.679``, as Stata's
       ``%fc`` and :func:`format_count`).
    4. Otherwise a power of ten, which :class:`Number` writes per format: ``significant``
       significant digits below 1 (3.1e-10 -> ``3.1e-10``), ``digits + 1`` from 1e9 up
       (1234567890 -> ``1.235e+09``). With the defaults this happens for nonzero
       ``a < 1e-8`` (rounded) and ``a >= 1e9``.

    The limits are those of Stata esttab's adaptive ``a#`` format (at most nine decimals and
    nine integer digits before it switches to exponent form), and like ``a#`` a small number
    keeps its significant digits; unlike ``a#``, every value that does not round to zero
    keeps exactly ``digits`` decimals, so a column of estimates reads like a fixed ``%9.3f``
    column and integers are not shortened (2.0 -> ``2.000``).

    Examples
    --------
    >>> [str(number(v)) for v in (0.12345, -0.00031, 0.0, -0.0, 12345.6789, 3.1e-10)]
    ['0.123', '-0.00031', '0.000', '0.000', '12,345.679', '3.1e-10']
    >>> number(3.1e-10).latex()
    '3.1${}\\\\times10^{-10}$'
    """
    if value is None or math.isnan(float(value)):
        return Number("")
    v = float(value)
    if v == 0:
        return Number(f"{0.0:.{digits}f}")
    if math.isinf(v):
        return Number("inf" if v > 0 else "-inf")
    decimals = digits
    if round(v, digits) == 0:
        decimals = max(digits, significant - 1 - _exponent(v, significant))
    if decimals <= MAX_DECIMALS and abs(round(v, decimals)) < MAX_MAGNITUDE:
        return Number(f"{v:,.{decimals}f}")
    figures = significant if abs(v) < 1 else digits + 1
    mantissa, power = f"{v:.{max(figures - 1, 0)}e}".split("e")
    return Number(mantissa, int(power))


def _exponent(v: float, significant: int) -> int:
    """Power of ten of ``v`` after rounding to ``significant`` significant digits."""
    return int(f"{v:.{max(significant - 1, 0)}e}".split("e")[1])


def format_number(value: float | None, digits: int = 3) -> str:
    """Plain-text form of :func:`number` (``''`` for NaN, ``0.000`` for negative zero)."""
    return number(value, digits).plain()


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
