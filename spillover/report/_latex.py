"""LaTeX rendering of a :class:`~spillover.report._table.Table`, and the page it must fit.

booktabs rules, stars as ``\\sym{...}``, notes in a ``threeparttable``; the options choose
how a wide or long table meets the text block: at its natural width (the default, which
the table builders keep narrow with compact labels and notes), scaled to the line width
(``width="resize"``), in columns whose text wraps (``width="tabularx"``), turned on a
landscape page (``landscape=True``), or broken across pages (``longtable=True``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from spillover.report._format import Number, escape_latex

Width = Literal["natural", "resize", "tabularx"]

PREAMBLE = r"""\usepackage[T1]{fontenc}
\usepackage{lmodern}
\usepackage[letterpaper,margin=1in]{geometry}
\usepackage{booktabs}
\usepackage{threeparttable}
\usepackage{siunitx}
\usepackage{graphicx}
\usepackage{tabularx}
\usepackage{longtable}
\usepackage{pdflscape}
\providecommand{\sym}[1]{\ensuremath{^{#1}}}
"""
"""Packages every option of :meth:`Table.to_latex` needs, and an article page whose text
block is 6.5 in wide (US letter, 1 in margins), the width the tables are built to fit."""


def document(bodies: Iterable[str], *, preamble: str = PREAMBLE) -> str:
    r"""A complete ``article`` with ``bodies`` (table or ``\includegraphics`` code) in order.

    Examples
    --------
    >>> text = document([r"\section*{A}"])
    >>> text.startswith(r"\documentclass{article}") and text.rstrip().endswith(r"\end{document}")
    True
    """
    parts = [r"\documentclass{article}", preamble, r"\begin{document}", *bodies, r"\end{document}"]
    return "\n".join(parts) + "\n"


def render(
    table: Any,
    *,
    threeparttable: bool = True,
    siunitx: bool = False,
    float_env: bool = True,
    placement: str = "htbp",
    font_size: str | None = None,
    width: Width = "natural",
    landscape: bool = False,
    longtable: bool = False,
) -> str:
    """LaTeX code of ``table``; see :meth:`spillover.report._table.Table.to_latex`."""
    if width not in ("natural", "resize", "tabularx"):
        raise ValueError(f"width must be 'natural', 'resize' or 'tabularx'; got {width!r}.")
    if longtable:
        body = _longtable(table, siunitx, font_size)
    else:
        body = _floating(table, threeparttable, siunitx, float_env, placement, font_size, width)
    if landscape:
        body = "\\begin{landscape}\n" + body + "\\end{landscape}\n"
    return body


def _coltype(table: Any, siunitx: bool) -> str:
    if siunitx:
        return "S[table-format=-1.3, table-space-text-post={***}]"
    return table.align


def _floating(table, threeparttable, siunitx, float_env, placement, font_size, width) -> str:
    ncol = table.n_columns
    lines: list[str] = []
    if float_env:
        lines += [rf"\begin{{table}}[{placement}]", r"\centering"]
        if font_size:
            lines.append(f"\\{font_size}")
        if table.caption:
            lines.append(rf"\caption{{{escape_latex(table.caption)}}}")
        if table.label:
            lines.append(rf"\label{{{table.label}}}")
    lines.append(r"\providecommand{\sym}[1]{\ensuremath{^{#1}}}")
    if width == "resize":
        lines.append(r"\resizebox{\linewidth}{!}{%")
    if threeparttable:
        lines.append(r"\begin{threeparttable}")
    coltype = _coltype(table, siunitx)
    if width == "tabularx":
        if not siunitx:  # data columns share the width and wrap their headers
            coltype = r">{\centering\arraybackslash}X"
        spec = rf">{{\raggedright\arraybackslash}}X*{{{ncol}}}{{{coltype}}}"
        lines.append(rf"\begin{{tabularx}}{{\linewidth}}{{{spec}}}")
    else:
        lines.append(rf"\begin{{tabular}}{{l*{{{ncol}}}{{{coltype}}}}}")
    lines.append(r"\toprule")
    lines += _header_lines(table, siunitx)
    lines += _body_lines(table, siunitx)
    lines.append(r"\bottomrule")
    lines.append(r"\end{tabularx}" if width == "tabularx" else r"\end{tabular}")
    if table.notes:
        if threeparttable:
            lines += [r"\begin{tablenotes}[flushleft]", r"\footnotesize"]
            lines += [rf"\item {escape_latex(n)}" for n in table.notes]
            lines.append(r"\end{tablenotes}")
        else:
            lines += [rf"\par\footnotesize {escape_latex(n)}" for n in table.notes]
    if threeparttable:
        lines.append(r"\end{threeparttable}")
    if width == "resize":
        lines.append("}")
    if float_env:
        lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def _longtable(table: Any, siunitx: bool, font_size: str | None) -> str:
    """A ``longtable``: breaks across pages, repeating the header; notes below the table."""
    ncol = table.n_columns
    lines = [r"\providecommand{\sym}[1]{\ensuremath{^{#1}}}", r"\begingroup"]
    if font_size:
        lines.append(f"\\{font_size}")
    lines.append(rf"\begin{{longtable}}{{l*{{{ncol}}}{{{_coltype(table, siunitx)}}}}}")
    if table.caption:
        label = rf"\label{{{table.label}}}" if table.label else ""
        lines.append(rf"\caption{{{escape_latex(table.caption)}}}{label} \\")
    head = [r"\toprule", *_header_lines(table, siunitx), r"\midrule"]
    lines += [*head, r"\endfirsthead"]
    more = rf"\multicolumn{{{ncol + 1}}}{{l}}{{\textit{{(continued)}}}} \\"
    lines += [more, *head, r"\endhead"]
    lines += [r"\midrule", rf"\multicolumn{{{ncol + 1}}}{{r}}{{\textit{{(continues)}}}} \\"]
    lines += [r"\endfoot", r"\bottomrule", r"\endlastfoot"]
    body = _body_lines(table, siunitx)
    lines += body[1:] if body and body[0] == r"\midrule" else body
    lines.append(r"\end{longtable}")
    # notes as paragraphs after the table (a note row would widen it to the text block)
    lines += [rf"{{\footnotesize {escape_latex(n)}\par}}" for n in table.notes]
    lines.append(r"\endgroup")
    return "\n".join(lines) + "\n"


def _header_lines(table: Any, siunitx: bool) -> list[str]:
    lines = []
    for hrow in table.header:
        cells = [escape_latex(table.stub) if hrow is table.header[-1] else ""]
        rules, col = [], 2
        for text, span in hrow:
            label = escape_latex(text)
            if span > 1 or siunitx:
                cells.append(rf"\multicolumn{{{span}}}{{c}}{{{label}}}")
            else:
                cells.append(label)
            if span > 1 and text:
                rules.append(rf"\cmidrule(lr){{{col}-{col + span - 1}}}")
            col += span
        lines.append(" & ".join(cells) + r" \\")
        if rules:
            lines.append(" ".join(rules))
    return lines


def _body_lines(table: Any, siunitx: bool) -> list[str]:
    lines = []
    ncol = table.n_columns
    for section in table.sections:
        lines.append(r"\midrule")
        if section.title:
            title = escape_latex(section.title)
            lines.append(rf"\multicolumn{{{ncol + 1}}}{{l}}{{\textit{{{title}}}}} \\")
        for row in section.rows:
            cells = [escape_latex(row.label)] + [latex_cell(c, siunitx) for c in row.cells]
            lines.append(" & ".join(cells) + r" \\")
    return lines


def latex_cell(cell: Any, siunitx: bool) -> str:
    """A cell's LaTeX: numbers with ``$-$`` and math powers; in an S column a plain decimal
    stays bare (siunitx typesets its sign) and anything else is braced as text."""
    sup = rf"\sym{{{cell.sup}}}" if cell.sup else ""
    if sup and cell.ends_in_power:
        sup = r"\," + sup  # keep the stars apart from the exponent
    if siunitx and _SIUNITX_NUMBER.fullmatch(cell.text):
        return cell.text + sup
    text = cell.render(escape_latex, Number.latex)
    if siunitx:
        return f"{{{text}{sup}}}" if text or sup else ""
    return text + sup


# What an siunitx S column may parse: a plain decimal. Anything else (brackets, a thousands
# comma, which siunitx would read as a decimal marker, a power of ten) is braced as text.
_SIUNITX_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


# ---------------------------------------------------------------------- checking the page
_BAD_BOX = re.compile(r"^(Overfull \\[hv]box .*|LaTeX Warning: Float too large.*)$", re.M)


def bad_boxes(log: str) -> list[str]:
    """Lines of a pdflatex log reporting overfull boxes or floats too large for the page.

    Examples
    --------
    >>> bad_boxes("x\\nOverfull \\\\hbox (197.0pt too wide) in alignment at lines 3--40\\ny")
    ['Overfull \\\\hbox (197.0pt too wide) in alignment at lines 3--40']
    """
    return _BAD_BOX.findall(log)


def split_rows(table: Any, max_rows: int) -> Sequence[Any]:
    """``table`` cut into consecutive tables of at most ``max_rows`` body rows, each with the
    full header; the notes go under the last and the captions say "(continued)"."""
    from dataclasses import replace

    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1; got {max_rows}.")
    chunks: list[list[Any]] = [[]]
    count = 0
    for section in table.sections:
        rows = list(section.rows)
        title = section.title
        while rows:
            room = max_rows - count
            if room <= 0:
                chunks.append([])
                count, room = 0, max_rows
            take = rows[:room]
            # keep an estimate with the statistic beneath it
            if len(take) < len(rows) and rows[len(take)].label == "" and take[-1].label:
                if len(take) > 1:
                    take = take[:-1]
                elif count > 0:
                    count = max_rows  # start the next table with the estimate
                    continue
            rows = rows[len(take) :]
            chunks[-1].append(replace(section, rows=tuple(take), title=title))
            title = None
            count += len(take)
    parts = []
    for i, sections in enumerate(chunks):
        last = i == len(chunks) - 1
        caption = table.caption
        if caption and i:
            caption = type(caption)(f"{caption} (continued)")
        parts.append(
            replace(
                table,
                sections=tuple(sections),
                notes=table.notes if last else (),
                caption=caption,
                label=table.label if i == 0 else None,
            )
        )
    return parts
