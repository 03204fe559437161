"""Scale: k-nearest and distance-band weights on 1,000,000 firm points, under a minute.

Run with ``.venv/bin/python -m pytest -m slow tests/weights/test_scale.py``. The timed
comparison with libpysal is ``.venv/bin/python -m benchmarks.weights_bench``.
"""

import time
import warnings

import numpy as np
import pytest

from spillover import weights
from tests.accuracy import time_limit

N = 1_000_000
SIDE = 1_000_000.0  # metres


def _nbytes(w):
    m = w.matrix
    return m.data.nbytes + m.indices.nbytes + m.indptr.nbytes


@pytest.fixture(scope="module")
def firms():
    return np.random.default_rng(7).uniform(0, SIDE, size=(N, 2))


@pytest.mark.slow
def test_knn_one_million_points_under_a_minute(firms):
    start = time.perf_counter()
    w = weights.knn(firms, 10, metric="euclidean", ids=np.arange(N))
    elapsed = time.perf_counter() - start
    time_limit(elapsed, 60, "knn(k=10) on 1M points")
    assert w.nnz == 10 * N and (w.cardinalities == 10).all()
    assert _nbytes(w) < 130e6  # sparse: 12 bytes a link plus row pointers, no N x N


@pytest.mark.slow
def test_distance_band_one_million_points_under_a_minute(firms):
    radius = np.sqrt(10 / (np.pi * N / SIDE**2))  # 10 neighbours on average
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few isolated firms form their own groups
        w = weights.distance_band(
            firms, radius, unit="crs", metric="euclidean", ids=np.arange(N), islands="keep"
        )
    elapsed = time.perf_counter() - start
    time_limit(elapsed, 60, "distance band on 1M points")
    # Poisson(10) neighbours per firm, fewer near the square's edges
    assert 9.5 * N < w.nnz < 10.1 * N and w.is_symmetric
    assert _nbytes(w) < 130e6


@pytest.mark.slow
def test_great_circle_knn_one_million_points_under_a_minute():
    rng = np.random.default_rng(8)
    lonlat = np.column_stack([rng.uniform(-10, 30, N), rng.uniform(35, 60, N)])
    start = time.perf_counter()
    w = weights.knn(lonlat, 10, metric="haversine", ids=np.arange(N))
    elapsed = time.perf_counter() - start
    time_limit(elapsed, 60, "great-circle knn on 1M points")
    assert w.nnz == 10 * N
