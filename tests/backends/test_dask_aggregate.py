"""``aggregate_regions`` on Dask against the in-memory ``geo.aggregate`` and pandas.

The fixtures are those of the DuckDB tests (test_duckdb_aggregate.py,
test_duckdb_weighted_aggregate.py), given to Dask as a dask DataFrame whose partitions
split firms and regions (rows shuffled, then cut into three), as a Parquet folder and as
a pandas DataFrame. Counts must be identical. Sums, means, weighted means and shares:
rtol 1e-12, since each partition's pandas sums are added across partitions, another order
of the same positive doubles (gamma draws, <= 100 terms per cell: a few ulp); a
misassigned or doubly counted row would move a region-year by more than 1e-3. The errors
and warnings must read as those of the in-memory path, word for word.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.backends import DaskBackend, ParquetPanel, aggregate_regions
from spillover.errors import BackendError, DroppedRowsWarning, PanelError, SpecificationError
from tests.backends.test_duckdb_aggregate import (
    SPEC,
    _assert_same,
    _firms,
    _in_memory,
    _parquet,
    _with_gaps,
)
from tests.backends.test_duckdb_weighted_aggregate import SPEC as WEIGHTED
from tests.backends.test_duckdb_weighted_aggregate import _pandas
from tests.backends.test_duckdb_weighted_aggregate import _with_gaps as _weight_gaps

dd = pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")
RTOL = 1e-12
KEYS = dict(entity="firm", time="year", region="region")


@pytest.fixture(scope="module")
def cluster():
    with DaskBackend(n_workers=2, processes=False, partitions=3) as backend:
        yield backend


def _split(df: pd.DataFrame, seed: int = 0) -> dd.DataFrame:
    """A dask DataFrame of three partitions of shuffled rows: every firm and region has
    rows in several partitions."""
    shuffled = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return dd.from_pandas(shuffled, npartitions=3, sort=False)


def _partition_of(ddf: dd.DataFrame) -> list[pd.DataFrame]:
    return [ddf.get_partition(i).compute() for i in range(ddf.npartitions)]


def _run(data, cluster, **kw):
    return aggregate_regions(data, **KEYS, backend=cluster, **kw)


def test_dask_frame_split_across_partitions_matches_in_memory(cluster):
    df = _firms()
    ddf = _split(df)
    pieces = _partition_of(ddf)
    assert all(set(p["firm"]) & set(q["firm"]) for p, q in itertools.pairwise(pieces))
    assert all(set(p["region"]) == set(df["region"]) for p in pieces)
    got = _run(ddf, cluster, **SPEC)
    _assert_same(got, _in_memory(df, **SPEC))
    g = df.groupby(["region", "year"])  # independent reference: pandas written out here
    assert_allclose(got.data["emp"], g["emp"].sum(), rtol=RTOL)
    assert_allclose(got.data["wage"], g["wage"].mean(), rtol=RTOL)


def test_parquet_folder_panel_and_pandas_inputs(cluster, tmp_path):
    df = _firms(seed=1)
    expected = _in_memory(df, **SPEC)
    folder = _parquet(df, tmp_path)
    _assert_same(_run(folder, cluster, **SPEC), expected)
    _assert_same(_run(ParquetPanel(folder, entity="firm", time="year"), cluster, **SPEC), expected)
    _assert_same(_run(df, cluster, **SPEC), expected)


def test_weighted_means_match_pandas_and_in_memory(cluster):
    df = _firms(seed=6)
    got = _run(_split(df, seed=6), cluster, **WEIGHTED)
    _assert_same(got, _in_memory(df, **WEIGHTED))
    for x, w in WEIGHTED["weighted_mean"].items():
        assert_allclose(got.data[x], _pandas(df, x, w), rtol=RTOL)


@pytest.mark.parametrize(
    ("make", "spec"), [(_with_gaps, SPEC), (_weight_gaps, WEIGHTED)], ids=["plain", "weighted"]
)
def test_missing_values_raise_and_skip_as_in_memory(cluster, make, spec):
    df = make()
    with pytest.raises(PanelError) as memory:
        _in_memory(df, **spec)
    with pytest.raises(PanelError) as dask:
        _run(_split(df), cluster, **spec)
    assert str(dask.value) == str(memory.value)
    with warnings.catch_warnings(record=True) as w_memory:
        warnings.simplefilter("always")
        expected = _in_memory(df, missing="skip", **spec)
    with warnings.catch_warnings(record=True) as w_dask:
        warnings.simplefilter("always")
        got = _run(_split(df), cluster, missing="skip", **spec)
    assert [str(w.message) for w in w_dask] == [str(w.message) for w in w_memory]
    assert len(w_dask) == 2
    _assert_same(got, expected)


def test_zero_weight_sum_is_nan_with_a_warning(cluster):
    df = _firms(seed=9, n=40)
    df.loc[(df["region"] == "R01") & (df["year"] == 2001), "emp"] = 0.0
    with pytest.warns(DroppedRowsWarning, match=r"sum to zero in 1 region-years"):
        got = _run(_split(df), cluster, weighted_mean={"wage": "emp"})
    assert np.isnan(got.data.loc[("R01", 2001), "wage"])


def test_repeat_whose_twin_is_in_another_partition_is_named(cluster):
    df = _firms(seed=5, n=20)
    ddf = dd.from_pandas(pd.concat([df, df.iloc[[3]]], ignore_index=True), npartitions=3,
                         sort=False)  # fmt: skip
    pieces = _partition_of(ddf)
    assert not any(p.duplicated(["firm", "year"]).any() for p in pieces)  # only across
    with pytest.raises(PanelError) as memory:
        _run(pd.concat([df, df.iloc[[3]]]), "duckdb", sum=["emp"])
    with pytest.raises(PanelError, match=r"\(0, 2003\)") as dask:
        _run(ddf, cluster, sum=["emp"])
    assert str(dask.value) == str(memory.value)


def test_bad_columns_and_weights_are_named(cluster):
    df = _firms(seed=10, n=20)
    df.loc[(df["firm"] == 4) & (df["year"] == 2002), "emp"] = -1.0
    ddf = _split(df)
    with pytest.raises(SpecificationError, match=r"'emp' is negative in 1 rows.*\(4, 2002\)"):
        _run(ddf, cluster, weighted_mean={"wage": "emp"})
    with pytest.raises(SpecificationError, match="no column 'sales2'"):
        _run(ddf, cluster, sum=["sales2"])
    with pytest.raises(SpecificationError, match=r"'code' are not numeric"):
        _run(_split(df.assign(code=df["region"])), cluster, mean=["code"])
    with pytest.raises(SpecificationError, match="clash"):
        _run(ddf, cluster, mean=["wage"], weighted_mean={"wage": "emp"})
    no_year = df.assign(year=df["year"].astype(float).where(df.index != 7))
    with pytest.raises(PanelError) as duck:
        _run(no_year, "duckdb", sum=["emp"])
    with pytest.raises(PanelError, match="1 rows have no 'year' key") as dask:
        _run(_split(no_year), cluster, sum=["emp"])  # kept by the sums, refused by Panel
    assert str(dask.value) == str(duck.value)
    with pytest.raises(SpecificationError, match="'duckdb', 'dask'"):
        _run(ddf, "spark", sum=["wage"])


def test_dask_string_starts_and_closes_a_cluster(monkeypatch):
    """backend='dask': a cluster of its own for the call, closed after (thread workers
    here, for speed)."""
    started = []

    def backend():
        started.append(DaskBackend(n_workers=1, processes=False))
        return started[-1]

    monkeypatch.setattr("spillover.backends._dask_aggregate.DaskBackend", backend)
    df = _firms(seed=11, n=20)
    _assert_same(_run(df, "dask", **SPEC), _in_memory(df, **SPEC))
    assert len(started) == 1 and started[0]._client is None and not started[0]._owned


def test_a_worker_out_of_memory_names_the_step(cluster, monkeypatch):
    def exhausted(p, **kw):
        raise MemoryError

    monkeypatch.setattr("spillover.backends._dask_aggregate.cell_sums", exhausted)
    with pytest.raises(BackendError, match="out of memory while summing by region and period"):
        _run(_split(_firms(seed=12, n=20)), cluster, sum=["emp"])
