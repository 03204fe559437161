"""Covariance registry and estimators against linearmodels, plm and closed forms.

linearmodels runs the same arithmetic with the options named in each test, so results
agree to rounding: 1e-8 of sqrt(V_ii V_jj) for whole covariance matrices (tests/accuracy.py:
reassociated sums, ~1e-12, amplified by the conditioning of the demeaned X'X; observed
2e-11 to 7e-11), 1e-8 relative for standard errors; plm's printed values to half a unit in
the last printed digit.
"""

from __future__ import annotations

import numpy as np
import pytest
from linearmodels.panel import PanelOLS
from numpy.testing import assert_allclose

from spillover.errors import SpecificationError
from spillover.inference import Cluster, Conley, DriscollKraay, kernels
from spillover.inference.vcov import absorbed_df, resolve_vcov
from spillover.models import FixedEffects, Pooled
from tests.accuracy import assert_vcov_close
from tests.munnell import FORMULA, PLM, SLOPES


@pytest.fixture(scope="module")
def lm_model(produc):
    frame = produc.data[["log_gsp", *SLOPES]].copy()
    frame.insert(1, "Intercept", 1.0)
    return PanelOLS(frame["log_gsp"], frame[["Intercept", *SLOPES]], entity_effects=True)


def test_robust_is_hc1_with_absorbed_df(produc, lm_model):
    res = FixedEffects(FORMULA, produc).fit(vcov="robust")
    lm = lm_model.fit(cov_type="robust")  # debiased: N / (N - K - (n - 1))
    assert_allclose(res.std_errors, lm.std_errors, rtol=1e-8)
    assert res.df_resid == 816 - 48 - 4


def test_cluster_matches_linearmodels_and_stata_factor(produc, lm_model):
    res = FixedEffects(FORMULA, produc).fit(vcov=Cluster("state"))
    lm = lm_model.fit(
        cov_type="clustered", cluster_entity=True, group_debias=True, count_effects=False
    )
    # linearmodels: N/(N-K) * G/(G-1) (N-1)/N = Stata's G/(G-1) (N-1)/(N-K), state nested
    assert_vcov_close(res.vcov, lm.cov, rtol=1e-8)
    assert res.df_resid == 47
    assert res.vcov_name == "cluster (state), CR1"


def test_cr0_matches_plm_arellano(produc):
    res = FixedEffects(FORMULA, produc).fit(vcov=Cluster("state", small_sample=False))
    ref = PLM["within"]["se_arellano"]
    assert_allclose(res.std_errors[SLOPES], [ref[k] for k in SLOPES], atol=6e-8)
    assert res.df_resid is None


def test_twoway_cluster_cgm(produc, lm_model):
    res = FixedEffects(FORMULA, produc).fit(vcov=Cluster("state", "year", small_sample=False))
    lm = lm_model.fit(
        cov_type="clustered",
        cluster_entity=True,
        cluster_time=True,
        debiased=False,
        group_debias=False,
        auto_df=False,
        count_effects=False,  # entity effects nested in the state clusters (Stata)
    )
    assert_vcov_close(res.vcov, lm.cov, rtol=1e-8)
    cr1 = FixedEffects(FORMULA, produc).fit(vcov=Cluster("state", "year"))
    g, n, k = 17, 816, 5  # G_min = 17 years; state effects nested in state clusters
    factor = g / (g - 1) * (n - 1) / (n - k)
    assert_allclose(cr1.vcov.to_numpy(), res.vcov.to_numpy() * factor, rtol=1e-10)
    assert cr1.df_resid == 16


def test_cluster_keeps_non_nested_effects_in_df(produc):
    res = FixedEffects(FORMULA, produc, effects="twoway").fit(vcov=Cluster("state"))
    hc = FixedEffects(FORMULA, produc, effects="twoway").fit(
        vcov=Cluster("state", small_sample=False)
    )
    n, k, g = 816, 5, 48
    factor = g / (g - 1) * (n - 1) / (n - k - 16)  # year effects (T-1) stay in the df
    assert_allclose(res.vcov.to_numpy(), hc.vcov.to_numpy() * factor, rtol=1e-10)


def test_driscoll_kraay_matches_linearmodels(produc, lm_model):
    res = FixedEffects(FORMULA, produc).fit(vcov=DriscollKraay(lags=3))
    lm = lm_model.fit(cov_type="kernel", kernel="bartlett", bandwidth=3)
    assert_vcov_close(res.vcov, lm.cov, rtol=1e-8)
    assert res.df_resid == 16
    with pytest.raises(SpecificationError, match="below"):
        FixedEffects(FORMULA, produc).fit(vcov=DriscollKraay(lags=17))


def test_kernels_against_brute_force():
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(60, 3))
    groups = rng.integers(0, 7, size=60)
    brute = sum(np.outer(scores[groups == g].sum(0), scores[groups == g].sum(0)) for g in range(7))
    assert_allclose(kernels.cluster_meat(scores, groups), brute, rtol=1e-12)
    time = np.repeat(np.arange(6), 10)
    h = np.array([scores[time == t].sum(0) for t in range(6)])
    brute = sum(
        np.outer(h[t], h[s]) * max(0, 1 - abs(t - s) / 3) for t in range(6) for s in range(6)
    )
    assert_allclose(kernels.driscoll_kraay_meat(scores, time, 2), brute, rtol=1e-12)


def test_absorbed_df_counts_components():
    a = np.array([0, 0, 1, 1, 2, 2])
    b = np.array([0, 1, 0, 1, 2, 3])  # entity 2 and years 2, 3 form a second component
    assert absorbed_df([a, b]) == 3 + 4 - 2 - 1
    assert absorbed_df([a], intercept=False) == 3


def test_registry_names_valid_choices():
    with pytest.raises(SpecificationError, match="DriscollKraay"):
        resolve_vcov("newey", ("unadjusted",))
    with pytest.raises(SpecificationError, match="supports unadjusted"):
        resolve_vcov("ml", ("unadjusted",))
    assert resolve_vcov("HC1", ("robust",)).name == "robust"
    with pytest.raises(SpecificationError):
        Cluster("a", "b", "c")
    with pytest.raises(SpecificationError, match="kernel"):
        Conley(cutoff_km=10, kernel="gauss")
    with pytest.raises(AttributeError):
        Cluster("a").by = ("b",)


def test_unknown_cluster_column_is_named(produc):
    with pytest.raises(SpecificationError, match="county"):
        Pooled(FORMULA, produc).fit(vcov=Cluster("county"))


def test_conley_at_cutoff_zero_is_white(produc):

    # distinct state locations, no serial terms: only i = j pairs remain, i.e. HC0
    res = FixedEffects(FORMULA, produc).fit(vcov=Conley(cutoff_km=0.0))
    hc0 = FixedEffects(FORMULA, produc).fit(vcov="hc0")
    assert_vcov_close(res.vcov, hc0.vcov, rtol=1e-8)  # summation order
    assert res.df_resid is None and res.vcov_name.startswith("Conley")
    wide = FixedEffects(FORMULA, produc).fit(vcov=Conley(cutoff_km=500, lags=2))
    assert np.all(np.isfinite(wide.std_errors)) and not np.allclose(wide.vcov, hc0.vcov)


def test_conley_shows_metric_only_when_it_is_set(produc):
    # default: the CRS decides the metric, and the repr must not claim great circles
    spec = Conley(cutoff_km=100, lags=2)
    assert spec.metric is None and "metric=None" in repr(spec)
    assert Conley(cutoff_km=1, coords=("x", "y")).metric == "haversine"  # coordinate columns
    assert Conley(cutoff_km=1, coords=("x", "y"), metric="euclidean").metric == "euclidean"
    with pytest.raises(SpecificationError, match="coords= columns only"):
        Conley(cutoff_km=100, metric="euclidean")
    with pytest.raises(SpecificationError, match="'haversine' or 'euclidean'"):
        Conley(cutoff_km=1, coords=("x", "y"), metric="manhattan")
    # the printed covariance name is unchanged
    res = FixedEffects(FORMULA, produc).fit(vcov=spec)
    assert res.vcov_name == "Conley (100 km, bartlett, 2 lags)"
