"""HDFE on the Dask backend equals HDFE in memory.

Reference and tolerance: the in-memory HDFE (itself tested against pyfixest and reghdfe
conventions), on the same unbalanced panel as the DuckDB tests (firms seen 1-7 of 10
years, with gaps and singletons, 6 regions). With firm + year + region x year the smaller
sets have few levels, so both sides solve the absorbing projection exactly (no iteration)
and differ only in the order of floating-point sums over ~500 rows (~N eps cond, below
1e-13): 1e-10 absolute on coefficients and standard errors of order 0.01-1 leaves a wide
margin, and the same bound holds for one- and two-way effects (group means only, or exact
projection). On the iterative path (forced below) both sides stop when a pass changes
values by less than tol = 1e-13 of the column scale, far below 1e-10 on this
well-connected panel.

The cluster is a LocalCluster of 2 workers in this process (``processes=False``: starts in
a second), shared by the module, without a memory limit: Dask measures a thread worker's
memory as that of the whole test process, which after the rest of the suite can pass 80% of
a limit and pause the workers, so that gather waits forever (seen as stalls in full-suite
runs). Every wait on it is bounded (``timeout=60``), so a stall fails the test with the
step named instead of hanging the run. The worker-death test starts one worker process,
so that it can die.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from pathlib import Path
from types import SimpleNamespace

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from distributed import KilledWorker
from distributed.core import Status
from numpy.testing import assert_allclose

from spillover.backends import DaskBackend, ParquetPanel, _dask_parts, resolve_backend
from spillover.errors import BackendError, DroppedRowsWarning, PanelError, SpecificationError
from spillover.inference import Cluster, DriscollKraay
from spillover.models import HDFE, _demean
from spillover.panel import Panel
from tests.backends.test_duckdb_hdfe import ABSORB, VCOVS, assert_same, unbalanced

#: Seconds a wait on the test cluster may last: far above any step on ~500 rows, even on a
#: loaded machine, and short enough that a stall fails fast.
TIMEOUT = 60


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return unbalanced()


@pytest.fixture(scope="module")
def cluster():
    with DaskBackend(n_workers=2, processes=False, partitions=3, timeout=TIMEOUT) as backend:
        yield backend


def model(data, backend=None, absorb=ABSORB, formula="y ~ x1 + x2", **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return HDFE(formula, data, absorb=absorb, backend=backend, **kwargs)


def fit(data, vcov, backend=None, **kwargs):
    return model(data, backend, **kwargs).fit(vcov=vcov)


def in_memory(frame, vcov, **kwargs):
    return fit(Panel(frame, entity="firm", time="year"), vcov, **kwargs)


def assert_equal_fits(data, frame, backend, vcovs, **kwargs):
    """Staged once on Dask, fitted with each covariance, compared with in memory."""
    staged = model(data, backend, **kwargs)
    memory = model(Panel(frame, entity="firm", time="year"), **kwargs)
    for vcov in vcovs:
        assert_same(staged.fit(vcov=vcov), memory.fit(vcov=vcov))


@pytest.fixture(scope="module")
def on_dask(frame, cluster):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return HDFE("y ~ x1 + x2", frame, absorb=ABSORB, backend=cluster)


@pytest.mark.parametrize("vcov", VCOVS, ids=str)
def test_three_way_equals_in_memory(frame, on_dask, vcov):
    assert on_dask.n_singletons > 0
    res = on_dask.fit(vcov=vcov)
    assert_same(res, in_memory(frame, vcov))
    assert res.info["backend"] == "Dask"


@pytest.mark.parametrize("absorb", [["firm"], ["firm", "year"]], ids=["one-way", "two-way"])
def test_one_and_two_way_equal_in_memory(frame, cluster, absorb):
    vcovs = ("unadjusted", "robust", Cluster("firm"), Cluster("firm", "year"))
    assert_equal_fits(frame, frame, cluster, vcovs, absorb=absorb)


def test_dask_frame_splitting_firms_is_shuffled(frame, cluster):
    """A dask DataFrame whose partitions cut firms (rows shuffled, 5 partitions) gives the
    same fit: the rows are moved so that each firm lies in one partition."""
    shuffled = frame.sample(frac=1, random_state=0).reset_index(drop=True)
    ddf = dd.from_pandas(shuffled, npartitions=5, sort=False)
    first = ddf.get_partition(0).compute()["firm"]
    assert first.isin(ddf.get_partition(1).compute()["firm"]).any()
    assert_equal_fits(ddf, frame, cluster, ("robust", Cluster("firm", "year")))


def test_parquet_folder_and_file(frame, cluster, tmp_path):
    folder = tmp_path / "panel"
    folder.mkdir()
    shuffled = frame.sample(frac=1, random_state=1)
    for i, rows in enumerate(np.array_split(np.arange(len(shuffled)), 3)):
        shuffled.iloc[rows].to_parquet(folder / f"part{i}.parquet", index=False)
    assert_same(fit(folder, Cluster("firm"), cluster), in_memory(frame, Cluster("firm")))
    part = pd.read_parquet(folder / "part0.parquet")
    assert_same(fit(folder / "part0.parquet", "robust", cluster), in_memory(part, "robust"))


def test_iterative_path_equals_in_memory(frame, cluster, monkeypatch):
    """Alternating projections on the partitions (forced for both sides), to tol 1e-13:
    the year means are summed across partitions and sent back (firm + year: ~20 passes)."""
    monkeypatch.setattr(_demean, "EXACT_MAX_LEVELS", 0)
    vcovs = ("robust", Cluster("firm"))
    assert_equal_fits(frame, frame, cluster, vcovs, absorb=["firm", "year"], tol=1e-13)


@pytest.mark.slow
def test_iterative_three_way_equals_in_memory(frame, cluster, monkeypatch):
    """As above with region x year too (~50 passes of three sweeps)."""
    monkeypatch.setattr(_demean, "EXACT_MAX_LEVELS", 0)
    assert_equal_fits(frame, frame, cluster, ("robust", Cluster("firm")), tol=1e-13)


@pytest.mark.parametrize(
    ("formula", "absorb", "singletons"),
    [
        ("y ~ x1 + x2 - 1", ABSORB, "drop"),  # no intercept
        ("y ~ x1", ["firm", "year"], "keep"),  # singletons kept
        ("y ~ x2", ["region:year", "firm"], "drop"),  # interaction listed first
    ],
)
def test_other_specifications_equal_in_memory(frame, cluster, formula, absorb, singletons):
    data = frame.assign(region=frame["region"].map("r{}".format))
    vcovs = ("unadjusted", Cluster("firm"))
    kwargs = dict(absorb=absorb, formula=formula, singletons=singletons)
    assert_equal_fits(data, data, cluster, vcovs, **kwargs)


def test_client_and_address(frame, cluster):
    """A client passed in stays open after close(); an address gets a client of its own."""
    client = cluster.client
    with DaskBackend(client) as passed:
        assert_same(fit(frame, "robust", passed), in_memory(frame, "robust"))
    assert client.status == "running"
    with DaskBackend(client.scheduler.address, partitions=2) as remote:
        assert_same(fit(frame, "robust", remote), in_memory(frame, "robust"))
        own = remote.client
    assert own is not client and own.status == "closed"
    assert isinstance(resolve_backend("dask"), DaskBackend)


def test_bad_input_named(frame, cluster):
    with pytest.raises(SpecificationError, match=r"distributed\.Client"):
        DaskBackend(client=42)
    with pytest.raises(SpecificationError, match="not numeric"):
        fit(frame.assign(x1=frame["x1"].astype(str)), "robust", cluster)
    with pytest.raises(PanelError, match=r"missing values.*x2"):
        fit(frame.assign(x2=frame["x2"].where(frame.index % 40 != 0)), "robust", cluster)
    with pytest.raises(SpecificationError, match="plain column names"):
        HDFE("y ~ log(x1)", frame, absorb=["firm"], backend=cluster)
    with pytest.raises(SpecificationError, match="Dask backend must be"):
        fit([1, 2], "robust", cluster)
    with pytest.raises(SpecificationError, match=r"cannot cluster by \['plant'\]"):
        fit(frame, Cluster("plant"), cluster)


def _out_of_memory(*args, **kwargs):
    raise MemoryError("injected: the partition did not fit")


def test_memory_exhaustion_names_step_partition_and_fix(frame, cluster, monkeypatch):
    model = HDFE("y ~ x1 + x2", frame, absorb=["firm", "year"], backend=cluster)
    monkeypatch.setattr(_dask_parts, "moments", _out_of_memory)
    with pytest.raises(BackendError, match=r"memory while forming X'X.*on partition \d") as err:
        model.fit(vcov="robust")
    assert "memory_limit" in str(err.value) and "more, smaller partitions" in str(err.value)


def _killed(*args, **kwargs):
    worker = SimpleNamespace(address="tcp://127.0.0.1:1")
    raise KilledWorker("spx-summing-scores-by-cluster-0", worker, 3)


def test_killed_worker_names_step_partition_and_fix(frame, cluster, monkeypatch):
    """KilledWorker (the scheduler's verdict after a task killed its workers) injected into
    one step becomes BackendError naming the step, the partition and the fix."""
    staged = model(frame, cluster, absorb=["firm", "year"])
    monkeypatch.setattr(_dask_parts, "score_sums", _killed)
    with pytest.raises(BackendError, match=r"worker died while summing scores.*partition \d") as e:
        staged.fit(vcov=Cluster("firm"))
    assert "memory_limit" in str(e.value) and "more, smaller partitions" in str(e.value)


def _die(*args, **kwargs):
    os._exit(1)  # the worker process dies, as when the OS kills it for memory


@pytest.mark.slow
def test_dead_worker_is_a_backend_error(frame, monkeypatch):
    """A worker process really killed during a step: KilledWorker becomes BackendError
    (one worker process, no retries; ~10 s to start a process importing spillover)."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        DaskBackend(n_workers=1, processes=True, memory_limit="2GiB", partitions=2) as backend,
    ):
        model = HDFE("y ~ x1 + x2", frame, absorb=["firm", "year"], backend=backend)
        monkeypatch.setattr(_dask_parts, "moments", _die)
        with pytest.raises(BackendError, match=r"worker died while forming X'X.*partition \d"):
            model.fit(vcov="robust")
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_level_split_keeps_levels_whole(frame):
    chunks = _dask_parts.split_whole_levels(frame, [["year"], ["firm"]], 4)
    assert sum(len(c) for c in chunks) == len(frame) and len(chunks) == 4
    firms = [set(c["firm"]) for c in chunks]
    assert all(not (a & b) for i, a in enumerate(firms) for b in firms[i + 1 :])


def test_readme_example_equals_duckdb(tmp_path, monkeypatch):
    """The README's Dask block after its DuckDB block: coefficients and SEs equal DuckDB's
    to 1e-10 relative (same algebra, same block inverse; only the order of sums differs)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Registers bigger than memory") :]
    duck = section.split("```python\n")[1].split("```")[0]
    on_dask = section[section.index("### On a Dask cluster") :].split("```python\n")[1]
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        exec(compile(duck, "README.md (DuckDB)", "exec"), namespace)
        exec(compile(on_dask.split("```")[0], "README.md (Dask)", "exec"), namespace)
    ours, ref = namespace["on_dask"], namespace["out_of_core"]
    assert_allclose(ours.params, ref.params, rtol=1e-10, atol=0)
    assert_allclose(ours.std_errors, ref.std_errors, rtol=1e-10, atol=0)
    assert (ours.nobs, ours.df_resid, ours.info["backend"]) == (ref.nobs, ref.df_resid, "Dask")


def test_unreachable_scheduler_is_named():
    """Nothing listens on port 9 here; the connect timeout is cut to 1 s for the test."""
    address = "tcp://127.0.0.1:9"
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
        pytest.raises(BackendError, match=r"cannot reach a Dask scheduler at 'tcp://127\.0"),
    ):
        _ = DaskBackend(address).client


def test_parquet_panel_equals_in_memory(frame, cluster, tmp_path):
    """A ParquetPanel names its time column: Driscoll-Kraay runs on it too."""
    folder = tmp_path / "panel"
    folder.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), 2)):
        frame.iloc[rows].to_parquet(folder / f"part{i}.parquet", index=False)
    panel = ParquetPanel(folder, entity="firm", time="year")
    memory = Panel(frame, entity="firm", time="year")
    assert_equal_fits(panel, frame, cluster, (Cluster("firm"), DriscollKraay(lags=2)))
    assert_same(fit(panel, "robust", cluster), fit(memory, "robust"))


@pytest.mark.parametrize("year_gap", [False, True], ids=["panel", "2004-absent"])
def test_driscoll_kraay_equals_in_memory(frame, cluster, year_gap):
    """Per-year score sums summed on the workers, the Bartlett kernel in the registry: the
    in-memory algebra summed in another order, so 1e-10 (SEs of order 0.01-0.1), for 0, 1
    and 3 lags on the unbalanced panel (firms with gaps, singletons dropped). With 2004
    absent from the whole panel, 2003 and 2005 are two calendar years apart as in memory;
    counting periods by rank instead changes the SEs by far more than the tolerance."""
    data = frame[frame["year"] != 2004] if year_gap else frame
    panel = Panel(data, entity="firm", time="year")
    lags = [DriscollKraay(lags=n) for n in (0, 1, 3)]
    assert_equal_fits(panel, data, cluster, lags)
    if year_gap:
        ranks = data.assign(year=data["year"].rank(method="dense").astype(int))
        by_rank = fit(Panel(ranks, entity="firm", time="year"), DriscollKraay(lags=3))
        got = fit(panel, DriscollKraay(lags=3), cluster)
        assert np.abs(by_rank.std_errors - got.std_errors).max() > 1e-6


def test_driscoll_kraay_needs_the_time_column(frame, on_dask):
    """A frame without (entity, time) index names no time column: the error says how to
    name it and leaves the staged model usable."""
    with pytest.raises(SpecificationError, match=r"time column.*ParquetPanel.*indexed by"):
        on_dask.fit(vcov=DriscollKraay(lags=2))
    assert_same(on_dask.fit(vcov="robust"), in_memory(frame, "robust"))


def test_close_releases_the_partitions(frame, cluster):
    with model(frame, cluster) as staged:
        staged.fit(vcov="robust")
    assert staged._out_of_core.table.parts == []
    staged.close()  # idempotent
    with pytest.raises(SpecificationError, match="released by close"):
        staged.fit(vcov="robust")


def test_thread_workers_have_no_memory_limit(cluster):
    """The stall's cause, ruled out: thread workers measure this whole process's memory, so
    a limit would pause them once the process grows; they get none, and asking is refused."""
    limits = cluster.client.run(lambda dask_worker: dask_worker.memory_manager.memory_limit)
    assert list(limits.values()) == [None, None]
    with pytest.raises(SpecificationError, match=r"processes=False.*pause the workers"):
        DaskBackend(processes=False, memory_limit="1GiB")
    assert DaskBackend().memory_limit == "4GiB"  # worker processes keep theirs
    for bad in (0, -1.0):
        with pytest.raises(SpecificationError, match="timeout must be a positive number"):
            DaskBackend(timeout=bad)


_RELEASE = threading.Event()


def _stuck(*args, **kwargs):
    _RELEASE.wait(TIMEOUT)  # a task that does not finish until the test releases it
    raise RuntimeError("released")


@pytest.fixture
def fitted(frame, cluster):
    """A model staged and fitted once (its absorbing is cached), on a backend of its own
    sharing the module's cluster, so that a test may shorten its timeout for the next fit."""
    backend = DaskBackend(cluster.client, partitions=3, timeout=TIMEOUT)
    staged = model(frame, backend, absorb=["firm", "year"])
    staged.fit(vcov="robust")
    yield staged, backend
    staged.close()


def test_stalled_step_is_a_backend_error_naming_step_and_fix(fitted, monkeypatch):
    """A step whose tasks do not finish within the timeout (injected: they block until
    released) fails after that time, naming the step, the partitions and the fixes."""
    staged, backend = fitted
    backend.timeout = 0.5
    monkeypatch.setattr(_dask_parts, "moments", _stuck)
    _RELEASE.clear()
    try:
        with pytest.raises(BackendError) as err:
            staged.fit(vcov="robust")
    finally:
        _RELEASE.set()
    message = str(err.value)
    assert "did not answer within 0.5 s while forming X'X and X'y" in message
    assert "3 of 3 partitions unfinished: partitions 0, 1, 2" in message
    assert "dashboard" in message and "DaskBackend(timeout=...)" in message
    assert "backend='duckdb'" in message


def test_paused_workers_are_named_in_the_stall(frame, fitted):
    """Workers paused (as Dask pauses them for memory) run no task: the wait times out and
    the error names them."""
    staged, backend = fitted
    client = backend.client

    def set_status(status):
        def change(dask_worker):
            dask_worker.status = status

        client.run(change)

    backend.timeout = 0.5
    set_status(Status.paused)
    try:
        with pytest.raises(BackendError, match=r"forming X'X.*workers paused for memory: "):
            staged.fit(vcov="robust")
    finally:
        set_status(Status.running)
    backend.timeout = TIMEOUT
    assert_same(staged.fit(vcov="robust"), in_memory(frame, "robust", absorb=["firm", "year"]))
