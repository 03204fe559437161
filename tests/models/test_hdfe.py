"""HDFE against linearmodels AbsorbingLS and dense dummy regressions (closed forms).

A small unbalanced panel with firm, year and region x year effects. Dense least squares
with explicit dummies is the independent reference: estimates agree to 1e-8 (both are
exact solutions of the same normal equations; the difference is rounding). Clustered
errors are rebuilt in closed form from the dummy regression with Stata's CR1 factor.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from linearmodels.iv.absorbing import AbsorbingLS
from numpy.testing import assert_allclose

from spillover import Panel
from spillover.errors import ConvergenceError, DroppedRowsWarning, SpecificationError
from spillover.inference import Cluster
from spillover.models import HDFE, FixedEffects, _demean
from tests.accuracy import assert_vcov_close


def _firms(n_firms=120, n_years=8, seed=3):
    rng = np.random.default_rng(seed)
    rows = []
    for f in range(n_firms):
        start = rng.integers(0, n_years - 2)
        stop = rng.integers(start + 2, n_years + 1)
        region = f % 6
        rows += [(f, y, region) for y in range(start, stop)]
    df = pd.DataFrame(rows, columns=["firm", "year", "region"])
    n = len(df)
    fe = rng.normal(size=n_firms)[df.firm] + rng.normal(size=n_years)[df.year]
    fe += rng.normal(size=(6, n_years))[df.region, df.year]
    df["x1"] = rng.normal(size=n) + 0.5 * fe
    df["x2"] = rng.normal(size=n)
    df["y"] = 1.0 + 0.7 * df.x1 - 0.3 * df.x2 + fe + rng.normal(size=n)
    return Panel(df, entity="firm", time="year")


@pytest.fixture(scope="module")
def firms():
    return _firms()


def _dummies(frame, specs):
    cols = []
    for s in specs:
        key = frame[s.split(":")].astype(str).agg("_".join, axis=1)
        cols.append(pd.get_dummies(key, prefix=s, dtype=float).to_numpy())
    return np.column_stack(cols)


def test_three_way_matches_absorbing_ls_and_dummies(firms):
    absorb = ["firm", "year", "region:year"]
    res = HDFE("y ~ x1 + x2", firms, absorb=absorb, singletons="keep").fit()
    frame = firms.data.reset_index()
    cats = pd.DataFrame(
        {
            "firm": pd.Categorical(frame.firm),
            "year": pd.Categorical(frame.year),
            "ry": pd.Categorical(frame.region.astype(str) + "_" + frame.year.astype(str)),
        }
    )
    exog = frame[["x1", "x2"]].assign(const=1.0)
    lm = AbsorbingLS(frame.y, exog, absorb=cats).fit(cov_type="unadjusted")
    assert_allclose(res.params[["x1", "x2"]], lm.params[["x1", "x2"]], rtol=1e-8)
    # dense dummies: same slopes, and the classical variance with df N - rank(D, X)
    d = _dummies(frame, absorb)
    full = np.column_stack([frame[["x1", "x2"]].to_numpy(), d])
    coef, *_ = np.linalg.lstsq(full, frame.y.to_numpy(), rcond=None)
    assert_allclose(res.params[["x1", "x2"]], coef[:2], rtol=1e-8)
    e = frame.y.to_numpy() - full @ coef
    rank = np.linalg.matrix_rank(full)
    assert res.df_resid == len(e) - rank
    xt = full[:, :2] - d @ np.linalg.lstsq(d, full[:, :2], rcond=None)[0]
    v = e @ e / (len(e) - rank) * np.linalg.inv(xt.T @ xt)
    assert_allclose(res.vcov.loc[["x1", "x2"], ["x1", "x2"]], v, rtol=1e-8)


def test_clustered_errors_follow_stata_convention(firms):
    absorb = ["firm", "year", "region:year"]
    res = HDFE("y ~ x1 + x2", firms, absorb=absorb, singletons="keep").fit(vcov=Cluster("firm"))
    frame = firms.data.reset_index()
    d_all = _dummies(frame, absorb)
    x = frame[["x1", "x2"]].to_numpy()
    full = np.column_stack([x, d_all])
    coef = np.linalg.lstsq(full, frame.y.to_numpy(), rcond=None)[0]
    e = frame.y.to_numpy() - full @ coef
    xt = x - d_all @ np.linalg.lstsq(d_all, x, rcond=None)[0]
    g = frame.firm.to_numpy()
    meat = sum(np.outer(xt[g == k].T @ e[g == k], xt[g == k].T @ e[g == k]) for k in np.unique(g))
    bread = np.linalg.inv(xt.T @ xt)
    # K = 2 slopes + intercept; A* = rank of the non-nested dummies (year, region x year)
    # beyond the intercept; firm effects are nested in firm clusters and not counted
    n, n_g = len(e), len(np.unique(g))
    a_star = np.linalg.matrix_rank(_dummies(frame, ["year", "region:year"])) - 1
    factor = n_g / (n_g - 1) * (n - 1) / (n - 3 - a_star)
    assert_allclose(
        res.vcov.loc[["x1", "x2"], ["x1", "x2"]], factor * bread @ meat @ bread, rtol=1e-8
    )
    assert res.df_resid == n_g - 1


def test_clustered_errors_against_pyfixest_and_its_df_count(firms):
    """pyfixest counts one redundant level per further effect set (fixest's default
    ``fixef.K="nested"`` without ``force_exact``); here year is nested in region x year,
    so it counts the year levels that the exact rank leaves out. Our vcov times
    ``(N - K) / (N - K_fixest)`` is its vcov; the slopes agree to its demeaning
    tolerance (1e-12 here), so rtol 1e-8. Without the nested set the counts agree."""
    pf = pytest.importorskip("pyfixest")
    frame = firms.data.reset_index()
    n_years = frame.year.nunique()
    cases = [(["firm", "year", "region:year"], "firm + year + region^year"),
             (["firm", "region:year"], "firm + region^year")]  # fmt: skip
    for absorb, fml in cases:
        res = HDFE("y ~ x1 + x2", firms, absorb=absorb, singletons="keep").fit(vcov=Cluster("firm"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = pf.feols(f"y ~ x1 + x2 | {fml}", frame, vcov={"CRV1": "firm"},
                           fixef_tol=1e-12, fixef_rm="none")  # fmt: skip
        n = len(frame)
        k = 3 + np.linalg.matrix_rank(_dummies(frame, absorb[1:])) - 1  # slopes, icpt, A
        extra = n_years - 1 if "year" in absorb else 0  # year levels counted again
        scale = np.sqrt((n - k) / (n - k - extra))
        assert_allclose(res.params[["x1", "x2"]], ref.coef()[["x1", "x2"]], rtol=1e-8)
        assert_allclose(res.std_errors[["x1", "x2"]] * scale, ref.se()[["x1", "x2"]], rtol=1e-8)


def test_two_way_equals_fixed_effects(firms):
    a = HDFE("y ~ x1 + x2", firms, absorb=["firm", "year"], singletons="keep").fit(
        vcov=Cluster("firm")
    )
    b = FixedEffects("y ~ x1 + x2", firms, effects="twoway").fit(vcov=Cluster("firm"))
    assert_allclose(a.params, b.params, rtol=1e-8)  # two exact solvers: rounding
    assert_vcov_close(a.vcov, b.vcov, rtol=1e-8)


def test_iterative_path_matches_exact(firms, monkeypatch):
    codes = [HDFE_codes(firms, s) for s in ("firm", "year", "region:year")]
    x = firms.data[["x1", "x2"]].to_numpy()
    exact = _demean.Absorber(codes).demean(x)
    monkeypatch.setattr(_demean, "EXACT_MAX_LEVELS", 0)
    it = _demean.Absorber(codes, tol=1e-13)
    assert not it.exact
    # stops when the largest change is below 1e-13 of the column scale (O(1)); the error is
    # that change times rate / (1 - rate) of the alternating projections: 1e-9 allows a rate
    # up to 1 - 1e-4 (observed error 2e-14)
    assert_allclose(it.demean(x), exact, atol=1e-9)
    with pytest.raises(ConvergenceError, match="did not converge"):
        _demean.Absorber(codes, tol=1e-30, max_iter=3).demean(x)


def HDFE_codes(panel, spec):
    from spillover.models.hdfe import effect_codes

    return effect_codes(panel.data, spec)


def test_singletons_dropped_with_count():
    df = pd.DataFrame(
        {
            "firm": [1, 1, 2, 2, 3, 4, 4],
            "year": [1, 2, 1, 2, 1, 1, 2],
            "x": [0.1, 0.5, 0.3, 0.9, 0.2, 0.4, 0.8],
            "y": [1.0, 2.0, 1.5, 3.0, 0.1, 2.0, 2.2],
        }
    )
    with pytest.warns(DroppedRowsWarning, match="dropped 1 rows"):
        model = HDFE("y ~ x", Panel(df, entity="firm", time="year"), absorb=["firm", "year"])
    res = model.fit()
    assert res.nobs == 6 and res.info["singletons dropped"] == 1


def test_absorbed_regressor_and_bad_effect_are_named(firms):
    p = firms.assign(size=firms.data.index.get_level_values(0).to_numpy() % 3)
    with pytest.raises(SpecificationError, match="size"):
        HDFE("y ~ x1 + size", p, absorb=["firm"], singletons="keep").fit()
    with pytest.raises(SpecificationError, match="sector"):
        HDFE("y ~ x1", firms, absorb=["sector"])


def test_conley_projected_geometry_is_converted_to_km():
    from spillover import simulate
    from spillover.geo import distance_coordinates
    from spillover.inference import Conley

    sim = simulate.firms(150, 4, seed=2)
    xy, metric = distance_coordinates(sim.panel.geo)  # EPSG:5070, metres
    assert metric == "euclidean"
    pos = sim.panel.geo.index.get_indexer(sim.panel.data.index.get_level_values(0))
    panel = sim.panel.assign(x_km=xy[pos, 0] / 1000, y_km=xy[pos, 1] / 1000)
    model = HDFE("log_wage ~ log_capital + log_geo_pool", panel, absorb=["firm", "year"])
    from_geo = model.fit(vcov=Conley(cutoff_km=40, lags=1))
    from_cols = model.fit(
        vcov=Conley(cutoff_km=40, lags=1, coords=("x_km", "y_km"), metric="euclidean")
    )
    # the same distances up to where the metres are divided by 1000: sums reassociate and
    # kernel weights move in the last bits (1e-12 of sqrt(V_ii V_jj); observed 7e-14)
    assert_vcov_close(from_geo.vcov, from_cols.vcov, rtol=1e-10)


@pytest.mark.slow
def test_recovers_simulated_wage_equation():
    from spillover import simulate

    sim = simulate.firms(3000, 8, seed=11, balanced=False)
    with pytest.warns(DroppedRowsWarning, match="singleton"):  # one-year firms
        model = HDFE(
            "log_wage ~ log_rd_stock + log_capital + log_geo_pool + log_tech_pool",
            sim.panel,
            absorb=["firm", "year"],
        )
    res = model.fit(vcov=Cluster("firm"))
    truth = sim.truth.wage
    for name, value in [
        ("log_rd_stock", truth.rd_stock),
        ("log_capital", truth.capital),
        ("log_geo_pool", truth.geo_pool),
        ("log_tech_pool", truth.tech_pool),
    ]:
        # correctly specified two-way model: each estimate within 4 standard errors
        assert abs(res.params[name] - value) < 4 * res.std_errors[name], name


@pytest.mark.parametrize("weighted", [False, True])
def test_within_group_pairs_equals_dense_definition(weighted):
    """(F'WS)' diag(1/n_g) (F'WS) against dense dummies: sums of a few hundred terms of
    order 1, so rounding ~1e-13; rtol 1e-12."""
    rng = np.random.default_rng(5)
    big = np.sort(rng.integers(0, 40, 300))
    small = [rng.integers(0, 6, 300), 6 + rng.integers(0, 9, 300)]
    w = rng.uniform(0.5, 2.0, 300) if weighted else np.ones(300)
    counts = np.bincount(big, weights=w)
    f = np.eye(40)[big]
    s = np.eye(15)[small[0]] + np.eye(15)[small[1]]
    fws = f.T @ (w[:, None] * s)
    expected = fws.T @ np.diag(1.0 / counts) @ fws
    got = _demean.within_group_pairs(big, counts, small, 15, w if weighted else None)
    assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
