"""Effects against a dense S(W) computation, spreg, finite differences and simulation."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from libpysal.weights import lat2W
from numpy.testing import assert_allclose

from spillover.errors import ApproximationWarning, SpecificationError
from spillover.inference.impacts import impacts
from spillover.linalg.traces import trace_estimate

BETA = pd.Series({"x1": 1.0, "x2": -0.5, "x3": 0.25})
THETA = pd.Series({"x1": 0.3, "x2": 0.2})  # x3 has no W_x term
RHO = 0.4


def rook(n_side: int, transform: str = "r") -> sp.csr_array:
    w = lat2W(n_side, n_side, rook=True)
    w.transform = transform
    return sp.csr_array(w.sparse)


def knn_w(n: int, k: int = 4, seed: int = 0) -> sp.csr_array:
    """Row-standardised, non-symmetric k-nearest-neighbour W."""
    pts = np.random.default_rng(seed).random((n, 2))
    d = np.linalg.norm(pts[:, None] - pts[None], axis=2)
    np.fill_diagonal(d, np.inf)
    nbr = np.argsort(d, axis=1)[:, :k]
    return sp.csr_array((np.full(n * k, 1 / k), (np.repeat(np.arange(n), k), nbr.ravel())))


def labels(model: str) -> list[str]:
    rho = ["rho"] if model in ("sar", "sdm", "sac") else []
    wx = [f"W_{x}" for x in THETA.index] if model in ("sdm", "sdem", "slx") else []
    extra = ["lambda"] if model == "sac" else []
    return ["const", *rho, *BETA.index, *wx, *extra]


def vcov_for(model: str, scale: float = 0.05, seed: int = 3) -> pd.DataFrame:
    names = labels(model)
    a = np.random.default_rng(seed).normal(size=(len(names), len(names))) * scale
    v = a @ a.T / len(names) + np.eye(len(names)) * scale**2 / 4
    return pd.DataFrame(v, index=names, columns=names)


def theta_for(model: str) -> pd.Series | None:
    return THETA if model in ("sdm", "sdem", "slx") else None


def dense_effects(w, model: str, rho: float, beta, theta) -> np.ndarray:
    """Brute force: S_k = (I - rho W)^-1 (beta_k I + theta_k W), averaged; x-major rows.

    ``w`` may be a list of per-period W_t: the effects are then averaged over periods.
    """
    if isinstance(w, list):
        return np.mean([dense_effects(wt, model, rho, beta, theta) for wt in w], axis=0)
    n = w.shape[0]
    wd = w.toarray()
    r = rho if model in ("sar", "sdm", "sac") else 0.0
    a = np.linalg.inv(np.eye(n) - r * wd)
    out = []
    for x in beta.index:
        t = 0.0 if theta is None else theta.get(x, 0.0)
        s = a @ (beta[x] * np.eye(n) + t * wd)
        direct, total = np.trace(s) / n, s.sum() / n
        out += [direct, total - direct, total]
    return np.array(out)


def split_params(params: pd.Series, xs) -> dict:
    """rho, beta and theta (keyed by x) of regressors ``xs`` from params labelled as the
    estimators do (``"rho"``, x names, ``"W_" + x``)."""
    xs = list(xs)
    theta = pd.Series({x: params[f"W_{x}"] for x in xs if f"W_{x}" in params.index})
    return dict(rho=params.get("rho"), beta=params[xs], theta=theta if len(theta) else None)


def effects_at(w, model: str, **kw) -> pd.DataFrame:
    """impacts() at RHO, BETA, THETA and vcov_for(model); delta method, exact traces."""
    base = dict(rho=RHO, beta=BETA, theta=theta_for(model), vcov=vcov_for(model))
    return impacts(w, model=model, **{**base, "method": "delta", "traces": "exact", **kw})


def assert_within_reported_error(out: pd.DataFrame, expect: np.ndarray) -> None:
    """Error within 4x the reported bound (truncation plus one conservative MC SE)."""
    err = np.abs(out["estimate"].to_numpy() - expect)
    bound = np.repeat(list(out.attrs["approximation_error"].values()), 3)
    assert out.attrs["traces"] == "mc"
    assert (err <= 4 * bound + 1e-12).all()
    assert bound.max() < 0.01


def finite_difference_se(w, model: str, v: pd.DataFrame) -> np.ndarray:
    """Delta-method SEs from central differences (h = 1e-6) of :func:`dense_effects`."""
    names = [n for n in labels(model) if n not in ("const", "lambda")]
    p0 = pd.Series({n: RHO if n == "rho" else BETA.get(n, THETA.get(n[2:])) for n in names})

    def fn(p):
        return dense_effects(w, model, **split_params(pd.Series(p, index=names), BETA.index))

    h = 1e-6
    e = np.eye(len(p0)) * h
    grad = np.column_stack([(fn(p0 + d) - fn(p0 - d)) / (2 * h) for d in e])
    return np.sqrt(np.einsum("ij,jk,ik->i", grad, v.loc[names, names].to_numpy(), grad))


MODELS = ["sar", "sdm", "sac", "sdem", "slx"]
WEIGHTS = {
    "rook_row": rook(7),
    "rook_binary_quarter": rook(7, "b") * 0.25,  # not row-standardised: c, d by series
    "knn_row": knn_w(60),
}


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("wname", list(WEIGHTS))
@pytest.mark.parametrize("path", ["dense", "series"])
def test_effects_equal_dense_s_of_w(model, wname, path, monkeypatch):
    # Dense: the same inverse on both sides, equal up to rounding, so 1e-10. Series (used
    # above DENSE_MAX_N, forced here): its order is chosen so that the truncation bound at
    # |rho| + 4 SE is below 1e-10 relative, hence the same tolerance.
    if path == "series":
        monkeypatch.setattr("spillover.inference.impacts.DENSE_MAX_N", 5)
    w = WEIGHTS[wname]
    out = effects_at(w, model)
    expect = dense_effects(w, model, RHO, BETA, theta_for(model))
    assert_allclose(out["estimate"], expect, rtol=1e-10, atol=1e-10)
    assert list(out["effect"][:3]) == ["direct", "indirect", "total"]
    has_rho = model in ("sar", "sdm", "sac")
    assert out.attrs["traces"] == ("dense" if path == "dense" and has_rho else "exact")


@pytest.mark.parametrize("model", ["sar", "sdm"])
def test_series_with_mc_traces_within_reported_error(model):
    # Seeded Monte Carlo traces, so the check is deterministic.
    w = knn_w(400, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ApproximationWarning)  # the bound is what we test
        out = effects_at(w, model, traces="mc", seed=11, trace_draws=100, order=60)
    assert_within_reported_error(out, dense_effects(w, model, RHO, BETA, theta_for(model)))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("wname", ["rook_row", "rook_binary_quarter"])
@pytest.mark.parametrize("path", ["dense", "series"])
def test_delta_method_equals_finite_difference_gradient(model, wname, path, monkeypatch):
    # Independent gradient: central differences of the dense effects, h = 1e-6: truncation
    # O(h^2) ~ 1e-12 and rounding eps |S| / h ~ 2e-10 on the gradient, so SEs (down to 1e-4
    # here) at rtol 1e-6 plus atol 1e-10 (observed 1.4e-11). Both the dense derivatives and
    # the differentiated trace series are checked.
    if path == "series":
        monkeypatch.setattr("spillover.inference.impacts.DENSE_MAX_N", 5)
    w = WEIGHTS[wname]
    se = finite_difference_se(w, model, vcov_for(model))
    out = effects_at(w, model)
    assert_allclose(out["std_error"], se, rtol=1e-6, atol=1e-10)
    c = 1.959963984540054
    assert_allclose(out["upper"] - out["estimate"], c * se, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("model", ["sar", "sdm", "sdem"])
def test_simulation_agrees_with_delta_method(model):
    # Small vcov (SE(rho) ~ 0.01) keeps the effects nearly linear in the parameters: the
    # delta method understates the SD by up to 1.7% (second-order terms; mean over 20 seeds,
    # a property of these parameters). The draws come from an eigendecomposition of the
    # vcov, whose signs depend on the LAPACK build, so another machine sees other draws:
    # a 20,000-draw SD has a Monte Carlo SE of 1/sqrt(2 x 20,000) = 0.5% (up to 0.7% with
    # the heavier tails of products), the interval half-width of 0.7% (0.9% observed).
    # Tolerances bias + 4 MC SE: 5% (SD) and 6% (half-width).
    w = rook(7)
    v = vcov_for(model, scale=0.02)
    kw = dict(model=model, rho=RHO, beta=BETA, theta=theta_for(model), vcov=v)
    sim = impacts(w, method="simulation", draws=20_000, seed=5, **kw)
    dm = impacts(w, method="delta", **kw)
    assert_allclose(sim["std_error"], dm["std_error"], rtol=0.05)
    assert_allclose(sim["estimate"], dm["estimate"], rtol=1e-10)
    # The mean of the draws differs from the effect at the estimates by a second-order
    # (Jensen) term ~ E[(rho - rho_hat)^2] beta / (1 - rho)^3, a small fraction of the SE.
    assert (np.abs(sim["mean_draws"] - dm["estimate"]) <= 0.25 * dm["std_error"]).all()
    half = (sim["upper"] - sim["lower"]) / 2
    assert_allclose(half, 1.959964 * dm["std_error"], rtol=0.06)


def test_simulation_is_reproducible_with_a_seed():
    kw = dict(model="sdm", rho=RHO, beta=BETA, theta=THETA, vcov=vcov_for("sdm"), draws=300)
    a = impacts(rook(5), seed=42, **kw)
    b = impacts(rook(5), seed=42, **kw)
    c = impacts(rook(5), seed=43, **kw)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["std_error"], c["std_error"])
    assert a.attrs["draws"] == 300 and a.attrs["method"] == "simulation"


def test_weights_objects_and_progress_bar_are_accepted():
    from spillover.weights import Weights

    lib = lat2W(5, 5)
    lib.transform = "r"
    kw = dict(model="sar", rho=RHO, beta=BETA, vcov=vcov_for("sar"), draws=50, seed=1)
    ref = impacts(sp.csr_array(lib.sparse), **kw)
    ours = Weights(sp.csr_array(lib.sparse), pd.Index(range(25)))
    pd.testing.assert_frame_equal(impacts(ours, progress=True, **kw), ref)
    pd.testing.assert_frame_equal(impacts(lib, **kw), ref)


def test_precomputed_traces_are_used():
    w = rook(6)
    tr = trace_estimate(w, 101, method="exact")
    kw = dict(model="sar", rho=RHO, beta=BETA, vcov=vcov_for("sar"), method="delta")
    out = impacts(w, traces=tr, **kw)
    assert out.attrs["traces"] == "exact"
    assert_allclose(out["estimate"], dense_effects(w, "sar", RHO, BETA, None), rtol=1e-10)


def test_series_uses_the_spectral_radius_not_row_sums(monkeypatch):
    # Spectrally normalised W with a hub: largest row sum ~4, spectral radius 1. At
    # rho = 0.5 the series converges (rho r < 1) although rho * row sum > 1; it must equal
    # the dense computation (tail bound below 1e-10 by the order rule).
    monkeypatch.setattr("spillover.inference.impacts.DENSE_MAX_N", 5)
    a = sp.lil_array(rook(7) > 0, dtype=float)
    for j in range(5, 25):
        a[0, j] = a[j, 0] = 1.0
    w = sp.csr_array(a) / np.abs(np.linalg.eigvals(a.toarray())).max()
    assert np.abs(w).sum(axis=1).max() * 0.5 > 1
    v = vcov_for("sdm", scale=0.01)
    out = impacts(w, model="sdm", rho=0.5, beta=BETA, theta=THETA, vcov=v, method="delta",
                  traces="exact")  # fmt: skip
    assert out.attrs["traces"] == "exact"
    assert_allclose(out["estimate"], dense_effects(w, "sdm", 0.5, BETA, THETA), rtol=1e-9)


def test_short_precomputed_traces_shorten_the_series_and_scaled_ones_are_refused():
    w = rook(6)
    kw = dict(model="sar", rho=RHO, beta=BETA, vcov=vcov_for("sar"), method="delta")
    out = impacts(w, traces=trace_estimate(w, 60, method="exact"), **kw)
    assert out.attrs["order"] == 59
    # 0.4**60 / 0.6 ~ 2e-24: still exact to rounding.
    assert_allclose(out["estimate"], dense_effects(w, "sar", RHO, BETA, None), rtol=1e-10)
    with pytest.raises(SpecificationError, match="unscaled"):
        impacts(w, traces=trace_estimate(w * 0.5, 60, method="exact"), **kw)


def test_slx_direct_is_beta_with_zero_diagonal():
    out = impacts(
        rook(5), model="slx", beta=BETA, theta=THETA, vcov=vcov_for("slx"), method="delta"
    ).set_index(["variable", "effect"])
    assert_allclose(out.xs("direct", level="effect")["estimate"], BETA, rtol=1e-14)
    # Row-standardised: indirect = theta exactly.
    assert_allclose(out.loc[("x1", "indirect"), "estimate"], THETA["x1"], rtol=1e-14)


def test_large_truncation_error_warns():
    with pytest.warns(ApproximationWarning, match="truncated at order 20"):
        impacts(
            rook(40),
            model="sar",
            rho=0.97,
            beta=BETA,
            vcov=vcov_for("sar"),
            method="delta",
            order=20,
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(model="sem"), "model must be"),
        (dict(model="sar", theta=THETA), "no W_x"),
        (dict(model="sdm"), "needs theta"),
        (dict(model="sar", rho=None), "finite rho"),
        (dict(model="sdm", theta=pd.Series({"z": 1.0})), "not in beta"),
        (dict(model="sar", method="bootstrap"), "method"),
        (dict(model="sar", traces="chebyshev"), "traces must be"),
        (dict(model="sar", level=1.5), "level"),
    ],
)
def test_bad_specifications_are_rejected(kwargs, match):
    base = dict(model="sar", rho=RHO, beta=BETA, vcov=vcov_for("sdm"), method="delta")
    with pytest.raises(SpecificationError, match=match):
        impacts(rook(4), **{**base, **kwargs})


def test_missing_vcov_label_is_named():
    v = vcov_for("sar").drop(index="x2", columns="x2")
    with pytest.raises(SpecificationError, match="x2"):
        impacts(rook(4), model="sar", rho=RHO, beta=BETA, vcov=v)


# ---------------------------------------------------------------------- spreg
@pytest.fixture(scope="module")
def spreg_fits():
    import spreg as spreg

    w = lat2W(7, 7)
    w.transform = "r"
    rng = np.random.default_rng(0)
    n = 49
    x = rng.normal(size=(n, 2))
    wd = w.sparse.toarray()
    y = np.linalg.solve(
        np.eye(n) - 0.4 * wd, 1 + x @ [1, -0.5] + wd @ x @ [0.3, 0.2] + rng.normal(size=n) / 2
    )
    lag = spreg.ML_Lag(y[:, None], x, w, spat_impacts="full", name_x=["x1", "x2"])
    sdm = spreg.ML_Lag(y[:, None], x, w, slx_lags=1, spat_impacts="full", name_x=["x1", "x2"])
    return sp.csr_array(w.sparse), lag, sdm


def _spreg_effects(w, reg, model: str) -> tuple[pd.Series, pd.Series]:
    """spreg's estimates as a params Series, and our effects at them (delta method)."""
    names = ["rho" if n == "W_dep_var" else n for n in reg.name_x]
    params = pd.Series(reg.betas.ravel(), index=names)
    vcov = pd.DataFrame(reg.vm, index=names, columns=names)
    kw = split_params(params, ["x1", "x2"])
    out = impacts(w, model=model, vcov=vcov, method="delta", **kw)
    return params, out.set_index(["variable", "effect"])["estimate"]


def test_sar_matches_spreg_ml_lag_full_impacts(spreg_fits):
    # spreg's 'full' method inverts (I - rho W) densely: same quantity, so 1e-10.
    w, lag, _ = spreg_fits
    params, out = _spreg_effects(w, lag, "sar")
    adi, aii, ati = lag.sp_multipliers["full"]
    for x in ("x1", "x2"):
        assert_allclose(out[(x, "direct")], adi * params[x], rtol=1e-10)
        assert_allclose(out[(x, "indirect")], aii * params[x], rtol=1e-10)
        assert_allclose(out[(x, "total")], ati * params[x], rtol=1e-10)


def test_sdm_total_matches_spreg_and_direct_adds_theta_term(spreg_fits):
    # spreg 1.9 prints SDM impacts rounded to 4 decimals and treats all of theta as
    # indirect (direct = adi * beta). Totals agree; our direct adds theta tr(A W)/N
    # (LeSage and Pace 2009, eq. 2.13), which spreg's convention leaves out.
    w, _, sdm = spreg_fits
    params, out = _spreg_effects(w, sdm, "sdm")
    rows = re.findall(r"^\s+(x\d)\s+(\S+)\s+(\S+)\s+(\S+)$", sdm.summary, flags=re.M)
    printed = {r[0]: [float(v) for v in r[1:]] for r in rows}
    wd = w.toarray()
    a = np.linalg.inv(np.eye(49) - params["rho"] * wd)
    tr_aw = np.trace(a @ wd) / 49
    for x in ("x1", "x2"):
        direct, _indirect, total = printed[x]
        assert abs(out[(x, "total")] - total) < 6e-5
        assert abs(out[(x, "direct")] - params[f"W_{x}"] * tr_aw - direct) < 6e-5
