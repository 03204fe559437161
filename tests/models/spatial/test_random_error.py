"""Random effects spatial error model (splm's ``spatial.error="b"``) and its Hausman test.

References: R splm 1.6-5 ``spml(model="random", lag=FALSE, spatial.error="b")`` and
``sphtest`` on the Munnell states panel (tests/references/splm_produc.json, ``re.sem`` and
``hausman.sem``), and a dense brute-force Gaussian log-likelihood at small N.
splm's ``phi`` is ``s_mu^2 / s^2``; ours is ``sqrt(s^2 / (T s_mu^2 + s^2))`` (the SAR RE
parameter), so ``phi_splm = (1/phi^2 - 1) / T``.
"""

from __future__ import annotations

import json
from pathlib import Path

import libpysal
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from spillover import Panel, datasets, weights
from spillover.diagnostics import spatial_hausman as hausman
from spillover.errors import SpecificationError
from spillover.models.spatial import SAC, SpatialError
from spillover.simulate import grid_weights, spatial_panel
from tests.accuracy import EPS, brent_stop, flat_top, within

from .conftest import simulate

REF = json.loads((Path(__file__).parents[2] / "references" / "splm_produc.json").read_text())
FORMULA = "log_gsp ~ log_pcap + log_pc + log_emp + unemp"
SLOPES = ["log_pcap", "log_pc", "log_emp", "unemp"]


@pytest.fixture(scope="module")
def munnell():
    panel = datasets.us_states()
    w = weights.queen(panel.geo).row_standardize()
    re = SpatialError(FORMULA, panel, w=w, effects="random").fit()
    return panel, w, re


def test_weights_are_splm_neighbours(munnell):
    _, w, _ = munnell
    m = w.matrix.tocsr()
    ours = {w.ids[i]: sorted(w.ids[m.indices[m.indptr[i] : m.indptr[i + 1]]]) for i in range(w.n)}
    assert ours == {k: sorted(v) for k, v in REF["weights"]["neighbours"].items()}


def test_estimates_match_splm(munnell):
    panel, _, re = munnell
    ref = REF["re"]["sem"]
    assert list(re.params.index) == ["Intercept", *SLOPES, "lambda"]  # phi: fit_stats
    # splm's optimiser stops at ~1e-7 in (phi, lambda): its stored estimates differ from
    # ours by 2e-7 (Intercept), a fixed amount; ours are within 1.9e-7 (Intercept), 1e-7
    # (lambda) and 2.6e-8 (phi) of the maximiser on any machine (see the 40-digit test), so
    # atol 1e-6 on estimates; phi_splm moves 171 per unit of phi (5.9e-7 relative for ours,
    # observed 8e-7 in all): rtol 1e-5.
    names = ["Intercept", *SLOPES]
    assert_allclose(re.params[names], [ref["coefficients"][k] for k in names], atol=1e-6)
    assert_allclose(re.lambda_, ref["lambda"], atol=1e-6)
    phi_splm = (1 / re.fit_stats["phi"] ** 2 - 1) / panel.n_periods
    assert_allclose(phi_splm, ref["errcomp"]["phi"], rtol=1e-5)
    assert_allclose(re.sigma2, ref["sigma2"]["idios"], rtol=1e-6)
    assert_allclose(re.loglik, ref["loglik_splm"], rtol=1e-10)  # full Gaussian loglik


def test_standard_errors_match_splm(munnell):
    panel, _, re = munnell
    ref = REF["re"]["sem"]
    names = ["Intercept", *SLOPES]
    # beta: GLS variance, analytic in both: observed rel. difference 2e-7
    assert_allclose(re.std_errors[names], [ref["se"][k] for k in names], rtol=1e-5)
    # lambda and phi: two finite-difference Hessians (ours statsmodels, splm nlme::fdHess):
    # observed 1.3e-4 (lambda) and 1.1e-3 (phi, by the delta method to splm's scale)
    assert_allclose(re.std_errors["lambda"], ref["lambda_se"], rtol=1e-3)
    phi = re.fit_stats["phi"]
    se_splm = 2 / (panel.n_periods * phi**3) * re.fit_stats["phi_se"]
    assert_allclose(se_splm, ref["errcomp_se"]["phi"], rtol=5e-3)
    assert re.vcov.loc["lambda", SLOPES].abs().max() == 0  # block diagonal, as splm


def test_hausman_matches_splm(munnell):
    panel, w, re = munnell
    fe = SpatialError(FORMULA, panel, w=w, effects="entity", bias_correction=None).fit()
    d = (fe.params[SLOPES] - re.params[SLOPES]).to_numpy()
    v = (fe.vcov.loc[SLOPES, SLOPES] - re.vcov.loc[SLOPES, SLOPES]).to_numpy()
    # splm's sphtest compares the four slopes: observed rel. difference 7e-7
    assert_allclose(d @ np.linalg.solve(v, d), REF["hausman"]["sem"]["statistic"], rtol=1e-5)
    out = hausman(fe, re)  # ours also compares lambda
    names = [*SLOPES, "lambda"]
    d = (fe.params[names] - re.params[names]).to_numpy()
    v = (fe.vcov.loc[names, names] - re.vcov.loc[names, names]).to_numpy()
    assert out["df"] == 5
    assert_allclose(out["statistic"], d @ np.linalg.solve(v, d), rtol=1e-10)


def _dense_loglik(panel, w, params, sigma2):
    """Brute force: y ~ N(X b, s^2 [Jbar (x) (T phi_r I + C^-1) + E (x) C^-1]), time-major."""
    n, t = panel.n_entities, panel.n_periods
    wd = libpysal.weights.full(w)[0]
    b = np.eye(n) - params["lambda"] * wd
    c_inv = np.linalg.inv(b.T @ b)
    phi_r = (1 / params["phi"] ** 2 - 1) / t  # params: coefficients and phi
    jbar = np.full((t, t), 1 / t)
    omega = sigma2 * (
        np.kron(jbar, t * phi_r * np.eye(n) + c_inv) + np.kron(np.eye(t) - jbar, c_inv)
    )
    data = panel.data.swaplevel().sort_index()  # time-major, entities in W's order
    x = np.column_stack([np.ones(n * t), data["x1"], data["x2"]])
    mean = x @ params[["Intercept", "x1", "x2"]].to_numpy()
    return stats.multivariate_normal(mean, omega).logpdf(data["y"].to_numpy())


def test_loglik_equals_dense_brute_force():
    panel, w = simulate(5, 4, rho=0.0, lam=0.5, seed=7)
    res = SpatialError("y ~ x1 + x2", panel, w=w, effects="random").fit()
    params = pd.concat([res.params, pd.Series({"phi": res.fit_stats["phi"]})])
    assert_allclose(res.loglik, _dense_loglik(panel, w, params, res.sigma2), rtol=1e-10)


def test_hessian_vcov_agrees_on_spatial_parameters(munnell):
    panel, w, re = munnell
    hess = SpatialError(FORMULA, panel, w=w, effects="random").fit(vcov="hessian")
    assert_allclose(hess.params, re.params, rtol=1e-12)
    assert_allclose(hess.std_errors["lambda"], re.std_errors["lambda"])
    assert_allclose(hess.fit_stats["phi_se"], re.fit_stats["phi_se"])
    # the observed information keeps beta-variance cross terms: betas within 10% (obs. 8%)
    assert_allclose(hess.std_errors[SLOPES], re.std_errors[SLOPES], rtol=0.1)


def test_random_effects_refused_for_sac(sac_panel):
    panel, w = sac_panel
    with pytest.raises(SpecificationError, match="random effects are implemented"):
        SAC("y ~ x1 + x2", panel, w=w, effects="random")


def test_recovers_parameters_on_simulated_panel():
    """``spatial_panel(model="sem", effects="entity")`` draws mu outside the error filter:
    exactly the "b" random effects model. True phi = sqrt(s^2 / (T s_mu^2 + s^2)) =
    sqrt(1 / 9) with s = s_mu = 1, T = 8.
    """
    w = grid_weights(20).row_standardize()
    sim = spatial_panel(w, 8, model="sem", lam=0.5, beta=[1.0, -0.5], effects="entity", seed=5)
    res = SpatialError("y ~ x1 + x2", sim.panel, w=w, effects="random").fit()
    se = np.sqrt(np.diag(res.vcov_full)[:-1])
    se = pd.Series(se, index=res.vcov_full.index[:-1])
    est = pd.concat([res.params, pd.Series({"phi": res.fit_stats["phi"]})])
    assert se["phi"] == res.fit_stats["phi_se"]
    truth = {"x1": 1.0, "x2": -0.5, "lambda": 0.5, "phi": 1 / 3}
    for name, value in truth.items():  # 4 SE: a 6e-5 false-alarm chance per parameter
        assert abs(est[name] - value) < 4 * se[name], name
    assert se["lambda"] < 0.03 and se["phi"] < 0.03


def test_estimates_invariant_to_exact_rescaling(munnell):
    """Dividing ``unemp`` by 8 (exact in binary floating point) multiplies its coefficient
    by 8 and changes nothing else. A power-of-two scaling commutes with every rounding, so
    the two fits are the same computation bit for bit wherever the BLAS gives the same
    result for the same shapes (the OpenBLAS of numpy's and scipy's wheels does); observed:
    identical to the last bit. Bound 1e-9: the likelihood's cross products are formed on
    the scale of the OLS residuals (no cancellation in the concentrated SSR); when they
    were formed from raw ``y`` (around 10 against residuals around 0.03) the estimates
    moved by 4.5e-7 under this rescaling.
    """
    panel, w, re = munnell
    frame = panel.data.reset_index()
    frame["unemp"] = frame["unemp"] / 8
    scaled = Panel(frame, entity=panel.entity_name, time=panel.time_name)
    alt = SpatialError(FORMULA, scaled, w=w, effects="random").fit()
    expected = re.params.copy()
    expected["unemp"] *= 8
    assert_allclose(alt.params, expected, rtol=0, atol=1e-9)
    assert_allclose(alt.loglik, re.loglik, rtol=1e-12)


def test_estimates_match_40_digit_mle(munnell):
    """Against the maximiser of the same likelihood in 40-digit arithmetic (mpmath, dense;
    references/re_sem_munnell_mpmath.py). Tolerances follow from how the estimate is found
    (random_error.py): phi by scipy's bounded Brent search (``minimize_scalar(method=
    "bounded")``, xatol 1e-10), maximising over lambda by another such search at each phi;
    beta and s^2 are then GLS given (lambda, phi). See also tests/accuracy.py.

    1. Stopping rule (scipy ``_minimize_scalar_bounded``): the search stops once its point x
       is within ``2 (sqrt(2.2e-16) |x| + xatol / 3)`` of both ends of a bracket of the
       optimum: 2.7e-9 (phi), 1.6e-8 (lambda).
    2. Flat top: log L (1492) is computed to delta = 4 eps |log L| = 1.3e-12 (a few
       roundings of its largest terms; observed noise +-3e-13, varies with the BLAS), so
       points within ``sqrt(4 delta / c)`` of the maximum (c the curvature) cannot be told
       from it and the search may stop anywhere there: 2.3e-8 (phi, c = 1 / var(phi) of the
       profile), 7.7e-8 (lambda at fixed phi, c = [V^-1]_lambda,lambda). This term, not
       the stopping rule, dominates: phi is 4.7e-9 off on some x86-64 machines.
    3. lambda is maximised at the phi found, so it also inherits
       ``|d lambda / d phi| = |[V^-1]_lambda,phi / [V^-1]_lambda,lambda|`` (0.33) times the
       phi error.
    (beta, s^2) move by ``J (lambda, phi)-error``, ``J = V_(b,s2),theta V_theta,theta^-1``
    their derivative given theta (V the inverse observed information, vcov="hessian"): an
    intercept tolerance of 1.9e-7, mostly phi's (d Intercept / d phi = -5.4). Linearised,
    the remaining difference is J's own error (numerical Hessian: below 1e-2 of J; observed
    1e-7 for beta, 7e-4 for s^2) and rounding of the GLS step (eps cond(X) |beta| = 2e-13):
    observed 2e-15. log L at the estimate is below the maximum by at most
    ``0.5 tol' |V_theta^-1| tol`` (9e-12), plus delta. The previous implementation, which
    formed the cross products from raw y (log L to ~1e-10), was 2e-7 away (Intercept):
    beyond these bounds.
    """
    panel, w, re = munnell
    ref = json.loads(
        (Path(__file__).parent / "references" / "re_sem_munnell_mpmath.json").read_text()
    )
    names = [*re.params.index, "phi", "sigma2"]
    params = {**ref["params"], "sigma2": ref["sigma2"]}
    expected = np.array([float(params[k]) for k in names])
    got = np.append(re.params.to_numpy(), [re.fit_stats["phi"], re.sigma2])
    hess = SpatialError(FORMULA, panel, w=w, effects="random").fit(vcov="hessian")
    v = hess.vcov_full.loc[names, names].to_numpy()
    th, nu = [5, 6], [0, 1, 2, 3, 4, 7]  # (lambda, phi) and (beta, s^2)
    p = np.linalg.inv(v[np.ix_(th, th)])  # minus the Hessian of the concentrated log L
    loglik = float(ref["loglik"])
    se = np.sqrt([1 / p[0, 0], v[6, 6]])  # lambda at fixed phi; phi profiled
    acc = [brent_stop(x) + flat_top(loglik, s) for x, s in zip(expected[th], se, strict=True)]
    tol_theta = np.array([acc[0] + abs(p[0, 1] / p[0, 0]) * acc[1], acc[1]])
    err = got - expected
    within(got[th], expected[th], tol_theta)
    jac = v[np.ix_(nu, th)] @ np.linalg.inv(v[np.ix_(th, th)])
    tol_nu = np.abs(jac) @ tol_theta
    within(got[nu], expected[nu], tol_nu)
    within(err[nu] - jac @ err[th], 0.0, 1e-2 * tol_nu + 1e-12)
    drop = 0.5 * tol_theta @ np.abs(p) @ tol_theta
    assert_allclose(re.loglik, loglik, rtol=0, atol=drop + 4 * EPS * abs(loglik))
