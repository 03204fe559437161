"""Validation and integer coding of the inputs of the Conley covariance.

Used by :mod:`spillover.inference.conley`: shapes, finite scores, cutoff and kernel options,
calendar period numbers (:func:`spillover._calendar.period_numbers`), one observation per
(entity, time), and distinct locations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spillover._calendar import period_numbers
from spillover._typing import FloatArray, IntArray, Metric
from spillover._validate import preview
from spillover.errors import PanelError, SpecificationError
from spillover.weights._distance import _check_coords


def _check_inputs(
    scores: Any, coords: Any, entity: Any, time: Any, cutoff: float, metric: Metric, kernel: Any
) -> tuple[FloatArray, FloatArray, IntArray, IntArray, str]:
    s = np.asarray(scores, dtype=float)
    if s.ndim == 1:
        s = s[:, None]
    if s.ndim != 2:
        raise SpecificationError(f"scores must be an (n, k) array, got shape {s.shape}.")
    n = len(s)
    if n == 0:
        raise SpecificationError("scores has no rows: there is nothing to compute.")
    xy = _check_coords(coords, metric)
    ent, per = np.asarray(entity).reshape(-1), np.asarray(time).reshape(-1)
    for name, arr in (("coords", xy), ("entity", ent), ("time", per)):
        if len(arr) != n:
            raise SpecificationError(f"scores has {n} rows but {name} has {len(arr)}.")
    if not np.isfinite(s).all():
        bad = np.flatnonzero(~np.isfinite(s).all(axis=1))
        raise SpecificationError(
            f"{len(bad)} score rows are not finite, e.g. rows {preview(bad.tolist())}."
        )
    if not (np.isscalar(cutoff) and np.isfinite(cutoff) and cutoff >= 0):
        raise SpecificationError(f"cutoff must be a finite number >= 0, got {cutoff!r}.")
    if kernel not in ("bartlett", "uniform"):
        raise SpecificationError(f"kernel must be 'bartlett' or 'uniform', got {kernel!r}.")
    return s, xy, _codes(ent), period_numbers(per, name="time"), kernel


def _codes(values: np.ndarray) -> IntArray:
    return np.unique(values, return_inverse=True)[1].reshape(-1).astype(np.intp)


def _check_lags(lags: Any) -> int:
    if isinstance(lags, bool) or int(lags) != lags or lags < 0:
        raise SpecificationError(f"lags must be an integer >= 0, got {lags!r}.")
    return int(lags)


def _check_unique_keys(ent: IntArray, per: IntArray) -> None:
    order = np.lexsort((per, ent))
    e, t = ent[order], per[order]
    dup = np.flatnonzero((e[1:] == e[:-1]) & (t[1:] == t[:-1]))
    if len(dup):
        rows = np.sort(np.concatenate([order[dup], order[dup + 1]]))
        raise PanelError(
            f"{len(dup)} (entity, time) pairs occur more than once, e.g. at rows "
            f"{preview(rows.tolist())}; Conley standard errors need one observation per unit "
            "and period."
        )


def _unique_rows(xy: FloatArray) -> tuple[FloatArray, IntArray]:
    """Distinct (x, y) rows and each row's index among them (sort-based, fast for large n)."""
    order = np.lexsort((xy[:, 1], xy[:, 0]))
    ordered = xy[order]
    new = np.r_[True, (ordered[1:] != ordered[:-1]).any(axis=1)]
    inverse = np.empty(len(xy), dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], inverse
