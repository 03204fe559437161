"""Regression weights in HDFE on the DuckDB backend: equal to the weighted HDFE in memory,
and to pyfixest.

References and tolerances:

* The in-memory weighted HDFE (tested against pyfixest, linearmodels and the repeated-rows
  closed form in ``tests/models/test_regweights.py``), on an unbalanced panel with
  singletons and missing years, under a 256 MB DuckDB cap: with firm + year + region x year
  both sides solve the weighted absorbing projection exactly and differ by the order of
  floating-point sums over ~500 rows (below 1e-13), so 1e-10 absolute on coefficients and
  SEs of order 0.01-1. On the iterative path (forced) both stop at a relative change of
  1e-13 per pass, far below 1e-10 on these well-connected panels.
* pyfixest ``feols(weights=, weights_type=)`` run here, demeaning to ``fixef_tol=1e-12``:
  rtol 1e-8 as for the in-memory weights (observed differences are rounding, ~1e-13).
* PanelIV with weights: equal to the weighted PanelIV in memory (estimates, SEs, first-stage
  statistics), 1e-10 absolute / 1e-9 relative as in ``test_duckdb_iv.py``.
* Closed form: frequency weights equal the unweighted fit on rows repeated w times
  (estimates, SEs, N, df), 1e-10: the same sums in another order.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.backends import DuckDBBackend
from spillover.errors import DroppedRowsWarning, SpecificationError
from spillover.inference import Cluster
from spillover.models import HDFE, PanelIV, _demean
from spillover.panel import Panel
from tests.backends import test_duckdb_iv
from tests.backends.test_duckdb_hdfe import ABSORB, CAP, unbalanced
from tests.backends.test_duckdb_hdfe import assert_same as hdfe_assert_same

VCOVS = test_duckdb_iv.VCOVS  # every covariance of the out-of-core least squares
KINDS = ["analytic", "frequency"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    df = unbalanced(seed=3)
    rng = np.random.default_rng(4)
    df["w"] = rng.integers(1, 6, len(df)).astype(float)
    df["ind"] = rng.integers(0, 5, len(df))  # a third effect nested in neither firm nor year
    return df


@pytest.fixture(scope="module")
def panel(frame) -> Panel:
    return Panel(frame, entity="firm", time="year")


def fit(data, vcov, kind, backend=None, absorb=ABSORB, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        model = HDFE(
            "y ~ x1 + x2",
            data,
            absorb=absorb,
            weight_type=kind,
            backend=backend,
            **{"weights": "w", **kwargs},
        )
        return model.fit(vcov=vcov)


def assert_same(a, b, atol=1e-10):
    hdfe_assert_same(a, b, atol)
    assert a.info["Regression weights"] == b.info["Regression weights"]


@pytest.mark.parametrize("kind", KINDS)
def test_duckdb_equals_in_memory(panel, kind):
    backend = DuckDBBackend(memory_limit=CAP)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        duck = HDFE("y ~ x1 + x2", panel, absorb=ABSORB, weights="w", weight_type=kind,
                    backend=backend)  # fmt: skip
        memory = HDFE("y ~ x1 + x2", panel, absorb=ABSORB, weights="w", weight_type=kind)
    assert duck.n_singletons > 0
    for vcov in VCOVS:
        got, ref = duck.fit(vcov=vcov), memory.fit(vcov=vcov)
        assert_same(got, ref)
    unweighted = fit(panel, "unadjusted", "analytic", backend, weights=None)
    assert np.abs(unweighted.params - got.params).max() > 1e-3  # the weights matter here


@pytest.mark.parametrize("kind", ["analytic", pytest.param("frequency", marks=pytest.mark.slow)])
def test_iterative_path_equals_in_memory(panel, kind, monkeypatch):
    """Weighted alternating projections in SQL (forced for both sides), tol 1e-13."""
    monkeypatch.setattr(_demean, "EXACT_MAX_LEVELS", 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        models = [
            HDFE(
                "y ~ x1 + x2",
                panel,
                absorb=ABSORB,
                weights="w",
                weight_type=kind,
                tol=1e-13,
                backend=b,
            )
            for b in (DuckDBBackend(memory_limit=CAP), None)
        ]
    for vcov in ("robust", Cluster("firm")):
        assert_same(models[0].fit(vcov=vcov), models[1].fit(vcov=vcov))


@pytest.mark.parametrize(
    ("absorb", "singletons"),
    [(["firm"], "drop"), (["firm", "year"], "keep"), (["region:year", "firm"], "drop")],
)
def test_other_specifications_equal_in_memory(panel, absorb, singletons):
    backend = DuckDBBackend(memory_limit=CAP)
    for kind in KINDS:
        for vcov in ("unadjusted", Cluster("firm")):
            memory = fit(panel, vcov, kind, absorb=absorb, singletons=singletons)
            got = fit(panel, vcov, kind, backend, absorb=absorb, singletons=singletons)
            assert_same(got, memory)


PF_TYPE = {"analytic": "aweights", "frequency": "fweights"}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "absorb", [["firm"], ["firm", "year"], ["firm", "year", "ind"]], ids="+".join
)
def test_matches_pyfixest(frame, kind, absorb):
    pf = pytest.importorskip("pyfixest")
    data = frame.groupby("firm").filter(lambda g: len(g) > 1)  # pyfixest drops no singletons
    backend = DuckDBBackend(memory_limit=CAP)
    for vcov, pf_vcov in (
        ("unadjusted", "iid"),
        ("robust", "hetero"),
        (Cluster("firm"), {"CRV1": "firm"}),
    ):
        res = fit(data, vcov, kind, backend, absorb=absorb, singletons="keep")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = pf.feols(
                f"y ~ x1 + x2 | {' + '.join(absorb)}",
                data,
                weights="w",
                weights_type=PF_TYPE[kind],
                vcov=pf_vcov,
                fixef_tol=1e-12,
            )
        names = ["x1", "x2"]
        assert_allclose(res.params[names], ref.coef()[names], rtol=1e-8)
        assert_allclose(res.std_errors[names], ref.se()[names], rtol=1e-8)
        assert (res.nobs, res.df_resid) == (ref._N, ref._df_t)


@pytest.mark.parametrize("vcov", ["robust", Cluster("firm_id"), Cluster("firm_id", "year")])
def test_frequency_weights_equal_repeated_rows(frame, vcov):
    data = frame.assign(firm_id=frame["firm"])
    repeated = data.loc[data.index.repeat(data["w"].astype(int))].reset_index(drop=True)
    backend = DuckDBBackend(memory_limit=CAP)
    absorb = ["firm_id", "year"]
    got = fit(data, vcov, "frequency", backend, absorb=absorb, singletons="keep")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        ref = HDFE("y ~ x1 + x2", repeated, absorb=absorb, singletons="keep", backend=backend)
        ref = ref.fit(vcov=vcov)
    assert_allclose(got.params, ref.params, rtol=1e-10)
    assert_allclose(got.std_errors, ref.std_errors, rtol=1e-10)
    assert (got.nobs, got.df_resid) == (ref.nobs, ref.df_resid) and got.nobs == data["w"].sum()


@pytest.mark.parametrize(
    ("value", "kind", "match"),
    [
        (-1.0, "analytic", r"negative in 1 rows.*firm, year, w\) = \(7, 2006, -1.0\)"),
        (0.0, "analytic", r"zero in 1 rows.*\(7, 2006, 0.0\).*WHERE w > 0"),
        (np.nan, "analytic", r"missing or infinite in 1 rows.*\(7, 2006, None\)"),
        (np.inf, "frequency", r"missing or infinite in 1 rows.*\(7, 2006, inf\)"),
        (1.5, "frequency", r"whole numbers.*\(7, 2006, 1.5\)"),
    ],
)
def test_bad_weights_name_the_rows(value, kind, match):
    df = unbalanced(seed=3)
    df["w"] = 1.0
    df.loc[(df["firm"] == 7) & (df["year"] == 2006), "w"] = value
    assert ((df["firm"] == 7) & (df["year"] == 2006)).sum() == 1
    with pytest.raises(SpecificationError, match=match):
        HDFE("y ~ x1", Panel(df, entity="firm", time="year"), absorb=["firm"], weights="w",
             weight_type=kind, backend=DuckDBBackend(memory_limit=CAP))  # fmt: skip


def test_bad_weight_options_are_refused(frame):
    backend = DuckDBBackend(memory_limit=CAP)
    with pytest.raises(SpecificationError, match="'plant'"):
        HDFE("y ~ x1", frame, absorb=["firm"], weights="plant", backend=backend)
    with pytest.raises(SpecificationError, match="weight_type must be"):
        HDFE("y ~ x1", frame, absorb=["firm"], weights="w", weight_type="pweights",
             backend=backend)  # fmt: skip
    with pytest.raises(SpecificationError, match="not numeric"):
        HDFE("y ~ x1", frame.assign(w=frame["w"].astype(str)), absorb=["firm"], weights="w",
             backend=backend)  # fmt: skip


@pytest.mark.parametrize("kind", ["analytic", pytest.param("frequency", marks=pytest.mark.slow)])
def test_panel_iv_equals_in_memory(kind):
    df = test_duckdb_iv.iv_panel()
    df["w"] = np.random.default_rng(5).integers(1, 6, len(df)).astype(float)
    panel = Panel(df, entity="firm", time="year")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        models = [
            PanelIV(formula, panel, absorb=ABSORB, weights="w", weight_type=kind, backend=b)
            for formula in (test_duckdb_iv.ONE, test_duckdb_iv.TWO)
            for b in (DuckDBBackend(memory_limit=CAP), None)
        ]
    for vcov in VCOVS:
        for duck, memory in (models[:2], models[2:]):
            got, ref = duck.fit(vcov=vcov), memory.fit(vcov=vcov)
            test_duckdb_iv.assert_same(got, ref)
            assert got.info["Regression weights"] == ref.info["Regression weights"]
