"""Dynamic spatial panels: DynamicSpatialDurbin against independent references.

* The direct QML (``bias_correction=None``) is the static SDM likelihood with ``y_{t-1}``
  and ``W y_{t-1}`` as regressors on periods 2..T; the lag columns are built here with
  pandas ``shift`` and a dense ``W @`` per period, and the static SpatialDurbin is fitted
  on them. Same likelihood, same optimiser: equal to the optimiser's tolerance (the
  bounded scalar search stops within 1e-10 in rho; beta follows to ~1e-9).
* The bias-correction traces against dense numpy inverses (and, for the two-way
  transformation, an explicit orthonormal basis F of the complement of 1): rounding, 1e-10.
* Long-run effects against the closed form ``((1 - tau) I - (rho + eta) W)^-1 (beta I +
  theta W)`` with numpy's inverse (rtol 1e-10), delta-method SEs against a numerical
  gradient of that closed form (central differences, rtol 1e-5).
* Recovery of known parameters on a simulated panel (N = 400, T = 10) within 4 SEs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.linalg import null_space

from spillover.errors import PanelError, SpecificationError
from spillover.inference.dynamic_impacts import dynamic_impacts
from spillover.models import DynamicSpatialDurbin, DynamicSpatialLag, SpatialDurbin
from spillover.models.spatial._dynamic_bias import _probe_traces, bias_traces, stability_modulus
from spillover.simulate import dynamic_spatial_panel, grid_weights

TRUE = {"x1": 1.0, "x2": -0.5, "W_x1": 0.5, "W_x2": 0.2, "tau": 0.4, "eta": -0.1, "rho": 0.3}


def _simulate(effects: str, seed: int, n_side: int = 20, periods: int = 10):
    w = grid_weights(n_side).row_standardize()
    panel = dynamic_spatial_panel(
        w, periods, tau=TRUE["tau"], rho=TRUE["rho"], eta=TRUE["eta"], beta=[1.0, -0.5],
        theta=[0.5, 0.2], effects=effects, seed=seed,
    )  # fmt: skip
    return panel, w


@pytest.fixture(scope="module")
def entity_data():
    return _simulate("entity", seed=11)


@pytest.fixture(scope="module")
def twoway_data():
    return _simulate("twoway", seed=12)


def _with_lag_columns(panel, w):
    """Periods 2..T with ylag = y_{t-1} and wylag = (W y)_{t-1}, built independently."""
    frame = panel.data.sort_index().copy()
    dense = w.align(panel.entities).matrix.toarray()
    wide = frame["y"].unstack()  # entities x periods
    frame["wy"] = pd.DataFrame(
        dense @ wide.to_numpy(), index=wide.index, columns=wide.columns
    ).stack()
    frame["ylag"] = frame.groupby(level=0)["y"].shift(1)
    frame["wylag"] = frame.groupby(level=0)["wy"].shift(1)
    return frame.dropna().drop(columns="wy")


@pytest.mark.parametrize("effects", ["entity", "twoway"])
def test_direct_qml_is_the_static_sdm_with_lagged_regressors(entity_data, effects):
    panel, w = entity_data
    dyn = DynamicSpatialDurbin(
        "y ~ x1 + x2", panel, w=w, effects=effects, bias_correction=None
    ).fit()
    static = SpatialDurbin(
        "y ~ x1 + x2 + ylag + wylag", _with_lag_columns(panel, w), w=w, effects=effects,
        durbin=["x1", "x2"], bias_correction=None,
    ).fit()  # fmt: skip
    names = {"ylag": "tau", "wylag": "eta"}
    want = static.params.rename(index=names)
    assert_allclose(dyn.params[want.index], want, rtol=1e-8, atol=1e-9)
    assert_allclose(dyn.loglik, static.loglik, rtol=1e-10)
    assert_allclose(dyn.sigma2, static.sigma2, rtol=1e-8)
    v = static.vcov.rename(index=names, columns=names)
    assert_allclose(dyn.vcov.loc[v.index, v.columns], v, rtol=1e-7, atol=1e-12)


def _dense_traces(w, tau, rho, eta, project):
    n = w.shape[0]
    eye = np.eye(n)
    r = np.linalg.inv((1 - tau) * eye - (rho + eta) * w)
    g = w @ np.linalg.inv(eye - rho * w)
    mats = {"R": r, "WR": w @ r, "GR": g @ r, "GWR": g @ w @ r, "G": g}
    if project:  # F' M F with F an orthonormal basis of the complement of 1
        f = null_space(np.ones((1, n)))
        return {k: float(np.trace(f.T @ m @ f)) for k, m in mats.items()}
    return {k: float(np.trace(m)) for k, m in mats.items()}


@pytest.mark.parametrize("project", [False, True])
def test_bias_traces_match_dense_inverses(project):
    w = grid_weights(6, contiguity="queen").row_standardize()
    got = bias_traces(w, 0.35, 0.25, 0.15, project=project, probes=0, seed=0)
    want = _dense_traces(w.matrix.toarray(), 0.35, 0.25, 0.15, project)
    assert_allclose([got[k] for k in want], list(want.values()), rtol=1e-10, atol=1e-12)
    # Hutchinson estimates: relative error ~ 1/sqrt(N probes) = 1/sqrt(36 * 2000) ~ 4e-3
    probe = _probe_traces(w, 0.35, 0.25, 0.15, project=project, probes=2000, seed=1)
    assert_allclose([probe[k] for k in want], list(want.values()), rtol=0.05, atol=0.05)


def test_stability_modulus_is_the_spectral_radius_of_the_transition():
    w = grid_weights(5).row_standardize()
    dense = w.matrix.toarray()
    a = np.linalg.solve(np.eye(25) - 0.3 * dense, 0.4 * np.eye(25) + 0.2 * dense)
    want = np.max(np.abs(np.linalg.eigvals(a)))
    assert_allclose(stability_modulus(w, 0.4, 0.3, 0.2), want, rtol=1e-10)
    # row-standardised, non-negative parameters: attained at omega = 1, (tau + eta)/(1 - rho),
    # which is < 1 exactly when tau + rho + eta < 1
    assert_allclose(want, (0.4 + 0.2) / (1 - 0.3), rtol=1e-10)


def _closed_form(w, tau, rho, eta, beta, theta, long_run):
    n = w.shape[0]
    eye = np.eye(n)
    left = (1 - tau) * eye - (rho + eta) * w if long_run else eye - rho * w
    s = np.linalg.solve(left, beta * eye + theta * w)
    direct, total = np.trace(s) / n, s.sum() / n
    return np.array([direct, total - direct, total])


def _asymmetric_weights(n, seed):
    rng = np.random.default_rng(seed)
    m = (rng.random((n, n)) < 0.2).astype(float) * rng.random((n, n))
    np.fill_diagonal(m, 0.0)
    m[np.arange(n), (np.arange(n) + 1) % n] += 0.5  # every row has a neighbour
    return m / m.sum(axis=1, keepdims=True) * 0.9  # not row-standardised: row sums 0.9


@pytest.mark.parametrize("row_standardised", [True, False])
def test_long_and_short_run_effects_match_the_closed_form(row_standardised):
    n = 30
    dense = (
        grid_weights(5, n_cols=6).row_standardize().matrix.toarray()
        if row_standardised
        else _asymmetric_weights(n, 3)
    )
    w = dense  # bare matrix: the averages do not depend on the numbering
    tau, rho, eta = 0.35, 0.25, 0.1
    params = {"tau": tau, "rho": rho, "eta": eta, "x1": 1.2, "x2": -0.4, "W_x1": 0.6}
    labels = list(params)
    rng = np.random.default_rng(0)
    root = rng.normal(size=(len(labels), len(labels))) * 0.02
    vcov = pd.DataFrame(root @ root.T + 1e-4 * np.eye(len(labels)), index=labels, columns=labels)
    beta = pd.Series({"x1": 1.2, "x2": -0.4})
    theta = pd.Series({"x1": 0.6})
    out = dynamic_impacts(
        w, tau=tau, rho=rho, eta=eta, beta=beta, theta=theta, vcov=vcov, method="delta"
    )
    for horizon, long_run in (("short", False), ("long", True)):
        got = out[out["horizon"] == horizon]
        for x, th in (("x1", 0.6), ("x2", 0.0)):
            est = got[got["variable"] == x]["estimate"].to_numpy()
            want = _closed_form(dense, tau, rho, eta, beta[x], th, long_run)
            assert_allclose(est, want, rtol=1e-10)
    # delta-method SEs of the long run: numerical gradient of the closed form
    long = out[out["horizon"] == "long"]
    grad = _numerical_gradient(dense, params, labels)
    se = np.sqrt(np.einsum("ij,jk,ik->i", grad, vcov.to_numpy(), grad))
    assert_allclose(long["std_error"].to_numpy(), se, rtol=1e-5)


def _numerical_gradient(dense, params, labels):
    def effects(p):
        th = {"x1": p["W_x1"], "x2": 0.0}
        return np.concatenate([
            _closed_form(dense, p["tau"], p["rho"], p["eta"], p[x], th[x], True)
            for x in ("x1", "x2")
        ])  # fmt: skip

    base = effects(params)
    grad = np.zeros((len(base), len(labels)))
    for j, name in enumerate(labels):
        h = 1e-6
        up, down = dict(params), dict(params)
        up[name] += h
        down[name] -= h
        grad[:, j] = (effects(up) - effects(down)) / (2 * h)
    return grad


@pytest.mark.parametrize("effects", ["entity", "twoway"])
def test_recovers_known_parameters(entity_data, twoway_data, effects):
    panel, w = entity_data if effects == "entity" else twoway_data
    res = DynamicSpatialDurbin("y ~ x1 + x2", panel, w=w, effects=effects).fit()
    truth = pd.Series(TRUE)[res.params.index]
    z = (res.params - truth) / res.std_errors
    assert (z.abs() < 4).all(), z
    direct = DynamicSpatialDurbin(
        "y ~ x1 + x2", panel, w=w, effects=effects, bias_correction=None
    ).fit()
    # the Nickell-type bias of tau is O(1/T): the correction moves tau towards the truth
    assert abs(res.params["tau"] - TRUE["tau"]) < abs(direct.params["tau"] - TRUE["tau"])
    assert "Stability" in res.info and "(stable)" in res.info["Stability"]


def test_impacts_from_results(entity_data):
    panel, w = entity_data
    res = DynamicSpatialDurbin("y ~ x1 + x2", panel, w=w).fit()
    out = res.impacts(draws=400, seed=1)
    assert set(out["horizon"]) == {"short", "long"}
    p = res.params
    long = out[(out["horizon"] == "long") & (out["variable"] == "x1")]["estimate"].to_numpy()
    want = _closed_form(w.matrix.toarray(), p["tau"], p["rho"], p["eta"], p["x1"], p["W_x1"], True)
    assert_allclose(long, want, rtol=1e-10)
    delta = res.impacts(method="delta")
    # simulated and delta-method SEs agree to simulation error (~ 1/sqrt(2 * 400) = 4%)
    assert_allclose(out["std_error"], delta["std_error"], rtol=0.2)


def test_restricted_forms(entity_data):
    panel, w = entity_data
    sar = DynamicSpatialLag("y ~ x1 + x2", panel, w=w, eta=False).fit()
    assert list(sar.params.index) == ["x1", "x2", "tau", "rho"]
    assert sar.model == "Dynamic spatial lag (SDPD), no W y(t-1)"
    sdm = DynamicSpatialDurbin("y ~ x1 + x2", panel, w=w, durbin=["x1"]).fit()
    assert list(sdm.params.index) == ["x1", "x2", "W_x1", "tau", "eta", "rho"]
    assert {"short", "long"} == set(sar.impacts(method="delta")["horizon"])


def test_bad_inputs_are_refused(entity_data):
    panel, w = entity_data
    with pytest.raises(PanelError, match="unbalanced"):
        DynamicSpatialDurbin("y ~ x1", panel.data.iloc[1:], w=w)
    gapped = panel.subset(periods=[1, 2, 4, 5])
    with pytest.raises(PanelError, match="not consecutive"):
        DynamicSpatialDurbin("y ~ x1", gapped, w=w)
    with pytest.raises(SpecificationError, match="at least 3 periods"):
        DynamicSpatialDurbin("y ~ x1", panel.subset(periods=[1, 2]), w=w)
    with pytest.raises(SpecificationError, match="effects='time'"):
        DynamicSpatialDurbin("y ~ x1", panel, w=w, effects="time")
    with pytest.raises(SpecificationError, match="must be a column"):
        DynamicSpatialDurbin("np.log(y) ~ x1", panel, w=w)


def test_unstable_direct_estimates_are_refused():
    w = grid_weights(8).row_standardize()
    rng = np.random.default_rng(5)
    n, t = 64, 8
    y = np.cumsum(rng.normal(size=(n, t)), axis=1) * 1.0 + np.arange(t) ** 2  # explosive
    keys = pd.MultiIndex.from_product([w.ids, range(1, t + 1)], names=["entity", "time"])
    frame = pd.DataFrame(
        {"y": (1.3 ** np.arange(t) * y).ravel(), "x1": rng.normal(size=n * t)}, index=keys
    )
    with pytest.raises(SpecificationError, match="not stable"):
        DynamicSpatialDurbin("y ~ x1", frame, w=w).fit()


def test_long_run_effects_are_refused_for_an_unstable_model():
    w = grid_weights(4).row_standardize()
    labels = ["tau", "rho", "x1"]
    vcov = pd.DataFrame(np.eye(3) * 1e-4, index=labels, columns=labels)
    # row-standardised W: (tau + eta)/(1 - rho) = 0.6/0.5 > 1, no steady state
    with pytest.raises(SpecificationError, match="not stable"):
        dynamic_impacts(
            w, tau=0.6, rho=0.5, beta=pd.Series({"x1": 1.0}), vcov=vcov, horizon="long",
            method="delta",
        )  # fmt: skip
    short = dynamic_impacts(
        w, tau=0.6, rho=0.5, beta=pd.Series({"x1": 1.0}), vcov=vcov, horizon="short",
        method="delta",
    )  # fmt: skip
    assert_allclose(short["estimate"].iloc[2], 1 / (1 - 0.5), rtol=1e-10)


def test_hessian_and_expected_information_agree(entity_data):
    panel, w = entity_data
    model = DynamicSpatialDurbin("y ~ x1 + x2", panel, w=w, bias_correction=None)
    ml, hess = model.fit(), model.fit(vcov="hessian")
    # observed (numerical Hessian) and expected information at the direct QML differ by
    # sampling error, O(1/sqrt(N(T-1))) ~ 2%; measured below 0.6%
    assert_allclose(hess.std_errors, ml.std_errors, rtol=0.02)
    assert hess.vcov_name == "ML, numerical Hessian"


def test_calendar_gaps_in_dates_and_two_way_weights_are_checked(entity_data):
    panel, w = entity_data
    frame = panel.data.copy()
    years = frame.index.get_level_values("time") + 1999
    frame.index = pd.MultiIndex.from_arrays(
        [frame.index.get_level_values("entity"), pd.to_datetime(years.astype(str))],
        names=["entity", "time"],
    )
    dated = DynamicSpatialDurbin("y ~ x1 + x2", frame, w=w).fit()
    plain = DynamicSpatialDurbin("y ~ x1 + x2", panel, w=w).fit()
    assert_allclose(dated.params, plain.params, rtol=1e-12)  # annual dates: the same lags
    missing_year = frame[frame.index.get_level_values("time").year != 2003]
    with pytest.raises(PanelError, match="not consecutive"):
        DynamicSpatialDurbin("y ~ x1 + x2", missing_year, w=w)
    binary = grid_weights(20)  # not row-standardised: Lee-Yu time transformation refused
    with pytest.raises(SpecificationError, match="row-standardised"):
        DynamicSpatialDurbin("y ~ x1 + x2", panel, w=binary, effects="twoway")


def test_standard_errors_carry_the_bias_correction(entity_data):
    """``J V J'``: the corrected estimator's variance by the delta method.

    The independent check is the Monte Carlo (slow test): with J the mean SE of tau equals
    the sampling spread of the corrected tau and intervals cover 93-97%. Here: J - I is
    O(1/T); the correction of tau has slope about 1/(T-1) in tau (the Nickell-type bias
    (1 + tau)/(T-1)), so at T = 10 the SE of tau grows by 5-25%, while coefficients on the
    exogenous regressors, whose correction is zero to first order, move by under 2%.
    """
    panel, w = entity_data
    with_j = DynamicSpatialDurbin("y ~ x1 + x2", panel, w=w).fit()
    without = DynamicSpatialDurbin("y ~ x1 + x2", panel, w=w, correction_in_se=False).fit()
    assert_allclose(with_j.params, without.params, rtol=0, atol=0)
    ratio = with_j.std_errors / without.std_errors
    assert 1.05 < ratio["tau"] < 1.25, ratio
    assert_allclose(ratio[["x1", "x2"]], 1.0, atol=0.02)
    assert "delta method through the bias correction" in with_j.vcov_name
    assert "delta method" not in without.vcov_name
    eig = np.linalg.eigvalsh(with_j.vcov.to_numpy())
    assert eig.min() > 0
