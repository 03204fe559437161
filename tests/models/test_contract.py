"""One contract for every estimator: fit returns frozen Results that every report reads.

Each entry builds a model on the Munnell US states panel; the same checks run on all:
the summary renders and names the covariance, results are frozen, fitting does not
change the model, an unknown vcov is rejected with the valid names, the inference
fields agree with each other, and the regression table takes the results.
"""

import dataclasses
import importlib
import pickle
from types import MappingProxyType

import numpy as np
import pandas as pd
import pytest

from spillover.errors import SpecificationError
from spillover.inference.registry import lookup
from spillover.models import Results
from spillover.models._estimator import Estimator
from spillover.report import regression_table

FORMULA = "log_gsp ~ log_pcap + log_pc + log_emp + unemp"


def _spatial(name):
    def build(panel, w):
        module = importlib.import_module("spillover.models")
        return getattr(module, name)(FORMULA, panel, w=w, effects="entity")

    return build


def _panel(name, **kw):
    def build(panel, w):
        module = importlib.import_module("spillover.models")
        return getattr(module, name)(FORMULA, panel, **kw)

    return build


ESTIMATORS = {
    "Pooled": _panel("Pooled"),
    "FixedEffects": _panel("FixedEffects", effects="twoway"),
    "RandomEffects": _panel("RandomEffects"),
    "FirstDifference": _panel("FirstDifference"),
    "Between": _panel("Between"),
    "HDFE": _panel("HDFE", absorb=["state", "year"]),
    "PoissonHDFE": _panel("PoissonHDFE", absorb=["state", "year"]),
    "PanelIV": lambda panel, w: importlib.import_module("spillover.models").PanelIV(
        "log_gsp ~ log_pc + log_emp + unemp + [log_pcap ~ W(log_pcap)]",
        panel,
        w=w,
        absorb=["state", "year"],
    ),
    "SpatialLag": _spatial("SpatialLag"),
    "SpatialError": _spatial("SpatialError"),
    "SpatialDurbin": _spatial("SpatialDurbin"),
    "SpatialDurbinError": _spatial("SpatialDurbinError"),
    "SAC": _spatial("SAC"),
    "DynamicSpatialDurbin": _spatial("DynamicSpatialDurbin"),
}


@pytest.fixture(scope="module", params=list(ESTIMATORS))
def fitted(request, states, queen):
    model = ESTIMATORS[request.param](states, queen)
    before = dict(vars(model))
    res = model.fit()
    return model, before, res


def test_results_contract(fitted):
    model, before, res = fitted
    assert isinstance(res, Results)
    # fitting never changes the model's configuration
    assert set(vars(model)) >= set(before)
    for key, value in before.items():
        assert vars(model)[key] is value
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.nobs = 0
    k = len(res.params)
    assert res.vcov.shape == (k, k) and list(res.vcov.index) == list(res.params.index)
    assert np.all(np.isfinite(res.params)) and np.all(res.std_errors > 0)
    np.testing.assert_allclose(res.tstats, res.params / res.std_errors)
    ci = res.conf_int(0.95)
    assert (ci["lower"] < res.params).all() and (res.params < ci["upper"]).all()
    text = str(res.summary())
    assert res.vcov_name in text and all(str(t) in text for t in res.params.index)
    assert res.nobs <= 816 and res.dependent


def test_unknown_vcov_rejected(fitted):
    model, _, _ = fitted
    with pytest.raises(SpecificationError, match=r"valid|supported|one of"):
        model.fit(vcov="no-such-estimator")


def test_one_skeleton_checks_vcov_before_estimating(fitted, monkeypatch):
    """Every estimator is an Estimator: fit resolves vcov first, then calls _fit once."""
    model, _, _ = fitted
    assert isinstance(model, Estimator)
    calls = []
    monkeypatch.setattr(model, "_fit", lambda spec, **options: calls.append(spec))
    with pytest.raises(SpecificationError):
        model.fit(vcov="no-such-estimator")
    assert calls == []
    model.fit()
    assert len(calls) == 1 and lookup(calls[0]).name == model.default_vcov


def test_table_takes_every_result(fitted):
    _, _, res = fitted
    table = regression_table([res], intercept=True)  # absorbed intercepts are hidden otherwise
    latex = table.to_latex().replace("\\sym", "").replace("$-$", "-")  # LaTeX minus sign
    for term in res.params.index:
        assert f"{res.params[term]:.3f}" in latex or pd.isna(res.params[term])


def test_results_pickle(fitted):
    """Results round-trip through pickle: same numbers, same text, methods still work."""
    _, _, res = fitted
    back = pickle.loads(pickle.dumps(res))
    assert type(back) is type(res)
    pd.testing.assert_series_equal(back.params, res.params, check_exact=True)
    pd.testing.assert_frame_equal(back.vcov, res.vcov, check_exact=True)
    pd.testing.assert_series_equal(back.residuals, res.residuals, check_exact=True)
    assert str(back.summary()) == str(res.summary())
    assert (back.nobs, back.df_resid, back.vcov_name) == (res.nobs, res.df_resid, res.vcov_name)
    assert isinstance(back.fit_stats, MappingProxyType) and dict(back.fit_stats) == dict(
        res.fit_stats
    )
    assert isinstance(back.info, MappingProxyType)
    pd.testing.assert_frame_equal(back.conf_int(0.9), res.conf_int(0.9), check_exact=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        back.nobs = 0
    if hasattr(res, "impacts") and res.family != "sem":
        got, want = back.impacts(draws=50, seed=3), res.impacts(draws=50, seed=3)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        table = pickle.loads(pickle.dumps(want))
        pd.testing.assert_frame_equal(table, want, check_exact=True)
        assert table.attrs == want.attrs
    if hasattr(res, "first_stage"):
        pd.testing.assert_frame_equal(back.first_stage, res.first_stage, check_exact=True)
