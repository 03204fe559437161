"""The firm simulator: reproducible, its pools are what they claim, its truth is recoverable."""

from __future__ import annotations

import time

import geopandas as gpd
import libpysal
import numpy as np
import pandas as pd
import pytest
import shapely
from linearmodels import PanelOLS
from numpy.testing import assert_allclose

from spillover.errors import GeographyError, SpecificationError
from spillover.simulate import FirmTruth, OutcomeTruth, firms, square_area
from tests.accuracy import time_limit

REGRESSORS = ["log_rd_stock", "log_capital", "log_geo_pool", "log_tech_pool"]
OUTCOMES = ["employment", "productivity", "wage"]


@pytest.fixture(scope="module")
def sim():
    """Large enough that the geographic elasticities are estimated with SE < truth / 2."""
    return firms(4000, 10, seed=11)


@pytest.fixture(scope="module")
def us48():
    shp = gpd.read_file(libpysal.examples.get_path("us48.shp"))
    return shp.set_crs("EPSG:4326").to_crs("EPSG:5070").set_index("STATE_ABBR")


def _wide(panel, column, n_years):
    """firm x year matrix of a column, zero where the firm is not active."""
    wide = panel.data[column].unstack("year").reindex(columns=panel.periods)
    assert wide.shape[1] == n_years
    return wide.fillna(0.0).to_numpy()


def test_same_seed_same_data_different_seed_different_data():
    a, b, c = firms(300, 4, seed=3), firms(300, 4, seed=3), firms(300, 4, seed=4)
    pd.testing.assert_frame_equal(a.panel.data, b.panel.data)
    pd.testing.assert_frame_equal(a.tech_shares, b.tech_shares)
    assert a.locations.geometry.geom_equals(b.locations.geometry).all()
    assert not np.allclose(a.panel["log_wage"], c.panel["log_wage"])
    assert not a.locations.geometry.geom_equals(c.locations.geometry).all()


def test_generator_seed_and_global_state_untouched():
    # the legacy global generator is used on purpose: firms() must not draw from it
    np.random.seed(0)  # noqa: NPY002
    before = np.random.random()  # noqa: NPY002
    np.random.seed(0)  # noqa: NPY002
    firms(100, 2, seed=np.random.default_rng(5))
    assert np.random.random() == before  # noqa: NPY002
    pd.testing.assert_frame_equal(
        firms(100, 2, seed=np.random.default_rng(5)).panel.data, firms(100, 2, seed=5).panel.data
    )


def test_shapes_keys_and_units():
    s = firms(200, 3, seed=1, n_classes=12, start_year=1995)
    assert s.panel.nobs == 600 and s.panel.is_balanced
    assert list(s.panel.periods) == [1995, 1996, 1997]
    assert list(s.panel.entities) == list(range(1, 201))
    assert s.tech_shares.shape == (200, 12)
    assert_allclose(s.tech_shares.sum(axis=1), 1.0, rtol=1e-12)
    assert s.locations.crs.to_epsg() == 5070 and s.panel.has_geometry
    d = s.panel.data
    assert_allclose(d["value_added"], d["productivity"] * d["employment"], rtol=1e-12)
    assert_allclose(np.exp(d["log_wage"]), d["wage"], rtol=1e-12)
    assert_allclose(d["log_geo_pool"], np.log1p(d["geo_pool"]), rtol=1e-12)


@pytest.mark.parametrize("balanced", [True, False])
def test_pools_equal_dense_brute_force(balanced):
    """S^geo and S^tech against dense N x N matrices built from the definitions (small N)."""
    s = firms(150, 5, seed=2, bandwidth_km=20.0, cutoff_km=60.0, balanced=balanced, turnover=0.5)
    xy = np.column_stack([s.locations.geometry.x, s.locations.geometry.y]) / 1000.0  # km
    dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    w = np.where(dist <= 60.0, np.exp(-dist / 20.0), 0.0)
    np.fill_diagonal(w, 0.0)
    assert (w > 0).sum() > 300  # enough pairs for the check to bite
    shares = s.tech_shares.to_numpy()
    cos = (shares @ shares.T) / np.outer(*2 * [np.linalg.norm(shares, axis=1)])
    np.fill_diagonal(cos, 0.0)
    k = _wide(s.panel, "rd_stock", 5)
    active = s.panel.data["rd_stock"].unstack("year").notna().to_numpy()
    assert balanced or not active.all()
    # rtol 1e-10: same sums in a different order (sparse and low-rank vs dense)
    assert_allclose(_wide(s.panel, "geo_pool", 5)[active], (w @ k)[active], rtol=1e-10)
    assert_allclose(_wide(s.panel, "tech_pool", 5)[active], (cos @ k)[active], rtol=1e-10)
    assert_allclose(s.geo_weights.matrix.toarray(), w, rtol=1e-12, atol=0)


def test_rd_stock_is_perpetual_inventory_from_entry():
    s = firms(300, 6, seed=8, balanced=False, turnover=0.5)
    t = s.truth
    for _, g in s.panel.data.groupby(level="firm"):
        r, k = g["rd"].to_numpy(), g["rd_stock"].to_numpy()
        expected = [r[0] / (t.presample_growth + t.depreciation)]
        for x in r[1:]:
            expected.append((1 - t.depreciation) * expected[-1] + x)
        assert_allclose(k, expected, rtol=1e-12)


def test_rd_stock_matches_measures_rd_stock():
    from spillover import measures

    s = firms(300, 6, seed=8, balanced=False, turnover=0.5)
    stock = measures.rd_stock(s.panel, "rd", growth=s.truth.presample_growth)
    assert_allclose(stock.to_numpy(), s.panel["rd_stock"].to_numpy(), rtol=1e-12)


def test_unbalanced_panel_has_entry_exit_but_no_gaps():
    s = firms(400, 8, seed=4, balanced=False, turnover=0.3)
    p = s.panel
    assert not p.is_balanced and len(p.gaps()) == 0
    first = p.data.reset_index().groupby("firm")["year"].agg(["min", "max"])
    assert (first["min"] > 2000).mean() == pytest.approx(0.3, abs=0.08)  # binomial sd 0.023
    assert (first["max"] < 2007).mean() > 0.15
    assert p.n_entities == 400


def test_truth_is_what_generated_the_outcomes(sim):
    """Subtract the known non-pool terms and effects: OLS on the pools recovers gamma.

    With everything else removed, log y minus the known terms is gamma_geo log(1 + S^geo) +
    gamma_tech log(1 + S^tech) + e, e iid N(0, sigma^2): OLS is exact up to noise, and the
    residual sd is sigma (relative sampling error about 1 / sqrt(2 n) = 0.35% here).
    """
    d = sim.panel.data
    firm = d.index.get_level_values("firm")
    year = d.index.get_level_values("year")
    for name in OUTCOMES:
        b = sim.truth.outcome(name)
        known = (
            b.intercept
            + sim.firm_effects[name].reindex(firm).to_numpy()
            + sim.year_effects[name].reindex(year).to_numpy()
            + b.rd_stock * d["log_rd_stock"]
            + b.capital * d["log_capital"]
        )
        target = (d[f"log_{name}"] - known).to_numpy()
        x = d[["log_geo_pool", "log_tech_pool"]].to_numpy()
        coef, *_ = np.linalg.lstsq(x, target, rcond=None)
        resid = target - x @ coef
        se = np.sqrt(np.diag(resid @ resid / (len(x) - 2) * np.linalg.inv(x.T @ x)))
        truth = np.array([b.geo_pool, b.tech_pool])
        assert (np.abs(coef - truth) < 4 * se).all(), (name, coef, truth, se)
        assert (se < 0.01).all()  # tight enough to tell 0.02 from 0.04
        assert resid.std() == pytest.approx(b.sigma, rel=0.02)


def test_two_way_fixed_effects_recover_elasticities(sim):
    """linearmodels PanelOLS with firm and year effects on the simulated panel.

    The model is correctly specified (region-year shocks off, iid noise), so each estimate
    is within 4 classical standard errors of the truth except with probability 6e-5.
    """
    d = sim.panel.data
    for name in OUTCOMES:
        res = PanelOLS(d[f"log_{name}"], d[REGRESSORS], entity_effects=True, time_effects=True)
        fit = res.fit()
        truth = sim.truth.outcome(name).as_series()[REGRESSORS]
        z = (fit.params - truth) / fit.std_errors
        assert (z.abs() < 4).all(), (name, z.to_dict())
        se = fit.std_errors
        assert se["log_geo_pool"] < abs(truth["log_geo_pool"]) / 2, se  # the test has power
        assert se["log_rd_stock"] < 0.02


def test_firm_effects_correlate_with_rd_so_pooled_ols_is_biased(sim):
    """firm_effect_corr = 0.5: effects load on own R&D; pooled OLS misses the truth, FE not."""
    d = sim.panel.data
    mean_rd = d["log_rd"].groupby(level="firm").mean()
    assert np.corrcoef(mean_rd, sim.firm_effects["wage"].reindex(mean_rd.index))[0, 1] > 0.3
    pooled = PanelOLS(d["log_wage"], d[REGRESSORS].assign(const=1.0)).fit()
    truth = sim.truth.wage.rd_stock
    assert abs(pooled.params["log_rd_stock"] - truth) > 10 * pooled.std_errors["log_rd_stock"]


def test_custom_truth_is_used_and_returned():
    truth = FirmTruth(
        wage=OutcomeTruth(1.0, 0.0, 0.0, 0.5, 0.0, sigma=0.01),
        firm_effect_sd=0.0,
        cluster_effect_sd=0.0,
        year_effect_sd=0.0,
    )
    s = firms(300, 3, seed=9, truth=truth, bandwidth_km=30.0, cutoff_km=90.0)
    assert s.truth is truth
    d = s.panel.data
    trend = 0.01 * (d.index.get_level_values("year") - 2000)
    resid = d["log_wage"] - 1.0 - trend - 0.5 * d["log_geo_pool"]
    assert resid.std() == pytest.approx(0.01, rel=0.15)  # sd of 900 draws: 2.4% sampling error


def test_region_year_effects_enter_when_asked():
    s = firms(300, 4, seed=6, truth=FirmTruth(region_year_sd=0.2))
    rye = s.region_year_effects
    assert rye.index.names == ["region", "year"] and len(rye) == 100 * 4
    assert rye.to_numpy().std() == pytest.approx(0.2, rel=0.1)  # 1,200 draws


def test_firms_lie_inside_their_us48_state(us48):
    s = firms(600, 2, seed=3, area=us48, n_clusters=20)
    assert s.locations.crs == us48.crs
    polygons = us48.geometry.reindex(s.locations["region"]).to_numpy()
    assert shapely.contains(polygons, s.locations.geometry.to_numpy()).all()
    # exactly one state: no other polygon contains the point
    hits = shapely.STRtree(us48.geometry.to_numpy()).query(
        s.locations.geometry.to_numpy(), predicate="within"
    )
    assert np.bincount(hits[0], minlength=600).max() == 1
    assert set(s.panel["region"]) <= set(us48.index)


def test_default_area_is_a_documented_square():
    area = square_area()
    assert area.crs.to_epsg() == 5070 and len(area) == 100
    assert area.area.sum() == pytest.approx(1e12)  # 1,000 km x 1,000 km in m2
    s = firms(500, 1, seed=0)
    assert shapely.contains(
        area.geometry.reindex(s.locations["region"]).to_numpy(), s.locations.geometry.to_numpy()
    ).all()


def test_geographic_or_missing_crs_is_rejected(us48):
    with pytest.raises(GeographyError, match="to_crs"):
        firms(50, 2, area=us48.to_crs("EPSG:4326"))
    with pytest.raises(GeographyError, match="no CRS"):
        # set_crs(None, allow_override=True) needs geopandas >= 1.0
        no_crs = gpd.GeoDataFrame(
            us48.drop(columns="geometry"), geometry=np.asarray(us48.geometry.values)
        )
        firms(50, 2, area=no_crs)


def test_bad_area_geometries_are_named(us48):
    dup = us48.reset_index().set_index("SUB_REGION")
    with pytest.raises(GeographyError, match="not unique"):
        firms(50, 2, area=dup)
    points = gpd.GeoDataFrame(geometry=us48.representative_point(), crs=us48.crs)
    with pytest.raises(GeographyError, match="not polygons"):
        firms(50, 2, area=points)
    with pytest.raises(GeographyError, match=r"feet|foot|metres"):
        firms(50, 2, area=us48.to_crs("EPSG:2263"))  # NY state plane, US survey feet


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_firms": 1}, "n_firms"),
        ({"n_years": 0}, "n_years"),
        ({"bandwidth_km": 0.0}, "bandwidth_km"),
        ({"rural_share": 1.5}, "rural_share"),
        ({"truth": {"wage": 1}}, "FirmTruth"),
    ],
)
def test_bad_options_are_named(kwargs, match):
    args = {"n_firms": 50, "n_years": 2} | kwargs
    with pytest.raises(SpecificationError, match=match):
        firms(**args)


def test_bad_truth_is_rejected():
    with pytest.raises(SpecificationError, match="depreciation"):
        FirmTruth(depreciation=0.0)
    with pytest.raises(SpecificationError, match="sigma"):
        OutcomeTruth(0.0, 0.1, 0.1, 0.1, 0.1, sigma=0.0)


@pytest.mark.slow
def test_a_million_firm_years_in_well_under_a_minute():
    start = time.perf_counter()
    s = firms(100_000, 10, seed=0)
    elapsed = time.perf_counter() - start
    assert s.panel.nobs == 1_000_000
    time_limit(elapsed, 60, "firms(100,000, 10)")


@pytest.mark.slow
def test_a_million_firm_years_pin_down_every_elasticity():
    """At 100,000 firms x 10 years even the technological pool's SE is below truth / 4."""
    s = firms(100_000, 10, seed=0)
    d = s.panel.data
    for name in OUTCOMES:
        fit = PanelOLS(
            d[f"log_{name}"], d[REGRESSORS], entity_effects=True, time_effects=True
        ).fit()
        truth = s.truth.outcome(name).as_series()[REGRESSORS]
        assert ((fit.params - truth).abs() < 4 * fit.std_errors).all(), name
        assert (fit.std_errors < truth.abs() / 4).all(), fit.std_errors
