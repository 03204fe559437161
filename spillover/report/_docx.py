"""Word (.docx) rendering of a table, for co-authors who do not use LaTeX.

python-docx is an optional dependency (``pip install spillover[docx]``); it is imported
only when a table is written as .docx.
"""

from __future__ import annotations

import io
from typing import Any

from spillover.errors import SpecificationError
from spillover.report._format import Number


def _document_module() -> Any:
    try:
        import docx
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise SpecificationError(
            "writing .docx needs python-docx; install it with `pip install spillover[docx]` "
            "(or `pip install python-docx`), or write .html, which Word also opens."
        ) from exc
    return docx


def docx_bytes(table: Any) -> bytes:
    """The bytes of a .docx file: caption paragraph, the table (header rows merged over
    their spans, section titles in italics), and the notes in small type below it."""
    docx = _document_module()
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    doc = docx.Document()
    if table.caption:
        doc.add_paragraph().add_run(str(table.caption)).bold = True
    ncol = table.n_columns + 1
    grid = doc.add_table(rows=0, cols=ncol)
    for i, hrow in enumerate(table.header):
        cells = grid.add_row().cells
        cells[0].text = table.stub if i == len(table.header) - 1 else ""
        col = 1
        for text, span in hrow:
            if span > 1:
                cells[col].merge(cells[col + span - 1])
            cells[col].text = str(text)
            cells[col].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
            col += span
    for section in table.sections:
        if section.title:
            row = grid.add_row().cells
            row[0].merge(row[-1])
            row[0].paragraphs[0].add_run(str(section.title)).italic = True
        for body in section.rows:
            cells = grid.add_row().cells
            cells[0].text = str(body.label)
            for j, cell in enumerate(body.cells, start=1):
                para = cells[j].paragraphs[0]
                para.alignment = WD_ALIGN_PARAGRAPH.CENTER
                para.add_run(cell.render(str, Number.text))
                if cell.sup:
                    para.add_run(cell.sup).font.superscript = True
    for note in table.notes:
        doc.add_paragraph().add_run(str(note)).font.size = Pt(9)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
