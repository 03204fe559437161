"""SAR and SDM fits with the Barry-Pace log-determinant against the exact (sparse LU) fit.

W: k-nearest neighbours (k = 10) over random firm locations, row-standardised (not
similar to a symmetric matrix). Reference: the same model with ``logdet="lu"`` (exact
``sum log|U_ii|`` of SuperLU). Tolerance, derived from the reported bound: with the
log-likelihood perturbed by a function of rho whose slope error is at most B (the
``level`` bound of the Jacobian's slope at the estimate), the maximiser moves by at most
``B / kappa`` to first order, kappa the curvature of the exact profile likelihood,
``1 / Var(rho)`` of the observed-information (``vcov="hessian"``) exact fit; 10% is
added for the change of curvature between the two maximisers, and the resolution of each
search: a maximiser is only located to within ``sqrt(2 u |loglik| Var(rho))`` where the
log-likelihood (a sum of N T terms) is known to relative rounding u, taken as 1e-14.
Given rho, beta is the least-squares fit of ``y - rho W y`` on X, linear in rho, so
``|d beta| = |coef of W y on X| |d rho|`` exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from spillover import weights
from spillover.models.spatial import SpatialDurbin, SpatialLag
from spillover.simulate import spatial_panel

N, T = 2000, 4  # order 30 x nnz x N > 1e9: Monte Carlo traces, not exact


@pytest.fixture(scope="module")
def knn_panel():
    xy = np.random.default_rng(7).uniform(0, 100, size=(N, 2))
    w = weights.knn(xy, 10, metric="euclidean", ids=np.arange(N)).row_standardize()
    return w


def _two_way(a: np.ndarray) -> np.ndarray:
    """Two-way within transformation of an (N, T) array."""
    return a - a.mean(axis=1, keepdims=True) - a.mean(axis=0, keepdims=True) + a.mean()


@pytest.mark.parametrize("family", ["sar", "sdm"])
def test_barry_pace_fit_within_its_reported_shift_of_the_exact_fit(knn_panel, family):
    w = knn_panel
    kw = {"theta": [0.4, -0.2]} if family == "sdm" else {}
    sim = spatial_panel(w, T, model=family, rho=0.5, beta=[1.0, -0.5], effects="twoway",
                        seed=11, **kw)  # fmt: skip
    cls = SpatialDurbin if family == "sdm" else SpatialLag
    approx = cls("y ~ x1 + x2", sim.panel, w=w, effects="twoway", logdet="mc").fit(seed=1)
    exact = cls("y ~ x1 + x2", sim.panel, w=w, effects="twoway", logdet="lu").fit("hessian")
    assert approx.logdet_method == "mc" and exact.logdet_method == "lu"
    info = approx.info["Log-determinant"]
    assert "Barry-Pace" in info and "loglik error <=" in info and "(99% bound)" in info
    # the bound of the slope of the Jacobian term at the estimate, from the fit itself
    slope_bound = approx.fit_stats["logdet_shift_rho"] / approx.vcov.loc["rho", "rho"]
    kappa = 1.0 / exact.vcov.loc["rho", "rho"]
    resolution = 2 * np.sqrt(2 * 1e-14 * abs(exact.loglik) / kappa)  # both searches
    tol_rho = 1.1 * slope_bound / kappa + resolution
    d_rho = abs(approx.rho - exact.rho)
    assert d_rho <= tol_rho
    assert tol_rho < 0.1 * exact.std_errors["rho"]  # the bound is informative
    # beta moves with rho along the least-squares line of W y on X (two-way demeaned)
    cube = sim.panel.data
    wy = w.matrix @ cube["y"].to_numpy().reshape(N, T)
    names = [c for c in exact.params.index if c != "rho"]
    cols = [cube[c].to_numpy().reshape(N, T) if not c.startswith("W_")
            else w.matrix @ cube[c[2:]].to_numpy().reshape(N, T) for c in names]  # fmt: skip
    x = np.column_stack([_two_way(c).ravel() for c in cols])
    coef = np.linalg.lstsq(x, _two_way(wy).ravel(), rcond=None)[0]
    d_beta = np.abs(approx.params[names].to_numpy() - exact.params[names].to_numpy())
    assert np.all(d_beta <= np.abs(coef) * tol_rho + 1e-10)


def test_effects_reuse_the_fit_traces(knn_panel):
    sim = spatial_panel(knn_panel, T, model="sar", rho=0.5, beta=[1.0, -0.5],
                        effects="twoway", seed=2)  # fmt: skip
    res = SpatialLag("y ~ x1 + x2", sim.panel, w=knn_panel, effects="twoway",
                     logdet="mc").fit()  # fmt: skip
    text = str(res.summary())  # the summary states the method and its error bounds
    assert "Barry-Pace series" in text and "loglik error <=" in text
    assert "logdet_shift_rho" in text
    assert res.logdet_traces is not None and res.logdet_traces.method == "mc"
    assert res.logdet_traces.order >= 30
    eff = res.impacts(method="delta")
    dense = res.impacts(method="delta", traces="exact")
    # approximation_error: truncation bound plus an upper bound on the Monte Carlo standard
    # error of the series; three of the latter cover 99.7% of normal MC errors
    err = eff.attrs["approximation_error"]
    for (var, _), row in eff.set_index(["variable", "effect"]).iterrows():
        if _ == "direct":
            ref = dense.set_index(["variable", "effect"]).loc[(var, "direct"), "estimate"]
            assert abs(row["estimate"] - ref) <= 3 * err[var] + 1e-10
