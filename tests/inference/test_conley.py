"""Conley spatial HAC meat: against a brute-force double loop and its known special cases."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

from spillover.errors import GeographyError, PanelError, SpecificationError
from spillover.inference.conley import conley_meat, conley_vcov
from tests.accuracy import time_limit

# all comparisons are between two exact computations of the same finite sums: they differ
# only by floating-point summation order, hence rtol 1e-10
RTOL = 1e-10


def _great_circle(lon1, lat1, lon2, lat2):
    """Independent great-circle distance: Vincenty's spherical atan2 form, R = 6371.0088 km."""
    p1, p2, dl = np.radians(lat1), np.radians(lat2), np.radians(lon2 - lon1)
    num = np.hypot(
        np.cos(p2) * np.sin(dl), np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    )
    den = np.sin(p1) * np.sin(p2) + np.cos(p1) * np.cos(p2) * np.cos(dl)
    return 6371.0088 * np.arctan2(num, den)


def brute_force_meat(s, xy, entity, time, cutoff, metric, kernel, lags):
    """Dense double loop over every pair of observations (only for small n)."""
    n, k = s.shape
    meat = np.zeros((k, k))
    for a in range(n):
        for b in range(n):
            if time[a] == time[b]:
                if metric == "haversine":
                    d = _great_circle(xy[a, 0], xy[a, 1], xy[b, 0], xy[b, 1])
                else:
                    d = float(np.hypot(*(xy[a] - xy[b])))
                if d > cutoff or (a != b and cutoff == 0 and d > 0):
                    continue
                w = 1.0 if (kernel == "uniform" or d == 0) else 1 - d / cutoff
            elif entity[a] == entity[b] and abs(time[a] - time[b]) <= lags:
                w = 1 - abs(time[a] - time[b]) / (lags + 1)
            else:
                continue
            meat += w * np.outer(s[a], s[b])
    return meat


def random_panel(n_units=25, n_periods=5, k=3, *, moving=0.2, seed=0):
    """Unbalanced, shuffled panel of units near Lyon; some units move between periods."""
    rng = np.random.default_rng(seed)
    home = np.column_stack([rng.uniform(4.0, 6.0, n_units), rng.uniform(45.0, 46.5, n_units)])
    entity = np.repeat(np.arange(n_units), n_periods)
    time = np.tile(np.arange(n_periods) + 2000, n_units)
    keep = rng.uniform(size=len(entity)) > 0.25  # unbalanced, with gaps
    entity, time = entity[keep], time[keep]
    xy = home[entity].copy()
    movers = rng.uniform(size=len(entity)) < moving
    xy[movers] += rng.normal(scale=0.3, size=(movers.sum(), 2))
    s = rng.normal(size=(len(entity), k))
    order = rng.permutation(len(entity))
    return s[order], xy[order], entity[order] * 7 + 3, time[order]


@pytest.mark.parametrize("kernel", ["bartlett", "uniform"])
@pytest.mark.parametrize("lags", [0, 1, 3])
def test_matches_brute_force_haversine(kernel, lags):
    s, xy, ent, t = random_panel(seed=lags)
    got = conley_meat(
        s, xy, entity=ent, time=t, cutoff=60.0, metric="haversine", kernel=kernel, lags=lags
    )
    want = brute_force_meat(s, xy, ent, t, 60.0, "haversine", kernel, lags)
    assert_allclose(got, want, rtol=RTOL, atol=1e-12)


@pytest.mark.parametrize("kernel", ["bartlett", "uniform"])
def test_matches_brute_force_euclidean_with_coincident_points(kernel):
    s, xy, ent, t = random_panel(n_units=30, seed=5)
    xy = np.round(xy * 2) * 50  # planar km on a coarse grid: many coincident locations
    got = conley_meat(
        s, xy, entity=ent, time=t, cutoff=120.0, metric="euclidean", kernel=kernel, lags=2
    )
    want = brute_force_meat(s, xy, ent, t, 120.0, "euclidean", kernel, 2)
    assert_allclose(got, want, rtol=RTOL, atol=1e-12)


def test_moving_locations_use_per_period_pairs():
    # every observation at a fresh random point: the per-period neighbour search is taken
    rng = np.random.default_rng(3)
    s, _, ent, t = random_panel(n_units=40, n_periods=4, seed=3)
    xy = rng.uniform(0, 300, size=(len(s), 2))
    got = conley_meat(s, xy, entity=ent, time=t, cutoff=80.0, metric="euclidean", lags=1)
    want = brute_force_meat(s, xy, ent, t, 80.0, "euclidean", "bartlett", 1)
    assert_allclose(got, want, rtol=RTOL, atol=1e-12)


def test_cutoff_zero_is_white_hc0_meat():
    s, _, ent, t = random_panel(seed=11)
    xy = np.random.default_rng(11).uniform(-10, 10, size=(len(s), 2))  # distinct points
    for cutoff in (0.0, 1e-6):
        got = conley_meat(s, xy, entity=ent, time=t, cutoff=cutoff, metric="haversine")
        assert_allclose(got, s.T @ s, rtol=RTOL)


def test_large_uniform_cutoff_is_cluster_by_period_meat():
    s, xy, ent, t = random_panel(seed=2)
    got = conley_meat(
        s, xy, entity=ent, time=t, cutoff=5000.0, metric="haversine", kernel="uniform"
    )
    sums = np.array([s[t == p].sum(axis=0) for p in np.unique(t)])
    assert_allclose(got, sums.T @ sums, rtol=RTOL)


def test_cutoff_zero_with_all_lags_adds_bartlett_within_unit_terms():
    # closed form: per unit, sum_{a,b} (1 - |t_a - t_b|/(L+1)) s_a s_b' over its periods
    s, _, ent, t = random_panel(n_units=10, n_periods=6, seed=4)
    xy = np.random.default_rng(4).uniform(0, 1000, size=(len(s), 2))
    lags = 5
    got = conley_meat(s, xy, entity=ent, time=t, cutoff=0.0, metric="euclidean", lags=lags)
    want = np.zeros((3, 3))
    for e in np.unique(ent):
        se, te = s[ent == e], t[ent == e]
        w = 1 - np.abs(te[:, None] - te[None, :]) / (lags + 1)
        want += se.T @ w @ se
    assert_allclose(got, want, rtol=RTOL)


def test_great_circle_agrees_with_projected_coordinates():
    # near the equator an equirectangular projection in km preserves short distances to
    # ~1e-4 relative; with a uniform kernel and no pair within 1 km of the cutoff, the
    # sets of pairs, hence the meats, are identical
    rng = np.random.default_rng(8)
    n = 150
    lonlat = np.column_stack([rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)])
    km_per_deg = 6371.0088 * np.pi / 180
    planar = lonlat * km_per_deg
    d = _great_circle(
        lonlat[:, None, 0], lonlat[:, None, 1], lonlat[None, :, 0], lonlat[None, :, 1]
    )
    gaps = np.sort(d[(d > 40) & (d < 60)])
    at = np.argmax(np.diff(gaps))
    cutoff = (gaps[at] + gaps[at + 1]) / 2  # midway in the widest gap between pair distances
    assert np.abs(d - cutoff).min() > 0.01
    s = rng.normal(size=(n, 2))
    ent, t = np.arange(n), np.zeros(n, dtype=int)
    for kernel, rtol in (("uniform", RTOL), ("bartlett", 1e-3)):
        a = conley_meat(
            s, lonlat, entity=ent, time=t, cutoff=cutoff, metric="haversine", kernel=kernel
        )
        b = conley_meat(
            s, planar, entity=ent, time=t, cutoff=cutoff, metric="euclidean", kernel=kernel
        )
        assert_allclose(a, b, rtol=rtol)


def test_row_order_does_not_matter():
    s, xy, ent, t = random_panel(seed=9)
    kw = dict(cutoff=70.0, metric="haversine", lags=2)
    a = conley_meat(s, xy, entity=ent, time=t, **kw)
    p = np.random.default_rng(0).permutation(len(s))
    b = conley_meat(s[p], xy[p], entity=ent[p], time=t[p], **kw)
    assert_allclose(a, b, rtol=RTOL)


def test_conley_vcov_at_cutoff_zero_is_statsmodels_hc0():
    rng = np.random.default_rng(12)
    n = 300
    x = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    y = x @ [1.0, 0.5, -0.2] + rng.normal(size=n) * (1 + np.abs(x[:, 1]))
    fit = sm.OLS(y, x).fit(cov_type="HC0")
    xy = rng.uniform(0, 100, size=(n, 2))
    v = conley_vcov(
        x, fit.resid, xy, entity=np.arange(n), time=np.zeros(n, int), cutoff=0.0, metric="euclidean"
    )
    assert_allclose(v, fit.cov_params(), rtol=1e-10)


def test_conley_vcov_is_the_ols_sandwich():
    s, xy, ent, t = random_panel(seed=13)
    rng = np.random.default_rng(13)
    x = np.column_stack([np.ones(len(s)), rng.normal(size=len(s))])
    u = rng.normal(size=len(s))
    kw = dict(entity=ent, time=t, cutoff=40.0, metric="haversine", kernel="uniform", lags=1)
    bread = np.linalg.inv(x.T @ x)
    want = (
        bread
        @ brute_force_meat(x * u[:, None], xy, ent, t, 40.0, "haversine", "uniform", 1)
        @ bread
    )
    assert_allclose(conley_vcov(x, u, xy, **kw), want, rtol=RTOL)


def test_duplicate_keys_are_named():
    s, xy, ent, t = random_panel(seed=1)
    ent[1], t[1] = ent[0], t[0]
    with pytest.raises(PanelError, match=r"rows 0, 1"):
        conley_meat(s, xy, entity=ent, time=t, cutoff=10.0, metric="haversine")


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"cutoff": -1.0}, SpecificationError, "cutoff"),
        ({"kernel": "gaussian"}, SpecificationError, "kernel"),
        ({"lags": 1.5}, SpecificationError, "lags"),
        ({"time": np.linspace(0, 1, 4)}, SpecificationError, "integer period codes"),
        ({"coords": np.full((4, 2), 500.0)}, GeographyError, "euclidean"),
        ({"entity": [0, 1, 2]}, SpecificationError, "entity has 3"),
    ],
)
def test_bad_input_is_rejected(kw, error, match):
    args = {
        "coords": np.zeros((4, 2)),
        "entity": [0, 1, 2, 3],
        "time": [0, 0, 0, 0],
        "cutoff": 10.0,
        "metric": "haversine",
        **kw,
    }
    with pytest.raises(error, match=match):
        conley_meat(np.ones((4, 2)), args.pop("coords"), **args)


def test_period_chunks_give_the_same_meat(monkeypatch):
    # a tiny memory budget forces one period per chunk in the accumulation
    import spillover.inference.conley as conley

    s, xy, ent, t = random_panel(seed=21)
    want = brute_force_meat(s, xy, ent, t, 60.0, "haversine", "bartlett", 1)
    monkeypatch.setattr(conley, "_CHUNK_BYTES", 1)
    got = conley_meat(s, xy, entity=ent, time=t, cutoff=60.0, metric="haversine", lags=1)
    assert_allclose(got, want, rtol=RTOL, atol=1e-12)


@pytest.mark.slow
def test_100k_units_by_10_periods_within_a_minute():
    # the size requirement; 100 km over the contiguous US is ~230 neighbours each
    import time

    rng = np.random.default_rng(0)
    n, n_periods = 100_000, 10
    home = np.column_stack([rng.uniform(-125, -67, n), rng.uniform(25, 49, n)])
    ent = np.repeat(np.arange(n), n_periods)
    t = np.tile(np.arange(n_periods), n)
    s = rng.normal(size=(n * n_periods, 3))
    start = time.perf_counter()
    meat = conley_meat(s, home[ent], entity=ent, time=t, cutoff=100.0, metric="haversine", lags=2)
    time_limit(time.perf_counter() - start, 60, "Conley meat, 100,000 units x 10 periods")
    assert np.all(np.isfinite(meat))
