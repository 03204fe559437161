"""PanelIV against linearmodels IV2SLS (with explicit dummies) and closed forms.

Same estimator, same data: estimates and covariances agree to rounding (1e-8). The
Cragg-Donald F is rebuilt as a minimum eigenvalue in closed form; the Kleibergen-Paap F
with one endogenous regressor must equal its robust first-stage Wald F.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from linearmodels.iv import IV2SLS
from numpy.testing import assert_allclose

from spillover import Panel
from spillover.errors import SpecificationError
from spillover.inference import Cluster
from spillover.models import PanelIV
from spillover.weights import Weights

FORMULA = "y ~ w + [x1 + x2 ~ z1 + z2 + z3]"
NAMES = ["w", "x1", "x2"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n, t = 25, 8
    df = pd.DataFrame({"firm": np.repeat(np.arange(n), t), "year": np.tile(np.arange(t), n)})
    size = len(df)
    a = rng.normal(size=n)[df.firm]
    z1, z2, z3, e = rng.normal(size=(4, size))
    df["x1"] = z1 + 0.5 * z2 + 0.5 * e + a
    df["x2"] = z2 - 0.3 * z3 + rng.normal(size=size) + 0.3 * e
    df["w"] = rng.normal(size=size)
    df["y"] = 1 + 0.5 * df.x1 - 0.3 * df.x2 + 0.2 * df.w + a + e * (1 + np.abs(z1))
    df["z1"], df["z2"], df["z3"] = z1, z2, z3
    return df


@pytest.fixture(scope="module")
def panel(data):
    return Panel(data, entity="firm", time="year")


def _lm_dummies(data):
    dummies = pd.get_dummies(data.firm, prefix="f", dtype=float)
    exog = pd.concat([data[["w"]], dummies], axis=1)
    return IV2SLS(data.y, exog, data[["x1", "x2"]], data[["z1", "z2", "z3"]]), exog


def test_absorbed_iv_matches_iv2sls_with_dummies(data, panel):
    model = PanelIV(FORMULA, panel, absorb=["firm"])
    lm, _ = _lm_dummies(data)
    for ours, theirs in [("unadjusted", "unadjusted"), ("robust", "robust")]:
        res = model.fit(vcov=ours)
        ref = lm.fit(cov_type=theirs, debiased=True)  # N - K - A, as ours
        assert_allclose(res.params[NAMES], ref.params[NAMES], rtol=1e-8)
        assert_allclose(res.std_errors[NAMES], ref.std_errors[NAMES], rtol=1e-8)
    res = model.fit(vcov=Cluster("firm"))
    ref = lm.fit(cov_type="clustered", clusters=data.firm, debiased=True)
    # linearmodels counts the 24 firm dummies in K; Stata/reghdfe drop effects nested in
    # the clusters: variance ratio (N - K - A) / (N - K) with K = 4 (with intercept)
    n, k, a = len(data), 4, 24
    ratio = (n - k - a) / (n - k)
    assert_allclose(res.vcov.loc[NAMES, NAMES], ref.cov.loc[NAMES, NAMES] * ratio, rtol=1e-8)
    assert res.df_resid == 24


def test_pooled_iv_and_first_stage_match_linearmodels(data, panel):
    res = PanelIV(FORMULA, panel).fit(vcov="robust")
    ref = IV2SLS.from_formula("y ~ 1 + w + [x1 + x2 ~ z1 + z2 + z3]", data).fit(
        cov_type="robust", debiased=True
    )
    assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-8)
    assert_allclose(res.std_errors.to_numpy(), ref.std_errors.to_numpy(), rtol=1e-8)
    diag = ref.first_stage.diagnostics
    assert_allclose(res.first_stage["partial_r2"], diag["partial.rsquared"], rtol=1e-8)
    assert_allclose(res.first_stage["f_stat"], diag["f.stat"] / 3, rtol=1e-6)


def test_cragg_donald_is_the_minimum_eigenvalue(data, panel):
    res = PanelIV(FORMULA, panel, absorb=["firm"]).fit()
    _, exog = _lm_dummies(data)
    ex = exog.to_numpy()

    def part(a):
        return a - ex @ np.linalg.lstsq(ex, a, rcond=None)[0]

    xt, zt = part(data[["x1", "x2"]].to_numpy()), part(data[["z1", "z2", "z3"]].to_numpy())
    fitted = zt @ np.linalg.solve(zt.T @ zt, zt.T @ xt)
    resid = xt - fitted
    sigma = resid.T @ resid / (len(data) - ex.shape[1] - 3)
    root = np.linalg.cholesky(np.linalg.inv(sigma))
    cd = np.linalg.eigvalsh(root.T @ (xt.T @ fitted) @ root).min() / 3
    assert_allclose(res.fit_stats["cragg_donald_f"], cd, rtol=1e-8)
    assert "kleibergen_paap_f" not in res.fit_stats


def test_kleibergen_paap_single_endogenous_equals_robust_first_stage_f(panel):
    for vcov in ("robust", Cluster("firm")):
        res = PanelIV("y ~ w + [x1 ~ z1 + z2]", panel, absorb=["firm"]).fit(vcov=vcov)
        assert_allclose(
            res.fit_stats["kleibergen_paap_f"], res.first_stage.loc["x1", "f_stat"], rtol=1e-8
        )


def test_spatial_lag_instrument(data, panel):
    ids = panel.entities
    n = len(ids)
    rows = np.repeat(np.arange(n), 2)
    cols = np.ravel([[(i - 1) % n, (i + 1) % n] for i in range(n)])
    ring = sp.csr_array((np.full(2 * n, 0.5), (rows, cols)), shape=(n, n))
    res = PanelIV("y ~ w + [x1 ~ z1 + W(z2)]", panel, w=Weights(ring, ids)).fit()
    wide = panel["z2"].unstack()
    lag = pd.DataFrame(ring @ wide.to_numpy(), index=wide.index, columns=wide.columns).stack()
    hand = panel.assign(wz2=lag.reindex(panel.data.index).to_numpy())
    ref = PanelIV("y ~ w + [x1 ~ z1 + wz2]", hand).fit()
    assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-10)
    assert "W_z2" in res.info["instruments"]


def test_bad_formulas_are_explained(panel):
    with pytest.raises(SpecificationError, match="bracket"):
        PanelIV("y ~ x1 + z1", panel)
    with pytest.raises(SpecificationError, match="at least as many"):
        PanelIV("y ~ w + [x1 + x2 ~ z1]", panel)
    with pytest.raises(SpecificationError, match="both"):
        PanelIV("y ~ z1 + [x1 ~ z1]", panel)
