"""Firm-to-region aggregation in DuckDB against the in-memory geo.aggregate and pandas.

Counts must be identical. Sums, means and shares: rtol 1e-12, since DuckDB and pandas add
the same positive doubles in different orders (a few ulp per sum of <= 100 terms); any
misassigned row would move a region-year by > 1e-3.
"""

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from shapely.geometry import box

from spillover import Panel
from spillover.backends import DuckDBBackend, aggregate_regions
from spillover.errors import AlignmentError, PanelError, SpecificationError
from spillover.geo import aggregate

pytest.importorskip("duckdb")
RTOL = 1e-12
SPEC = dict(sum=["emp", "rd"], mean=["wage"], share=["sales"], count="n_firms")


def _firms(seed=0, n=300, years=4):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "firm": np.repeat(np.arange(n), years),
            "year": np.tile(np.arange(2000, 2000 + years), n),
            "region": rng.choice([f"R{i:02d}" for i in range(12)], n * years),
        }
    )
    for col, scale in [("emp", 20.0), ("rd", 3.0), ("wage", 40.0), ("sales", 100.0)]:
        df[col] = rng.gamma(2.0, scale, len(df))
    return df


def _parquet(df, tmp_path, parts=3):
    """A folder of Parquet files, firms split across files at random rows."""
    folder = tmp_path / "firms"
    folder.mkdir()
    shuffled = df.sample(frac=1.0, random_state=1)
    for i, rows in enumerate(np.array_split(np.arange(len(df)), parts)):
        shuffled.iloc[rows].to_parquet(folder / f"part{i}.parquet", index=False)
    return folder


def _in_memory(df, **kw):
    return aggregate(Panel(df, entity="firm", time="year"), region="region", **kw)


def _assert_same(got, expected):
    assert got.data.index.equals(expected.data.index)
    assert list(got.data.columns) == list(expected.data.columns)
    assert_array_equal(got.data["n_firms"], expected.data["n_firms"])
    assert got.data["n_firms"].dtype == expected.data["n_firms"].dtype
    values = expected.data.columns.drop("n_firms")
    assert_allclose(got.data[values], expected.data[values], rtol=RTOL)


def test_parquet_folder_matches_in_memory_and_pandas(tmp_path):
    df = _firms()
    got = aggregate_regions(_parquet(df, tmp_path), entity="firm", time="year",
                            region="region", **SPEC)  # fmt: skip
    _assert_same(got, _in_memory(df, **SPEC))
    # independent reference: pandas groupby written out here
    g = df.groupby(["region", "year"])
    assert_allclose(got.data["emp"], g["emp"].sum(), rtol=RTOL)
    assert_allclose(got.data["wage"], g["wage"].mean(), rtol=RTOL)
    sales = g["sales"].sum()
    assert_allclose(got.data["sales"], sales / sales.groupby(level="year").transform("sum"),
                    rtol=RTOL)  # fmt: skip
    assert_array_equal(got.data["n_firms"], g.size())
    assert_allclose(got.data["sales"].groupby(level="year").sum(), 1.0, rtol=1e-12)


def test_dataframe_input_and_memory_cap(tmp_path):
    df = _firms(seed=1)
    backend = DuckDBBackend(memory_limit="256MB", threads=1, temp_directory=tmp_path)
    got = aggregate_regions(df, entity="firm", time="year", region="region", backend=backend,
                            **SPEC)  # fmt: skip
    _assert_same(got, _in_memory(df, **SPEC))


def _with_gaps(seed=2):
    df = _firms(seed=seed, n=60)
    rng = np.random.default_rng(seed)
    df.loc[rng.choice(len(df), 7, replace=False), "region"] = None
    df.loc[rng.choice(len(df), 9, replace=False), "emp"] = np.nan
    df.loc[df["region"] == "R03", "wage"] = np.nan  # a region whose values are all missing
    return df


def test_missing_values_are_reported_as_in_memory(tmp_path):
    df = _with_gaps()
    path = _parquet(df, tmp_path)
    with pytest.raises(PanelError) as memory:
        _in_memory(df, **SPEC)
    with pytest.raises(PanelError) as duck:
        aggregate_regions(path, entity="firm", time="year", region="region", **SPEC)
    assert str(duck.value) == str(memory.value)


def test_skip_gives_the_same_warnings_and_table(tmp_path):
    df = _with_gaps(seed=3)
    with warnings.catch_warnings(record=True) as w_memory:
        warnings.simplefilter("always")
        expected = _in_memory(df, missing="skip", **SPEC)
    with warnings.catch_warnings(record=True) as w_duck:
        warnings.simplefilter("always")
        got = aggregate_regions(_parquet(df, tmp_path), entity="firm", time="year",
                                region="region", missing="skip", **SPEC)  # fmt: skip
    assert [str(w.message) for w in w_duck] == [str(w.message) for w in w_memory]
    assert len(w_duck) == 2
    _assert_same(got, expected)
    assert got.data.loc["R03", "wage"].isna().all()  # all missing: NaN, not 0


def test_unmatched_region_codes_raise_as_in_memory(tmp_path):
    df = _firms(seed=4, n=50)
    shapes = gpd.GeoDataFrame(
        {"region": [f"R{i:02d}" for i in range(10)]},  # R10 and R11 have no polygon
        geometry=[box(i, 0, i + 1, 1) for i in range(10)],
        crs="EPSG:3035",
    )
    with pytest.raises(AlignmentError) as memory:
        _in_memory(df, sum=["emp"], regions=shapes)
    with pytest.raises(AlignmentError) as duck:
        aggregate_regions(_parquet(df, tmp_path), entity="firm", time="year",
                          region="region", sum=["emp"], regions=shapes)  # fmt: skip
    assert str(duck.value) == str(memory.value)
    assert "R10" in str(duck.value)
    extra = gpd.GeoDataFrame(
        {"region": ["R10", "R11", "R99"]},
        geometry=[box(i, 2, i + 1, 3) for i in range(3)],
        crs="EPSG:3035",
    )
    full = pd.concat([shapes, extra])  # R99 has no firm: left out by both paths
    got = aggregate_regions(df, entity="firm", time="year", region="region", sum=["emp"],
                            regions=full)  # fmt: skip
    assert got.geo.index.equals(_in_memory(df, sum=["emp"], regions=full).geo.index)


def test_bad_input_is_named(tmp_path):
    df = _firms(seed=5, n=20)
    twice = pd.concat([df, df.iloc[[3]]])
    with pytest.raises(PanelError, match=r"\(0, 2003\)"):
        aggregate_regions(twice, entity="firm", time="year", region="region", sum=["emp"])
    with pytest.raises(SpecificationError, match="no column 'sales2'"):
        aggregate_regions(df, entity="firm", time="year", region="region", sum=["sales2"])
    with pytest.raises(SpecificationError, match="not numeric"):
        aggregate_regions(df.assign(code=df["region"]), entity="firm", time="year",
                          region="region", mean=["code"])  # fmt: skip
    with pytest.raises(SpecificationError, match="clash"):
        aggregate_regions(df, entity="firm", time="year", region="region", sum=["emp"],
                          share=["emp"])  # fmt: skip
