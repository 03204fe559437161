"""Cell formatting, significance stars, escaping, and atomic file writes.

Formatting code formats; it never computes statistics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

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


class Latex(str):
    r"""Text that is already LaTeX: written as is in LaTeX output, never escaped.

    Labels, captions, notes and header cells are escaped by default, so ``"R&D_pool"``
    prints literally; wrap a string in ``Latex`` to keep its mathematics, e.g.
    ``rename={"rho": Latex(r"$\rho$")}``. Markdown writes it as is (GitHub renders
    ``$...$``); HTML escapes it and text shows the source.

    Examples
    --------
    >>> print(escape_latex(Latex("$x^2$")), escape_latex("$x^2$"))
    $x^2$ \$x\textasciicircum{}2\$
    """

    __slots__ = ()


def escape_latex(text: str) -> str:
    """Escape LaTeX's special characters so ``text`` prints literally (:class:`Latex` as is)."""
    if isinstance(text, Latex):
        return str(text)
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def escape_html(text: str) -> str:
    return "".join(_HTML_SPECIAL.get(ch, ch) for ch in str(text))


def escape_markdown(text: str) -> str:
    if isinstance(text, Latex):
        return str(text)
    return "".join(_MARKDOWN_SPECIAL.get(ch, ch) for ch in str(text))


SIGNIFICANT = 2
"""Significant digits a nonzero number that would print as zero keeps (see :func:`number`)."""

MAX_DECIMALS = 9
"""Most decimals fixed point uses; a nonzero value needing more prints as a power of ten."""

MAX_MAGNITUDE = 1e9
"""Values whose rounded magnitude reaches this print as a power of ten."""


MINUS = "\u2212"
"""The minus sign (U+2212) that text, Markdown and HTML tables print instead of a hyphen."""


@dataclass(frozen=True)
class Number:
    """A formatted number that each renderer writes in its own notation.

    ``mantissa`` is the digits as printed (fixed point, possibly with thousands separators,
    an ASCII hyphen for a negative value); ``exponent`` is ``None`` for fixed point, else
    the power of ten the mantissa multiplies. :meth:`plain` is the ASCII form
    (``-1.2e-09``, as Python and Stata print); the table renderers use a true minus sign:
    :meth:`text` (U+2212, text and Markdown), :meth:`latex` (``$-$``, the power of ten in
    math mode) and :meth:`html` (U+2212, ``&times;10<sup>k</sup>``).
    """

    mantissa: str
    exponent: int | None = None

    def plain(self) -> str:
        """ASCII form: fixed point, or Python/Stata ``e`` notation (``1.2e-09``)."""
        if self.exponent is None:
            return self.mantissa
        return f"{self.mantissa}e{self.exponent:+03d}"

    def text(self) -> str:
        """Text and Markdown form: :meth:`plain` with a true minus sign (U+2212)."""
        if self.exponent is None:
            return _minus(self.mantissa, MINUS)
        sign = MINUS if self.exponent < 0 else "+"
        return f"{_minus(self.mantissa, MINUS)}e{sign}{abs(self.exponent):02d}"

    def latex(self) -> str:
        """LaTeX form: ``$-$0.123``, ``1.2${}\\times10^{-9}$``.

        The minus sign is math mode's (a hyphen in text mode is too short); the power of
        ten is in math mode so the table compiles (``{}`` gives the times sign its
        binary-operator spacing).
        """
        mantissa = _minus(self.mantissa, "$-$")
        if self.exponent is None:
            return mantissa
        return f"{mantissa}${{}}\\times10^{{{self.exponent}}}$"

    def html(self) -> str:
        """HTML form, U+2212 for minus; a power of ten as ``&times;10<sup>k</sup>``."""
        mantissa = _minus(self.mantissa, MINUS)
        if self.exponent is None:
            return mantissa
        return f"{mantissa}&times;10<sup>{_minus(str(self.exponent), MINUS)}</sup>"

    def __str__(self) -> str:
        return self.plain()


def _minus(digits: str, sign: str) -> str:
    return sign + digits[1:] if digits.startswith("-") else digits


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
    >>> number(3.1e-10).latex(), number(-0.5).latex(), number(-0.5).text() == "\\u22120.500"
    ('3.1${}\\\\times10^{-10}$', '$-$0.500', True)
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


def pvalue(p: float | None, digits: int = 3) -> tuple[str | Number, ...]:
    """Parts of a p-value cell as journals print it: ``digits`` decimals, and below
    ``10**-digits`` the bound ``< 0.001`` (never ``0.000`` or ``1.2e-253``).

    Returns the parts for :meth:`Cell.of <spillover.report._table.Cell.of>` (the bound is
    text, its number a :class:`Number`); ``()`` for a missing p-value.

    Examples
    --------
    >>> ["".join(map(str, pvalue(p))) for p in (0.04321, 0.0004, 1.2e-253, 0.0, 1.0)]
    ['0.043', '< 0.001', '< 0.001', '< 0.001', '1.000']
    """
    if p is None or math.isnan(float(p)):
        return ()
    floor = 10.0**-digits
    if float(p) < floor:
        return ("< ", Number(f"{floor:.{digits}f}"))
    return (Number(f"{float(p):.{digits}f}"),)


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
