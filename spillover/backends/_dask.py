"""Dask: the rows in the memory of a cluster's workers, local or remote.

:class:`DaskBackend` holds how to reach the cluster (a ``distributed.Client``, a scheduler
address, or a :class:`distributed.LocalCluster` it starts and closes itself);
:func:`open_source` checks the data (a pandas DataFrame or Panel, a dask DataFrame, a
ParquetPanel, a Parquet file or folder) and :func:`translated_errors` turns a worker that
died or ran out of memory into a BackendError naming the step, the partition and the fix.
Every blocking wait on the cluster goes through :func:`wait_all` or :func:`gather`, bounded
by the backend's ``timeout``: a cluster that stops answering is a BackendError naming the
step, the partitions still waited for and workers paused for memory, never a hang.
Dask is an optional dependency (``pip install 'spillover[dask]'``), imported only when used.
"""

from __future__ import annotations

import importlib
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from spillover._validate import preview
from spillover.backends._parquet import ParquetPanel
from spillover.errors import BackendError, SpecificationError
from spillover.panel import Panel

INSTALL = (
    "Dask is not installed: pip install 'spillover[dask]' (or pip install 'dask[distributed]')."
)
#: Rows per partition when a pandas DataFrame is split (fewer partitions than workers'
#: threads are never made).
ROWS_PER_PARTITION = 1_000_000
FIX = (
    "Give each worker more memory (DaskBackend(memory_limit=...) for a local cluster, "
    "--memory-limit for dask worker), or split the data into more, smaller partitions "
    "(DaskBackend(partitions=...), or more Parquet files/row groups)."
)
#: Seconds one blocking wait on the cluster may last (DaskBackend's default ``timeout``).
TIMEOUT = 600.0


def dask_modules() -> tuple[Any, Any]:
    """``dask.dataframe`` and ``distributed``, or a BackendError saying how to install them."""
    try:
        return importlib.import_module("dask.dataframe"), importlib.import_module("distributed")
    except ImportError as exc:
        raise BackendError(INSTALL) from exc


class DaskBackend:
    """Run absorbing, moments and score sums on a Dask cluster.

    The rows are held by the workers as pandas partitions, each holding every row of its
    levels of the largest effect set (the firms, usually), so that set's means are taken
    within partitions; the other sets' per-level sums, ``X'X``, ``X'y`` and per-cluster
    and per-period score sums are summed across partitions on the workers. What reaches
    the client: the level table of each effect set (one row per level: firms, years, ...;
    built once, then sent to every worker to code the rows) and those sums.

    Parameters
    ----------
    client : distributed.Client, str or None, default None
        A connected client; or the address of a running scheduler
        (``"tcp://10.0.0.5:8786"``), to which a client is connected on first use; or None
        to start a ``distributed.LocalCluster`` on first use with ``n_workers`` worker
        processes of ``threads_per_worker`` threads and ``memory_limit`` each.
    n_workers : int, default 2
        Workers of the local cluster (only when ``client`` is None).
    threads_per_worker : int, default 1
        Threads per local worker.
    memory_limit : str, optional
        Memory per local worker process, default ``"4GiB"``; a worker past 95% of it is
        restarted by its nanny, and a task that kills workers this way fails as a
        BackendError. Refused with ``processes=False``: Dask measures a worker's memory as
        that of its whole process, which for thread workers is this process, the data and
        everything else it holds included, and pauses the workers past 80% of the limit,
        so that their tasks never run.
    processes : bool, default True
        Local workers as processes (True) or threads of this process (False: starts
        faster, shares the GIL and this process's memory, without a limit; for small data
        and tests).
    partitions : int, optional
        Partitions a pandas DataFrame is split into; default: one per million rows, at
        least one per worker thread. A dask DataFrame or Parquet input keeps its
        partitions unless they split a level of the largest effect set (then the rows are
        shuffled once by that set into as many partitions).
    timeout : float or None, default 600
        Seconds each blocking wait on the cluster may last: the tasks of one step (one
        pass over the partitions, one reduction), fetching its result, scattering a
        table, closing the client and cluster. A cluster that does not answer in time (a
        worker paused for memory or stuck, a scheduler gone) raises a BackendError naming
        the step, the partitions still waited for and any paused workers, instead of
        waiting forever. It bounds each wait, not the whole fit; None waits without limit.
        Connecting is bounded by Dask's own connect timeout
        (``distributed.comm.timeouts.connect``, 30 s by default).

    Notes
    -----
    The backend owns, and :meth:`close` (or leaving a ``with`` block) closes, only what it
    started: the local cluster and its client, or the client it connected to an address;
    a client passed in stays open. A model staged on the backend keeps its partitions in
    the workers' memory until ``model.close()`` (or leaving ``with HDFE(...) as model:``),
    until the model is deleted, or until the backend is closed: fit it before closing. The
    workers need spillover installed (they run its partition functions), as any Dask code
    does.

    Examples
    --------
    >>> from spillover.backends import DaskBackend
    >>> backend = DaskBackend(n_workers=2, processes=False, timeout=120)
    >>> backend.n_workers, backend.threads_per_worker, backend.timeout
    (2, 1, 120.0)
    >>> backend.close()  # nothing was started yet: nothing to close
    """

    def __init__(
        self,
        client: Any = None,
        *,
        n_workers: int = 2,
        threads_per_worker: int = 1,
        memory_limit: str | None = None,
        processes: bool = True,
        partitions: int | None = None,
        timeout: float | None = TIMEOUT,
    ) -> None:
        if not (client is None or isinstance(client, str) or hasattr(client, "submit")):
            raise SpecificationError(
                "DaskBackend(client=...) takes a distributed.Client, a scheduler address "
                f"such as 'tcp://host:8786', or None for a local cluster; got {client!r}."
            )
        if partitions is not None and partitions < 1:
            raise SpecificationError(f"partitions must be a positive integer, got {partitions}.")
        if timeout is not None and not timeout > 0:
            raise SpecificationError(
                f"timeout must be a positive number of seconds or None (no limit), got {timeout}."
            )
        if memory_limit is not None and not processes:
            raise SpecificationError(
                f"memory_limit={memory_limit!r} with processes=False: thread workers share "
                "this process's memory, which Dask would measure as a whole (the data and "
                "everything else here included) and pause the workers past 80% of the limit, "
                "so that their tasks never run. Leave memory_limit out for thread workers, or "
                "use processes=True."
            )
        self.address = client if isinstance(client, str) else None
        self._client = None if isinstance(client, str) else client
        self._owned: list[Any] = []
        self.n_workers, self.threads_per_worker = n_workers, threads_per_worker
        if memory_limit is None and processes:
            memory_limit = "4GiB"
        self.memory_limit = memory_limit  # None: no limit (thread workers)
        self.processes, self.partitions = processes, partitions
        self.timeout = None if timeout is None else float(timeout)

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (connected or started on first use)."""
        if self._client is None:
            _, distributed = dask_modules()
            if self.address is not None:
                try:
                    self._client = distributed.Client(self.address)
                except OSError as exc:
                    raise BackendError(
                        f"cannot reach a Dask scheduler at {self.address!r} ({exc}). Start "
                        "one there (dask scheduler), check the address and port, or use "
                        "DaskBackend() for a local cluster."
                    ) from exc
            else:
                cluster = distributed.LocalCluster(
                    n_workers=self.n_workers,
                    threads_per_worker=self.threads_per_worker,
                    memory_limit=self.memory_limit,
                    processes=self.processes,
                    dashboard_address=None,
                )
                self._owned.append(cluster)
                self._client = distributed.Client(cluster)
            self._owned.insert(0, self._client)
        return self._client

    def close(self) -> None:
        """Close the client and local cluster this backend started (no-op otherwise)."""
        owned, self._owned = self._owned, []
        for thing in owned:
            thing.close(timeout=self.timeout)
        if owned:
            self._client = None

    def __enter__(self) -> DaskBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.address or ("client" if self._client is not None else "local cluster")
        return f"DaskBackend({where}, partitions={self.partitions})"

    def partition_count(self, rows: int) -> int:
        """Partitions for a pandas DataFrame of ``rows`` rows."""
        if self.partitions is not None:
            return self.partitions
        try:
            threads = sum(self.client.nthreads(callback_timeout=self.timeout).values()) or 1
        except TimeoutError as exc:
            raise BackendError(
                f"the Dask scheduler did not say within {self.timeout:g} s how many worker "
                "threads it has. Check that it runs (its dashboard and log), give it more time "
                "with DaskBackend(timeout=...), or set DaskBackend(partitions=...)."
            ) from exc
        return max(threads, math.ceil(rows / ROWS_PER_PARTITION))


def open_source(data: Any) -> Any:
    """``data`` as a pandas DataFrame (a Panel's or named index levels as columns) or a
    dask DataFrame (a ParquetPanel's files, or a Parquet file or folder, read lazily)."""
    dd, _ = dask_modules()
    if isinstance(data, Panel):
        data = data.data
    if isinstance(data, ParquetPanel):  # checked on open (columns, keys); read by Dask
        return dd.read_parquet(_parquet_files(data.path))
    if isinstance(data, pd.DataFrame):
        named = any(name is not None for name in data.index.names)
        return data.reset_index() if named else data
    if isinstance(data, str | Path):
        return dd.read_parquet(_parquet_files(Path(data)))
    if isinstance(data, dd.DataFrame):
        return data
    raise SpecificationError(
        "data for the Dask backend must be a pandas DataFrame (or Panel), a dask DataFrame, "
        f"a ParquetPanel, or a Parquet file or folder path; got {type(data).__name__}."
    )


def time_column(data: Any) -> str | None:
    """The panel's time column, known for a Panel, a DataFrame indexed by (entity, time) and
    a ParquetPanel; None for a bare Parquet path or a dask DataFrame."""
    return key_columns(data)[1]


def key_columns(data: Any) -> tuple[str | None, str | None]:
    """The panel's entity and time columns, known as in :func:`time_column`; (None, None)
    for a bare Parquet path or a dask DataFrame."""
    if isinstance(data, ParquetPanel):
        return data.entity, data.time
    if isinstance(data, Panel):
        return data.entity_name, data.time_name
    if isinstance(data, pd.DataFrame):
        names = list(data.index.names)
        if len(names) == 2 and all(isinstance(n, str) for n in names):
            return names[0], names[1]
    return None, None


def _parquet_files(path: Path) -> list[str]:
    if path.is_dir():
        files = sorted(path.rglob("*.parquet"))
        if not files:
            raise SpecificationError(f"the folder {path} holds no *.parquet files.")
        return [str(f) for f in files]
    if path.is_file():
        return [str(path)]
    raise SpecificationError(f"no Parquet file or folder at {path}.")


@contextmanager
def translated_errors(step: str, partition: int | None = None) -> Iterator[None]:
    """A worker that died (``KilledWorker``) or ran out of memory during ``step`` as a
    BackendError naming the step, the partition and the fix."""
    _, distributed = dask_modules()
    where = f"{step}" + (f" on partition {partition}" if partition is not None else "")
    try:
        yield
    except distributed.KilledWorker as exc:
        raise BackendError(
            f"a Dask worker died while {where} (task {_task(exc)}); workers die most often "
            f"for want of memory. {FIX}"
        ) from exc
    except MemoryError as exc:
        raise BackendError(f"a Dask worker ran out of memory while {where}. {FIX}") from exc


def _task(exc: Any) -> str:
    key = getattr(exc, "task", None)
    return str(key) if key is not None else str(exc)


# ---------------------------------------------------------------------- bounded waits
def wait_all(
    futures: Sequence[Any],
    step: str,
    timeout: float | None,
    *,
    partitions: Sequence[Any] | None = None,
) -> None:
    """Return once every future has finished, failed or been cancelled; after ``timeout``
    seconds a BackendError naming ``step`` and the positions of the ``partitions``
    (futures, one per partition, that ``futures`` derive from) still unfinished. The
    wait is timed on this thread, so a cluster or event loop that stops answering cannot
    hold it."""
    if not futures:
        return
    left, lock, done = len(futures), threading.Lock(), threading.Event()

    def finished(_: Any) -> None:
        nonlocal left
        with lock:
            left -= 1
            if not left:
                done.set()

    for future in futures:
        future.add_done_callback(finished)
    if not done.wait(timeout):
        raise stalled(step, futures, timeout, partitions)


def gather(
    futures: Sequence[Any],
    step: str,
    timeout: float | None,
    *,
    partitions: Sequence[Any] | None = None,
) -> list:
    """The results of ``futures`` (a failed task raises its error), each wait bounded as
    in :func:`wait_all`."""
    wait_all(futures, step, timeout, partitions=partitions)
    out = []
    for future in futures:
        try:
            out.append(future.result(timeout=timeout))
        except TimeoutError:
            if future.status == "error":  # the task's own TimeoutError
                raise
            raise stalled(step, futures, timeout, None, fetching=True) from None
    return out


def scatter(client: Any, data: Any, timeout: float | None, *, broadcast: bool = False) -> Any:
    """``data`` sent to the workers (to every worker if ``broadcast``), as futures; after
    ``timeout`` seconds a BackendError."""
    limit = math.inf if timeout is None else timeout
    with translated_errors("sending data to the workers"):
        try:
            return client.scatter(data, broadcast=broadcast, hash=False, timeout=limit)
        except TimeoutError as exc:
            raise BackendError(
                f"the Dask cluster did not take the data within {timeout:g} s{_paused(client)}. "
                "Check that workers are connected and running (the cluster's dashboard, the "
                "workers' logs), give it more time with DaskBackend(timeout=...), or run on "
                "one machine with backend='duckdb'."
            ) from exc


def stalled(
    step: str,
    futures: Sequence[Any],
    timeout: float | None,
    partitions: Sequence[Any] | None,
    *,
    fetching: bool = False,
) -> BackendError:
    """The BackendError of a wait on the cluster that ran out of time."""
    waiting = [i for i, f in enumerate(partitions or ()) if not f.done()]
    if fetching:
        what = "sending back its result"
    elif waiting:
        which = f"partition{'s' if len(waiting) > 1 else ''} {preview(waiting)}"
        what = f"{len(waiting)} of {len(partitions)} partitions unfinished: {which}"
    else:
        what = f"{sum(not f.done() for f in futures)} of {len(futures)} tasks unfinished"
    return BackendError(
        f"the Dask cluster did not answer within {timeout:g} s while {step} ({what})"
        f"{_paused(futures[0].client)}. Check the cluster's dashboard and the workers' logs "
        "(a worker paused for memory, dead or stuck), give slow steps more time with "
        "DaskBackend(timeout=...), or run on one machine with backend='duckdb'."
    )


def _paused(client: Any) -> str:
    """``; workers paused for memory: ...`` as the scheduler reports them, if any."""
    size = importlib.import_module("dask.utils").format_bytes
    try:
        info = client.sync(client.scheduler.identity, callback_timeout=5)
    except (OSError, TimeoutError, RuntimeError):  # a diagnostic: the scheduler may be gone
        return "; the scheduler did not answer either"
    paused = [
        address
        + (f" at {size(w['metrics']['memory'])}" if "memory" in w.get("metrics", {}) else "")
        + (f" of its {size(w['memory_limit'])} limit" if w.get("memory_limit") else "")
        for address, w in info["workers"].items()
        if w.get("status") == "paused"
    ]
    if not paused:
        return ""
    return (
        f"; workers paused for memory: {'; '.join(paused)} (they run no tasks until their "
        "process uses less memory)"
    )
