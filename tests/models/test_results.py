import dataclasses

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from spillover.models import Results


@pytest.fixture
def ols():
    rng = np.random.default_rng(1)
    x = sm.add_constant(rng.normal(size=(50, 2)))
    y = x @ [1.0, 0.5, -0.2] + rng.normal(size=50)
    fit = sm.OLS(y, x).fit()
    names = ["const", "x1", "x2"]
    res = Results(
        params=pd.Series(fit.params, index=names),
        vcov=pd.DataFrame(fit.cov_params(), index=names, columns=names),
        nobs=50,
        df_resid=int(fit.df_resid),
        vcov_name="unadjusted",
        model="OLS",
        dependent="y",
        fit_stats={"r2": fit.rsquared},
    )
    return fit, res


def test_inference_matches_statsmodels(ols):
    fit, res = ols
    # same formulas (t reference with df_resid), so agreement to rounding
    np.testing.assert_allclose(res.std_errors, fit.bse, rtol=1e-12)
    np.testing.assert_allclose(res.tstats, fit.tvalues, rtol=1e-12)
    np.testing.assert_allclose(res.pvalues, fit.pvalues, rtol=1e-10)
    np.testing.assert_allclose(res.conf_int(0.9).to_numpy(), fit.conf_int(0.1), rtol=1e-10)


def test_normal_reference_when_no_df(ols):
    fit, res = ols
    z = dataclasses.replace(res, df_resid=None)
    from scipy import stats

    np.testing.assert_allclose(z.pvalues, 2 * stats.norm.sf(np.abs(fit.tvalues)), rtol=1e-12)


def test_results_are_frozen(ols):
    _, res = ols
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.nobs = 3
    with pytest.raises(TypeError):
        res.fit_stats["r2"] = 1.0


def test_summary_renders(ols):
    _, res = ols
    text = str(res.summary())
    assert "unadjusted" in text and "x1" in text and "r2" in text


def test_wald_matches_statsmodels(ols):
    fit, res = ols
    stat, df, _p = res.wald_test(["x1", "x2"])
    ref = fit.wald_test(np.eye(3)[1:], use_f=False, scalar=True)
    np.testing.assert_allclose(stat, ref.statistic, rtol=1e-10)
    assert df == 2
