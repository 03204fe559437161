"""Spatial diagnostics against spreg, esda and closed forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from libpysal.weights import WSP, lat2W
from numpy.testing import assert_allclose
from scipy import stats

from spillover.diagnostics.spatial import (
    lm_tests,
    lr_test,
    moran_by_period_stacked,
    moran_residuals,
    wald_common_factor,
    wald_sdm_to_sar,
)
from spillover.errors import AlignmentError, SpecificationError, WeightsError
from spillover.weights import Weights


@pytest.fixture(scope="module")
def cross_section():
    w = lat2W(8, 8, rook=False)
    w.transform = "r"
    rng = np.random.default_rng(1)
    n = w.n
    x = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    a = np.linalg.inv(np.eye(n) - 0.3 * w.sparse.toarray())
    y = a @ (x @ [1.0, 0.5, -1.0] + rng.normal(size=n))
    return w, x, y


def test_lm_tests_equal_spreg_ols_spat_diag(cross_section):
    # spreg.OLS(spat_diag=True) evaluates the same closed forms: agreement to rounding.
    import spreg as spreg

    w, x, y = cross_section
    ols = spreg.OLS(y[:, None], x[:, 1:], w=w, spat_diag=True)
    ours = lm_tests(y, x, w.sparse, n_periods=1)  # the panel code at T = 1
    for mine, ref in [
        (ours.lag, ols.lm_lag),
        (ours.error, ols.lm_error),
        (ours.robust_lag, ols.rlm_lag),
        (ours.robust_error, ols.rlm_error),
        (ours.sarma, ols.lm_sarma),
    ]:
        assert_allclose([mine.statistic, mine.pvalue], ref, rtol=1e-9)
    assert ours.sarma.df == 2 and ours.lag.df == 1
    assert "Robust LM lag" in str(ours) and ours.to_frame().shape == (5, 3)


def _panel(n_side=6, t=4, seed=2):
    w = lat2W(n_side, n_side)
    w.transform = "r"
    ws = sp.csr_array(w.sparse)
    n = w.n
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(n * t), rng.normal(size=(n * t, 2))])
    y = x @ [1.0, 0.5, -1.0] + rng.normal(size=n * t)
    y += 0.4 * np.concatenate([ws @ y[i * n : (i + 1) * n] for i in range(t)])
    return ws, x, y, n, t


def test_panel_lm_equals_cross_section_formula_with_block_diagonal_w():
    # Reference: the T = 1 formulas applied to the stacked data with an explicit
    # block-diagonal I_T (x) W (small N, test only): identical algebra, so 1e-10.
    ws, x, y, _, t = _panel()
    big = sp.csr_array(sp.block_diag([ws] * t))
    panel = lm_tests(y, x, ws, n_periods=t)
    stacked = lm_tests(y, x, big)
    for f in ("lag", "error", "robust_lag", "robust_error", "sarma"):
        assert_allclose(getattr(panel, f).statistic, getattr(stacked, f).statistic, rtol=1e-10)


def test_panel_lm_time_entity_codes_reorder_rows():
    ws, x, y, n, t = _panel()
    perm = np.random.default_rng(0).permutation(n * t)
    time = np.repeat(np.arange(2000, 2000 + t), n)[perm]
    ent = np.tile(np.arange(n), t)[perm]
    shuffled = lm_tests(y[perm], x[perm], ws, n_periods=t, time=time, entity=ent)
    assert_allclose(
        shuffled.lag.statistic, lm_tests(y, x, ws, n_periods=t).lag.statistic, rtol=1e-12
    )


def test_panel_order_from_multiindex_and_inferred_periods():
    ws, x, y, n, t = _panel()
    ref = lm_tests(y, x, ws, n_periods=t)
    assert lm_tests(y, x, ws) == ref  # T inferred as len(y) / N
    # Entity-major rows labelled by an (entity, time) MultiIndex, as Panel columns are.
    idx = pd.MultiIndex.from_arrays(
        [np.tile(np.arange(n), t), np.repeat(np.arange(2001, 2001 + t), n)]
    )
    order = np.lexsort((idx.get_level_values(1), idx.get_level_values(0)))
    ys = pd.Series(y, index=idx).iloc[order]
    with pytest.raises(WeightsError, match="without entity ids"):  # labelled rows: match by id
        lm_tests(ys, x[order], ws)
    wid = Weights(ws, range(n))  # the entity labels of W's rows
    got = lm_tests(ys, x[order], wid)
    assert got.n_periods == t
    assert_allclose(got.error.statistic, ref.error.statistic, rtol=1e-12)
    e = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    pooled = moran_residuals(pd.Series(e, index=idx).iloc[order], wid)
    assert_allclose(pooled.statistic, moran_residuals(e, ws, n_periods=t).statistic, rtol=1e-12)
    by = moran_by_period_stacked(pd.Series(e, index=idx).iloc[order], wid)
    assert list(by.index) == list(range(2001, 2001 + t))
    assert_allclose(
        by["statistic"], moran_by_period_stacked(e, ws, n_periods=t)["statistic"], rtol=1e-12
    )


def test_unbalanced_panel_is_rejected():
    ws, x, y, _, t = _panel()
    with pytest.raises(AlignmentError, match="balanced"):
        lm_tests(y[:-1], x[:-1], ws, n_periods=t)
    time = np.repeat(np.arange(t), ws.shape[0])
    ent = np.tile(np.arange(ws.shape[0]), t)
    ent[1] = 0  # (period 0, entity 0) twice, entity 1 missing
    with pytest.raises(AlignmentError, match="exactly once"):
        lm_tests(y, x, ws, time=time, entity=ent)
    with pytest.raises(SpecificationError, match="both"):
        lm_tests(y, x, ws, time=time)


# ---------------------------------------------------------------------- Wald and LR
PARAMS = pd.Series({"const": 0.5, "rho": 0.4, "x1": 1.0, "x2": -0.5, "W_x1": -0.3, "W_x2": 0.1})


def _vcov():
    a = np.random.default_rng(4).normal(size=(6, 6)) * 0.05
    return pd.DataFrame(a @ a.T + np.eye(6) * 1e-3, index=PARAMS.index, columns=PARAMS.index)


def test_wald_theta_zero_closed_form():
    v = _vcov()
    res = wald_sdm_to_sar(PARAMS, v)
    th = PARAMS[["W_x1", "W_x2"]].to_numpy()
    expect = th @ np.linalg.inv(v.loc[["W_x1", "W_x2"], ["W_x1", "W_x2"]].to_numpy()) @ th
    assert_allclose(res.statistic, expect, rtol=1e-12)
    assert res.df == 2 and res.pvalue == pytest.approx(stats.chi2.sf(expect, 2))


def test_wald_common_factor_closed_form_one_regressor():
    # One x: g = theta + rho beta, var(g) = beta^2 V_rr + rho^2 V_bb + V_tt
    # + 2 rho beta V_rb + 2 beta V_rt + 2 rho V_bt, written out by hand.
    v = _vcov()
    res = wald_common_factor(PARAMS, v, names=["x1"])
    r, b = PARAMS["rho"], PARAMS["x1"]
    g = PARAMS["W_x1"] + r * b
    c = v.loc
    var = (
        b**2 * c["rho", "rho"]
        + r**2 * c["x1", "x1"]
        + c["W_x1", "W_x1"]
        + 2 * r * b * c["rho", "x1"]
        + 2 * b * c["rho", "W_x1"]
        + 2 * r * c["x1", "W_x1"]
    )
    assert_allclose(res.statistic, g**2 / var, rtol=1e-12)
    assert res.df == 1


def test_wald_common_factor_matches_spreg_comfac():
    from spreg.diagnostics_sp import comfac_test

    v = _vcov()
    names = ["x1", "x2", "W_x1", "W_x2", "rho"]  # spreg's order: beta, gamma, rho
    ref_w, ref_p = comfac_test(
        PARAMS["rho"],
        PARAMS[["x1", "x2"]].to_numpy()[:, None],
        PARAMS[["W_x1", "W_x2"]].to_numpy()[:, None],
        v.loc[names, names].to_numpy(),
    )
    res = wald_common_factor(PARAMS, v)
    assert_allclose([res.statistic, res.pvalue], [ref_w, ref_p], rtol=1e-10)


def test_wald_needs_durbin_names():
    with pytest.raises(SpecificationError, match="W_"):
        wald_sdm_to_sar(PARAMS.drop(["W_x1", "W_x2"]), _vcov())


class _Fit:
    def __init__(self, loglik, k, in_stats=False):
        self.params = pd.Series(np.zeros(k))
        if in_stats:
            self.fit_stats = {"loglik": loglik}
        else:
            self.loglik = loglik


def test_lr_test_closed_form_and_argument_order():
    res = lr_test(_Fit(-120.0, 4), _Fit(-115.5, 6, in_stats=True))
    assert res.statistic == pytest.approx(9.0) and res.df == 2
    assert res.pvalue == pytest.approx(np.exp(-4.5))  # chi2(2) survival is exp(-x/2)
    with pytest.raises(SpecificationError, match="order"):
        lr_test(_Fit(-115.5, 6), _Fit(-120.0, 4))


# ---------------------------------------------------------------------- Moran
def test_moran_matches_esda_on_a_cross_section(cross_section):
    # esda uses the same normal-approximation moments: agreement to rounding.
    import esda as esda

    w, x, y = cross_section
    e = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    ref = esda.Moran(e, w, permutations=0)
    res = moran_residuals(e, w.sparse)
    assert_allclose(
        [res.statistic, res.expected, res.variance, res.z, res.pvalue],
        [ref.I, ref.EI, ref.VI_norm, ref.z_norm, ref.p_norm],
        rtol=1e-10,
    )


def test_moran_panel_per_period_and_pooled_match_esda():
    import esda as esda

    ws, x, y, n, t = _panel()
    e = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    by = moran_by_period_stacked(e, ws, n_periods=t)
    for p in range(t):
        w_lib = WSP(sp.csr_matrix(ws)).to_W(silence_warnings=True)
        ref = esda.Moran(e[p * n : (p + 1) * n], w_lib, permutations=0)
        assert_allclose(
            by.loc[p, ["statistic", "variance", "pvalue"]],
            [ref.I, ref.VI_norm, ref.p_norm],
            rtol=1e-10,
        )
    # Pooled: esda on the explicit block-diagonal I_T (x) W (small N, test only).
    big = WSP(sp.csr_matrix(sp.block_diag([ws] * t))).to_W(silence_warnings=True)
    ref = esda.Moran(e, big, permutations=0)
    pooled = moran_residuals(e, ws, n_periods=t)
    assert_allclose(
        [pooled.statistic, pooled.variance, pooled.z], [ref.I, ref.VI_norm, ref.z_norm], rtol=1e-10
    )
    assert "Moran" in str(pooled)


def test_moran_regression_matches_dense_cliff_ord_on_a_stacked_panel():
    """Panel (T = 3) against the textbook formulas with an explicit M and kron(I_T, W): 1e-10."""
    from spillover.diagnostics.spatial import moran_regression

    rng = np.random.default_rng(11)
    n, t, k = 12, 3, 3
    dense = (rng.uniform(size=(n, n)) < 0.3).astype(float)
    np.fill_diagonal(dense, 0.0)
    dense[0, 1] = 1.0  # no empty rows
    dense = dense / np.maximum(dense.sum(axis=1, keepdims=True), 1)
    x = np.column_stack([np.ones(n * t), rng.normal(size=(n * t, k - 1))])
    y = x @ [1.0, 0.5, -0.3] + rng.normal(size=n * t)
    res = moran_regression(y, x, dense, n_periods=t)
    big = np.kron(np.eye(t), dense)
    m = np.eye(n * t) - x @ np.linalg.solve(x.T @ x, x.T)
    e = m @ y
    nn = n * t
    scale = nn / big.sum()
    mw = m @ big
    ei = scale * np.trace(mw) / (nn - k)
    vi = (
        scale**2
        * (np.trace(mw @ m @ big.T) + np.trace(mw @ mw) + np.trace(mw) ** 2)
        / ((nn - k) * (nn - k + 2))
        - ei**2
    )
    assert_allclose(res.statistic, scale * (e @ big @ e) / (e @ e), rtol=1e-10)
    assert_allclose([res.expected, res.variance], [ei, vi], rtol=1e-10)


def test_moran_regression_matches_spreg_moran_res():
    """Cross-section: spreg OLS(moran=True) reports the same Cliff-Ord moments: 1e-8."""
    import libpysal
    import spreg

    from spillover.diagnostics.spatial import moran_regression

    w = libpysal.weights.lat2W(7, 7)
    w.transform = "r"
    rng = np.random.default_rng(2)
    x = rng.normal(size=(49, 2))
    y = x @ [1.0, -1.0] + rng.normal(size=49)
    ref = spreg.OLS(y[:, None], x, w=w, spat_diag=True, moran=True)
    ours = moran_regression(y, np.column_stack([np.ones(49), x]), w.sparse)
    assert_allclose([ours.statistic, ours.z], ref.moran_res[:2], rtol=1e-8)
