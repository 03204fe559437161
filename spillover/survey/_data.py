"""Boundary checks and covariance matrices for item-level survey data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from spillover._typing import FloatArray
from spillover._validate import preview, require_columns, require_numeric
from spillover.errors import SpecificationError

Missing = Literal["listwise", "pairwise"]


def check_items(items: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The numeric item columns of ``items`` as a float frame (NaN kept)."""
    if not isinstance(items, pd.DataFrame):
        raise SpecificationError(
            f"items must be a pandas DataFrame (rows respondents, columns items), "
            f"got {type(items).__name__}."
        )
    cols = list(items.columns if columns is None else columns)
    require_columns(items, cols, "items")
    require_numeric(items, cols)
    frame = items[cols].astype(float)
    inf = [c for c in cols if np.isinf(frame[c].to_numpy()).any()]
    if inf:
        raise SpecificationError(f"items {preview(inf)} hold infinite values; recode them.")
    return frame


def check_missing(missing: str) -> Missing:
    """Validate the ``missing=`` option."""
    if missing not in ("listwise", "pairwise"):
        raise SpecificationError(f"missing must be 'listwise' or 'pairwise', got {missing!r}.")
    return missing  # type: ignore[return-value]


def check_constructs(
    items: pd.DataFrame, constructs: Mapping[str, Sequence[str]] | None
) -> dict[str, list[str]]:
    """``{construct: [items]}``; all columns as one construct ``"all"`` when None."""
    if constructs is None:
        return {"all": list(items.columns)}
    if not isinstance(constructs, Mapping) or not constructs:
        raise SpecificationError(
            "constructs must be a non-empty mapping {construct: [item, ...]}, e.g. "
            "{'trust': ['q1', 'q2', 'q3']}."
        )
    out: dict[str, list[str]] = {}
    for name, cols in constructs.items():
        if isinstance(cols, str):
            raise SpecificationError(
                f"construct {name!r} must list its items, e.g. [{cols!r}, ...], not a string."
            )
        require_columns(items, list(cols), f"items (construct {name!r})")
        out[str(name)] = list(cols)
    return out


def covariance(frame: pd.DataFrame, missing: Missing) -> tuple[FloatArray, int]:
    """Sample covariance (ddof 1) and the n it rests on.

    ``listwise``: rows with any NaN dropped, n = rows left. ``pairwise``: each entry from
    the rows answering both items (as R's ``cov(use = "pairwise")``), n = all rows, as
    psych's ``alpha`` and ``cortest.bartlett`` count it.
    """
    if missing == "listwise":
        frame = frame.dropna()
    n = len(frame)
    if n < 3:
        raise SpecificationError(
            f"only {n} respondents {'answer every item' if missing == 'listwise' else 'remain'}"
            "; at least 3 are needed. Check the missing-answer pattern or use "
            "missing='pairwise'."
        )
    cov = frame.cov(ddof=1).to_numpy()
    bad = [c for c, v in zip(frame.columns, np.diag(cov), strict=True) if not v > 0]
    if bad:
        raise SpecificationError(
            f"items {preview(bad)} have no variance ({missing} deletion); drop them."
        )
    if np.isnan(cov).any():
        i, j = np.argwhere(np.isnan(cov))[0]
        raise SpecificationError(
            f"items {frame.columns[i]!r} and {frame.columns[j]!r} are never answered by the "
            "same respondents (fewer than 2 in common); no pairwise covariance exists."
        )
    return cov, n


def correlation(cov: FloatArray) -> FloatArray:
    """The correlation matrix of a covariance matrix (R's ``cov2cor``)."""
    s = 1.0 / np.sqrt(np.diag(cov))
    r = cov * s[:, None] * s[None, :]
    np.fill_diagonal(r, 1.0)
    return r


def correlations(frame: pd.DataFrame, missing: Missing) -> tuple[FloatArray, int]:
    """Item correlations and the n they rest on.

    Pairwise: each correlation from the rows answering both items, with that pair's own
    means and variances (R's ``cor(use = "pairwise")``, what psych's ``KMO``, ``fa`` and
    ``cortest.bartlett`` use); this differs from the correlations of the pairwise
    covariance matrix (``cov2cor``, what psych's ``alpha`` uses). Listwise: as
    :func:`covariance`.
    """
    cov, n = covariance(frame, missing)
    if missing == "listwise":
        return correlation(cov), n
    r = frame.corr().to_numpy(copy=True)
    np.fill_diagonal(r, 1.0)
    return r, n
