"""Scalings of a weights matrix and the terminal report of its structure.

Pure sparse computations: the spectral radius by ARPACK (never a dense N x N
eigendecomposition), the Kelejian-Prucha min(row, column)-sum scale, and
:class:`WeightsSummary`, what :meth:`Weights.describe` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import ArpackNoConvergence, eigs, eigsh

from spillover._validate import preview
from spillover.errors import ConvergenceError, WeightsError

if TYPE_CHECKING:
    from spillover.weights._base import Weights


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


@dataclass(frozen=True)
class WeightsSummary:
    """Structure of a weights matrix, printed as a short terminal report.

    Attributes
    ----------
    name, transform : str
        As on the Weights.
    n, nnz : int
        Entities and non-zero weights.
    symmetric : bool
        Whether w_ij == w_ji (to 1e-12 relative).
    islands : pandas.Index
        Entities without neighbours.
    component_sizes : pandas.Series
        Size of each weakly connected component, largest first (islands count as
        components of size 1).
    cardinalities : pandas.Series
        Neighbours per entity.
    row_sums : pandas.Series
        Sum of each row.
    unit : str
        Distance unit of distance-based weights ("" otherwise).
    """

    name: str
    transform: str
    n: int
    nnz: int
    symmetric: bool
    islands: pd.Index
    component_sizes: pd.Series
    cardinalities: pd.Series
    row_sums: pd.Series
    unit: str = ""

    @classmethod
    def of(cls, w: Weights) -> WeightsSummary:
        _, labels = connected_components(w.matrix, directed=True, connection="weak")
        sizes = pd.Series(np.bincount(labels)).sort_values(ascending=False, kind="stable")
        return cls(
            name=w.name or "unnamed",
            transform=w.transform,
            n=w.n,
            nnz=w.nnz,
            symmetric=w.is_symmetric,
            islands=w.islands,
            component_sizes=sizes.reset_index(drop=True),
            cardinalities=w.cardinalities,
            row_sums=w.row_sums,
            unit=str(w.meta.get("unit", "")),
        )

    @property
    def n_components(self) -> int:
        return len(self.component_sizes)

    def _lines(self) -> list[tuple[str, str]]:
        card, rows = self.cardinalities, self.row_sums
        density = self.nnz / self.n**2 if self.n else 0.0
        comps = f"{self.n_components}"
        if self.n_components > 1:
            comps += f" (sizes {preview(self.component_sizes.tolist(), 6)})"
        islands = "none" if not len(self.islands) else f"{len(self.islands)}: "
        islands += preview(self.islands) if len(self.islands) else ""
        lines = [
            ("entities", f"{self.n}"),
            ("non-zero weights", f"{self.nnz} (density {density:.3%})"),
            ("symmetric", "yes" if self.symmetric else "no"),
            (
                "neighbours",
                f"min {card.min()}, mean {card.mean():.2f}, median {card.median():g}, "
                f"max {card.max()}"
                if self.n
                else "-",
            ),
            ("islands", islands),
            ("connected components", comps),
            ("row sums", f"min {rows.min():.4g}, max {rows.max():.4g}" if self.n else "-"),
        ]
        counts = card.value_counts().sort_index()
        if 1 < len(counts) <= 12:
            lines.append(("neighbour counts", "  ".join(f"{k}:{v}" for k, v in counts.items())))
        if self.unit:
            lines.append(("distance unit", self.unit))
        return lines

    def __str__(self) -> str:
        head = f"Weights {self.name} (transform: {self.transform})"
        body = [f"  {label:<22}{value}" for label, value in self._lines()]
        return "\n".join([head, *body])

    __repr__ = __str__

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers for JSON or tables."""
        card = self.cardinalities
        return {
            "name": self.name,
            "transform": self.transform,
            "n": self.n,
            "nnz": self.nnz,
            "symmetric": self.symmetric,
            "islands": len(self.islands),
            "components": self.n_components,
            "neighbours_min": int(card.min()) if self.n else 0,
            "neighbours_mean": float(card.mean()) if self.n else 0.0,
            "neighbours_max": int(card.max()) if self.n else 0,
        }
