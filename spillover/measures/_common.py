"""Shared boundary checks for the measures: panel columns to arrays, periods to row groups."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from spillover._typing import FloatArray, IntArray
from spillover._validate import preview, require_columns, require_numeric
from spillover.errors import PanelError
from spillover.panel import Panel


def values(panel: Panel, column: str, *, nonnegative: bool = False) -> FloatArray:
    """``column`` as floats in panel row order; missing (or negative) values are errors."""
    require_columns(panel.data, [column], "panel")
    require_numeric(panel.data, [column])
    s = panel.data[column]
    x = s.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(x)
    if bad.any():
        raise PanelError(
            f"{int(bad.sum())} rows have a missing or infinite {column!r}, e.g. at "
            f"{preview(s.index[bad])}. Impute them (e.g. 0 for no reported R&D) or drop them "
            f"explicitly with panel.dropna([{column!r}])."
        )
    if nonnegative and (x < 0).any():
        neg = s[x < 0]
        shown = ", ".join(f"{v:g} at {k!r}" for k, v in neg.iloc[:5].items())
        raise PanelError(
            f"{len(neg)} rows have a negative {column!r}, e.g. {shown}; R&D spending and "
            "stocks must be >= 0."
        )
    return x


def entity_codes(panel: Panel) -> IntArray:
    """Position of each row's entity in ``panel.entities`` (rows are sorted by entity)."""
    idx = panel.data.index
    entities = panel.entities
    if idx.levels[0].equals(entities):  # the usual case: codes are the positions
        return np.asarray(idx.codes[0], dtype=np.intp)
    return entities.get_indexer(idx.get_level_values(0)).astype(np.intp)


def period_rows(panel: Panel) -> Iterator[tuple[object, IntArray]]:
    """Yield ``(period, row positions)`` for every period, in time order."""
    t = panel.data.index.get_level_values(1)
    codes, uniques = pd.factorize(t, sort=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    for k, period in enumerate(uniques):
        yield period, order[bounds[k] : bounds[k + 1]]
