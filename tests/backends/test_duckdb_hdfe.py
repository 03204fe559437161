"""HDFE on the DuckDB backend equals HDFE in memory, and pyfixest.

References and tolerances:

* The in-memory HDFE (itself tested against pyfixest and reghdfe conventions): same
  sample, same effects, same covariance conventions. With firm + year + region x year the
  smaller sets have few levels, so both sides solve the absorbing projection exactly (no
  iteration) and differ only by the order of floating-point sums over ~500 rows
  (~N eps cond, below 1e-13); 1e-10 absolute on coefficients and standard errors of order
  0.01-1 leaves a wide margin. On the iterative path (forced below) both sides stop when a
  pass changes values by less than tol = 1e-13 of the column scale; the residual error of
  alternating projections is the change over (1 - rate), far below 1e-10 on these
  well-connected panels.
* pyfixest ``feols`` (an independent implementation), demeaning to ``fixef_tol=1e-12``:
  rtol 1e-8 as in ``tests/models/test_regweights.py``.

Every DuckDB run is capped at 256 MB of memory.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.backends import DuckDBBackend
from spillover.errors import BackendError, DroppedRowsWarning, PanelError, SpecificationError
from spillover.inference import Cluster, DriscollKraay
from spillover.models import HDFE, _demean
from spillover.panel import Panel

CAP = "256MB"
ABSORB = ["firm", "year", "region:year"]
VCOVS = ["unadjusted", "robust", "hc0", Cluster("firm"), Cluster("firm", "year"), Cluster("region")]


def unbalanced(seed: int = 1, n_firms: int = 120) -> pd.DataFrame:
    """Firms seen 1-7 of 10 years (gaps, single-year firms = singletons), 6 regions."""
    rng = np.random.default_rng(seed)
    rows = [
        (f, y)
        for f in range(n_firms)
        for y in np.sort(rng.choice(np.arange(2000, 2010), rng.integers(1, 8), replace=False))
    ]
    df = pd.DataFrame(rows, columns=["firm", "year"])
    df["region"] = df["firm"] % 6
    df["x1"] = rng.normal(size=len(df)) + rng.normal(size=n_firms)[df["firm"]]
    df["x2"] = rng.normal(size=len(df))
    effect = (
        rng.normal(size=n_firms)[df["firm"]]
        + rng.normal(size=(6, 10))[df["region"], df["year"] - 2000]
    )
    df["y"] = 0.5 * df["x1"] - 0.2 * df["x2"] + effect + rng.normal(size=len(df))
    return df


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return unbalanced()


def fit(data, vcov, backend=None, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return HDFE("y ~ x1 + x2", data, absorb=ABSORB, backend=backend, **kwargs).fit(vcov=vcov)


def assert_same(a, b, atol=1e-10):
    assert list(a.params.index) == list(b.params.index)
    assert_allclose(a.params, b.params, rtol=0, atol=atol)
    assert_allclose(a.std_errors, b.std_errors, rtol=0, atol=atol)
    assert (a.nobs, a.df_resid, a.vcov_name) == (b.nobs, b.df_resid, b.vcov_name)
    assert a.info["singletons dropped"] == b.info["singletons dropped"]
    for stat in ("r2", "r2_within", "f_stat"):
        assert_allclose(a.fit_stats[stat], b.fit_stats[stat], rtol=1e-9, atol=1e-10)


@pytest.fixture(scope="module")
def on_duckdb(frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return HDFE("y ~ x1 + x2", frame, absorb=ABSORB, backend=DuckDBBackend(memory_limit=CAP))


def test_panel_has_singletons_and_gaps(frame, on_duckdb):
    assert on_duckdb.n_singletons > 0
    assert (frame.groupby("firm")["year"].agg(lambda y: y.max() - y.min() + 1 - len(y)) > 0).any()


@pytest.mark.parametrize("vcov", VCOVS, ids=str)
def test_duckdb_equals_in_memory(frame, on_duckdb, vcov):
    memory = fit(Panel(frame, entity="firm", time="year"), vcov)
    assert_same(on_duckdb.fit(vcov=vcov), memory)


def test_parquet_folder_splitting_firms(frame, tmp_path):
    """Files are read as one data set: a firm spread over several files is one firm."""
    folder = tmp_path / "panel"
    folder.mkdir()
    shuffled = frame.sample(frac=1, random_state=0)
    for i, rows in enumerate(np.array_split(np.arange(len(shuffled)), 3)):
        shuffled.iloc[rows].to_parquet(folder / f"part{i}.parquet")
    assert (
        shuffled.iloc[: len(frame) // 3]["firm"]
        .isin(shuffled.iloc[len(frame) // 3 :]["firm"])
        .any()
    )
    backend = DuckDBBackend(memory_limit=CAP, temp_directory=tmp_path / "spill")
    memory = fit(Panel(frame, entity="firm", time="year"), Cluster("firm"))
    assert_same(fit(folder, Cluster("firm"), backend), memory)
    assert_same(
        fit(folder / "part0.parquet", "robust", backend),
        fit(Panel(pd.read_parquet(folder / "part0.parquet"), entity="firm", time="year"), "robust"),
    )


def test_relation_and_database_file(frame, tmp_path):
    """A relation on the user's connection; a database file is left without new tables."""
    path = tmp_path / "panel.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE panel AS SELECT * FROM frame")
    relation = con.sql("SELECT * FROM panel WHERE year >= 2001")
    got = fit(relation, Cluster("firm"), DuckDBBackend(connection=con, memory_limit=CAP))
    subset = frame[frame["year"] >= 2001]
    assert_same(got, fit(Panel(subset, entity="firm", time="year"), Cluster("firm")))
    tables = con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()
    assert tables == [("panel",)]


def test_relation_of_another_connection_is_refused(frame):
    other = duckdb.connect()
    relation = other.sql("SELECT * FROM frame")
    with pytest.raises(SpecificationError, match="connection=con"):
        fit(relation, "robust", DuckDBBackend(memory_limit=CAP))


def test_iterative_path_equals_in_memory(frame, monkeypatch):
    """Alternating projections in SQL (forced for both sides), to tol 1e-13."""
    monkeypatch.setattr(_demean, "EXACT_MAX_LEVELS", 0)
    panel = Panel(frame, entity="firm", time="year")
    for vcov in ("robust", Cluster("firm")):
        memory = fit(panel, vcov, tol=1e-13)
        assert_same(fit(frame, vcov, DuckDBBackend(memory_limit=CAP), tol=1e-13), memory)


def test_matches_pyfixest(frame):
    pf = pytest.importorskip("pyfixest")
    backend = DuckDBBackend(memory_limit=CAP)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = HDFE("y ~ x1 + x2", frame, absorb=["firm", "year"], backend=backend)
        for vcov, pf_vcov in (("robust", "hetero"), (Cluster("firm"), {"CRV1": "firm"})):
            res = model.fit(vcov=vcov)
            ref = pf.feols("y ~ x1 + x2 | firm + year", frame, vcov=pf_vcov, fixef_tol=1e-12)
            names = ["x1", "x2"]
            assert_allclose(res.params[names], ref.coef()[names], rtol=1e-8)
            assert_allclose(res.std_errors[names], ref.se()[names], rtol=1e-8)
            assert res.nobs == ref._N


def test_missing_cluster_column_names_fix(on_duckdb):
    with pytest.raises(SpecificationError, match=r"cannot cluster by \['plant'\].*available"):
        on_duckdb.fit(vcov=Cluster("plant"))


def test_unsupported_covariance_lists_valid(on_duckdb):
    with pytest.raises(SpecificationError, match=r"Cluster.*DriscollKraay.*Conley"):
        on_duckdb.fit(vcov="ml")


@pytest.mark.parametrize("lags", [0, 1, 3])
def test_driscoll_kraay_equals_in_memory(frame, lags):
    """Per-year score sums from DuckDB, Bartlett kernel in the registry: same algebra as in
    memory, summed in another order, so 1e-10 (SEs of order 0.01-0.1)."""
    panel = Panel(frame, entity="firm", time="year")
    memory = fit(panel, DriscollKraay(lags=lags))
    assert_same(fit(panel, DriscollKraay(lags=lags), DuckDBBackend(memory_limit=CAP)), memory)


def test_driscoll_kraay_counts_calendar_years_across_a_gap(frame):
    """With 2004 absent from the whole panel, 2003 and 2005 are two years apart: the
    out-of-core periods are calendar numbers as in memory (a rank count would differ)."""
    gap = frame[frame["year"] != 2004]
    panel = Panel(gap, entity="firm", time="year")
    memory = fit(panel, DriscollKraay(lags=2))
    got = fit(panel, DriscollKraay(lags=2), DuckDBBackend(memory_limit=CAP))
    assert_same(got, memory)
    ranks = gap.assign(year=gap["year"].rank(method="dense").astype(int))
    by_rank = fit(Panel(ranks, entity="firm", time="year"), DriscollKraay(lags=2))
    assert np.abs(by_rank.std_errors - got.std_errors).max() > 1e-6


def test_driscoll_kraay_needs_the_time_column(frame):
    with pytest.raises(SpecificationError, match="ParquetPanel"):
        fit(frame, DriscollKraay(lags=1), DuckDBBackend(memory_limit=CAP))


def test_missing_values_and_transforms_refused(frame):
    gap = frame.assign(x1=frame["x1"].where(frame.index % 50 != 0))
    with pytest.raises(PanelError, match="x1"):
        fit(gap, "robust", "duckdb")
    with pytest.raises(SpecificationError, match="plain column names"):
        HDFE("y ~ log(x1)", frame, absorb=["firm"], backend="duckdb")
    with pytest.raises(SpecificationError, match="'plant'"):
        HDFE("y ~ x1", frame, absorb=["plant"], backend="duckdb")
    with pytest.raises(SpecificationError, match="backend must be"):
        HDFE("y ~ x1", frame, absorb=["firm"], backend="spark")


def test_out_of_memory_is_a_clear_error(tmp_path):
    rows = 300_000
    big = pd.DataFrame({"firm": np.arange(rows) // 3, "year": np.arange(rows) % 3})
    big["region"], big["x1"], big["y"] = (
        big["firm"] % 7,
        np.sin(np.arange(rows)),
        np.cos(np.arange(rows)),
    )
    tiny = DuckDBBackend(memory_limit="2MB", temp_directory="")  # no spilling allowed
    with pytest.raises(BackendError, match="memory_limit"):
        fit(big.rename(columns={"x1": "x2"}).assign(x1=big["x1"]), "robust", tiny)


def test_readme_example_gives_equal_results(tmp_path, monkeypatch):
    """The README's in-memory vs DuckDB regression: coefficients to 1e-10, SEs to 1e-8
    relative (the in-memory inverse of an X'X with condition number 5e7 loses ~5e-10)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Registers bigger than memory") :]
    block = section.split("```python\n")[1].split("```")[0]
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        exec(compile(block, "README.md (DuckDB)", "exec"), namespace)
    ours, ref = namespace["out_of_core"], namespace["in_memory"]
    assert_allclose(ours.params, ref.params, rtol=1e-10, atol=0)
    assert_allclose(ours.std_errors, ref.std_errors, rtol=1e-8, atol=0)
    assert (ours.nobs, ours.df_resid) == (ref.nobs, ref.df_resid)


@pytest.mark.parametrize(
    ("formula", "absorb", "singletons"),
    [
        ("y ~ x1 + x2 - 1", ABSORB, "drop"),  # no intercept
        ("y ~ x1 + x2", ["firm"], "drop"),  # one effect set: group means only
        ("y ~ x1", ["firm", "year"], "keep"),  # singletons kept (absorbed df counts them)
        ("y ~ x2", ["region:year", "firm"], "drop"),  # interaction listed first
    ],
)
def test_other_specifications_equal_in_memory(frame, formula, absorb, singletons):
    panel = Panel(
        frame.assign(region=frame["region"].map("r{}".format)), entity="firm", time="year"
    )
    backend = DuckDBBackend(memory_limit=CAP)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        memory = HDFE(formula, panel, absorb=absorb, singletons=singletons)
        duck = HDFE(formula, panel, absorb=absorb, singletons=singletons, backend=backend)
        for vcov in ("unadjusted", Cluster("firm")):
            assert_same(duck.fit(vcov=vcov), memory.fit(vcov=vcov))
