"""Effects with one weights matrix per period against a dense per-period S_t computation.

References: the single-W effects (all W_t equal, or W_t relabellings of one W, whose
traces and sums are the same), a brute-force dense ``S_t = (I - rho W_t)^-1 (beta I +
theta W_t)`` per period averaged over periods, the closed form ``(beta + theta)/(1 - rho)``
of the total for row-standardised W_t, central finite differences of the brute force for
the delta-method gradient, and the delta method for the simulated standard errors.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from spillover.errors import ApproximationWarning, SpecificationError, WeightsError
from spillover.inference.impacts import impacts
from spillover.linalg.traces import trace_estimate
from spillover.weights import Weights, WeightsByPeriod
from tests.inference.test_impacts import (
    BETA,
    MODELS,
    RHO,
    THETA,
    assert_within_reported_error,
    dense_effects,
    effects_at,
    finite_difference_se,
    knn_w,
    split_params,
    theta_for,
    vcov_for,
)

N = 30


def ring(n: int, k: int) -> sp.csr_array:
    """Row-standardised ring: each unit linked to its k nearest neighbours on each side."""
    rows = np.repeat(np.arange(n), 2 * k)
    steps = np.tile(np.r_[np.arange(1, k + 1), -np.arange(1, k + 1)], n)
    return sp.csr_array((np.full(2 * n * k, 0.5 / k), (rows, (rows + steps) % n)), shape=(n, n))


def binary_scaled(w: sp.csr_array, scale: float) -> sp.csr_array:
    """Binary version of w times ``scale``: not row-standardised (sums by series)."""
    return sp.csr_array((w > 0).astype(float) * scale)


# T = 4 periods, three distinct W_t, one of them not row-standardised.
W_A, W_B = knn_w(N, 4, seed=1), ring(N, 2)
W_C = binary_scaled(knn_w(N, 3, seed=2), 0.2)
PERIODS = [W_A, W_B, W_B, W_C]
ROW_STD = [W_A, W_B, W_B, knn_w(N, 5, seed=3)]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("path", ["dense", "series"])
def test_brute_force_per_period_effects(model, path, monkeypatch):
    # Dense: the same inverses, 1e-10. Series: order chosen for a 1e-10 truncation bound at
    # |rho| + 4 SE, so 1e-8 (the assignment's tolerance) holds with room to spare.
    if path == "series":
        monkeypatch.setattr("spillover.inference.impacts.DENSE_MAX_N", 5)
    out = effects_at(PERIODS, model)
    expect = dense_effects(PERIODS, model, RHO, BETA, theta_for(model))
    assert_allclose(out["estimate"], expect, rtol=1e-8, atol=1e-10)
    assert out.attrs["periods"] == 4 and out.attrs["distinct_weights"] == 3
    if model in ("sar", "sdm", "sac"):
        assert out.attrs["traces"] == ("dense" if path == "dense" else "exact")


@pytest.mark.parametrize("model", ["sar", "sdm"])
def test_monte_carlo_traces_within_reported_error(model):
    # Hutchinson traces per distinct W_t (N = 300): the error must be within 4x the reported
    # bound (truncation plus a conservative MC standard error); seeded, so deterministic.
    wts = [knn_w(300, 5, seed=1), knn_w(300, 5, seed=1), ring(300, 3)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ApproximationWarning)
        out = effects_at(wts, model, traces="mc", seed=4, trace_draws=100, order=60)
    assert_within_reported_error(out, dense_effects(wts, model, RHO, BETA, theta_for(model)))
    assert out.attrs["distinct_weights"] == 2


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("method", ["delta", "simulation"])
def test_equal_weights_give_the_single_w_effects(model, method):
    # Copies (distinct objects, equal entries) are one W: the single-W computation, same
    # seed streams, so equal to rounding (1e-10).
    copies = [sp.csr_array(W_A.copy()) for _ in range(4)]
    kw = dict(method=method, draws=400, seed=8)
    by_period = effects_at(copies, model, **kw)
    single = effects_at(W_A, model, **kw)
    cols = ["estimate", "std_error", "lower", "upper"]
    assert_allclose(by_period[cols], single[cols], rtol=1e-10, atol=1e-12)
    assert by_period.attrs["distinct_weights"] == 1 and by_period.attrs["periods"] == 4


@pytest.mark.parametrize("model", ["sar", "sdm", "sdem"])
@pytest.mark.parametrize("path", ["dense", "series"])
def test_relabelled_weights_give_the_single_w_effects(model, path, monkeypatch):
    # P W P' (entities renumbered) has the traces and sums of W: the period mean of three
    # distinct matrices must equal the single-W effects and delta SEs (1e-10).
    if path == "series":
        monkeypatch.setattr("spillover.inference.impacts.DENSE_MAX_N", 5)
    perms = [np.arange(N), np.random.default_rng(1).permutation(N), np.arange(N)[::-1]]
    wts = [sp.csr_array(W_C[p][:, p]) for p in perms]
    by_period = effects_at(wts, model)
    single = effects_at(W_C, model)
    assert by_period.attrs["distinct_weights"] == 3
    assert_allclose(by_period["estimate"], single["estimate"], rtol=1e-10, atol=1e-12)
    assert_allclose(by_period["std_error"], single["std_error"], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("traces", ["dense", "exact", "mc"])
def test_row_standardised_total_has_the_closed_form(traces, monkeypatch):
    # With every W_t row-standardised, 1'S_t 1/N = (beta + theta)/(1 - rho) in each period.
    # The series path uses 1'W^q 1/N = 1 exactly (no traces), so 1e-12 on every path.
    if traces != "dense":
        monkeypatch.setattr("spillover.inference.impacts.DENSE_MAX_N", 5)
    kind = "exact" if traces == "dense" else traces
    out = effects_at(ROW_STD, "sdm", traces=kind, seed=0).set_index(["variable", "effect"])
    for x in BETA.index:
        closed = (BETA[x] + THETA.get(x, 0.0)) / (1 - RHO)
        assert_allclose(out.loc[(x, "total"), "estimate"], closed, rtol=1e-12)
    assert out.attrs["traces"] == traces


@pytest.mark.parametrize("model", ["sar", "sdm", "sdem"])
@pytest.mark.parametrize("path", ["dense", "series"])
def test_delta_method_equals_finite_difference_gradient(model, path, monkeypatch):
    # Central differences of the brute force (h = 1e-6, error ~1e-12 on the gradient):
    # the period-averaged derivatives of both paths must give the same SEs to 1e-6.
    if path == "series":
        monkeypatch.setattr("spillover.inference.impacts.DENSE_MAX_N", 5)
    se = finite_difference_se(PERIODS, model, vcov_for(model))
    out = effects_at(PERIODS, model)
    assert_allclose(out["std_error"], se, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("model", ["sar", "sdm", "sdem"])
def test_simulation_agrees_with_delta_method(model):
    # Small vcov (SE(rho) ~ 0.01): the effects are nearly linear in the parameters, and the
    # delta method understates the SD by up to 1.5% (second-order terms; mean over 20
    # seeds). The draws depend on the LAPACK build (eigenvectors of the vcov), so the
    # seed fixes them on one machine only: with 20,000 draws the simulated SD has a Monte
    # Carlo SE of 0.5% (1/sqrt(2 x 20,000); 0.7% observed), so bias + 4 MC SE = 5%.
    kw = dict(vcov=vcov_for(model, scale=0.02))
    sim = effects_at(PERIODS, model, method="simulation", draws=20_000, seed=5, **kw)
    dm = effects_at(PERIODS, model, method="delta", **kw)
    assert_allclose(sim["std_error"], dm["std_error"], rtol=0.05)
    assert_allclose(sim["estimate"], dm["estimate"], rtol=1e-10)
    again = effects_at(PERIODS, model, method="simulation", draws=20_000, seed=5, **kw)
    pd.testing.assert_frame_equal(sim, again)


def test_weights_by_period_and_mappings_are_accepted():
    ids = pd.Index([f"r{i}" for i in range(N)])
    objs = {2000 + t: Weights(w, ids) for t, w in enumerate(PERIODS)}
    ref = effects_at(PERIODS, "sdm")
    for given in (WeightsByPeriod(objs), objs, tuple(objs.values())):
        pd.testing.assert_frame_equal(effects_at(given, "sdm"), ref)


def test_draws_beyond_any_w_t_radius_are_dropped():
    # W_C scaled to spectral radius 2: the series needs |rho| < 0.5 for that period, so
    # draws with rho >= 0.5 are dropped although they would do for the other W_t.
    hub = sp.csr_array(W_C / 0.2 * 2 / 3)  # binary knn(3) x 2/3: row sums 2
    v = vcov_for("sar", scale=0.2)
    with pytest.warns(ApproximationWarning, match=r"\|rho\| < 0.5"):
        out = impacts([W_A, hub], model="sar", rho=0.3, beta=BETA, vcov=v, draws=300, seed=2)
    assert out.attrs["dropped_draws"] > 0


def test_precomputed_traces_need_a_single_w():
    tr = trace_estimate(W_A, 101, method="exact")
    with pytest.raises(SpecificationError, match=r"3 distinct W_t.*traces='auto'"):
        effects_at(PERIODS, "sar", traces=tr)
    # all W_t equal: the traces of that W are accepted
    assert effects_at([W_A, W_A], "sar", traces=tr).attrs["traces"] == "exact"


def test_mismatched_or_empty_weights_are_named():
    with pytest.raises(WeightsError, match=r"period 2001 is 29 x 29.*30 x 30"):
        effects_at({2000: W_A, 2001: W_A[:29][:, :29]}, "sar")
    with pytest.raises(WeightsError, match="empty"):
        effects_at([], "sar")


@pytest.fixture(scope="module")
def states_sdm():
    from spillover import datasets, weights
    from spillover.models.spatial import SpatialDurbin

    panel = datasets.us_states()
    queen = weights.queen(panel.geo).row_standardize()
    knn = weights.knn(panel.geo, k=4).row_standardize()
    w_t = WeightsByPeriod({t: queen if t < 1979 else knn for t in panel.periods})
    formula = "log_gsp ~ log_pcap + log_pc + log_emp + unemp"
    res = SpatialDurbin(formula, panel, w=w_t, effects="twoway", bias_correction=None).fit()
    return res, w_t


def test_effects_of_a_fitted_per_period_model(states_sdm):
    # The labels of a fitted SDM with W_t (queen to 1978, knn(4) after) feed impacts();
    # estimates equal the dense per-period computation at the fitted params (48 states:
    # same inverses, 1e-10), and the W_t in the WeightsByPeriod's own id order give the
    # same effects as res.weights_by_period in panel order (averages are invariant to
    # renumbering entities).
    res, w_t = states_sdm
    xs = ["log_pcap", "log_pc", "log_emp", "unemp"]
    kw = split_params(res.params, xs)
    out = impacts(res.weights_by_period, model="sdm", vcov=res.vcov, method="delta", **kw)
    wts = [w.matrix for w in res.weights_by_period]
    assert_allclose(out["estimate"], dense_effects(wts, "sdm", **kw), rtol=1e-10, atol=1e-12)
    assert out.attrs["periods"] == 17 and out.attrs["distinct_weights"] == 2
    own_order = impacts(w_t, model="sdm", vcov=res.vcov, method="delta", **kw)
    assert_allclose(own_order["estimate"], out["estimate"], rtol=1e-10)
    assert_allclose(own_order["std_error"], out["std_error"], rtol=1e-10)


@pytest.mark.parametrize("model", ["sar", "sdm", "slx"])
def test_point_estimates_are_the_mean_of_single_w_effects(model, monkeypatch):
    # As the Notes say: the single-W effects of each period, averaged over the T periods,
    # are ours (series path with exact traces; the same series, so 1e-10).
    monkeypatch.setattr("spillover.inference.impacts.DENSE_MAX_N", 5)
    each = np.mean([effects_at(w, model)["estimate"] for w in PERIODS], axis=0)
    assert_allclose(effects_at(PERIODS, model)["estimate"], each, rtol=1e-10, atol=1e-12)
