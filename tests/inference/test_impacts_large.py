"""Effects from Monte Carlo traces at N = 2,500 against a dense (I - rho W)^-1 (slow).

The reported ``approximation_error`` bounds truncation plus one (conservative) Monte Carlo
standard error of the direct effect; the actual error must lie within 4 times it, and the
total effect, which needs no traces for row-standardised W, must agree to rounding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.inference.impacts import impacts
from spillover.simulate import grid_weights


@pytest.mark.slow
@pytest.mark.parametrize("rho", [0.3, 0.7])
def test_mc_trace_effects_within_reported_error_at_2500(rho):
    w = grid_weights(50, contiguity="queen").row_standardize().matrix
    names = ["rho", "x1", "W_x1"]
    vcov = pd.DataFrame(np.eye(3) * 1e-4, index=names, columns=names)
    out = impacts(w, model="sdm", rho=rho, beta=pd.Series({"x1": 1.0}),
                  theta=pd.Series({"x1": 0.4}), vcov=vcov, method="delta", traces="mc",
                  seed=0)  # fmt: skip
    a = np.linalg.inv(np.eye(w.shape[0]) - rho * w.toarray())
    s = a @ (np.eye(w.shape[0]) + 0.4 * w.toarray())
    direct, total = np.trace(s) / w.shape[0], s.sum() / w.shape[0]
    est = out.set_index("effect")["estimate"]
    assert abs(est["direct"] - direct) <= 4 * out.attrs["approximation_error"]["x1"]
    assert_allclose(est["total"], total, rtol=1e-10)
    assert out.attrs["traces"] == "mc"
