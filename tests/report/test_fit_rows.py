"""One meaning per row: goodness of fit, counts, dummies collapsed, intercepts, W labels.

References: linearmodels PanelOLS (rsquared, rsquared_inclusive, rsquared_within/between/
overall), pyfixest feols (_r2, _adj_r2, _r2_within), statsmodels OLS (rsquared,
rsquared_adj) and pandas for the mean of the dependent variable, all run here. Model
values are compared at rtol 1e-8 (HDFE demeans iteratively to 1e-10 relative); printed
cells at half a unit of the third decimal (the printed precision).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
import statsmodels.formula.api as smf
from linearmodels import PanelOLS
from numpy.testing import assert_allclose

from spillover import datasets, weights
from spillover.diagnostics import spatial_hausman
from spillover.diagnostics.specification import TestResult
from spillover.inference import Cluster
from spillover.models import HDFE, FixedEffects, Pooled
from spillover.models.spatial import SpatialLag
from spillover.report import diagnostics_table, effects_table, regression_table
from tests.report._parse import markdown_rows, row, value

F = "log_gsp ~ log_pcap + log_pc + log_emp + unemp"
HALF_UNIT = 0.5e-3 + 1e-12


@pytest.fixture(scope="module")
def panel():
    p = datasets.us_states()
    return p.assign(yr=p.data.index.get_level_values("year").astype(str))


@pytest.fixture(scope="module")
def twoway(panel):
    fe = FixedEffects(F, panel, effects="twoway").fit(vcov=Cluster("state"))
    hd = HDFE(F, panel, absorb=("state", "year")).fit(vcov=Cluster("state"))
    pooled = Pooled(F, panel).fit(vcov=Cluster("state"))
    return {"Pooled": pooled, "FE": fe, "HDFE": hd}


def test_fixed_effects_and_hdfe_report_the_same_fit(twoway, panel):
    fe, hd = twoway["FE"].fit_stats, twoway["HDFE"].fit_stats
    for key in ("r2", "r2_adj", "r2_within"):
        assert_allclose(fe[key], hd[key], rtol=1e-8, err_msg=key)
    flat = panel.data.reset_index()
    pyf = pf.feols(F + " | state + year", flat)
    assert_allclose(hd["r2_within"], pyf._r2_within, rtol=1e-8)
    assert_allclose(hd["r2"], pyf._r2, rtol=1e-8)
    assert_allclose(hd["r2_adj"], pyf._adj_r2, rtol=1e-8)
    lm = PanelOLS.from_formula(F + " + 1 + EntityEffects + TimeEffects", panel.data).fit()
    assert_allclose(fe["r2_within"], lm.rsquared, rtol=1e-10)
    assert_allclose(fe["r2"], lm.rsquared_inclusive, rtol=1e-10)
    md = regression_table(twoway).to_markdown()
    for label in ("R-squared", "Adj. R-squared", "Within R-squared"):
        cells = row(md, label)
        assert cells[1] == cells[2] != "", label  # FE and HDFE columns print the same
    assert row(md, "Within R-squared")[0] == ""  # pooled OLS has no within R2


def test_entity_fe_rows_match_linearmodels(panel):
    res = FixedEffects(F, panel).fit()
    lm = PanelOLS.from_formula(F + " + 1 + EntityEffects", panel.data).fit()
    md = regression_table([res]).to_markdown()
    for label, ref in (
        ("Within R-squared", lm.rsquared_within),
        ("Between R-squared", lm.rsquared_between),
        ("Overall R-squared", lm.rsquared_overall),
        ("R-squared", lm.rsquared_inclusive),
    ):
        assert abs(value(row(md, label)[0]) - ref) <= HALF_UNIT, label


def test_pooled_rows_match_statsmodels_and_pandas(twoway, panel):
    flat = panel.data.reset_index()
    ols = smf.ols(F, flat).fit()
    md = regression_table(twoway).to_markdown()
    assert abs(value(row(md, "R-squared")[0]) - ols.rsquared) <= HALF_UNIT
    assert abs(value(row(md, "Adj. R-squared")[0]) - ols.rsquared_adj) <= HALF_UNIT
    assert_allclose(twoway["Pooled"].fit_stats["r2_adj"], ols.rsquared_adj, rtol=1e-10)
    mean = flat["log_gsp"].mean()
    assert all(abs(value(c) - mean) <= HALF_UNIT for c in row(md, "Mean of dep. var."))
    assert [value(c) for c in row(md, "Clusters")] == [48, 48, 48]
    unclustered = regression_table([Pooled(F, panel).fit()]).to_markdown()
    assert "Clusters" not in [r[0] for r in markdown_rows(unclustered)]


def test_intercept_hidden_where_effects_absorb_it(twoway):
    md = regression_table(twoway).to_markdown()
    assert row(md, "Intercept")[1:] == ["", ""] and row(md, "Intercept")[0] != ""
    shown = regression_table(twoway, intercept=True).to_markdown()
    assert all(c != "" for c in row(shown, "Intercept"))
    none = regression_table(twoway, intercept=False).to_markdown()
    assert "Intercept" not in [r[0] for r in markdown_rows(none)]


def test_indicate_collapses_dummies(panel):
    with_years = Pooled(F + " + C(yr)", panel).fit()
    without = Pooled(F, panel).fit()
    md = regression_table(
        [with_years, without], indicate={"Year dummies": r"^C\(yr\)"}
    ).to_markdown()
    labels = [r[0] for r in markdown_rows(md)]
    assert not any(lab.startswith("C(yr)") for lab in labels)
    assert row(md, "Year dummies") == ["Yes", "No"]
    # the dummies really were there: 16 of them (17 years, one base)
    assert sum(t.startswith("C(yr)") for t in with_years.params.index) == 16


@pytest.fixture(scope="module")
def sar(panel):
    w = weights.queen(panel.geo).row_standardize()
    res = SpatialLag(
        "log_gsp ~ log_pcap + log_emp + W(log_pcap)", panel, w=w, effects="entity"
    ).fit()
    return res, res.impacts(method="delta")


def test_rename_reaches_spatial_lag_terms(sar):
    res, _ = sar
    md = regression_table([res], rename={"log_pcap": "Public capital"}).to_markdown()
    labels = [r[0] for r in markdown_rows(md)]
    assert "W Public capital" in labels and "W_log_pcap" not in labels
    assert abs(value(row(md, "W Public capital")[0]) - res.params["W_log_pcap"]) <= HALF_UNIT
    assert "Log-likelihood" in labels and "AIC" in labels and "BIC" in labels


def test_effects_table_rows_and_indicate(sar):
    res, eff = sar
    t = effects_table({"SAR": eff}, results={"SAR": res}, indicate={"Capital": "pcap"})
    md = t.to_markdown()
    labels = [r[0] for r in markdown_rows(md)]
    assert "log_pcap" not in labels and row(md, "Capital")[0] == "Yes"
    assert value(row(md, "Observations")[0]) == res.nobs
    assert row(md, "State FE")[0] == "Yes"
    assert "Spatial weights: " + res.info["Weights"] in " ".join(t.notes)
    direct = eff.set_index(["variable", "effect"]).loc[("log_emp", "direct"), "estimate"]
    assert abs(value(row(md, "log_emp")[0]) - direct) <= HALF_UNIT


def test_negative_hausman_statistic_is_flagged():
    names = ["x", "rho"]
    params = pd.Series([1.0, 0.3], index=names)
    fe = SimpleNamespace(params=params, vcov=pd.DataFrame(np.diag([0.01, 0.02]), names, names))
    re = SimpleNamespace(
        params=params + np.array([0.05, 0.01]),
        vcov=pd.DataFrame(np.diag([0.02, 0.01]), names, names),
    )
    out = spatial_hausman(fe, re)  # V_FE - V_RE = diag(-0.01, 0.01): not positive definite
    d = np.array([-0.05, -0.01])
    assert_allclose(out["statistic"], d @ np.linalg.solve(np.diag([-0.01, 0.01]), d))
    assert out.statistic < 0 and "not positive definite" in out.note and "negative" in out.note
    assert "Note:" in str(out)
    table = diagnostics_table({"Spatial Hausman": out})
    assert any("not positive definite" in n for n in table.notes)
    bare = diagnostics_table([TestResult("H", -2.0, 2, 1.0, "chi2", "null")])
    assert any("negative" in n for n in bare.notes)
    fine = diagnostics_table([TestResult("H", 2.0, 2, 0.37, "chi2", "null")])
    assert fine.notes == ()
