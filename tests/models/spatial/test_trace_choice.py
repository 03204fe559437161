"""Exact or stochastic traces in the ML information matrix, and what the results say.

Reference: the traces of ``Gt = B W A^-1 B^-1`` and ``H = W B^-1`` (centred by
``J = I - 11'/N`` under the Lee-Yu time transformation) from dense numpy inverses, an
independent computation of the same numbers; the standard errors they give agree with the
package's exact traces (dense below ``DENSE_MAX_N``, unit-vector blocks above) to 1e-10
relative (rounding of N = 100 solves; the fits themselves are identical).
The stated Monte Carlo precision is checked against the observed error over 20 seeds.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

import spillover.models.spatial._variance as variance
from spillover.models.spatial import SAC, SpatialError, SpatialLag

from .conftest import simulate


def _dense_traces(w, est, lik, *, draws, seed):
    """All traces the information needs, from dense matrices (numpy inverses)."""
    matrix = w.toarray() if sp.issparse(w) else np.asarray(w.matrix.toarray())
    n = matrix.shape[0]
    eye = np.eye(n)
    a_inv = np.linalg.inv(eye - est.rho * matrix)
    b = eye - est.lam * matrix
    b_inv = np.linalg.inv(b)
    g = b @ matrix @ a_inv @ b_inv
    h = matrix @ b_inv
    if lik.transform.project:
        j = eye - 1.0 / n
        g, h = j @ g @ j, j @ h @ j
    out = {"G": np.trace(g), "GG": np.trace(g @ g), "GtG": np.trace(g.T @ g)}
    out |= {"H": np.trace(h), "HH": np.trace(h @ h), "HtH": np.trace(h.T @ h)}
    out |= {"HG": np.trace(h @ g), "HtG": np.trace(h.T @ g)}
    return {k: float(v) for k, v in out.items()}, None


@pytest.fixture(scope="module")
def panel_w():
    return simulate(10, 4, rho=0.3, lam=0.4, seed=2)


MODELS = [(SAC, "entity"), (SAC, "twoway"), (SpatialLag, "time"), (SpatialError, "entity")]


@pytest.mark.parametrize("dense_max_n", [1500, 0])  # dense matrices / unit-vector blocks
@pytest.mark.parametrize("model, effects", MODELS)
def test_exact_traces_match_dense_inverses(panel_w, monkeypatch, model, effects, dense_max_n):
    panel, w = panel_w
    monkeypatch.setattr(variance, "DENSE_MAX_N", dense_max_n)
    res = model("y ~ x1 + x2", panel, w=w, effects=effects).fit()
    assert res.info["Traces"] == "exact"
    monkeypatch.setattr(variance, "_mean_traces", _dense_traces)
    ref = model("y ~ x1 + x2", panel, w=w, effects=effects).fit()
    assert_allclose(res.params, ref.params, rtol=0, atol=0)
    assert_allclose(res.std_errors, ref.std_errors, rtol=1e-10)
    assert "exact" in str(res.summary())


def test_stochastic_traces_are_stated_with_their_precision(panel_w, monkeypatch):
    panel, w = panel_w
    model = SAC("y ~ x1 + x2", panel, w=w, effects="entity")
    exact = model.fit()
    monkeypatch.setattr(variance, "EXACT_MAX_WORK", 0.0)
    z = []
    for seed in range(20):
        res = model.fit(probes=25, seed=seed)
        text = res.info["Traces"]
        assert text.startswith("stochastic (25 Rademacher draws; relative SE of SE(rho) ")
        assert text in str(res.summary())
        stated = [float(s.split(" ")[-1].rstrip(",)")) for s in text.split("SE(")[2:]]
        observed = (res.std_errors / exact.std_errors - 1)[["rho", "lambda"]].to_numpy()
        z += list(observed / np.array(stated))
    # z = observed error / stated SE: mean square near 1 if the stated precision is right.
    # 40 values (rho and lambda, correlated within a seed): chi2-type bounds, wide for the
    # delta method's first-order error.
    assert 0.3 < np.mean(np.square(z)) < 2.5


def test_hessian_covariance_uses_no_traces(panel_w):
    panel, w = panel_w
    res = SpatialLag("y ~ x1 + x2", panel, w=w, effects="entity").fit(vcov="hessian")
    assert "Traces" not in res.info


def test_weights_by_period_state_stochastic_traces(monkeypatch):
    """One W per period: exact traces averaged over the distinct W_t, or all stochastic."""
    from spillover import datasets, weights
    from spillover.weights import WeightsByPeriod

    panel = datasets.us_states()
    queen = weights.queen(panel.geo).row_standardize()
    knn = weights.knn(panel.geo, 4).row_standardize()
    w = WeightsByPeriod({p: (queen if p < 1979 else knn) for p in panel.periods})
    model = SpatialLag("log_gsp ~ log_pcap + log_emp", panel, w=w, bias_correction=None)
    exact = model.fit()
    assert exact.info["Traces"] == "exact"
    monkeypatch.setattr(variance, "EXACT_MAX_WORK", 0.0)
    mc = model.fit(probes=40, seed=3)
    stated = float(mc.info["Traces"].split("SE(rho) ")[1].rstrip(")"))
    assert mc.info["Traces"].startswith("stochastic (40 Rademacher draws")
    # the observed error lies within 5 stated SEs (a 1-in-10^6 miss if the SE is right)
    assert abs(mc.std_errors["rho"] / exact.std_errors["rho"] - 1) < 5 * stated
