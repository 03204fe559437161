"""compare_models with the opt-in SAC family: a double integral over (rho, lambda), checked
against scipy.integrate.dblquad over an independently built dense likelihood."""

from __future__ import annotations

import time

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate, optimize

from spillover.diagnostics import _marginal, compare_models
from spillover.models.spatial import SAC
from spillover.simulate import grid_weights, spatial_panel
from tests.diagnostics.test_model_choice import (
    FORMULA,
    N_COLS,
    N_ROWS,
    T,
    _log_integral_over_sigma2,
    _transformed,
)


@pytest.fixture(scope="module")
def sac_small():
    w = grid_weights(N_ROWS, contiguity="queen", n_cols=N_COLS).row_standardize()  # N = 30
    sim = spatial_panel(
        w, T, model="sac", rho=0.3, lam=0.3, beta=[1.0, -0.5], effects="twoway", seed=3
    )
    return sim.panel, w


def _sac_reference(panel, w, effects) -> float:
    """log p(y) for SAC by dblquad: flat prior on beta, 1/sigma^2, uniform (rho, lambda).

    Dense n x n algebra on the Lee-Yu transformed data (helpers of test_model_choice): over
    beta the Gaussian integral in closed form, over sigma^2 one quadrature at a reference
    SSR S0 and the exact scaling ``I(S) = I(S0) (S/S0)^-(n-k)/2`` elsewhere, over (rho,
    lambda) scipy's dblquad.
    """
    y, x, _, wstar = _transformed(panel, w, effects)
    xmat = np.column_stack(x)
    n, k = len(y), xmat.shape[1]
    big_w = np.kron(np.eye(T - 1), wstar)
    eig = np.linalg.eigvals(w.matrix.toarray()).real
    lo, hi = 1 / eig.min(), 1 / eig.max()
    eye = np.eye(n)
    s0 = float(y @ y)
    log_i0 = _log_integral_over_sigma2(s0, n, k)

    def log_g(rho: float, lam: float) -> float:
        a, b = eye - rho * big_w, eye - lam * big_w
        yy, xx = b @ (a @ y), b @ xmat
        resid = yy - xx @ np.linalg.lstsq(xx, yy, rcond=None)[0]
        ssr = float(resid @ resid)
        logdet = np.linalg.slogdet(a)[1] + np.linalg.slogdet(b)[1]
        gram = np.linalg.slogdet(xx.T @ xx)[1]
        return logdet - 0.5 * gram + log_i0 - 0.5 * (n - k) * np.log(ssr / s0)

    edge = 1e-9
    peak = optimize.minimize(
        lambda v: -log_g(*v), x0=[0.0, 0.0], bounds=[(lo + 0.01, hi - 0.01)] * 2
    )
    top = -peak.fun
    val, _ = integrate.dblquad(
        lambda rho, lam: np.exp(log_g(rho, lam) - top),
        lo + edge,
        hi - edge,
        lo + edge,
        hi - edge,
        epsabs=0.0,
        epsrel=1e-10,
    )
    return float(np.log(val) + top - 2 * np.log(hi - lo))


# two-way (the edge at 1 does not vanish) by default; entity (about 5 s more) is slow
@pytest.mark.parametrize("effects", [pytest.param("entity", marks=pytest.mark.slow), "twoway"])
def test_sac_log_marginal_matches_dblquad(sac_small, effects):
    # Ours: outer quadrature to SAC_EPSREL = 1e-9 relative over inner ones to 1e-11, ends
    # cut at 1e-10; dblquad: 1e-10 relative, ends cut at 1e-9 (the integrand does not
    # vanish at rho = 1 or lambda = 1 with time effects). A relative error e of the
    # integral is an absolute error e in its log, so the logs agree to ~1e-9; 1e-8 (10 x)
    # allows for quad's error estimates being estimates (measured: 3e-14 entity, 6e-11
    # two-way). |log p| is ~1e2, so this is ~1e-10 relative.
    panel, w = sac_small
    res = compare_models(
        FORMULA,
        panel,
        weights={"queen": w},
        families=["SAC"],
        effects=effects,
        normalisation="flat",
        standardise=False,
    )
    got = res.table.loc[("queen", "sac"), "log_marginal"]
    assert _marginal.SAC_EPSREL <= 1e-9
    assert_allclose(got, _sac_reference(panel, w, effects), rtol=0, atol=1e-8)


def test_sac_beside_the_one_parameter_families(sac_small):
    panel, w = sac_small
    fams = ("sar", "sem", "sdm", "sdem", "slx", "sac")
    start = time.perf_counter()
    res = compare_models(FORMULA, panel, weights={"queen": w}, families=fams, effects="twoway")
    assert time.perf_counter() - start < 30  # N = 30: the double integral is not a grid
    t = res.table.loc["queen"]
    fit = SAC(FORMULA, panel, w=w, effects="twoway").fit()
    assert_allclose(t.loc["sac", "loglik"], fit.loglik, rtol=1e-10)  # same search
    assert_allclose(t.loc["sac", ["rho", "lambda"]], fit.params[["rho", "lambda"]], atol=1e-6)
    assert_allclose(t.loc["sac", "aic"], fit.fit_stats["aic"], rtol=1e-10)
    assert t.loc["sac", "n_params"] == 5 and t.loc["sar", "n_params"] == 4
    lr = res.lr_tests.set_index(["model", "restricted"])
    assert {("sac", "sar"), ("sac", "sem")} <= set(lr.index)
    assert lr.loc[("sac", "sem"), "df"] == 1
    assert_allclose(
        lr.loc[("sac", "sar"), "statistic"], 2 * (fit.loglik - t.loc["sar", "loglik"]), rtol=1e-9
    )
    assert np.isnan(t.loc["sar", "lambda"]) and np.isnan(t.loc["sem", "rho"])
    # equal prior probabilities over six candidates: they still sum to one
    assert_allclose(res.table["probability"].sum(), 1.0, rtol=1e-12)


def test_sac_trapezoid_lattice_converges_at_second_order(sac_small):
    # The grid x grid trapezoid rule on a smooth integrand has error ~ c h^2: halving h
    # divides the error (against the adaptive value) by ~4. Accept 3-5.
    panel, w = sac_small
    kw = {"weights": {"queen": w}, "families": ["sac"], "effects": "twoway"}
    exact = compare_models(FORMULA, panel, **kw).table["log_marginal"].iloc[0]
    coarse, fine = (
        compare_models(FORMULA, panel, grid=g, **kw).table["log_marginal"].iloc[0] - exact
        for g in (51, 101)
    )
    assert 3.0 < coarse / fine < 5.0, (coarse, fine)
