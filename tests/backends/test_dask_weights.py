"""Regression weights in HDFE on the Dask backend equal the weighted HDFE in memory.

Reference and tolerance as in ``test_duckdb_weights.py``: the in-memory weighted HDFE
(itself tested against pyfixest ``feols(weights=)``), on the unbalanced panel with
singletons and missing years; the same weighted algebra summed in another order, so 1e-10
absolute on coefficients and SEs of order 0.01-1 (exact absorbing), and on the forced
iterative path both sides stop at 1e-13 per pass.

Slow suite, with the other Dask tests (``test_dask_hdfe.py`` says why); the cluster is a
LocalCluster of 2 workers in this process.
"""

from __future__ import annotations

import warnings

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from spillover.backends import DaskBackend
from spillover.errors import DroppedRowsWarning, SpecificationError
from spillover.inference import Cluster, DriscollKraay
from spillover.models import HDFE, _demean
from spillover.panel import Panel
from tests.backends.test_duckdb_weights import ABSORB, KINDS, assert_same, unbalanced

pytestmark = pytest.mark.slow
VCOVS = ["unadjusted", "robust", "hc0", Cluster("firm"), Cluster("firm", "year")]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    df = unbalanced(seed=3)
    df["w"] = np.random.default_rng(4).integers(1, 6, len(df)).astype(float)
    return df


@pytest.fixture(scope="module")
def cluster():
    with DaskBackend(n_workers=2, processes=False, partitions=3) as backend:
        yield backend


def model(data, kind, backend=None, absorb=ABSORB, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return HDFE("y ~ x1 + x2", data, absorb=absorb, weights="w", weight_type=kind,
                    backend=backend, **kwargs)  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("absorb", [ABSORB, ["firm"], ["firm", "year"]], ids=str)
def test_dask_equals_in_memory(frame, cluster, kind, absorb):
    dask_model = model(frame, kind, cluster, absorb=absorb)
    memory = model(Panel(frame, entity="firm", time="year"), kind, absorb=absorb)
    for vcov in VCOVS:
        got = dask_model.fit(vcov=vcov)
        assert_same(got, memory.fit(vcov=vcov))
        assert got.info["backend"] == "Dask"


@pytest.mark.parametrize("kind", KINDS)
def test_weighted_driscoll_kraay_equals_in_memory(frame, cluster, kind):
    """Per-period sums of weighted scores on the workers, the time column from the Panel."""
    panel = Panel(frame, entity="firm", time="year")
    dask_model, memory = model(panel, kind, cluster), model(panel, kind)
    for vcov in (DriscollKraay(lags=0), DriscollKraay(lags=2)):
        assert_same(dask_model.fit(vcov=vcov), memory.fit(vcov=vcov))


def test_shuffled_dask_frame_and_iterative_path(frame, cluster, monkeypatch):
    """A dask DataFrame cutting firms across partitions, alternating projections forced."""
    monkeypatch.setattr(_demean, "EXACT_MAX_LEVELS", 0)
    shuffled = frame.sample(frac=1, random_state=0).reset_index(drop=True)
    ddf = dd.from_pandas(shuffled, npartitions=5, sort=False)
    dask_model = model(ddf, "analytic", cluster, tol=1e-13)
    memory = model(Panel(frame, entity="firm", time="year"), "analytic", tol=1e-13)
    for vcov in ("robust", Cluster("firm")):
        assert_same(dask_model.fit(vcov=vcov), memory.fit(vcov=vcov))


@pytest.mark.parametrize(
    ("value", "kind", "match"),
    [
        (-1.0, "analytic", r"negative in 1 rows.*\(7, 2006, -1.0\)"),
        (0.0, "analytic", r"zero in 1 rows.*\(7, 2006, 0.0\)"),
        (np.nan, "analytic", r"missing or infinite in 1 rows.*\(7, 2006, nan\)"),
        (1.5, "frequency", r"whole numbers.*\(7, 2006, 1.5\)"),
    ],
)
def test_bad_weights_name_the_rows(cluster, value, kind, match):
    df = unbalanced(seed=3)
    df["w"] = 1.0
    df.loc[(df["firm"] == 7) & (df["year"] == 2006), "w"] = value
    with pytest.raises(SpecificationError, match=match):
        model(df, kind, cluster, absorb=["firm", "year"])
