"""PoissonHDFE against pyfixest ``fepois`` (run here), separation cases from the ppmlhdfe
documentation, offsets and exposure, and refused inputs.

Tolerance of the pyfixest comparisons: we iterate IRLS until the relative deviance change
|D_r - D_r-1| / (0.1 + |D_r|) is below 1e-13 and demean to 1e-13 (relative), pyfixest
until 1e-15 with its demeaning at 1e-13. The deviance is quadratic near the optimum, so
the last step d has d'Hd of order tol * D and, IRLS converging quadratically, the final
coefficient error is of order |d|^2, far below 1e-8 (observed: 5e-15 or less).
pyfixest builds its covariance with the IRLS weights of the iterate before its last step,
so its SEs differ from the sandwich at the estimates by about the size of that step, and
a deviance criterion cannot see steps below about sqrt(machine epsilon) = 1.5e-8 (they
change D by less than rounding). Observed SE differences: 1.5e-9 (one-way: pyfixest stops
before that extra step even at 1e-15), 2e-15 (two- and three-way, where iwls_tol=1e-15
makes it take the extra step; at 1e-13 they are 3e-9). So 1e-8 on SEs holds with a margin
of about 7, set by pyfixest's convention, not by either solver's accuracy.
"""

from __future__ import annotations

import pickle
import warnings
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.errors import ConvergenceError, DroppedRowsWarning, SpecificationError
from spillover.inference import Cluster, Conley, DriscollKraay
from spillover.models import PoissonHDFE
from spillover.report import regression_table
from tests.models._pyfixest import PF_TIGHT, TIGHT, pf_demeaner

pf = pytest.importorskip("pyfixest")
#: The simulated panel has 14 firms with y = 0 throughout (112 rows), dropped as separated;
#: the tests that count them check the warning.
pytestmark = pytest.mark.filterwarnings("ignore::spillover.errors.DroppedRowsWarning")


@pytest.fixture(scope="module")
def counts() -> pd.DataFrame:
    """Firm-year counts with firm, year and region-by-year effects; no singletons."""
    rng = np.random.default_rng(20261202)
    n_firms, n_years = 400, 8
    idx = pd.MultiIndex.from_product([range(n_firms), range(2000, 2000 + n_years)],
                                     names=["firm", "year"])  # fmt: skip
    n = len(idx)
    region = np.repeat(rng.integers(0, 12, n_firms), n_years)
    df = pd.DataFrame(
        {"x1": rng.normal(size=n), "x2": rng.gamma(2.0, size=n), "region": region,
         "exposure": rng.uniform(0.5, 3.0, n)},
        index=idx,
    )  # fmt: skip
    year = idx.get_level_values("year").to_numpy() - 2000
    firm_fe = np.repeat(rng.normal(0, 0.7, n_firms), n_years)
    year_fe = rng.normal(0, 0.3, n_years)[year]
    region_year_fe = rng.normal(0, 0.2, (12, n_years))[region, year]
    eta = 0.4 * df.x1 - 0.15 * df.x2 + firm_fe + year_fe + region_year_fe
    df["y"] = rng.poisson(np.exp(eta))
    df["region_year"] = df.region * 10_000 + year
    return df


EFFECTS = {
    "one-way": (["firm"], "firm"),
    "two-way": (["firm", "year"], "firm + year"),
    "three-way": (["firm", "year", "region:year"], "firm + year + region_year"),
}
VCOVS = {
    "iid": ("unadjusted", "iid"),
    "hetero": ("robust", "hetero"),
    "CRV1 firm": (Cluster("firm"), {"CRV1": "firm"}),
    "CRV1 region": (Cluster("region"), {"CRV1": "region"}),
    "CRV1 firm+year": (Cluster("firm", "year"), {"CRV1": "firm+year"}),
}


@pytest.fixture(scope="module")
def ours(counts):
    with pytest.warns(DroppedRowsWarning, match="112 rows: separated"):  # firms with y = 0
        return {k: PoissonHDFE("y ~ x1 + x2", counts, absorb=a, **TIGHT)
                for k, (a, _) in EFFECTS.items()}  # fmt: skip


@pytest.mark.parametrize("vcov", list(VCOVS))
@pytest.mark.parametrize("effects", list(EFFECTS))
def test_matches_pyfixest_fepois(counts, ours, effects, vcov):
    ours_vcov, pf_vcov = VCOVS[vcov]
    res = ours[effects].fit(vcov=ours_vcov)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.fepois(f"y ~ x1 + x2 | {EFFECTS[effects][1]}", counts.reset_index(),
                        vcov=pf_vcov, demeaner=pf_demeaner(), **PF_TIGHT)  # fmt: skip
    assert res.nobs == ref._N
    assert_allclose(res.params.to_numpy(), ref.coef().to_numpy(), rtol=1e-8)
    assert_allclose(res.std_errors.to_numpy(), ref.se().to_numpy(), rtol=1e-8)
    ci = ref.confint(alpha=0.05).to_numpy()  # normal quantiles in both
    assert_allclose(res.conf_int(0.95).to_numpy(), ci, rtol=1e-8)
    assert_allclose(res.fit_stats["deviance"], ref.deviance, rtol=1e-8)
    assert_allclose(res.fit_stats["loglik"], ref._loglik, rtol=1e-8)
    assert_allclose(res.fit_stats["pseudo_r2"], ref._pseudo_r2, rtol=1e-8)


def test_offset_matches_pyfixest_and_exposure(counts):
    data = counts.assign(log_exposure=np.log(counts.exposure))
    res = PoissonHDFE("y ~ x1 + x2", data, absorb=["firm", "year"], offset="log_exposure",
                      **TIGHT).fit(vcov="robust")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.fepois("y ~ x1 + x2 | firm + year", data.reset_index(), offset="log_exposure",
                        vcov="hetero", demeaner=pf_demeaner(), **PF_TIGHT)  # fmt: skip
    assert_allclose(res.params.to_numpy(), ref.coef().to_numpy(), rtol=1e-8)
    assert_allclose(res.std_errors.to_numpy(), ref.se().to_numpy(), rtol=1e-8)
    by_exposure = PoissonHDFE("y ~ x1 + x2", data, absorb=["firm", "year"],
                              exposure="exposure", **TIGHT).fit(vcov="robust")  # fmt: skip
    assert_allclose(by_exposure.params, res.params, rtol=1e-10)


def test_doubling_exposure_leaves_slopes_unchanged(counts):
    """A constant factor on exposure is absorbed by the effects (and the intercept)."""
    base = PoissonHDFE("y ~ x1 + x2", counts, absorb=["firm"], exposure="exposure", **TIGHT)
    doubled = PoissonHDFE("y ~ x1 + x2", counts.assign(exposure=2 * counts.exposure),
                          absorb=["firm"], exposure="exposure", **TIGHT)  # fmt: skip
    assert_allclose(doubled.fit().params, base.fit().params, rtol=1e-10)
    assert_allclose(doubled.fit().std_errors, base.fit().std_errors, rtol=1e-8)


def test_no_effects_matches_statsmodels_glm(counts):
    """Without effects: statsmodels' Poisson GLM (its IRLS to 1e-12, our deviance to 1e-13)."""
    sm = pytest.importorskip("statsmodels.api")
    res = PoissonHDFE("y ~ x1 + x2", counts, **TIGHT).fit(vcov="robust")
    x = sm.add_constant(counts[["x1", "x2"]])
    ref = sm.GLM(counts.y, x, family=sm.families.Poisson()).fit(tol=1e-12, cov_type="HC0")
    assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-8)
    n, k = x.shape
    hc0 = ref.bse.to_numpy() * np.sqrt(n / (n - k))
    assert_allclose(res.std_errors.to_numpy(), hc0, rtol=1e-7)


def test_other_covariances_run_from_the_poisson_scores(counts):
    """Driscoll-Kraay and Conley: the registry kernels on the Poisson scores and bread."""
    model = PoissonHDFE("y ~ x1 + x2", counts, absorb=["firm", "year"])
    dk = model.fit(vcov=DriscollKraay(lags=2))
    assert dk.vcov_name.startswith("Driscoll-Kraay") and np.isfinite(dk.std_errors).all()
    coords = counts.assign(lat=counts.region * 0.5 + 45.0, lon=counts.region * 0.3 + 5.0)
    model = PoissonHDFE("y ~ x1 + x2", coords, absorb=["firm", "year"])
    conley = model.fit(vcov=Conley(cutoff_km=100, coords=("lat", "lon"), metric="haversine"))
    assert np.isfinite(conley.std_errors).all()


def test_results_interface(counts, ours):
    res = ours["two-way"].fit(vcov=Cluster("firm"))
    assert set(res.fit_stats) >= {"deviance", "loglik", "pseudo_r2"}
    assert res.info["iterations"] > 0 and res.info["separated dropped"] == 112
    assert pickle.loads(pickle.dumps(res)).params.equals(res.params)
    assert "x1" in str(res.summary())
    assert "x1" in regression_table([res]).to_markdown()


# ---------------------------------------------------------------------------- separation
def test_primer_fe_separation_drops_the_all_zero_individual():
    """ppmlhdfe separation primer, ``sep(fe)``: id 1 has y = 0 throughout, 2 rows dropped."""
    idx = pd.MultiIndex.from_arrays([[1, 1, 2, 2, 3, 3], range(6)], names=["id", "t"])
    df = pd.DataFrame({"y": [0, 0, 0, 1, 2, 3], "x": [0.3, -1.0, 0.5, 0.1, -0.4, 0.8]}, index=idx)
    with pytest.warns(DroppedRowsWarning, match="dropped 2 rows: separated"):
        model = PoissonHDFE("y ~ x", df, absorb=["id"])
    assert model.n_separated == 2
    assert model.fit().nobs == 4
    with pytest.raises(SpecificationError, match="2 observations are separated"):
        PoissonHDFE("y ~ x", df, absorb=["id"], separation="raise")


def _csv_panel(text: str) -> pd.DataFrame:
    df = pd.read_csv(StringIO(text))
    return df.assign(row=range(len(df)), t=0).set_index(["row", "t"])


#: ppmlhdfe guides/csv/fe2.csv: i = 1 has y = 0 throughout (4 rows); dropping them leaves
#: row 4 alone and zero in j = 2, then row 7 a singleton: 6 rows go, rows 5 and 6 remain.
FE2 = "y,x1,i,j\n0,-3,1,2\n0,0,1,8\n0,0,1,10\n0,10,1,10\n0,5,2,2\n1,3,3,9\n2,2,3,9\n3,2,2,8\n"
#: ppmlhdfe guides/csv/fe3.csv: levels i = 4, i = 8, j = 4, j = 5, j = 6 have y = 0
#: throughout: rows 4, 5, 6, 7, 8, 10, 11 are separated; no singletons follow.
FE3 = (
    "y,x1,i,j\n0,0,1,1\n0,3,1,1\n0,-2,1,1\n0,2,1,3\n0,2,1,5\n0,0,1,6\n0,7,4,1\n0,1,4,4\n"
    "0,2,4,5\n0,1,6,1\n0,-2,8,4\n0,3,8,6\n1,-5,1,1\n1,1,1,3\n5,-2,6,3\n7,2,1,3\n"
)


def test_ppmlhdfe_fe2_separation_then_singletons():
    with pytest.warns(DroppedRowsWarning):
        model = PoissonHDFE("y ~ x1", _csv_panel(FE2), absorb=["i", "j"])
    assert model.n_separated + model.n_singletons == 6
    assert model._keep.nonzero()[0].tolist() == [5, 6]


def test_ppmlhdfe_fe3_separated_rows():
    with pytest.warns(DroppedRowsWarning, match="dropped 7 rows: separated"):
        model = PoissonHDFE("y ~ x1", _csv_panel(FE3), absorb=["i", "j"])
    assert (~model._keep).nonzero()[0].tolist() == [4, 5, 6, 7, 8, 10, 11]
    assert model.n_singletons == 0


# ---------------------------------------------------------------------------- bad inputs
def test_negative_outcome_is_refused_and_named(counts):
    bad = counts.assign(y=counts.y.where(counts.x1 < 2.5, -1))
    with pytest.raises(SpecificationError, match="non-negative outcome"):
        PoissonHDFE("y ~ x1", bad, absorb=["firm"])


def test_non_integer_outcome_is_allowed(counts):
    """PPML only needs E[y|x] = exp(x'b) and y >= 0: rates and shares are fine."""
    res = PoissonHDFE("y ~ x1", counts.assign(y=counts.y * 0.37), absorb=["firm"]).fit()
    ref = PoissonHDFE("y ~ x1", counts, absorb=["firm"]).fit()
    assert_allclose(res.params, ref.params, rtol=1e-6)


def test_all_zero_outcome_is_refused(counts):
    with pytest.raises(SpecificationError, match="zero in every row"):
        PoissonHDFE("y ~ x1", counts.assign(y=0), absorb=["firm"])


def test_collinear_regressors_are_named(counts):
    with pytest.raises(SpecificationError, match="x3"):
        PoissonHDFE("y ~ x1 + x3", counts.assign(x3=2 * counts.x1), absorb=["firm"])
    with pytest.raises(SpecificationError, match="region"):
        PoissonHDFE("y ~ x1 + region", counts, absorb=["firm"])


def test_bad_exposure_and_options(counts):
    with pytest.raises(SpecificationError, match="positive"):
        PoissonHDFE("y ~ x1", counts.assign(exposure=0.0), absorb=["firm"], exposure="exposure")
    with pytest.raises(SpecificationError, match="separation"):
        PoissonHDFE("y ~ x1", counts, absorb=["firm"], separation="ignore")


def test_non_convergence_names_the_criterion(counts):
    with pytest.raises(ConvergenceError, match="relative deviance change"):
        PoissonHDFE("y ~ x1", counts, absorb=["firm", "year"], max_iter=2).fit()


# ---------------------------------------------------------------------------- W(x) terms
def test_spatial_lag_terms_equal_the_precomputed_lag(states, queen):
    """``W(x)`` in the formula is the same regressor as the lag built by hand, and the fit
    matches pyfixest on that column (tolerance as above)."""
    from spillover.models._formula import spatial_lag_panel

    data = states.data.assign(
        gsp=np.exp(states.data.log_gsp - 9), w_pcap=spatial_lag_panel(states, "log_pcap", queen)
    )
    panel = type(states)(data, entity="state", time="year", geo=states.geo)
    by_w = PoissonHDFE("gsp ~ log_pc + W(log_pcap)", panel, w=queen, absorb=["state", "year"],
                       **TIGHT).fit(vcov=Cluster("state"))  # fmt: skip
    by_hand = PoissonHDFE("gsp ~ log_pc + w_pcap", panel, absorb=["state", "year"],
                          **TIGHT).fit(vcov=Cluster("state"))  # fmt: skip
    assert_allclose(by_w.params.to_numpy(), by_hand.params.to_numpy(), rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.fepois("gsp ~ log_pc + w_pcap | state + year", data.reset_index(),
                        vcov={"CRV1": "state"}, demeaner=pf_demeaner(), **PF_TIGHT)  # fmt: skip
    assert_allclose(by_hand.params.to_numpy(), ref.coef().to_numpy(), rtol=1e-8)
    assert_allclose(by_hand.std_errors.to_numpy(), ref.se().to_numpy(), rtol=1e-8)
