"""Seeds give the same data across versions of spillover.

The numbers below were computed with spillover at commit 7b168a5 (before the simulator's
geographic pool was routed through spillover.measures' pool kernel) and are pinned here
on purpose: they guard the reproducibility of seeds across versions, so that a published
Monte Carlo or example rerun with the same seed gives the same data. They are not
correctness references (other tests check the pools against brute force and the truth
against estimates). A change in the order of random draws moves every value by O(1);
rtol 1e-12 tolerates only a different BLAS or libm in the last bits.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from spillover.simulate import firms, grid_weights, spatial_panel

RTOL = 1e-12

PINNED = {
    True: {  # balanced: firms(300, 4, seed=12345)
        "rows": 1200,
        "keys": [(1, 2000), (2, 2003), (26, 2001), (139, 2003), (300, 2003)],
        "geo_pool": [0.0, 0.8555897908696772, 0.0, 1.2437552674880847, 7.30669035945999],
        "geo_pool_sum": 1180.1488280413782,
        "tech_pool": [
            1419.6577779953234, 1811.4917737919238, 902.3497204275178, 1258.6065550052901,
            1238.8443191955434,
        ],
        "log_wage": [
            3.8854150118489694, 2.9708125229213564, 3.5415308214925765, 4.663130091085032,
            3.5082065828492195,
        ],
        "log_wage_sum": 4292.816675226956,
        "rd_stock": [
            0.33828046977623183, 0.5013409424314783, 5.564202724092893, 30.963841283922672,
            0.9892076466824791,
        ],
    },
    False: {  # unbalanced: firms(300, 4, seed=12345, balanced=False)
        "rows": 919,
        "keys": [(1, 2000), (4, 2000), (31, 2000), (181, 2003), (300, 2003)],
        "geo_pool": [0.0, 0.0, 0.06976396745934675, 1.9631993089811037, 1.0480479357088612],
        "geo_pool_sum": 1006.7540683666193,
        "tech_pool": [
            1270.0061220118873, 806.009649313679, 1725.9421882311474, 1441.1581188394202,
            1093.9130235378423,
        ],
        "log_wage": [
            3.527184165772481, 3.471546784285297, 4.850265489340971, 3.6049879615661835,
            4.283667358288865,
        ],
        "log_wage_sum": 3320.8289356153787,
        "rd_stock": [
            57.70403532531804, 4.6590938843933385, 17.851338720941506, 15.544942121216145,
            29.688003911337148,
        ],
    },
}  # fmt: skip


@pytest.mark.parametrize("balanced", [True, False])
def test_firm_simulator_seed_gives_the_pinned_data(balanced):
    ref = PINNED[balanced]
    data = firms(300, 4, seed=12345, balanced=balanced).panel.data
    assert len(data) == ref["rows"]
    rows = data.loc[ref["keys"]]
    for column in ("geo_pool", "tech_pool", "log_wage", "rd_stock"):
        assert_allclose(rows[column].to_numpy(), ref[column], rtol=RTOL, err_msg=column)
    assert_allclose(data["geo_pool"].sum(), ref["geo_pool_sum"], rtol=RTOL)
    assert_allclose(data["log_wage"].sum(), ref["log_wage_sum"], rtol=RTOL)


def test_spatial_simulator_seed_gives_the_pinned_data():
    w = grid_weights(4).row_standardize()
    sim = spatial_panel(w, 3, model="sdm", rho=0.3, theta=[0.2], seed=7)
    y = sim.panel.data["y"].to_numpy()
    assert_allclose(
        y[[0, 5, 47]], [-2.1929722218887546, -3.176620919784438, -1.3814939856586599], rtol=RTOL
    )
    assert np.isfinite(y).all()
