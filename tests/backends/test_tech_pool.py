"""``backends.technology_pool``: the technology spillover pool out of core (DuckDB).

References and tolerances:

* A dense reference built here: P from its definition (Jaffe: cosine of the class-share
  rows; Mahalanobis: ``X~ Omega X~'`` with Omega the uncentred correlation of the classes
  over firms), ``S_t = P_t K_t`` over the firms present in period t, minus ``diag(P) K``.
  Sums of at most 80 positive terms of order 1: rounding ~1e-14 relative, so rtol 1e-12.
* The in-memory :func:`spillover.measures.technology_pool` on the same rows (the same
  algebra as sparse products; DuckDB sums in another order): rtol 1e-12.

The panel is unbalanced (firm-years missing at random, one firm present in one year
only); every DuckDB run is capped at 256 MB.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.backends import DuckDBBackend, ParquetPanel, technology_pool
from spillover.errors import AlignmentError, PanelError, SpecificationError
from spillover.measures import technology_pool as in_memory_pool
from spillover.panel import Panel

CAP = "256MB"


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_data()


def make_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Firm-year rows (unbalanced) and long-format patent profiles of 80 firms."""
    rng = np.random.default_rng(11)
    firms, years = np.arange(80), np.arange(2000, 2006)
    rows = pd.DataFrame([(f, y) for f in firms for y in years], columns=["firm", "year"])
    rows = rows[rng.uniform(size=len(rows)) > 0.2]
    rows = rows[(rows["firm"] != 7) | (rows["year"] == 2003)]  # firm 7: one year only
    rows = rows.assign(rd=rng.lognormal(size=len(rows)), emp=rng.integers(1, 50, len(rows)))
    entries = [
        (f, f"c{c:02d}", float(rng.integers(1, 20)))
        for f in firms
        for c in rng.choice(25, size=rng.integers(1, 6), replace=False)
    ]
    profiles = pd.DataFrame(entries, columns=["firm", "class", "count"])
    return rows.reset_index(drop=True), profiles


def dense_pool(rows, profiles, proximity, exclude_self):
    """S_it from the N x N proximity matrix, period by period."""
    wide = profiles.pivot(index="firm", columns="class", values="count").fillna(0.0)
    t = wide.to_numpy() / wide.to_numpy().sum(axis=1, keepdims=True)
    x = t / np.linalg.norm(t, axis=1, keepdims=True)
    if proximity == "jaffe":
        p = x @ x.T
    else:
        z = t / np.linalg.norm(t, axis=0, keepdims=True)
        p = x @ (z.T @ z) @ x.T
    pos = pd.Series(np.arange(len(wide)), index=wide.index)
    out = pd.Series(np.nan, index=pd.MultiIndex.from_frame(rows[["firm", "year"]]))
    for year, g in rows.groupby("year"):
        i = pos[g["firm"]].to_numpy()
        s = p[np.ix_(i, i)] @ g["rd"].to_numpy()
        if exclude_self:
            s -= np.diag(p)[i] * g["rd"].to_numpy()
        out.loc[list(zip(g["firm"], [year] * len(g), strict=True))] = s
    return out


def pooled(path) -> pd.Series:
    got = pd.read_parquet(path)
    return got.set_index(["firm", "year"])["rd_tech_pool"]


@pytest.mark.parametrize("proximity", ["jaffe", "mahalanobis"])
@pytest.mark.parametrize("exclude_self", [True, False])
def test_equals_dense_and_in_memory(tmp_path, data, proximity, exclude_self):
    rows, profiles = data
    done = technology_pool(
        rows, column="rd", shares=profiles, entity="firm", time="year", out=tmp_path / "out",
        proximity=proximity, exclude_self=exclude_self,
        backend=DuckDBBackend(memory_limit=CAP, threads=1),
    )  # fmt: skip
    assert_pool(done, rows, profiles, proximity, exclude_self)


def assert_pool(done, rows, profiles, proximity, exclude_self) -> None:
    """The written pool equals the dense reference and the in-memory pool (rtol 1e-12),
    one row per input row, the other columns kept."""
    got = pooled(done.path)
    assert done.rows == len(rows) == len(got)
    expected = dense_pool(rows, profiles, proximity, exclude_self)
    assert_allclose(got.loc[expected.index], expected, rtol=1e-12, atol=0)
    panel = Panel(rows, entity="firm", time="year")
    series = profiles.set_index(["firm", "class"])["count"]
    memory = in_memory_pool(panel, "rd", series, proximity=proximity, exclude_self=exclude_self)
    assert_allclose(got.loc[memory.index], memory, rtol=1e-12, atol=0)
    back = pd.read_parquet(done.path).set_index(["firm", "year"]).loc[memory.index]
    pd.testing.assert_series_equal(back["emp"], panel.data["emp"], check_dtype=False)


def test_parquet_panel_and_series_shares(tmp_path, data):
    """A ParquetPanel (keys known) with profiles as a Series indexed by (firm, class)."""
    rows, profiles = data
    rows.to_parquet(tmp_path / "rows.parquet")
    source = ParquetPanel(tmp_path / "rows.parquet", entity="firm", time="year")
    series = profiles.set_index(["firm", "class"])["count"]
    done = technology_pool(source, column="rd", shares=series, out=tmp_path / "out",
                           name="rd_tech_pool")  # fmt: skip
    expected = dense_pool(rows, profiles, "jaffe", True)
    assert_allclose(pooled(done.path).loc[expected.index], expected, rtol=1e-12)
    reopened = done.panel(entity="firm", time="year")
    assert "rd_tech_pool" in reopened.columns


def refused(tmp_path, rows, profiles, error, match, **kwargs):
    with pytest.raises(error, match=match):
        technology_pool(rows, column="rd", shares=profiles, entity="firm", time="year",
                        out=tmp_path / "out", **kwargs)  # fmt: skip
    assert list(tmp_path.iterdir()) == []  # nothing written, no hidden folder left


def test_profiles_that_do_not_match_the_panel_are_named(tmp_path, data):
    rows, profiles = data
    lacking = profiles[~profiles["firm"].isin([3, 5])]
    refused(
        tmp_path, rows, lacking, AlignmentError, r"2 panel firms have no share row \(e\.g\. 3, 5\)"
    )
    extra = pd.concat([profiles, pd.DataFrame({"firm": [999], "class": ["c01"], "count": [1.0]})])
    refused(
        tmp_path, rows, extra, AlignmentError, r"1 share rows are not panel firms \(e\.g\. 999\)"
    )


def test_bad_profiles_are_named(tmp_path, data):
    rows, profiles = data
    doubled = pd.concat([profiles, profiles.iloc[[0]]])
    first = (int(profiles["firm"].iloc[0]), profiles["class"].iloc[0])
    refused(
        tmp_path, rows, doubled, SpecificationError, f"more than once.*{re.escape(repr(first))}"
    )
    negative = profiles.assign(count=np.where(profiles["firm"] == 4, -1.0, profiles["count"]))
    refused(
        tmp_path,
        rows,
        negative,
        SpecificationError,
        r"1 share rows are missing, negative or all zero, e\.g\. 4",
    )
    zero = profiles.assign(count=np.where(profiles["firm"] == 9, 0.0, profiles["count"]))
    refused(tmp_path, rows, zero, SpecificationError, r"all zero, e\.g\. 9")


def test_bad_rows_and_options_are_named(tmp_path, data):
    rows, profiles = data
    gap = rows.assign(rd=rows["rd"].mask(rows.index == 10))
    where = tuple(rows.loc[10, ["firm", "year"]])
    refused(
        tmp_path,
        gap,
        profiles,
        PanelError,
        rf"1 rows have a missing or infinite 'rd', e\.g\. at \({where[0]}, {where[1]}\)",
    )
    doubled = pd.concat([rows, rows.iloc[[0]]])
    refused(tmp_path, doubled, profiles, PanelError, "keys repeat")
    refused(tmp_path, rows, profiles, SpecificationError, "proximity", proximity="cosine")
    refused(tmp_path, rows, profiles, SpecificationError, "already have a column 'emp'", name="emp")
    with pytest.raises(SpecificationError, match=r"entity=\.\.\. and time="):
        technology_pool(rows, column="rd", shares=profiles, out=tmp_path / "out")
    (tmp_path / "out").mkdir()
    with pytest.raises(SpecificationError, match="overwrite=True"):
        technology_pool(rows, column="rd", shares=profiles, entity="firm", time="year",
                        out=tmp_path / "out")  # fmt: skip
