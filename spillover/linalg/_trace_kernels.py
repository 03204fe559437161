"""Exact trace kernels: input conversion, sparse products with blocks of unit vectors, and
the symmetric similar form of W that halves the products.

Public names are re-exported by :mod:`spillover.linalg.traces`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from spillover._typing import FloatArray
from spillover.errors import WeightsError

_BLOCK = 64


def as_sparse_weights(w: Any) -> sp.csr_array:
    """A float64 ``csr_array`` from a Weights object, a libpysal ``W``/``Graph``, a scipy
    sparse matrix or array, or a dense numpy array (converted; zeros dropped).

    The rows keep the order of the input (for a libpysal object, its ``id_order`` or
    ``unique_ids``); nothing is densified.
    """
    matrix = getattr(w, "matrix", w)
    if not sp.issparse(matrix) and hasattr(matrix, "sparse"):  # libpysal W or Graph
        matrix = matrix.sparse
    if not sp.issparse(matrix):
        matrix = np.asarray(matrix, dtype=float)
        if matrix.ndim != 2:
            raise WeightsError(f"weights must be a 2-d matrix, got {matrix.ndim} dimension(s).")
    csr = sp.csr_array(matrix, dtype=np.float64)
    if csr.shape[0] != csr.shape[1]:
        raise WeightsError(f"weights matrix must be square, got shape {csr.shape}.")
    return csr


def _low_traces(w: sp.csr_array) -> tuple[float, float]:
    """Exact tr(W) and tr(W^2) = sum_ij W_ij W_ji from the sparse entries."""
    t1 = float(w.diagonal().sum())
    t2 = float(w.multiply(w.T).sum())
    return t1, t2


def lm_trace(w: sp.csr_array) -> float:
    """``tr(W'W + W^2)`` from the sparse entries (no product formed): the trace in the LM
    tests for spatial dependence (Anselin's T, Baltagi-Song-Koh's b)."""
    return float(w.multiply(w).sum() + w.multiply(w.T).sum())


def symmetric_form(w: sp.csr_array) -> sp.csr_array | None:
    """A symmetric S = D^1/2 W D^-1/2 with the same traces and diagonal powers as W, or None.

    Found when W is symmetric, or is a row-standardised binary symmetric matrix
    (``W = D^-1 C``, D the neighbour counts). Then ``x' S^(2j) x = |S^j x|^2`` and
    ``x' S^(2j+1) x = (S^j x)'(S^(j+1) x)``: traces up to ``order`` need only about
    ``order / 2`` products.
    """
    if _symmetric(w):
        return w
    counts = np.diff(w.indptr).astype(float)
    if (counts == 0).any():
        return None
    s = sp.csr_array(sp.diags_array(np.sqrt(counts)) @ w @ sp.diags_array(1 / np.sqrt(counts)))
    return s if _symmetric(s) else None


def _symmetric(w: sp.csr_array) -> bool:
    diff = w - w.T
    return diff.nnz == 0 or bool(abs(diff).max() <= 1e-12 * max(1.0, abs(w).max()))


def _quadratic_forms(
    w: sp.csr_array, sym: sp.csr_array | None, x: FloatArray, order: int
) -> FloatArray:
    """``x_r' W^k x_r`` for k = 1..order and each column r of x (shape ``(order, m)``)."""
    forms = np.empty((order, x.shape[1]))
    if sym is None:
        u = x
        for k in range(order):
            u = w @ u
            forms[k] = np.einsum("ij,ij->j", x, u)
        return forms
    prev = x
    for j in range(1, order // 2 + 2):
        if 2 * j - 1 > order:
            break
        cur = sym @ prev
        forms[2 * j - 2] = np.einsum("ij,ij->j", prev, cur)
        if 2 * j <= order:
            forms[2 * j - 1] = np.einsum("ij,ij->j", cur, cur)
        prev = cur
    return forms


def _sparse_traces(w: sp.csr_array, order: int) -> FloatArray:
    """Exact traces from W^k applied to blocks of unit vectors (memory N x block)."""
    n = w.shape[0]
    sym = symmetric_form(w)
    out = np.zeros(order)
    for start in range(0, n, _BLOCK):
        cols = np.arange(start, min(start + _BLOCK, n))
        z = np.zeros((n, len(cols)))
        z[cols, np.arange(len(cols))] = 1.0
        out += _quadratic_forms(w, sym, z, order).sum(axis=1)
    out[: min(order, 2)] = _low_traces(w)[: min(order, 2)]
    return out
