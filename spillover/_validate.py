"""Boundary checks shared by all modules.

Checks run once, where user input enters; inside, code trusts plain arrays.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spillover.errors import (
    AlignmentError,
    DroppedColumnsWarning,
    DroppedRowsWarning,
    SpecificationError,
)

_PACKAGE_DIR = str(Path(__file__).resolve().parent) + os.sep


def preview(items: Iterable[Any], limit: int = 5, *, total: int | None = None) -> str:
    """Render the first ``limit`` items of a collection for an error message (``total``:
    how many there are, when ``items`` holds only the first ones)."""
    items = list(items)
    shown = ", ".join(repr(x) for x in items[:limit])
    more = (len(items) if total is None else total) - limit
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
        example = (
            f": {len(bad)} of {len(s)} values are not numbers, e.g. {preview(bad.unique())} "
            f"(at {preview(bad.index[:3])})"
            if len(bad)
            else ""
        )
        raise SpecificationError(
            f"column {col!r} has dtype {s.dtype} and cannot be used as a number{example}. "
            f"Convert it first, e.g. panel.assign({col}=pd.to_numeric(...)), or encode "
            "categories as dummies in the formula with C(...)."
        )


def warn_dropped(count: int, reason: str) -> None:
    """Issue a DroppedRowsWarning if rows were dropped on request (at the user's line)."""
    if count:
        warnings.warn(
            f"dropped {count} rows: {reason}", DroppedRowsWarning, stacklevel=user_stacklevel()
        )


def warn_dropped_columns(names: list[str], reason: str) -> None:
    """Issue a DroppedColumnsWarning naming the regressors dropped (at the user's line)."""
    if names:
        what = "regressors" if len(names) > 1 else "regressor"
        warnings.warn(
            f"dropped {len(names)} {what}, {preview(names)}: {reason}",
            DroppedColumnsWarning,
            stacklevel=user_stacklevel(),
        )


def as_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A Generator from a seed, an existing Generator, or fresh entropy; never global state."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def user_stacklevel(level: int = 1) -> int:
    """The ``stacklevel`` that makes a warning point at the first frame outside spillover.

    ``level`` is the stacklevel that would point at the function calling this one (1 if
    it calls ``warnings.warn`` itself, 2 if it goes through a helper such as
    ``warn_dropped``); each spillover frame above it adds one, however a builder
    reaches it.
    """
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level


def id_mismatch(subject: str, sides: Sequence[tuple[pd.Index, str]]) -> str:
    """ "{subject} disagree: {n} {what} (e.g. ...) and ..." naming only the non-empty sides.

    ``sides`` pairs each set of offending ids with what they are, e.g.
    ``(missing, "panel entities have no geometry")``.
    """
    parts = [f"{len(ids)} {what} (e.g. {preview(ids)})" for ids, what in sides if len(ids)]
    return f"{subject} disagree: {' and '.join(parts)}."


def require_same_ids(
    expected: pd.Index, found: pd.Index, *, subject: str, absent: str, extra: str, fix: str
) -> None:
    """Raise AlignmentError unless ``found`` holds exactly the ids in ``expected``.

    The message counts and names the ids on each side that has any (see ``id_mismatch``),
    then gives ``fix``.
    """
    missing = expected.difference(found)
    surplus = found.difference(expected)
    if len(missing) or len(surplus):
        message = id_mismatch(subject, [(missing, absent), (surplus, extra)])
        raise AlignmentError(f"{message} {fix}")
