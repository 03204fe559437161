"""One weights matrix per period (WeightsByPeriod or a mapping period -> Weights).

References: the static fit (all W_t equal), a dense brute-force log-likelihood with
``sum_t log|I - a W_t|`` and per-period lags, the numerical Hessian (for the per-period
traces of the analytic information), and recovery of rho on panels simulated by
``spillover.simulate.spatial_panel`` with W_t switching between two lattices.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover import datasets, weights
from spillover.errors import AlignmentError, SpecificationError
from spillover.models.spatial import (
    SAC,
    SpatialDurbin,
    SpatialDurbinError,
    SpatialError,
    SpatialLag,
)
from spillover.simulate import grid_weights, spatial_panel
from spillover.weights import WeightsByPeriod

FORMULA = "log_gsp ~ log_pcap + log_pc + log_emp + unemp"
XS = ["log_pcap", "log_pc", "log_emp", "unemp"]


@pytest.fixture(scope="module")
def states():
    panel = datasets.us_states()
    queen = weights.queen(panel.geo).row_standardize()
    knn = weights.knn(panel.geo, 4).row_standardize()
    split = {p: (queen if p < 1979 else knn) for p in panel.periods}
    return panel, queen, WeightsByPeriod(split)


@pytest.mark.parametrize("model", [SpatialLag, SpatialError, SpatialDurbin, SpatialDurbinError])
@pytest.mark.parametrize("effects", ["entity", "twoway"])
def test_equal_weights_reproduce_static_fit(states, model, effects):
    panel, queen, _ = states
    by_period = {p: queen for p in panel.periods}  # a plain mapping
    static = model(FORMULA, panel, w=queen, effects=effects, bias_correction=None).fit()
    tv = model(FORMULA, panel, w=by_period, effects=effects, bias_correction=None).fit()
    # one distinct W_t takes the static computation bit for bit (_periods.py): identical
    # on any machine, so a tolerance far below the search's accuracy
    assert_allclose(tv.params, static.params, rtol=1e-10, atol=1e-12)
    assert_allclose(tv.std_errors, static.std_errors, rtol=1e-10)
    assert_allclose(tv.loglik, static.loglik, rtol=1e-12)


def _within(r, effects):
    """Demean an (N, T) array by entity and/or period."""
    out = r - r.mean(axis=1, keepdims=True) if effects in ("entity", "twoway") else r
    if effects == "twoway":
        out = out - out.mean(axis=0, keepdims=True)
    return out


def _dense_loglik(panel, wt, res, effects, *, lag_y):
    """Direct-ML log-likelihood with dense W_t: effects inside A_t (SAR) or B_t (SEM)."""
    n, t = panel.n_entities, panel.n_periods
    y = np.log(panel.data["gsp"]).unstack().to_numpy()
    x = {c: panel.data[c.removeprefix("log_")].unstack().to_numpy() for c in XS}
    x = {c: (np.log(v) if c.startswith("log_") else v) for c, v in x.items()}
    a = res.params["rho" if lag_y else "lambda"]
    resid, logdet = np.empty((n, t)), 0.0
    for j, p in enumerate(panel.periods):
        wd = wt[p].matrix.toarray()  # test only, N = 48
        filt = np.eye(n) - a * wd
        xb = sum(res.params[c] * x[c][:, j] for c in XS)
        resid[:, j] = filt @ y[:, j] - xb if lag_y else filt @ (y[:, j] - xb)
        logdet += np.linalg.slogdet(filt)[1]
    ssr = float((_within(resid, effects) ** 2).sum())
    s2 = res.sigma2
    return -0.5 * n * t * np.log(2 * np.pi * s2) + logdet - ssr / (2 * s2), ssr / (n * t)


@pytest.mark.parametrize("model", [SpatialLag, SpatialError])
@pytest.mark.parametrize("effects", ["entity", "twoway"])
def test_loglik_equals_dense_brute_force(states, model, effects):
    panel, _, wt = states
    res = model(FORMULA, panel, w=wt, effects=effects, bias_correction=None).fit()
    ll, s2 = _dense_loglik(panel, wt, res, effects, lag_y=model is SpatialLag)
    assert_allclose(s2, res.sigma2, rtol=1e-10)
    assert_allclose(res.loglik, ll, rtol=1e-8)


def _dense_expected_se(panel, wt, res, effects, *, lag_y):
    """SEs from the expected information summed over periods, with dense W_t (N = 48)."""
    n, t = panel.n_entities, panel.n_periods
    y, x = _arrays(panel)
    a, s2 = res.params["rho" if lag_y else "lambda"], res.sigma2
    xs, eta, traces = np.empty((n, t, len(XS))), np.empty((n, t)), np.zeros(3)
    beta = res.params[XS].to_numpy()
    for j, p in enumerate(panel.periods):
        wd = wt[p].matrix.toarray()
        g = wd @ np.linalg.inv(np.eye(n) - a * wd)  # G_t (SAR) or H_t (SEM)
        traces += [np.trace(g), np.trace(g @ g), (g * g).sum()]
        xs[:, j] = x[:, j] if lag_y else x[:, j] - a * wd @ x[:, j]
        if lag_y:  # E[W_t y_t] = W_t y_t - G_t e_t
            e = _within(y - a * _lagged(panel, wt, y) - x @ beta, effects)[:, j]
            eta[:, j] = wd @ y[:, j] - g @ e
    xs = np.stack([_within(xs[..., c], effects) for c in range(len(XS))], -1).reshape(-1, 4)
    k = len(XS)
    info = np.zeros((k + 2, k + 2))
    info[:k, :k] = xs.T @ xs / s2
    info[k, k] = traces[1] + traces[2]
    if lag_y:
        eta = _within(eta, effects).ravel()
        info[:k, k] = info[k, :k] = xs.T @ eta / s2
        info[k, k] += eta @ eta / s2
    info[k, k + 1] = info[k + 1, k] = traces[0] / s2
    info[k + 1, k + 1] = n * t / (2 * s2**2)
    return np.sqrt(np.diag(np.linalg.inv(info)))[: k + 1]


def _arrays(panel):
    y = np.log(panel.data["gsp"]).unstack().to_numpy()
    cols = [panel.data[c.removeprefix("log_")].unstack().to_numpy() for c in XS]
    logs = [np.log(v) if c.startswith("log_") else v for c, v in zip(XS, cols, strict=True)]
    x = np.stack(logs, -1)
    return y, x


def _lagged(panel, wt, a):
    return np.column_stack([wt[p].matrix @ a[:, j] for j, p in enumerate(panel.periods)])


@pytest.mark.parametrize("model", [SpatialLag, SpatialError])
@pytest.mark.parametrize("effects", ["entity", "twoway"])
def test_information_equals_dense_per_period_traces(states, model, effects):
    panel, _, wt = states
    res = model(FORMULA, panel, w=wt, effects=effects, bias_correction=None).fit()
    lag_y = model is SpatialLag
    names = [*XS, "rho" if lag_y else "lambda"]
    expected = _dense_expected_se(panel, wt, res, effects, lag_y=lag_y)
    assert_allclose(res.std_errors[names], expected, rtol=1e-8)


@pytest.mark.parametrize("model", [SpatialLag, SpatialError])
def test_information_close_to_numerical_hessian(states, model):
    panel, _, wt = states
    ml = model(FORMULA, panel, w=wt, effects="entity", bias_correction=None).fit()
    hess = model(FORMULA, panel, w=wt, effects="entity", bias_correction=None).fit("hessian")
    # expected vs observed information differ in finite samples: with one W on these data
    # by up to 10% (SAR rho, queen); observed here at most 5% (SEM lambda)
    assert_allclose(hess.std_errors, ml.std_errors, rtol=0.1)


@pytest.mark.parametrize(
    ("model", "kind", "effects"),
    [
        (SpatialLag, "sar", "twoway"),
        (SpatialDurbin, "sdm", "twoway"),
        # time effects only: the simulator puts entity effects outside the error filter,
        # the likelihood inside (the same model for time effects and row-standardised W_t)
        (SpatialError, "sem", "time"),
        (SpatialDurbinError, "sdem", "time"),
    ],
)
def test_recovers_spatial_parameter_with_switching_weights(model, kind, effects):
    rook = grid_weights(20, contiguity="rook").row_standardize()
    queen = grid_weights(20, contiguity="queen").row_standardize()
    spatial = "lam" if kind in ("sem", "sdem") else "rho"
    sim = spatial_panel(
        [rook] * 4 + [queen] * 4,
        8,
        model=kind,
        beta=[1.0, -0.5],
        theta=[0.5, 0.0] if kind in ("sdm", "sdem") else None,
        effects=effects,
        seed=11,
        **{spatial: 0.5},
    )
    wt = dict(zip(sim.panel.periods, sim.period_weights, strict=True))
    res = model("y ~ x1 + x2", sim.panel, w=wt, effects=effects, bias_correction=None).fit()
    name = "lambda" if spatial == "lam" else "rho"
    # N T = 3,200 observations: se about 0.02; 4 SE leaves a 6e-5 chance of a false alarm
    # for an unbiased estimator (observed: within 1 SE) and fails a wrong Jacobian or lag
    assert res.std_errors[name] < 0.03
    assert abs(res.params[name] - 0.5) < 4 * res.std_errors[name]
    assert abs(res.params["x1"] - 1.0) < 4 * res.std_errors["x1"]
    if kind in ("sdm", "sdem"):
        assert abs(res.params["W_x1"] - 0.5) < 4 * res.std_errors["W_x1"]
    static = model("y ~ x1 + x2", sim.panel, w=rook, effects=effects, bias_correction=None)
    assert res.loglik > static.fit().loglik  # the true W_t fit better than one W


def test_effects_average_the_per_period_effects_matrices(states):
    # res.impacts() with one W per period is the inference function on the W_t it was fitted
    # with (whose own tests check it against dense per-period S_t); here: the wiring.
    from spillover.inference.impacts import impacts

    panel, _, wt = states
    res = SpatialLag(FORMULA, panel, w=wt, effects="entity", bias_correction=None).fit()
    assert res.weights is None and len(res.weights_by_period) == panel.n_periods
    xs = [p for p in res.params.index if p != "rho"]
    direct = impacts(
        res.weights_by_period,
        model="sar",
        rho=res.rho,
        beta=res.params[xs],
        vcov=res.vcov,
        method="delta",
    )
    pd.testing.assert_frame_equal(res.impacts(method="delta"), direct)


def test_unsupported_combinations_raise(states):
    panel, queen, wt = states
    with pytest.raises(SpecificationError, match="bias_correction=None"):
        SpatialLag(FORMULA, panel, w=wt)  # Lee-Yu is the default
    with pytest.raises(SpecificationError, match="one weights matrix for all periods"):
        SpatialLag(FORMULA, panel, w=wt, effects="random")
    with pytest.raises(SpecificationError, match="W\\(x\\) formula terms"):
        SpatialLag(FORMULA + " + W(unemp)", panel, w=wt, bias_correction=None)
    with pytest.raises(SpecificationError, match="SAC with one weights matrix"):
        SAC(FORMULA, panel, w=wt, bias_correction=None)
    short = {p: queen for p in panel.periods[:-1]}
    with pytest.raises(AlignmentError, match="1986"):
        SpatialLag(FORMULA, panel, w=short, bias_correction=None)
