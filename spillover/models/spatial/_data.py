"""From formula, Panel and weights to the arrays the spatial likelihood works on.

Rows are stacked entity-major (the panel's sorted (entity, time) order), so a stacked
vector reshaped to ``(N, T)`` has one row per entity and ``W @ Y`` lags every period at
once: no ``I_T (x) W`` is ever formed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from spillover._typing import FloatArray
from spillover._validate import preview
from spillover.errors import SpecificationError, WeightsError
from spillover.models._formula import check_rank, design
from spillover.panel import Panel
from spillover.weights import Weights

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


def as_weights(w: Any, panel: Panel) -> Weights:
    """Weights aligned to ``panel.entities`` from any accepted input (never mutated)."""
    if isinstance(w, Weights):
        out = w
    elif hasattr(w, "sparse") and (hasattr(w, "id_order") or hasattr(w, "unique_ids")):
        out = Weights.from_libpysal(w)
    elif sp.issparse(w) or isinstance(w, np.ndarray):
        matrix = sp.csr_array(w) if sp.issparse(w) else sp.csr_array(np.asarray(w, float))
        if matrix.shape != (panel.n_entities, panel.n_entities):
            raise WeightsError(
                f"a bare matrix W must be N x N in the panel's sorted entity order; got shape "
                f"{matrix.shape} for {panel.n_entities} entities. Wrap it as "
                "Weights(matrix, ids) to match by id."
            )
        out = Weights(matrix, panel.entities, "user matrix")
    else:
        raise WeightsError(
            f"w must be spillover Weights, a libpysal W/Graph, a scipy sparse matrix or a "
            f"numpy array, not {type(w).__name__}."
        )
    out = out.align(panel.entities)
    if out.nnz == 0:
        raise WeightsError("the weights matrix has no links; a spatial model needs neighbours.")
    return out


def is_row_standardised(w: sp.csr_array) -> bool:
    sums = np.asarray(w.sum(axis=1)).ravel()
    return bool((w.data >= 0).all() and np.allclose(sums, 1.0, rtol=0, atol=1e-10))


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


def lag(w: Any, a: FloatArray) -> FloatArray:
    """W (or W_t, for weights by period) applied within each period to (NT,) or (NT, K)."""
    if hasattr(w, "lag"):
        return w.lag(a)
    n = w.shape[0]
    return (w @ a.reshape(n, -1)).reshape(a.shape)


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

    ``w`` is Weights or, for one W per period, a ``PeriodWeights`` (lags use W_t).
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
    matrix = w.matrix if static else w
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
    if effects != "none" or not d.has_intercept:
        check_rank(within_frame(arr, names, d.x.index, panel.n_entities, effects))
    n = panel.n_entities
    y = d.y.to_numpy(dtype=float)
    wy = lag(matrix, y)
    return SpatialData(
        y=within(y, n, effects),
        wy=within(wy, n, effects),
        w2y=within(lag(matrix, wy), n, effects) if (error and lag_y) else None,
        x=within(arr, n, effects),
        wx=within(lag(matrix, arr), n, effects) if error else None,
        names=tuple(names),
        durbin=tuple(lagged),
        index=d.x.index,
        dependent=d.dependent,
    )


def within_frame(
    arr: FloatArray, names: list[str], index: pd.Index, n: int, effects: str
) -> pd.DataFrame:
    return pd.DataFrame(within(arr, n, effects), index=index, columns=names)
