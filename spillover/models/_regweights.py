"""Regression weights (analytic and frequency), checked once at the boundary.

Conventions, those of fixest/pyfixest (``feols(..., weights=, weights_type=)``) and Stata:

* ``"analytic"`` (Stata ``aweight``, pyfixest ``"aweights"``): observation i has error
  variance ``sigma^2 / w_i``. Weighted least squares; N stays the number of rows.
* ``"frequency"`` (Stata ``fweight``, pyfixest ``"fweights"``): row i stands for ``w_i``
  identical observations. The estimates, covariances and degrees of freedom equal those of
  the unweighted fit on the data with each row repeated ``w_i`` times; N is ``sum(w)``.

Both solve ``min sum_i w_i (y_i - x_i b - effects_i)^2``: effects are swept out by weighted
group means, then y and X are scaled by ``sqrt(w)`` and fitted by OLS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from spillover._validate import preview
from spillover.errors import SpecificationError
from spillover.panel import Panel

__all__ = [
    "RegressionWeights",
    "WeightType",
    "check_weight_type",
    "refuse_weights",
    "regression_weights",
]

WeightType = Literal["analytic", "frequency"]
INFO_KEY = "Regression weights"


@dataclass(frozen=True)
class RegressionWeights:
    """Validated regression weights of the panel's rows.

    Attributes
    ----------
    column : str
        Column or index level the weights come from.
    kind : {"analytic", "frequency"}
    values : ndarray
        One positive finite weight per row of the panel (integers for frequency weights).
    """

    column: str
    kind: WeightType
    values: np.ndarray

    @property
    def label(self) -> str:
        """What results record under ``info["Regression weights"]``."""
        return f"{self.kind} ({self.column})"

    def nobs(self, keep: np.ndarray | None = None) -> int | None:
        """N for degrees of freedom: ``sum(w)`` for frequency weights, else None (rows)."""
        if self.kind != "frequency":
            return None
        w = self.values if keep is None else self.values[keep]
        return round(float(w.sum()))


def regression_weights(
    panel: Panel, column: str | None, weight_type: str
) -> RegressionWeights | None:
    """Check ``weights=`` and ``weight_type=`` and return the weights (None if no column).

    Raises
    ------
    SpecificationError
        Unknown column or weight type; weights missing, infinite, negative or zero (the
        message names the rows); frequency weights that are not integers.
    """
    check_weight_type(weight_type)
    if column is None:
        return None
    frame = panel.data
    if column in frame.columns:
        raw = frame[column]
    elif column in (frame.index.names or []):
        raw = pd.Series(frame.index.get_level_values(column), index=frame.index)
    else:
        raise SpecificationError(
            f"weights={column!r} is not a column of the panel; available: "
            f"{preview(list(frame.columns), 12)}."
        )
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    _require_positive(values, frame.index, column)
    if weight_type == "frequency" and not np.all(values == np.round(values)):
        bad = values != np.round(values)
        raise SpecificationError(
            f"frequency weights {column!r} must be whole numbers (counts of identical "
            f"observations); {int(bad.sum())} are not, e.g. at {preview(frame.index[bad])} "
            f"({preview(values[bad])}). Use weight_type='analytic' for precision weights."
        )
    return RegressionWeights(column, weight_type, values)  # type: ignore[arg-type]


def check_weight_type(weight_type: str) -> None:
    """SpecificationError unless ``weight_type`` is "analytic" or "frequency"."""
    if weight_type not in ("analytic", "frequency"):
        raise SpecificationError(
            f"weight_type must be 'analytic' (Stata aweight, pyfixest 'aweights') or "
            f"'frequency' (Stata fweight, pyfixest 'fweights'); got {weight_type!r}."
        )


def _require_positive(values: np.ndarray, index: pd.Index, column: str) -> None:
    checks = [
        (~np.isfinite(values), "missing, non-numeric or infinite", "fill or drop those rows"),
        (np.isfinite(values) & (values < 0), "negative", "weights must be non-negative"),
        (
            values == 0,
            "zero",
            "rows with zero weight carry no information; drop them from the data before "
            f"building the Panel (e.g. df[df[{column!r}] > 0])",
        ),
    ]
    for bad, what, fix in checks:
        if bad.any():
            raise SpecificationError(
                f"regression weights {column!r} are {what} in {int(bad.sum())} rows, e.g. at "
                f"{preview(index[bad])} ({preview(values[bad])}); {fix}."
            )


def refuse_weights(estimator: str, reason: str) -> None:
    """Raise the error of an estimator that has no well-defined weighted version."""
    raise SpecificationError(f"{estimator} does not take regression weights: {reason}")


def weighted_mean(x: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Column means of x (1- or 2-d), weighted by w if given."""
    if w is None:
        return x.mean(axis=0)
    return np.tensordot(w, x, axes=(0, 0)) / w.sum()


def rows_weights(weights: RegressionWeights | None, keep: np.ndarray | None = None):
    """The weights of the rows used (None without weights)."""
    if weights is None:
        return None
    return weights.values if keep is None else weights.values[keep]


def scaled(
    xt: np.ndarray, yt: np.ndarray, w: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``sqrt(w) X`` and ``sqrt(w) y`` (unchanged without weights), and ``sqrt(w)``."""
    if w is None:
        return xt, yt, np.ones(len(yt))
    root = np.sqrt(w)
    return xt * root[:, None], yt * root, root


def weight_fields(weights: RegressionWeights | None, keep: np.ndarray | None = None) -> dict:
    """``nobs`` and ``frequency_weights`` of :class:`~spillover.models._fit.Transformed`."""
    if weights is None or weights.kind != "frequency":
        return {}
    return {"nobs": weights.nobs(keep), "frequency_weights": rows_weights(weights, keep)}


def weight_info(weights: RegressionWeights | None) -> dict[str, str]:
    """The ``info`` entry recording the weights (empty without weights)."""
    return {} if weights is None else {INFO_KEY: weights.label}
