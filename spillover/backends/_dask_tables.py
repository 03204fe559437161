"""Row-level transforms and small reductions of staged rows held by Dask workers.

:class:`DaskStaged` is the Dask twin of :class:`spillover.backends.Staged`: the same
methods with the same results, run as tasks on pandas partitions held by the workers
(``distributed`` futures). Each partition holds the value columns ``__v0`` (y),
``__v1``... (float64), one integer code per effect set (``__e0``, ``__e1``, ...; codes
index each set's sorted level table, built once from per-partition distinct values) and
the carried source columns. Every level of one effect set, the *local* set (the largest;
none if it has one level, the constant of a model without effects), lies in a single
partition, so that set's means, the group-sorted pieces of
:meth:`sum_by_group` and its singletons are worked out within partitions; for any other set
the per-level sums are added across partitions and the means sent back to the workers.
A step that needs another set local shuffles the rows by it once (each partition split by
code range, the pieces gathered by their new partition). Reductions are added pairwise on
the workers (a tree), so only their result reaches the client. The pure partition
functions are in :mod:`spillover.backends._dask_parts`, the task plumbing (bounded waits,
failures named by partition) in :mod:`spillover.backends._dask_tasks`; nothing here
estimates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from spillover.backends import _dask_parts as parts
from spillover.backends._checks import refuse_missing, refuse_non_finite, refuse_weights
from spillover.backends._dask import DaskBackend
from spillover.backends._dask_parts import Linear, Residual
from spillover.backends._dask_tasks import DaskTasks, check_numeric


class DaskStaged(DaskTasks):
    """The estimation sample of one model as pandas partitions on Dask workers.

    Parameters
    ----------
    backend : DaskBackend
        Whose client runs the tasks.
    source : pandas.DataFrame, dask DataFrame or Partitions
        The data (:func:`spillover.backends._dask.open_source`, or partitions already on
        the workers, such as those :func:`spillover.backends._dask_wx.add_spatial_lags`
        returns).
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
        self._bounds: list[int] | None = None
        self._means: np.ndarray | None = None
        super().__init__(backend)
        self.frequency = frequency
        self.k, self.n_effects = len(columns), len(effects)
        effects = [list(e) for e in effects]
        check_numeric(source.dtypes, [*columns, *([weights] if weights is not None else [])])
        self.parts = self._load(source, effects)
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
        big = int(np.argmax(self.sizes))
        #: The set whose levels each lie in one partition; None for a set of one level (the
        #: constant of a model without effects: its rows stay spread over the partitions).
        self.local: int | None = big if self.sizes[big] > 1 else None
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
        if self.local is not None and local_counts[:, big].sum() > self.sizes[big]:
            self._shuffle(big)
        refuse_non_finite(columns, self._reduce("checking values", parts.non_finite, k=self.k))

    @property
    def parts(self) -> list:
        """Futures of the staged partitions."""
        return self._parts

    @parts.setter
    def parts(self, futures: list) -> None:
        self._parts = futures
        self._bounds = self._means = None  # rows or values changed

    def _shuffle(self, column: int) -> None:
        """Move the rows so that every level of effect set ``column`` is in one partition."""
        self.parts = self._shuffled(self.parts, f"__e{column}", self.sizes[column])
        self.local = column

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

    def check_numeric(self, columns: Sequence[str]) -> None:
        """SpecificationError naming carried source columns that are not numeric (as
        :meth:`spillover.backends.Staged.check_numeric`)."""
        first = self.client.submit(parts.dtypes, self.parts[0], list(columns), pure=False)
        check_numeric(self._gather("checking values", [first])[0], columns)

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
        selected = self._map(step, parts.select, columns=columns)
        codes = self._shuffled(selected, f"__e{big}", self.sizes[big])
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

    def linear_scores(self, e: np.ndarray, x: np.ndarray) -> Linear:
        """Residuals and score regressors linear in the value columns, as the small handle
        the partition functions evaluate (as :meth:`spillover.backends.Staged.linear_scores`:
        coefficients over a constant and v_0, v_1, ...; ``e`` a matrix for the products
        ``e_j x_m`` of stacked regressions)."""
        return Linear(np.asarray(e, float), np.asarray(x, float))

    def hc_meat(self, resid: Residual | Linear) -> np.ndarray:
        """``sum_i e_i^2 x_i x_i'``, times ``w_i^2`` (analytic) or ``w_i`` (frequency)."""
        return self._reduce(
            "forming the robust meat", parts.hc_meat, resid=resid, frequency=self.frequency
        )

    def weight_total(self) -> float:
        """``sum w`` over the rows (the number of rows unweighted)."""
        return float(self._reduce("taking means", parts.column_sums, k=0)[-1])

    def score_sums(self, resid: Residual | Linear, by: Sequence[str]) -> tuple[list, np.ndarray]:
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

    def sums_of_squares(self, shift: np.ndarray, centre: float, resid: Residual | Linear):
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


def _level_index(table: pd.DataFrame) -> pd.Index:
    """A set's sorted level table as an Index (position = code)."""
    table = table.sort_values(list(table.columns), ignore_index=True)
    if table.shape[1] == 1:
        return pd.Index(table.iloc[:, 0])
    return pd.MultiIndex.from_frame(table)
