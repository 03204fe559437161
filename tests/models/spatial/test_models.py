"""Contract, options and Lee-Yu transformation checks of the spatial ML models."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from scipy.linalg import null_space
from scipy.optimize import minimize_scalar

from spillover import Panel
from spillover.errors import (
    AlignmentError,
    PanelError,
    SpecificationError,
    WeightsAssumptionWarning,
    WeightsError,
)
from spillover.models.spatial import (
    SAC,
    SpatialDurbin,
    SpatialDurbinError,
    SpatialError,
    SpatialLag,
    SpatialResults,
)
from spillover.weights import Weights
from tests.accuracy import propagated, search_accuracy, within

from .conftest import simulate

MODELS = [SpatialLag, SpatialError, SpatialDurbin, SpatialDurbinError, SAC]


@pytest.mark.parametrize("model", MODELS)
def test_contract(sar_panel, model):
    panel, w = sar_panel
    res = model("y ~ x1 + x2", panel, w=w, effects="twoway").fit()
    assert isinstance(res, SpatialResults)
    text = str(res.summary())
    assert "exact (eigenvalues)" in text and "Lee-Yu" in text and "libpysal" in text
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.nobs = 1
    with pytest.raises(SpecificationError, match="vcov='robust' is not valid"):
        model("y ~ x1 + x2", panel, w=w).fit(vcov="robust")
    assert list(res.vcov.index) == list(res.params.index)
    assert res.vcov_full.index[-1] == "sigma2"
    assert np.all(np.isfinite(res.std_errors))
    assert res.fit_stats["sigma2"] == res.sigma2 > 0


def test_fit_does_not_change_the_model_and_names_spatial_parameters(sac_panel):
    panel, w = sac_panel
    model = SAC("y ~ x1 + x2", panel, w=w)
    a, b = model.fit(), model.fit(vcov="hessian")
    assert_allclose(a.params, b.params)  # the same search: identical, vcov aside
    assert list(a.params.index[-2:]) == ["rho", "lambda"]
    assert a.rho == a.params["rho"] and a.lambda_ == a.params["lambda"]
    with pytest.raises(SpecificationError, match="no 'rho'"):
        _ = SpatialError("y ~ x1 + x2", panel, w=w).fit().rho


def test_unbalanced_panel_is_rejected_with_the_fix(sar_panel):
    panel, w = sar_panel
    short = Panel(panel.data.drop(index=panel.data.index[3]), entity="region", time="year")
    with pytest.raises(PanelError, match=r"unbalanced.*panel\.balanced\(\)"):
        SpatialLag("y ~ x1 + x2", short, w=w)


def test_weights_inputs_are_matched_by_id(sar_panel):
    panel, w = sar_panel
    ref = SpatialLag("y ~ x1 + x2", panel, w=w).fit().params
    ours = Weights.from_libpysal(w)
    shuffled = ours.subset(ours.ids[::-1])
    # a bare matrix has no ids: used only when stated to be in the panel's entity order
    bare = (sp.csr_array(w.sparse), w.sparse.toarray())
    for given in (ours, shuffled, *(Weights.in_panel_order(m, panel) for m in bare)):
        # aligned to the panel's order, every input is the same matrix: identical fits
        assert_allclose(SpatialLag("y ~ x1 + x2", panel, w=given).fit().params, ref)
    with pytest.raises(AlignmentError, match="disagree"):
        SpatialLag("y ~ x1 + x2", panel, w=ours.subset(ours.ids[:-1]))
    for matrix in bare:
        with pytest.raises(WeightsError, match=r"Weights\(matrix, ids\).*in_panel_order"):
            SpatialLag("y ~ x1 + x2", panel, w=matrix)
    with pytest.raises(WeightsError, match="N x N"):
        Weights.in_panel_order(sp.identity(5, format="csr"), panel)


def test_bad_options(sar_panel):
    panel, w = sar_panel
    with pytest.raises(SpecificationError, match="effects='both'"):
        SpatialLag("y ~ x1", panel, w=w, effects="both")
    with pytest.raises(SpecificationError, match="bias_correction"):
        SpatialLag("y ~ x1", panel, w=w, bias_correction="elhorst")
    with pytest.raises(SpecificationError, match="durbin terms 'x3'"):
        SpatialDurbin("y ~ x1", panel, w=w, durbin=["x3"])
    binary = Weights(sp.csr_array(w.sparse) * 0 + (sp.csr_array(w.sparse) > 0), w.id_order)
    with pytest.raises(SpecificationError, match="row-standardised"):
        SpatialLag("y ~ x1", panel, w=binary, effects="twoway")
    one = Panel(panel.data.xs(2000, level="year", drop_level=False), entity="region", time="year")
    with pytest.raises(SpecificationError, match="at least two periods"):
        SpatialLag("y ~ x1", one, w=w, effects="entity")


def test_durbin_subset(sar_panel):
    panel, w = sar_panel
    res = SpatialDurbin("y ~ x1 + x2", panel, w=w, durbin=["x2"]).fit()
    assert list(res.params.index) == ["x1", "x2", "W_x2", "rho"]


def test_lee_yu_entity_rescales_sigma2_only(sar_panel):
    """Same maximiser, but two likelihoods (N T and N (T - 1) observations) computed and
    searched separately: rho agrees to the sum of the two searches' accuracies (1.6e-7 here;
    stopping rule and flat top, tests/accuracy.py), beta and sigma^2 to that move propagated
    (observed: rho 1.8e-8 on one x86-64 machine, 0 on another)."""
    panel, w = sar_panel
    direct = SpatialLag("y ~ x1 + x2", panel, w=w, bias_correction=None).fit(vcov="hessian")
    ly = SpatialLag("y ~ x1 + x2", panel, w=w).fit(vcov="hessian")
    t = panel.n_periods
    moves = {"rho": search_accuracy(direct, "rho") + search_accuracy(ly, "rho")}
    tol = propagated(direct, moves)
    within(ly.params, direct.params, tol[direct.params.index])
    within(ly.sigma2, direct.sigma2 * t / (t - 1), tol["sigma2"] * t / (t - 1))


@pytest.mark.parametrize("effects", ["entity", "time", "twoway"])
@pytest.mark.parametrize("model", [SpatialLag, SpatialError])
def test_lee_yu_equals_explicit_orthonormal_transformation(model, effects):
    """Brute force: transform by F_N' Y F_T (F: orthonormal eigenvectors of the demeaning
    matrix for eigenvalue one, or the identity when that dimension has no effects),
    W* = F_N' W F_N, and maximise the dense likelihood of the transformed observations.
    Tolerance: each of the two searches stops within its accuracy (stopping rule and flat
    top, tests/accuracy.py: 8e-8 to 1.1e-7 each here); the log-likelihoods at the two points
    then differ by rounding only (the maximum is flat): 1e-9 relative."""
    panel, w = simulate(6, 4, seed=5)
    res = model("y ~ x1 + x2", panel, w=w, effects=effects).fit(vcov="hessian")
    n, t = panel.n_entities, panel.n_periods
    f_n = null_space(np.ones((1, n))) if effects != "entity" else np.eye(n)
    f_t = null_space(np.ones((1, t))) if effects != "time" else np.eye(t)
    wm = w.sparse.toarray()
    ws = f_n.T @ wm @ f_n
    star = {c: (f_n.T @ panel.data[c].unstack().to_numpy() @ f_t) for c in ("y", "x1", "x2")}
    wstar = {c: ws @ v for c, v in star.items()}
    x = np.column_stack([star["x1"].ravel(), star["x2"].ravel()])
    wx = np.column_stack([wstar["x1"].ravel(), wstar["x2"].ravel()])
    y, wy = star["y"].ravel(), wstar["y"].ravel()
    nobs, periods = f_n.shape[1] * f_t.shape[1], f_t.shape[1]

    def profile(r):
        if model is SpatialLag:
            yy, xx = y - r * wy, x
        else:
            yy, xx = y - r * wy, x - r * wx
        e = yy - xx @ np.linalg.lstsq(xx, yy, rcond=None)[0]
        logdet = np.linalg.slogdet(np.eye(f_n.shape[1]) - r * ws)[1]
        return -0.5 * nobs * np.log(e @ e / nobs) + periods * logdet

    opt = minimize_scalar(
        lambda r: -profile(r), bounds=(-0.99, 0.99), method="bounded", options={"xatol": 1e-10}
    )
    name = "rho" if model is SpatialLag else "lambda"
    assert abs(res.params[name] - opt.x) <= 2 * search_accuracy(res, name)
    assert_allclose(res.loglik, profile(opt.x) - 0.5 * nobs * (np.log(2 * np.pi) + 1), rtol=1e-9)


def test_hessian_and_information_agree_on_a_larger_panel():
    """Expected and observed information are asymptotically equal: 5% at N T = 1,500."""
    panel, w = simulate(15, 6, seed=7)
    ml = SpatialLag("y ~ x1 + x2", panel, w=w).fit()
    hess = SpatialLag("y ~ x1 + x2", panel, w=w).fit(vcov="hessian")
    assert_allclose(hess.std_errors, ml.std_errors, rtol=0.05)


def test_probe_traces_match_exact_traces(monkeypatch):
    """Hutchinson traces (used above N = 1,500) against exact dense ones at N = 400:
    the standard errors agree to 1%, the probe error being O(1 / sqrt(N probes))."""
    import spillover.models.spatial._variance as variance

    panel, w = simulate(20, 3, rho=0.3, lam=0.3, seed=9)
    exact = SAC("y ~ x1 + x2", panel, w=w, effects="twoway").fit()
    monkeypatch.setattr(variance, "DENSE_MAX_N", 10)
    probed = SAC("y ~ x1 + x2", panel, w=w, effects="twoway").fit(probes=200)
    assert_allclose(probed.params, exact.params)  # probes enter the variance only
    assert_allclose(probed.std_errors, exact.std_errors, rtol=0.01)


def test_impacts_hook_calls_the_effects_module(sar_panel):
    panel, w = sar_panel
    res = SpatialDurbin("y ~ x1 + x2", panel, w=w).fit()
    eff = res.impacts(method="delta")
    assert set(eff["variable"]) == {"x1", "x2"}
    assert eff.attrs["model"] == "sdm"
    direct = eff.set_index(["variable", "effect"])["estimate"]
    # at small N the effects module uses a dense (I - rho W)^-1: check one by hand
    a = np.linalg.inv(np.eye(100) - res.rho * w.sparse.toarray())
    s = a @ (res.params["x1"] * np.eye(100) + res.params["W_x1"] * w.sparse.toarray())
    assert_allclose(direct[("x1", "direct")], np.trace(s) / 100, rtol=1e-10)
    assert_allclose(direct[("x1", "total")], s.sum() / 100, rtol=1e-10)
    with pytest.raises(SpecificationError, match="coefficients"):
        SpatialError("y ~ x1 + x2", panel, w=w).fit().impacts()


def test_results_index_and_fitted(sar_panel):
    panel, w = sar_panel
    res = SpatialLag("y ~ x1 + x2", panel, w=w, effects="none").fit()
    assert res.residuals.index.equals(panel.data.index)
    assert isinstance(res.fitted, pd.Series)
    assert 0 < res.fit_stats["r2_pseudo"] < 1


def _edit(w: Weights, edit) -> Weights:
    m = w.matrix.tolil()
    edit(m)
    return Weights(sp.csr_array(m), w.ids)


def test_weights_outside_the_model_assumptions_are_refused_or_stated(sar_panel):
    panel, lib_w = sar_panel
    w = Weights.from_libpysal(lib_w)
    first = w.ids[0]

    def self_link(m):
        m[0, 0] = 0.5

    with pytest.raises(WeightsError, match=f"themselves.*{first}.*without_self_links"):
        SpatialLag("y ~ x1 + x2", panel, w=_edit(w, self_link))
    fixed = _edit(w, self_link).without_self_links()
    assert fixed.matrix.diagonal().sum() == 0 and fixed.transform == "original"

    def island(m):
        m[0, :] = 0

    with pytest.warns(WeightsAssumptionWarning, match=f"1 entities without neighbours.*{first}"):
        SpatialError("y ~ x1 + x2", panel, w=_edit(w, island))

    def negative(m):
        m[0, 1] = -m[0, 1] if m[0, 1] else -0.1

    with pytest.warns(WeightsAssumptionWarning, match="negative weights in 1 rows"):
        SpatialLag("y ~ x1 + x2", panel, w=_edit(w, negative))
