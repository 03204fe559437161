"""Structural facts of a weights matrix: the one symmetry test, the one symmetric similar
form, the one row-sum test, and the conversion of array input to a ``csr_array``.

Pure functions of a sparse W (never densified). :class:`spillover.linalg.SpatialMatrix`
computes each of them once per W and caches it; everything else in the package asks it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from spillover.errors import WeightsError

#: Entries of W - W' at most this times max(1, max |w_ij|) count as zero (rounding).
SYMMETRY_TOL = 1e-12
#: Row sums within this of 1 make a nonnegative W row-standardised.
ROW_SUM_TOL = 1e-10


def as_csr(w: Any) -> sp.csr_array:
    """A float64, square ``csr_array`` from array input, rows in the order given.

    Accepts a scipy sparse matrix or array, a dense 2-d numpy array, or any object whose
    ``matrix`` attribute is scipy sparse (a :class:`~spillover.linalg.SpatialMatrix`, hence
    a :class:`~spillover.weights.Weights`). Stored entries are kept as they are (explicit
    zeros included); nothing is densified. This converts arrays for the W algebra; user
    input with ids (libpysal objects, weights by period) enters through
    :func:`spillover.weights.as_weights`.

    Raises
    ------
    WeightsError
        If the input is not 2-d or not square.
    """
    matrix = getattr(w, "matrix", w)
    if not sp.issparse(matrix):
        matrix = np.asarray(matrix, dtype=float)
        if matrix.ndim != 2:
            raise WeightsError(f"weights must be a 2-d matrix, got {matrix.ndim} dimension(s).")
    csr = sp.csr_array(matrix, dtype=np.float64)
    if csr.shape[0] != csr.shape[1]:
        raise WeightsError(f"weights matrix must be square, got shape {csr.shape}.")
    return csr


def is_symmetric(w: sp.csr_array) -> bool:
    """True if ``|W - W'| <= SYMMETRY_TOL * max(1, max |w_ij|)`` entrywise.

    The one symmetry test of the package: it picks the symmetric eigensolvers, the
    symmetric similar form, the banded Cholesky log-determinant and the Lanczos spectral
    radius, and is what :attr:`spillover.weights.Weights.is_symmetric` reports.
    """
    diff = w - w.T
    return diff.nnz == 0 or bool(abs(diff).max() <= SYMMETRY_TOL * max(1.0, abs(w).max()))


def symmetric_similar(w: sp.csr_array, *, symmetric: bool | None = None) -> sp.csr_array | None:
    """A symmetric S similar to W, or None: W itself, or ``D^1/2 W D^-1/2``.

    Found when W is symmetric (then S = W), or is a row-standardised binary symmetric
    matrix ``W = D^-1 C`` (D the neighbour counts, the stored entries per row), whose
    ``S = D^1/2 W D^-1/2`` is symmetric. S has the eigenvalues, traces and diagonal powers
    of W, so eigenvalues come from the symmetric solver, ``log|I - rho W|`` from a Cholesky
    factorisation of ``I - rho S``, and traces up to ``order`` from about ``order / 2``
    products (``x' S^(2j) x = |S^j x|^2``).

    Parameters
    ----------
    w : scipy.sparse.csr_array
    symmetric : bool, optional
        :func:`is_symmetric` of ``w`` when already known.
    """
    if is_symmetric(w) if symmetric is None else symmetric:
        return w
    counts = np.diff(w.indptr).astype(float)
    if (counts == 0).any():
        return None
    root = sp.diags_array(np.sqrt(counts))
    inv_root = sp.diags_array(1.0 / np.sqrt(counts))
    s = sp.csr_array(root @ w @ inv_root)
    return s if is_symmetric(s) else None


def unit_row_sums(w: sp.csr_array, *, atol: float = ROW_SUM_TOL) -> bool:
    """True if every row of W sums to 1 within ``atol`` (``W 1 = 1``), whatever the signs."""
    sums = np.asarray(w.sum(axis=1)).ravel()
    return bool(np.allclose(sums, 1.0, rtol=0, atol=atol))


def is_row_standardised(w: sp.csr_array) -> bool:
    """True if W is nonnegative with every row summing to 1 (within ``ROW_SUM_TOL``).

    Such a W is row-stochastic: its spectral radius is exactly 1 (so the spatial parameter
    space is (-1, 1)) and ``W 1 = 1`` (what the Lee-Yu time transformation needs).
    """
    return bool(w.nnz and (w.data >= 0).all() and unit_row_sums(w))
