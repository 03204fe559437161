"""Boundary checks shared by all modules.

Checks run once, where user input enters; inside, code trusts plain arrays.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from spillover.errors import DroppedRowsWarning, SpecificationError


def preview(items: Iterable[Any], limit: int = 5) -> str:
    """Render the first ``limit`` items of a collection for an error message."""
    items = list(items)
    shown = ", ".join(repr(x) for x in items[:limit])
    more = len(items) - limit
    return f"{shown}, ... ({more} more)" if more > 0 else shown


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str = "data") -> None:
    """Raise if any of ``columns`` is missing from ``frame``, listing what exists."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SpecificationError(
            f"{what} has no column(s) {preview(missing)}; available: {preview(frame.columns, 12)}."
        )


def require_numeric(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise if a column used in a model is not numeric, naming a bad value."""
    for col in columns:
        s = frame[col]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            continue
        bad = s[pd.to_numeric(s, errors="coerce").isna() & s.notna()]
        example = f" e.g. {bad.iloc[0]!r} at {bad.index[0]!r}" if len(bad) else ""
        raise SpecificationError(
            f"column {col!r} has dtype {s.dtype} and cannot be used as a number{example}. "
            f"Convert it first, e.g. panel.assign({col}=pd.to_numeric(...)), or encode "
            "categories as dummies in the formula with C(...)."
        )


def warn_dropped(count: int, reason: str, stacklevel: int = 3) -> None:
    """Issue a DroppedRowsWarning if rows were dropped on request."""
    if count:
        warnings.warn(f"dropped {count} rows: {reason}", DroppedRowsWarning, stacklevel=stacklevel)


def as_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A Generator from a seed, an existing Generator, or fresh entropy; never global state."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
