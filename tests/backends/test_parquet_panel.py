"""ParquetPanel: a lazily read panel over Parquet files, checked on open, fitted on DuckDB.

Reference: the in-memory HDFE on the same rows read by pandas. Both sides run the same
algebra (singletons, exact absorbing of the small effect sets, the same covariance
kernels); only the order of floating-point sums differs (SQL aggregates versus numpy over
~500 rows, errors ~N eps cond < 1e-13), so coefficients and SEs of order 0.01-1 must agree
to 1e-10 absolute.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.backends import DuckDBBackend, ParquetPanel
from spillover.errors import DroppedRowsWarning, PanelError, SpecificationError
from spillover.inference import Cluster, DriscollKraay
from spillover.models import HDFE
from spillover.panel import Panel
from tests.backends.test_duckdb_hdfe import ABSORB, CAP, assert_same, unbalanced


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> tuple:
    """The panel in three files, rows shuffled so a firm spans files."""
    frame = unbalanced(seed=3)
    path = tmp_path_factory.mktemp("pq") / "panel"
    path.mkdir()
    shuffled = frame.sample(frac=1, random_state=1)
    for i, rows in enumerate(np.array_split(np.arange(len(shuffled)), 3)):
        shuffled.iloc[rows].to_parquet(path / f"part{i}.parquet", index=False)
    return path, frame


def fit(panel, vcov, backend=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return HDFE("y ~ x1 + x2", panel, absorb=ABSORB, backend=backend).fit(vcov=vcov)


def test_columns_rows_and_head(folder):
    path, frame = folder
    panel = ParquetPanel(path, entity="firm", time="year")
    assert panel.columns == list(frame.columns)
    assert panel.n_rows == len(frame)
    head = panel.head(4)
    assert isinstance(head, pd.DataFrame) and list(head.columns) == list(frame.columns)
    assert len(head) == 4
    assert "firm" in repr(panel)


@pytest.mark.parametrize("vcov", ["robust", Cluster("firm"), DriscollKraay(lags=2)], ids=str)
def test_fits_on_duckdb_equal_in_memory(folder, vcov):
    path, frame = folder
    panel = ParquetPanel(path, entity="firm", time="year")
    memory = fit(Panel(frame, entity="firm", time="year"), vcov)
    assert_same(fit(panel, vcov, DuckDBBackend(memory_limit=CAP)), memory)
    assert_allclose(fit(panel.to_panel(), vcov).params, memory.params, rtol=0, atol=1e-12)


def test_in_memory_estimator_names_both_ways(folder):
    panel = ParquetPanel(folder[0], entity="firm", time="year")
    with pytest.raises(SpecificationError, match=r"backend='duckdb'.*to_panel"):
        HDFE("y ~ x1", panel, absorb=["firm"])


def test_missing_key_column_is_named(folder):
    path, _ = folder
    with pytest.raises(SpecificationError, match=r"\['plant'\].*columns are.*firm"):
        ParquetPanel(path, entity="plant", time="year")


def test_duplicate_keys_reported_with_examples_and_fix(folder, tmp_path):
    _, frame = folder
    doubled = pd.concat([frame, frame.iloc[[3, 10]]])
    doubled.to_parquet(tmp_path / "dup.parquet", index=False)
    keys = [f"({f}, {y})" for f, y in frame.iloc[[3, 10]][["firm", "year"]].to_numpy()]
    with pytest.raises(PanelError, match=r"2 \(firm, year\) keys occur more than once") as err:
        ParquetPanel(tmp_path / "dup.parquet", entity="firm", time="year")
    assert all(k in str(err.value) for k in keys)
    assert "GROUP BY firm, year" in str(err.value)


def test_missing_keys_and_paths_refused(folder, tmp_path):
    _, frame = folder
    frame.assign(year=frame["year"].where(frame.index != 5)).to_parquet(tmp_path / "k.parquet")
    with pytest.raises(PanelError, match=r"1 rows .* no .year. key"):
        ParquetPanel(tmp_path / "k.parquet", entity="firm", time="year")
    with pytest.raises(SpecificationError, match="no Parquet file or folder"):
        ParquetPanel(tmp_path / "nowhere", entity="firm", time="year")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpecificationError, match=r"no \*\.parquet files"):
        ParquetPanel(tmp_path / "empty", entity="firm", time="year")
