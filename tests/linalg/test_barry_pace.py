"""The Barry-Pace log-determinant on asymmetric W against the exact value.

References: numpy's dense ``slogdet`` (LU with partial pivoting, exact to rounding) for
``log|I - rho W|``, and ``-tr(W (I - rho W)^-1)`` from a dense solve for its slope, on
k-nearest-neighbour and row-standardised distance-band W over random points (not
symmetric; kNN is not similar to a symmetric matrix either, so its spectrum is complex).
Tolerance: the kernel's own reported bound (99% Monte Carlo interval plus the truncation
bound), which must hold at every rho of a fixed seed; its coverage over seeds is checked
under the slow marker (95% interval: binomial 3-sigma band around 0.95 for 400 seeds).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from spillover import weights
from spillover.linalg._barry_pace import BarryPace
from spillover.linalg.logdet import log_determinant
from spillover.linalg.matrix import SpatialMatrix

RHOS = [-0.8, -0.4, 0.2, 0.5, 0.8, 0.9]


def _points(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 100, size=(n, 2))


def _knn(n: int, seed: int = 0, k: int = 10) -> sp.csr_array:
    xy = _points(n, seed)
    return weights.knn(xy, k, metric="euclidean", ids=np.arange(n)).row_standardize().matrix


def _band(n: int, seed: int = 0) -> sp.csr_array:
    xy = _points(n, seed)
    w = weights.distance_band(xy, 12.0, unit="crs", binary=False, metric="euclidean",
                              ids=np.arange(n), islands="drop")  # fmt: skip
    return w.row_standardize().matrix


def _exact(w: sp.csr_array, rho: float) -> tuple[float, float]:
    a = np.eye(w.shape[0]) - rho * w.toarray()
    sign, value = np.linalg.slogdet(a)
    assert sign > 0
    slope = -float(np.trace(np.linalg.solve(a, w.toarray())))  # -tr((I - rho W)^-1 W)
    return value, slope


@pytest.mark.parametrize("make", [_knn, _band], ids=["knn10", "distance-band"])
def test_logdet_and_slope_within_reported_bounds(make):
    w = make(500)
    ld = log_determinant(w, method="mc", traces="mc", order=80, draws=30, seed=3)
    kernel = BarryPace.build(SpatialMatrix(w), 80, draws=30, seed=3, traces="mc", level=0.99)
    assert "Barry-Pace" in ld.description and ld.level == 0.99
    for rho in RHOS:
        value, slope = _exact(w, rho)
        assert abs(ld(rho) - value) <= ld.error(rho), rho
        assert abs(kernel.slope(rho) - slope) <= kernel.slope_error(rho), rho
        # not vacuous: below 5e-3 per unit of N (|log|I - rho W|| / N is 0.02 to 0.6 here)
        assert ld.error(rho) < 5e-3 * w.shape[0]


def test_exact_traces_leave_only_the_truncation_bound():
    w = _knn(300)
    ld = log_determinant(w, method="mc", traces="exact", order=20)
    for rho in RHOS:
        value, _ = _exact(w, rho)
        assert abs(ld(rho) - value) <= ld.error(rho)
    # the bound is the truncation tail: tiny at small rho, loose near the edge
    assert ld.error(0.2) < 1e-12 and ld.error(0.9) > 1e-3


def test_refinement_meets_its_truncation_target():
    ld = log_determinant(_knn(300), method="mc", traces="mc", order=20, draws=10, seed=0)
    assert ld.refined(0.1) is None  # already below 1e-10 per unit
    better = ld.refined(0.9)
    assert "order 2" not in better.description  # more terms than 20
    kernel = BarryPace.build(SpatialMatrix(_knn(300)), 20, draws=10, seed=0, traces="mc",
                             level=0.99).extended(200)  # fmt: skip
    assert kernel.truncation(0.9) <= 1e-10 * 300 * 1.0001 or kernel.order == 200
    # extending reuses the probes: the first 20 forms are unchanged
    base = BarryPace.build(SpatialMatrix(_knn(300)), 20, draws=10, seed=0, traces="mc",
                           level=0.99)  # fmt: skip
    np.testing.assert_array_equal(kernel.forms[:20], base.forms)


def test_no_real_spectrum_warning_for_the_series():
    """The series holds for complex spectra; only the Chebyshev kernel warns about them."""
    w = _knn(300)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        log_determinant(w, method="mc", traces="mc", draws=20, seed=0).check(0.4)
        log_determinant(w, method="chebyshev", traces="exact").check(0.4)
    spectrum = [c for c in caught if "real spectrum" in str(c.message)]
    assert len(spectrum) == 1 and "chebyshev" in str(spectrum[0].message)


@pytest.mark.slow
def test_interval_coverage_over_seeds():
    """95% Monte Carlo intervals (truncation negligible at order 100, rho 0.6) cover the
    exact value in 92-98% of 400 seeds (binomial sd 1.1%)."""
    w = _knn(300, seed=1)
    rho = 0.6
    value, _ = _exact(w, rho)
    covered = []
    for seed in range(400):
        kernel = BarryPace.build(SpatialMatrix(w), 100, draws=20, seed=seed, traces="mc",
                                 level=0.95)  # fmt: skip
        assert kernel.truncation(rho) < 1e-3 * kernel.error(rho)
        covered.append(abs(kernel.value(rho) - value) <= kernel.error(rho))
    assert 0.92 <= np.mean(covered) <= 0.98
