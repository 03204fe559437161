"""The shared Moran's I kernel against esda.Moran, and the three by-period wrappers on it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from esda.moran import Moran
from libpysal.weights import KNN, WSP, lat2W
from numpy.testing import assert_allclose

from spillover import Panel
from spillover.diagnostics.spatial import moran_by_period_stacked
from spillover.diagnostics.specification import moran_by_period
from spillover.errors import SpecificationError
from spillover.measures import morans_i
from spillover.measures._moran import (
    moran,
    moran_permutation_pvalue,
    moran_sums,
    transform_weights,
)
from spillover.weights import Weights

# esda evaluates the same closed forms in the same order of operations on the same sparse
# matrix, so the two agree to rounding; 1e-10 leaves room for a different summation order
RTOL = 1e-10
FIELDS = ["statistic", "expected", "variance_norm", "variance_rand", "z_norm", "z_rand"]
ESDA = ["I", "EI", "VI_norm", "VI_rand", "z_norm", "z_rand", "p_norm", "p_rand"]


def _values(m) -> list[float]:
    return [getattr(m, f) for f in [*FIELDS, "p_norm", "p_rand"]]


def _esda(m) -> list[float]:
    return [float(getattr(m, f)) for f in ESDA]


@pytest.fixture(scope="module")
def knn():
    """Asymmetric 4-nearest-neighbour weights with inverse-distance values (not binary)."""
    rng = np.random.default_rng(5)
    xy = rng.uniform(size=(60, 2))
    w = KNN.from_array(xy, k=4)
    m = sp.csr_array(w.sparse)
    i = np.repeat(np.arange(60), np.diff(m.indptr))
    d = np.linalg.norm(xy[i] - xy[m.indices], axis=1)
    matrix = sp.csr_array((1.0 / d, m.indices, m.indptr), shape=m.shape)
    y = xy @ [2.0, -1.0] + rng.normal(scale=0.3, size=60)  # spatially trending
    return matrix, y


def _libpysal(matrix: sp.csr_array):
    return WSP(sp.csr_matrix(matrix)).to_W(silence_warnings=True)


@pytest.mark.parametrize("how", ["r", "b", "o", "v", "d"])
def test_kernel_equals_esda_for_every_transformation(knn, how):
    matrix, y = knn
    ref = Moran(y, _libpysal(matrix), transformation=how, permutations=0)
    got = moran(y, transform_weights(matrix, how))
    assert_allclose(_values(got), _esda(ref), rtol=RTOL)
    assert got.n == 60 and got.expected == -1 / 59


def test_kernel_one_tailed_and_negative_autocorrelation_equal_esda():
    w = lat2W(7, 7)
    y = np.indices((7, 7)).sum(axis=0).ravel() % 2 + 0.1 * np.arange(49) / 49  # checkerboard
    ref = Moran(y, w, permutations=0, two_tailed=False)
    got = moran(y, transform_weights(sp.csr_array(lat2W(7, 7).sparse), "r"), two_tailed=False)
    assert got.z_norm < -5  # the lower tail is the one taken
    assert_allclose(_values(got), _esda(ref), rtol=RTOL)


def test_kernel_with_an_island_equals_esda():
    a = lat2W(5, 5).sparse.tolil()
    a[12, :] = 0
    a[:, 12] = 0  # cell 12 has no neighbours; its lag is zero
    matrix = sp.csr_array(a.tocsr())
    matrix.eliminate_zeros()
    y = np.random.default_rng(3).normal(size=25)
    ref = Moran(y, _libpysal(matrix), permutations=0)
    assert_allclose(_values(moran(y, transform_weights(matrix, "r"))), _esda(ref), rtol=RTOL)


def test_pooled_kernel_equals_esda_on_the_block_diagonal(knn):
    # I_T (x) W built explicitly for esda only (N = 60, T = 3)
    matrix, _ = knn
    wr = transform_weights(matrix, "r")
    y = np.random.default_rng(8).normal(size=180) + np.tile(knn[1], 3)
    ref = Moran(y, _libpysal(sp.csr_array(sp.block_diag([wr] * 3))), "o", permutations=0)
    assert_allclose(_values(moran(y, wr, n_periods=3)), _esda(ref), rtol=RTOL)


def test_sums_are_libpysal_s0_s1_s2(knn):
    w = _libpysal(knn[0])
    assert_allclose(moran_sums(knn[0]), [w.s0, w.s1, w.s2], rtol=1e-12)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("how", ["r", "b"])
def test_permutation_pvalue_is_esdas_p_sim(knn, ties, how):
    matrix, y = knn
    if ties:
        # a 0/1 variable on a rook lattice: several permuted I equal the observed I in
        # exact arithmetic, and only some do in floating point (8 near-ties, 6 exact with
        # "b"), so the count matches esda's only if the arithmetic is the same to the bit
        matrix = sp.csr_array(lat2W(6, 6).sparse)
        y = np.random.default_rng(4).integers(0, 2, 36).astype(float)
    wt = transform_weights(matrix, how)
    np.random.seed(11)  # noqa: NPY002  (esda permutes with the legacy global generator)
    ref = Moran(y, _libpysal(matrix), transformation=how, permutations=199)
    stat = moran(y, wt).statistic
    assert stat == ref.I
    rng = np.random.RandomState(11)  # the same stream, privately
    got = moran_permutation_pvalue(y, wt, stat, permutations=199, rng=rng)
    assert got == ref.p_sim  # same draws, same arithmetic: the same count


def test_kernel_stays_sparse_at_large_n():
    # a ring of 200,000 units: an N x N dense matrix would need 320 GB
    n = 200_000
    i = np.arange(n)
    ring = sp.csr_array((np.ones(2 * n), (np.r_[i, i], np.r_[(i + 1) % n, (i - 1) % n])))
    y = np.cos(2 * np.pi * i / n) + np.random.default_rng(0).normal(scale=0.1, size=n)
    got = moran(y, transform_weights(ring, "r"))
    assert 0.9 < got.statistic < 1.0 and got.z_norm > 100


def test_unknown_transformation_is_named(knn):
    with pytest.raises(SpecificationError, match="'x'"):
        transform_weights(knn[0], "x")


def test_three_by_period_wrappers_return_the_kernel(knn):
    """morans_i, moran_by_period and moran_by_period_stacked on one balanced panel.

    All three call the kernel; they differ only in input handling (W row-standardised by
    division or by multiplication with 1 / row sum: rounding, hence 1e-12).
    """
    matrix, y0 = knn
    t = 3
    rng = np.random.default_rng(4)
    y = np.concatenate([y0 + rng.normal(size=60) for _ in range(t)])  # time-major
    wr = transform_weights(matrix, "r")
    ref = pd.DataFrame([vars(moran(b, wr)) for b in y.reshape(t, 60)])
    ids = pd.Index([f"r{k:02d}" for k in range(60)])
    keys = pd.MultiIndex.from_product([range(2001, 2001 + t), ids]).swaplevel()
    resid = pd.Series(y, index=keys).sort_index()
    w = Weights(matrix, ids)
    spec = moran_by_period(resid, w)
    stacked = moran_by_period_stacked(y, wr, n_periods=t)
    panel = Panel(resid.rename("e").reset_index(), entity="level_0", time="level_1")
    measure = morans_i(panel, "e", w, permutations=0)
    cols = ["statistic", "expected", "variance_norm", "z_norm", "p_norm"]
    for table in (spec, stacked):
        got = table[["statistic", "expected", "variance", "z", "pvalue"]]
        assert_allclose(got, ref[cols], rtol=1e-12)
    names = ["I", "EI", "z_norm", "p_norm", "z_rand", "p_rand"]
    assert_allclose(
        measure[names], ref[[*cols[:2], "z_norm", "p_norm", "z_rand", "p_rand"]], rtol=1e-12
    )
