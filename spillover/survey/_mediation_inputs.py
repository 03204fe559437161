"""Boundary checks of a mediation model: names, roles, missing values, variation, size."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from spillover._validate import preview, require_columns, require_numeric, warn_dropped
from spillover.errors import SpecificationError


def check_roles(
    x: str, mediators: Sequence[str], y: str, covariates: Sequence[str], kind: str
) -> None:
    """Refuse overlapping roles, an empty mediator list and an unknown kind."""
    if kind not in ("parallel", "serial"):
        raise SpecificationError(f"kind must be 'parallel' or 'serial'; got {kind!r}.")
    if isinstance(mediators, str) or isinstance(covariates, str):
        raise SpecificationError(
            "mediators and covariates are lists of column names, e.g. mediators=['m1']."
        )
    if not mediators:
        raise SpecificationError("give at least one mediator, e.g. mediators=['transfer'].")
    if x == y:
        raise SpecificationError(f"x and y are the same column {x!r}.")
    for m in mediators:
        if m in (x, y):
            role = "x" if m == x else "y"
            raise SpecificationError(
                f"mediator {m!r} is also {role}; a mediator must be a third variable."
            )
    roles = [x, *mediators, y, *covariates]
    repeated = sorted({c for c in roles if roles.count(c) > 1})
    if repeated:
        raise SpecificationError(
            f"{preview(repeated)} appear in more than one role (x, mediators, y, covariates)."
        )


def clean_frame(
    data: pd.DataFrame, columns: Sequence[str], cluster: str | None, missing: str
) -> tuple[pd.DataFrame, np.ndarray]:
    """The model's columns as floats (and the cluster labels), missing rows refused or dropped.

    ``missing="raise"`` names the rows with a missing value; ``"listwise"`` drops them
    with a DroppedRowsWarning. Also returns the boolean mask of the rows kept.
    """
    if not isinstance(data, pd.DataFrame):
        raise SpecificationError(f"data must be a pandas DataFrame; got {type(data).__name__}.")
    if missing not in ("raise", "listwise"):
        raise SpecificationError(f"missing must be 'raise' or 'listwise'; got {missing!r}.")
    used = [*columns, *([cluster] if cluster is not None else [])]
    require_columns(data, used, what="data")
    require_numeric(data, list(columns))
    frame = data[used]
    holes = frame.isna().any(axis=1).to_numpy()
    if holes.any() and missing == "raise":
        where = frame.columns[frame.isna().any()].tolist()
        raise SpecificationError(
            f"{int(holes.sum())} rows have missing values (in {preview(where)}), at rows "
            f"{preview(frame.index[holes])}. Fill them, or pass missing='listwise' to drop "
            "those rows."
        )
    warn_dropped(int(holes.sum()), f"missing values in {preview(used)} (missing='listwise')")
    frame = frame.loc[~holes].astype({c: float for c in columns})
    infinite = ~np.isfinite(frame[list(columns)].to_numpy()).all(axis=1)
    if infinite.any():
        raise SpecificationError(
            f"{int(infinite.sum())} rows have infinite values, at rows "
            f"{preview(frame.index[infinite])}; check how those scores were computed."
        )
    return frame, ~holes


def check_variation(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Refuse constant columns: a constant variable has no path coefficient."""
    flat = [c for c in columns if np.ptp(frame[c].to_numpy()) == 0]
    if flat:
        raise SpecificationError(
            f"{preview(flat)} {'is' if len(flat) == 1 else 'are'} constant in the estimation "
            "sample; a constant variable has no path. Remove it from the model."
        )


def check_size(frame: pd.DataFrame, n_coefs: int, cluster: str | None) -> None:
    """Refuse fewer observations than the outcome equation needs, or fewer than 2 clusters."""
    n = len(frame)
    if n <= n_coefs + 1:
        raise SpecificationError(
            f"{n} observations for an outcome equation with {n_coefs} coefficients: at "
            f"least {n_coefs + 2} are needed to estimate the paths and their error variance."
        )
    if cluster is not None and frame[cluster].nunique() < 2:
        raise SpecificationError(f"cluster column {cluster!r} has fewer than 2 clusters.")


def check_rank(frame: pd.DataFrame, regressors: Sequence[str]) -> None:
    """Refuse collinear regressors in the outcome equation, naming the first redundant one."""
    a = np.column_stack([np.ones(len(frame)), frame[list(regressors)].to_numpy()])
    scaled = a / np.linalg.norm(a, axis=0)
    r = np.abs(np.diag(np.linalg.qr(scaled)[1]))
    bad = [name for name, v in zip(["Intercept", *regressors], r, strict=True) if v < 1e-10]
    if bad:
        raise SpecificationError(
            f"{preview(bad)} is a linear combination of the other variables of the outcome "
            "equation (x, mediators, covariates, intercept); remove it."
        )
