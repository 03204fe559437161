"""Dask: the rows in the memory of a cluster's workers, local or remote.

:class:`DaskBackend` holds how to reach the cluster (a ``distributed.Client``, a scheduler
address, or a :class:`distributed.LocalCluster` it starts and closes itself);
:func:`open_source` checks the data (a pandas DataFrame or Panel, a dask DataFrame, a
ParquetPanel, a Parquet file or folder) and :func:`translated_errors` turns a worker that
died or ran out of memory into a BackendError naming the step, the partition and the fix.
Dask is an optional dependency (``pip install 'spillover[dask]'``), imported only when used.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

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
    score sums are summed across partitions on the workers. What reaches the client: the
    level table of each effect set (one row per level: firms, years, ...; built once, then
    sent to every worker to code the rows) and those sums.

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
    memory_limit : str, default "4GiB"
        Memory per local worker; a worker past 95% of it is restarted by its nanny, and a
        task that kills workers this way fails as a BackendError.
    processes : bool, default True
        Local workers as processes (True) or threads of this process (False: starts
        faster, shares the GIL; for small data and tests).
    partitions : int, optional
        Partitions a pandas DataFrame is split into; default: one per million rows, at
        least one per worker thread. A dask DataFrame or Parquet input keeps its
        partitions unless they split a level of the largest effect set (then the rows are
        shuffled once by that set into as many partitions).

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
    >>> backend = DaskBackend(n_workers=2, processes=False, memory_limit="1GiB")
    >>> backend.n_workers, backend.threads_per_worker
    (2, 1)
    >>> backend.close()  # nothing was started yet: nothing to close
    """

    def __init__(
        self,
        client: Any = None,
        *,
        n_workers: int = 2,
        threads_per_worker: int = 1,
        memory_limit: str = "4GiB",
        processes: bool = True,
        partitions: int | None = None,
    ) -> None:
        if not (client is None or isinstance(client, str) or hasattr(client, "submit")):
            raise SpecificationError(
                "DaskBackend(client=...) takes a distributed.Client, a scheduler address "
                f"such as 'tcp://host:8786', or None for a local cluster; got {client!r}."
            )
        if partitions is not None and partitions < 1:
            raise SpecificationError(f"partitions must be a positive integer, got {partitions}.")
        self.address = client if isinstance(client, str) else None
        self._client = None if isinstance(client, str) else client
        self._owned: list[Any] = []
        self.n_workers, self.threads_per_worker = n_workers, threads_per_worker
        self.memory_limit, self.processes, self.partitions = memory_limit, processes, partitions

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
            thing.close()
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
        threads = sum(self.client.nthreads().values()) or 1
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
