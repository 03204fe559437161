"""linearmodels, statsmodels and pyfixest results in one table beside spillover's.

The reference is each peer object itself: every coefficient, standard error, N and fit
statistic printed in its column must be the peer's own value rounded to the table's three
decimals (tolerance: half a unit in the third decimal, the printed precision).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from linearmodels import IV2SLS, PanelOLS
from linearmodels import RandomEffects as LMRandomEffects

from spillover import datasets
from spillover.errors import SpecificationError
from spillover.inference import Cluster
from spillover.models import FixedEffects
from spillover.report import as_results, regression_table
from tests.report._parse import below, row, value

HALF_UNIT = 0.5e-3 + 1e-12  # three printed decimals


@pytest.fixture(scope="module")
def fits():
    panel = datasets.us_states()
    data = panel.data.copy()
    flat = data.reset_index()
    f = "log_gsp ~ log_pcap + log_emp"
    ours = FixedEffects(f, panel, effects="twoway").fit(vcov=Cluster("state"))
    lm_fe = PanelOLS.from_formula(
        "log_gsp ~ 1 + log_pcap + log_emp + EntityEffects + TimeEffects", data
    ).fit(cov_type="clustered", cluster_entity=True)
    lm_re = LMRandomEffects.from_formula("log_gsp ~ 1 + log_pcap + log_emp", data).fit()
    lm_iv = IV2SLS.from_formula("log_gsp ~ 1 + log_emp + [log_pcap ~ log_pc]", flat).fit(
        cov_type="robust"
    )
    sm_ols = smf.ols("log_gsp ~ log_pcap + log_emp", flat).fit(cov_type="HC1")
    sm_glm = smf.glm("emp ~ log_pcap", flat, family=sm.families.Poisson()).fit()
    sm_poisson = smf.poisson("emp ~ log_pcap", flat).fit(disp=0)
    pf_ols = pf.feols(f + " | state + year", flat, vcov={"CRV1": "state"})
    pf_pois = pf.fepois("emp ~ log_pcap | state", flat, vcov="hetero")
    return {
        "ours": ours,
        "lm FE": lm_fe,
        "lm RE": lm_re,
        "lm IV": lm_iv,
        "sm OLS": sm_ols,
        "sm GLM": sm_glm,
        "sm Poisson": sm_poisson,
        "pf FE": pf_ols,
        "pf Poisson": pf_pois,
    }


def _peer_values(obj):
    """(params, std errors, N) read from the peer object through its own API."""
    if hasattr(obj, "_N"):  # pyfixest
        return obj.coef(), obj.se(), obj._N
    if hasattr(obj, "std_errors"):  # linearmodels and spillover
        return obj.params, obj.std_errors, obj.nobs
    return obj.params, obj.bse, obj.nobs  # statsmodels


def test_mixed_table_prints_each_peer_s_own_numbers(fits):
    md = regression_table(fits, intercept=True, stars_at=()).to_markdown()
    names = list(fits)
    terms = {"log_pcap", "log_emp"}
    for j, name in enumerate(names):
        params, ses, nobs = _peer_values(fits[name])
        assert value(row(md, "Observations")[j]) == nobs, name
        for term in terms & set(params.index):
            assert abs(value(row(md, term)[j]) - params[term]) <= HALF_UNIT, (name, term)
            assert abs(value(below(md, term)[j]) - ses[term]) <= HALF_UNIT, (name, term)


def test_peer_fit_statistics_and_effects(fits):
    md = regression_table(fits).to_markdown()
    col = {n: j for j, n in enumerate(fits)}
    within = row(md, "Within R-squared")
    # linearmodels' rsquared of a two-way PanelOLS is the within R2, pyfixest's _r2_within
    # the same quantity: both equal ours (same model and data) to the printed precision
    assert abs(value(within[col["lm FE"]]) - fits["lm FE"].rsquared) <= HALF_UNIT
    assert abs(value(within[col["pf FE"]]) - fits["pf FE"]._r2_within) <= HALF_UNIT
    assert within[col["lm FE"]] == within[col["ours"]] == within[col["pf FE"]]
    r2 = row(md, "R-squared")
    assert abs(value(r2[col["sm OLS"]]) - fits["sm OLS"].rsquared) <= HALF_UNIT
    assert within[col["sm OLS"]] == ""  # no within R2 for a pooled regression
    mcf = row(md, "Pseudo R-squared (McFadden)")
    assert abs(value(mcf[col["sm Poisson"]]) - fits["sm Poisson"].prsquared) <= HALF_UNIT
    glm = fits["sm GLM"]
    assert abs(value(mcf[col["sm GLM"]]) - (1 - glm.llf / glm.llnull)) <= HALF_UNIT
    assert mcf[col["sm Poisson"]] == mcf[col["sm GLM"]]  # the same model fitted twice
    ll = row(md, "Log-likelihood")
    assert abs(value(ll[col["sm Poisson"]]) - fits["sm Poisson"].llf) <= HALF_UNIT
    var = row(md, "Var. random effect")
    vd = fits["lm RE"].variance_decomposition
    assert abs(value(var[col["lm RE"]]) - vd["Effects"]) <= HALF_UNIT
    clusters = row(md, "Clusters")
    assert value(clusters[col["ours"]]) == value(clusters[col["pf FE"]]) == 48


def test_peer_stars_use_the_peer_s_p_values(fits):
    res = as_results(fits["pf FE"])
    # pyfixest's p-values use t(G - 1) under clustering; the adapter keeps them as they are
    np.testing.assert_allclose(res.pvalues, fits["pf FE"].pvalue(), rtol=1e-12)
    res = as_results(fits["lm IV"])
    np.testing.assert_allclose(res.pvalues, fits["lm IV"].pvalues, rtol=1e-12)


def test_unknown_results_are_refused():
    with pytest.raises(SpecificationError, match="DataFrame"):
        regression_table([pd.DataFrame({"a": [1]})])
