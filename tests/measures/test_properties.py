"""Property checks on random small panels: pools equal dense masked products, identities hold."""

import numpy as np
import pandas as pd
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from spillover import Panel
from spillover.measures import region_pools, spillover_pool
from spillover.weights import Weights


@st.composite
def panels(draw):
    n = draw(st.integers(2, 8))
    t = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    present = rng.uniform(size=(n, t)) < 0.75
    present[0, :] = True  # every period has a firm
    present[:, 0] = True  # every firm appears
    firm, year = np.nonzero(present)
    df = pd.DataFrame(
        {"firm": firm, "year": year, "k": rng.gamma(2.0, 1.0, len(firm)),
         "region": rng.integers(0, 3, len(firm))}
    )  # fmt: skip
    dense = rng.uniform(size=(n, n)) * (rng.uniform(size=(n, n)) < 0.5)
    return Panel(df, entity="firm", time="year"), present, dense


@settings(max_examples=40, deadline=None)
@given(panels())
def test_pool_is_the_masked_dense_product(case):
    panel, present, dense = case
    w = Weights(sp.csr_array(dense), np.arange(len(dense)))
    got = spillover_pool(panel, "k", w)
    # dense reference: an n x t stock grid with zeros where a firm is absent
    grid = np.zeros(present.shape)
    keys = panel.data.index
    grid[keys.get_level_values(0), keys.get_level_values(1)] = panel.data["k"].to_numpy()
    assert ((grid > 0) == present).all()
    expected = (dense - np.diag(np.diag(dense))) @ grid
    ref = expected[keys.get_level_values(0), keys.get_level_values(1)]
    assert_allclose(got.to_numpy(), ref, rtol=1e-12, atol=1e-12)
    split = region_pools(panel, "k", "region", w=w)
    assert_allclose(split.sum(axis=1), got, rtol=1e-12, atol=1e-12)
    plain = region_pools(panel, "k", "region")
    total = panel.data.groupby(level="year")["k"].transform("sum")
    assert_allclose(plain.sum(axis=1) + panel.data["k"], total, rtol=1e-12)
