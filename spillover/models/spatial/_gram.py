"""``log|N|`` and ``z' N^-1 z`` for ``N = I + a (I - lambda W)(I - lambda W)'``, many times.

The random effects spatial error likelihood needs, at every ``(lambda, phi)`` its search
visits (``a = 1/phi^2 - 1 >= 0``, ``B = I - lambda W``), ``log|I + a B'B|`` and the
quadratic form ``zbar' B'B (I + a B'B)^-1 zbar``. By Sylvester's determinant identity and the
push-through identity both are functions of ``N = I + a B B'``:

    log|I + a B'B| = log|N|,    B'B (I + a B'B)^-1 = B' N^-1 B,

so the quadratic form is ``(B zbar)' N^-1 (B zbar)``, a Gram matrix of ``U^-T B zbar`` when
``N = U'U``: one triangular solve, no cancellation. Expanding,

    N = (1 + a) I - a lambda (W + W') + a lambda^2 W W',

so ``I``, ``W + W'`` and ``W W'`` are formed once on their common sparsity pattern and each
``N`` costs one weighted sum of three data vectors (no sparse products). ``N`` is symmetric
positive definite: when its band in reverse Cuthill-McKee order (computed once) is narrow it
is factorised by banded Cholesky (LAPACK ``dpbtrf``, ``dtbtrs``), else by sparse LU
(SuperLU, minimum degree on ``N + N'``). Both are exact; they agree to rounding.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.linalg.lapack import dpbtrf, dtbtrs
from scipy.sparse.csgraph import reverse_cuthill_mckee

from spillover._typing import FloatArray

#: Largest ``N * band^2`` (the work of one banded Cholesky) for which the band is used.
BAND_MAX_WORK = 2e9


class ShiftedGram:
    """``N(lambda, a) = I + a (I - lambda W)(I - lambda W)'`` for one sparse W."""

    def __init__(self, w: sp.csr_array) -> None:
        n = w.shape[0]
        terms = [sp.identity(n, format="coo"), sp.coo_array(w + w.T), sp.coo_array(w @ w.T)]
        rows = np.concatenate([t.row for t in terms]).astype(np.int64)
        cols = np.concatenate([t.col for t in terms]).astype(np.int64)
        keys, where = np.unique(rows * n + cols, return_inverse=True)
        self.n = n
        self._rows, self._cols = keys // n, keys % n
        self._data = np.zeros((3, len(keys)))
        start = 0
        for j, t in enumerate(terms):
            np.add.at(self._data[j], where[start : start + t.nnz], t.data)
            start += t.nnz
        self._band = self._banded_layout()

    def values(self, lam: float, a: float) -> FloatArray:
        """Stored entries of N on the common pattern (rows ``_rows``, columns ``_cols``)."""
        return np.array([1.0 + a, -a * lam, a * lam * lam]) @ self._data

    def logdet_quad(self, lam: float, a: float, z: FloatArray) -> tuple[float, FloatArray]:
        """``log|N|`` and ``z' N^-1 z`` for an (N, K) array z."""
        vals = self.values(lam, a)
        if self._band is not None:
            out = self._cholesky(vals, z)
            if out is not None:
                return out
        m = sp.csc_matrix((vals, (self._rows, self._cols)), shape=(self.n, self.n))
        lu = spla.splu(m, permc_spec="MMD_AT_PLUS_A")
        return float(np.log(np.abs(lu.U.diagonal())).sum()), z.T @ lu.solve(z)

    def _banded_layout(self) -> tuple | None:
        pattern = sp.csr_matrix(
            (np.ones(len(self._rows)), (self._rows, self._cols)), shape=(self.n, self.n)
        )
        perm = reverse_cuthill_mckee(pattern, symmetric_mode=True)
        inverse = np.empty_like(perm)
        inverse[perm] = np.arange(self.n)
        pr, pc = inverse[self._rows], inverse[self._cols]
        upper = pr <= pc
        band = int((pc - pr)[upper].max())
        if self.n * band**2 > BAND_MAX_WORK:
            return None
        slot, col = band + pr[upper] - pc[upper], pc[upper]
        return perm, upper, slot, col, band, np.zeros((band + 1, self.n), order="F")

    def _cholesky(self, vals: FloatArray, z: FloatArray) -> tuple[float, FloatArray] | None:
        perm, upper, slot, col, band, ab = self._band
        ab.fill(0.0)
        ab[slot, col] = vals[upper]
        chol, info = dpbtrf(ab, lower=0, overwrite_ab=1)
        if info != 0:  # not numerically positive definite: sparse LU decides
            return None
        y, info = dtbtrs(chol, z[perm], uplo="U", trans="T", overwrite_b=1)
        if info != 0:  # pragma: no cover - dpbtrf succeeded, so U is nonsingular
            return None
        return 2.0 * float(np.log(chol[band]).sum()), y.T @ y
