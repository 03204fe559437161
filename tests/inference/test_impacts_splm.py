"""Effects against R's splm/spatialreg on the Munnell states panel (48 states, 17 years).

Reference: tests/references/splm_produc.json, made by tests/references/splm_produc.R (splm
1.6-5 ``impacts()`` for the SAR; R's dense ``(I - rho W)^-1`` for the SDM; closed forms for
the SDEM). We evaluate the effects at splm's estimates, so no estimation enters here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover import datasets, weights
from spillover.inference.impacts import impacts

REF = json.loads((Path(__file__).parents[1] / "references" / "splm_produc.json").read_text())
XS = ["log_pcap", "log_pc", "log_emp", "unemp"]
EFFECTS = ["direct", "indirect", "total"]


@pytest.fixture(scope="module")
def w():
    panel = datasets.us_states()
    queen = weights.queen(panel.geo).row_standardize()
    return queen.align(REF["weights"]["ids"]).matrix


def _frame(ref_block: dict) -> np.ndarray:
    return np.array([[ref_block[e][x] for e in EFFECTS] for x in XS]).ravel()


def _diag_vcov(fit: dict, spatial: str) -> pd.DataFrame:
    """splm's vcov is block-diagonal (no rho-beta covariance); the SE of one variable's
    effect depends only on (rho, beta_k, theta_k), so the diagonal reproduces splm's setup
    for every marginal SE."""
    se = pd.Series({spatial: fit[f"{spatial}_se"], **fit["se"]})
    return pd.DataFrame(np.diag(se.to_numpy() ** 2), index=se.index, columns=se.index)


@pytest.mark.parametrize("effect", ["individual", "time", "twoways"])
def test_sar_effects_equal_splm_impacts(w, effect):
    # splm's impacts use exact traces of W at N = 48: equal to rounding, 1e-9.
    fit = REF["fe"]["sar"][effect]
    out = impacts(
        w,
        model="sar",
        rho=fit["rho"],
        beta=pd.Series(fit["coefficients"])[XS],
        vcov=_diag_vcov(fit, "rho"),
        method="delta",
    )
    assert_allclose(out["estimate"], _frame(fit["impacts"]), rtol=1e-9, atol=1e-12)
    assert_allclose(out["estimate"], _frame(fit["impacts_dense"]), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("method", ["delta", "simulation"])
def test_sar_standard_errors_close_to_splm_simulation(w, method):
    # splm draws 1,000 times (seeded in R): its stored SEs carry a sampling error of SD ~2.2%
    # (1/sqrt(2R)), fixed in the file; with the delta method the difference is that error (and
    # the delta method's small nonlinearity bias): observed up to 4.6%. Our 4,000 draws
    # depend on the LAPACK build (eigenvectors of the vcov) and add a Monte Carlo SE of
    # 1.1%: 4.6% + 4 x 1.1% < 10%.
    fit = REF["fe"]["sar"]["individual"]
    out = impacts(
        w,
        model="sar",
        rho=fit["rho"],
        beta=pd.Series(fit["coefficients"])[XS],
        vcov=_diag_vcov(fit, "rho"),
        method=method,
        draws=4000,
        seed=0,
    )
    assert_allclose(out["std_error"], _frame(fit["impacts"]["simulated"]["se"]), rtol=0.10)


@pytest.mark.parametrize("effect", ["individual", "time", "twoways"])
def test_sdm_effects_equal_dense_r(w, effect):
    fit = REF["fe"]["sdm"][effect]
    coef = pd.Series(fit["coefficients"])
    theta = pd.Series({x: coef[f"W_{x}"] for x in XS})
    out = impacts(
        w,
        model="sdm",
        rho=fit["rho"],
        beta=coef[XS],
        theta=theta,
        vcov=_diag_vcov(fit, "rho"),
        method="delta",
    )
    assert_allclose(out["estimate"], _frame(fit["impacts_dense"]), rtol=1e-9, atol=1e-12)


def test_sdem_effects_equal_closed_form(w):
    # Zero diagonal and row sums one: direct = beta, indirect = theta, exactly.
    fit = REF["fe"]["sdem"]["individual"]
    coef = pd.Series(fit["coefficients"])
    theta = pd.Series({x: coef[f"W_{x}"] for x in XS})
    out = impacts(
        w, model="sdem", beta=coef[XS], theta=theta, vcov=_diag_vcov(fit, "lambda"), method="delta"
    )
    assert_allclose(out["estimate"], _frame(fit["impacts_closed_form"]), rtol=1e-12)
