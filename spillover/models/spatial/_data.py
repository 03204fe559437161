"""From formula, Panel and weights to the arrays the spatial likelihood works on.

Rows are stacked entity-major (the panel's sorted (entity, time) order), the one
convention of :mod:`spillover.linalg.stacking`, whose :func:`~spillover.linalg.stacking.lag`
applies W (or W_t) within each period: no ``I_T (x) W`` is ever formed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from spillover._typing import FloatArray
from spillover._validate import preview
from spillover.errors import SpecificationError, WeightsError
from spillover.linalg.stacking import lag
from spillover.models._checks import effects_phrase, require_variation
from spillover.models._formula import check_rank, design
from spillover.panel import Panel
from spillover.weights import Weights, WeightsByPeriod, as_weights, is_by_period

EFFECTS = ("entity", "time", "twoway", "none", "random")
BIAS_CORRECTIONS = ("lee-yu", None)


@dataclass(frozen=True)
class Transform:
    """Effective dimensions of the (transformed) likelihood.

    ``nobs``: observations after removing the fixed effects (``n_eff``); ``periods``: the
    multiplier of each log-determinant; ``project``: the Lee-Yu time transformation, which
    removes the constant vector from each cross-section (adds ``-log(1 - rho)`` per period
    and centres the traces).
    """

    nobs: float
    periods: int
    project: bool


def spatial_weights(w: Any, panel: Panel) -> Weights | WeightsByPeriod:
    """W for a spatial model on ``panel``, received through the weights boundary.

    One W: :func:`spillover.weights.as_weights`, matched to ``panel.entities`` by id (a bare
    matrix is refused unless stated in panel order with ``Weights.in_panel_order``). Weights
    by period: :meth:`WeightsByPeriod.align` (one W_t per panel period, each over the
    panel's entities, in their order). Every matrix must have a link.
    """
    if is_by_period(w):
        out = WeightsByPeriod(w).align(panel)
        matrices = list(out.values())
    else:
        out = as_weights(w, panel.entities)
        matrices = [out]
    if any(m.nnz == 0 for m in matrices):
        raise WeightsError("the weights matrix has no links; a spatial model needs neighbours.")
    return out


def transform_for(effects: str, bias: str | None, n: int, t: int, row_std: bool) -> Transform:
    """Effective sample size and Jacobian multiplier for the chosen effects and correction."""
    if bias is None or effects in ("none", "random"):
        return Transform(float(n * t), t, False)
    if effects in ("entity", "twoway") and t < 2:
        raise SpecificationError(
            f"effects={effects!r} needs at least two periods; this panel has {t}."
        )
    if effects in ("time", "twoway") and not row_std:
        raise SpecificationError(
            "the Lee-Yu transformation for time effects needs a row-standardised W (so that "
            "W 1 = 1). Row-standardise W (w.row_standardize()) or pass bias_correction=None."
        )
    periods = t - 1 if effects in ("entity", "twoway") else t
    units = n - 1 if effects in ("time", "twoway") else n
    return Transform(float(units * periods), periods, effects in ("time", "twoway"))


def within(a: FloatArray, n: int, effects: str) -> FloatArray:
    """Remove entity and/or period means from a stacked array (balanced panel, closed form)."""
    if effects == "none":
        return a
    cube = a.reshape(n, -1, *a.shape[1:])
    out = cube
    if effects in ("entity", "twoway"):
        out = out - cube.mean(axis=1, keepdims=True)
    if effects in ("time", "twoway"):
        out = out - cube.mean(axis=0, keepdims=True)
    if effects == "twoway":
        out = out + cube.mean(axis=(0, 1), keepdims=True)
    return out.reshape(a.shape)


@dataclass(frozen=True)
class SpatialData:
    """Demeaned arrays for one model: y, Wy, W^2 y and X, WX, plus labels."""

    y: FloatArray
    wy: FloatArray
    w2y: FloatArray | None
    x: FloatArray
    wx: FloatArray | None
    names: tuple[str, ...]
    durbin: tuple[str, ...]
    index: pd.MultiIndex
    dependent: str

    @property
    def nobs(self) -> int:
        return len(self.y)


def build(
    formula: str,
    panel: Panel,
    w: Any,
    *,
    effects: str,
    durbin: bool | Sequence[str],
    error: bool,
    lag_y: bool,
) -> SpatialData:
    """Design matrices for ``formula`` with optional Durbin terms, demeaned for ``effects``.

    ``w`` is Weights or, for one W per period, an aligned WeightsByPeriod (lags use W_t).
    """
    panel.require_balanced()
    static = isinstance(w, Weights)
    if not static and re.search(r"\bW\(", formula):
        raise SpecificationError(
            "W(x) formula terms are not available with one weights matrix per period; use "
            "SpatialDurbin(..., durbin=[...]) or SpatialDurbinError, which lag x with W_t."
        )
    d = design(formula, panel, w=w if static else None)
    x = d.x.drop(columns="Intercept") if effects != "none" and d.has_intercept else d.x
    _require_regressors(formula, x, effects)
    matrix = w.matrix if static else w.matrices
    names = list(x.columns)
    arr = x.to_numpy(dtype=float)
    lagged: list[str] = []
    if durbin:
        candidates = [c for c in names if c != "Intercept" and not c.startswith("W_")]
        chosen = candidates if durbin is True else list(durbin)
        unknown = [c for c in chosen if c not in candidates]
        if unknown:
            raise SpecificationError(
                f"durbin terms {preview(unknown)} are not regressors of the formula; choose "
                f"among {preview(candidates)}."
            )
        new = [c for c in chosen if f"W_{c}" not in names]
        cols = [names.index(c) for c in new]
        arr = np.column_stack([arr, lag(matrix, arr[:, cols])]) if cols else arr
        names += [f"W_{c}" for c in new]
        lagged = [f"W_{c}" for c in chosen]
    lagged += [c for c in d.spatial_lags if c not in lagged]
    n = panel.n_entities
    y = d.y.to_numpy(dtype=float)
    y_kept, x_kept = within(y, n, effects), within(arr, n, effects)
    _require_variation(d, panel, effects, (y, y_kept), (arr, x_kept), names)
    if effects != "none" or not d.has_intercept:
        check_rank(pd.DataFrame(x_kept, index=d.x.index, columns=names))
    wy = lag(matrix, y)
    return SpatialData(
        y=y_kept,
        wy=within(wy, n, effects),
        w2y=within(lag(matrix, wy), n, effects) if (error and lag_y) else None,
        x=x_kept,
        wx=within(lag(matrix, arr), n, effects) if error else None,
        names=tuple(names),
        durbin=tuple(lagged),
        index=d.x.index,
        dependent=d.dependent,
    )


def _require_regressors(formula: str, x: pd.DataFrame, effects: str) -> None:
    if x.shape[1] == 0 and effects != "none":
        raise SpecificationError(
            f"formula {formula!r} has no regressors once the fixed effects absorb the "
            "intercept; add at least one regressor."
        )


_FIXES = {
    "entity": "use effects='none' or 'random'",
    "time": "use effects='entity'",
    "twoway": "use effects='entity' or 'time'",
    "none": "use a dependent variable that varies",
}


def _require_variation(d: Any, panel: Panel, effects: str, y: tuple, x: tuple, names) -> None:
    """Refuse y or regressors that the fixed effects (or the intercept) leave constant."""
    if effects == "none":  # random effects and pooled: y must vary around its mean
        raw = y[0]
        y, x = (raw, raw - raw.mean() if d.has_intercept else raw), None
    where = effects_phrase(effects, panel.entity_name, panel.time_name)
    require_variation(d.dependent, y, x, names, where=where, fix=_FIXES[effects])
