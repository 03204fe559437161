"""PanelIV on the Dask backend equals PanelIV in memory.

Reference and tolerance: the in-memory PanelIV (itself tested against linearmodels,
pyfixest and ivreghdfe conventions), on the panels of the DuckDB IV tests: firms seen 1-7
of 10 years (gaps, single-year firms dropped as singletons of the firm effect) with firm +
year + region x year effects, and, without absorbed effects, firms seen 1-8 of 10 years
with regressors of mean 3-5 (so that centring matters). Both sides run the same 2SLS
algebra, covariance kernels and first-stage definitions; with the effects absorbed exactly
(the smaller sets have few levels) they differ only in the order of floating-point sums
(partition sums added on the workers versus numpy on ~500-600 rows; ~N eps cond, cond of
the instrument moments ~10-100): below 1e-12, so 1e-10 absolute on coefficients and SEs
(order 0.01-1) and 1e-9 relative on first-stage F statistics and partial R^2 (order
0.1-100), as for DuckDB. Measured: at most 5e-13 on coefficients and SEs (the pooled
intercept, regressors of mean 5) and 4e-14 relative on the F statistics.

The cluster is a LocalCluster of 2 workers in this process, shared by the module, without
a memory limit (``test_dask_hdfe.py`` says why), every wait bounded by ``timeout=60``. The
default suite fits each covariance once absorbed and once pooled, each weighting and a
dask DataFrame cutting firms across partitions with a handful of fits; the full matrix
(three formulas x three weightings x six covariances, absorbed and pooled) is slow.
"""

from __future__ import annotations

import warnings

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.backends import DaskBackend, ParquetPanel
from spillover.errors import DroppedRowsWarning, SpecificationError
from spillover.inference import Cluster, Conley, DriscollKraay
from spillover.models import PanelIV, _demean
from spillover.panel import Panel
from tests.backends.test_duckdb_iv import ABSORB, iv_panel
from tests.backends.test_duckdb_iv import assert_same as assert_same_fit
from tests.backends.test_duckdb_iv_pooled import VCOVS, iv_frame

#: Seconds a wait on the test cluster may last (as in ``test_dask_hdfe.py``).
TIMEOUT = 60
ONE = "y ~ x + [p ~ z1 + z2]"
TWO = "y ~ x + [p + q ~ z1 + z2 + z3]"
FORMULAS = [ONE, TWO, "y ~ 0 + x + [p ~ z1 + z2]"]
WEIGHTINGS = [{}, {"weights": "w"}, {"weights": "w", "weight_type": "frequency"}]


def with_weights(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Whole-number weights 1-5 (valid as analytic and as frequency weights)."""
    return df.assign(w=np.random.default_rng(seed).integers(1, 6, len(df)).astype(float))


@pytest.fixture(scope="module")
def absorbed() -> pd.DataFrame:
    return with_weights(iv_panel(), 7)


@pytest.fixture(scope="module")
def pooled() -> pd.DataFrame:
    return with_weights(iv_frame(), 8)


@pytest.fixture(scope="module")
def cluster():
    with DaskBackend(n_workers=2, processes=False, partitions=3, timeout=TIMEOUT) as backend:
        yield backend


def model(formula, data, backend=None, absorb=None, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return PanelIV(formula, data, absorb=absorb, backend=backend, **kwargs)


def assert_same(a, b):
    """Coefficients, SEs, nobs, df, first-stage statistics (``test_duckdb_iv.py``), and
    what the results record of the sample."""
    assert_same_fit(a, b)
    assert a.fixed_effects == b.fixed_effects
    assert a.info["backend"] == "Dask" and a.model == "2SLS (Dask)"


def assert_equal_fits(data, frame, backend, vcovs, formula=ONE, absorb=None, **kwargs):
    """Staged once on Dask, fitted with each covariance, compared with in memory."""
    staged = model(formula, data, backend, absorb, **kwargs)
    memory = model(formula, Panel(frame, entity="firm", time="year"), None, absorb, **kwargs)
    for vcov in vcovs:
        assert_same(staged.fit(vcov=vcov), memory.fit(vcov=vcov))
    return staged


def spread(staged) -> list[int]:
    """Rows of each staged partition."""
    client = staged._out_of_core.backend.client
    return client.gather([client.submit(len, p) for p in staged._out_of_core.table.parts])


@pytest.fixture(scope="module")
def on_dask(absorbed, pooled, cluster):
    """Staged once: one endogenous regressor with firm + year + region x year effects, and
    two without absorbed effects (the rows spread over the three partitions: the constant
    set's one level is not gathered into one)."""
    out = {
        "absorbed": model(ONE, Panel(absorbed, entity="firm", time="year"), cluster, ABSORB),
        "pooled": model(TWO, Panel(pooled, entity="firm", time="year"), cluster),
    }
    sizes = spread(out["pooled"])
    assert len(sizes) == 3 and min(sizes) > 0
    yield out
    for staged in out.values():
        staged.close()


@pytest.fixture(scope="module")
def in_memory(absorbed, pooled):
    return {
        "absorbed": model(ONE, Panel(absorbed, entity="firm", time="year"), absorb=ABSORB),
        "pooled": model(TWO, Panel(pooled, entity="firm", time="year")),
    }


@pytest.mark.parametrize("vcov", VCOVS, ids=str)
@pytest.mark.parametrize("case", ["absorbed", "pooled"])
def test_equals_in_memory(on_dask, in_memory, case, vcov):
    res = on_dask[case].fit(vcov=vcov)
    assert_same(res, in_memory[case].fit(vcov=vcov))
    assert (res.info["singletons dropped"] > 0) == (case == "absorbed")


@pytest.mark.parametrize(("case", "kind"), [("absorbed", "analytic"), ("pooled", "frequency")])
def test_weighted_equals_in_memory(absorbed, pooled, cluster, case, kind):
    """One weighting and covariance each here (analytic with two-way clusters absorbed,
    frequency with HC1 pooled); every covariance with each weighting, absorbed and pooled,
    in the slow full matrix below."""
    frame, absorb = (absorbed, ABSORB) if case == "absorbed" else (pooled, None)
    vcov = Cluster("firm", "year") if case == "absorbed" else "robust"
    staged = assert_equal_fits(frame, frame, cluster, (vcov,), absorb=absorb, weights="w",
                               weight_type=kind)  # fmt: skip
    assert staged.fit(vcov=vcov).info["Regression weights"] == f"{kind} (w)"


@pytest.mark.parametrize("case", ["absorbed", "pooled"])
def test_dask_frame_splitting_firms(absorbed, pooled, cluster, case):
    """A dask DataFrame whose 5 partitions cut firms (rows shuffled) gives the same fit:
    with effects the rows are moved so that each firm lies in one partition; without, they
    stay where they are (the grand means summed across partitions)."""
    frame, absorb = (absorbed, ABSORB) if case == "absorbed" else (pooled, None)
    shuffled = frame.sample(frac=1, random_state=0).reset_index(drop=True)
    ddf = dd.from_pandas(shuffled, npartitions=5, sort=False)
    first = ddf.get_partition(0).compute()["firm"]
    assert first.isin(ddf.get_partition(1).compute()["firm"]).any()
    staged = assert_equal_fits(ddf, frame, cluster, (Cluster("firm", "year"),), absorb=absorb)
    if case == "pooled":
        assert len(spread(staged)) == 5


def test_parquet_panel_and_folder(absorbed, pooled, cluster, tmp_path):
    """A ParquetPanel names its time column (Driscoll-Kraay); a bare folder does not."""
    for name, frame in (("absorbed", absorbed), ("pooled", pooled)):
        folder = tmp_path / name
        folder.mkdir()
        shuffled = frame.sample(frac=1, random_state=1)
        for i, rows in enumerate(np.array_split(np.arange(len(shuffled)), 3)):
            shuffled.iloc[rows].to_parquet(folder / f"part{i}.parquet", index=False)
    parquet = ParquetPanel(tmp_path / "absorbed", entity="firm", time="year")
    assert_equal_fits(parquet, absorbed, cluster, (DriscollKraay(lags=1),), absorb=ABSORB)
    assert_equal_fits(tmp_path / "pooled", pooled, cluster, (Cluster("firm"),))


@pytest.mark.slow
@pytest.mark.parametrize("weighting", WEIGHTINGS, ids=["unweighted", "analytic", "frequency"])
@pytest.mark.parametrize("formula", FORMULAS)
@pytest.mark.parametrize("case", ["absorbed", "pooled"])
def test_full_matrix_equals_in_memory(absorbed, pooled, cluster, case, formula, weighting):
    frame, absorb = (absorbed, ABSORB) if case == "absorbed" else (pooled, None)
    panel = Panel(frame, entity="firm", time="year")  # names the time column
    assert_equal_fits(panel, frame, cluster, VCOVS, formula, absorb, **weighting)


def test_refusals_name_the_way_out(absorbed, pooled, on_dask):
    """Driscoll-Kraay without a known time column names the ways to name it; the staged
    model stays usable."""
    staged = on_dask["absorbed"]
    bare = model(ONE, absorbed, on_dask["pooled"]._out_of_core.backend, ["firm"])
    with pytest.raises(SpecificationError, match=r"time column.*ParquetPanel.*indexed by"):
        bare.fit(vcov=DriscollKraay(lags=2))
    assert staged.fit(vcov="robust").info["backend"] == "Dask"


@pytest.mark.parametrize("case", ["absorbed", "pooled"])
def test_conley_equals_in_memory(absorbed, pooled, cluster, case):
    """Conley errors of 2SLS on Dask: the instruments' scores placed and summed per
    location and period on the workers, mapped by the first-stage coefficients, as on
    DuckDB (tolerance as above)."""
    frame, absorb = (absorbed, ABSORB) if case == "absorbed" else (pooled, None)
    rng = np.random.default_rng(9)
    firms = frame["firm"].unique()
    xy = pd.DataFrame(rng.uniform(0, 50, (len(firms), 2)), index=firms, columns=["x_km", "y_km"])
    located = frame.join(xy, on="firm")
    panel = Panel(located, entity="firm", time="year")
    spec = Conley(cutoff_km=15, lags=1, coords=("x_km", "y_km"), metric="euclidean")
    memory = model(ONE, panel, None, absorb).fit(vcov=spec)
    got = model(ONE, panel, cluster, absorb).fit(vcov=spec)
    assert_allclose(got.params, memory.params, rtol=0, atol=1e-10)
    assert_allclose(got.std_errors, memory.std_errors, rtol=0, atol=1e-10)
    assert got.info["backend"] == "Dask"


def test_bad_input_named(pooled, cluster, on_dask):
    """Bad weights name the rows by the effect columns (not the staged constant); a formula
    of transforms and an unknown cluster variable are named."""
    frame = pooled.assign(w=pooled["w"].where(pooled.index != 7, -1.0))
    row = tuple(frame.loc[7, ["firm", "year"]])
    with pytest.raises(SpecificationError, match=r"negative in 1 rows") as err:
        model(ONE, frame, cluster, ["firm"], weights="w")
    assert f"({row[0]}, " in str(err.value)
    with pytest.raises(SpecificationError, match=r"negative in 1 rows") as err:
        model(ONE, frame, cluster, weights="w")
    assert "__spx" not in str(err.value)
    with pytest.raises(SpecificationError, match="Dask backend takes plain column names"):
        model("y ~ x + [p ~ log(z1)]", pooled, cluster)
    with pytest.raises(SpecificationError, match=r"cannot cluster by \['plant'\]"):
        on_dask["pooled"].fit(vcov=Cluster("plant"))


def test_close_releases_the_partitions(pooled, cluster):
    with model(ONE, pooled, cluster) as staged:
        staged.fit(vcov="robust")
    assert staged._out_of_core.table.parts == []
    with pytest.raises(SpecificationError, match="released by close"):
        staged.fit(vcov="robust")


@pytest.mark.slow
def test_iterative_path_equals_in_memory(absorbed, cluster, monkeypatch):
    """Alternating projections on the partitions (forced for both sides) to tol 1e-13, as
    in ``test_dask_hdfe.py``: the year means summed across partitions and sent back."""
    monkeypatch.setattr(_demean, "EXACT_MAX_LEVELS", 0)
    panel = Panel(absorbed, entity="firm", time="year")
    vcovs = ("robust", Cluster("firm"))
    assert_equal_fits(panel, absorbed, cluster, vcovs, TWO, ["firm", "year"], tol=1e-13)
