"""Exact trace kernels: sparse products with blocks of unit vectors, halved with the
symmetric similar form of W (:func:`spillover.linalg.structure.symmetric_similar`).

Public names are re-exported by :mod:`spillover.linalg.traces`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from spillover._typing import FloatArray

_BLOCK = 64


def _low_traces(w: sp.csr_array) -> tuple[float, float]:
    """Exact tr(W) and tr(W^2) = sum_ij W_ij W_ji from the sparse entries."""
    t1 = float(w.diagonal().sum())
    t2 = float(w.multiply(w.T).sum())
    return t1, t2


def lm_trace(w: sp.csr_array) -> float:
    """``tr(W'W + W^2)`` from the sparse entries (no product formed): the trace in the LM
    tests for spatial dependence (Anselin's T, Baltagi-Song-Koh's b)."""
    return float(w.multiply(w).sum() + w.multiply(w.T).sum())


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


def _sparse_traces(w: sp.csr_array, sym: sp.csr_array | None, order: int) -> FloatArray:
    """Exact traces from W^k applied to blocks of unit vectors (memory N x block); ``sym`` is
    the symmetric similar form of W, or None."""
    n = w.shape[0]
    out = np.zeros(order)
    for start in range(0, n, _BLOCK):
        cols = np.arange(start, min(start + _BLOCK, n))
        z = np.zeros((n, len(cols)))
        z[cols, np.arange(len(cols))] = 1.0
        out += _quadratic_forms(w, sym, z, order).sum(axis=1)
    out[: min(order, 2)] = _low_traces(w)[: min(order, 2)]
    return out
