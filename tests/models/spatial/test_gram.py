"""``log|I + a B'B|`` and ``zbar' B'B (I + a B'B)^-1 zbar`` of the random effects SEM kernel.

Reference: dense brute force with numpy at small N (``B = I - lambda W`` and the two
matrices formed explicitly, ``slogdet`` and ``solve``), for a symmetric-like rook W
(banded Cholesky path), a non-symmetric k-nearest-neighbour W, and with the band limit set
to zero (sparse LU path). Both sides are exact computations in double precision of
well-conditioned matrices (condition number below 1e3 here): tolerance 1e-10 relative.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from spillover.models.spatial import _gram
from spillover.simulate import grid_weights


def _knn(n: int, k: int, seed: int) -> sp.csr_array:
    rng = np.random.default_rng(seed)
    pts = rng.uniform(size=(n, 2))
    d = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    np.fill_diagonal(d, np.inf)
    nearest = np.argsort(d, axis=1)[:, :k]
    rows = np.repeat(np.arange(n), k)
    return sp.csr_array((np.full(n * k, 1.0 / k), (rows, nearest.ravel())), shape=(n, n))


def _dense(w: sp.csr_array, lam: float, a: float, z: np.ndarray) -> tuple[float, np.ndarray]:
    n = w.shape[0]
    b = np.eye(n) - lam * w.toarray()  # small test matrix only
    c = b.T @ b
    sign, logdet = np.linalg.slogdet(np.eye(n) + a * c)
    assert sign > 0
    return logdet, z.T @ c @ np.linalg.solve(np.eye(n) + a * c, z)


CASES = {
    "rook": sp.csr_array(grid_weights(7).row_standardize().matrix),
    "knn": _knn(60, 4, seed=3),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("banded", [True, False])
@pytest.mark.parametrize(("lam", "a"), [(0.4, 8.0), (-0.7, 0.5), (0.95, 1e-6), (0.0, 3.0)])
def test_matches_dense(name, banded, lam, a, monkeypatch):
    if not banded:
        monkeypatch.setattr(_gram, "BAND_MAX_WORK", 0.0)
    w = CASES[name]
    gram = _gram.ShiftedGram(w)
    assert (gram._band is not None) == banded
    z = np.random.default_rng(1).normal(size=(w.shape[0], 3))
    logdet, quad = gram.logdet_quad(lam, a, z - lam * (w @ z))
    ref_logdet, ref_quad = _dense(w, lam, a, z)
    assert_allclose(logdet, ref_logdet, rtol=1e-10, atol=1e-12)
    assert_allclose(quad, ref_quad, rtol=1e-10, atol=1e-12)
