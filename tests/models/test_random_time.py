"""RandomEffects(..., time_effects=True): random state effects plus fixed year effects.

References: R plm 2.6.2, ``plm(log(gsp) ~ ... + factor(year), model = "random")``
(Swamy-Arora) on the balanced Munnell panel (tests/references/plm_re_time.R and its JSON),
to 1e-8 (same closed-form estimator; observed differences ~1e-13). On unbalanced panels
plm's Swamy-Arora with year dummies stops (singular Between step), so there the GLS is
checked against the dense formula ``b = (X' Omega^-1 X)^-1 X' Omega^-1 y``, ``Omega =
sigma2_e I + sigma2_mu Z Z'`` (Z the entity indicators, X with year dummies), at the
reported components, and ``sigma2_e`` against the within regression with year dummies.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.models import FixedEffects, RandomEffects
from spillover.panel import Panel

REF = json.loads((Path(__file__).parents[1] / "references" / "plm_re_time.json").read_text())
FORMULA = "log_gsp ~ log_pcap + log_pc + log_emp + unemp"
NAMES = ["Intercept", "log_pcap", "log_pc", "log_emp", "unemp"]


def test_matches_plm_balanced(produc):
    res = RandomEffects(FORMULA, produc, time_effects=True).fit()
    ref = REF["balanced"]
    # same closed-form estimator: 1e-8 (observed ~1e-13)
    assert list(res.params.index) == NAMES  # year dummies absorbed, not reported
    assert_allclose(res.params[NAMES], [ref["coef"][k] for k in NAMES], rtol=1e-8)
    assert_allclose(res.std_errors[NAMES], [ref["se"][k] for k in NAMES], rtol=1e-8)
    assert_allclose(res.fit_stats["sigma2_mu"], ref["sigma2_mu"], rtol=1e-8)
    assert_allclose(res.fit_stats["sigma2_e"], ref["sigma2_e"], rtol=1e-8)
    assert_allclose(res.fit_stats["theta"], ref["theta"], rtol=1e-8)
    assert res.df_resid == ref["df_resid"] and res.nobs == ref["nobs"]
    assert res.fixed_effects == ("state (random)", "year")
    assert "theta" not in res.params.index


def _unbalanced(produc) -> Panel:
    df = produc.data.reset_index()
    return Panel(df[df["unemp"] <= 8.5], entity="state", time="year")


def test_unbalanced_equals_dense_gls(produc):
    panel = _unbalanced(produc)
    res = RandomEffects(FORMULA, panel, time_effects=True).fit()
    df = panel.data
    years = pd.get_dummies(df.index.get_level_values(1), drop_first=True, dtype=float)
    x = np.column_stack([np.ones(len(df)), df[NAMES[1:]].to_numpy(), years.to_numpy()])
    y = df["log_gsp"].to_numpy()
    ent = pd.factorize(df.index.get_level_values(0))[0]
    z = (ent[:, None] == np.arange(ent.max() + 1)).astype(float)
    s2mu, s2e = res.fit_stats["sigma2_mu"], res.fit_stats["sigma2_e"]
    omega_inv = np.linalg.inv(s2e * np.eye(len(y)) + s2mu * z @ z.T)
    xox = x.T @ omega_inv @ x
    b = np.linalg.solve(xox, x.T @ omega_inv @ y)
    assert_allclose(res.params.to_numpy(), b[:5], rtol=1e-9, atol=1e-12)
    # sigma2_e: SSR of the within regression with year dummies / (n - N - K_w)
    within = FixedEffects(FORMULA, panel, effects="twoway").fit()
    k_w = 4 + years.shape[1]
    ssr = float(within.residuals @ within.residuals)
    assert_allclose(s2e, ssr / (len(y) - z.shape[1] - k_w), rtol=1e-9)
    counts = z.sum(axis=0)
    theta = 1 - np.sqrt(s2e / (counts * s2mu + s2e))
    assert_allclose(res.fit_stats["theta_min"], theta.min(), rtol=1e-12)
    assert_allclose(res.fit_stats["theta"], theta.mean(), rtol=1e-12)
    assert res.fit_stats["theta_max"] > res.fit_stats["theta_min"]


def test_default_reports_components_without_time_effects(produc):
    res = RandomEffects(FORMULA, produc).fit()
    assert res.fit_stats["sigma2_mu"] == res.fit_stats["sigma2_effects"]
    assert res.fit_stats["sigma2_e"] == res.fit_stats["sigma2"]
    t = produc.n_periods
    s2mu, s2e = res.fit_stats["sigma2_mu"], res.fit_stats["sigma2_e"]
    assert res.fit_stats["theta"] == pytest.approx(1 - np.sqrt(s2e / (t * s2mu + s2e)), rel=1e-12)
    assert res.fixed_effects == ("state (random)",)
