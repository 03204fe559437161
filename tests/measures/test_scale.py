"""Scale: one spillover pool over 1,000,000 firms with k = 10 nearest neighbours."""

import time

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from spillover import Panel
from spillover.measures import spillover_pool
from spillover.weights import Weights
from spillover.weights._distance import knn_pairs
from tests.accuracy import time_limit


@pytest.mark.slow
def test_million_firm_pool_under_a_minute():
    n, k = 1_000_000, 10
    rng = np.random.default_rng(0)
    xy = np.column_stack([rng.uniform(-10, 30, n), rng.uniform(35, 60, n)])
    i, j, _ = knn_pairs(xy, k, metric="haversine")
    w = Weights(sp.csr_array((np.ones(len(i)), (i, j)), shape=(n, n)), np.arange(n))
    stock = rng.gamma(2.0, 50.0, n)
    panel = Panel(
        pd.DataFrame({"firm": np.arange(n), "year": 2020, "k": stock}), entity="firm", time="year"
    )
    start = time.perf_counter()
    pool = spillover_pool(panel, "k", w)
    time_limit(time.perf_counter() - start, 60, "a pool over 1,000,000 firms")
    # reference: the neighbours' stocks summed directly from the pair list
    ref = np.bincount(i, weights=stock[j], minlength=n)
    np.testing.assert_allclose(pool.to_numpy(), ref, rtol=1e-12)
