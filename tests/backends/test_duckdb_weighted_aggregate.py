"""Weighted means in ``aggregate_regions`` (DuckDB) against pandas and ``geo.aggregate``.

References: a pandas computation written out here (``sum(w x) / sum(w)`` per region-year
over the firms whose value and weight are present) and the in-memory
:func:`spillover.geo.aggregate` with the same ``weighted_mean``. Tolerance rtol 1e-12:
both sides add the same positive doubles (gamma-distributed wages and employment, <= 100
terms per cell) in different orders, a few ulp; a misassigned firm would move a cell by
more than 1e-3.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from spillover import Panel
from spillover.backends import DuckDBBackend, aggregate_regions
from spillover.errors import DroppedRowsWarning, PanelError, SpecificationError
from spillover.geo import aggregate
from tests.backends.test_duckdb_aggregate import _firms, _parquet

RTOL = 1e-12
SPEC = dict(sum=["emp"], weighted_mean={"wage": "emp", "rd": "sales"}, share=["sales"])


def _pandas(df: pd.DataFrame, x: str, w: str) -> pd.Series:
    """sum(w x) / sum(w) per (region, year) over rows with both x and w present."""
    both = df.dropna(subset=["region", x, w])
    g = both.assign(wx=both[x] * both[w]).groupby(["region", "year"])
    return g["wx"].sum() / g[w].sum()


def _in_memory(df, **kw):
    return aggregate(Panel(df, entity="firm", time="year"), region="region", **kw)


def _duck(data, **kw):
    backend = DuckDBBackend(memory_limit="256MB")
    return aggregate_regions(data, entity="firm", time="year", region="region",
                             backend=backend, **kw)  # fmt: skip


def _assert_same(got, expected):
    assert got.data.index.equals(expected.data.index)
    assert list(got.data.columns) == list(expected.data.columns)
    assert_array_equal(got.data["n_firms"], expected.data["n_firms"])
    values = expected.data.columns.drop("n_firms")
    assert_allclose(got.data[values], expected.data[values], rtol=RTOL)


def test_weighted_mean_matches_pandas_and_in_memory(tmp_path):
    df = _firms(seed=6)
    got = _duck(_parquet(df, tmp_path), **SPEC)
    _assert_same(got, _in_memory(df, **SPEC))
    for x, w in SPEC["weighted_mean"].items():
        ref = _pandas(df, x, w)
        assert got.data.index.equals(ref.index)
        assert_allclose(got.data[x], ref, rtol=RTOL)
        # the weights matter: the unweighted mean differs
        assert np.abs(got.data[x] - df.groupby(["region", "year"])[x].mean()).max() > 1e-3


def _with_gaps(seed: int = 7) -> pd.DataFrame:
    df = _firms(seed=seed, n=60)
    rng = np.random.default_rng(seed)
    df.loc[rng.choice(len(df), 6, replace=False), "emp"] = np.nan  # missing weights
    df.loc[rng.choice(len(df), 5, replace=False), "wage"] = np.nan  # missing values
    df.loc[rng.choice(len(df), 4, replace=False), "region"] = None
    return df


def test_missing_weights_skipped_as_in_memory(tmp_path):
    """missing='skip': a firm whose value or weight is missing is left out of the mean;
    same warnings, same table as geo.aggregate, equal to the pandas computation."""
    df = _with_gaps()
    with warnings.catch_warnings(record=True) as w_memory:
        warnings.simplefilter("always")
        expected = _in_memory(df, missing="skip", **SPEC)
    with warnings.catch_warnings(record=True) as w_duck:
        warnings.simplefilter("always")
        got = _duck(_parquet(df, tmp_path), missing="skip", **SPEC)
    assert [str(w.message) for w in w_duck] == [str(w.message) for w in w_memory]
    assert any("emp 6" in str(w.message) for w in w_duck)
    _assert_same(got, expected)
    assert_allclose(got.data["wage"], _pandas(df, "wage", "emp"), rtol=RTOL)


def test_missing_weights_raise_naming_rows(tmp_path):
    df = _with_gaps(seed=8)
    with pytest.raises(PanelError) as memory:
        _in_memory(df, **SPEC)
    with pytest.raises(PanelError, match=r"emp \(6\)") as duck:
        _duck(df, **SPEC)
    assert str(duck.value) == str(memory.value)


def test_zero_weight_sum_is_nan_with_a_warning():
    df = _firms(seed=9, n=40)
    cell = (df["region"] == "R01") & (df["year"] == 2001)
    df.loc[cell, "emp"] = 0.0
    spec = dict(weighted_mean={"wage": "emp"})
    with pytest.warns(DroppedRowsWarning, match=r"sum to zero in 1 region-years"):
        got = _duck(df, **spec)
    assert np.isnan(got.data.loc[("R01", 2001), "wage"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        _assert_same(got, _in_memory(df, **spec))


def test_negative_weight_is_named():
    df = _firms(seed=10, n=20)
    df.loc[(df["firm"] == 4) & (df["year"] == 2002), "emp"] = -1.0
    with pytest.raises(SpecificationError, match=r"'emp' is negative in 1 rows.*\(4, 2002\)"):
        _duck(df, weighted_mean={"wage": "emp"})
    with pytest.raises(SpecificationError, match="not numeric"):
        _duck(df.assign(code=df["region"]), weighted_mean={"wage": "code"})
    with pytest.raises(SpecificationError, match="clash"):
        _duck(df, mean=["wage"], weighted_mean={"wage": "emp"})
