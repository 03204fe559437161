"""Spectral radius and norm scale of a weights matrix: pure sparse computations.

The spectral radius by ARPACK (never a dense N x N eigendecomposition) with exact
Perron-Frobenius shortcuts, and the Kelejian-Prucha min(row, column)-sum scale. They back
:meth:`spillover.weights.Weights.spectral_normalize` and
:meth:`~spillover.weights.Weights.minmax_normalize`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import ArpackNoConvergence, eigs, eigsh

from spillover.errors import ConvergenceError, WeightsError


def _constant(sums: Any) -> bool:
    top = float(np.max(np.abs(sums)))
    return top > 0 and float(np.ptp(sums)) <= 1e-13 * top


def spectral_radius(matrix: Any) -> float:
    """Largest absolute eigenvalue of a sparse square matrix.

    Parameters
    ----------
    matrix : scipy sparse matrix or array
        Square weights matrix; never densified (except trivially when n < 3).

    Returns
    -------
    float
        max_k |lambda_k|.

    Raises
    ------
    WeightsError
        If the matrix has no non-zero entry.
    ConvergenceError
        If ARPACK does not converge (it practically always does on weights).

    Notes
    -----
    * Non-negative W whose row sums (or column sums) are all equal, e.g. row-standardised
      or binary k-nearest-neighbour weights: the radius is that common sum exactly
      (Perron-Frobenius), no iteration needed.
    * Symmetric W: Lanczos iteration (``scipy.sparse.linalg.eigsh``, ``which="LM"``,
      ``tol=0``, i.e. machine precision); the eigenvalues are real and the result is
      the exact spectral norm up to rounding.
    * Otherwise: implicitly restarted Arnoldi (``eigs``, ``which="LM"``, ``tol=0``).
      For non-negative W the radius is itself a real eigenvalue (Perron root).
    """
    m = sp.csr_array(matrix, dtype=np.float64)
    n = m.shape[0]
    if m.count_nonzero() == 0:
        raise WeightsError("an all-zero weights matrix has no spectral radius to divide by.")
    if (m.data >= 0).all():
        rows, cols = m.sum(axis=1), m.sum(axis=0)
        if _constant(rows):
            return float(np.max(rows))
        if _constant(cols):
            return float(np.max(cols))
    if n < 3:  # ARPACK needs n >= 3; a 2 x 2 eigenproblem is trivial
        return float(np.max(np.abs(np.linalg.eigvals(m.toarray()))))
    symmetric = abs(m - m.T).max() <= 1e-12 * abs(m).max()
    try:
        return _arpack_radius(m, symmetric, k=1)
    except ArpackNoConvergence:  # equal-modulus eigenvalues (periodic graphs): more room
        try:
            return _arpack_radius(m, symmetric, k=min(n - 2, 6))
        except ArpackNoConvergence as err:
            raise ConvergenceError(
                "ARPACK did not converge to the largest eigenvalue of W; use "
                "w.minmax_normalize() (no eigenvalue needed) instead."
            ) from err


def _arpack_radius(m: sp.csr_array, symmetric: bool, k: int) -> float:
    n = m.shape[0]
    if symmetric:
        vals = eigsh(m, k=min(k, n - 1), which="LM", tol=0, return_eigenvectors=False)
    else:
        ncv = min(n, max(2 * k + 1, 20))
        vals = eigs(m, k=k, which="LM", tol=0, ncv=ncv, return_eigenvectors=False)
    return float(np.max(np.abs(vals)))


def minmax_scale(matrix: Any) -> float:
    """tau = min(max row sum, max column sum) of |W| (Kelejian and Prucha 2010)."""
    a = abs(sp.csr_array(matrix, dtype=np.float64))
    tau = min(float(a.sum(axis=1).max()), float(a.sum(axis=0).max()))
    if tau == 0:
        raise WeightsError("an all-zero weights matrix cannot be scaled.")
    return tau
