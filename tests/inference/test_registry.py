"""The covariance registry as an extension point.

A covariance registered in a test (one decorated kernel, nothing else) becomes a ``vcov=``
choice of every model whose fit provides what it needs, is named in the errors for unknown
choices, and is gone again after the test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

from spillover import weights
from spillover.errors import SpecificationError
from spillover.inference import kernels, registry
from spillover.inference.registry import Covariance, Need
from spillover.inference.vcov import resolve_vcov
from spillover.models import HDFE, Between, FixedEffects, PanelIV, Pooled, SpatialLag
from tests.munnell import FORMULA, SLOPES


@pytest.fixture
def hc0_twin():
    """White's HC0 under a new name, written independently of the package's kernels."""

    @registry.register("hc0-twin", needs={Need.SCORES}, aliases=("white0",))
    def hc0_twin(spec, inputs):
        """HC0 summed observation by observation: no small-sample factor, normal inference."""
        meat = sum(np.outer(s, s) for s in inputs.scores)
        bread = np.linalg.inv(inputs.x.T @ inputs.x)
        return Covariance(bread @ meat @ bread, "HC0 (twin)", None)

    yield "hc0-twin"
    registry.unregister("hc0-twin")


@dataclass(frozen=True)
class Scaled:
    """A test-local option object: HC0 times ``factor``."""

    factor: float
    name: str = "scaled"


@pytest.fixture
def scaled():
    @registry.register("scaled", needs={Need.SCORES}, option=Scaled, usage="Scaled(factor=...)")
    def scaled_hc0(spec, inputs):
        meat = kernels.hc_meat(inputs.scores)
        return Covariance(kernels.sandwich(inputs.bread, meat, spec.factor), "scaled HC0", None)

    yield Scaled
    registry.unregister("scaled")


def test_registered_kernel_matches_statsmodels_hc0(produc, hc0_twin):
    res = Pooled(FORMULA, produc).fit(vcov=hc0_twin)
    frame = produc.data
    ref = sm.OLS(frame["log_gsp"], sm.add_constant(frame[SLOPES])).fit(cov_type="HC0")
    # Same estimator, separate code (linearmodels' and statsmodels' OLS, two meats):
    # rounding only, eps * cond(X'X) ~ 2.5e-11 with cond ~ 1.1e5; 1e-9 leaves room.
    assert_allclose(res.std_errors.to_numpy(), ref.bse.to_numpy(), rtol=1e-9)
    assert res.vcov_name == "HC0 (twin)" and res.df_resid is None
    again = Pooled(FORMULA, produc).fit(vcov="WHITE0")  # alias, any case
    assert_allclose(again.vcov, res.vcov, rtol=0)


def test_every_model_with_scores_takes_it(produc, hc0_twin):
    w = weights.queen(produc).row_standardize()
    models = [
        FixedEffects(FORMULA, produc, effects="twoway"),
        HDFE(FORMULA, produc, absorb=["state", "year"]),
        Between(FORMULA, produc),
        PanelIV("log_gsp ~ log_pc + log_emp + unemp + [log_pcap ~ W(log_pcap)]", produc, w=w),
    ]
    for model in models:
        assert hc0_twin in model.supported_vcov
        twin, hc0 = model.fit(vcov=hc0_twin), model.fit(vcov="hc0")
        # The built-in HC0 on the same scores and bread; only the summation order of the
        # meat differs, amplified by the bread: cond(X'X) reaches ~2e7 here (intercept
        # beside demeaned slopes), so eps * cond ~ 5e-9 of the largest entry bounds it.
        scale = np.abs(hc0.vcov.to_numpy()).max()
        assert_allclose(twin.vcov, hc0.vcov, rtol=0, atol=5e-9 * scale)
    spatial = SpatialLag(FORMULA, produc, w=w)
    assert spatial.supported_vcov == ("ml", "hessian")
    with pytest.raises(SpecificationError, match=r"'hc0-twin' is not valid.*supports ml, hessian"):
        spatial.fit(vcov=hc0_twin)


def test_unknown_names_list_it(produc, hc0_twin):
    with pytest.raises(SpecificationError, match=r"valid choices for this model: .*hc0-twin"):
        FixedEffects(FORMULA, produc).fit(vcov="newey-west")
    with pytest.raises(SpecificationError, match=r"Other registered covariances: .*hc0-twin"):
        resolve_vcov("newey-west", ("ml", "hessian"))


def test_option_object_is_a_choice(produc, scaled):
    model = FixedEffects(FORMULA, produc)
    assert "scaled" in model.supported_vcov
    doubled = model.fit(vcov=scaled(2.0))
    assert_allclose(doubled.vcov, 2 * model.fit(vcov="hc0").vcov, rtol=1e-15)
    with pytest.raises(SpecificationError, match=r"Scaled\(factor=\.\.\.\)"):
        model.fit(vcov="no-such")
    with pytest.raises(SpecificationError, match="has options: pass Scaled"):
        model.fit(vcov="scaled")


def test_registration_is_undone_and_clashes_refused():
    before = registry.covariance_types()
    registry.register("tmp-vcov", needs={Need.SCORES})(lambda spec, inputs: None)
    registry.unregister("tmp-vcov")
    assert registry.covariance_types() == before
    with pytest.raises(SpecificationError, match="unknown vcov 'tmp-vcov'"):
        resolve_vcov("tmp-vcov", ("unadjusted",))
    with pytest.raises(SpecificationError, match="clashes"):
        registry.register("white", needs={Need.SCORES}, aliases=("HC1",))
    with pytest.raises(SpecificationError, match="clashes"):
        registry.register("robust", needs={Need.SCORES})
    with pytest.raises(SpecificationError, match="no covariance 'tmp-vcov'"):
        registry.unregister("tmp-vcov")


def test_builtin_entries_and_needs():
    names = [e.name for e in registry.covariance_types()]
    for name in ("unadjusted", "robust", "hc0", "cluster", "driscoll-kraay", "conley"):
        assert name in names
    assert {"ml", "hessian"} <= set(names)
    assert registry.supported_by({Need.SCORES}) == ("unadjusted", "robust", "hc0")
    assert Between.vcov_provides == {Need.SCORES}
