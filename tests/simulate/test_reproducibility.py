"""Seeds give the same data across versions of spillover.

seed_values.json holds values computed with spillover at commit 7b168a5 (before the
simulator's geographic pool was routed through spillover.measures' pool kernel), pinned on
purpose: they guard the reproducibility of seeds across versions, so that a published Monte
Carlo or example rerun with the same seed gives the same data. They are not correctness
references (other tests check the pools against brute force and the truth against
estimates). A change in the order or number of random draws moves the values by O(1);
rtol 1e-12 tolerates only a different BLAS or libm in the last bits.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from numpy.testing import assert_allclose

from spillover.simulate import firms, grid_weights, spatial_panel

PINNED = json.loads((Path(__file__).parent / "seed_values.json").read_text())
RTOL = 1e-12


@pytest.mark.parametrize("kind", ["balanced", "unbalanced"])
def test_firm_simulator_seed_gives_the_pinned_data(kind):
    ref = PINNED["firms"][kind]
    data = firms(300, 4, seed=12345, balanced=kind == "balanced").panel.data
    assert len(data) == ref["rows"]
    rows = data.loc[[tuple(k) for k in ref["keys"]]]
    for column in ("geo_pool", "tech_pool", "log_wage", "rd_stock"):
        assert_allclose(rows[column].to_numpy(), ref[column], rtol=RTOL, err_msg=column)
    assert_allclose(data["geo_pool"].sum(), ref["geo_pool_sum"], rtol=RTOL)
    assert_allclose(data["log_wage"].sum(), ref["log_wage_sum"], rtol=RTOL)


def test_spatial_simulator_seed_gives_the_pinned_data():
    ref = PINNED["spatial_panel"]
    w = grid_weights(4).row_standardize()
    sim = spatial_panel(w, 3, model="sdm", rho=0.3, theta=[0.2], seed=7)
    assert_allclose(sim.panel.data["y"].to_numpy()[ref["rows"]], ref["y"], rtol=RTOL)
