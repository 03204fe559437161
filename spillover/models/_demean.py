"""Absorbing effect sets without dummies: exact projections and accelerated alternation.

``Absorber(codes)`` sweeps any number of effect sets (integer codes per observation) out
of the columns of a matrix. The largest set is removed by group means. If the other sets
together have at most ``EXACT_MAX_LEVELS`` levels, their coefficients are then solved
exactly from the small normal equations ``S' M_F S g = S' M_F x`` (S the sparse dummies of
the small sets, M_F the projection off the largest set), built with sparse group sums, so
the usual firm + year (+ region x year) case takes one pass and no iteration. Otherwise
the method of alternating projections runs with Irons-Tuck acceleration (as in fixest)
until the largest change is below ``tol`` times the column scale.

The absorbed rank is exact in the first case (``|F| + rank(S' M_F S)``); in the second it
follows reghdfe (exact for two sets by connected components, one redundant level for each
further set).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from spillover._typing import FloatArray, IntArray
from spillover.errors import ConvergenceError
from spillover.inference.vcov import absorbed_df

EXACT_MAX_LEVELS = 3000


def factorize(values: np.ndarray) -> tuple[IntArray, int]:
    """Integer codes 0..G-1 (hash based, fast for millions of rows) and G."""
    codes, uniques = pd.factorize(np.asarray(values), sort=False)
    return codes.astype(np.intp), len(uniques)


def singleton_mask(codes: Sequence[IntArray]) -> np.ndarray:
    """Rows to keep after iteratively dropping rows alone in a level of any effect set."""
    keep = np.ones(len(codes[0]), dtype=bool)
    while True:
        before = keep.sum()
        for c in codes:
            counts = np.bincount(c[keep], minlength=int(c.max()) + 1)
            keep &= counts[c] > 1
        if keep.sum() == before:
            return keep


def _group_means(x: FloatArray, codes: IntArray, counts: FloatArray) -> FloatArray:
    """Group means of each column of x (2-d), broadcast back to rows."""
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        out[:, j] = (np.bincount(codes, weights=x[:, j], minlength=len(counts)) / counts)[codes]
    return out


class Absorber:
    """Projection off the span of several effect sets, given as integer codes.

    Parameters
    ----------
    codes : sequence of ndarray
        One array of codes 0..G-1 per effect set, all of the same length.
    tol : float, default 1e-10
        Convergence tolerance of the iterative path (maximum absolute change relative to
        the column's scale).
    max_iter : int, default 10_000
    """

    def __init__(self, codes: Sequence[IntArray], *, tol: float = 1e-10, max_iter: int = 10_000):
        self.codes = [factorize(c)[0] for c in codes]
        self.levels = [int(c.max()) + 1 if len(c) else 0 for c in self.codes]
        self.tol = tol
        self.max_iter = max_iter
        self.iterations = 0
        self._counts = [
            np.bincount(c, minlength=g).astype(float)
            for c, g in zip(self.codes, self.levels, strict=True)
        ]
        order = np.argsort(self.levels)[::-1]
        self._big = int(order[0]) if len(order) else -1
        self._small = [int(i) for i in order[1:]]
        small_levels = sum(self.levels[i] for i in self._small)
        self.exact = bool(self._small) and small_levels <= EXACT_MAX_LEVELS
        if self.exact:
            self._setup_exact()

    # ------------------------------------------------------------------ exact path
    def _setup_exact(self) -> None:
        n = len(self.codes[0])
        offsets = np.cumsum([0] + [self.levels[i] for i in self._small])
        cols = np.concatenate(
            [self.codes[i] + off for i, off in zip(self._small, offsets, strict=False)]
        )
        rows = np.tile(np.arange(n), len(self._small))
        s = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, offsets[-1]))
        big = self.codes[self._big]
        f = sp.csr_array((np.ones(n), (big, np.arange(n))), shape=(self.levels[self._big], n))
        sf = (f @ s).tocsr()  # G x L counts
        inv = sp.diags_array(1.0 / self._counts[self._big])
        c = (s.T @ s - sf.T @ inv @ sf).toarray()
        vals, vecs = np.linalg.eigh((c + c.T) / 2)
        keep = vals > vals.max() * 1e-10 * len(vals)
        self._pinv = (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T
        self._rank = int(keep.sum())
        self._s = s

    def _demean_exact(self, x: FloatArray) -> FloatArray:
        big, counts = self.codes[self._big], self._counts[self._big]
        xt = x - _group_means(x, big, counts)
        gamma = self._pinv @ (self._s.T @ xt)
        sg = self._s @ gamma
        return xt - (sg - _group_means(sg, big, counts))

    # ------------------------------------------------------------------ iterative path
    def _sweep(self, x: FloatArray) -> FloatArray:
        for c, counts in zip(self.codes, self._counts, strict=True):
            x = x - _group_means(x, c, counts)
        return x

    def _demean_iterative(self, x: FloatArray) -> FloatArray:
        scale = np.maximum(np.abs(x).max(axis=0), 1e-300)
        cur = self._sweep(x)
        for it in range(1, self.max_iter + 1):
            gx = self._sweep(cur)
            ggx = self._sweep(gx)
            d_gx = ggx - gx
            d2 = d_gx - gx + cur
            denom = np.einsum("ij,ij->j", d2, d2)
            coef = np.where(
                denom > 0, np.einsum("ij,ij->j", d_gx, d2) / np.where(denom > 0, denom, 1), 0.0
            )
            new = ggx - coef * d_gx
            change = (np.abs(new - cur).max(axis=0) / scale).max()
            cur = new
            if change < self.tol:
                self.iterations = it
                return self._sweep(cur)
        raise ConvergenceError(
            f"absorbing {len(self.codes)} effect sets did not converge in {self.max_iter} "
            f"iterations (last relative change {change:.2e} > tol {self.tol:g}); raise "
            "max_iter or tol, or check for weakly connected effects."
        )

    # ------------------------------------------------------------------ public
    def demean(self, x: FloatArray) -> FloatArray:
        """Residuals of each column of ``x`` (n or n x k) on all effect sets."""
        two_d = x.ndim == 2
        x = np.asarray(x, dtype=float).reshape(len(x), -1)
        if self._big < 0:
            out = x.copy()
        elif not self._small:
            out = x - _group_means(x, self.codes[0], self._counts[0])
        elif self.exact:
            out = self._demean_exact(x)
        else:
            out = self._demean_iterative(x)
        return out if two_d else out[:, 0]

    def rank(self) -> int:
        """Rank of the effect dummies together (intercept included)."""
        if self._big < 0:
            return 0
        if self.exact:
            return self.levels[self._big] + self._rank
        if not self._small:
            return self.levels[0]
        return absorbed_df(self.codes, intercept=False)


def absorbed_rank(codes: Sequence[IntArray]) -> int:
    """Rank of the dummies of the given effect sets (exact where the exact path applies)."""
    return Absorber(codes).rank() if codes else 0
