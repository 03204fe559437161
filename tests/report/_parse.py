"""Read rendered tables back: the cells of a Markdown row, numbers as floats."""

from __future__ import annotations

import re


def markdown_rows(text: str) -> list[list[str]]:
    """Cells of every body row of a Markdown table (label first), unescaped."""
    rows, body = [], False
    for line in text.splitlines():
        if line.startswith("|:"):
            body = True  # the header ends at the alignment row
            continue
        if not body or not line.startswith("|"):
            continue
        cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        rows.append([c.strip().replace("\\", "") for c in cells])
    return rows


def row(text: str, label: str, nth: int = 0) -> list[str]:
    """The data cells of the ``nth`` Markdown row labelled ``label``."""
    found = [r[1:] for r in markdown_rows(text) if r[0] == label]
    assert len(found) > nth, f"no row {label!r} in\n{text}"
    return found[nth]


def below(text: str, label: str) -> list[str]:
    """The cells of the unlabelled row under the row labelled ``label`` (its statistics)."""
    rows = markdown_rows(text)
    i = next(i for i, r in enumerate(rows) if r[0] == label)
    return rows[i + 1][1:]


def value(cell: str) -> float:
    """A printed number as a float: true minus sign, thousands commas, stars, brackets."""
    text = cell.replace("\u2212", "-").replace(",", "").strip("()[]* ")
    return float(text)
