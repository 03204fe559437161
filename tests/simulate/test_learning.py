"""The learning simulators: their data follow the stated model (rebuilt here from the raw
pieces with numpy, statsmodels for the tie logit), and seeds reproduce them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose, assert_array_equal

from spillover.errors import SpecificationError
from spillover.simulate import (
    LearningNetworkTruth,
    LearningTruth,
    learning_by_doing,
    learning_network,
)

PINNED = json.loads((Path(__file__).parent / "seed_values_learning.json").read_text())


def _twoway_demean(a: np.ndarray) -> np.ndarray:
    """a (years x firms) minus firm means and year means plus the grand mean."""
    return a - a.mean(axis=0) - a.mean(axis=1, keepdims=True) + a.mean()


def _within_fit(y: np.ndarray, xs: list[np.ndarray], zs: list[np.ndarray] | None = None):
    """Two-way within (2SLS if instruments ``zs``) of y on xs, all (years x firms): the
    coefficients and their homoskedastic standard errors, df = (N - 1)(T - 1) - k."""
    t, n = y.shape
    yy = _twoway_demean(y).ravel()
    x = np.column_stack([_twoway_demean(v).ravel() for v in xs])
    xhat = x
    if zs is not None:
        z = np.column_stack([_twoway_demean(v).ravel() for v in zs])
        xhat = z @ np.linalg.lstsq(z, x, rcond=None)[0]
    b = np.linalg.solve(xhat.T @ x, xhat.T @ yy)
    e = yy - x @ b
    s2 = e @ e / ((n - 1) * (t - 1) - x.shape[1])
    return b, np.sqrt(np.diag(s2 * np.linalg.inv(xhat.T @ xhat)))


# ---------------------------------------------------------------------- learning by doing
@pytest.fixture(scope="module")
def lbd():
    return learning_by_doing(300, 6, seed=3)


def test_experience_and_pools_follow_their_definitions(lbd):
    d = lbd.panel.data
    t = lbd.truth
    q = d["output"].unstack(level=0).to_numpy()  # years x firms
    e = d["experience"].unstack(level=0).to_numpy()
    by_hand = t.initial_years * q[0] + np.vstack([np.zeros(q.shape[1]), np.cumsum(q, 0)[:-1]])
    assert_allclose(e, by_hand, rtol=1e-12)
    xy = np.column_stack([lbd.panel.geo.geometry.x, lbd.panel.geo.geometry.y]) / 1e3
    dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    w = np.where((dist > 0) & (dist <= t.cutoff_km), np.exp(-dist / t.bandwidth_km), 0.0)
    local = d["local_pool"].unstack(level=0).to_numpy()
    assert_allclose(local, e @ w.T, rtol=1e-10)  # one summation order against another
    national = d["national_pool"].unstack(level=0).to_numpy()
    assert_allclose(national, e.sum(axis=1, keepdims=True) - e, rtol=1e-12)


def test_unit_cost_follows_the_stated_learning_curve(lbd):
    # Output (hence experience and pools) is drawn independently of the cost shocks, so the
    # two-way within regression of log cost on the three logged stocks is unbiased for the
    # truth with exact-model homoskedastic SEs: |z| < 4 fails by chance w.p. ~6e-5 each.
    d, t = lbd.panel.data, lbd.truth
    wide = {c: d[c].unstack(level=0).to_numpy() for c in d.columns if c != "region"}
    xs = [
        np.log(wide["experience"]), np.log1p(wide["local_pool"]), np.log1p(wide["national_pool"])
    ]  # fmt: skip
    b, se = _within_fit(np.log(wide["unit_cost"]), xs)
    z = (b - np.array([-t.own, -t.local, -t.national])) / se
    assert (np.abs(z) < 4).all(), z


def test_learning_by_doing_seed_reproduces_and_pins():
    a = learning_by_doing(60, 4, seed=11).panel.data
    b = learning_by_doing(60, 4, seed=np.random.default_rng(11)).panel.data
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(
        a["unit_cost"], learning_by_doing(60, 4, seed=12).panel.data["unit_cost"]
    )
    ref = PINNED["learning_by_doing"]
    assert_allclose(a["unit_cost"].to_numpy()[ref["rows"]], ref["unit_cost"], rtol=1e-12)
    assert_allclose(a["local_pool"].sum(), ref["local_pool_sum"], rtol=1e-12)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: learning_by_doing(1, 4), "n_firms must be an integer >= 2"),
        (lambda: learning_by_doing(10, 1), "n_years must be an integer >= 2"),
        (lambda: LearningTruth(bandwidth_km=0), "bandwidth_km must be > 0"),
        (lambda: LearningNetworkTruth(rho=1.0), "rho must lie in"),
        (lambda: LearningNetworkTruth(high_if_foreign=1.5), "high_if_foreign must be a prob"),
        (lambda: learning_network(5, 3), "n_firms must be an integer >= 10"),
        (lambda: learning_network(3001, 3), "above 3000"),
    ],
)
def test_bad_options_are_refused(call, match):
    with pytest.raises(SpecificationError, match=match):
        call()


# ---------------------------------------------------------------------- learning network
@pytest.fixture(scope="module")
def net():
    return learning_network(300, 5, seed=4)


def test_ties_are_undirected_and_counted_right(net):
    e = net.edges
    assert (e["source"] < e["target"]).all() and not e.duplicated().any()
    n = len(net.firms)
    a = np.zeros((n, n))
    a[e["source"] - 1, e["target"] - 1] = a[e["target"] - 1, e["source"] - 1] = 1
    assert (a.sum(axis=1) >= 1).all()  # isolates were tied to their nearest firm
    high = net.firms["high"].to_numpy()
    assert_array_equal(net.firms["ties_high"], a @ high)
    assert_array_equal(net.firms["ties_low"], a @ ~high)


def test_ties_follow_the_logit_of_distance_and_capability(net):
    # Every pair is drawn independently from the stated logit, so a logit of the tie
    # indicator on (1, distance, h_i + h_j) over all pairs (statsmodels) recovers the
    # truth; the few ties added to isolates (rare at this density) barely move it.
    # |z| < 4 fails by chance with probability ~6e-5 per coefficient.
    t, n = net.truth, len(net.firms)
    i, j = np.triu_indices(n, k=1)
    xy = np.column_stack([net.panel.geo.geometry.x, net.panel.geo.geometry.y]) / 1e3
    tie = np.zeros((n, n), dtype=bool)
    tie[net.edges["source"] - 1, net.edges["target"] - 1] = True
    high = net.firms["high"].to_numpy().astype(float)
    x = np.column_stack([np.ones(len(i)), np.hypot(*(xy[i] - xy[j]).T), high[i] + high[j]])
    fit = sm.Logit(tie[i, j].astype(float), x).fit(disp=0)
    truth = np.array([t.tie_intercept, -1 / t.tie_distance_km, t.tie_capability])
    z = (fit.params - truth) / fit.bse
    assert (np.abs(z) < 4).all(), z


def test_productivity_follows_the_spatial_durbin_model(net):
    # Two-way within 2SLS of y on (W y, x, W x) with instruments (x, W x, W^2 x, W^3 x)
    # (Kelejian and Prucha) is consistent for (rho, beta, theta); |z| < 4 as above.
    t, d = net.truth, net.panel.data
    n = len(net.firms)
    a = np.zeros((n, n))
    a[net.edges["source"] - 1, net.edges["target"] - 1] = 1
    a = a + a.T
    w = a / a.sum(axis=1, keepdims=True)
    y, x = d["y"].unstack(level=0).to_numpy(), d["x"].unstack(level=0).to_numpy()
    wx, wwx = x @ w.T, x @ w.T @ w.T
    b, se = _within_fit(y, [y @ w.T, x, wx], [x, wx, wwx, wwx @ w.T])
    z = (b - np.array([t.rho, t.beta, t.theta])) / se
    assert (np.abs(z) < 4).all(), z


def test_catch_up_follows_the_stated_growth_equation(net):
    f, t = net.firms, net.truth
    low = (~f["high"]).astype(float)
    x = np.column_stack([
        np.ones(len(f)), low * f["ties_high"], low * f["ties_low"], f["high"] * f["ties_high"]
    ])  # fmt: skip
    fit = sm.OLS(f["growth"].to_numpy(), x).fit()
    truth = np.array([t.growth, t.geese, t.geese_low, t.geese_high])
    assert (np.abs((fit.params - truth) / fit.bse) < 4).all()  # exact OLS model, iid noise


def test_learning_network_seed_reproduces_and_pins():
    a, b = learning_network(40, 3, seed=8), learning_network(40, 3, seed=8)
    pd.testing.assert_frame_equal(a.panel.data, b.panel.data)
    pd.testing.assert_frame_equal(a.edges, b.edges)
    pd.testing.assert_frame_equal(a.firms, b.firms)
    assert not a.edges.equals(learning_network(40, 3, seed=9).edges)
    ref = PINNED["learning_network"]
    assert len(a.edges) == ref["n_ties"]
    assert_allclose(a.panel.data["y"].to_numpy()[ref["rows"]], ref["y"], rtol=1e-12)
    assert a.firms["high"].sum() == ref["n_high"]
