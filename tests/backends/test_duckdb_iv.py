"""PanelIV on the DuckDB backend equals PanelIV in memory, and pyfixest's IV.

References and tolerances:

* The in-memory PanelIV (tested against linearmodels and ivreghdfe conventions): the same
  sample, absorbed effects, 2SLS algebra, covariance kernels and first-stage definitions.
  With firm + year + region x year effects the smaller sets have few levels, so both sides
  absorb exactly; they differ only in the order of floating-point sums (SQL aggregates and
  moment matrices versus numpy on ~500 rows; errors ~N eps cond, cond of the instrument
  moments ~10, so below 1e-12). Hence 1e-10 absolute on coefficients and SEs (order
  0.01-1) and 1e-9 relative on first-stage F statistics (order 10-100).
* pyfixest ``feols("y ~ exog | fe | endog ~ z")`` (an independent implementation),
  demeaning to ``fixef_tol=1e-12``: rtol 1e-8 on coefficients and SEs, as for HDFE.

Every DuckDB run is capped at 256 MB of memory.
"""

from __future__ import annotations

import warnings

import duckdb
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.backends import DuckDBBackend, ParquetPanel
from spillover.errors import DroppedRowsWarning, SpecificationError
from spillover.inference import Cluster, DriscollKraay
from spillover.models import PanelIV, _demean
from spillover.panel import Panel

CAP = "256MB"
ABSORB = ["firm", "year", "region:year"]
VCOVS = [
    "unadjusted",
    "robust",
    "hc0",
    Cluster("firm"),
    Cluster("firm", "year"),
    Cluster("region"),
    DriscollKraay(lags=2),
]


def iv_panel(seed: int = 2, n_firms: int = 150) -> pd.DataFrame:
    """Unbalanced firms (1-7 of 10 years, so singletons), 6 regions; p endogenous (its
    error moves y), instruments z1, z2 and a second endogenous q instrumented by z3."""
    rng = np.random.default_rng(seed)
    rows = [
        (f, y)
        for f in range(n_firms)
        for y in np.sort(rng.choice(np.arange(2000, 2010), rng.integers(1, 8), replace=False))
    ]
    df = pd.DataFrame(rows, columns=["firm", "year"])
    n = len(df)
    df["region"] = df["firm"] % 6
    firm = rng.normal(size=n_firms)[df["firm"]]
    df["x"] = rng.normal(size=n) + 0.5 * firm
    for j in (1, 2, 3):
        df[f"z{j}"] = rng.normal(size=n) + 0.3 * firm
    shock = rng.normal(size=n)
    df["p"] = 0.8 * df["z1"] - 0.5 * df["z2"] + 0.6 * shock + firm + rng.normal(size=n)
    df["q"] = 0.7 * df["z3"] + 0.3 * df["z1"] + 0.4 * shock + rng.normal(size=n)
    region_year = rng.normal(size=(6, 10))[df["region"], df["year"] - 2000]
    df["y"] = 0.4 * df["x"] + 1.0 * df["p"] + firm + region_year + shock + rng.normal(size=n)
    return df


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return iv_panel()


def model(formula, data, backend=None, absorb=ABSORB):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return PanelIV(formula, data, absorb=absorb, backend=backend)


def assert_same(a, b, atol=1e-10):
    assert list(a.params.index) == list(b.params.index)
    assert_allclose(a.params, b.params, rtol=0, atol=atol)
    assert_allclose(a.std_errors, b.std_errors, rtol=0, atol=atol)
    assert (a.nobs, a.df_resid, a.vcov_name) == (b.nobs, b.df_resid, b.vcov_name)
    stats = ["f_stat", "cragg_donald_f", "kleibergen_paap_f", "n_clusters"]
    for stat in stats:
        assert (stat in a.fit_stats) == (stat in b.fit_stats), stat
        if stat in a.fit_stats:
            assert_allclose(a.fit_stats[stat], b.fit_stats[stat], rtol=1e-9, atol=0)
    first_a, first_b = a.first_stage, b.first_stage
    assert list(first_a.index) == list(first_b.index)
    assert_allclose(first_a["partial_r2"], first_b["partial_r2"], rtol=1e-9, atol=0)
    assert_allclose(first_a["f_stat"], first_b["f_stat"], rtol=1e-9, atol=0)
    assert_allclose(first_a["f_pvalue"], first_b["f_pvalue"], rtol=1e-6, atol=1e-300)
    assert list(first_a["df"]) == list(first_b["df"])


ONE = "y ~ x + [p ~ z1 + z2]"
TWO = "y ~ x + [p + q ~ z1 + z2 + z3]"


@pytest.fixture(scope="module")
def panel(frame) -> Panel:
    return Panel(frame, entity="firm", time="year")


@pytest.fixture(scope="module")
def on_duckdb(panel):
    return {f: model(f, panel, DuckDBBackend(memory_limit=CAP)) for f in (ONE, TWO)}


@pytest.mark.parametrize(
    ("formula", "vcov"),
    [(ONE, v) for v in VCOVS] + [(TWO, v) for v in ("robust", Cluster("firm", "year"))],
    ids=str,
)
def test_duckdb_equals_in_memory(panel, on_duckdb, formula, vcov):
    memory = model(formula, panel).fit(vcov=vcov)
    assert_same(on_duckdb[formula].fit(vcov=vcov), memory)


@pytest.mark.parametrize(
    ("formula", "absorb"),
    [
        ("y ~ 0 + x + [p ~ z1 + z2]", ABSORB),  # no intercept
        ("y ~ [p ~ z1 + z2]", ["firm", "year"]),  # no exogenous regressor
        ("y ~ x + [p ~ z1]", ["firm"]),  # exactly identified, one effect set
    ],
)
def test_other_specifications_equal_in_memory(panel, formula, absorb):
    duck = model(formula, panel, DuckDBBackend(memory_limit=CAP), absorb=absorb)
    memory = model(formula, panel, absorb=absorb)
    for vcov in ("unadjusted", "robust", Cluster("firm")):
        assert_same(duck.fit(vcov=vcov), memory.fit(vcov=vcov))


def test_iterative_path_equals_in_memory(panel, monkeypatch):
    """Alternating projections in SQL (forced for both sides) to tol 1e-13: the error left is
    the last change over (1 - rate), far below 1e-10 on this well-connected panel."""
    monkeypatch.setattr(_demean, "EXACT_MAX_LEVELS", 0)
    backend = DuckDBBackend(memory_limit=CAP)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        duck = PanelIV(ONE, panel, absorb=ABSORB, backend=backend, tol=1e-13)
        memory = PanelIV(ONE, panel, absorb=ABSORB, tol=1e-13)
    for vcov in ("robust", Cluster("firm")):
        assert_same(duck.fit(vcov=vcov), memory.fit(vcov=vcov))


@pytest.mark.parametrize(
    ("vcov", "pf_vcov"),
    [("unadjusted", "iid"), ("robust", "hetero"), (Cluster("firm"), {"CRV1": "firm"})],
    ids=str,
)
def test_matches_pyfixest(frame, vcov, pf_vcov):
    pf = pytest.importorskip("pyfixest")
    res = model(ONE, frame, DuckDBBackend(memory_limit=CAP), absorb=["firm", "year"]).fit(vcov=vcov)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyfixest takes one endogenous regressor
        ref = pf.feols("y ~ x | firm + year | p ~ z1 + z2", frame, vcov=pf_vcov, fixef_tol=1e-12)
    names = ["x", "p"]
    assert_allclose(res.params[names], ref.coef()[names], rtol=1e-8)
    assert_allclose(res.std_errors[names], ref.se()[names], rtol=1e-8)
    assert res.nobs == ref._N


def test_parquet_panel_and_relation(frame, panel, tmp_path):
    frame.to_parquet(tmp_path / "iv.parquet", index=False)
    parquet = ParquetPanel(tmp_path / "iv.parquet", entity="firm", time="year")
    memory = model(ONE, panel).fit(vcov=DriscollKraay(lags=1))
    assert_same(
        model(ONE, parquet, DuckDBBackend(memory_limit=CAP)).fit(vcov=DriscollKraay(lags=1)), memory
    )
    con = duckdb.connect()
    relation = con.sql(f"SELECT * FROM read_parquet('{tmp_path / 'iv.parquet'}')")
    got = model(ONE, relation, DuckDBBackend(connection=con)).fit(vcov=Cluster("firm"))
    assert_same(got, model(ONE, panel).fit(vcov=Cluster("firm")))


def test_bad_specifications_named(frame):
    backend = DuckDBBackend(memory_limit=CAP)
    with pytest.raises(SpecificationError, match="plain column names"):
        model("y ~ x + [p ~ log(z1)]", frame, backend)
    with pytest.raises(SpecificationError, match="at least as many"):
        model("y ~ x + [p + q ~ z1]", frame, backend)
    with pytest.raises(SpecificationError, match=r"instruments \['z4'\]"):
        model("y ~ x + [p ~ z1 + z4]", frame.assign(z4=frame["year"] * 1.0), backend).fit()
