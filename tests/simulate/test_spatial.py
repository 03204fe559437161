"""Spatial-panel DGPs solve their model equations; lattice weights match libpysal."""

from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from libpysal.weights import lat2W
from numpy.testing import assert_allclose, assert_array_equal

from spillover.errors import AlignmentError, SpecificationError
from spillover.simulate import grid_weights, spatial_panel
from spillover.weights import Weights
from tests.accuracy import time_limit

# spreg's own pandas deprecations and optimiser notes are not ours
SPREG_NOISE = [
    pytest.mark.filterwarnings("ignore:The inplace keyword:Warning"),
    pytest.mark.filterwarnings("ignore:Method 'bounded':RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning"),
]

CASES = {
    "sar": {"rho": 0.6},
    "sem": {"lam": 0.5},
    "sdm": {"rho": 0.4, "theta": [0.5, -0.3]},
    "sdem": {"lam": -0.3, "theta": [0.2, 0.7]},
    "sac": {"rho": 0.3, "lam": 0.6},
}


def _wide(sim, column):
    """entity x time matrix in the weights' id order."""
    wide = sim.panel.data[column].unstack("time")
    return wide.reindex(sim.weights.ids).to_numpy()


@settings(max_examples=40, deadline=None)
@given(
    contiguity=st.sampled_from(["rook", "queen"]),
    rows=st.integers(1, 9),
    cols=st.integers(2, 9),
)
def test_grid_weights_match_libpysal_lat2w(contiguity, rows, cols):
    ref = lat2W(rows, cols, rook=contiguity == "rook")
    w = grid_weights(rows, contiguity=contiguity, n_cols=cols)
    assert list(ref.id_order) == list(w.ids)
    assert (w.matrix != sp.csr_array(ref.sparse)).nnz == 0
    assert w.is_symmetric and w.transform == "original"


@pytest.mark.parametrize("model", sorted(CASES))
def test_simulated_y_solves_the_model_equation(model):
    """Residual of the model equation with the true parameters and draws is ~1e-12."""
    w = grid_weights(7, contiguity="queen").row_standardize()
    p = CASES[model]
    sim = spatial_panel(w, 3, model=model, beta=[1.0, -0.5], seed=4, **p)
    m, t = w.matrix, sim.truth
    y = _wide(sim, "y")
    xs = [_wide(sim, f"x{c}") for c in (1, 2)]
    e = t.innovations.unstack("time").reindex(w.ids).to_numpy()
    mean = sum(b * x for b, x in zip(t.beta, xs, strict=True))
    mean = mean + sum(th * (m @ x) for th, x in zip(t.theta, xs, strict=False))  # theta: () or 2
    mean = mean + t.entity_effects.to_numpy()[:, None] + t.time_effects.to_numpy()[None, :]
    u = y - t.rho * (m @ y) - mean  # rho is 0 for sem/sdem
    resid = u - t.lam * (m @ u) - e  # lam is 0 for sar/sdm
    assert np.abs(resid).max() < 1e-10
    assert np.abs(u - e).max() > 0.1 or model in ("sar", "sdm")  # the error filter is active
    assert np.abs(y - mean - e).max() > 0.1  # the spatial part is not trivial


def test_sar_matches_dense_inverse_at_small_n():
    """Independent route: y = (I - rho W)^-1 (X beta + mu + alpha + e) with a dense inverse."""
    w = grid_weights(4).row_standardize()
    sim = spatial_panel(w, 2, model="sar", rho=0.7, beta=[2.0], seed=1)
    t = sim.truth
    rhs = (
        2.0 * _wide(sim, "x1")
        + t.entity_effects.to_numpy()[:, None]
        + t.time_effects.to_numpy()[None, :]
        + t.innovations.unstack("time").to_numpy()
    )
    dense = np.linalg.inv(np.eye(16) - 0.7 * w.matrix.toarray())  # 16 x 16 test matrix
    assert_allclose(_wide(sim, "y"), dense @ rhs, rtol=1e-12, atol=1e-12)


@SPREG_NOISE[0]
@SPREG_NOISE[1]
@SPREG_NOISE[2]
def test_cross_section_sar_recovered_by_spreg_ml_lag():
    """T = 1, no effects, 900 regions: spreg's ML_Lag recovers rho and beta.

    Tolerance 4 of spreg's own asymptotic standard errors (about 0.03 for rho here), so a
    correct DGP fails with probability < 1e-4; the SE bound makes the test able to fail.
    """
    import spreg as spreg

    w = grid_weights(30).row_standardize()
    sim = spatial_panel(w, 1, model="sar", rho=0.5, beta=[1.0, -0.5], effects="none", seed=7)
    y = _wide(sim, "y")
    x = np.column_stack([_wide(sim, "x1"), _wide(sim, "x2")])
    res = spreg.ML_Lag(y, x, w=w.to_libpysal(), method="LU")
    est, se = np.ravel(res.betas), np.sqrt(np.diag(res.vm))
    truth = np.array([0.0, 1.0, -0.5, 0.5])  # constant, x1, x2, rho
    assert (np.abs(est - truth) < 4 * se).all(), (est, se)
    assert se[-1] < 0.05


@SPREG_NOISE[0]
@SPREG_NOISE[1]
@SPREG_NOISE[2]
def test_cross_section_sem_recovered_by_spreg_ml_error():
    import spreg as spreg

    w = grid_weights(30).row_standardize()
    sim = spatial_panel(w, 1, model="sem", lam=0.6, beta=[1.0], effects="none", seed=3)
    res = spreg.ML_Error(_wide(sim, "y"), _wide(sim, "x1"), w=w.to_libpysal(), method="LU")
    est, se = np.ravel(res.betas), np.sqrt(np.diag(res.vm))
    truth = np.array([0.0, 1.0, 0.6])  # constant, x1, lambda
    assert (np.abs(est - truth) < 4 * se).all(), (est, se)
    assert se[-1] < 0.05


def test_seeded_and_keyed():
    w = grid_weights(5).row_standardize()
    a = spatial_panel(w, 4, model="sdm", rho=0.2, theta=[0.1], seed=2)
    b = spatial_panel(w, 4, model="sdm", rho=0.2, theta=[0.1], seed=2)
    c = spatial_panel(w, 4, model="sdm", rho=0.2, theta=[0.1], seed=3)
    assert a.panel.data.equals(b.panel.data) and not a.panel.data.equals(c.panel.data)
    assert a.panel.is_balanced and a.panel.data.index.names == ["entity", "time"]
    assert a.truth.params.to_dict() == {"x1": 1.0, "W_x1": 0.1, "rho": 0.2}


def test_effects_switch_and_correlation():
    w = grid_weights(20).row_standardize()
    none = spatial_panel(w, 3, model="sar", rho=0.1, effects="none", seed=1)
    assert (none.truth.entity_effects == 0).all() and (none.truth.time_effects == 0).all()
    corr = spatial_panel(w, 5, model="sar", rho=0.1, effects="entity", x_effect_corr=0.8, seed=1)
    xbar = corr.panel["x1"].groupby(level="entity").mean()
    r = np.corrcoef(xbar, corr.truth.entity_effects.reindex(xbar.index))[0, 1]
    assert r > 0.8  # population corr of mu with the 5-period mean of x: 0.8/sqrt(0.64+0.36/5)


def test_sparse_matrix_and_libpysal_inputs():
    w = grid_weights(4).row_standardize()
    a = spatial_panel(sp.csr_array(w.matrix), 2, rho=0.3, seed=0)
    b = spatial_panel(w.to_libpysal(), 2, rho=0.3, seed=0)
    assert list(a.weights.ids) == list(range(16))
    assert_allclose(a.panel["y"].to_numpy(), b.panel["y"].to_numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"model": "sem", "rho": 0.3}, SpecificationError, "has no rho"),
        ({"model": "sar", "rho": 1.0}, SpecificationError, "Row-standardise"),
        ({"model": "sdm", "theta": [0.1, 0.2]}, SpecificationError, "one theta per beta"),
        ({"model": "sar", "theta": [0.1]}, SpecificationError, "no theta"),
        ({"model": "sarar"}, SpecificationError, "unknown model"),
        ({"effects": "firm"}, SpecificationError, "effects"),
    ],
)
def test_bad_options_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        spatial_panel(grid_weights(3).row_standardize(), 2, **kwargs)


def test_binary_weights_bound_and_dense_input():
    with pytest.raises(SpecificationError, match="row sum"):
        spatial_panel(grid_weights(3), 2, rho=0.5)  # binary: row sums up to 4
    # the weights boundary takes numpy arrays as it takes scipy matrices (ids 0..N-1 here)
    w = grid_weights(3).row_standardize().matrix
    dense = spatial_panel(w.toarray(), 2, rho=0.3, seed=0).panel["y"].to_numpy()
    assert_array_equal(dense, spatial_panel(w, 2, rho=0.3, seed=0).panel["y"].to_numpy())
    assert isinstance(grid_weights(2), Weights)


@pytest.mark.slow
def test_sac_at_a_hundred_thousand_regions():
    w = grid_weights(317).row_standardize()  # 100,489 regions
    start = time.perf_counter()
    sim = spatial_panel(w, 10, model="sac", rho=0.5, lam=0.4, seed=0)
    elapsed = time.perf_counter() - start
    assert sim.panel.nobs == 1_004_890
    time_limit(elapsed, 60, "a SAC panel of 100,489 regions x 10 periods")


def test_time_varying_weights_solve_each_period_with_its_own_w():
    rook = grid_weights(6).row_standardize()
    queen = grid_weights(6, contiguity="queen").row_standardize()
    sim = spatial_panel([rook, queen, rook], 3, model="sdm", rho=0.5, theta=[0.4], seed=5)
    t = sim.truth
    y, x = _wide(sim, "y"), _wide(sim, "x1")
    e = t.innovations.unstack("time").to_numpy()
    for p, w in enumerate([rook, queen, rook]):
        m = w.matrix
        mean = x[:, p] + 0.4 * (m @ x[:, p]) + t.entity_effects.to_numpy() + t.time_effects.iloc[p]
        assert np.abs(y[:, p] - 0.5 * (m @ y[:, p]) - mean - e[:, p]).max() < 1e-10
    assert sim.period_weights[1] is queen and sim.weights is rook


def test_time_varying_weights_are_matched_by_id_not_position():
    rook = grid_weights(4).row_standardize()
    reordered = rook.subset(rook.ids[::-1])  # same W, rows listed backwards
    a = spatial_panel([rook, rook], 2, model="sar", rho=0.4, seed=1)
    b = spatial_panel([rook, reordered], 2, model="sar", rho=0.4, seed=1)
    assert_allclose(a.panel["y"].to_numpy(), b.panel["y"].to_numpy(), rtol=1e-12)
    with pytest.raises(SpecificationError, match="one per period"):
        spatial_panel([rook, rook], 3, rho=0.4)
    with pytest.raises(AlignmentError, match="period-1"):
        spatial_panel([rook, grid_weights(5).row_standardize()], 2, rho=0.4)
