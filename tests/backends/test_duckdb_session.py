"""The DuckDB backend's progress bar and the release of its working tables."""

from __future__ import annotations

import warnings

import duckdb
import numpy as np
import pytest

from spillover.backends import DuckDBBackend
from spillover.errors import DroppedRowsWarning, SpecificationError
from spillover.inference import Cluster
from spillover.models import HDFE, PanelIV, _demean
from tests.backends.test_duckdb_hdfe import ABSORB, CAP, unbalanced

WORKING = (
    "SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, '__spx') "
    "UNION ALL SELECT view_name FROM duckdb_views() WHERE starts_with(view_name, '__spx')"
)


@pytest.fixture(scope="module")
def frame():
    data = unbalanced(seed=5)
    return data.assign(z=data["x1"] + data["x2"] * 0.5 + (data.index % 7) * 0.1)


def hdfe(frame, backend, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return HDFE("y ~ x1 + x2", frame, absorb=ABSORB, backend=backend, **options)


def test_progress_bar_over_demeaning_passes(frame, monkeypatch, capsys):
    monkeypatch.setattr(_demean, "EXACT_MAX_LEVELS", 0)  # alternating projections in SQL
    loose = {"tol": 1e-4}  # a few passes are enough to show the bar
    hdfe(frame, DuckDBBackend(memory_limit=CAP, progress=True), **loose).fit(vcov="robust")
    shown = capsys.readouterr().err
    assert "demeaning passes (DuckDB)" in shown and "change=" in shown
    hdfe(frame, DuckDBBackend(memory_limit=CAP), **loose).fit(vcov="robust")
    assert capsys.readouterr().err == ""


def test_progress_bar_over_exact_absorbing(frame, capsys):
    hdfe(frame, DuckDBBackend(memory_limit=CAP, progress=True)).fit()
    assert "absorbing (DuckDB, exact)" in capsys.readouterr().err


def test_close_drops_working_tables_on_a_given_connection(frame):
    con = duckdb.connect()
    con.execute("CREATE TEMP TABLE mine AS SELECT 1 AS a")
    model = hdfe(frame, DuckDBBackend(connection=con, memory_limit=CAP))
    model.fit(vcov=Cluster("firm"))
    assert con.execute(WORKING).fetchall()  # the staged sample is kept between fits
    model.close()
    assert con.execute(WORKING).fetchall() == []
    assert con.execute("SELECT a FROM mine").fetchall() == [(1,)]  # the user's table stays
    model.close()  # idempotent
    with pytest.raises(SpecificationError, match="released by close"):
        model.fit()


def test_context_manager_closes_its_own_connection(frame):
    with hdfe(frame, DuckDBBackend(memory_limit=CAP)) as model:
        con = model._out_of_core.con
        res = model.fit(vcov="robust")
        assert con.execute(WORKING).fetchall()
    assert res.nobs > 0
    with pytest.raises(duckdb.ConnectionException):
        con.execute("SELECT 1")


def test_iv_context_manager_releases_tables(frame):
    con = duckdb.connect()
    backend = DuckDBBackend(connection=con, memory_limit=CAP)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        with PanelIV("y ~ x2 + [x1 ~ z]", frame, absorb=ABSORB, backend=backend) as model:
            model.fit(vcov="robust")
    assert con.execute(WORKING).fetchall() == []


def test_in_memory_close_is_harmless(frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        with HDFE("y ~ x1", frame.set_index(["firm", "year"]), absorb=["firm"]) as model:
            assert model.fit().nobs > 0


def test_models_sharing_a_connection_keep_their_own_tables(frame):
    """Each model's tables carry its own prefix: a second model, and closing it, leave the
    first one's sample intact (its next fit equals its first)."""
    con = duckdb.connect()
    backend = DuckDBBackend(connection=con, memory_limit=CAP)
    first = hdfe(frame, backend)
    before = first.fit(vcov="robust")
    other = hdfe(frame[frame["year"] > 2003], backend)
    assert other.fit().nobs < before.nobs
    other.close()
    after = first.fit(vcov="robust")
    assert after.nobs == before.nobs
    assert np.allclose(
        after.params, before.params, rtol=1e-12, atol=0
    )  # same sums, maybe reordered
    first.close()
    assert con.execute(WORKING).fetchall() == []
