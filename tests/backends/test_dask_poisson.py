"""PoissonHDFE on the Dask backend equals PoissonHDFE in memory.

Reference and tolerance: the in-memory PoissonHDFE (tested against pyfixest ``fepois`` and
the ppmlhdfe separation examples in ``tests/models/test_poisson.py``), on the unbalanced
count panel of the DuckDB Poisson tests: firms seen 1-8 of 10 years (gaps; one-year firms
are singletons), 8 firms whose outcome is zero throughout (separated by the firm effects),
regression weights, an offset and an exposure. Both sides run the same IRLS (start,
warm-started weighted sweeps, step halving) and stop when the relative deviance change
``|D_r - D_{r-1}| / (0.1 + |D_r|)`` is below 1e-13 with demeaning at 1e-13 (``TIGHT``).
Near the optimum the last step d changes D by about d'Hd, so the error it leaves,
quadratic in |d|, is of order that tolerance; the sides also sum the partitions in
another order than the in-memory arrays (~N eps). rtol 1e-8 on coefficients and standard
errors leaves a margin of 10^5 (observed below 2e-15 on this panel); deviance,
log-likelihood and pseudo R2 to 1e-10. The separated and singleton counts must agree
exactly.

The cluster is a LocalCluster of 2 thread workers in this process, shared by the module,
without a memory limit (see ``test_dask_hdfe.py``); every wait on it is bounded
(``timeout=60``). Each Poisson fit on it takes a few seconds (about 70 round trips to the
workers), so the default suite fits two models (and stages a few more for the errors);
the full grid of effects, weights and covariances, and the forced iterative absorbing,
are ``slow``.
"""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from spillover.backends import DaskBackend, _dask_irls_parts
from spillover.errors import SpecificationError
from spillover.inference import Cluster, DriscollKraay
from spillover.models import PoissonHDFE, _demean
from spillover.panel import Panel
from tests.backends.test_duckdb_poisson import (
    CONLEY,
    EFFECTS,
    FE,
    VCOVS,
    assert_same,
    counts_panel,
    located,
    model,
)

#: Seconds a wait on the test cluster may last (as in test_dask_hdfe.py).
TIMEOUT = 60
WEIGHTS = {
    "unweighted": {},
    "analytic": {"weights": "w"},
    "frequency": {"weights": "w", "weight_type": "frequency"},
}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return counts_panel()


@pytest.fixture(scope="module")
def panel(frame) -> Panel:
    return Panel(frame, entity="firm", time="year")


@pytest.fixture(scope="module")
def cluster():
    with DaskBackend(n_workers=2, processes=False, partitions=3, timeout=TIMEOUT) as backend:
        yield backend


def assert_equal_fits(data, panel, backend, absorb, vcovs, **kwargs):
    """Staged once on Dask, fitted with each covariance, compared with in memory; the
    model on Dask is returned."""
    staged = model(data, absorb, backend, **kwargs)
    memory = model(panel, absorb, **kwargs)
    assert staged.n_separated > 0 and staged.n_singletons > 0
    assert (staged.n_separated, staged.n_singletons) == (memory.n_separated, memory.n_singletons)
    for vcov in vcovs:
        res = staged.fit(vcov=vcov)
        assert_same(res, memory.fit(vcov=vcov))
        assert res.info["backend"] == "Dask" and res.model.endswith("(Dask)")
    return staged


def test_three_way_weights_offset_exposure_equal_in_memory(frame, panel, cluster):
    """Every covariance, analytic weights, offset and exposure; the data a DataFrame
    indexed by (firm, year), so Driscoll-Kraay knows the time column."""
    options = {"weights": "w", "offset": "shift", "exposure": "exposure"}
    indexed = frame.set_index(["firm", "year"])
    assert_equal_fits(indexed, panel, cluster, EFFECTS["three-way"][0], VCOVS, **options).close()


def test_dask_frame_splitting_firms_equals_in_memory(frame, panel, cluster):
    """A dask DataFrame whose partitions cut firms (rows shuffled, 4 partitions): the rows
    are moved so that each firm lies in one partition; frequency weights, two-way."""
    shuffled = frame.sample(frac=1, random_state=0).reset_index(drop=True)
    ddf = dd.from_pandas(shuffled, npartitions=4, sort=False)
    first = ddf.get_partition(0).compute()["firm"]
    assert first.isin(ddf.get_partition(1).compute()["firm"]).any()
    vcovs = ("unadjusted", "robust", Cluster("firm"), Cluster("firm", "year"))
    absorb = EFFECTS["two-way"][0]
    staged = assert_equal_fits(ddf, panel, cluster, absorb, vcovs, **WEIGHTS["frequency"])
    with pytest.raises(SpecificationError, match="time column"):  # a dask DataFrame's
        staged.fit(vcov=DriscollKraay(lags=1))  # time column is not known
    staged.close()
    with pytest.raises(SpecificationError, match="released"):
        staged.fit(vcov="robust")


@pytest.mark.slow
@pytest.mark.parametrize("effects", list(EFFECTS))
@pytest.mark.parametrize("kind", list(WEIGHTS))
def test_grid_equals_in_memory(panel, cluster, effects, kind):
    assert_equal_fits(panel, panel, cluster, EFFECTS[effects][0], VCOVS, **WEIGHTS[kind]).close()


@pytest.mark.slow
@pytest.mark.parametrize("options", [{"offset": "shift"}, {"exposure": "exposure"}], ids=str)
def test_offset_or_exposure_equals_in_memory(panel, cluster, options):
    assert_equal_fits(
        panel, panel, cluster, ["firm"], ("robust", Cluster("firm")), **options
    ).close()


def test_conley_equals_in_memory(frame, cluster):
    """Conley errors on Dask: the score sums per location and period on the workers
    (tolerance as above)."""
    data = located(frame)
    options = {"weights": "w", "weight_type": "analytic"}
    memory = model(data, ["firm", "year"], **options).fit(vcov=CONLEY)
    assert_same(model(data, ["firm", "year"], cluster, **options).fit(vcov=CONLEY), memory)


@pytest.mark.slow
def test_iterative_path_equals_in_memory(panel, cluster, monkeypatch):
    """Weighted alternating projections on the partitions inside IRLS (forced), to 1e-13."""
    monkeypatch.setattr(_demean, "EXACT_MAX_LEVELS", 0)
    vcovs = ("robust", Cluster("firm"))
    assert_equal_fits(panel, panel, cluster, EFFECTS["two-way"][0], vcovs, weights="w").close()


def test_bad_input_and_unsupported_options_named(frame, panel, cluster):
    """Refusals as on DuckDB, the rows named by firm and year."""
    with pytest.raises(SpecificationError, match=r"ReLU.*Dask backend.*separation_check=\('fe',\)"):
        PoissonHDFE("y ~ x1", frame, absorb=["firm"], backend=cluster)
    with pytest.raises(SpecificationError, match="absorbs effects"):
        PoissonHDFE("y ~ x1", frame, separation_check=FE, backend=cluster)
    with pytest.raises(SpecificationError, match=r"separated.*\(firm, year\) = .*\(3, 2"):
        model(panel, ["firm"], cluster, separation="raise")
    negative = frame.assign(y=frame["y"].where(frame.index != 5, -1.0))
    with pytest.raises(SpecificationError, match=r"non-negative.*\(firm, year, y\) = .*-1\.0"):
        model(Panel(negative, entity="firm", time="year"), ["firm"], cluster)
    bad_exposure = r"exposure must be positive.*\(firm, exposure\) = \(0, 0\.0\)"
    with pytest.raises(SpecificationError, match=bad_exposure):
        model(frame.assign(exposure=0.0), ["firm"], cluster, exposure="exposure")


def test_large_task_arguments_are_sent_once(frame, cluster):
    """Flags of more than 100 kB per task (a firm set of 10^5 levels and more), passed
    by two steps in a row, as a list too: distributed would key both by the argument's
    name and the second step would stall; they are scattered first."""
    staged = model(frame, ["firm", "year"], cluster)
    table, big = staged._out_of_core.table, np.zeros(200_000, bool)
    for _ in range(2):
        assert table.drop_levels(0, big, "dropping nothing") == 0
        flagged = _dask_irls_parts.rows_in_levels, _dask_irls_parts.add_found
        found = table._reduce("flagging", *flagged, flags=[big, big], keys=["firm"])
        assert found == (0, [])
    staged.close()
