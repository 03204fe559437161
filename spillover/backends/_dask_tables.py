"""Row-level transforms and small reductions of staged rows held by Dask workers.

:class:`DaskStaged` is the Dask twin of :class:`spillover.backends.Staged`: the same
methods with the same results, run as tasks on pandas partitions held by the workers
(``distributed`` futures). Each partition holds the value columns ``__v0`` (y),
``__v1``... (float64), one integer code per effect set (``__e0``, ``__e1``, ...; codes
index each set's sorted level table, built once from per-partition distinct values) and
the carried source columns. Every level of one effect set, the *local* set (the largest),
lies in a single partition, so that set's means, the group-sorted pieces of
:meth:`sum_by_group` and its singletons are worked out within partitions; for any other set
the per-level sums are added across partitions and the means sent back to the workers.
A step that needs another set local shuffles the rows by it once (each partition split by
code range, the pieces gathered by their new partition). Reductions are added pairwise on
the workers (a tree), so only their result reaches the client. The pure partition
functions are in :mod:`spillover.backends._dask_parts`; nothing here estimates.
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from spillover.backends import _dask_parts as parts
from spillover.backends._checks import (
    refuse_missing,
    refuse_non_finite,
    refuse_non_numeric,
    refuse_weights,
)
from spillover.backends._dask import DaskBackend, gather, scatter, translated_errors, wait_all
from spillover.backends._dask_parts import Residual

#: Keyword arguments of a task larger than this (bytes) are scattered to the workers first:
#: ``Client.map`` would put a larger one in the graph keyed by the argument's name alone
#: (distributed 2026.8), so that two steps passing ``flags=`` of that size share one key and
#: the scheduler fails on the second.
LARGE = 50_000


class DaskStaged:
    """The estimation sample of one model as pandas partitions on Dask workers.

    Parameters
    ----------
    backend : DaskBackend
        Whose client runs the tasks.
    source : pandas.DataFrame or dask DataFrame
        The data (:func:`spillover.backends._dask.open_source`).
    columns, effects, keep, weights, frequency, keys :
        As for :class:`spillover.backends.Staged`: y and the regressors, the effect sets
        as lists of source columns, further source columns to carry, the column of
        regression weights (checked as there; every reduction then weighted), whether they
        are frequency weights, the columns naming rows in the weight errors.
    """

    def __init__(
        self,
        backend: DaskBackend,
        source: Any,
        columns: Sequence[str],
        effects: Sequence[Sequence[str]],
        keep: Sequence[str] = (),
        weights: str | None = None,
        frequency: bool = False,
        keys: Sequence[str] = (),
    ) -> None:
        self.backend, self.client = backend, backend.client
        self.frequency = frequency
        self._bounds: list[int] | None = None
        self._means: np.ndarray | None = None
        self._parts: list = []
        self.k, self.n_effects = len(columns), len(effects)
        effects = [list(e) for e in effects]
        _check_numeric(source.dtypes, [*columns, *([weights] if weights is not None else [])])
        self.parts = self._load(source, backend, effects)
        if weights is not None:
            self._check_weights(weights, frequency, keys)
        self._check_missing([*columns, *(p for e in effects for p in e)])
        distinct = self._map("listing levels", parts.distinct, effects=effects)
        local_counts = np.array(
            self._gather(
                "listing levels",
                [self.client.submit(parts.lengths, d, pure=False) for d in distinct],
            )
        )
        tables = self._tree("listing levels", distinct, parts.union)
        #: Size of each set's code space (codes index the level tables).
        self.sizes = [len(t) for t in tables]
        self.local = int(np.argmax(self.sizes))
        encoded = self._scatter([_level_index(t) for t in tables], broadcast=True)
        self.parts = self._map(
            "coding levels",
            parts.encode,
            columns=list(columns),
            effects=effects,
            levels=encoded,
            keep=list(dict.fromkeys(keep)),
            weight=weights,
        )
        del distinct, encoded
        if local_counts[:, self.local].sum() > self.sizes[self.local]:
            self._shuffle(self.local)
        refuse_non_finite(columns, self._reduce("checking values", parts.non_finite, k=self.k))

    @property
    def parts(self) -> list:
        """Futures of the staged partitions."""
        return self._parts

    @parts.setter
    def parts(self, futures: list) -> None:
        self._parts = futures
        self._bounds = self._means = None  # rows or values changed

    # ------------------------------------------------------------------ task plumbing
    def _load(self, source: Any, backend: DaskBackend, effects: list[list[str]]) -> list:
        """The source as futures of pandas partitions; a pandas frame is split so that no
        level of its largest effect set spans two partitions."""
        if isinstance(source, pd.DataFrame):
            chunks = parts.split_whole_levels(source, effects, backend.partition_count(len(source)))
            return self._scatter(chunks)
        with translated_errors("reading the data"):
            return self.client.compute(source.to_delayed())

    def _scatter(self, data: Any, broadcast: bool = False) -> Any:
        return scatter(self.client, data, self.timeout, broadcast=broadcast)

    @property
    def timeout(self) -> float | None:
        """The backend's: seconds each wait on the cluster may last."""
        return self.backend.timeout

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
        _raise_failed(step, futures, self.timeout)
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
            _raise_failed(step, futures, self.timeout)
            raise
        self.parts = [self.client.submit(operator.getitem, f, 0) for f in futures]
        return result

    def _reduce(self, step: str, fn: Callable, combine: Callable = operator.add, **kw: Any):
        """``fn`` on every partition, combined pairwise on the workers (one round trip); a
        failure names the partition whose task failed."""
        futures = self._submit(step, fn, None, **kw)
        try:
            return self._tree(step, futures, combine)
        except Exception:
            _raise_failed(step, futures, self.timeout)
            raise

    def _shuffle(self, column: int) -> None:
        """Move the rows so that every level of effect set ``column`` is in one partition."""
        self.parts = self._shuffled(self.parts, column)
        self.local = column

    def _shuffled(self, items: list, column: int) -> list:
        """``items`` (partition futures) moved so that each level of set ``column`` is in
        one partition: each split by code range, the pieces gathered by their range."""
        n = len(items)
        pieces = self._map(
            "shuffling", parts.split_by_code, items, column=f"__e{column}", n=n,
            size=self.sizes[column],
        )  # fmt: skip
        moved = [
            [self.client.submit(operator.getitem, p, j, pure=False) for p in pieces]
            for j in range(n)
        ]
        out = [self.client.submit(parts.concat, *m, pure=False) for m in moved]
        wait_all(out, "shuffling", self.timeout, partitions=out)
        _raise_failed("shuffling", out, self.timeout)
        return out

    def _localize(self, column: int) -> None:
        if column != self.local:
            self._shuffle(column)

    def _check_weights(self, column: str, frequency: bool, keys: Sequence[str]) -> None:
        """SpecificationError naming rows whose weight fails a check (as on DuckDB)."""
        found = self._reduce(
            "checking weights", parts.bad_weights, parts.add_weight_checks, column=column,
            frequency=frequency, keys=list(keys),
        )  # fmt: skip
        for i, (n, rows) in enumerate(found):
            if n:
                refuse_weights(column, i, n, keys, rows)

    def _check_missing(self, columns: Sequence[str]) -> None:
        cols = list(dict.fromkeys(columns))
        counts = self._reduce("checking values", parts.null_counts, columns=cols)
        refuse_missing(cols, counts, "e.g. ddf.dropna(subset=[...])")

    # ------------------------------------------------------------------ transforms
    def drop_singletons(self) -> int:
        """Drop rows alone in a level of any effect set, repeatedly; return the count."""
        dropped = 0
        while True:
            before = dropped
            for i in range(self.n_effects):
                dropped += self.drop_singletons_of(i)
            if dropped == before:
                return int(dropped)

    def drop_singletons_of(self, i: int) -> int:
        """Drop rows alone in their level of effect set ``i`` (one pass); return the count."""
        column = f"__e{i}"
        if i == self.local:
            return self._transform("dropping singletons", parts.drop_singletons, column=column)
        counts = self._reduce(
            "dropping singletons", parts.level_counts, column=column, size=self.sizes[i]
        )
        return self.drop_levels(i, counts == 1, "dropping singletons")

    def drop_levels(self, i: int, flags: np.ndarray, step: str) -> int:
        """Drop the rows of the levels of effect set ``i`` flagged in ``flags`` (one bool
        per code); return the count."""
        if not flags.any():
            return 0
        return int(self._transform(step, parts.drop_flagged, column=f"__e{i}", flags=flags))

    def sweep(
        self, big: int, small: Sequence[int] = (), offsets: Sequence[int] = (), gamma: Any = None
    ) -> np.ndarray:
        """Replace each value column v by ``v - mean_F(v) - (S g - mean_F(S g))`` (as
        :meth:`spillover.backends.Staged.sweep`; the same return value)."""
        if small or big == self.local:
            self._localize(big)
            if gamma is not None:
                gamma = self._scatter(gamma, broadcast=True)
            removed = self._transform(
                "absorbing effects", parts.sweep_local, np.maximum, k=self.k, big=big,
                small=list(small), offsets=list(offsets), gamma=gamma,
            )  # fmt: skip
            return np.zeros(self.k) if small else removed
        size = self.sizes[big]
        sums = self._reduce(
            "absorbing effects", parts.level_sums, k=self.k, column=f"__e{big}", size=size
        )
        present = sums[:, -1] > 0
        means = np.zeros((size, self.k))
        means[present] = sums[present, :-1] / sums[present, -1:]
        scattered = self._scatter(means, broadcast=True)
        self._transform(
            "absorbing effects", parts.subtract_means, k=self.k, column=f"__e{big}", means=scattered
        )
        return np.abs(means[present]).max(axis=0) if present.any() else np.zeros(self.k)

    # ------------------------------------------------------------------ reductions
    def count(self) -> int:
        return int(self._tree("counting rows", [self.client.submit(len, p) for p in self.parts]))

    def levels(self) -> list[int]:
        """Levels present of each effect set."""
        present = self._reduce(
            "counting levels", parts.uniques, parts.union_uniques, n=self.n_effects
        )
        return [len(u) for u in present]

    def code_bounds(self) -> list[int]:
        """One past the largest code of each effect set (kept until rows are dropped)."""
        if self._bounds is None:
            top = self._reduce("counting levels", parts.max_codes, np.maximum, n=self.n_effects)
            self._bounds = [int(t) + 1 for t in top]
        return self._bounds

    def means(self) -> np.ndarray:
        """Column means of the value columns (k,; kept until the values change)."""
        if self._means is None:
            sums = self._reduce("taking means", parts.column_sums, k=self.k)
            self._means = sums[:-1] / sums[-1]
        return self._means

    def sum_by_group(
        self,
        big: int,
        small: Sequence[int],
        offsets: Sequence[int],
        part: Callable[[np.ndarray, list[np.ndarray]], Any],
        start: Any,
    ) -> Any:
        """``start`` plus the sum over partitions of ``part(groups, codes)`` (each partition
        holds whole levels of ``big``, sorted by it). If ``big`` is not the local set,
        only its codes and those of ``small`` are shuffled by it, into a temporary copy."""
        step = "forming the normal matrix"
        kw = dict(big=big, small=list(small), offsets=list(offsets), part=part)
        if big == self.local:
            return start + self._reduce(step, parts.by_group, **kw)
        columns = [f"__e{i}" for i in dict.fromkeys([big, *small])]
        codes = self._shuffled(self._map(step, parts.select, columns=columns), big)
        futures = self._submit(step, parts.by_group, codes, **kw)
        return start + self._tree(step, futures)

    def projected_sums(self, big: int, small: Sequence[int], offsets: Sequence[int], size: int):
        """``S' M_F v``: (size x k) sums by small level of the values minus their ``big``
        group mean."""
        self._localize(big)
        return self._reduce(
            "projecting the effects",
            parts.projected_sums,
            k=self.k,
            big=big,
            small=list(small),
            offsets=list(offsets),
            size=size,
        )

    def edges(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (level of set a, level of set b) pairs present."""
        pairs = self._reduce("pairing levels", parts.pairs, parts.union_pairs, a=a, b=b)
        return pairs[:, 0], pairs[:, 1]

    def moments(self, shift: np.ndarray, intercept: bool) -> tuple[np.ndarray, int]:
        """``Z'Z`` of z = (y, [1], x...) with ``z_j = v_j + shift_j``, and the rows."""
        gram, n = self._reduce(
            "forming X'X and X'y",
            parts.moments,
            parts.add_pair,
            k=self.k,
            shift=np.asarray(shift, float),
            intercept=intercept,
        )
        return gram, int(n)

    def residual(self, shift: np.ndarray, intercept: bool, b: np.ndarray) -> Residual:
        """e = y - X b, as the small handle the partition functions evaluate."""
        return Residual(self.k, np.asarray(shift, float), bool(intercept), np.asarray(b, float))

    def hc_meat(self, resid: Residual) -> np.ndarray:
        """``sum_i e_i^2 x_i x_i'``, times ``w_i^2`` (analytic) or ``w_i`` (frequency)."""
        return self._reduce(
            "forming the robust meat", parts.hc_meat, resid=resid, frequency=self.frequency
        )

    def weight_total(self) -> float:
        """``sum w`` over the rows (the number of rows unweighted)."""
        return float(self._reduce("taking means", parts.column_sums, k=0)[-1])

    def score_sums(self, resid: Residual, by: Sequence[str]) -> tuple[list, np.ndarray]:
        """Per cell of the columns ``by``: their labels and ``sum e x'`` (cells x K)."""
        frame = self._reduce(
            "summing scores by cluster",
            parts.score_sums,
            parts.add_frames,
            resid=resid,
            by=list(by),
        )
        labels = [frame.index.get_level_values(i).to_numpy() for i in range(len(by))]
        return labels, frame.to_numpy(dtype=float)

    def null_count(self, column: str) -> int:
        return int(self._reduce("checking values", parts.null_counts, columns=[column])[0])

    def nested(self, column: str) -> list[bool]:
        """For each effect set: True if every level lies in one value of ``column``."""
        spans = self._reduce(
            "checking nesting",
            parts.value_spans,
            parts.merge_spans,
            n=self.n_effects,
            column=column,
        )
        return [bool((s["min"] == s["max"]).all()) for s in spans]

    def sums_of_squares(self, shift: np.ndarray, centre: float, resid: Residual):
        """``sum e^2`` and ``sum (y_within - centre)^2``, y_within = v_0 + shift_0."""
        got = self._reduce(
            "summing squares",
            parts.sums_of_squares,
            resid=resid,
            y_shift=float(shift[0]),
            centre=float(centre),
        )
        return float(got[0]), float(got[1])

    def column_scale(self) -> np.ndarray:
        """Largest absolute value of each value column (k,)."""
        return self._reduce("scaling columns", parts.column_scale, np.maximum, k=self.k)

    def centred_square_sum(self, j: int) -> float:
        """``sum (v_j - mean v_j)^2`` (before any sweep: the total sum of squares of y)."""
        centre = float(self.means()[j])
        return float(self._reduce("summing squares", parts.centred_squares, j=j, centre=centre))


def _nbytes(value: Any) -> int:
    """Bytes of the arrays in ``value`` (an array or a list or tuple of arrays)."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, list | tuple):
        return sum(_nbytes(v) for v in value)
    return 0


def _raise_failed(step: str, futures: list, timeout: float | None) -> None:
    """Raise the error of the first failed future, naming its partition."""
    for i, future in enumerate(futures):
        if future.status == "error":
            with translated_errors(step, i):
                future.result(timeout=timeout)


def _check_numeric(dtypes: pd.Series, columns: Sequence[str]) -> None:
    """SpecificationError naming source columns that are not numeric."""
    numeric = pd.api.types.is_numeric_dtype
    bad = [c for c in columns if not numeric(dtypes[c]) or pd.api.types.is_bool_dtype(dtypes[c])]
    refuse_non_numeric(bad, [str(dtypes[c]) for c in bad])


def _level_index(table: pd.DataFrame) -> pd.Index:
    """A set's sorted level table as an Index (position = code)."""
    table = table.sort_values(list(table.columns), ignore_index=True)
    if table.shape[1] == 1:
        return pd.Index(table.iloc[:, 0])
    return pd.MultiIndex.from_frame(table)
