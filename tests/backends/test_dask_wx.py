"""``W(x)`` terms on the Dask backend: the lag itself, HDFE, and bad input.

References and tolerances (the panel, W and formula of ``test_duckdb_wx.py``: 50 firms x 5
years, kNN and row-standardised queen W with an island, firm + year + region x year):

* The lag: ``W x`` per period by a dense numpy product (W densified, 50 x 50), independent
  of the sparse products on the workers. Sums of at most 8 terms of order 1: rounding
  ~1e-15, so 1e-12 absolute.
* HDFE with ``W(x)`` terms: the in-memory HDFE on the same panel (lag within each period,
  then singletons dropped and effects absorbed). The smaller effect sets have few levels,
  so both sides absorb exactly and differ only by the order of floating-point sums over
  ~250 rows (~N eps cond, below 1e-12): 1e-10 absolute on coefficients and standard errors
  of order 0.01-1.
* Bad input: the in-memory path raises, and the Dask path (and DuckDB, which shares the
  checks) must raise the same error class with the same message.

The cluster is a LocalCluster of 2 thread workers in this process, shared by the module,
without a memory limit (see ``test_dask_hdfe.py``), every wait bounded by 60 s.
"""

from __future__ import annotations

import warnings

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from spillover.backends import (
    DaskBackend,
    DuckDBBackend,
    ParquetPanel,
    _dask_wx,
    dask_add_spatial_lags,
)
from spillover.errors import (
    AlignmentError,
    BackendError,
    DroppedRowsWarning,
    PanelError,
    SpecificationError,
)
from spillover.inference import Cluster, DriscollKraay
from spillover.models import HDFE, PanelIV
from spillover.panel import Panel
from tests.backends.test_duckdb_wx import (
    ABSORB,
    BAD_TERMS,
    FORMULA,
    W_AND_VCOV,
    WEIGHTS,
    assert_lags,
    assert_same,
    hdfe,
    make_frame,
    poisson_with_lags,
)
from tests.backends.test_duckdb_wx import test_hdfe_equals_in_memory as hdfe_equals_in_memory

TIMEOUT = 60


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame()


@pytest.fixture(scope="module")
def cluster():
    with DaskBackend(n_workers=2, processes=False, partitions=3, timeout=TIMEOUT) as backend:
        yield backend


@pytest.fixture(scope="module")
def models(frame, cluster):
    """Per W: HDFE in memory and on Dask (staged once, fitted with each vcov)."""
    panel = Panel(frame, entity="firm", time="year")
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        for name, w in WEIGHTS.items():
            out[name] = [
                HDFE(FORMULA, panel, absorb=ABSORB, w=w, backend=b) for b in (None, cluster)
            ]
    yield out
    for _, model in out.values():
        model.close()


def collect(cluster, lagged) -> pd.DataFrame:
    """The partitions of a lagged source, on the client, sorted by (firm, year)."""
    got = pd.concat(cluster.client.gather(lagged.futures), ignore_index=True)
    return got.sort_values(["firm", "year"], ignore_index=True)


@pytest.mark.parametrize("wname", list(WEIGHTS))
def test_lag_of_a_dask_frame_splitting_firms_equals_dense_product(frame, cluster, wname):
    """Rows shuffled into 4 partitions that cut firms and years: moved by period, lagged,
    and the other columns carried unchanged."""
    w = WEIGHTS[wname]
    shuffled = frame.sample(frac=1, random_state=1).reset_index(drop=True)
    ddf = dd.from_pandas(shuffled, npartitions=4, sort=False)
    first = ddf.get_partition(0).compute()["firm"]
    assert first.isin(ddf.get_partition(1).compute()["firm"]).any()
    lagged = dask_add_spatial_lags(cluster, ddf, ["x", "z"], w, entity="firm", time="year")
    got = collect(cluster, lagged)
    assert list(got.columns) == lagged.columns == [*frame.columns, "W_x", "W_z"]
    assert_lags(got, frame, wname)
    ordered = frame.sort_values(["firm", "year"], ignore_index=True)
    pd.testing.assert_frame_equal(got[frame.columns], ordered, check_dtype=False)


@W_AND_VCOV[0]
@W_AND_VCOV[1]
def test_hdfe_equals_in_memory(models, wname, vcov):
    """The DuckDB test's assertions (same estimates, SEs, N, df, singletons, names)."""
    hdfe_equals_in_memory(models, wname, vcov)


def test_weighted_parquet_panel_splitting_firms_equals_in_memory(frame, cluster, tmp_path):
    """Parquet files that each hold part of every firm and year, with analytic regression
    weights: read by Dask, lagged, shuffled by firm for absorbing. The lag is of the
    unweighted x; the weights enter absorbing, moments and scores, as in memory
    (tolerance as above)."""
    data = frame.assign(wt=np.random.default_rng(8).integers(1, 5, len(frame)).astype(float))
    folder = tmp_path / "panel"
    folder.mkdir()
    shuffled = data.sample(frac=1, random_state=2)
    for i, rows in enumerate(np.array_split(np.arange(len(data)), 3)):
        shuffled.iloc[rows].to_parquet(folder / f"part{i}.parquet", index=False)
    source = ParquetPanel(folder, entity="firm", time="year")
    panel = Panel(data, entity="firm", time="year")
    opts = {"w": WEIGHTS["queen_row"], "weights": "wt"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        memory = HDFE(FORMULA, panel, absorb=ABSORB, **opts)
        with HDFE(FORMULA, source, absorb=ABSORB, backend=cluster, **opts) as model:
            for vcov in (Cluster("firm"), DriscollKraay(lags=1)):
                got = model.fit(vcov=vcov)
                assert_same(got, memory.fit(vcov=vcov))
                assert got.info["backend"] == "Dask"


@pytest.mark.parametrize("absorb", [None, ["firm", "year"]], ids=["pooled", "absorbed"])
def test_iv_equals_in_memory(frame, cluster, absorb):
    """PanelIV with ``W(x)`` terms among the regressors, the endogenous regressors and the
    instruments (tolerance as for HDFE)."""
    panel = Panel(frame, entity="firm", time="year")
    formula, w = "y ~ x + W(x) + [p + W(p) ~ q + W(q) + W(z)]", WEIGHTS["knn6"]
    for vcov in ("unadjusted", Cluster("firm")):
        memory = PanelIV(formula, panel, absorb=absorb, w=w).fit(vcov=vcov)
        with PanelIV(formula, panel, absorb=absorb, w=w, backend=cluster) as model:
            got = model.fit(vcov=vcov)
        assert_same(got, memory)
        assert got.info["backend"] == "Dask"


def test_poisson_equals_in_memory(frame, cluster):
    """PoissonHDFE with ``W(x)`` terms on Dask (tolerance as in test_duckdb_wx.py)."""
    assert_same(poisson_with_lags(frame, cluster), poisson_with_lags(frame))


@pytest.mark.slow
def test_frequency_weights_equal_in_memory(frame, cluster):
    """Frequency weights: N = sum(w) in df and small-sample factors, as in memory."""
    data = frame.assign(wt=np.random.default_rng(8).integers(1, 5, len(frame)).astype(float))
    panel = Panel(data, entity="firm", time="year")
    opts = {"w": WEIGHTS["knn6"], "weights": "wt", "weight_type": "frequency"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        memory = HDFE(FORMULA, panel, absorb=ABSORB, **opts).fit(vcov=Cluster("firm"))
        with HDFE(FORMULA, panel, absorb=ABSORB, backend=cluster, **opts) as model:
            assert_same(model.fit(vcov=Cluster("firm")), memory)


# ---------------------------------------------------------------------- refusals
def same_error(make, error, cluster):
    """``make(None)`` (in memory), ``make(duckdb)`` and ``make(dask)`` raise ``error`` with
    one message."""
    messages = []
    for backend in (None, DuckDBBackend(memory_limit="256MB"), cluster):
        with pytest.raises(error) as raised:
            make(backend)
        messages.append(str(raised.value))
    assert messages[2] == messages[1] == messages[0]
    return messages[0]


def test_panel_entity_without_row_in_w(frame, cluster):
    w = WEIGHTS["knn6"].subset(pd.Index(frame["firm"].unique()[1:])).row_standardize()
    data = frame.set_index(["firm", "year"])
    message = same_error(lambda b: hdfe(data, w, "robust", b), AlignmentError, cluster)
    assert "'f00'" in message and "subset" in message


def test_w_id_not_in_panel(frame, cluster):
    rest = frame[frame["firm"] != "f07"].set_index(["firm", "year"])
    message = same_error(
        lambda b: hdfe(rest, WEIGHTS["knn6"], "robust", b), AlignmentError, cluster
    )
    assert "'f07'" in message


def test_unbalanced_panel_refused_naming_cells(frame, cluster):
    """An entity absent in some periods: its neighbours' lags are undefined (the cells are
    found per period, in partitions holding different years)."""
    gap = frame.drop(index=frame.index[(frame["firm"] == "f03") & (frame["year"] > 2001)])
    gap = gap.drop(index=gap.index[(gap["firm"] == "f11") & (gap["year"] != 2001)])
    data = gap.set_index(["firm", "year"])
    message = same_error(lambda b: hdfe(data, WEIGHTS["knn6"], "robust", b), PanelError, cluster)
    assert "7 of 250" in message and "('f03', 2003)" in message and "(2 more)" in message


def test_missing_lagged_value_refused_naming_rows(frame, cluster):
    gap = frame.assign(z=frame["z"].mask(frame.index % 40 == 7)).set_index(["firm", "year"])
    message = same_error(lambda b: hdfe(gap, WEIGHTS["knn6"], "robust", b), PanelError, cluster)
    assert "'z' is missing in 7 rows" in message


@BAD_TERMS
def test_bad_terms_and_weights(frame, cluster, formula, w, error, match):
    data = frame.set_index(["firm", "year"])
    message = same_error(lambda b: hdfe(data, w, "robust", b, formula=formula), error, cluster)
    assert match in message


def test_repeated_keys_refused_as_on_duckdb(frame, cluster):
    """Repeated (firm, year) keys (refused by Panel in memory): the same error on DuckDB
    and Dask, also when a repeat and an absent cell leave the row count of a balanced
    panel."""
    extra = pd.concat([frame, frame.iloc[[3]]])
    swapped = pd.concat([frame.iloc[1:], frame.iloc[[3]]])  # (f00, 2000) absent, one repeat
    with pytest.raises(PanelError, match=r"251 rows for 250.*keys repeat") as duck:
        hdfe(extra.set_index(["firm", "year"]), WEIGHTS["knn6"], "robust", DuckDBBackend())
    with pytest.raises(PanelError) as out:
        hdfe(extra.set_index(["firm", "year"]), WEIGHTS["knn6"], "robust", cluster)
    assert str(out.value) == str(duck.value)
    with pytest.raises(PanelError, match="some keys repeat"):
        hdfe(swapped.set_index(["firm", "year"]), WEIGHTS["knn6"], "robust", cluster)


def test_dask_frame_without_keys_refused_naming_parquet_panel(frame, cluster):
    """A dask DataFrame names no entity and time columns: the error says how to name them,
    before any task runs on the cluster."""
    ddf = dd.from_pandas(frame, npartitions=2)
    with pytest.raises(SpecificationError, match=r"entity and time.*dask DataFrame.*ParquetPanel"):
        hdfe(ddf, WEIGHTS["knn6"], "robust", cluster)


def _out_of_memory(*args, **kwargs):
    raise MemoryError("injected: the partition did not fit")


def test_failed_lag_step_is_a_backend_error_naming_step_and_partition(frame, cluster, monkeypatch):
    """The lag steps run through the bounded, translated waits of every Dask step."""
    monkeypatch.setattr(_dask_wx, "spatial_lags", _out_of_memory)
    with pytest.raises(BackendError, match=r"memory while computing spatial lags on partition"):
        hdfe(frame.set_index(["firm", "year"]), WEIGHTS["knn6"], "robust", cluster)


def test_staged_model_holds_no_lagged_source(models):
    """Once staged, only the staged partitions stay on the workers."""
    assert models["knn6"][1]._out_of_core.source.futures == []
