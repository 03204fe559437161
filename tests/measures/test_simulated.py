"""The measures reproduce the pools the firm simulator builds with its own code."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from spillover import simulate
from spillover.measures import rd_stock, spillover_pool, technology_pool


@pytest.fixture(scope="module")
def sim():
    return simulate.firms(400, 5, seed=3, balanced=False)


def test_stock_and_pools_match_the_simulator(sim):
    panel = sim.panel
    assert not panel.is_balanced  # entry and exit: absent firms count as zero in both
    growth = sim.truth.presample_growth
    stock = rd_stock(panel, "rd", depreciation=sim.truth.depreciation, growth=growth)
    # the simulator runs the same recursion in its own code (a loop over years)
    assert_allclose(stock, panel["rd_stock"], rtol=1e-10)
    geo = spillover_pool(panel, "rd_stock", sim.geo_weights)
    assert_allclose(geo, panel["geo_pool"], rtol=1e-10, atol=1e-9)
    tech = technology_pool(panel, "rd_stock", sim.tech_shares)
    assert_allclose(tech, panel["tech_pool"], rtol=1e-10, atol=1e-9)
    assert np.isfinite(tech).all()
