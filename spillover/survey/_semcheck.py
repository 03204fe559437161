"""Boundary checks for CFA/SEM input: construct definitions, item columns, complete rows
and a positive definite sample covariance. Each error names the items and the fix."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from spillover._validate import preview, require_columns, require_numeric, warn_dropped
from spillover.errors import SpecificationError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
#: Smallest eigenvalue of the item correlation matrix accepted as positive definite.
_PD_TOL = 1e-10


def check_constructs(items: pd.DataFrame, constructs: Mapping[str, Sequence[str]]) -> None:
    """Names are identifiers, every construct has two or more known items."""
    if not isinstance(items, pd.DataFrame):
        raise SpecificationError(f"items must be a pandas DataFrame, got {type(items).__name__}.")
    unknown = [i for cols in constructs.values() for i in cols if i not in items.columns]
    if unknown:
        raise SpecificationError(
            f"constructs name item(s) not in the data: {preview(unknown)}; item columns are "
            f"{preview(items.columns, 12)}."
        )
    for name, cols in constructs.items():
        if isinstance(cols, str) or len(cols) < 2:
            raise SpecificationError(
                f"construct {name!r} has {'one item' if len(cols) else 'no items'} "
                f"({preview([cols] if isinstance(cols, str) else cols)}); a factor needs at "
                "least two items (three to be identified on its own). Report a single item "
                "as an observed variable instead."
            )
    bad = [n for n in [*constructs, *items.columns] if not _NAME.match(str(n))]
    if bad:
        raise SpecificationError(
            f"names {preview(bad)} are not identifiers (letters, digits, '_' and '.'); "
            "rename them, e.g. items.rename(columns=...)."
        )
    clash = set(constructs).intersection(items.columns)
    if clash:
        raise SpecificationError(
            f"construct names {preview(sorted(clash))} are also item columns; rename them."
        )


def complete_rows(data: pd.DataFrame, observed: list[str]) -> pd.DataFrame:
    """The model's columns as floats, respondents with a missing value dropped (warned)."""
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    require_columns(data, observed, "data")
    require_numeric(data, observed)
    frame = data[observed].astype(float)
    keep = frame.notna().all(axis=1).to_numpy()
    warn_dropped(int((~keep).sum()), f"missing item responses (listwise) in {preview(observed)}")
    frame = frame[keep]
    if len(frame) <= len(observed):
        raise SpecificationError(
            f"{len(frame)} complete respondents for {len(observed)} items: the sample "
            "covariance cannot be positive definite. Collect more responses or use fewer items."
        )
    return frame


def check_positive_definite(frame: pd.DataFrame) -> None:
    """Raise, naming the items involved, if the sample covariance is singular."""
    sd = frame.std(ddof=0)
    constant = sd.index[sd.to_numpy() == 0]
    if len(constant):
        raise SpecificationError(
            f"item(s) {preview(constant)} have the same answer from every respondent; drop them."
        )
    corr = np.corrcoef(frame.to_numpy(), rowvar=False)
    values, vectors = np.linalg.eigh(corr)
    if values[0] > _PD_TOL:
        return
    weight = np.abs(vectors[:, 0])
    involved = frame.columns[np.argsort(-weight)][: int(np.sum(weight > 0.1)) or 2]
    raise SpecificationError(
        "the sample covariance of the items is not positive definite (smallest eigenvalue of "
        f"the correlation matrix {values[0]:.2e}): items {preview(involved, 8)} are linearly "
        "dependent, e.g. one is a sum or copy of others. Drop one of them."
    )
