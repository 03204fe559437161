"""``backends.technology_pool`` on Dask: the pool of the DuckDB tests, from partitions.

References and tolerances (as in test_tech_pool.py):

* The dense reference (P from its definition, ``S_t = P_t K_t`` per period, minus
  ``diag(P) K``): sums of at most 80 positive terms of order 1, rounding ~1e-14
  relative, so rtol 1e-12.
* The in-memory :func:`spillover.measures.technology_pool` on the same rows: rtol 1e-12
  (the same algebra, class sums taken per partition and added in another order).

The rows are a dask DataFrame sorted by year in three partitions, so that every firm's
rows span partitions: the class sums and the checks (a repeated key whose twin is in
another partition) must combine partitions. One local cluster of two thread workers
serves the module.
"""

from __future__ import annotations

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.backends import DaskBackend, ParquetPanel, technology_pool
from spillover.errors import AlignmentError, PanelError, SpecificationError
from spillover.panel import Panel
from tests.backends.test_tech_pool import assert_pool, dense_pool, make_data, pooled

TIMEOUT = 60


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_data()


@pytest.fixture(scope="module")
def cluster():
    with DaskBackend(n_workers=2, processes=False, partitions=3, timeout=TIMEOUT) as backend:
        yield backend


def by_year(rows: pd.DataFrame) -> dd.DataFrame:
    """Three partitions of consecutive years: every firm present in two years is split."""
    return dd.from_pandas(rows.sort_values(["year", "firm"]), npartitions=3, sort=False)


def test_partitions_split_firms(frames):
    parts = by_year(frames[0]).to_delayed()
    firms = [set(p.compute()["firm"]) for p in parts]
    assert len(parts) == 3 and firms[0] & firms[1] & firms[2]


@pytest.mark.parametrize("proximity", ["jaffe", "mahalanobis"])
@pytest.mark.parametrize("exclude_self", [True, False])
def test_equals_dense_and_in_memory(tmp_path, frames, cluster, proximity, exclude_self):
    rows, profiles = frames
    done = technology_pool(
        by_year(rows), column="rd", shares=profiles, entity="firm", time="year",
        out=tmp_path / "out", proximity=proximity, exclude_self=exclude_self, backend=cluster,
    )  # fmt: skip
    assert len(list(done.path.glob("*.parquet"))) == 3  # one file per partition
    assert_pool(done, rows, profiles, proximity, exclude_self)


def test_panel_parquet_panel_and_shares_from_parquet(tmp_path, frames, cluster):
    """A Panel and a ParquetPanel (keys known), profiles as a Series or a Parquet file."""
    rows, profiles = frames
    expected = dense_pool(rows, profiles, "mahalanobis", True)
    series = profiles.set_index(["firm", "class"])["count"]
    done = technology_pool(
        Panel(rows, entity="firm", time="year"),
        column="rd",
        shares=series,
        proximity="mahalanobis",
        out=tmp_path / "a",
        backend=cluster,
    )
    assert_allclose(pooled(done.path).loc[expected.index], expected, rtol=1e-12)
    rows.to_parquet(tmp_path / "rows.parquet")
    profiles.to_parquet(tmp_path / "profiles.parquet")
    source = ParquetPanel(tmp_path / "rows.parquet", entity="firm", time="year")
    done = technology_pool(
        source,
        column="rd",
        shares=tmp_path / "profiles.parquet",
        proximity="mahalanobis",
        out=tmp_path / "b",
        backend=cluster,
    )
    assert_allclose(pooled(done.path).loc[expected.index], expected, rtol=1e-12)
    assert "rd_tech_pool" in done.panel(entity="firm", time="year").columns


def test_one_schema_in_every_file(tmp_path, frames, cluster):
    """A column null throughout the first partition and text elsewhere, and one integer in
    a partition but float in another, are written with one schema: the folder reads back
    whole (pyarrow refuses to read a null column beside a string one)."""
    rows, profiles = frames
    parts = [p.compute() for p in by_year(rows).to_delayed()]
    for i, part in enumerate(parts):
        part["note"] = None if i == 0 else "ok"
        part["size"] = part["emp"].astype(int if i == 1 else float)
    data = dd.from_delayed([dask.delayed(p) for p in parts], meta=parts[1], verify_meta=False)
    done = technology_pool(data, column="rd", shares=profiles, entity="firm", time="year",
                           out=tmp_path / "out", backend=cluster)  # fmt: skip
    back = pd.read_parquet(done.path)
    assert back["note"].isna().sum() == len(parts[0]) and (back["note"].dropna() == "ok").all()
    assert_allclose(back["size"], back["emp"])


def refused(tmp_path, cluster, rows, profiles, error, match, **kwargs):
    """``rows`` (split by year unless already a dask DataFrame) are refused, nothing written."""
    data = rows if isinstance(rows, dd.DataFrame) else by_year(rows)
    options = {"column": "rd", "entity": "firm", "time": "year", **kwargs}
    with pytest.raises(error, match=match):
        technology_pool(data, shares=profiles, out=tmp_path / "out", backend=cluster, **options)
    assert list(tmp_path.iterdir()) == []  # nothing written, no hidden folder left


def test_profiles_that_do_not_match_the_panel_are_named(tmp_path, frames, cluster):
    rows, profiles = frames
    lacking = profiles[~profiles["firm"].isin([3, 5])]
    refused(tmp_path, cluster, rows, lacking, AlignmentError,
            r"2 panel firms have no share row \(e\.g\. 3, 5\)")  # fmt: skip
    extra = pd.concat([profiles, pd.DataFrame({"firm": [999], "class": ["c01"], "count": [1.0]})])
    refused(tmp_path, cluster, rows, extra, AlignmentError,
            r"1 share rows are not panel firms \(e\.g\. 999\)")  # fmt: skip


def test_bad_profiles_are_named(tmp_path, frames, cluster):
    rows, profiles = frames
    doubled = pd.concat([profiles, profiles.iloc[[0]]])
    first = (int(profiles["firm"].iloc[0]), profiles["class"].iloc[0])
    refused(tmp_path, cluster, rows, doubled, SpecificationError,
            rf"more than once in the shares, e\.g\. \({first[0]}, '{first[1]}'\)")  # fmt: skip
    negative = profiles.assign(count=np.where(profiles["firm"] == 4, -1.0, profiles["count"]))
    refused(tmp_path, cluster, rows, negative, SpecificationError,
            r"1 share rows are missing, negative or all zero, e\.g\. 4")  # fmt: skip
    zero = profiles.assign(count=np.where(profiles["firm"] == 9, 0.0, profiles["count"]))
    refused(tmp_path, cluster, rows, zero, SpecificationError, r"all zero, e\.g\. 9")
    refused(tmp_path, cluster, rows, profiles.drop(columns="count"), SpecificationError,
            r"no column 'count'")  # fmt: skip


def test_bad_rows_and_options_are_named(tmp_path, frames, cluster):
    rows, profiles = frames
    last = rows.sort_values(["year", "firm"]).index[-1]  # in the last partition
    gap = rows.assign(rd=rows["rd"].mask(rows.index == last).mask(rows.index == 10, np.inf))
    first, second = sorted([tuple(rows.loc[i, ["firm", "year"]]) for i in (10, last)])
    refused(tmp_path, cluster, gap, profiles, PanelError,
            rf"2 rows have a missing or infinite 'rd', e\.g\. at \({first[0]}, {first[1]}\), "
            rf"\({second[0]}, {second[1]}\)")  # fmt: skip
    ordered = rows.sort_values(["year", "firm"])
    twin = ordered.iloc[[0]].assign(rd=1.0)  # the first row again, in the last partition
    doubled = dd.from_pandas(pd.concat([ordered, twin]), npartitions=3, sort=False)
    key = (int(ordered["firm"].iloc[0]), int(ordered["year"].iloc[0]))
    ends = [p.compute() for p in doubled.to_delayed()[::2]]
    assert all(key in set(zip(p["firm"], p["year"], strict=True)) for p in ends)
    refused(tmp_path, cluster, doubled, profiles, PanelError,
            rf"keys repeat, e\.g\. \({key[0]}, {key[1]}\)")  # fmt: skip
    refused(tmp_path, cluster, rows, profiles, SpecificationError, "proximity", proximity="x")
    refused(tmp_path, cluster, rows, profiles, SpecificationError,
            "already have a column 'emp'", name="emp")  # fmt: skip
    refused(tmp_path, cluster, rows, profiles, SpecificationError, "no column 'patents'",
            column="patents")  # fmt: skip
    with pytest.raises(SpecificationError, match=r"entity=\.\.\. and time="):
        technology_pool(by_year(rows), column="rd", shares=profiles, out=tmp_path / "out",
                        backend=cluster)  # fmt: skip
    (tmp_path / "out").mkdir()
    with pytest.raises(SpecificationError, match="overwrite=True"):
        technology_pool(rows, column="rd", shares=profiles, entity="firm", time="year",
                        out=tmp_path / "out", backend=cluster)  # fmt: skip


@pytest.mark.slow
def test_dask_string_starts_and_closes_a_local_cluster(tmp_path, frames):
    rows, profiles = frames
    done = technology_pool(rows, column="rd", shares=profiles, entity="firm", time="year",
                           out=tmp_path / "out", backend="dask")  # fmt: skip
    expected = dense_pool(rows, profiles, "jaffe", True)
    assert_allclose(pooled(done.path).loc[expected.index], expected, rtol=1e-12)
