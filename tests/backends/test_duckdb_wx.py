"""``W(x)`` terms on the DuckDB backend: the lag itself, HDFE and PanelIV, and refusals.

References and tolerances:

* The lag: ``W x`` per period by a dense numpy product (W densified, 50 x 50), independent
  of the sparse code in memory and of the SQL. Sums of at most 8 terms of order 1:
  rounding ~1e-15, so 1e-12 absolute.
* HDFE and PanelIV with ``W(x)`` terms: the in-memory estimators on the same panel (the
  lag within each period, then singletons dropped and effects absorbed). With firm + year
  + region x year the smaller sets have few levels, so both sides absorb exactly and differ
  only by the order of floating-point sums over ~250 rows (~N eps cond, below 1e-12);
  1e-10 absolute on coefficients and SEs of order 0.01-1.
* pyfixest ``feols`` (an independent implementation) on the panel with the lags computed
  by the dense product, firm + year effects, demeaning to ``fixef_tol=1e-12``: rtol 1e-8,
  as in ``test_duckdb_hdfe.py``.
* Bad input: the in-memory path raises, and the DuckDB path must raise the same error class
  with the same message (the keys named, and the fix).

The panel is balanced in entities and periods, as ``W(x)`` needs in memory (an absent
neighbour has no value to lag; refused on both sides, tested below), with years missing
for every firm (2002, 2005, 2006: calendar gaps, which Driscoll-Kraay counts) and a
region holding a single firm, whose region x year cells are singletons: dropped after the
lag, so its x still enters its neighbours' lags. Every DuckDB run is capped at 256 MB.
"""

from __future__ import annotations

import warnings

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from shapely.geometry import box

from spillover import weights
from spillover.backends import DuckDBBackend, ParquetPanel, add_spatial_lags, open_source
from spillover.errors import (
    AlignmentError,
    DroppedRowsWarning,
    PanelError,
    SpecificationError,
    WeightsError,
)
from spillover.inference import Cluster, DriscollKraay
from spillover.models import HDFE, PanelIV, PoissonHDFE
from spillover.panel import Panel

CAP = "256MB"
YEARS = [2000, 2001, 2003, 2004, 2007]
ABSORB = ["firm", "year", "region:year"]
IDS = [f"f{i:02d}" for i in range(50)]
FORMULA = "y ~ x + W(x) + W(z)"


def cells() -> gpd.GeoSeries:
    """49 unit squares on a 7 x 7 grid and one far away (an island under contiguity)."""
    squares = [box(i % 7, i // 7, i % 7 + 1, i // 7 + 1) for i in range(49)]
    return gpd.GeoSeries([*squares, box(30, 30, 31, 31)], index=IDS)


WEIGHTS = {
    "knn6": weights.knn(
        np.array([[g.centroid.x, g.centroid.y] for g in cells()]), 6, metric="euclidean", ids=IDS
    ),
    "queen_row": weights.queen(cells(), islands="keep").row_standardize(zero_rows="keep"),
}


def make_frame(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame([(f, y) for f in IDS for y in YEARS], columns=["firm", "year"])
    n = len(df)
    number = df["firm"].str[1:].astype(int)
    df["region"] = np.where(number == 24, 9, number % 4)  # region 9: one firm, singletons
    df["x"] = rng.normal(size=n) + rng.normal(size=50)[number]
    df["z"] = rng.normal(size=n)
    df["q"] = rng.normal(size=n)
    u = rng.normal(size=n)
    df["p"] = df["q"] + 0.5 * df["z"] + 0.6 * u + rng.normal(size=n)
    df["y"] = 0.5 * df["x"] - 0.3 * df["p"] + rng.normal(size=50)[number] + u
    return df


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame()


@pytest.fixture(scope="module")
def models(frame):
    """Per W: HDFE in memory and on DuckDB (staged once, fitted with each vcov)."""
    panel = Panel(frame, entity="firm", time="year")
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        for name, w in WEIGHTS.items():
            backend = DuckDBBackend(memory_limit=CAP)
            out[name] = [
                HDFE(FORMULA, panel, absorb=ABSORB, w=w, backend=b) for b in (None, backend)
            ]
    yield out
    for _, model in out.values():
        model.close()


def dense_lags(frame: pd.DataFrame, w, columns) -> pd.DataFrame:
    """``W x`` per year by a dense product, W densified and ordered by IDS."""
    dense = w.align(pd.Index(IDS)).matrix.toarray()
    out = frame.copy()
    for c in columns:
        wide = frame.pivot(index="firm", columns="year", values=c).loc[IDS]
        lagged = pd.DataFrame(dense @ wide.to_numpy(), index=IDS, columns=wide.columns)
        keys = pd.MultiIndex.from_frame(frame[["firm", "year"]])
        out[f"W_{c}"] = lagged.stack().loc[keys].to_numpy()
    return out


def hdfe(data, w, vcov, backend=None, formula=FORMULA, absorb=ABSORB):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return HDFE(formula, data, absorb=absorb, w=w, backend=backend).fit(vcov=vcov)


def assert_same(a, b, atol=1e-10):
    assert list(a.params.index) == list(b.params.index)
    assert_allclose(a.params, b.params, rtol=0, atol=atol)
    assert_allclose(a.std_errors, b.std_errors, rtol=0, atol=atol)
    assert (a.nobs, a.df_resid, a.vcov_name) == (b.nobs, b.df_resid, b.vcov_name)


@pytest.mark.parametrize("wname", list(WEIGHTS))
def test_lag_equals_dense_product(frame, wname):
    w = WEIGHTS[wname]
    con = duckdb.connect(config={"memory_limit": CAP})
    shuffled = frame.sample(frac=1, random_state=1).set_index(["firm", "year"])
    source = add_spatial_lags(con, "t_", open_source(con, shuffled, "t_"), ["x", "z"], w)
    got = con.execute(f"SELECT * FROM {source.view} ORDER BY firm, year").fetchdf()
    assert_lags(got, frame, wname)


def assert_lags(got: pd.DataFrame, frame: pd.DataFrame, wname: str) -> None:
    """``W_x``, ``W_z`` of ``got`` (sorted by firm, year) equal the dense product."""
    ref = dense_lags(frame, WEIGHTS[wname], ["x", "z"]).sort_values(["firm", "year"])
    assert_allclose(got[["W_x", "W_z"]], ref[["W_x", "W_z"]], rtol=0, atol=1e-12)
    if wname == "queen_row":  # the island has no neighbours: its lag is 0, not missing
        assert (got.loc[got["firm"] == "f49", ["W_x", "W_z"]] == 0).all().all()


#: Every W of :data:`WEIGHTS` with each covariance.
W_AND_VCOV = [
    pytest.mark.parametrize("wname", list(WEIGHTS)),
    pytest.mark.parametrize(
        "vcov",
        [Cluster("firm"), Cluster("firm", "year"), "robust", DriscollKraay(lags=1)],
        ids=str,
    ),
]


@W_AND_VCOV[0]
@W_AND_VCOV[1]
def test_hdfe_equals_in_memory(models, wname, vcov):
    memory, out = models[wname]
    got, memory = out.fit(vcov=vcov), memory.fit(vcov=vcov)
    assert_same(got, memory)
    assert got.info["singletons dropped"] == memory.info["singletons dropped"] == len(YEARS)
    assert list(got.params.index) == ["Intercept", "x", "W_x", "W_z"]


def test_hdfe_on_parquet_panel_matches_pyfixest(frame, tmp_path):
    pf = pytest.importorskip("pyfixest")
    w = WEIGHTS["queen_row"]
    frame.sample(frac=1, random_state=2).to_parquet(tmp_path / "panel.parquet")
    source = ParquetPanel(tmp_path / "panel.parquet", entity="firm", time="year")
    backend = DuckDBBackend(memory_limit=CAP)
    got = hdfe(source, w, Cluster("firm"), backend, absorb=["firm", "year"])
    lagged = dense_lags(frame, w, ["x", "z"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.feols(
            "y ~ x + W_x + W_z | firm + year",
            lagged,
            vcov={"CRV1": "firm"},
            fixef_tol=1e-12,
        )
    names = ["x", "W_x", "W_z"]
    assert_allclose(got.params[names], ref.coef()[names], rtol=1e-8)
    assert_allclose(got.std_errors[names], ref.se()[names], rtol=1e-8)
    assert got.nobs == ref._N


@pytest.mark.parametrize("absorb", [None, ["firm", "year"]], ids=["pooled", "absorbed"])
@pytest.mark.parametrize(
    "formula", ["y ~ x + W(x) + [p ~ q + W(q)]", "y ~ x + [p + W(p) ~ q + W(q) + W(z)]"]
)
def test_iv_equals_in_memory(frame, formula, absorb):
    w = WEIGHTS["knn6"]
    panel = Panel(frame, entity="firm", time="year")
    backend = DuckDBBackend(memory_limit=CAP)
    for vcov in ("unadjusted", Cluster("firm")):
        memory = PanelIV(formula, panel, absorb=absorb, w=w).fit(vcov=vcov)
        got = PanelIV(formula, panel, absorb=absorb, w=w, backend=backend).fit(vcov=vcov)
        assert_same(got, memory)
        assert_allclose(got.first_stage["f_stat"], memory.first_stage["f_stat"], rtol=1e-9, atol=0)


def poisson_with_lags(frame, backend=None):
    """PoissonHDFE with ``W(x)`` terms on counts drawn from the panel's x."""
    counts = np.random.default_rng(6).poisson(np.exp(0.3 * frame["x"] + 0.2 * frame["z"]))
    panel = Panel(frame.assign(n=counts.astype(float)), entity="firm", time="year")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        model = PoissonHDFE("n ~ x + W(x) + W(z)", panel, absorb=["firm", "year"],
                            w=WEIGHTS["knn6"], separation_check=("fe",), tol=1e-13,
                            demean_tol=1e-13, backend=backend)  # fmt: skip
        return model.fit(vcov=Cluster("firm"))


def test_poisson_equals_in_memory(frame):
    """The lags then IRLS on DuckDB; both sides stop at the IRLS tolerance 1e-13, so the
    1e-10 above holds (observed ~1e-15)."""
    got = poisson_with_lags(frame, DuckDBBackend(memory_limit=CAP))
    assert_same(got, poisson_with_lags(frame))
    assert list(got.params.index) == ["x", "W_x", "W_z"]


# ---------------------------------------------------------------------- refusals
def same_error(make, error):
    """``make(None)`` (in memory) and ``make(duckdb)`` raise ``error`` with one message."""
    with pytest.raises(error) as memory:
        make(None)
    with pytest.raises(error) as out:
        make(DuckDBBackend(memory_limit=CAP))
    assert str(out.value) == str(memory.value)
    return str(out.value)


def test_panel_entity_without_row_in_w(frame):
    w = WEIGHTS["knn6"].subset(pd.Index(IDS[1:])).row_standardize()
    message = same_error(
        lambda b: hdfe(frame.set_index(["firm", "year"]), w, "robust", b), AlignmentError
    )
    assert "'f00'" in message and "subset" in message


def test_w_id_not_in_panel(frame):
    w = WEIGHTS["knn6"]
    rest = frame[frame["firm"] != "f07"].set_index(["firm", "year"])
    message = same_error(lambda b: hdfe(rest, w, "robust", b), AlignmentError)
    assert "'f07'" in message


def test_unbalanced_panel_refused_naming_cells(frame):
    """An entity absent in some periods: its neighbours' lags are undefined, in memory
    and on DuckDB alike (compute the pool with spillover_pool(absent=...) instead)."""
    gap = frame.drop(index=frame.index[(frame["firm"] == "f03") & (frame["year"] > 2001)])
    gap = gap.drop(index=gap.index[(gap["firm"] == "f11") & (gap["year"] != 2001)])
    message = same_error(
        lambda b: hdfe(gap.set_index(["firm", "year"]), WEIGHTS["knn6"], "robust", b), PanelError
    )
    assert "7 of 250" in message and "('f03', 2003)" in message and "(2 more)" in message


def test_missing_lagged_value_refused_naming_rows(frame):
    gap = frame.assign(z=frame["z"].mask(frame.index % 40 == 7))
    message = same_error(
        lambda b: hdfe(gap.set_index(["firm", "year"]), WEIGHTS["knn6"], "robust", b), PanelError
    )
    assert "'z' is missing in 7 rows" in message


#: Bad ``W(...)`` terms and weights: formula, w, error class, a piece of the message.
BAD_TERMS = pytest.mark.parametrize(
    ("formula", "w", "error", "match"),
    [
        ("y ~ x + W(x)", None, SpecificationError, "no weights were given"),
        ("y ~ x + W(x + z)", WEIGHTS["knn6"], SpecificationError, "single column name"),
        ("y ~ x + W(plant)", WEIGHTS["knn6"], SpecificationError, "plant"),
        ("y ~ x + W(x)", WEIGHTS["knn6"].matrix, WeightsError, "without entity ids"),
        (
            "y ~ x + W(x)",
            weights.WeightsByPeriod.constant(WEIGHTS["knn6"], YEARS),
            WeightsError,
            "by period",
        ),
    ],
    ids=["no-w", "sum", "unknown", "bare", "by-period"],
)


@BAD_TERMS
def test_bad_terms_and_weights(frame, formula, w, error, match):
    data = frame.set_index(["firm", "year"])
    assert match in same_error(lambda b: hdfe(data, w, "robust", b, formula=formula), error)


def test_bare_path_refused_naming_parquet_panel(frame, tmp_path):
    frame.to_parquet(tmp_path / "panel.parquet")
    with pytest.raises(SpecificationError, match=r"entity and time.*ParquetPanel"):
        hdfe(tmp_path / "panel.parquet", WEIGHTS["knn6"], "robust", DuckDBBackend(memory_limit=CAP))


def test_close_drops_the_lag_tables_on_a_shared_connection(frame):
    con = duckdb.connect(config={"memory_limit": CAP})
    backend = DuckDBBackend(connection=con)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        model = HDFE(
            FORMULA,
            frame.set_index(["firm", "year"]),
            absorb=ABSORB,
            w=WEIGHTS["knn6"],
            backend=backend,
        )
    model.fit(vcov=Cluster("firm"))
    model.close()
    left = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, '__spx') UNION ALL "
        "SELECT view_name FROM duckdb_views() WHERE starts_with(view_name, '__spx')"
    ).fetchall()
    assert left == []


@pytest.mark.parametrize("kind", ["analytic", "frequency"])
def test_with_regression_weights_equals_in_memory(frame, kind):
    """``W(x)`` terms and ``weights=`` together: the lag is of the unweighted x, the
    weights enter absorbing, moments and scores, as in memory (tolerance as above)."""
    data = frame.assign(wt=np.random.default_rng(8).integers(1, 5, len(frame)).astype(float))
    panel = Panel(data, entity="firm", time="year")
    w = WEIGHTS["knn6"]
    opts = {"w": w, "weights": "wt", "weight_type": kind}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        for vcov in (Cluster("firm"), DriscollKraay(lags=1)):
            memory = HDFE(FORMULA, panel, absorb=ABSORB, **opts).fit(vcov=vcov)
            with HDFE(FORMULA, panel, absorb=ABSORB, backend=DuckDBBackend(memory_limit=CAP),
                      **opts) as model:  # fmt: skip
                assert_same(model.fit(vcov=vcov), memory)
        formula = "y ~ x + W(x) + [p ~ q + W(q)]"
        for absorb in (None, ["firm", "year"]):
            memory = PanelIV(formula, panel, absorb=absorb, **opts).fit(vcov=Cluster("firm"))
            got = PanelIV(formula, panel, absorb=absorb, backend=DuckDBBackend(memory_limit=CAP),
                          **opts).fit(vcov=Cluster("firm"))  # fmt: skip
            assert_same(got, memory)
