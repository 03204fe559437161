"""Spectral radius, spectral bounds and eigenvalues of a weights matrix, in one place.

* :func:`spectral_radius`: max |lambda_i| by ARPACK (never a dense N x N eigenproblem) with
  exact Perron-Frobenius shortcuts; it backs
  :meth:`spillover.weights.Weights.spectral_normalize` and the parameter bounds at large N;
* :func:`eigenvalues`: every eigenvalue, dense (small N: the ``"eigen"`` log-determinant
  and the parameter bounds up to ``EIGEN_MAX_N``);
* :func:`spectral_bound`: a cheap upper bound on the radius (Collatz-Wielandt), for the
  convergence of the power series of the effects;
* :func:`radius_bounds`: the spatial parameter interval ``(-1/r, 1/r)``;
* :func:`minmax_scale`: the Kelejian-Prucha min(row, column)-sum scale.

:class:`spillover.linalg.SpatialMatrix` computes each once per W and caches it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import ArpackNoConvergence, eigs, eigsh

from spillover._typing import FloatArray
from spillover.errors import ConvergenceError, SpecificationError, WeightsError
from spillover.linalg.structure import as_csr, is_symmetric

#: Up to this N the parameter bounds (and ``log_determinant(method="auto")``) use all the
#: eigenvalues of W (a dense N x N copy is made); above, ARPACK's largest one.
EIGEN_MAX_N = 1000


def _constant(sums: Any) -> bool:
    top = float(np.max(np.abs(sums)))
    return top > 0 and float(np.ptp(sums)) <= 1e-13 * top


def spectral_radius(matrix: Any, *, symmetric: bool | None = None) -> float:
    """Largest absolute eigenvalue of a sparse square matrix.

    Parameters
    ----------
    matrix : scipy sparse matrix or array
        Square weights matrix; never densified (except trivially when n < 3).
    symmetric : bool, optional
        :func:`~spillover.linalg.structure.is_symmetric` of the matrix, if known.

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
    symmetric = is_symmetric(m) if symmetric is None else symmetric
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


def eigenvalues(w: sp.csr_array, similar: sp.csr_array | None) -> FloatArray:
    """All eigenvalues of W, dense (small N only): real when a symmetric similar S is given.

    ``similar`` is :func:`~spillover.linalg.structure.symmetric_similar` of W (or None);
    with it the symmetric solver ``eigvalsh`` runs on S, otherwise ``eigvals`` on W.
    """
    if similar is not None:
        return np.linalg.eigvalsh(similar.toarray())
    return np.linalg.eigvals(w.toarray())


def radius_bounds(radius: float) -> tuple[float, float]:
    """``(-1/r, 1/r)``, the interval of a spatial parameter for spectral radius r.

    Raises
    ------
    SpecificationError
        If r = 0 (no links: no spatial model).
    """
    if radius == 0:
        raise SpecificationError("W has spectral radius zero (no links); no spatial model.")
    return (-1.0 / radius, 1.0 / radius)


def spectral_bound(w: Any, *, iterations: int = 40) -> tuple[float, float]:
    """Upper bound r on the spectral radius of W, and C with ``|1'W^q 1|/N <= C r^q``.

    For W with a negative entry: the largest absolute row sum, C = 1. For nonnegative W:
    the Collatz-Wielandt bound ``max_i (W x)_i / x_i`` (at least the Perron root, which is
    the spectral radius) over positive vectors x from a lazy power iteration
    ``x <- (x + W x) / max``, started at x = 1 (the row-sum bound), and
    ``C = mean(x) / min(x)``. Exact (r = 1, C = 1) for row-standardised W; close to 1 for a
    spectrally normalised W whose row sums exceed 1.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> w = sp.csr_array(np.array([[0, 2.0, 0], [0.5, 0, 0.5], [0, 2.0, 0]]))
    >>> r, c = spectral_bound(w)
    >>> bool(abs(r - np.sqrt(2)) < 1e-3)
    True
    """
    csr = as_csr(w)
    n = csr.shape[0]
    rows = np.asarray(np.abs(csr).sum(axis=1)).ravel()
    kappa = float(rows.max()) if n else 0.0
    if not n or (csr.data < 0).any() or np.ptp(rows) <= 1e-12 * max(kappa, 1.0):
        return kappa, 1.0
    x = best_x = np.ones(n)
    best = kappa
    for _ in range(iterations):
        y = csr @ x
        cw = float(np.max(y / x)) * (1 + 1e-12)
        if cw < best:
            best, best_x = cw, x
        x = x + y  # positive: x > 0 and y >= 0
        x = x / x.max()
    return best, float(best_x.mean() / best_x.min())


def minmax_scale(matrix: Any) -> float:
    """tau = min(max row sum, max column sum) of |W| (Kelejian and Prucha 2010)."""
    a = abs(sp.csr_array(matrix, dtype=np.float64))
    tau = min(float(a.sum(axis=1).max()), float(a.sum(axis=0).max()))
    if tau == 0:
        raise WeightsError("an all-zero weights matrix cannot be scaled.")
    return tau
