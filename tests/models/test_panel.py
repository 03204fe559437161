"""Standard panel estimators on the Munnell US states panel against linearmodels and plm.

Tolerances: linearmodels runs the same estimator on the same data, so estimates and
classical standard errors agree to rounding (1e-8 relative). plm's printed output carries
8 decimals, so those comparisons use an absolute tolerance of half a unit in the last
printed digit (plus rounding slack).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import statsmodels.api as sm
from linearmodels.panel import BetweenOLS, FirstDifferenceOLS, PanelOLS, PooledOLS
from linearmodels.panel import RandomEffects as LMRandomEffects
from numpy.testing import assert_allclose

from spillover.errors import DroppedRowsWarning, PanelError, SpecificationError
from spillover.inference import Cluster
from spillover.models import Between, FirstDifference, FixedEffects, Pooled, RandomEffects
from spillover.weights import Weights
from tests.munnell import FORMULA, PLM, SLOPES


@pytest.fixture(scope="module")
def lm_data(produc):
    frame = produc.data[["log_gsp", *SLOPES]].copy()
    frame.insert(1, "Intercept", 1.0)
    return frame


def _lm(cls, data, cols, **kw):
    return cls(data["log_gsp"], data[cols], **kw).fit()


def test_pooled_matches_linearmodels_and_statsmodels(produc, lm_data):
    res = Pooled(FORMULA, produc).fit()
    lm = _lm(PooledOLS, lm_data, ["Intercept", *SLOPES])
    assert_allclose(res.params, lm.params, rtol=1e-8)
    assert_allclose(res.std_errors, lm.std_errors, rtol=1e-8)
    ols = sm.OLS(lm_data["log_gsp"], lm_data[["Intercept", *SLOPES]]).fit(cov_type="HC1")
    rob = Pooled(FORMULA, produc).fit(vcov="robust")
    assert_allclose(rob.std_errors, ols.bse, rtol=1e-8)  # HC1 = N/(N-K), as statsmodels
    assert rob.df_resid == 816 - 5


def test_within_matches_linearmodels_and_plm(produc, lm_data):
    res = FixedEffects(FORMULA, produc).fit()
    lm = _lm(PanelOLS, lm_data, ["Intercept", *SLOPES], entity_effects=True)
    assert_allclose(res.params, lm.params, rtol=1e-8)
    assert_allclose(res.std_errors, lm.std_errors, rtol=1e-8)
    # r2 includes the fixed effects (linearmodels' rsquared_inclusive, reghdfe's R2);
    # within, between, overall as linearmodels (one-way: its rsquared is the within R2)
    for key in ("r2", "r2_within", "r2_between", "r2_overall"):
        name = "rsquared_inclusive" if key == "r2" else f"rsquared_{key[3:]}"
        assert_allclose(res.fit_stats[key], getattr(lm, name), rtol=1e-10)
    assert_allclose(res.fit_stats["r2_within"], lm.rsquared, rtol=1e-10)
    ref = PLM["within"]
    assert_allclose(res.params[SLOPES], [ref["coef"][k] for k in SLOPES], atol=6e-9)
    assert_allclose(res.std_errors[SLOPES], [ref["se"][k] for k in SLOPES], atol=6e-9)
    assert res.df_resid == ref["df_resid"]  # N - n - k, as xtreg, fe and plm
    assert_allclose(res.fit_stats["f_stat"], ref["f_stat"], atol=6e-3)  # classical F
    assert res.fixed_effects == ("state",)


def test_twoway_matches_linearmodels(produc, lm_data):
    res = FixedEffects(FORMULA, produc, effects="twoway").fit()
    lm = _lm(PanelOLS, lm_data, ["Intercept", *SLOPES], entity_effects=True, time_effects=True)
    assert_allclose(res.params, lm.params, rtol=1e-8)
    assert_allclose(res.std_errors, lm.std_errors, rtol=1e-8)
    assert res.df_resid == lm.df_resid == 816 - 48 - 17 - 4 + 1
    # within R2 after both effects are swept out: linearmodels' rsquared (fixest's r2_within)
    assert_allclose(res.fit_stats["r2_within"], lm.rsquared, rtol=1e-10)
    assert_allclose(res.fit_stats["r2"], lm.rsquared_inclusive, rtol=1e-10)


def test_time_effects_match_linearmodels(produc, lm_data):
    res = FixedEffects(FORMULA, produc, effects="time").fit()
    lm = _lm(PanelOLS, lm_data, ["Intercept", *SLOPES], time_effects=True)
    assert_allclose(res.params, lm.params, rtol=1e-8)
    assert_allclose(res.std_errors, lm.std_errors, rtol=1e-8)


def test_random_effects_swamy_arora_matches_linearmodels_and_plm(produc, lm_data):
    res = RandomEffects(FORMULA, produc).fit()
    lm = _lm(LMRandomEffects, lm_data, ["Intercept", *SLOPES])
    assert_allclose(res.params, lm.params, rtol=1e-8)
    assert_allclose(res.std_errors, lm.std_errors, rtol=1e-8)
    ref = PLM["random_swamy_arora"]
    names = ["Intercept", *SLOPES]
    assert_allclose(res.params[names], [ref["coef"][k] for k in names], atol=6e-9)
    assert_allclose(res.std_errors[names], [ref["se"][k] for k in names], atol=6e-9)
    assert_allclose(res.fit_stats["sigma2"], ref["sigma2_idiosyncratic"], atol=6e-7)
    assert_allclose(res.fit_stats["sigma2_effects"], ref["sigma2_individual"], atol=6e-7)
    assert_allclose(res.fit_stats["r2_quasi"], ref["r2"], atol=6e-6)  # plm: quasi-demeaned


def test_first_difference_matches_linearmodels(produc, lm_data):
    res = FirstDifference(FORMULA, produc).fit()
    lm = _lm(FirstDifferenceOLS, lm_data, SLOPES)
    assert_allclose(res.params, lm.params, rtol=1e-8)
    assert_allclose(res.std_errors, lm.std_errors, rtol=1e-8)
    assert res.nobs == 48 * 16
    # closed form: OLS on differences by hand
    d = lm_data.groupby(level=0).diff().dropna()
    b = np.linalg.lstsq(d[SLOPES].to_numpy(), d["log_gsp"].to_numpy(), rcond=None)[0]
    assert_allclose(res.params, b, rtol=1e-8)


def test_first_difference_skips_gaps(produc):
    data = produc.data.drop(index=[("AL", 1975)])
    res = FirstDifference(FORMULA, data).fit()
    assert res.nobs == 48 * 16 - 2  # the differences into and out of the gap are missing


def test_between_matches_linearmodels(produc, lm_data):
    res = Between(FORMULA, produc).fit()
    lm = _lm(BetweenOLS, lm_data, ["Intercept", *SLOPES])
    assert_allclose(res.params, lm.params, rtol=1e-8)
    assert_allclose(res.std_errors, lm.std_errors, rtol=1e-8)
    assert res.nobs == 48 and res.df_resid == 43
    with pytest.raises(SpecificationError, match="unadjusted"):
        Between(FORMULA, produc).fit(vcov=Cluster("state"))


def test_slx_term_equals_hand_built_lag(produc):
    ids = produc.entities
    n = len(ids)
    ring = sp.csr_array(
        (
            np.full(2 * n, 0.5),
            (np.repeat(np.arange(n), 2), np.ravel([[(i - 1) % n, (i + 1) % n] for i in range(n)])),
        ),
        shape=(n, n),
    )
    w = Weights(ring, ids)
    res = FixedEffects("log_gsp ~ log_pcap + W(log_pcap)", produc, w=w).fit()
    wide = produc["log_pcap"].unstack()
    lag = pd.DataFrame(ring @ wide.to_numpy(), index=wide.index, columns=wide.columns).stack()
    hand = produc.assign(W_hand=lag.reindex(produc.data.index).to_numpy())
    ref = FixedEffects("log_gsp ~ log_pcap + W_hand", hand).fit()
    assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-10)
    assert "W_log_pcap" in res.params.index


def test_dataframe_input_and_model_unchanged(produc):
    model = FixedEffects(FORMULA, produc.data)
    before = model.design
    first = model.fit()
    second = model.fit(vcov="robust")
    assert model.design is before
    assert_allclose(first.params, second.params)
    assert first.vcov_name == "unadjusted" and second.vcov_name == "robust (HC1)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.params = None
    text = str(second.summary())
    assert "robust (HC1)" in text and "r2_within" in text and "state" in text


def test_bad_inputs_are_named(produc):
    with pytest.raises(SpecificationError, match="twoway"):
        FixedEffects(FORMULA, produc, effects="both")
    with pytest.raises(SpecificationError, match="Cluster"):
        FixedEffects(FORMULA, produc).fit(vcov="sandwich")
    with pytest.raises(PanelError, match="Panel"):
        Pooled(FORMULA, produc.data.reset_index())


PLM_FULL = json.loads((Path(__file__).parents[1] / "references" / "plm_panel.json").read_text())
CASES = {
    "pooling": lambda p: Pooled(FORMULA, p),
    "within": lambda p: FixedEffects(FORMULA, p),
    "within_twoways": lambda p: FixedEffects(FORMULA, p, effects="twoway"),
    "random_swamy_arora": lambda p: RandomEffects(FORMULA, p),
    "fd_no_intercept": lambda p: FirstDifference(FORMULA, p),
    "between": lambda p: Between(FORMULA, p),
}


@pytest.mark.parametrize("case", list(CASES))
def test_matches_plm_full_precision(produc, case):
    """plm (tests/references/plm_panel.R) at full precision: same estimators, 1e-7."""
    ref = PLM_FULL[case]
    model = CASES[case](produc)
    res = model.fit()
    names = list(ref["coef"])
    assert_allclose(res.params[names], [ref["coef"][k] for k in names], rtol=1e-7)
    assert_allclose(res.std_errors[names], [ref["se"][k] for k in names], rtol=1e-7)
    assert res.nobs == ref["nobs"] and res.df_resid == ref["df_resid"]
    if case == "between":
        return
    # plm's vcovHC(method = "arellano", type = "HC0") is CR0 by entity on the transformed data
    cr0 = model.fit(vcov=Cluster("state", small_sample=False))
    arellano = ref["se_arellano_hc0"]
    assert_allclose(cr0.std_errors[names], [arellano[k] for k in names], rtol=1e-7)


# ---------------------------------------------------------------------- calendar time
def test_first_difference_does_not_bridge_a_year_missing_from_the_panel(produc):
    # 1980 absent for all states: 1979 -> 1981 is two years, not a first difference
    # (Stata's D. under xtset); linearmodels differences across it (positions)
    gapped = produc.subset(periods=[y for y in produc.periods if y != 1980])
    with pytest.warns(DroppedRowsWarning, match="dropped 48 rows: no observation .* one time"):
        res = FirstDifference(FORMULA, gapped).fit()
    assert res.nobs == 48 * 14  # 1971-1979 and 1982-1986 differences
    # reference: pandas differences on the full calendar grid, then least squares
    data = gapped.data[["log_gsp", *SLOPES]]
    full = data.reindex(pd.MultiIndex.from_product([produc.entities, produc.periods]))
    d = full.groupby(level=0).diff().dropna()
    b = np.linalg.lstsq(d[SLOPES].to_numpy(), d["log_gsp"].to_numpy(), rcond=None)[0]
    assert_allclose(res.params, b, rtol=1e-8)  # same least squares (module docstring)
    assert FirstDifferenceOLS(data["log_gsp"], data[SLOPES]).fit().nobs == 48 * 15


def test_first_difference_of_spaced_waves_asks_for_wave_numbers(produc):
    waves = produc.subset(periods=[y for y in produc.periods if y % 2 == 0])
    with pytest.raises(SpecificationError, match=r"wave number, e.g. \(year - first_year\) // k"):
        FirstDifference(FORMULA, waves).fit()
    d = waves.data.reset_index()
    d["year"] = (d["year"] - 1970) // 2
    res = FirstDifference(FORMULA, d.set_index(["state", "year"])).fit()
    lm = FirstDifferenceOLS(waves.data["log_gsp"], waves.data[SLOPES]).fit()
    assert_allclose(res.params, lm.params, rtol=1e-8)  # wave to wave, as linearmodels
