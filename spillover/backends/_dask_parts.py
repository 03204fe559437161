"""Pure functions of one pandas partition (and their pairwise combiners), run by the
Dask workers for :class:`spillover.backends._dask_tables.DaskStaged`.

A staged partition has ``__v0``... (float64 values: y, then the regressors), ``__e0``...
(int64 level codes, one per effect set), ``__w`` (regression weights, only when weighted:
then every mean and sum of products below is weighted, as in
:class:`spillover.backends.Staged`) and carried source columns. Functions that return
a partition return a new frame; reductions return arrays (added with ``+`` unless a
combiner is named beside them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Residual:
    """e = z_0 - X b with ``z_j = v_j + shift_j`` and X = ([1], z_1, ...); with
    ``response``, e = y - mu instead (the ``__y`` and ``__mu`` of Poisson IRLS,
    :class:`spillover.backends.DaskIrlsStaged`)."""

    k: int
    shift: np.ndarray
    intercept: bool
    b: np.ndarray
    response: bool = False


@dataclass(frozen=True)
class Linear:
    """Residuals and score regressors linear in the value columns v: ``e = [1, v] e`` and
    ``x = [1, v] x`` (coefficients over a constant and v_0, v_1, ...; ``x`` one column
    per regressor). With ``e`` a matrix (one column per residual e_j) the residual is 1
    and the regressors are the products ``e_j x_m`` (j outer): stacked regressions."""

    e: np.ndarray
    x: np.ndarray

    def evaluate(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The residuals and regressors of the rows whose values are ``v`` (n x k)."""
        x = v @ self.x[1:] + self.x[0]
        e = v @ self.e[1:] + self.e[0]
        if e.ndim == 1:
            return e, x
        return np.ones(len(v)), (e[:, :, None] * x[:, None, :]).reshape(len(v), -1)


def values(p: pd.DataFrame, k: int) -> np.ndarray:
    """The value columns as an (n x k) float array."""
    return p[[f"__v{j}" for j in range(k)]].to_numpy(dtype=float)


def codes(p: pd.DataFrame, i: int) -> np.ndarray:
    return p[f"__e{i}"].to_numpy(dtype=np.intp)


def weights(p: pd.DataFrame) -> np.ndarray | None:
    """The rows' regression weights, None when unweighted."""
    return p["__w"].to_numpy(dtype=float) if "__w" in p.columns else None


def _times(v: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """``v`` (1- or 2-d) times the row weights (unchanged without)."""
    if w is None:
        return v
    return v * (w if v.ndim == 1 else w[:, None])


def score_width(resid: Residual | Linear) -> int:
    """The number of score regressors of a residual handle."""
    if isinstance(resid, Linear):
        return int(resid.x.shape[1] * (resid.e.shape[1] if resid.e.ndim > 1 else 1))
    return resid.k - 1 + int(resid.intercept)


def residual_and_design(p: pd.DataFrame, resid: Residual | Linear) -> tuple[np.ndarray, np.ndarray]:
    """The residuals and score regressors of the partition's rows."""
    if isinstance(resid, Linear):
        return resid.evaluate(values(p, resid.x.shape[0] - 1))
    z = values(p, resid.k) + resid.shift
    x = z[:, 1:]
    if resid.intercept:
        x = np.column_stack([np.ones(len(z)), x])
    if resid.response:
        return p["__y"].to_numpy(dtype=float) - p["__mu"].to_numpy(dtype=float), x
    return z[:, 0] - x @ resid.b, x


# ---------------------------------------------------------------------- staging
def split_whole_levels(
    frame: pd.DataFrame, effects: Sequence[Sequence[str]], n: int
) -> list[pd.DataFrame]:
    """``frame`` in about ``n`` chunks of consecutive levels of its largest effect set
    (most distinct values; the first on ties), no level cut between two chunks; in ``n``
    chunks of consecutive rows if that set has one level (a constant: the sample of a
    model without absorbed effects, whose one level spans the partitions)."""
    if not len(frame):
        return [frame]
    sizes = [frame.groupby(list(e), sort=False, dropna=False).ngroups for e in effects]
    if max(sizes) <= 1:
        cuts = np.unique((np.arange(n + 1) * len(frame)) // n)
        return [frame.iloc[a:b].reset_index(drop=True) for a, b in pairwise(cuts)]
    big = list(effects[int(np.argmax(sizes))])
    code = frame.groupby(big, sort=False, dropna=False).ngroup().to_numpy()
    order = np.argsort(code, kind="stable")
    ranked = code[order]
    targets = (np.arange(1, n) * len(frame)) // n
    cuts = np.unique(np.searchsorted(ranked, ranked[targets], side="left"))
    cuts = np.unique(np.concatenate([[0], cuts, [len(frame)]]))
    return [frame.iloc[order[a:b]].reset_index(drop=True) for a, b in pairwise(cuts)]


def distinct(p: pd.DataFrame, effects: Sequence[Sequence[str]]) -> list[pd.DataFrame]:
    return [p[list(e)].drop_duplicates(ignore_index=True) for e in effects]


def lengths(tables: Sequence[pd.DataFrame]) -> list[int]:
    return [len(t) for t in tables]


def union(a: Sequence[pd.DataFrame], b: Sequence[pd.DataFrame]) -> list[pd.DataFrame]:
    return [pd.concat([x, y]).drop_duplicates(ignore_index=True) for x, y in zip(a, b, strict=True)]


def encode(
    p: pd.DataFrame,
    columns: Sequence[str],
    effects: Sequence[Sequence[str]],
    levels: Sequence[pd.Index],
    keep: Sequence[str],
    weight: str | None = None,
) -> pd.DataFrame:
    """The staged partition: values, level codes (positions in ``levels``), the weights
    (column ``weight``, if any), carried."""
    out = {f"__v{j}": p[c].to_numpy(dtype=float) for j, c in enumerate(columns)}
    if weight is not None:
        out["__w"] = p[weight].to_numpy(dtype=float)
    for i, (parts, index) in enumerate(zip(effects, levels, strict=True)):
        key = p[parts[0]] if len(parts) == 1 else pd.MultiIndex.from_frame(p[list(parts)])
        code = index.get_indexer(key)
        if (code < 0).any():  # pragma: no cover - the tables hold every level seen
            raise RuntimeError(f"levels of {parts} missing from their level table")
        out[f"__e{i}"] = code.astype(np.int64)
    staged = pd.DataFrame(out)
    carried = p[list(keep)].reset_index(drop=True)
    return pd.concat([staged, carried], axis=1)


def dtypes(p: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    return p[list(columns)].dtypes


def null_counts(p: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    return np.array([int(p[c].isna().sum()) for c in columns])


def bad_weights(
    p: pd.DataFrame, column: str, frequency: bool, keys: Sequence[str]
) -> list[tuple[int, list]]:
    """Per check of :data:`spillover.backends._checks.WEIGHT_CHECKS`: the rows failing it
    and the ``keys`` and weight of the first five."""
    w = pd.to_numeric(p[column], errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(w)
    masks = [~finite, finite & (w < 0), w == 0]
    if frequency:
        masks.append(finite & (w != np.round(w)))
    shown = list(dict.fromkeys([*keys, column]))
    return [
        (int(m.sum()), [tuple(r) for r in p.loc[m, shown].head(5).itertuples(index=False)])
        for m in masks
    ]


def add_weight_checks(a: list, b: list) -> list:
    return [(x[0] + y[0], (x[1] + y[1])[:5]) for x, y in zip(a, b, strict=True)]


def non_finite(p: pd.DataFrame, k: int) -> np.ndarray:
    return (~np.isfinite(values(p, k))).sum(axis=0)


def split_by_code(p: pd.DataFrame, column: str, n: int, size: int) -> list[pd.DataFrame]:
    """The rows in ``n`` pieces by code range of ``column`` (codes below ``size``)."""
    bucket = p[column].to_numpy(dtype=np.int64) * n // max(size, 1)
    order = np.argsort(bucket, kind="stable")
    cuts = np.searchsorted(bucket[order], np.arange(n + 1))
    return [p.iloc[order[cuts[j] : cuts[j + 1]]] for j in range(n)]


def select(p: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    return p[list(columns)]


def concat(*frames: pd.DataFrame) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------- transforms
def drop_singletons(p: pd.DataFrame, column: str) -> tuple[pd.DataFrame, int]:
    """Drop rows alone in their level of ``column`` (levels whole in this partition); the
    rows left and the number dropped."""
    _, inverse, counts = np.unique(p[column].to_numpy(), return_inverse=True, return_counts=True)
    return _kept(p, counts[inverse] > 1)


def drop_flagged(p: pd.DataFrame, column: str, flags: np.ndarray) -> tuple[pd.DataFrame, int]:
    """Drop rows whose level of ``column`` is flagged; the rows left and the number dropped."""
    return _kept(p, ~flags[p[column].to_numpy(dtype=np.intp)])


def _kept(p: pd.DataFrame, keep: np.ndarray) -> tuple[pd.DataFrame, int]:
    if keep.all():
        return p, 0
    return p[keep].reset_index(drop=True), int((~keep).sum())


def level_counts(p: pd.DataFrame, column: str, size: int) -> np.ndarray:
    return np.bincount(p[column].to_numpy(dtype=np.intp), minlength=size)


def _group_means(
    inverse: np.ndarray, v: np.ndarray, groups: int, w: np.ndarray | None = None
) -> np.ndarray:
    """(Weighted) group means of the columns of ``v``."""
    counts = np.bincount(inverse, weights=w, minlength=groups).astype(float)
    wv = _times(v, w)
    sums = np.column_stack(
        [np.bincount(inverse, weights=wv[:, j], minlength=groups) for j in range(v.shape[1])]
    )
    return sums.reshape(groups, v.shape[1]) / counts[:, None]


def _with_values(p: pd.DataFrame, v: np.ndarray) -> pd.DataFrame:
    out = p.copy()
    for j in range(v.shape[1]):
        out[f"__v{j}"] = v[:, j]
    return out


def sweep_local(
    p: pd.DataFrame,
    k: int,
    big: int,
    small: Sequence[int],
    offsets: Sequence[int],
    gamma: np.ndarray | None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """``v - mean_F(v) - (S g - mean_F(S g))`` within the partition (F = ``big``, whole
    here), and the largest absolute F mean of v removed per column."""
    v, w = values(p, k), weights(p)
    groups, inverse = np.unique(codes(p, big), return_inverse=True)
    m = _group_means(inverse, v, len(groups), w)
    new = v - m[inverse]
    if small:
        sg = sum(gamma[codes(p, s) + off] for s, off in zip(small, offsets, strict=True))
        new -= sg - _group_means(inverse, sg, len(groups), w)[inverse]
    largest = np.abs(m).max(axis=0) if len(groups) else np.zeros(k)
    return _with_values(p, new), largest


def level_sums(p: pd.DataFrame, k: int, column: str, size: int) -> np.ndarray:
    """(size x k+1): per level of ``column`` the (weighted) sums of the values, then the
    row count (the weight sum)."""
    c = p[column].to_numpy(dtype=np.intp)
    w = weights(p)
    v = _times(values(p, k), w)
    cols = [np.bincount(c, weights=v[:, j], minlength=size) for j in range(k)]
    total = np.bincount(c, weights=w, minlength=size)
    return np.column_stack([*cols, total]).reshape(size, k + 1)


def subtract_means(
    p: pd.DataFrame, k: int, column: str, means: np.ndarray
) -> tuple[pd.DataFrame, int]:
    return _with_values(p, values(p, k) - means[p[column].to_numpy(dtype=np.intp)]), 0


# ---------------------------------------------------------------------- reductions
def uniques(p: pd.DataFrame, n: int) -> list[np.ndarray]:
    return [np.unique(codes(p, i)) for i in range(n)]


def union_uniques(a: list[np.ndarray], b: list[np.ndarray]) -> list[np.ndarray]:
    return [np.union1d(x, y) for x, y in zip(a, b, strict=True)]


def max_codes(p: pd.DataFrame, n: int) -> np.ndarray:
    return np.array([codes(p, i).max() if len(p) else -1 for i in range(n)])


def column_sums(p: pd.DataFrame, k: int) -> np.ndarray:
    """(Weighted) column sums of the values, then the rows (the weight sum)."""
    w = weights(p)
    total = len(p) if w is None else w.sum()
    return np.concatenate([_times(values(p, k), w).sum(axis=0), [total]])


def by_group(
    p: pd.DataFrame,
    big: int,
    small: Sequence[int],
    offsets: Sequence[int],
    part: Callable[..., np.ndarray],
) -> np.ndarray:
    """``part(groups, codes[, weights])`` on the partition sorted by ``big`` (whole levels
    here); the weights are passed when the rows have them."""
    g = codes(p, big)
    order = np.argsort(g, kind="stable")
    small_codes = [codes(p, s)[order] + off for s, off in zip(small, offsets, strict=True)]
    w = weights(p)
    if w is None:
        return part(g[order], small_codes)
    return part(g[order], small_codes, w[order])


def projected_sums(
    p: pd.DataFrame, k: int, big: int, small: Sequence[int], offsets: Sequence[int], size: int
) -> np.ndarray:
    """(size x k): per small level, the values minus their ``big`` group mean, summed
    (weighted means and sums when weighted)."""
    v, w = values(p, k), weights(p)
    groups, inverse = np.unique(codes(p, big), return_inverse=True)
    d = _times(v - _group_means(inverse, v, len(groups), w)[inverse], w)
    out = np.zeros((size, k))
    for s, off in zip(small, offsets, strict=True):
        c = codes(p, s) + off
        out += np.column_stack([np.bincount(c, weights=d[:, j], minlength=size) for j in range(k)])
    return out


def pairs(p: pd.DataFrame, a: int, b: int) -> np.ndarray:
    return np.unique(np.column_stack([codes(p, a), codes(p, b)]), axis=0)


def union_pairs(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.unique(np.vstack([x, y]), axis=0)


def moments(p: pd.DataFrame, k: int, shift: np.ndarray, intercept: bool) -> tuple:
    """``Z'WZ`` of z = (y, [1], x...), ``z_j = v_j + shift_j``, and the row count."""
    z = values(p, k) + shift
    if intercept:
        z = np.column_stack([z[:, :1], np.ones(len(z)), z[:, 1:]])
    return z.T @ _times(z, weights(p)), len(p)


def add_pair(a: tuple, b: tuple) -> tuple:
    return a[0] + b[0], a[1] + b[1]


def hc_meat(p: pd.DataFrame, resid: Residual | Linear, frequency: bool = False) -> np.ndarray:
    """``sum e^2 x x'``, times w^2 (analytic weights) or w (frequency weights)."""
    e, x = residual_and_design(p, resid)
    w = weights(p)
    e2 = e * e if w is None else e * e * (w if frequency else w * w)
    return (x * e2[:, None]).T @ x


def score_sums(p: pd.DataFrame, resid: Residual | Linear, by: Sequence[str]) -> pd.DataFrame:
    """Per cell of the columns ``by``: ``sum w e x'``."""
    e, x = residual_and_design(p, resid)
    keys = [pd.Series(p[c].to_numpy(), name=c) for c in by]
    return pd.DataFrame(x * _times(e, weights(p))[:, None]).groupby(keys, sort=False).sum()


def add_frames(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    both = pd.concat([a, b])
    return both.groupby(level=list(range(both.index.nlevels)), sort=False).sum()


def value_spans(p: pd.DataFrame, n: int, column: str) -> list[pd.DataFrame]:
    """Per effect set: the smallest and largest value of ``column`` in each level."""
    return [p.groupby(f"__e{i}")[column].agg(["min", "max"]) for i in range(n)]


def merge_spans(a: list[pd.DataFrame], b: list[pd.DataFrame]) -> list[pd.DataFrame]:
    return [
        pd.concat([x, y]).groupby(level=0).agg({"min": "min", "max": "max"})
        for x, y in zip(a, b, strict=True)
    ]


def sums_of_squares(p: pd.DataFrame, resid: Residual | Linear, y_shift: float, centre: float):
    e, _ = residual_and_design(p, resid)
    y = p["__v0"].to_numpy(dtype=float) + y_shift - centre
    w = weights(p)
    return np.array([e @ _times(e, w), y @ _times(y, w)])


def column_scale(p: pd.DataFrame, k: int) -> np.ndarray:
    return np.abs(values(p, k)).max(axis=0) if len(p) else np.zeros(k)


def centred_squares(p: pd.DataFrame, j: int, centre: float) -> float:
    d = p[f"__v{j}"].to_numpy(dtype=float) - centre
    return float(d @ _times(d, weights(p)))
