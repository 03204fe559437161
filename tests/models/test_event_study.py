"""EventStudy against pyfixest (its saturated event study and feols), a hand-built
aggregation, and recovery of a known dynamic effect under staggered adoption."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.errors import SpecificationError
from spillover.models import EventStudy

pf = pytest.importorskip("pyfixest")

COHORTS = (2004, 2006, 2008)


def staggered(n: int = 60, periods: int = 12, *, seed: int = 1, never: bool = True):
    """Units in cohorts 2004/2006/2008 (and never treated), unit effects, a common trend and
    effects (e + 1) in the first cohort twice as large as in the others."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n), periods)
    year = np.tile(np.arange(2000, 2000 + periods), n)
    pool = [*COHORTS, 0] if never else list(COHORTS)
    g = rng.choice(pool, size=n)[unit]
    rel = year - g
    effect = np.where((g > 0) & (rel >= 0), (rel + 1) * (1.0 + (g == 2004)), 0.0)
    y = rng.normal(size=n)[unit] + 0.1 * (year - 2000) + effect + rng.normal(size=n * periods)
    flat = pd.DataFrame({"unit": unit, "year": year, "g": g, "y": y})
    panel = flat.assign(start=np.where(g > 0, g, np.nan)).set_index(["unit", "year"])
    return flat, panel


def _pyfixest_saturated(flat: pd.DataFrame) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "SaturatedEventStudy is in beta"
        fit = pf.event_study(
            flat, yname="y", idname="unit", tname="year", gname="g",
            estimator="saturated", cluster="unit",
        )  # fmt: skip
        agg = fit.aggregate()
    agg.index = [f"{int(e):+d}" for e in agg.index.astype(float)]
    return fit, agg.drop(index="-1", errors="ignore").astype(float)


def test_sun_abraham_matches_pyfixest_saturated_event_study() -> None:
    # Same regression (cohort x relative-period indicators, unit and year effects, CR1 by
    # unit) and the same aggregation weights (cohort shares of the rows at each period);
    # both solve the same least-squares problem exactly (balanced two-way effects), so only
    # rounding separates them: 1e-8.
    flat, panel = staggered()
    res = EventStudy("y", panel, cohort="start").fit()
    fit, agg = _pyfixest_saturated(flat)
    assert list(res.params.index) == list(agg.index)
    assert_allclose(res.params, agg["Estimate"], rtol=1e-8, atol=1e-10)
    assert_allclose(res.std_errors, agg["Std. Error"], rtol=1e-8)
    # the cohort-by-period regression itself
    ours = res.regression.params.to_numpy()
    assert_allclose(np.sort(ours), np.sort(fit.coef().to_numpy()), rtol=1e-8, atol=1e-10)
    assert_allclose(np.sort(res.regression.std_errors), np.sort(fit.se().to_numpy()), rtol=1e-8)


def test_twfe_matches_pyfixest_feols() -> None:
    # the dynamic two-way FE regression: never-treated rows coded at the reference period
    flat, panel = staggered(seed=2)
    res = EventStudy("y", panel, cohort="start", method="twfe").fit()
    rel = np.where(flat["g"] > 0, flat["year"] - flat["g"], -1)
    fit = pf.feols("y ~ i(rel, ref=-1) | unit + year", flat.assign(rel=rel), vcov={"CRV1": "unit"})
    assert_allclose(res.params, fit.coef().to_numpy(), rtol=1e-8, atol=1e-10)
    assert_allclose(res.std_errors, fit.se().to_numpy(), rtol=1e-8)


def test_aggregation_equals_hand_built_weights() -> None:
    # independent of the package: cohort shares counted from the data, applied to the
    # regression coefficients, covariance R V R'
    flat, panel = staggered(seed=3)
    res = EventStudy("y", panel, cohort="start").fit()
    reg = res.regression
    treated = flat[flat["g"] > 0].assign(e=lambda d: d["year"] - d["g"])
    for e in (-3, 0, 2):
        counts = treated[treated["e"] == e]["g"].value_counts()
        r = pd.Series(0.0, index=reg.params.index)
        for g, n in counts.items():
            name = f"es_c{g}_" + (f"m{-e}" if e < 0 else f"p{e}")
            r[name] = n / counts.sum()
        label = f"{e:+d}"
        assert res.params[label] == pytest.approx(float(r @ reg.params), rel=1e-12)
        var = float(r @ reg.vcov.to_numpy() @ r)
        assert res.std_errors[label] == pytest.approx(np.sqrt(var), rel=1e-12)


def test_last_treated_controls_drop_its_treated_periods() -> None:
    flat, panel = staggered(seed=4, never=False)
    with pytest.raises(SpecificationError, match="control='last'"):
        EventStudy("y", panel, cohort="start")
    res = EventStudy("y", panel, cohort="start", control="last").fit()
    assert res.nobs == int((flat["year"] < max(COHORTS)).sum())
    # only the two earlier cohorts are treated: periods up to 2007 - 2004 = +3
    assert max(res.event_times) == 3
    # same regression as pyfixest's saturated one with cohort 2008 recoded as never treated
    sub = flat[flat["year"] < 2008].assign(g=lambda d: d["g"].where(d["g"] < 2008, 0))
    _, agg = _pyfixest_saturated(sub)
    assert_allclose(res.params, agg["Estimate"].reindex(res.params.index), rtol=1e-8, atol=1e-10)


def test_pretrend_test_and_bad_input() -> None:
    _, panel = staggered(seed=5)
    res = EventStudy("y", panel, cohort="start").fit()
    stat, df, p = res.pretrend_test()
    assert df == len(res.leads()) == sum(e < -1 for e in res.event_times)
    assert (stat, p) == pytest.approx(res.wald_test(res.leads())[::2])
    assert res.pretrend_test(min_lead=-3)[1] == 2
    bad = panel.assign(start=panel["start"].where(panel.index.get_level_values(1) < 2005, 2009))
    with pytest.raises(SpecificationError, match="changes within"):
        EventStudy("y", bad, cohort="start")
    with pytest.raises(SpecificationError, match="method"):
        EventStudy("y", panel, cohort="start", method="cs")


def _mc(method: str, reps: int) -> np.ndarray:
    out = []
    for seed in range(reps):
        _, panel = staggered(n=90, seed=100 + seed)
        res = EventStudy("y", panel, cohort="start", method=method).fit()
        out.append(res.params[["-2", "+0", "+1", "+2", "+3"]].to_numpy())
    return np.array(out)


@pytest.mark.slow
def test_sun_abraham_recovers_dynamic_effect_and_twfe_does_not() -> None:
    # Truth at period e: sum over cohorts of their share x (e + 1) x (2 if cohort 2004 else
    # 1); cohorts drawn with equal probability, and all three observed at e <= 3, so the
    # expected share of each is 1/3 and the truth is (e + 1) x 4/3. Each replication's
    # estimate has SE about 0.3; over 200 replications the MC standard error of the mean is
    # about 0.02 (plus the share noise, which is mean zero), so 0.1 is > 4 MC SEs.
    sa = _mc("sun_abraham", 200).mean(axis=0)
    truth = np.array([0.0, 1.0, 2.0, 3.0, 4.0]) * 4 / 3
    assert_allclose(sa, truth, atol=0.1)
    twfe = _mc("twfe", 200).mean(axis=0)
    assert np.abs(twfe - truth).max() > 0.3  # biased under heterogeneous effects


def test_cohorts_beyond_the_sample_are_never_treated() -> None:
    _, panel = staggered(seed=6)
    late = panel.assign(start=panel["start"].fillna(2030.0))
    a = EventStudy("y", panel, cohort="start").fit()
    b = EventStudy("y", late, cohort="start").fit()
    assert_allclose(b.params, a.params, rtol=1e-12)
    assert_allclose(b.std_errors, a.std_errors, rtol=1e-12)
