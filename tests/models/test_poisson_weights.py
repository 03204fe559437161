"""Regression weights in PoissonHDFE.

References, each run in the test:

* pyfixest ``fepois(..., weights=, weights_type="aweights")`` with one, two and three
  absorbed effect sets and iid, hetero and CRV1 errors: relative 1e-8 on coefficients and
  SEs. Both iterate IRLS with working weights ``w mu``; ours to a relative deviance change
  of 1e-13 (weighted deviance), pyfixest's to 1e-15 (unweighted deviance), both demeaning
  to 1e-13. Observed differences: 3e-15 or less on coefficients and SEs.
* A closed form for frequency weights: the unweighted fit on the rows repeated w times
  (coefficients, SEs, N, deviance), relative 1e-10. Both runs take the same IRLS path (the
  same start, the same weighted sums in another order), so they agree to rounding
  (observed: 4e-14 on coefficients, 6e-15 on SEs); the IRLS tolerance does not bind.
  pyfixest's ``fepois(weights_type="fweights")`` is no reference here: version 0.60 counts
  N as rows once separated rows are dropped and divides the robust scores by
  ``sqrt(w mu)`` (see the PoissonHDFE Notes).
* Analytic weights multiplied by a constant c: the same coefficients and sandwich SEs, and
  iid SEs divided by sqrt(c) (the known-scale convention of pyfixest), relative 1e-10.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover import Panel
from spillover.errors import DroppedRowsWarning, SpecificationError
from spillover.inference import Cluster, DriscollKraay
from spillover.models import PoissonHDFE
from tests.models._pyfixest import PF_TIGHT, TIGHT, pf_demeaner

pf = pytest.importorskip("pyfixest")
pytestmark = pytest.mark.filterwarnings("ignore::spillover.errors.DroppedRowsWarning")


@pytest.fixture(scope="module")
def counts() -> pd.DataFrame:
    """200 firms x 8 years with firm, year and region-by-year effects and integer weights
    1..4 (valid as analytic and as frequency weights); some firms have y = 0 throughout
    (separated); every firm has 8 rows, so there are no singletons."""
    rng = np.random.default_rng(17)
    n_firms, n_years = 200, 8
    firm = np.repeat(np.arange(n_firms), n_years)
    year = np.tile(np.arange(2000, 2000 + n_years), n_firms)
    n = len(firm)
    region = np.repeat(rng.integers(0, 8, n_firms), n_years)
    df = pd.DataFrame({"firm": firm, "year": year, "region": region,
                       "x1": rng.normal(size=n), "x2": rng.gamma(2.0, size=n),
                       "w": rng.integers(1, 5, n).astype(float)})  # fmt: skip
    t = year - 2000
    effects = (
        np.repeat(rng.normal(-0.3, 0.9, n_firms), n_years)
        + rng.normal(0, 0.3, n_years)[t]
        + rng.normal(0, 0.2, (8, n_years))[region, t]
    )
    eta = 0.4 * df.x1 - 0.15 * df.x2 + effects
    df["y"] = rng.poisson(np.exp(eta))
    df["region_year"] = df.region * 10_000 + t
    df["firm_id"] = df.firm
    assert (df.groupby("firm").y.sum() == 0).any()  # some separated firms
    return df


@pytest.fixture(scope="module")
def panel(counts) -> Panel:
    return Panel(counts, entity="firm", time="year")


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
}


@pytest.mark.parametrize("vcov", list(VCOVS))
@pytest.mark.parametrize("effects", list(EFFECTS))
def test_analytic_weights_match_pyfixest_fepois(counts, panel, effects, vcov):
    absorb, pf_fe = EFFECTS[effects]
    ours_vcov, pf_vcov = VCOVS[vcov]
    res = PoissonHDFE("y ~ x1 + x2", panel, absorb=absorb, weights="w", **TIGHT).fit(vcov=ours_vcov)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.fepois(f"y ~ x1 + x2 | {pf_fe}", counts, weights="w", weights_type="aweights",
                        vcov=pf_vcov, demeaner=pf_demeaner(), **PF_TIGHT)  # fmt: skip
    assert res.nobs == ref._N
    assert_allclose(res.params.to_numpy(), ref.coef().to_numpy(), rtol=1e-8)
    assert_allclose(res.std_errors.to_numpy(), ref.se().to_numpy(), rtol=1e-8)
    assert_allclose(res.fit_stats["deviance"], ref.deviance, rtol=1e-8)
    assert_allclose(res.fit_stats["loglik"], ref._loglik, rtol=1e-8)
    assert res.info["Regression weights"] == "analytic (w)"


def _repeated(frame: pd.DataFrame) -> Panel:
    """Each row repeated w times; the copies get distinct entity ids (a panel key must be
    unique), while effects and clusters use the original ``firm_id`` column."""
    rows = frame.loc[frame.index.repeat(frame.w.astype(int))].copy()
    rows["unit"] = rows.firm.astype(str) + "-" + rows.groupby(level=0).cumcount().astype(str)
    return Panel(rows.reset_index(drop=True).drop(columns="w"), entity="unit", time="year")


FREQ_VCOVS = [
    "unadjusted",
    "robust",
    Cluster("firm_id"),
    Cluster("firm_id", "region"),
    DriscollKraay(lags=1),
]


@pytest.mark.parametrize("absorb", [[], ["firm_id", "year"], ["firm_id", "year", "region:year"]])
def test_frequency_weights_equal_repeated_rows(counts, panel, absorb):
    weighted = PoissonHDFE(
        "y ~ x1 + x2", panel, absorb=absorb, weights="w", weight_type="frequency", **TIGHT
    )
    repeated = PoissonHDFE("y ~ x1 + x2", _repeated(counts), absorb=absorb, **TIGHT)
    if absorb:
        kept = counts.groupby("firm").y.transform("sum") > 0
        assert weighted.n_separated == int((~kept).sum())  # rows, not weights
        assert repeated.n_separated == int(counts.w[~kept].sum())
    for vcov in FREQ_VCOVS:
        a, b = weighted.fit(vcov=vcov), repeated.fit(vcov=vcov)
        assert a.nobs == b.nobs == int(counts.w[weighted._keep].sum())
        assert_allclose(a.params, b.params, rtol=1e-10)
        assert_allclose(a.std_errors, b.std_errors, rtol=1e-10)
        for stat in ("deviance", "loglik", "pseudo_r2"):
            assert_allclose(a.fit_stats[stat], b.fit_stats[stat], rtol=1e-10)
    assert a.info["Regression weights"] == "frequency (w)"


@pytest.mark.parametrize("kind", ["analytic", "frequency"])
def test_unit_weights_equal_the_unweighted_fit(counts, panel, kind):
    data = Panel(counts.assign(w=1.0), entity="firm", time="year")
    absorb = ["firm", "year"]
    a = PoissonHDFE("y ~ x1 + x2", data, absorb=absorb, weights="w", weight_type=kind, **TIGHT)
    b = PoissonHDFE("y ~ x1 + x2", data, absorb=absorb, **TIGHT)
    for vcov in ["unadjusted", "robust", Cluster("firm")]:
        ra, rb = a.fit(vcov=vcov), b.fit(vcov=vcov)
        assert_allclose(ra.params, rb.params, rtol=1e-10)
        assert_allclose(ra.std_errors, rb.std_errors, rtol=1e-10)
        assert ra.nobs == rb.nobs


def test_analytic_weights_scale_only_the_iid_covariance(counts, panel):
    """Weights times c: the same coefficients and sandwich SEs (the Hessian scales by c,
    the meat by c^2). The iid covariance is the inverse Hessian (the Poisson scale is
    known, Var(y_i) = mu_i / w_i), so its SEs scale by 1 / sqrt(c), as in pyfixest."""
    c = 37.5
    scaled = Panel(counts.assign(w=counts.w * c), entity="firm", time="year")
    absorb = ["firm", "year", "region:year"]
    a = PoissonHDFE("y ~ x1 + x2", panel, absorb=absorb, weights="w", **TIGHT)
    b = PoissonHDFE("y ~ x1 + x2", scaled, absorb=absorb, weights="w", **TIGHT)
    for vcov in ["robust", Cluster("firm"), Cluster("firm", "year"), DriscollKraay(lags=1)]:
        ra, rb = a.fit(vcov=vcov), b.fit(vcov=vcov)
        assert_allclose(ra.params, rb.params, rtol=1e-10)
        assert_allclose(ra.std_errors, rb.std_errors, rtol=1e-10)
        assert ra.nobs == rb.nobs
    ra, rb = a.fit(vcov="unadjusted"), b.fit(vcov="unadjusted")
    assert_allclose(ra.params, rb.params, rtol=1e-10)
    assert_allclose(ra.std_errors, rb.std_errors * np.sqrt(c), rtol=1e-10)


def test_separation_with_weights_drops_the_same_rows(panel):
    """Weights are positive, so the all-zero levels are the same with and without them."""
    with pytest.warns(DroppedRowsWarning, match="separated"):
        weighted = PoissonHDFE("y ~ x1", panel, absorb=["firm"], weights="w")
    plain = PoissonHDFE("y ~ x1", panel, absorb=["firm"])
    assert weighted.n_separated == plain.n_separated > 0
    assert (weighted._keep == plain._keep).all()


@pytest.mark.parametrize(
    ("value", "kind", "match"),
    [
        (0.0, "analytic", "zero in 1 rows"),
        (-2.0, "analytic", "negative in 1 rows"),
        (np.nan, "frequency", "missing"),
        (2.5, "frequency", "whole numbers"),
    ],
)
def test_bad_weights_are_refused(counts, value, kind, match):
    bad = counts.copy()
    bad.loc[5, "w"] = value
    panel = Panel(bad, entity="firm", time="year")
    with pytest.raises(SpecificationError, match=match):
        PoissonHDFE("y ~ x1", panel, absorb=["firm"], weights="w", weight_type=kind)
    with pytest.raises(SpecificationError, match="aweight"):
        PoissonHDFE("y ~ x1", panel, absorb=["firm"], weights="w", weight_type="importance")


def test_weights_shown_in_summary(panel):
    res = PoissonHDFE("y ~ x1 + x2", panel, absorb=["firm"], weights="w").fit()
    assert "Regression weights" in str(res.summary())
