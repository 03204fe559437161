"""PanelIV on the DuckDB backend without absorbed effects (pooled 2SLS).

References and tolerances:

* The in-memory PanelIV without ``absorb`` (raw columns, the intercept a column of X):
  the same 2SLS, covariance kernels and first-stage definitions, reached by other
  arithmetic (DuckDB centres the columns on their grand means, as absorbing a constant,
  and works from moment matrices; memory solves least squares on the raw columns). The
  rounding of either is ~N eps cond with N ~ 600 rows and cond of the instrument moments
  ~10-100 (regressors with means of order 5, to make centring matter): below 1e-12, so
  1e-10 absolute on coefficients and SEs (order 0.01-1), 1e-9 relative on first-stage F.
* linearmodels ``IV2SLS`` (an independent implementation) run in the test, with
  ``debiased=True`` (N - K in the variance, the t and F references as ours): 1e-8
  relative, as in ``tests/models/test_iv.py``.

Every DuckDB run is capped at 256 MB of memory.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from linearmodels.iv import IV2SLS
from numpy.testing import assert_allclose

from spillover.backends import DuckDBBackend
from spillover.inference import Cluster, DriscollKraay
from spillover.models import PanelIV
from spillover.panel import Panel

CAP = "256MB"
VCOVS = [
    "unadjusted",
    "robust",
    "hc0",
    Cluster("firm"),
    Cluster("firm", "year"),
    DriscollKraay(lags=2),
]
FORMULAS = {
    "one": "y ~ x + [p ~ z1 + z2]",
    "two": "y ~ x + [p + q ~ z1 + z2 + z3]",
    "no-intercept": "y ~ 0 + x + [p ~ z1 + z2]",
}


def iv_frame(seed: int = 5, n_firms: int = 120) -> pd.DataFrame:
    """Unbalanced firms (1-8 of 10 years), regressors with non-zero means; p and q are
    endogenous (their errors move y)."""
    rng = np.random.default_rng(seed)
    rows = [
        (f, y)
        for f in range(n_firms)
        for y in np.sort(rng.choice(np.arange(2000, 2010), rng.integers(1, 9), replace=False))
    ]
    df = pd.DataFrame(rows, columns=["firm", "year"])
    n = len(df)
    df["x"] = 5 + rng.normal(size=n)
    for z in ("z1", "z2", "z3"):
        df[z] = 3 + rng.normal(size=n)
    u = rng.normal(size=n)
    df["p"] = 1 + df["z1"] + 0.5 * df["z2"] + 0.6 * u + rng.normal(size=n)
    df["q"] = df["z3"] - 0.4 * df["z1"] + 0.3 * u + rng.normal(size=n)
    df["y"] = 1 + 0.5 * df["x"] - 0.3 * df["p"] + 0.2 * df["q"] + u
    return df


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return iv_frame()


@pytest.fixture(scope="module")
def models(frame):
    """Per formula: PanelIV in memory and on DuckDB (staged once)."""
    panel = Panel(frame, entity="firm", time="year")
    out = {
        k: (PanelIV(f, panel), PanelIV(f, panel, backend=DuckDBBackend(memory_limit=CAP)))
        for k, f in FORMULAS.items()
    }
    yield out
    for _, model in out.values():
        model.close()


@pytest.mark.parametrize("vcov", VCOVS, ids=str)
@pytest.mark.parametrize("name", list(FORMULAS))
def test_pooled_iv_equals_in_memory(models, name, vcov):
    memory, out = models[name]
    a, b = out.fit(vcov=vcov), memory.fit(vcov=vcov)
    assert list(a.params.index) == list(b.params.index)
    assert_allclose(a.params, b.params, rtol=0, atol=1e-10)
    assert_allclose(a.std_errors, b.std_errors, rtol=0, atol=1e-10)
    assert (a.nobs, a.df_resid, a.vcov_name, a.fixed_effects) == (
        b.nobs,
        b.df_resid,
        b.vcov_name,
        b.fixed_effects,
    )
    assert_allclose(a.first_stage["f_stat"], b.first_stage["f_stat"], rtol=1e-9)
    assert_allclose(a.first_stage["partial_r2"], b.first_stage["partial_r2"], rtol=1e-9)
    for stat in ("cragg_donald_f", "kleibergen_paap_f"):
        if stat in b.fit_stats:
            assert_allclose(a.fit_stats[stat], b.fit_stats[stat], rtol=1e-9)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [("unadjusted", {}), ("robust", {}), (Cluster("firm"), {"clusters": "firm"})],
    ids=["unadjusted", "robust", "cluster"],
)
@pytest.mark.parametrize("name", list(FORMULAS))
def test_pooled_iv_matches_linearmodels(frame, models, name, ours, theirs):
    _, out = models[name]
    res = out.fit(vcov=ours)
    data = frame.assign(const=1.0)
    exog = ["x"] if name == "no-intercept" else ["const", "x"]
    endog = ["p", "q"] if name == "two" else ["p"]
    inst = ["z1", "z2", "z3"] if name == "two" else ["z1", "z2"]
    cov_type = {"unadjusted": "unadjusted", "robust": "robust"}.get(str(ours), "clustered")
    extra = {"clusters": data[theirs["clusters"]]} if theirs else {}
    ref = IV2SLS(data["y"], data[exog], data[endog], data[inst]).fit(
        cov_type=cov_type, debiased=True, **extra
    )
    assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-8)
    assert_allclose(res.std_errors.to_numpy(), ref.std_errors.to_numpy(), rtol=1e-8)
    assert res.nobs == ref.nobs
