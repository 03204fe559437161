"""LR tests and information criteria of compare_models against independent references:
statsmodels OLS on the transformed data, separately fitted models, and the chi-squared
null distribution the LR df imply (Monte Carlo)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from scipy import stats

from spillover.diagnostics import _comparison, compare_models
from spillover.models.spatial import SpatialDurbin, SpatialError
from spillover.simulate import grid_weights, spatial_panel
from tests.diagnostics.test_model_choice import FORMULA, N_COLS, N_ROWS, T, _transformed


@pytest.fixture(scope="module")
def small():
    w = grid_weights(N_ROWS, contiguity="queen", n_cols=N_COLS).row_standardize()
    sim = spatial_panel(w, T, model="sem", lam=0.4, beta=[1.0, -0.5], effects="twoway", seed=5)
    return sim.panel, w


@pytest.mark.parametrize("effects", ["entity", "twoway"])
def test_slx_criteria_match_statsmodels_ols_on_transformed_data(small, effects):
    # SLX is OLS of the transformed y on (X, WX). statsmodels counts the k coefficients
    # only; we also count sigma^2, so AIC is larger by 2 and BIC by log(n). Same loglik
    # formula, so 1e-10 relative.
    panel, w = small
    y, x, wx, _ = _transformed(panel, w, effects)
    ols = sm.OLS(y, np.column_stack(x + wx)).fit()
    row = compare_models(
        FORMULA, panel, weights={"q": w}, families=["slx"], effects=effects
    ).table.loc[("q", "slx")]
    assert_allclose(row["loglik"], ols.llf, rtol=1e-10)
    assert row["n_params"] == 4 + 1
    assert_allclose(row["aic"], ols.aic + 2, rtol=1e-10)
    assert_allclose(row["bic"], ols.bic + np.log(len(y)), rtol=1e-10)


def test_common_factor_lr_matches_separate_fits(small):
    # SDM against SEM (theta = -rho beta): 2 (loglik_SDM - loglik_SEM) with df = 2 lagged
    # regressors, the log-likelihoods from separately fitted models (same likelihood and
    # search: 1e-8 relative on the statistic, the search tolerance).
    panel, w = small
    res = compare_models(FORMULA, panel, weights={"q": w}, families=["sem", "sdm"])
    lr = res.lr_tests.set_index(["model", "restricted"]).loc[("sdm", "sem")]
    sdm = SpatialDurbin(FORMULA, panel, w=w, effects="entity").fit()
    sem = SpatialError(FORMULA, panel, w=w, effects="entity").fit()
    stat = 2 * (sdm.loglik - sem.loglik)
    assert lr["df"] == 2 and lr["restriction"] == "theta = -rho beta"
    assert_allclose(lr["statistic"], stat, rtol=1e-8)
    assert_allclose(lr["pvalue"], stats.chi2.sf(stat, 2), rtol=1e-7)
    assert len(res.lr_tests) == 1  # only the pair both of whose families were asked for


def test_lr_tests_read_only_the_table():
    # a hand-made table: the statistic, df and p-value follow from loglik and n_params
    idx = pd.MultiIndex.from_tuples(
        [("a", "sdm"), ("a", "sar"), ("a", "slx"), ("b", "sar")], names=["weights", "family"]
    )
    table = pd.DataFrame({"loglik": [-10.0, -13.0, -9.0, -1.0], "n_params": [6, 4, 5, 4]}, idx)
    lr = _comparison.lr_tests(table).set_index(["weights", "model", "restricted"])
    assert list(lr.index) == [("a", "sdm", "sar"), ("a", "sdm", "slx")]
    assert lr.loc[("a", "sdm", "sar"), "statistic"] == 6.0
    assert_allclose(lr.loc[("a", "sdm", "sar"), "pvalue"], np.exp(-3.0))  # chi2(2) sf
    assert lr.loc[("a", "sdm", "slx"), "statistic"] == 0.0  # negative clipped
    assert lr.loc[("a", "sdm", "slx"), "df"] == 1


@pytest.mark.slow
def test_lr_df_give_the_nominal_size_under_the_null():
    # Data from SEM: the SDM-SEM (df 2) and SDEM-SEM (df 2) LR tests reject at 5% in a
    # share of 300 draws whose binomial SE is sqrt(.05 .95 / 300) = 0.013; a wrong df
    # (1 or 3) moves the rate to ~0.15 or ~0.01. Accept 0.02-0.10 (N = 100: small-sample
    # ML size distortion of a few points is expected). Measured: 4.3% and 3.3%.
    w = grid_weights(10, contiguity="queen").row_standardize()
    rng = np.random.default_rng(2026)
    rejections = {("sdm", "sem"): 0, ("sdem", "sem"): 0}
    draws = 300
    for _ in range(draws):
        sim = spatial_panel(w, 5, model="sem", lam=0.4, beta=[1.0, -0.5], seed=rng)
        lr = compare_models(
            FORMULA, sim.panel, weights={"q": w}, families=["sem", "sdm", "sdem"]
        ).lr_tests.set_index(["model", "restricted"])
        for pair in rejections:
            rejections[pair] += lr.loc[pair, "pvalue"] < 0.05
    for pair, count in rejections.items():
        assert 0.02 <= count / draws <= 0.10, f"{pair}: {count} of {draws}"
