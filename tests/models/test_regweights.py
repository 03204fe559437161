"""Regression weights (analytic and frequency) in Pooled, FixedEffects, HDFE and PanelIV.

References, each run in the test:

* pyfixest ``feols(..., weights=, weights_type="aweights"|"fweights")`` with one, two and
  three absorbed effect sets, iid, hetero and CRV1 errors: relative 1e-8. Both solve the
  same weighted normal equations exactly, pyfixest's demeaning run to ``fixef_tol=1e-12``;
  the observed differences are rounding (about 1e-13).
* linearmodels ``PooledOLS``/``PanelOLS(weights=)``: estimates and R-squared, 1e-8.
* A closed form: frequency weights equal the unweighted fit on the rows repeated w times
  (estimates, every covariance, df and N), 1e-10: the same sums, added in another order.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from linearmodels.panel import PanelOLS, PooledOLS
from numpy.testing import assert_allclose

from spillover import Panel
from spillover.errors import SpecificationError
from spillover.inference import Cluster, DriscollKraay
from spillover.models import (
    HDFE,
    Between,
    FirstDifference,
    FixedEffects,
    PanelIV,
    Pooled,
    RandomEffects,
    _demean,
)
from spillover.report import regression_table

pf = pytest.importorskip("pyfixest")

PF_TYPE = {"analytic": "aweights", "frequency": "fweights"}
PF_VCOV = {"unadjusted": "iid", "robust": "hetero"}


def _frame(seed: int = 7) -> pd.DataFrame:
    """60 firms x 10 years (some years missing), an industry and a cluster group, no
    singletons; integer weights 1..4 (valid as both analytic and frequency weights)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"firm": np.repeat(np.arange(60), 10), "year": np.tile(np.arange(10), 60)})
    df = df[rng.random(len(df)) > 0.15].reset_index(drop=True)
    n = len(df)
    df["ind"] = rng.integers(0, 7, n)
    df["grp"] = rng.integers(0, 25, n)
    df["x1"] = rng.normal(size=n) + 0.3 * np.sin(df.firm)
    df["x2"] = rng.normal(size=n) + 0.1 * df.year
    df["w"] = rng.integers(1, 5, n).astype(float)
    u = rng.normal(size=n) * (1 + df.x1**2) / np.sqrt(df.w)
    df["y"] = 1 + df.x1 - 0.5 * df.x2 + np.cos(df.firm) + 0.2 * df.year + u
    return df


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _frame()


@pytest.fixture(scope="module")
def panel(frame) -> Panel:
    return Panel(frame, entity="firm", time="year")


def _pyfixest(formula, frame, kind, vcov):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(
            formula, frame, weights="w", weights_type=PF_TYPE[kind], vcov=vcov, fixef_tol=1e-12
        )


def _compare(res, fit, names=("x1", "x2")):
    names = list(names)
    assert_allclose(res.params[names].to_numpy(), fit.coef()[names].to_numpy(), rtol=1e-8)
    assert_allclose(res.std_errors[names].to_numpy(), fit.se()[names].to_numpy(), rtol=1e-8)
    assert res.df_resid == fit._df_t
    assert res.nobs == fit._N


CASES = [
    (["firm"], "unadjusted"),
    (["firm"], "robust"),
    (["firm"], Cluster("firm")),
    (["firm", "year"], "unadjusted"),
    (["firm", "year"], "robust"),
    (["firm", "year"], Cluster("firm")),
    (["firm", "year", "ind"], "unadjusted"),
    (["firm", "year", "ind"], "robust"),
    # A cluster variable in which no effect set is nested: with three sets and a nested
    # one, pyfixest 0.60 counts the nested levels differently from reghdfe (not weights).
    (["firm", "year", "ind"], Cluster("grp")),
]


def _pf_vcov(vcov):
    return {"CRV1": vcov.by[0]} if isinstance(vcov, Cluster) else PF_VCOV[vcov]


@pytest.mark.parametrize("kind", ["analytic", "frequency"])
@pytest.mark.parametrize(("absorb", "vcov"), CASES)
def test_hdfe_matches_pyfixest(frame, panel, kind, absorb, vcov):
    res = HDFE("y ~ x1 + x2", panel, absorb=absorb, weights="w", weight_type=kind).fit(vcov=vcov)
    fit = _pyfixest(f"y ~ x1 + x2 | {' + '.join(absorb)}", frame, kind, _pf_vcov(vcov))
    _compare(res, fit)
    assert res.info["Regression weights"] == f"{kind} (w)"


@pytest.mark.parametrize("kind", ["analytic", "frequency"])
@pytest.mark.parametrize("effects", ["entity", "twoway"])
@pytest.mark.parametrize("vcov", ["unadjusted", "robust", Cluster("firm")])
def test_fixed_effects_matches_pyfixest_and_panelols(frame, panel, kind, effects, vcov):
    model = FixedEffects("y ~ x1 + x2", panel, effects=effects, weights="w", weight_type=kind)
    res = model.fit(vcov=vcov)
    fe = "firm" if effects == "entity" else "firm + year"
    _compare(res, _pyfixest(f"y ~ x1 + x2 | {fe}", frame, kind, _pf_vcov(vcov)))
    data = frame.set_index(["firm", "year"])
    lm = PanelOLS.from_formula(
        "y ~ 1 + x1 + x2 + EntityEffects" + (" + TimeEffects" if effects == "twoway" else ""),
        data,
        weights=data["w"],
    ).fit()
    assert_allclose(res.params.to_numpy(), lm.params.to_numpy(), rtol=1e-8)
    assert_allclose(res.fit_stats["r2_within"], lm.rsquared, rtol=1e-8)


@pytest.mark.parametrize("kind", ["analytic", "frequency"])
@pytest.mark.parametrize("vcov", ["unadjusted", "robust", Cluster("firm")])
def test_pooled_matches_pyfixest_and_pooledols(frame, panel, kind, vcov):
    res = Pooled("y ~ x1 + x2", panel, weights="w", weight_type=kind).fit(vcov=vcov)
    fit = _pyfixest("y ~ x1 + x2", frame, kind, _pf_vcov(vcov))
    _compare(res, fit, names=("Intercept", "x1", "x2"))
    data = frame.set_index(["firm", "year"])
    lm = PooledOLS.from_formula("y ~ 1 + x1 + x2", data, weights=data["w"]).fit()
    assert_allclose(res.params.to_numpy(), lm.params.to_numpy(), rtol=1e-8)
    assert_allclose(res.fit_stats["r2"], lm.rsquared, rtol=1e-8)


def _repeated(frame: pd.DataFrame) -> Panel:
    """Each row repeated w times; the copies get distinct entity ids (a panel key must be
    unique), while effects and clusters use the original firm column."""
    rows = frame.loc[frame.index.repeat(frame.w.astype(int))].copy()
    rows["copy"] = rows.groupby(level=0).cumcount()
    rows["unit"] = rows.firm.astype(str) + "-" + rows["copy"].astype(str)
    rows["firm_id"] = rows.firm
    return Panel(rows.reset_index(drop=True), entity="unit", time="year")


VCOVS = ["unadjusted", "robust", Cluster("firm_id"), Cluster("firm_id", "ind")]


@pytest.mark.parametrize("vcov", [*VCOVS, DriscollKraay(lags=1)])
def test_frequency_weights_equal_repeated_rows_hdfe(frame, vcov):
    data = frame.assign(firm_id=frame.firm)
    weighted = Panel(data, entity="firm", time="year")
    absorb = ["firm_id", "year"]
    res = HDFE("y ~ x1 + x2", weighted, absorb=absorb, weights="w", weight_type="frequency")
    ref = HDFE("y ~ x1 + x2", _repeated(frame), absorb=absorb, singletons="keep")
    a, b = res.fit(vcov=vcov), ref.fit(vcov=vcov)
    assert_allclose(a.params, b.params, rtol=1e-10)
    assert_allclose(a.std_errors, b.std_errors, rtol=1e-10)
    assert (a.nobs, a.df_resid) == (b.nobs, b.df_resid)


@pytest.mark.parametrize("vcov", VCOVS)
def test_frequency_weights_equal_repeated_rows_pooled(frame, vcov):
    data = Panel(frame.assign(firm_id=frame.firm), entity="firm", time="year")
    a = Pooled("y ~ x1 + x2", data, weights="w", weight_type="frequency").fit(vcov=vcov)
    b = Pooled("y ~ x1 + x2", _repeated(frame)).fit(vcov=vcov)
    assert_allclose(a.params, b.params, rtol=1e-10)
    assert_allclose(a.std_errors, b.std_errors, rtol=1e-10)
    assert (a.nobs, a.df_resid) == (b.nobs, b.df_resid)


def test_analytic_weights_scale_free(panel, frame):
    """Multiplying analytic weights by a constant changes nothing (Stata normalises them)."""
    scaled = Panel(frame.assign(w=frame.w * 37.5), entity="firm", time="year")
    for vcov in ["unadjusted", "robust", Cluster("firm")]:
        a = HDFE("y ~ x1 + x2", panel, absorb=["firm", "year"], weights="w").fit(vcov=vcov)
        b = HDFE("y ~ x1 + x2", scaled, absorb=["firm", "year"], weights="w").fit(vcov=vcov)
        assert_allclose(a.params, b.params, rtol=1e-10)
        assert_allclose(a.std_errors, b.std_errors, rtol=1e-10)


def test_weighted_iterative_path_equals_exact(frame, monkeypatch):
    """Weighted alternating projections converge to the exact weighted projection."""
    codes = [frame.firm.to_numpy(), frame.year.to_numpy(), frame.ind.to_numpy()]
    x = frame[["x1", "x2", "y"]].to_numpy()
    w = frame.w.to_numpy()
    exact = _demean.Absorber(codes, weights=w)
    assert exact.exact
    monkeypatch.setattr(_demean, "EXACT_MAX_LEVELS", 0)
    iterative = _demean.Absorber(codes, weights=w, tol=1e-14)
    assert not iterative.exact
    dense = np.column_stack([np.ones(len(w))] + [np.eye(c.max() + 1)[c] for c in codes])
    root = np.sqrt(w)[:, None]
    fitted = dense @ np.linalg.lstsq(dense * root, x * root, rcond=None)[0]
    assert_allclose(exact.demean(x), x - fitted, atol=1e-10)
    assert_allclose(iterative.demean(x), x - fitted, atol=1e-10)


def test_weights_shown_in_summary_and_table(panel):
    res = HDFE("y ~ x1 + x2", panel, absorb=["firm"], weights="w").fit()
    plain = HDFE("y ~ x1 + x2", panel, absorb=["firm"]).fit()
    assert "Regression weights" in str(res.summary())
    assert "analytic (w)" in str(regression_table([res, plain]))
    assert "Regression weights: analytic (w)" in str(regression_table([res, res]))


@pytest.mark.parametrize(
    ("value", "kind", "match"),
    [
        (-1.0, "analytic", "negative in 1 rows"),
        (0.0, "analytic", "zero in 1 rows"),
        (np.nan, "analytic", "missing"),
        (np.inf, "frequency", "infinite"),
        (1.5, "frequency", "whole numbers"),
    ],
)
def test_bad_weights_are_refused(frame, value, kind, match):
    bad = frame.copy()
    bad.loc[3, "w"] = value
    panel = Panel(bad, entity="firm", time="year")
    with pytest.raises(SpecificationError, match=match):
        HDFE("y ~ x1", panel, absorb=["firm"], weights="w", weight_type=kind)


def test_bad_weight_options_are_refused(panel):
    with pytest.raises(SpecificationError, match="not a column"):
        Pooled("y ~ x1", panel, weights="nope")
    with pytest.raises(SpecificationError, match="aweight"):
        Pooled("y ~ x1", panel, weights="w", weight_type="importance")


@pytest.mark.parametrize("cls", [RandomEffects, FirstDifference, Between])
def test_estimators_without_weighted_version_refuse(panel, cls):
    with pytest.raises(SpecificationError, match="does not take regression weights"):
        cls("y ~ x1", panel, weights="w")


def _iv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    z = frame.x1 + rng.normal(size=len(frame))
    return frame.assign(z=z, x1=frame.x1 + 0.3 * z, firm_id=frame.firm)


@pytest.mark.parametrize("kind", ["analytic", "frequency"])
@pytest.mark.parametrize("absorb", [["firm"], ["firm", "year"], ["firm", "year", "ind"]])
@pytest.mark.parametrize("vcov", ["unadjusted", "robust", Cluster("grp")])
def test_panel_iv_matches_pyfixest(frame, kind, absorb, vcov):
    data = _iv_frame(frame)
    panel = Panel(data, entity="firm", time="year")
    model = PanelIV("y ~ x2 + [x1 ~ z]", panel, absorb=absorb, weights="w", weight_type=kind)
    res = model.fit(vcov=vcov)
    fit = _pyfixest(f"y ~ x2 | {' + '.join(absorb)} | x1 ~ z", data, kind, _pf_vcov(vcov))
    _compare(res, fit, names=("x2", "x1"))


@pytest.mark.parametrize("vcov", VCOVS)
def test_frequency_weights_equal_repeated_rows_iv(frame, vcov):
    data = _iv_frame(frame)
    weighted = Panel(data, entity="firm", time="year")
    formula, absorb = "y ~ x2 + [x1 ~ z]", ["firm_id", "year"]
    a = PanelIV(formula, weighted, absorb=absorb, weights="w", weight_type="frequency")
    b = PanelIV(formula, _repeated(data), absorb=absorb, singletons="keep")
    ra, rb = a.fit(vcov=vcov), b.fit(vcov=vcov)
    assert_allclose(ra.params, rb.params, rtol=1e-10)
    assert_allclose(ra.std_errors, rb.std_errors, rtol=1e-10)
    assert (ra.nobs, ra.df_resid) == (rb.nobs, rb.df_resid)
    assert_allclose(ra.first_stage["f_stat"], rb.first_stage["f_stat"], rtol=1e-10)
    assert_allclose(ra.fit_stats["cragg_donald_f"], rb.fit_stats["cragg_donald_f"], rtol=1e-10)
    if "kleibergen_paap_f" in ra.fit_stats:
        assert_allclose(
            ra.fit_stats["kleibergen_paap_f"], rb.fit_stats["kleibergen_paap_f"], rtol=1e-10
        )
