"""Fitted values and pseudo R-squared of the random effects spatial models.

One definition for SAR, SDM and SEM with ``effects="random"`` (stated in SpatialLag's Notes):
on the data quasi-demeaned with the estimated phi, ``a* = a - (1 - phi) abar_i``,
``fitted = y* - u*`` with ``u* = y* - rho W y* - X* beta`` and ``r2_pseudo =
corr(y*, fitted)^2``. The reference is computed here by hand with pandas group means and
the libpysal W, from the reported params and phi only; the two agree to rounding (1e-10).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.models.spatial import SpatialError, SpatialLag

from .conftest import simulate


@pytest.fixture(scope="module")
def panel_w():
    return simulate(8, 4, rho=0.3, seed=5)


def _by_hand(panel, w, res, lagged: bool) -> tuple[pd.Series, float]:
    data = panel.data
    phi = res.fit_stats["phi"]
    matrix = w.sparse.toarray()  # 64 x 64, ids 0..63 = the panel's sorted entities
    wy = data["y"].unstack()  # entity x year
    wy = pd.DataFrame(matrix @ wy.to_numpy(), index=wy.index, columns=wy.columns).stack()

    def star(a: pd.Series) -> pd.Series:
        return a - (1 - phi) * a.groupby(level=0).transform("mean")

    y = star(data["y"])
    xb = res.params["Intercept"] * phi + sum(  # the intercept column is quasi-demeaned too
        res.params[c] * star(data[c]) for c in ("x1", "x2")
    )
    fitted = xb + (res.params["rho"] * star(wy.reindex(data.index)) if lagged else 0.0)
    return fitted, float(np.corrcoef(y, fitted)[0, 1] ** 2)


@pytest.mark.parametrize("model, lagged", [(SpatialLag, True), (SpatialError, False)])
def test_fitted_and_pseudo_r2_on_quasi_demeaned_data(panel_w, model, lagged):
    panel, w = panel_w
    res = model("y ~ x1 + x2", panel, w=w, effects="random").fit()
    fitted, r2 = _by_hand(panel, w, res, lagged)
    assert_allclose(res.fitted.to_numpy(), fitted.reindex(res.fitted.index), atol=1e-10)
    assert_allclose(res.fit_stats["r2_pseudo"], r2, rtol=1e-10)
    resid = res.residuals + res.fitted  # y* = fitted + residuals
    phi = res.fit_stats["phi"]
    y = panel.data["y"]
    y_star = y - (1 - phi) * y.groupby(level=0).transform("mean")
    assert_allclose(resid.to_numpy(), y_star.reindex(res.fitted.index), atol=1e-10)
