"""Dynamic spatial Durbin panel with one W per period, against independent references.

* All W_t equal: the results are those of the one-W model, exactly (the model is that
  model), and the per-period bias recursion reproduces the one-W traces (the fixed point
  ``P = S^-1 + A P`` of ``R``): rounding, 1e-10.
* The bias traces for different W_t against dense numpy with the explicit double sum of
  products ``A_{t-1} ... A_{s+1} S_s^-1`` (the pre-sample tail summed as a truncated power
  series, 400 terms, error below 0.6^400): rounding, 1e-10; an explicit orthonormal basis of
  the complement of 1 for the two-way transformation.
* The stability modulus against numpy's eigenvalues of each dense ``A_t``.
* The direct QML is the static SDM with W per period and ``y_{t-1}``, ``W_{t-1} y_{t-1}``
  built here with pandas and dense products: optimiser tolerance, as in test_dynamic.py.
* Recovery on a simulated panel (N = 400, T = 10, W_t alternating rook/queen): within 4 SEs,
  and the correction moves tau towards the truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.linalg import null_space

from spillover.errors import AlignmentError, SpecificationError
from spillover.inference.dynamic_impacts import dynamic_impacts
from spillover.models import DynamicSpatialDurbin, SpatialDurbin
from spillover.models.spatial import _dynamic_bias
from spillover.models.spatial._dynamic_bias import (
    bias_traces,
    period_bias_traces,
    period_stability_modulus,
)
from spillover.simulate import grid_weights
from spillover.weights import Weights, WeightsByPeriod

from ._dynamic_by_period_dgp import simulate_by_period

TRUE = {"x1": 1.0, "x2": -0.5, "W_x1": 0.5, "W_x2": 0.2, "tau": 0.4, "eta": -0.1, "rho": 0.3}
PERIODS = 10


def _alternating(n_side: int):
    rook = grid_weights(n_side).row_standardize()
    queen = grid_weights(n_side, contiguity="queen").row_standardize()
    return [rook if t % 2 == 0 else queen for t in range(PERIODS)]


@pytest.fixture(scope="module")
def data():
    ws = _alternating(20)
    frame = simulate_by_period(
        ws, tau=0.4, rho=0.3, eta=-0.1, beta=[1.0, -0.5], theta=[0.5, 0.2],
        effects="twoway", seed=21,
    )  # fmt: skip
    return frame, {t + 1: w for t, w in enumerate(ws)}


# ---------------------------------------------------------------- equal W_t


@pytest.mark.parametrize("effects", ["entity", "twoway"])
def test_equal_weights_by_period_are_the_one_w_model(data, effects):
    frame, by_period = data
    w = by_period[1]
    one = DynamicSpatialDurbin("y ~ x1 + x2", frame, w=w, effects=effects).fit()
    copies = {p: Weights(w.matrix.copy(), w.ids) for p in by_period}  # equal, not the same
    for given in ({p: w for p in by_period}, copies):
        res = DynamicSpatialDurbin("y ~ x1 + x2", frame, w=given, effects=effects).fit()
        assert_allclose(res.params, one.params, rtol=1e-12, atol=1e-12)
        assert_allclose(res.vcov, one.vcov, rtol=1e-12, atol=1e-14)
        assert_allclose(res.loglik, one.loglik, rtol=1e-12)
        assert res.info["Stability"] == one.info["Stability"]
    with pytest.raises(SpecificationError, match="one W for all periods"):
        one.impacts(method="delta", period=5)


@pytest.mark.parametrize("project", [False, True])
def test_period_traces_with_equal_weights_are_the_one_w_traces(project):
    w = grid_weights(6, contiguity="queen").row_standardize()
    got = period_bias_traces([w] * 5, 0.35, 0.25, 0.15, project=project, probes=0, seed=0)
    want = bias_traces(w, 0.35, 0.25, 0.15, project=project, probes=0, seed=0)
    assert_allclose([got[k] for k in want], list(want.values()), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- bias traces, stability


def _dense_period_traces(mats, tau, rho, eta, project):
    """Means over t = 1..T' of the traces, from the explicit sums of products."""
    n = mats[0].shape[0]
    eye = np.eye(n)
    s_inv = [np.linalg.inv(eye - rho * m) for m in mats]
    a = [None] + [s_inv[t] @ (tau * eye + eta * mats[t - 1]) for t in range(1, len(mats))]
    a_pre = s_inv[0] @ (tau * eye + eta * mats[0])
    tail, power = np.zeros((n, n)), eye
    for _ in range(400):  # sum_j A_pre^j S_0^-1: shocks before the sample, W = W_0
        tail += power @ s_inv[0]
        power = power @ a_pre
    basis = null_space(np.ones((1, n))) if project else eye

    def tr(m):
        return float(np.trace(basis.T @ m @ basis))

    out = dict.fromkeys(("R", "WR", "GR", "GWR", "G"), 0.0)
    periods = len(mats) - 1
    for t in range(1, periods + 1):
        p_t = np.zeros((n, n))
        for s in range(1, t):  # in-sample shocks s: A_{t-1} ... A_{s+1} S_s^-1
            prod = eye
            for j in range(t - 1, s, -1):
                prod = prod @ a[j]
            p_t += prod @ s_inv[s]
        prod = eye
        for j in range(t - 1, 0, -1):
            prod = prod @ a[j]
        p_t += prod @ tail
        g = mats[t] @ s_inv[t]
        for key, m in (("R", p_t), ("WR", mats[t - 1] @ p_t), ("GR", g @ p_t),
                       ("GWR", g @ mats[t - 1] @ p_t), ("G", g)):  # fmt: skip
            out[key] += tr(m) / periods
    return out


def _changing_weights(n_side: int, periods: int, seed: int):
    """Row-standardised rook lattice whose links are re-weighted at random each period."""
    rng = np.random.default_rng(seed)
    base = grid_weights(n_side).matrix.tocoo()
    out = []
    for _ in range(periods):
        m = base.copy()
        m.data = m.data * rng.uniform(0.2, 1.0, size=m.nnz)
        out.append(Weights(m.tocsr(), grid_weights(n_side).ids).row_standardize())
    return out


@pytest.mark.parametrize("project", [False, True])
def test_period_traces_match_the_explicit_sums_of_products(project, monkeypatch):
    ws = _changing_weights(5, 5, seed=4)
    dense = [w.matrix.toarray() for w in ws]
    want = _dense_period_traces(dense, 0.35, 0.25, 0.15, project)
    got = period_bias_traces(ws, 0.35, 0.25, 0.15, project=project, probes=0, seed=0)
    assert_allclose([got[k] for k in want], list(want.values()), rtol=1e-10, atol=1e-12)
    # Hutchinson estimates: relative error ~ 1/sqrt(N probes) = 1/sqrt(25 * 4000) ~ 3e-3
    monkeypatch.setattr(_dynamic_bias, "PERIODS_EXACT_MAX_N", 0)
    probe = period_bias_traces(ws, 0.35, 0.25, 0.15, project=project, probes=4000, seed=1)
    assert_allclose([probe[k] for k in want], list(want.values()), rtol=0.05, atol=0.05)


def test_period_stability_is_the_largest_radius_of_the_transitions(monkeypatch):
    ws = _changing_weights(5, 4, seed=7)
    dense = [w.matrix.toarray() for w in ws]
    tau, rho, eta = 0.5, 0.3, -0.4
    eye = np.eye(25)

    def radius(before, now):
        a = np.linalg.solve(eye - rho * now, tau * eye + eta * before)
        return np.max(np.abs(np.linalg.eigvals(a)))

    want = max(radius(b, m) for b, m in zip([dense[0], *dense[:-1]], dense, strict=True))
    assert_allclose(period_stability_modulus(ws, tau, rho, eta), want, rtol=1e-10)
    monkeypatch.setattr(_dynamic_bias, "EIGEN_MAX_N", 0)  # the sparse (ARPACK) path
    assert_allclose(period_stability_modulus(ws, tau, rho, eta), want, rtol=1e-6)


# ---------------------------------------------------------------- estimation


def _with_lag_columns(frame: pd.DataFrame, by_period: dict) -> pd.DataFrame:
    """Periods 2..T with ylag = y_{t-1} and wylag = W_{t-1} y_{t-1}, built independently."""
    out = frame.sort_index().copy()
    wide = out["y"].unstack()  # entities x periods
    wy = {p: by_period[p].align(wide.index).matrix.toarray() @ wide[p].to_numpy() for p in wide}
    out["wy"] = pd.DataFrame(wy, index=wide.index).stack()
    out["ylag"] = out.groupby(level=0)["y"].shift(1)
    out["wylag"] = out.groupby(level=0)["wy"].shift(1)
    return out.dropna().drop(columns="wy")


@pytest.mark.parametrize("effects", ["entity", "twoway"])
def test_direct_qml_is_the_static_sdm_with_weights_by_period(data, effects):
    frame, by_period = data
    dyn = DynamicSpatialDurbin(
        "y ~ x1 + x2", frame, w=by_period, effects=effects, bias_correction=None
    ).fit()
    sample = {p: by_period[p] for p in range(2, PERIODS + 1)}
    static = SpatialDurbin(
        "y ~ x1 + x2 + ylag + wylag", _with_lag_columns(frame, by_period), w=sample,
        effects=effects, durbin=["x1", "x2"], bias_correction=None,
    ).fit()  # fmt: skip
    names = {"ylag": "tau", "wylag": "eta"}
    want = static.params.rename(index=names)
    assert_allclose(dyn.params[want.index], want, rtol=1e-8, atol=1e-9)
    assert_allclose(dyn.loglik, static.loglik, rtol=1e-10)
    v = static.vcov.rename(index=names, columns=names)
    assert_allclose(dyn.vcov.loc[v.index, v.columns], v, rtol=1e-7, atol=1e-12)


def test_correction_with_weights_by_period_recovers_the_parameters(data):
    frame, by_period = data
    res = DynamicSpatialDurbin("y ~ x1 + x2", frame, w=by_period, effects="twoway").fit()
    truth = pd.Series(TRUE)[res.params.index]
    z = (res.params - truth) / res.std_errors
    assert (z.abs() < 4).all(), z
    raw = DynamicSpatialDurbin(
        "y ~ x1 + x2", frame, w=by_period, effects="twoway", bias_correction=None
    ).fit()
    # the Nickell-type bias of tau is O(1/T), about -0.07 here (Monte Carlo: -0.07 to -0.08)
    assert abs(res.params["tau"] - TRUE["tau"]) < abs(raw.params["tau"] - TRUE["tau"])
    assert "(stable)" in res.info["Stability"] and "W_t" in res.info["Stability"]
    assert "by period" in res.info["Bias correction"]
    assert "last period (10)" in res.info["Effects"]
    # effects at one period's W_t: the one-W formulas of dynamic_impacts at that W
    p = res.params
    for period, w in ((None, by_period[PERIODS]), (5, by_period[5])):
        got = res.impacts(method="delta", period=period)
        want = dynamic_impacts(
            w, tau=p["tau"], rho=p["rho"], eta=p["eta"], beta=p[["x1", "x2"]],
            theta=pd.Series({"x1": p["W_x1"], "x2": p["W_x2"]}), vcov=res.vcov, method="delta",
        )  # fmt: skip
        assert_allclose(got["estimate"], want["estimate"], rtol=1e-12)
        assert_allclose(got["std_error"], want["std_error"], rtol=1e-12)
    with pytest.raises(SpecificationError, match="initial condition"):
        res.impacts(method="delta", period=1)


# ---------------------------------------------------------------- bad input


def test_weights_by_period_must_match_the_panel(data):
    frame, by_period = data
    short = {p: w for p, w in by_period.items() if p != 1}
    with pytest.raises(AlignmentError, match="missing: 1, not in the panel: none"):
        DynamicSpatialDurbin("y ~ x1 + x2", frame, w=short)
    extra = by_period | {11: by_period[1]}
    with pytest.raises(AlignmentError, match="missing: none, not in the panel: 11"):
        DynamicSpatialDurbin("y ~ x1 + x2", frame, w=extra)
    w4 = by_period[4]
    fewer = by_period | {4: w4.subset(w4.ids[1:])}
    with pytest.raises(AlignmentError, match="period 4"):
        DynamicSpatialDurbin("y ~ x1 + x2", frame, w=fewer)
    binary = by_period | {3: grid_weights(20), 7: grid_weights(20)}
    with pytest.raises(SpecificationError, match="the W_t of periods 3, 7 are not"):
        DynamicSpatialDurbin("y ~ x1 + x2", frame, w=binary, effects="twoway")
    DynamicSpatialDurbin("y ~ x1 + x2", frame, w=binary, effects="twoway", bias_correction=None)
    assert isinstance(WeightsByPeriod(by_period), WeightsByPeriod)
