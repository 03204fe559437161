"""Spatial families are an extension point: a new family is a Family subclass, one
registration and a model class naming it, with no edit to the model base.

The family defined here (a spatial lag model whose rho is known, so that beta is least
squares on ``y - rho W y``) is checked against dense algebra written out in the test:
entity demeaning and ``I_T (x) W`` as explicit matrices, and ``numpy.linalg.lstsq``.
Both sides do the same arithmetic in another order, so they agree to rounding (1e-10).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose

from spillover.errors import SpecificationError
from spillover.inference.ml_vcov import MLInputs
from spillover.inference.registry import Need
from spillover.models.spatial import (
    SAC,
    Family,
    Fit,
    SpatialError,
    SpatialLag,
    SpatialModel,
    get_family,
    register_family,
)
from spillover.models.spatial import _family as registry
from spillover.simulate import grid_weights, spatial_panel

RHO = 0.3


class KnownRho(Family):
    """SAR with rho fixed in advance: beta by OLS of y - rho W y on X (after the effects)."""

    key = "known_rho"
    title = "SAR, known rho"
    effects = ("entity", "none")
    vcov_provides = frozenset({Need.INFORMATION, Need.LOGLIK})  # "ml", "hessian"; no scores

    def estimate(self, model, *, probes, seed):
        d = model.data
        ystar = d.y - RHO * d.wy
        beta, *_ = np.linalg.lstsq(d.x, ystar, rcond=None)
        u = ystar - d.x @ beta
        n = model.transform.nobs
        sigma2 = float(u @ u) / n
        k = len(beta)
        info = np.zeros((k + 1, k + 1))
        info[:k, :k] = d.x.T @ d.x / sigma2
        info[k, k] = n / (2 * sigma2**2)

        def loglik(theta):
            e = ystar - d.x @ theta[:k]
            return -0.5 * n * np.log(2 * np.pi * theta[k]) - e @ e / (2 * theta[k])

        theta = np.append(beta, sigma2)
        return Fit(
            names=tuple(d.names),
            values=beta,
            vcov_inputs=MLInputs(theta, loglik, information=lambda: info),
            sigma2=sigma2,
            loglik=loglik(theta),
            residuals=u,
            fitted=d.y - u,
            logdet_description="none",
            logdet_method="none",
        )

    def impacts(self, results, **options):
        raise SpecificationError("no effects for a known-rho model")


class KnownRhoLag(SpatialModel):
    family = "known_rho"


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setattr(registry, "_FAMILIES", dict(registry._FAMILIES))
    register_family(KnownRho())


@pytest.fixture(scope="module")
def data():
    w = grid_weights(6).row_standardize()
    sim = spatial_panel(w, 4, model="sar", rho=RHO, beta=[1.0, -0.5], seed=3)
    return sim.panel, sim.weights


def test_new_family_fits_through_the_unchanged_base(registered, data):
    panel, w = data
    res = KnownRhoLag("y ~ x1 + x2", panel, w=w, effects="entity").fit()
    frame = panel.data.sort_index()
    n, t = panel.n_entities, panel.n_periods
    big_w = np.kron(w.align(panel.entities).matrix.toarray(), np.eye(t))  # entity-major rows
    demean = np.eye(n * t) - np.kron(np.eye(n), np.full((t, t), 1 / t))
    y = frame["y"].to_numpy()
    x = frame[["x1", "x2"]].to_numpy()
    ystar = demean @ (y - RHO * big_w @ y)
    beta, *_ = np.linalg.lstsq(demean @ x, ystar, rcond=None)
    assert_allclose(res.params[["x1", "x2"]].to_numpy(), beta, rtol=1e-10)
    resid = ystar - demean @ x @ beta
    sigma2 = resid @ resid / (n * (t - 1))  # Lee-Yu: N(T-1) effective observations
    ols_cov = sigma2 * np.linalg.inv((demean @ x).T @ (demean @ x))
    assert_allclose(res.vcov.to_numpy(), ols_cov, rtol=1e-10)
    assert res.vcov_name == "ML, expected information"
    hess = KnownRhoLag("y ~ x1 + x2", panel, w=w).fit(vcov="hessian")
    # numerical Hessian (approx_hess3, step ~ eps^(1/4)): relative error ~ 1e-6 here
    assert_allclose(hess.vcov.to_numpy(), ols_cov, rtol=1e-5)
    assert res.model == "SAR, known rho"
    assert res.family == "known_rho"
    assert "SAR, known rho" in str(res.summary())
    assert pickle.loads(pickle.dumps(res.params)).equals(res.params)
    with pytest.raises(SpecificationError, match="no effects"):
        res.impacts()


def test_family_declarations_are_enforced_by_the_base(registered, data):
    panel, w = data
    with pytest.raises(SpecificationError, match="effects='twoway' is not implemented"):
        KnownRhoLag("y ~ x1 + x2", panel, w=w, effects="twoway")
    with pytest.raises(SpecificationError, match="'robust' is not valid for this model"):
        KnownRhoLag("y ~ x1 + x2", panel, w=w).fit(vcov="robust")


def test_unknown_family_lists_the_registered_ones(data):
    class Nowhere(SpatialModel):
        family = "nowhere"

    panel, w = data
    with pytest.raises(SpecificationError, match="'sar'") as err:
        Nowhere("y ~ x1 + x2", panel, w=w)
    assert "nowhere" in str(err.value)
    assert get_family("sdem").title == "Spatial Durbin error (SDEM)"


def test_builtin_families_declare_what_the_base_reads():
    table = {
        key: (f.spatial_params, "random" in f.effects, f.by_period)
        for key in ("sar", "sem", "sdm", "sdem", "sac")
        for f in [get_family(key)]
    }
    assert table == {
        "sar": (("rho",), True, True),
        "sem": (("lambda",), True, True),
        "sdm": (("rho",), True, True),
        "sdem": (("lambda",), False, True),
        "sac": (("rho", "lambda"), False, False),
    }
    assert {SpatialLag.family, SpatialError.family, SAC.family} == {"sar", "sem", "sac"}
