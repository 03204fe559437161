"""SAR/SEM/SDM/SDEM against spreg's ML estimators (cross-section and entity FE panels).

spreg maximises the same concentrated likelihood (bounded Brent search, ``xatol=1e-7``)
and reports the inverse expected information, so estimates agree to the search tolerance
(coefficients rtol 1e-6, plus atol 1e-6 for near-zero ones: spreg's rho is only located
to within 1e-7, and beta moves with rho by ``b1 = (X'X)^-1 X'Wy``, of order one) and
standard errors to the same order (rtol 1e-4, which also absorbs the dense inverse spreg
forms against our exact eigenvalue traces).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import spreg
from numpy.testing import assert_allclose

from spillover.models.spatial import SpatialDurbin, SpatialDurbinError, SpatialError, SpatialLag
from tests.accuracy import propagated, search_accuracy, within

from .conftest import wide


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


@pytest.mark.parametrize(
    ("model", "reference"), [(SpatialLag, spreg.ML_Lag), (SpatialError, spreg.ML_Error)]
)
def test_cross_section_matches_spreg_ml(cross_section, model, reference):
    panel, w = cross_section
    res = model("y ~ x1 + x2", panel, w=w, effects="none").fit()
    ref = _quiet(
        reference,
        panel.data[["y"]].to_numpy(),
        panel.data[["x1", "x2"]].to_numpy(),
        w=w,
        method="full",
    )
    assert_allclose(res.params.to_numpy(), ref.betas.ravel(), rtol=1e-6)
    assert_allclose(res.std_errors.to_numpy(), ref.std_err, rtol=1e-4)
    assert_allclose(res.loglik, ref.logll, rtol=1e-8)
    assert_allclose(res.sigma2, float(np.squeeze(ref.sig2)), rtol=1e-6)
    if model is SpatialLag:  # spreg's pseudo R2 uses the naive predictor rho W y + X b
        assert_allclose(res.fit_stats["r2_pseudo"], ref.pr2, rtol=1e-6)


@pytest.mark.parametrize(
    ("model", "reference"), [(SpatialLag, spreg.ML_LagFE), (SpatialError, spreg.ML_ErrorFE)]
)
def test_entity_fe_matches_spreg_without_bias_correction(sar_panel, model, reference):
    panel, w = sar_panel
    res = model("y ~ x1 + x2", panel, w=w, effects="entity", bias_correction=None).fit()
    ref = _quiet(reference, wide(panel, "y"), wide(panel, "x1", "x2"), w)
    assert_allclose(res.params.to_numpy(), ref.betas.ravel(), rtol=1e-6)
    assert_allclose(res.std_errors.to_numpy(), ref.std_err, rtol=1e-4)
    assert_allclose(res.loglik, ref.logll, rtol=1e-8)
    assert_allclose(res.sigma2, float(np.squeeze(ref.sig2)), rtol=1e-6)


@pytest.mark.parametrize(
    ("model", "reference"),
    [(SpatialDurbin, spreg.ML_LagFE), (SpatialDurbinError, spreg.ML_ErrorFE)],
)
def test_durbin_fe_matches_spreg_with_lagged_regressors(sar_panel, model, reference):
    """An SDM (SDEM) is a SAR (SEM) whose regressors include W x: give spreg W x columns."""
    panel, w = sar_panel
    matrix = w.sparse
    lagged = panel.assign(
        W_x1=_lag_by_period(panel, "x1", matrix), W_x2=_lag_by_period(panel, "x2", matrix)
    )
    res = model("y ~ x1 + x2", panel, w=w, effects="entity", bias_correction=None).fit()
    ref = _quiet(reference, wide(lagged, "y"), wide(lagged, "x1", "x2", "W_x1", "W_x2"), w)
    assert list(res.params.index[:4]) == ["x1", "x2", "W_x1", "W_x2"]
    assert_allclose(res.params.to_numpy(), ref.betas.ravel(), rtol=1e-6, atol=1e-6)
    assert_allclose(res.std_errors.to_numpy(), ref.std_err, rtol=1e-4)


def _lag_by_period(panel, column, matrix):
    wide_x = panel.data[column].unstack()
    return wide_x.pipe(lambda d: d * 0 + matrix @ d.to_numpy()).stack().to_numpy()


def test_formula_w_terms_equal_durbin_model(sar_panel):
    """The same model, its W x columns built by two code paths that may round differently
    (observed: 4e-16 apart on one machine, identical on others): each search stops within
    its accuracy (tests/accuracy.py), and the other parameters move with rho."""
    panel, w = sar_panel
    formula_w = SpatialLag("y ~ x1 + x2 + W(x1) + W(x2)", panel, w=w)
    durbin = SpatialDurbin("y ~ x1 + x2", panel, w=w)
    a, b = formula_w.fit(vcov="hessian"), durbin.fit(vcov="hessian")
    moved = search_accuracy(a, "rho") + search_accuracy(b, "rho")  # 1.6e-7
    within(a.params, b.params, propagated(b, {"rho": moved})[b.params.index])
    assert b.durbin == ("x1", "x2")
    # SEs from the expected information are smooth in the estimates (|d log SE / d rho| of
    # order 1 / (1 - rho) = 1.7): that move in rho changes them by well under 1e-6
    assert_allclose(formula_w.fit().std_errors, durbin.fit().std_errors, rtol=1e-6)
