"""A cache-friendly numbering of W for repeated sparse products at large N.

Firm and point data arrive in an arbitrary order, so the neighbours of a row of a
k-nearest-neighbour W are scattered over memory and every product ``W @ X`` misses the
cache. Traces, quadratic forms and fixed-point solves do not depend on how entities are
numbered (``tr(P W P') = tr(W)``, ``P (I - rho W)^-1 P' = (I - rho P W P')^-1``), so the
kernels that repeat products run on ``P W P'`` with P the reverse Cuthill-McKee order of
the pattern of ``W + W'``, which keeps neighbours close in memory. Measured on 10^6 random
points with kNN(10): one product with 16 columns takes 1.5 s in the given order and 0.26 s
in this order (ordering and permuting: about 6 s once per W).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import reverse_cuthill_mckee

from spillover._typing import FloatArray, IntArray

#: N from which the kernels renumber W (below it W fits in cache anyway).
LOCAL_MIN_N = 50_000


@dataclass(frozen=True, eq=False)
class LocalOrder:
    """``matrix = P W P'`` for the permutation ``order`` (row i of it is row order[i] of W).

    ``to_local`` and ``from_local`` move the rows of a vector or (N, m) block between the
    given numbering and this one. With ``order`` None (small N) both are the identity.
    """

    matrix: sp.csr_array
    order: IntArray | None

    def to_local(self, x: FloatArray) -> FloatArray:
        return x if self.order is None else x[self.order]

    def from_local(self, x: FloatArray) -> FloatArray:
        if self.order is None:
            return x
        out = np.empty_like(x)
        out[self.order] = x
        return out


def local_order(w: sp.csr_array, *, min_n: int = LOCAL_MIN_N) -> LocalOrder:
    """The reverse Cuthill-McKee renumbering of W (identity below ``min_n`` rows).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> w = sp.csr_array(np.array([[0, 0, 1.0], [0, 0, 1.0], [0.5, 0.5, 0]]))
    >>> lo = local_order(w, min_n=1)
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> bool(np.allclose(lo.from_local(lo.matrix @ lo.to_local(x)), w @ x))
    True
    """
    n = w.shape[0]
    if n < min_n:
        return LocalOrder(w, None)
    pattern = sp.csr_matrix(w, copy=True)
    pattern.data[:] = 1.0
    order = reverse_cuthill_mckee(pattern + pattern.T, symmetric_mode=True).astype(np.intp)
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = np.arange(n)
    coo = sp.coo_array(w)
    local = sp.csr_array((coo.data, (inverse[coo.row], inverse[coo.col])), shape=w.shape)
    local.sort_indices()
    return LocalOrder(local, order)
