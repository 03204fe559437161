"""Mediation against independent references: OLS by hand, statsmodels, closed forms.

Tolerances: 1e-10 where both sides solve the same least-squares problem in floating point
(lstsq vs our lstsq, statsmodels' pinv vs our inverse); the bootstrap draws are compared
with an independent loop on the same generator to 1e-10 for the same reason.
"""

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from scipy import stats

from spillover.inference import Cluster
from spillover.report import regression_table
from spillover.survey import Mediation, MediationResults
from spillover.survey.mediation import example_survey

X, Y, COV = "environment", "spillover", ["size"]


@pytest.fixture(scope="module")
def data():
    return example_survey(n=240, seed=3)


def _model(data, kind="parallel", mediators=("transfer", "harvest"), **kw):
    return Mediation(data, x=X, mediators=list(mediators), y=Y, covariates=COV, kind=kind, **kw)


def _ols(data, dep, regs, **fit):
    exog = sm.add_constant(data[regs], prepend=False)
    return sm.OLS(data[dep], exog).fit(**fit)


EQUATIONS = {
    "parallel": [
        ("transfer", [X]),
        ("harvest", [X]),
        (Y, [X, "transfer", "harvest"]),
        (Y, [X]),
    ],
    "serial": [
        ("transfer", [X]),
        ("harvest", [X, "transfer"]),
        (Y, [X, "transfer", "harvest"]),
        (Y, [X]),
    ],
}


@pytest.mark.parametrize("kind", ["parallel", "serial"])
def test_paths_equal_ols_by_hand(data, kind):
    res = _model(data, kind).fit(bootstrap=0)
    hand = []
    for dep, regs in EQUATIONS[kind]:
        a = np.column_stack([data[regs + COV].to_numpy(), np.ones(len(data))])
        coef = np.linalg.lstsq(a, data[dep].to_numpy(), rcond=None)[0]
        # our order: path regressors, intercept, covariates
        k = len(regs)
        hand.append(np.concatenate([coef[:k], coef[-1:], coef[k:-1]]))
    assert_allclose(res.params.to_numpy(), np.concatenate(hand), rtol=0, atol=1e-10)
    assert res.params.index[0] == f"a: {X} -> transfer"
    # total indirect = c - c' exactly for OLS with the same covariates in every equation
    c, cp = res.params[f"c: {X} -> {Y}"], res.params[f"c': {X} -> {Y}"]
    assert_allclose(res.indirect.loc["total indirect", "estimate"], c - cp, atol=1e-12)


@pytest.mark.parametrize(
    ("vcov", "fit"),
    [
        ("unadjusted", {}),
        ("robust", {"cov_type": "HC1"}),
        ("hc0", {"cov_type": "HC0"}),
        (Cluster("cluster"), {"cov_type": "cluster"}),
    ],
)
def test_equation_std_errors_equal_statsmodels(data, vcov, fit):
    res = _model(data, "serial").fit(vcov=vcov, bootstrap=0)
    for dep, regs in EQUATIONS["serial"]:
        kw = dict(fit)
        if kw.get("cov_type") == "cluster":
            kw["cov_kwds"] = {"groups": data["cluster"].to_numpy()}
        ref = _ols(data, dep, regs + COV, **kw)
        label = dep + (" (total)" if dep == Y and len(regs) == 1 else "")
        letters = {0: "c" if label.endswith("(total)") else ("c'" if dep == Y else "a")}
        names = [
            f"{letters.get(i, 'b' if dep == Y else 'd')}: {r} -> {dep}" for i, r in enumerate(regs)
        ]
        names += [f"{label} ~ {c}" for c in COV] + [f"{label} ~ Intercept"]
        assert_allclose(res.std_errors[names].to_numpy(), ref.bse.to_numpy(), rtol=1e-10)


@pytest.mark.parametrize("vcov", ["robust", Cluster("cluster")])
def test_cross_equation_covariance_is_the_stacked_sandwich(data, vcov):
    """Joint covariance vs statsmodels on the stacked system, clustered by respondent
    (robust) or by the respondent's cluster.

    Stacking the equations as one block-diagonal regression and clustering gives Stata's
    suest sandwich without factors (statsmodels, use_correction=False); our blocks carry
    each equation's factor f (HC1: N/(N-K_j); CR1: G/(G-1) (N-1)/(N-K_j)), sqrt(f_j f_k)
    between equations.
    """
    res = _model(data, "parallel").fit(vcov=vcov, bootstrap=0)
    n = len(data)
    blocks, ys, ks = [], [], []
    for dep, regs in EQUATIONS["parallel"]:
        a = np.column_stack([data[regs].to_numpy(), np.ones(n), data[COV].to_numpy()])
        blocks.append(a)
        ys.append(data[dep].to_numpy())
        ks.append(a.shape[1])
    big = np.zeros((n * len(blocks), sum(ks)))
    for j, a in enumerate(blocks):
        big[j * n : (j + 1) * n, sum(ks[:j]) : sum(ks[: j + 1])] = a
    unit = np.arange(n) if vcov == "robust" else data["cluster"].to_numpy()
    groups = np.tile(unit, len(blocks))
    ref = sm.OLS(np.concatenate(ys), big).fit(
        cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False}
    )
    g = len(np.unique(unit))
    factor = (
        (lambda k: n / (n - k)) if vcov == "robust" else (lambda k: g / (g - 1) * (n - 1) / (n - k))
    )
    scale = np.concatenate([np.full(k, np.sqrt(factor(k))) for k in ks])
    assert_allclose(res.vcov.to_numpy(), ref.cov_params() * np.outer(scale, scale), atol=1e-13)


def test_a_and_b_are_uncorrelated_under_iid(data):
    res = _model(data, "parallel").fit(bootstrap=0)
    assert abs(res.vcov.loc[f"a: {X} -> transfer", "b: transfer -> spillover"]) < 1e-14


def test_sobel_closed_form(data):
    res = _model(data, "parallel").fit(bootstrap=0)
    for m in ("transfer", "harvest"):
        eq_m = _ols(data, m, [X, *COV])
        eq_y = _ols(data, Y, [X, "transfer", "harvest", *COV])
        a, sa = eq_m.params[X], eq_m.bse[X]
        b, sb = eq_y.params[m], eq_y.bse[m]
        z = a * b / np.sqrt(b**2 * sa**2 + a**2 * sb**2)
        row = res.sobel.loc[f"{X} -> {m} -> {Y}"]
        assert_allclose([row["estimate"], row["z"]], [a * b, z], rtol=1e-10)
        assert_allclose(row["pvalue"], 2 * stats.norm.sf(abs(z)), rtol=1e-10)


def _type7(sorted_draws, q):
    """Hyndman-Fan type 7 quantile by hand: interpolate at h = (B - 1) q."""
    h = (len(sorted_draws) - 1) * q
    lo = int(np.floor(h))
    hi = min(lo + 1, len(sorted_draws) - 1)
    return sorted_draws[lo] + (h - lo) * (sorted_draws[hi] - sorted_draws[lo])


@pytest.mark.parametrize("level", [0.95, 0.90])
def test_intervals_match_published_formulas(data, level):
    model = _model(data, "serial")
    pct = model.fit(bootstrap=999, seed=11, level=level)
    bc = model.fit(bootstrap=999, seed=11, level=level, ci="bc")
    assert_allclose(pct.draws.to_numpy(), bc.draws.to_numpy(), rtol=0, atol=0)
    alpha = 1 - level
    for effect, draws in pct.draws.items():
        s = np.sort(draws.to_numpy())
        est = pct.indirect.loc[effect, "estimate"]
        row = pct.indirect.loc[effect]
        assert_allclose(
            [row["lower"], row["upper"]],
            [_type7(s, alpha / 2), _type7(s, 1 - alpha / 2)],
            rtol=1e-12,
        )
        assert_allclose(row["std_error"], np.std(s, ddof=1), rtol=1e-12)
        z0 = stats.norm.ppf(np.sum(s < est) / len(s))
        q_lo = stats.norm.cdf(2 * z0 + stats.norm.ppf(alpha / 2))
        q_hi = stats.norm.cdf(2 * z0 + stats.norm.ppf(1 - alpha / 2))
        row = bc.indirect.loc[effect]
        assert_allclose([row["lower"], row["upper"]], [_type7(s, q_lo), _type7(s, q_hi)])
        assert row["method"] == "bc"


def test_bootstrap_draws_equal_an_independent_loop(data):
    res = _model(data, "parallel", mediators=["transfer"]).fit(bootstrap=50, seed=5)
    rng = np.random.default_rng(5)
    n = len(data)
    hand = []
    for _ in range(50):
        d = data.iloc[rng.integers(0, n, size=n)]
        a = _ols(d, "transfer", [X, *COV]).params[X]
        b = _ols(d, Y, [X, "transfer", *COV]).params["transfer"]
        hand.append(a * b)
    assert_allclose(res.draws.iloc[:, 0].to_numpy(), hand, rtol=1e-10)


def test_seed_reproducibility(data):
    model = _model(data, "serial")
    one, two = model.fit(bootstrap=200, seed=7), model.fit(bootstrap=200, seed=7)
    three = model.fit(bootstrap=200, seed=8)
    pd.testing.assert_frame_equal(one.draws, two.draws)
    pd.testing.assert_frame_equal(one.indirect, two.indirect)
    assert not np.allclose(one.draws, three.draws)
    gen = model.fit(bootstrap=200, seed=np.random.default_rng(7))
    pd.testing.assert_frame_equal(one.draws, gen.draws)


def test_cluster_bootstrap_resamples_whole_clusters():
    """Clusters of 4 identical rows: each cluster draw equals a row draw on one row per cluster.

    Duplicating every row 4 times leaves OLS unchanged, so drawing clusters (with all
    their rows) must give exactly the draws of the row bootstrap on the collapsed data
    with the same generator; a row bootstrap of the full data would not.
    """
    small = example_survey(n=40, seed=9).drop(columns="cluster")
    small["cluster"] = np.arange(40)
    full = small.loc[small.index.repeat(4)].reset_index(drop=True)
    clustered = _model(full, "parallel", cluster="cluster").fit(bootstrap=100, seed=2)
    collapsed = _model(small, "parallel").fit(bootstrap=100, seed=2)
    assert_allclose(clustered.draws.to_numpy(), collapsed.draws.to_numpy(), rtol=1e-9)
    rows = _model(full, "parallel").fit(bootstrap=100, seed=2)
    assert not np.allclose(rows.draws.to_numpy(), collapsed.draws.to_numpy())
    assert clustered.vcov_name == "cluster (cluster), CR1"
    assert clustered.info["Clusters"] == "40 (cluster)"
    assert "clusters of cluster" in clustered.info["Bootstrap"]


@pytest.mark.parametrize("kind", ["parallel", "serial"])
def test_sem_paths_equal_ols(data, kind):
    """Saturated recursive path model: ML paths are the OLS ones (SLSQP ftol 1e-12 leaves
    ~1e-7); ML SEs are the unadjusted OLS SEs times sqrt((N - K_j) / N)."""
    model = _model(data, kind)
    ols, sem = model.fit(bootstrap=0), model.fit(engine="sem")
    assert_allclose(sem.params.to_numpy(), ols.params[sem.params.index].to_numpy(), atol=1e-6)
    n = len(data)
    k = {m: 3 + (kind == "serial" and m == "harvest") for m in ("transfer", "harvest")}
    k[Y] = 5
    for name in sem.params.index:
        dep = name.split(" ~ ")[0] if " ~ " in name else name.rsplit(" -> ", 1)[1]
        ratio = sem.std_errors[name] / (ols.std_errors[name] * np.sqrt((n - k[dep]) / n))
        assert_allclose(ratio, 1, rtol=1e-5)
    assert_allclose(
        sem.indirect["estimate"].to_numpy(), ols.indirect["estimate"].to_numpy(), atol=1e-6
    )
    assert_allclose(sem.effects.loc["total", "estimate"], ols.params[f"c: {X} -> {Y}"], atol=1e-6)


def test_sem_delta_se_single_mediator(data):
    """Delta SE of a b: sqrt(b^2 Va + a^2 Vb + 2 a b Cab) from the ML covariance."""
    sem = _model(data, mediators=["transfer"]).fit(engine="sem")
    a, b = f"a: {X} -> transfer", f"b: transfer -> {Y}"
    pa, pb, v = sem.params[a], sem.params[b], sem.vcov
    se = np.sqrt(pb**2 * v.loc[a, a] + pa**2 * v.loc[b, b] + 2 * pa * pb * v.loc[a, b])
    assert_allclose(sem.indirect.iloc[0]["std_error"], se, rtol=1e-12)


def test_results_interface(data):
    res = _model(data, "serial").fit(bootstrap=100, seed=1)
    assert isinstance(res, MediationResults)
    with pytest.raises(AttributeError):
        res.nobs = 0
    back = pickle.loads(pickle.dumps(res))
    pd.testing.assert_series_equal(back.params, res.params)
    pd.testing.assert_frame_equal(back.indirect, res.indirect)
    text = str(res.summary())
    for piece in ("Indirect effects", "Sobel", "Baron-Kenny", "c': environment -> spillover"):
        assert piece in text
    table = regression_table([res, _model(data).fit(vcov="robust", bootstrap=0)])
    assert "a: environment -> transfer" in str(table)
    assert res.baron_kenny["significant"].dtype == bool


def test_fit_does_not_change_model(data):
    model = _model(data)
    before = dict(vars(model))
    model.fit(bootstrap=20, seed=0)
    for key, value in before.items():
        assert vars(model)[key] is value


def test_singular_bootstrap_samples_are_replaced():
    """A covariate with one non-zero value is constant in ~37% of row resamples."""
    data = example_survey(n=30, seed=2).assign(rare=0.0)
    data.loc[5, "rare"] = 1.0
    model = Mediation(data, x=X, mediators=["transfer"], y=Y, covariates=["rare"])
    res = model.fit(bootstrap=200, seed=3, progress=True)
    assert np.isfinite(res.draws.to_numpy()).all() and len(res.draws) == 200
    replaced = int(res.info["Bootstrap"].split(", ")[-1].split()[0])
    assert 40 < replaced < 200


LAVAAN = json.loads((Path(__file__).parents[1] / "references/lavaan_mediation.json").read_text())


def _letter(lhs, rhs, mediators):
    if lhs in mediators:
        return "a" if rhs == X else "d"
    return "c'" if rhs == X else "b"


@pytest.mark.parametrize("kind", ["parallel", "serial"])
def test_sem_matches_lavaan(kind):
    """lavaan 0.6-14 (tests/references/lavaan_mediation.R): ML with expected information.

    Paths to 1e-6 (both optimisers stop near 1e-7 of the optimum); SEs and delta-method
    SEs to rtol 1e-5 (the information at slightly different optima).
    """
    data = pd.read_csv(Path(__file__).parents[1] / "references/mediation_survey.csv")
    sem = _model(data, kind).fit(engine="sem")
    ref = LAVAAN[kind]["regressions"]
    mediators = ("transfer", "harvest")
    names = [
        f"{lhs} ~ {rhs}" if rhs in COV else f"{_letter(lhs, rhs, mediators)}: {rhs} -> {lhs}"
        for lhs, rhs in zip(ref["lhs"], ref["rhs"], strict=True)
    ]
    assert_allclose(sem.params[names].to_numpy(), ref["est"], atol=1e-6)
    assert_allclose(sem.std_errors[names].to_numpy(), ref["se"], rtol=1e-5)
    defined = LAVAAN[kind]["defined"]
    ours = pd.concat([sem.indirect, sem.effects.loc[["total"]]])
    assert_allclose(ours["estimate"].to_numpy(), defined["est"], atol=1e-6)
    assert_allclose(ours["std_error"].to_numpy(), defined["se"], rtol=1e-5)
