"""SpatialMatrix: a sparse W together with what is derived from it, each computed once.

Symmetry, the symmetric similar form, row standardisation, eigenvalues, the spectral
radius, its cheap upper bound and the spatial parameter interval are functions of W alone.
Every consumer used to derive them again; a :class:`SpatialMatrix` computes each on first
use and keeps it (``functools.cached_property``). :class:`spillover.weights.Weights` is a
SpatialMatrix with entity ids, so a model fitted twice, its effects and its diagnostics
share one set of derived facts. The W algebra of this package (log-determinants, traces,
multipliers) accepts a SpatialMatrix, a scipy sparse matrix or a dense array.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp

from spillover._typing import FloatArray
from spillover.linalg import spectral, structure
from spillover.linalg._local import LocalOrder, local_order

#: Names of the cached derived facts (dropped when pickling; recomputed on demand).
CACHED = (
    "is_symmetric",
    "symmetric_similar",
    "is_row_standardised",
    "eigenvalues",
    "spectral_radius",
    "spectral_bound",
    "parameter_bounds",
    "local",
)


@dataclass(frozen=True, eq=False)
class SpatialMatrix:
    """A square sparse weights matrix W and its derived facts, computed once.

    Parameters
    ----------
    matrix : scipy sparse matrix/array or numpy array
        N x N; stored as a float64 ``csr_array`` (see
        :func:`~spillover.linalg.structure.as_csr`), never densified.

    Notes
    -----
    Immutable, so every cached fact stays valid. Pickles without its caches.
    """

    matrix: sp.csr_array

    def __post_init__(self) -> None:
        object.__setattr__(self, "matrix", structure.as_csr(self.matrix))

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in CACHED}

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    @cached_property
    def is_symmetric(self) -> bool:
        """W = W' to rounding (:func:`~spillover.linalg.structure.is_symmetric`)."""
        return structure.is_symmetric(self.matrix)

    @cached_property
    def symmetric_similar(self) -> sp.csr_array | None:
        """A symmetric matrix similar to W, or None
        (:func:`~spillover.linalg.structure.symmetric_similar`)."""
        return structure.symmetric_similar(self.matrix, symmetric=self.is_symmetric)

    @cached_property
    def is_row_standardised(self) -> bool:
        """Nonnegative with unit row sums
        (:func:`~spillover.linalg.structure.is_row_standardised`)."""
        return structure.is_row_standardised(self.matrix)

    @cached_property
    def eigenvalues(self) -> FloatArray:
        """All eigenvalues, from a dense copy (:func:`~spillover.linalg.spectral.eigenvalues`)."""
        return spectral.eigenvalues(self.matrix, self.symmetric_similar)

    @cached_property
    def spectral_radius(self) -> float:
        """max |lambda_i| (:func:`~spillover.linalg.spectral.spectral_radius`)."""
        return spectral.spectral_radius(self.matrix, symmetric=self.is_symmetric)

    @cached_property
    def spectral_bound(self) -> tuple[float, float]:
        """Upper bound on the radius and the constant of ``|1'W^q 1|/N``
        (:func:`~spillover.linalg.spectral.spectral_bound`)."""
        return spectral.spectral_bound(self.matrix)

    @cached_property
    def local(self) -> LocalOrder:
        """W renumbered for fast repeated products at large N
        (:func:`~spillover.linalg._local.local_order`)."""
        return local_order(self.matrix)

    @cached_property
    def parameter_bounds(self) -> tuple[float, float]:
        """``(-1/r, 1/r)``, r the spectral radius: see :func:`parameter_bounds`."""
        if self.is_row_standardised:
            return (-1.0, 1.0)
        if self.matrix.shape[0] <= spectral.EIGEN_MAX_N:
            radius = float(np.abs(self.eigenvalues).max())
        else:
            radius = self.spectral_radius
        return spectral.radius_bounds(radius)


def as_spatial_matrix(w: Any) -> SpatialMatrix:
    """``w`` itself if it is a SpatialMatrix (a Weights is one), else a new SpatialMatrix."""
    return w if isinstance(w, SpatialMatrix) else SpatialMatrix(structure.as_csr(w))


def parameter_bounds(w: Any) -> tuple[float, float]:
    """Interval ``(-1/r, 1/r)`` for a spatial parameter, r the spectral radius of W.

    For a row-standardised (or any nonnegative, row-stochastic) W, r = 1 and the interval
    is (-1, 1), the convention of spreg and of splm without eigenvalues. Otherwise r is the
    largest absolute eigenvalue of W: from all eigenvalues (dense) up to N =
    ``EIGEN_MAX_N``, from ARPACK (:func:`~spillover.linalg.spectral.spectral_radius`) above.
    Cached on a :class:`SpatialMatrix` (and so on a Weights).

    Raises
    ------
    SpecificationError
        If W has no links (r = 0).
    """
    return as_spatial_matrix(w).parameter_bounds
