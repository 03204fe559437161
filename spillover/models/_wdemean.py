"""Weighted projection off several effect sets, for the IRLS steps of PPML.

``weighted_demean(x, codes, weights)`` returns the residuals of each column of ``x`` from
a weighted least-squares regression on the dummies of all effect sets: one set is removed
exactly by weighted group means, several by alternating weighted projections with
Irons-Tuck acceleration (as fixest and pyfixest do), stopped when the largest change of a
column, relative to the column's largest absolute value, is below ``tol``.

Every step subtracts a combination of the dummies, so an unconverged result still equals
``x`` minus something in their span: callers may warm-start from a previous result
(``x_tilde_old + (x - x_old)``) and get the same projection.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from spillover._typing import FloatArray, IntArray
from spillover.errors import ConvergenceError


def _weighted_sweep(
    x: FloatArray, codes: Sequence[IntArray], inverse_sums: list[FloatArray], weights: FloatArray
) -> FloatArray:
    """One pass of weighted group-mean removal over every effect set (a new array).

    Works on a column-major copy, so each column is contiguous for ``bincount`` and the
    gather, with one scratch vector for the weighted column.
    """
    x = np.array(x, dtype=float, order="F", copy=True)
    scratch = np.empty(x.shape[0])
    for c, inv in zip(codes, inverse_sums, strict=True):
        for j in range(x.shape[1]):
            column = x[:, j]
            np.multiply(weights, column, out=scratch)
            means = np.bincount(c, weights=scratch, minlength=len(inv))
            means *= inv
            column -= means[c]
    return x


def weighted_demean(
    x: FloatArray,
    codes: Sequence[IntArray],
    weights: FloatArray,
    *,
    tol: float = 1e-10,
    max_iter: int = 10_000,
) -> tuple[FloatArray, int]:
    """Weighted residuals of the columns of ``x`` (n x k) on the effect dummies.

    Returns the residuals and the number of accelerated iterations (0 for one set).

    Raises
    ------
    ConvergenceError
        If the alternating projections have not converged in ``max_iter`` iterations.
    """
    sums = [np.bincount(c, weights=weights, minlength=int(c.max()) + 1) for c in codes]
    with np.errstate(divide="ignore"):
        inverse = [1.0 / s for s in sums]
    sweep = lambda v: _weighted_sweep(v, codes, inverse, weights)  # noqa: E731
    cur = sweep(x)
    if len(codes) == 1:
        return cur, 0
    scale = np.maximum(np.abs(x).max(axis=0), 1e-300)
    change = np.inf
    for it in range(1, max_iter + 1):
        gx = sweep(cur)
        ggx = sweep(gx)
        d_gx = ggx - gx
        d2 = d_gx - gx + cur
        denom = np.einsum("ij,ij->j", d2, d2)
        coef = np.where(denom > 0, np.einsum("ij,ij->j", d_gx, d2) / np.where(denom > 0, denom, 1),
                        0.0)  # fmt: skip
        new = ggx - coef * d_gx
        change = float((np.abs(new - cur).max(axis=0) / scale).max())
        cur = new
        if change < tol:
            return sweep(cur), it
    raise ConvergenceError(
        f"weighted demeaning of {len(codes)} effect sets did not converge in {max_iter} "
        f"iterations (last relative change {change:.2e} > tol {tol:g}); raise max_iter, "
        "or check for weakly connected effects."
    )
