"""Spatial random effects with fixed time effects (``effects="random", time_effects=True``).

Reference: the dense Gaussian log-likelihood of the model with period effects alpha_t as
free parameters, written out here on a small panel (N = 20, T = 5) and maximised
independently by scipy's BFGS over the full parameter vector (beta, alpha_1..alpha_T, rho or
lambda, log sigma2_mu, log sigma2_e) from a start away from the optimum:

* SAR (any W; here a non-symmetric 3-nearest-neighbour W): ``A y = X beta + D alpha + mu + e``,
  ``A = I_T (x) (I - rho W)``, ``Cov(mu + e) = s_mu^2 J_T (x) I_N + s^2 I``;
* SEM (W with equal row and equal column sums; here a row-standardised ring):
  ``y = X beta + D alpha + mu + (I_T (x) B^-1) v``.

Our maximised log-likelihood equals the dense one at our estimates with alpha at its GLS
value (rtol 1e-10: the same function, evaluated two ways), and (slow marker, ~35 s each)
the dense maximum: rtol 1e-9 on log L (observed 4.7e-13 SAR, 2.8e-14 SEM) and 1e-6 on
(beta, rho or lambda, sigma2_mu, sigma2_e) (observed at most 1.2e-7 SAR, 2.5e-8 SEM; BFGS
stops at gradient norm 1e-6, our bounded searches at xatol 1e-10).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from scipy import optimize, stats

from spillover import Panel
from spillover.errors import SpecificationError
from spillover.models.spatial import SpatialError, SpatialLag
from spillover.weights import Weights

from .conftest import simulate

N, T = 20, 5


def _knn(n: int, seed: int) -> np.ndarray:
    xy = np.random.default_rng(seed).uniform(size=(n, 2))
    d = np.linalg.norm(xy[:, None] - xy[None], axis=2) + np.eye(n) * 1e9
    w = np.zeros((n, n))
    for i, row in enumerate(np.argsort(d, axis=1)[:, :3]):
        w[i, row] = 1 / 3
    return w


def _ring(n: int) -> np.ndarray:
    w = np.zeros((n, n))
    for i in range(n):
        w[i, (i - 1) % n] = w[i, (i + 1) % n] = 0.5
    return w


def _panel(w: np.ndarray, *, rho: float, lam: float, seed: int) -> Panel:
    """y_t = rho W y_t + x1 - 0.5 x2 + alpha_t + mu + B^-1 v_t (time-major draws)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, N, 2))
    alpha = np.linspace(-1.0, 2.0, T)
    mu = rng.normal(scale=0.8, size=N)
    eye = np.eye(N)
    ys = []
    for t in range(T):
        v = np.linalg.solve(eye - lam * w, rng.normal(scale=0.5, size=N))
        rhs = x[t] @ [1.0, -0.5] + alpha[t] + mu + v
        ys.append(np.linalg.solve(eye - rho * w, rhs))
    frame = pd.DataFrame(
        {
            "region": np.tile(np.arange(N), T),
            "year": np.repeat(np.arange(2000, 2000 + T), N),
            "y": np.concatenate(ys),
            "x1": x[:, :, 0].ravel(),
            "x2": x[:, :, 1].ravel(),
        }
    )
    return Panel(frame, entity="region", time="year")


def _arrays(panel: Panel) -> tuple[np.ndarray, np.ndarray]:
    data = panel.data.swaplevel().sort_index()  # time-major
    x = np.column_stack([data["x1"], data["x2"], np.kron(np.eye(T), np.ones((N, 1)))])
    return data["y"].to_numpy(), x


def _dense(panel: Panel, w: np.ndarray, lag: bool):
    """Dense log L(b, alpha, s, log s2_mu, log s2) (s = rho if lag else lambda), and the
    same with alpha at its GLS value given the rest."""
    y, x = _arrays(panel)
    jt = np.kron(np.ones((T, T)), np.eye(N))

    def parts(s: float, s2mu: float, s2: float):
        m = np.eye(N) - s * w
        if lag:
            omega = s2mu * jt + s2 * np.eye(N * T)
            return np.kron(np.eye(T), m) @ y, omega, T * np.linalg.slogdet(m)[1]
        c_inv = np.linalg.inv(m.T @ m)
        return y, s2mu * jt + s2 * np.kron(np.eye(T), c_inv), 0.0

    def loglik(theta: np.ndarray) -> float:
        s, s2mu, s2 = theta[-3], np.exp(theta[-2]), np.exp(theta[-1])
        if not -1 < s < 1:
            return -np.inf
        z, omega, jac = parts(s, s2mu, s2)
        return float(stats.multivariate_normal(x @ theta[:-3], omega).logpdf(z) + jac)

    def profile(b: np.ndarray, s: float, s2mu: float, s2: float) -> float:
        z, omega, _ = parts(s, s2mu, s2)
        d = x[:, 2:]
        oi = np.linalg.inv(omega)
        alpha = np.linalg.solve(d.T @ oi @ d, d.T @ oi @ (z - x[:, :2] @ b))
        return loglik(np.concatenate([b, alpha, [s, np.log(s2mu), np.log(s2)]]))

    return loglik, profile, x, y


def _check(res, panel: Panel, w: np.ndarray, spatial: str, *, maximise: bool) -> None:
    loglik, profile, x, y = _dense(panel, w, lag=spatial == "rho")
    b = res.params[["x1", "x2"]].to_numpy()
    s2mu, s2 = res.fit_stats["sigma2_mu"], res.fit_stats["sigma2_e"]
    ours = (*b, res.params[spatial], s2mu, s2)
    assert_allclose(res.loglik, profile(b, res.params[spatial], s2mu, s2), rtol=1e-10)
    if not maximise:
        return
    start = np.concatenate([np.linalg.lstsq(x, y, rcond=None)[0], [0.0, 0.0, 0.0]])
    opt = optimize.minimize(lambda th: -loglik(th), start, method="BFGS", options={"gtol": 1e-6})
    dense = (*opt.x[:2], opt.x[-3], np.exp(opt.x[-2]), np.exp(opt.x[-1]))
    diff = np.abs(np.array(ours) - dense)
    assert_allclose(-opt.fun, res.loglik, rtol=1e-9, err_msg=f"loglik {-opt.fun - res.loglik}")
    assert_allclose(ours, dense, rtol=1e-6, atol=1e-6, err_msg=f"abs diff {diff}")
    print(f"{spatial}: log L diff {-opt.fun - res.loglik:.2e}, max abs param diff {diff.max():.2e}")


@pytest.mark.parametrize("maximise", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_sar_time_effects_equal_dense_likelihood(maximise):
    w = _knn(N, seed=3)
    assert not np.allclose(w.sum(axis=0), 1)  # not column-stochastic: exact for any W
    panel = _panel(w, rho=0.4, lam=0.0, seed=11)
    weights = Weights.in_panel_order(sp.csr_array(w), panel)
    res = SpatialLag("y ~ x1 + x2", panel, w=weights, effects="random", time_effects=True).fit()
    assert list(res.params.index) == ["x1", "x2", "rho"]  # no intercept, no phi
    assert res.fixed_effects == ("region (random)", "year")
    phi = res.fit_stats["phi"]
    assert_allclose(phi**2, res.sigma2 / (T * res.fit_stats["sigma2_mu"] + res.sigma2))
    assert res.fit_stats["theta"] == pytest.approx(1 - phi)
    assert res.fit_stats["phi_se"] == pytest.approx(np.sqrt(res.vcov_full.loc["phi", "phi"]))
    _check(res, panel, w, "rho", maximise=maximise)


@pytest.mark.parametrize("maximise", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_sem_time_effects_equal_dense_likelihood(maximise):
    w = _ring(N)
    panel = _panel(w, rho=0.0, lam=0.5, seed=12)
    weights = Weights.in_panel_order(sp.csr_array(w), panel)
    res = SpatialError("y ~ x1 + x2", panel, w=weights, effects="random", time_effects=True).fit()
    assert list(res.params.index) == ["x1", "x2", "lambda"]
    _check(res, panel, w, "lambda", maximise=maximise)


def test_sem_time_effects_refuse_w_without_equal_column_sums():
    w = _knn(N, seed=3)
    panel = _panel(w, rho=0.0, lam=0.3, seed=13)
    weights = Weights.in_panel_order(sp.csr_array(w), panel)
    with pytest.raises(SpecificationError, match="column"):
        SpatialError("y ~ x1 + x2", panel, w=weights, effects="random", time_effects=True)


def test_time_effects_need_random_effects():
    w = _ring(N)
    panel = _panel(w, rho=0.3, lam=0.0, seed=14)
    weights = Weights.in_panel_order(sp.csr_array(w), panel)
    with pytest.raises(SpecificationError, match="'time' or 'twoway'"):
        SpatialLag("y ~ x1 + x2", panel, w=weights, effects="entity", time_effects=True)


def test_sar_time_effects_information_agrees_with_numerical_hessian():
    """The expected information (``vcov="ml"``) against the numerical Hessian, as for the
    model without time effects (test_random.py): within 3% (observed 1.8% rho, 0.8% phi)."""
    panel, w = simulate(10, 5, seed=1)
    model = SpatialLag("y ~ x1 + x2", panel, w=w, effects="random", time_effects=True)
    ml, hess = model.fit(), model.fit(vcov="hessian")
    assert_allclose(hess.std_errors, ml.std_errors, rtol=0.03)
    assert_allclose(hess.fit_stats["phi_se"], ml.fit_stats["phi_se"], rtol=0.03)
