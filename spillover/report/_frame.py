"""A plain table from a DataFrame: group means, model probabilities, any labelled grid."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from spillover.errors import SpecificationError
from spillover.report._format import number
from spillover.report._table import Cell, Row, Section, Table


def frame_table(
    frame: pd.DataFrame,
    *,
    digits: int = 3,
    caption: str | None = None,
    label: str | None = None,
    notes: Sequence[str] = (),
) -> Table:
    """A :class:`Table` with one row per row of ``frame`` and one column per column.

    Numbers are rounded to ``digits`` decimals (integers are printed as such, NaN as an
    empty cell), anything else is printed with ``str``. The index (joined by ", " for a
    MultiIndex) labels the rows, the column names head the columns.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover.report import frame_table
    >>> t = frame_table(pd.DataFrame({"mean": [1.23456, 2.0]}, index=["a", "b"]), digits=2)
    >>> print(t.to_markdown().rstrip())
    |  | mean |
    |:---|:---:|
    | a | 1.23 |
    | b | 2.00 |
    """
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        raise SpecificationError("frame_table needs a non-empty pandas DataFrame.")
    rows = []
    for key, values in frame.iterrows():
        name = ", ".join(map(str, key)) if isinstance(key, tuple) else str(key)
        rows.append(Row(name, tuple(_cell(v, digits) for v in values)))
    header = (tuple((str(c), 1) for c in frame.columns),)
    return Table(header, (Section(tuple(rows)),), tuple(notes), caption, label)


def _cell(value: object, digits: int) -> Cell:
    if isinstance(value, bool | np.bool_):
        return Cell(str(bool(value)))
    if isinstance(value, int | np.integer):
        return Cell(f"{int(value):,}")
    if isinstance(value, float | np.floating):
        return Cell() if np.isnan(value) else Cell.of(number(float(value), digits))
    return Cell(str(value))
