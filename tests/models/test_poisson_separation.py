"""Separation in PoissonHDFE: the ReLU check against ppmlhdfe's separation datasets and a
simulated regressor that separates rows, with estimates checked against pyfixest ``fepois``.

References (tests/references/ppmlhdfe_separation/README.md): each ppmlhdfe dataset marks
the separated rows (``separated``), the answer ppmlhdfe's own validation asserts. The rows we
drop as separated must equal that set exactly (a set of rows has no tolerance). The estimates
on the rows left are compared with pyfixest ``fepois`` (run here): on the full data with its
iterative-rectifier check (``separation_check=["fe", "ir"]``) where that finds the same rows,
otherwise on the data with the documented rows removed by hand. Tolerance 1e-8 relative (plus
1e-10 absolute for coefficients that are zero at the optimum): both sides iterate IRLS to a
relative deviance change of 1e-13 or less (``TIGHT``/``PF_TIGHT``), so the coefficient error
of each is of order 1e-13 (see ``test_poisson.py``); 1e-8 leaves room for the conditioning
of these deliberately extreme designs.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.errors import (
    ConvergenceError,
    DroppedColumnsWarning,
    DroppedRowsWarning,
    SpecificationError,
)
from spillover.models import PoissonHDFE, PoissonResults
from spillover.models._relu import relu_separation
from spillover.models._separation import separation_sample
from tests.models._pyfixest import PF_TIGHT, TIGHT

pf = pytest.importorskip("pyfixest")
#: The simulated panel also has firms with y = 0 throughout (the "fe" check's rows); the
#: tests about dropped rows check their warnings with pytest.warns.
pytestmark = pytest.mark.filterwarnings("ignore::spillover.errors.DroppedRowsWarning")

DATA = Path(__file__).resolve().parents[1] / "references" / "ppmlhdfe_separation"
ALL = [f"{i:02d}" for i in range(1, 19)]
#: Datasets with regressors (11: no separation, one regressor with an outlier at -716 whose
#: fitted mean is about 1e-13 while y = 2).
WITH_REGRESSORS = ["01", "05", "06", "07", "08", "09", "10", "11", "14", "15", "16", "17", "18"]
#: pyfixest 0.60's "ir" check finds exactly the documented rows on these (09, 11, 14: none).
PYFIXEST_FINDS = {"01", "07", "09", "11", "14"}


def _load(name: str) -> tuple[pd.DataFrame, list[str], list[str]]:
    df = pd.read_csv(DATA / f"{name}.csv")
    xs = [c for c in df.columns if c.startswith("x")]
    ids = [c for c in df.columns if c.startswith("id")]
    return df, xs, ids


def _formula(xs: list[str], ids: list[str]) -> str:
    return "y ~ " + " + ".join(xs) + (" | " + " + ".join(ids) if ids else "")


@pytest.mark.parametrize("name", ALL)
def test_relu_kernel_finds_the_documented_rows(name):
    """ppmlhdfe's own validation (tagsep, singletons kept): the ReLU check alone, on every
    row, marks exactly the documented rows."""
    df, xs, ids = _load(name)
    x = df[xs].to_numpy(float).reshape(len(df), -1)
    if not ids:
        x = np.column_stack([np.ones(len(df)), x])
    codes = [pd.factorize(df[c])[0] for c in ids]
    found = relu_separation(df.y.to_numpy(float), x, codes)
    assert found.separated.tolist() == df.separated.astype(bool).tolist()


@pytest.mark.parametrize("name", ["02", "03", "04", "12"])
def test_effects_only_datasets_fe_then_relu(name):
    """The model's sequence (all-zero levels, singletons, ReLU, singletons) drops the
    documented rows as separated, whatever part each check finds (04: 82 + 1)."""
    df, _, ids = _load(name)
    codes = [pd.factorize(df[c])[0] for c in ids]
    sample = separation_sample(df.y.to_numpy(float), np.zeros((len(df), 0)), codes,
                               methods=("fe", "relu"), tol=1e-4)  # fmt: skip
    separated = sample.separated["fe"] | sample.separated["relu"]
    assert separated.tolist() == df.separated.astype(bool).tolist()


def _ours(df: pd.DataFrame, xs: list[str], ids: list[str]) -> PoissonHDFE:
    panel = df.assign(row=range(len(df)), t=0).set_index(["row", "t"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        warnings.simplefilter("ignore", DroppedColumnsWarning)
        return PoissonHDFE("y ~ " + " + ".join(xs), panel, absorb=ids, **TIGHT)


def _pyfixest(name: str, df: pd.DataFrame, xs: list[str], ids: list[str]) -> pd.Series:
    documented = df.separated.astype(bool).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name in PYFIXEST_FINDS:
            fit = pf.fepois(_formula(xs, ids), df, separation_check=["fe", "ir"], **PF_TIGHT)
            assert fit._N == len(df) - documented.sum()
        else:
            fit = pf.fepois(_formula(xs, ids), df.loc[~documented], **PF_TIGHT)
    return fit.coef()


@pytest.mark.parametrize("name", WITH_REGRESSORS)
def test_model_drops_the_documented_rows_and_matches_pyfixest(name):
    df, xs, ids = _load(name)
    model = _ours(df, xs, ids)
    documented = df.separated.astype(bool).to_numpy()
    assert model.n_separated == documented.sum()
    assert not model._keep[documented].any()
    res = model.fit()
    ref = _pyfixest(name, df, xs, ids)
    assert sorted(res.params.index) == sorted(ref.index)  # same regressors left
    assert_allclose(res.params[ref.index], ref, rtol=1e-8, atol=1e-10)
    assert res.n_separated == documented.sum() and res.separated_by.sum() == documented.sum()


# ---------------------------------------------------------------------------- simulated
@pytest.fixture(scope="module")
def licensed() -> tuple[pd.DataFrame, np.ndarray]:
    """Firm-year counts; ``lic`` is positive on 25 rows with y = 0 (in firms and years that
    also have positive outcomes) and zero elsewhere: those rows are separated by ``lic``."""
    rng = np.random.default_rng(7)
    n_firms, n_years = 250, 6
    idx = pd.MultiIndex.from_product([range(n_firms), range(n_years)], names=["firm", "year"])
    x = rng.normal(size=len(idx))
    fe = np.repeat(rng.normal(0, 0.5, n_firms), n_years)
    y = rng.poisson(np.exp(0.4 * x + fe))
    df = pd.DataFrame({"y": y, "x": x}, index=idx)
    firm_total = df.groupby(level="firm").y.transform("sum").to_numpy()
    candidates = np.flatnonzero((y == 0) & (firm_total > 0))
    rows = rng.choice(candidates, 25, replace=False)
    df["lic"] = 0.0
    df.iloc[rows, df.columns.get_loc("lic")] = rng.uniform(0.5, 2.0, 25)
    mask = np.zeros(len(df), bool)
    mask[rows] = True
    return df, mask


def test_simulated_regressor_separation_is_found_and_dropped(licensed):
    df, rows = licensed
    with pytest.warns(DroppedRowsWarning, match="dropped 25 rows: separated by the regressors"):
        with pytest.warns(DroppedColumnsWarning, match="'lic'"):
            model = PoissonHDFE("y ~ x + lic", df, absorb=["firm", "year"], **TIGHT)
    assert model.separated_by["relu"] == 25
    assert not model._keep[rows].any()
    res = model.fit(vcov="robust")
    assert isinstance(res, PoissonResults) and res.collinear_dropped == ("lic",)
    assert res.separated_by["relu"] == 25 and res.n_separated == model.n_separated
    text = str(res.summary())
    assert "separated (relu)" in text and "collinear dropped" in text
    by_hand = df.loc[~rows].reset_index()  # the separated rows dropped by hand, lic then 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.fepois("y ~ x | firm + year", by_hand, **PF_TIGHT)
    assert_allclose(res.params["x"], ref.coef()["x"], rtol=1e-8)


def test_fe_only_check_leaves_regressor_separation(licensed):
    df, _ = licensed
    model = PoissonHDFE("y ~ x + lic", df, absorb=["firm", "year"], separation_check=("fe",))
    assert set(model.separated_by) == {"fe"} and model.n_separated == model.separated_by["fe"]


def test_raise_names_the_check_and_rows(licensed):
    df, rows = licensed
    first = df.index[rows][0]
    with pytest.raises(SpecificationError, match=r"25 by the 'relu' check.*" + str(first[0])):
        PoissonHDFE("y ~ x + lic", df, absorb=["firm", "year"], separation="raise")


def test_bad_separation_options(licensed):
    df, _ = licensed
    for bad in ("relu", ("fe", "simplex")):
        with pytest.raises(SpecificationError, match="separation_check"):
            PoissonHDFE("y ~ x", df, absorb=["firm"], separation_check=bad)
    with pytest.raises(SpecificationError, match="separation_tol"):
        PoissonHDFE("y ~ x", df, absorb=["firm"], separation_tol=0.0)


def test_collinear_regressor_without_separation_is_still_refused():
    """Only regressors made collinear by the separated rows are dropped; collinear data as
    given is an error naming the column (dataset 14 has no separation)."""
    df, _, _ = _load("14")
    panel = df.assign(x3=2 * df.x1, row=range(len(df)), t=0).set_index(["row", "t"])
    with pytest.raises(SpecificationError, match="x3"):
        PoissonHDFE("y ~ x1 + x2 + x3", panel)


def test_dependent_columns_keeps_the_first_of_a_collinear_set():
    """Closed form: a multiple of an earlier column, a zero column and columns beyond the
    number of rows are dependent; the earlier columns are kept (fixest's choice)."""
    from spillover.models._formula import dependent_columns

    a, b = np.array([1.0, 2.0, 0.5, -1.0]), np.array([0.0, 1.0, 3.0, 1.0])
    x = np.column_stack([a, 2 * a, np.zeros(4), b])
    assert dependent_columns(x).tolist() == [False, True, True, False]
    wide = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 3.0]])
    assert dependent_columns(wide).tolist() == [False, False, True]


def test_separation_by_a_combination_of_effects_in_a_larger_panel():
    """Known certificate: 5 firms have y = 0 in years 0-9 and y > 0 only in year 10, which
    only they reach, so z = 1{firm in A} - 1{year = 10} is zero where y > 0 and one on their
    50 zero rows. Neither effect alone has an all-zero level; with 2,000 firms the year
    level's pivot in the weighted normal matrix is about 1e-11 of the largest, below the
    default pivot tolerance of the exact demeaning, which the check must not use."""
    rng = np.random.default_rng(5)
    n_firms = 2_000
    firm = np.repeat(np.arange(n_firms), 10)
    year = np.tile(np.arange(10), n_firms)
    y = rng.poisson(np.exp(np.repeat(rng.normal(0, 0.5, n_firms), 10))).astype(float)
    planted = firm < 5
    y[planted] = 0
    firm, year = np.concatenate([firm, np.arange(5)]), np.concatenate([year, np.full(5, 10)])
    y, planted = np.concatenate([y, np.ones(5)]), np.concatenate([planted, np.zeros(5, bool)])
    x = rng.normal(size=(len(y), 1))
    sample = separation_sample(y, x, [firm, year], methods=("fe", "relu"), tol=1e-4)
    assert sample.separated["relu"].tolist() == planted.tolist()


@pytest.mark.slow
def test_combination_of_effects_on_the_alternating_path_is_refused_clearly():
    """Known limit: the certificate of the test above with region x year effects added
    (over 3000 levels): the weighted alternating projections stall, and the error says so
    and how to skip the check, rather than reporting a wrong set of rows."""
    rng = np.random.default_rng(5)
    n_firms = 4_000
    firm = np.repeat(np.arange(n_firms), 10)
    year = np.tile(np.arange(10), n_firms)
    region = np.repeat(rng.integers(0, 400, n_firms), 10)
    y = rng.poisson(np.exp(np.repeat(rng.normal(0, 0.5, n_firms), 10))).astype(float)
    planted = firm < 5
    y[planted], region[planted] = 0, 0  # one region: their year-10 cell is no singleton
    firm, year = np.concatenate([firm, np.arange(5)]), np.concatenate([year, np.full(5, 10)])
    region = np.concatenate([region, np.zeros(5, int)])
    y, planted = np.concatenate([y, np.ones(5)]), np.concatenate([planted, np.zeros(5, bool)])
    codes = [firm, year, region * 100 + year]
    with pytest.raises(ConvergenceError, match=r"separation_check=\('fe',\)"):
        separation_sample(y, rng.normal(size=(len(y), 1)), codes, methods=("fe", "relu"),
                          tol=1e-4)  # fmt: skip
