"""A small table model and its renderers: LaTeX (booktabs), Markdown, HTML and plain text.

Builders (regression, effects, descriptive, diagnostics tables) produce a :class:`Table`
of already-formatted cells; renderers only lay them out, escape their text and write each
number part in the target's notation (a power of ten as LaTeX math, HTML ``<sup>``, or ``e``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from spillover.report import _latex
from spillover.report._files import write_atomic
from spillover.report._format import Number, escape_html, escape_markdown
from spillover.report._latex import Width


@dataclass(frozen=True)
class Cell:
    """One table cell: text plus an optional superscript (significance stars).

    ``text`` is the plain-text content. A cell holding numbers is built with
    :meth:`Cell.of` from strings and :class:`~spillover.report._format.Number` parts, so
    each renderer writes the numbers in its own notation (e.g. a power of ten in LaTeX
    math mode) and escapes only the strings around them.
    """

    text: str = ""
    sup: str = ""
    parts: tuple[str | Number, ...] = ()

    @classmethod
    def of(cls, *parts: str | Number, sup: str = "") -> Cell:
        """A cell from text and number parts, e.g. ``Cell.of("(", number(se), ")")``."""
        text = "".join(p if isinstance(p, str) else p.plain() for p in parts)
        return cls(text, sup, tuple(parts))

    def plain(self) -> str:
        """ASCII text with the stars (hyphen minus, ``e`` powers)."""
        return f"{self.text}{self.sup}"

    def display(self) -> str:
        """Text-table form with the stars: numbers with a true minus sign (U+2212)."""
        return self.render(str, Number.text) + self.sup

    @property
    def ends_in_power(self) -> bool:
        """Whether the cell ends with a power of ten, whose exponent a superscript would touch."""
        last = self.parts[-1] if self.parts else None
        return isinstance(last, Number) and last.exponent is not None

    def render(self, escape: Callable[[str], str], number: Callable[[Number], str]) -> str:
        """Content without ``sup``: strings through ``escape``, numbers through ``number``.

        E.g. ``cell.render(escape_latex, Number.latex)``.
        """
        if not self.parts:
            return escape(self.text)
        return "".join(escape(p) if isinstance(p, str) else number(p) for p in self.parts)


@dataclass(frozen=True)
class Row:
    label: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Section:
    """Rows between two horizontal rules; ``title`` starts a panel (e.g. 'Panel A')."""

    rows: tuple[Row, ...]
    title: str | None = None


@dataclass(frozen=True)
class Table:
    """Formatted table: header rows (label, span) over the data columns, body sections, notes.

    ``str(table)`` renders plain text for the terminal; :meth:`to_latex`,
    :meth:`to_markdown`, :meth:`to_html` render the other formats; :meth:`write` picks
    the format from the file extension and writes atomically.
    """

    header: tuple[tuple[tuple[str, int], ...], ...]
    sections: tuple[Section, ...]
    notes: tuple[str, ...] = ()
    caption: str | None = None
    label: str | None = None
    stub: str = ""
    align: str = "c"
    meta: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_columns(self) -> int:
        return sum(span for _, span in self.header[-1]) if self.header else 0

    def with_notes(self, *notes: str) -> Table:
        return replace(self, notes=self.notes + tuple(notes))

    # ------------------------------------------------------------------ LaTeX
    def to_latex(
        self,
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
        """booktabs LaTeX. Needs ``booktabs`` (+ the packages of the options used).

        Parameters
        ----------
        threeparttable : bool, default True
            Notes in a ``threeparttable`` as wide as the table (package ``threeparttable``).
        siunitx : bool, default False
            ``S`` columns aligning numbers on the decimal point (package ``siunitx``);
            cells that are not a plain decimal are braced as text.
        float_env : bool, default True
            Wrap in a ``table`` float with the caption and label.
        font_size : str, optional
            e.g. ``"small"`` or ``"footnotesize"``.
        width : {"natural", "resize", "tabularx"}, default "natural"
            ``"resize"`` scales the table to ``\\linewidth`` (``graphicx``); ``"tabularx"``
            spans ``\\linewidth`` in columns whose text wraps (``tabularx``).
        landscape : bool, default False
            Put the table on a landscape page (``pdflscape``).
        longtable : bool, default False
            A ``longtable`` that breaks across pages, the header repeated on each
            (package ``longtable``); ignores ``threeparttable``, ``float_env`` and ``width``.

        Stars are written as ``\\sym{***}``; the table defines ``\\sym`` locally if the
        document does not (``\\providecommand``), so it compiles in a plain article.
        ``spillover.report.LATEX_PREAMBLE`` loads every package the options use; text is
        escaped unless wrapped in :class:`~spillover.report.Latex`.
        """
        return _latex.render(
            self,
            threeparttable=threeparttable,
            siunitx=siunitx,
            float_env=float_env,
            placement=placement,
            font_size=font_size,
            width=width,
            landscape=landscape,
            longtable=longtable,
        )

    def split(self, max_rows: int) -> list[Table]:
        """Consecutive tables of at most ``max_rows`` body rows, each with the full header
        (notes under the last, "(continued)" after the caption of the others)."""
        return list(_latex.split_rows(self, max_rows))

    # ------------------------------------------------------------------ Markdown / HTML
    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown (column groups flattened into the header)."""
        heads = [_flat_header(self.header, escape_markdown)]
        cols = [escape_markdown(self.stub), *heads[0]]
        lines = [
            "| " + " | ".join(cols) + " |",
            "|" + "|".join([":---"] + [":---:"] * self.n_columns) + "|",
        ]
        for section in self.sections:
            if section.title:
                lines.append(f"| **{escape_markdown(section.title)}** |" + " |" * self.n_columns)
            for row in section.rows:
                cells = [escape_markdown(row.label)] + [
                    c.render(escape_markdown, Number.text) + escape_markdown(c.sup)
                    for c in row.cells
                ]
                lines.append("| " + " | ".join(cells) + " |")
        text = "\n".join(lines) + "\n"
        if self.notes:
            text += "\n" + "\n".join(escape_markdown(n) for n in self.notes) + "\n"
        if self.caption:
            text = f"**{escape_markdown(self.caption)}**\n\n" + text
        return text

    def to_html(self) -> str:
        """A standalone ``<table>`` with ``<thead>``/``<tbody>`` and stars as ``<sup>``."""
        out = ["<table>"]
        if self.caption:
            out.append(f"<caption>{escape_html(self.caption)}</caption>")
        out.append("<thead>")
        for i, hrow in enumerate(self.header):
            stub = escape_html(self.stub) if i == len(self.header) - 1 else ""
            cells = "".join(f'<th colspan="{s}">{escape_html(t)}</th>' for t, s in hrow)
            out.append(f"<tr><th>{stub}</th>{cells}</tr>")
        out.append("</thead>")
        for section in self.sections:
            out.append("<tbody>")
            if section.title:
                title = escape_html(section.title)
                out.append(f'<tr><th colspan="{self.n_columns + 1}"><em>{title}</em></th></tr>')
            for row in section.rows:
                cells = "".join(
                    f"<td>{c.render(escape_html, Number.html)}"
                    + ("&thinsp;" if c.sup and c.ends_in_power else "")
                    + (f"<sup>{c.sup}</sup>" if c.sup else "")
                    + "</td>"
                    for c in row.cells
                )
                out.append(f"<tr><th>{escape_html(row.label)}</th>{cells}</tr>")
            out.append("</tbody>")
        if self.notes:
            notes = "<br>".join(escape_html(n) for n in self.notes)
            out.append(f'<tfoot><tr><td colspan="{self.n_columns + 1}">{notes}</td></tr></tfoot>')
        out.append("</table>")
        return "\n".join(out) + "\n"

    # ------------------------------------------------------------------ text
    def __str__(self) -> str:
        body: list[list[str] | None] = []
        for section in self.sections:
            body.append(None)
            if section.title:
                body.append([section.title] + [""] * self.n_columns)
            body.extend([row.label, *(c.display() for c in row.cells)] for row in section.rows)
        flat = _flat_header(self.header, str)
        rows = [r for r in body if r is not None]
        widths = [max(len(r[0]) for r in [[self.stub], *rows])]
        for j in range(self.n_columns):
            widths.append(max([len(flat[j])] + [len(r[j + 1]) for r in rows]))
        total = sum(widths) + 2 * self.n_columns
        lines = [self.caption] if self.caption else []
        lines.append("=" * total)
        lines.append(self._text_row([self.stub, *flat], widths))
        for r in body:
            lines.append("-" * total if r is None else self._text_row(r, widths))
        lines.append("=" * total)
        lines.extend(self.notes)
        return "\n".join(lines)

    @staticmethod
    def _text_row(cells: list[str], widths: list[int]) -> str:
        head = cells[0].ljust(widths[0])
        return head + "".join("  " + c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))

    def to_docx(self) -> bytes:
        """A Word document holding the table (needs python-docx: ``pip install
        spillover[docx]``); numbers with a true minus sign, stars as superscripts."""
        from spillover.report._docx import docx_bytes

        return docx_bytes(self)

    def write(self, path: str | Path, **latex_options: bool | str | None) -> Path:
        """Write atomically as .tex, .md, .html, .txt or .docx, chosen by extension."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".docx":
            return write_atomic(path, self.to_docx())
        if suffix == ".tex":
            text = self.to_latex(**latex_options)
        elif suffix in (".md", ".markdown"):
            text = self.to_markdown()
        elif suffix in (".html", ".htm"):
            text = self.to_html()
        elif suffix == ".txt":
            text = str(self) + "\n"
        else:
            raise ValueError(
                f"unknown table format {suffix!r}; use .tex, .md, .html, .txt or .docx."
            )
        return write_atomic(path, text)


def _flat_header(header, esc) -> list[str]:
    """One label per data column: the last header row, with group labels prefixed."""
    if not header:
        return []
    per_col = [[] for _ in range(sum(s for _, s in header[-1]))]
    for hrow in header:
        col = 0
        for text, span in hrow:
            for j in range(col, col + span):
                if text and (span == 1 or hrow is not header[-1]):
                    per_col[j].append(esc(text))
            col += span
    return [" ".join(parts) for parts in per_col]
