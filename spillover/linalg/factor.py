"""The one factorisation of ``A = I - rho W``: solves with A and ``log|A|``.

:class:`SpatialFilter` factorises A once by sparse LU (SuperLU with the COLAMD column
ordering) and serves every solve and the log-determinant from that factorisation: the
``"lu"`` log-determinant, the information matrix of the spatial ML models, the
Baltagi-Song-Koh traces and the simulators all use it. Two specialisations keep their
speed: :class:`BandedLogdet`, ``log|I - rho S|`` by banded Cholesky of the symmetric
similar S when its band is narrow (log-determinant only), and, for the variance at very
large N, fixed-point iterations instead of LU (``iterate=True``).
:func:`single_blas_thread` keeps threaded BLAS from thrashing in both.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.linalg.lapack import dpbtrf
from scipy.sparse.csgraph import reverse_cuthill_mckee

from spillover._typing import FloatArray
from spillover.errors import ConvergenceError
from spillover.linalg.matrix import as_spatial_matrix

#: With ``iterate=True``, N above which A is not factorised when the fixed-point
#: iterations converge fast enough (``|rho| max_i sum_j |w_ij| < 0.999``).
ITERATE_ABOVE_N = 200_000
#: Columns per SuperLU solve: its solves with many right-hand sides are slow, up to 100x
#: per column with 128 columns against 8 (k-nearest-neighbour W, N = 500 to 40,000,
#: scipy 1.x); blocks of 4-8 columns were fastest at every N measured.
SOLVE_BLOCK = 8
#: The same for W not similar to a symmetric matrix (k-nearest neighbours), whose sparse
#: LU fills in far more: one COLAMD factorisation takes 6.5 s at N = 100,000 for kNN(10)
#: over random points, where 30 fixed-point steps with 10 right-hand sides take 1 s.
ITERATE_ABOVE_N_ASYMMETRIC = 20_000
#: Stopping rule of the fixed-point iterations: last step below this times max |b|.
ITERATE_TOL = 1e-11
#: Largest ``N * bandwidth^2`` for the banded Cholesky log-determinant.
BAND_MAX_WORK = 2e9


class SpatialFilter:
    """``A = I - rho W`` for one W and rho, factorised once; ``solve`` and ``logdet``.

    Parameters
    ----------
    w : SpatialMatrix, scipy sparse or numpy array
        N x N weights.
    rho : float
        The spatial parameter.
    iterate : bool, default False
        Above ``ITERATE_ABOVE_N`` (``ITERATE_ABOVE_N_ASYMMETRIC`` for W not similar to a
        symmetric matrix), and when ``a = |rho| max_i sum_j |w_ij| < 0.999``, solve by the
        fixed-point iterations ``x <- b + rho W x`` instead of factorising A (the
        information matrix and the simulators at large N). They stop when the last step is
        below ``ITERATE_TOL`` times ``max |b|``; the error is then at most that step times
        ``a / (1 - a)`` in every entry. They run on W renumbered for locality
        (:attr:`SpatialMatrix.local`, cached on a Weights). ``logdet`` still factorises.

    Notes
    -----
    A is formed as ``I - rho W`` in compressed sparse columns and factorised by
    ``scipy.sparse.linalg.splu`` with ``permc_spec="COLAMD"``: on asymmetric W (k-nearest
    neighbours) the minimum-degree ordering on A + A' is up to 40x slower (4.2 s against
    0.1 s at N = 20,000; 107 s against 0.3 s at N = 50,000); on symmetric lattices they
    tie. At rho = 0, A = I: nothing is factorised, ``solve`` returns its argument and
    ``logdet`` is 0.
    """

    def __init__(self, w: Any, rho: float, *, iterate: bool = False) -> None:
        self._sm = as_spatial_matrix(w)
        self.w, self.rho = self._sm.matrix, float(rho)
        n = self.w.shape[0]
        self._lu: Any = None
        if self.rho == 0:
            return
        norm = abs(self.rho) * float(np.abs(self.w).sum(axis=1).max())
        if not (iterate and n > self._iterate_above() and norm < 0.999):
            self._factorise()

    def _iterate_above(self) -> int:
        n = self.w.shape[0]
        if n <= ITERATE_ABOVE_N_ASYMMETRIC:
            return ITERATE_ABOVE_N
        return ITERATE_ABOVE_N if self._sm.symmetric_similar is not None else 0

    def _factorise(self) -> None:
        n = self.w.shape[0]
        a = sp.csc_matrix(sp.identity(n, format="csc") - self.rho * self.w)
        self._lu = spla.splu(a, permc_spec="COLAMD")

    def solve(self, b: FloatArray) -> FloatArray:
        """``A^-1 b`` for b of shape (N,) or (N, m) (columns solved ``SOLVE_BLOCK`` at a time)."""
        if self.rho == 0:
            return b
        if self._lu is not None:
            if b.ndim == 1 or b.shape[1] <= SOLVE_BLOCK:
                return self._lu.solve(b)
            out = np.empty(b.shape)
            for start in range(0, b.shape[1], SOLVE_BLOCK):
                out[:, start : start + SOLVE_BLOCK] = self._lu.solve(
                    b[:, start : start + SOLVE_BLOCK]
                )
            return out
        # x_{j+1} = b + r W x_j converges geometrically at rate a = |r| max row sum < 1;
        # stop when the last step is below ITERATE_TOL of b (error <= step a / (1 - a)).
        local = self._sm.local
        w, rhs = local.matrix, local.to_local(b)
        x, scale = rhs.copy(), max(float(np.abs(b).max()), 1e-300)
        for _ in range(10_000):
            new = w @ x
            new *= self.rho
            new += rhs
            np.subtract(new, x, out=x)  # x now holds the step
            step = float(np.abs(x, out=x).max())
            x = new
            if step <= ITERATE_TOL * scale:
                return local.from_local(x)
        raise ConvergenceError("Neumann iterations for (I - rho W)^-1 b did not converge.")

    @property
    def factor_nnz(self) -> int:
        """Entries of the LU factors: the cost of one solve (0 when A = I or not factorised)."""
        return 0 if self._lu is None else int(self._lu.L.nnz + self._lu.U.nnz)

    def logdet(self) -> float:
        """``log|det A| = sum_i log|U_ii|`` from the LU factors."""
        if self.rho == 0:
            return 0.0
        if self._lu is None:
            self._factorise()
        return float(np.log(np.abs(self._lu.U.diagonal())).sum())


class BandedLogdet:
    """``rho -> log|I - rho S|`` by banded Cholesky, S symmetric and similar to W.

    The reverse Cuthill-McKee order of S is computed once; each rho only refills the band
    and calls LAPACK ``dpbtrf``. Where ``I - rho S`` is not positive definite (outside the
    parameter space) the value is ``-inf``. Use :meth:`of` to get one only when it pays.
    """

    def __init__(self, rows: Any, cols: Any, vals: FloatArray, band: int, n: int) -> None:
        self._rows, self._cols, self._vals = rows, cols, vals
        self._band, self._n = band, n

    @classmethod
    def of(cls, similar: sp.csr_array | None) -> BandedLogdet | None:
        """The kernel for S = ``similar``, or None when there is no symmetric similar form,
        S has a non-zero diagonal, or the band is too wide (``N b^2 > BAND_MAX_WORK``)."""
        if similar is None:
            return None
        perm = reverse_cuthill_mckee(sp.csr_matrix(similar), symmetric_mode=True)
        coo = sp.coo_array(similar[perm][:, perm])
        upper = coo.row < coo.col
        rows, cols, vals = coo.row[upper], coo.col[upper], coo.data[upper]
        n = similar.shape[0]
        band = int((cols - rows).max()) if len(rows) else 0
        if n * band**2 > BAND_MAX_WORK or (coo.row == coo.col).any():
            return None
        return cls(rows, cols, vals, band, n)

    def __call__(self, rho: float) -> float:
        band, n = self._band, self._n
        ab = np.zeros((band + 1, n))
        ab[band] = 1.0
        ab[band + self._rows - self._cols, self._cols] = -rho * self._vals
        chol, info = dpbtrf(ab, lower=0, overwrite_ab=1)
        if info != 0:
            return -np.inf  # I - rho S not positive definite: outside the parameter space
        return 2.0 * float(np.log(chol[band]).sum())


def single_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """Context manager limiting BLAS to one thread; wrap repeated factorisations.

    Threaded OpenBLAS is up to 300x slower than one thread on the narrow-band Cholesky of
    the ``"lu"`` log-determinant (measured: 7 ms against 2.4 s at N = 2,500 on a loaded
    2-core machine), and thrashes in SuperLU's multi-column solves. Uses threadpoolctl when
    installed, else does nothing.
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - optional
            _CONTROLLER = False
        else:
            _CONTROLLER = ThreadpoolController()
    if _CONTROLLER is False:  # pragma: no cover - optional
        return contextlib.nullcontext()
    return _CONTROLLER.limit(limits=1, user_api="blas")


_CONTROLLER: Any = None
