"""Tasks on pandas partitions held by Dask workers: the plumbing every Dask step shares.

:class:`DaskTasks` holds a list of partition futures and runs pure functions of one
partition on them (:mod:`spillover.backends._dask_parts`): a map waited for, a reduction
combined pairwise on the workers, a transform that replaces the partitions, a shuffle by
code range. Every wait is bounded by the backend's ``timeout`` (:func:`._dask.wait_all`,
:func:`._dask.gather`), and a failed partition raises its error, a dead worker or memory
exhaustion as a BackendError naming the step and the partition. :class:`DaskStaged`
(the estimation sample) and :func:`._dask_wx.add_spatial_lags` (``W x`` per period) build
on it.
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from spillover.backends import _dask_parts as parts
from spillover.backends._checks import refuse_non_numeric
from spillover.backends._dask import DaskBackend, gather, scatter, translated_errors, wait_all

#: Keyword arguments of a task larger than this (bytes) are scattered to the workers first:
#: ``Client.map`` would put a larger one in the graph keyed by the argument's name alone
#: (distributed 2026.8), so that two steps passing ``flags=`` of that size share one key and
#: the scheduler fails on the second.
LARGE = 50_000


@dataclass(frozen=True)
class Partitions:
    """Data already on the workers: futures of pandas partitions, their column names and
    dtypes (a source the Dask steps read as they read a dask DataFrame)."""

    futures: list
    columns: list[str]
    dtypes: pd.Series


class DaskTasks:
    """Partition futures of one step or model on ``backend``'s cluster (module docstring)."""

    def __init__(self, backend: DaskBackend) -> None:
        self.backend, self.client = backend, backend.client
        self.parts: list = []

    @property
    def timeout(self) -> float | None:
        """The backend's: seconds each wait on the cluster may last."""
        return self.backend.timeout

    def _load(self, source: Any, effects: list[list[str]]) -> list:
        """The source as futures of pandas partitions; a pandas frame is split so that no
        level of its largest effect set spans two partitions."""
        if isinstance(source, Partitions):
            return list(source.futures)
        if isinstance(source, pd.DataFrame):
            n = self.backend.partition_count(len(source))
            return self._scatter(parts.split_whole_levels(source, effects, n))
        with translated_errors("reading the data"):
            return self.client.compute(source.to_delayed())

    def _scatter(self, data: Any, broadcast: bool = False) -> Any:
        return scatter(self.client, data, self.timeout, broadcast=broadcast)

    def _submit(self, step: str, fn: Callable, items: list | None, **kwargs: Any) -> list:
        items = self.parts if items is None else items
        for name, value in kwargs.items():  # sent once, under a key of its own (LARGE)
            if _nbytes(value) > LARGE:
                kwargs[name] = self._scatter(value, broadcast=True)
        token = uuid.uuid4().hex[:8]
        keys = [f"spx-{step.replace(' ', '-')}-{token}-{i}" for i in range(len(items))]
        return self.client.map(fn, items, key=keys, pure=False, **kwargs)

    def _map(self, step: str, fn: Callable, items: list | None = None, **kwargs: Any) -> list:
        """``fn(partition, **kwargs)`` on every partition, waited for; a failed partition
        raises its error (a dead worker or memory exhaustion as BackendError)."""
        futures = self._submit(step, fn, items, **kwargs)
        wait_all(futures, step, self.timeout, partitions=futures)
        raise_failed(step, futures, self.timeout)
        return futures

    def _tree(self, step: str, futures: list, combine: Callable = operator.add) -> Any:
        """Combine the futures (one per partition) pairwise on the workers; the result, on
        the client."""
        partitions = futures
        while len(futures) > 1:
            pairs = zip(futures[::2], futures[1::2], strict=False)
            odd = [futures[-1]] if len(futures) % 2 else []
            futures = [self.client.submit(combine, a, b, pure=False) for a, b in pairs] + odd
        return self._gather(step, futures, partitions)[0]

    def _gather(self, step: str, futures: list, partitions: list | None = None) -> list:
        """The results of ``futures``; a stall names the unfinished ``partitions``."""
        with translated_errors(step):
            return gather(futures, step, self.timeout, partitions=partitions or futures)

    def _transform(
        self, step: str, fn: Callable, combine: Callable = operator.add, **kw: Any
    ) -> Any:
        """Replace every partition by the frame of ``fn(partition, **kw) -> (frame, x)``;
        return the ``x`` combined (one round trip; failures as in :meth:`_reduce`)."""
        futures = self._submit(step, fn, None, **kw)
        try:
            result = self._tree(
                step, [self.client.submit(operator.getitem, f, 1) for f in futures], combine
            )
        except Exception:
            raise_failed(step, futures, self.timeout)
            raise
        self.parts = [self.client.submit(operator.getitem, f, 0) for f in futures]
        return result

    def _reduce(
        self,
        step: str,
        fn: Callable,
        combine: Callable = operator.add,
        items: list | None = None,
        **kw: Any,
    ) -> Any:
        """``fn`` on every partition (of ``items``, default the staged ones), combined
        pairwise on the workers (one round trip); a failure names the partition whose task
        failed."""
        futures = self._submit(step, fn, items, **kw)
        try:
            return self._tree(step, futures, combine)
        except Exception:
            raise_failed(step, futures, self.timeout)
            raise

    def _shuffled(self, items: list, column: str, size: int, n: int | None = None) -> list:
        """``items`` (partition futures) moved into ``n`` partitions (default: as many) so
        that each code of the integer column ``column`` (codes below ``size``) is in one:
        each split by code range, the pieces gathered by their range."""
        n = len(items) if n is None else n
        pieces = self._map("shuffling", parts.split_by_code, items, column=column, n=n, size=size)
        return self._regroup("shuffling", pieces, n)

    def _regroup(self, step: str, pieces: list, n: int | None = None) -> list:
        """Partition j of the result: piece j of every future of ``pieces`` (each a list
        of ``n`` frames, default as many as there are futures), concatenated on the
        workers."""
        n = len(pieces) if n is None else n
        moved = [
            [self.client.submit(operator.getitem, p, j, pure=False) for p in pieces]
            for j in range(n)
        ]
        out = [self.client.submit(parts.concat, *m, pure=False) for m in moved]
        wait_all(out, step, self.timeout, partitions=out)
        raise_failed(step, out, self.timeout)
        return out


def _nbytes(value: Any) -> int:
    """Bytes of the arrays in ``value`` (an array or a list or tuple of arrays)."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, list | tuple):
        return sum(_nbytes(v) for v in value)
    return 0


def raise_failed(step: str, futures: list, timeout: float | None) -> None:
    """Raise the error of the first failed future, naming its partition."""
    for i, future in enumerate(futures):
        if future.status == "error":
            with translated_errors(step, i):
                future.result(timeout=timeout)


def check_numeric(dtypes: pd.Series, columns: Sequence[str]) -> None:
    """SpecificationError naming source columns that are not numeric."""
    numeric = pd.api.types.is_numeric_dtype
    bad = [c for c in columns if not numeric(dtypes[c]) or pd.api.types.is_bool_dtype(dtypes[c])]
    refuse_non_numeric(bad, [str(dtypes[c]) for c in bad])
