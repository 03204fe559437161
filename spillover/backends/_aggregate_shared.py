"""The backend-neutral parts of :func:`spillover.backends.aggregate_regions`: what to
compute, the errors for bad rows, and the region-year table built from its per-cell sums
(one wording and one table for DuckDB and Dask)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spillover._validate import preview
from spillover.errors import PanelError, SpecificationError
from spillover.geo._aggregate import _warn_zero_weight, period_shares


@dataclass(frozen=True)
class Stats:
    """What to compute per region-year: the output columns of each role."""

    sums: list[str]
    shares: list[str]
    means: list[str]
    wmean: dict[str, str]
    count: str | None

    @property
    def summed(self) -> list[str]:
        """The columns summed (``__s{j}``): sums, then shares."""
        return [*self.sums, *self.shares]

    @property
    def used(self) -> list[str]:
        """The input columns the statistics read (values, then weights), once each."""
        return list(dict.fromkeys([*self.summed, *self.means, *self.wmean, *self.wmean.values()]))

    @property
    def weights(self) -> list[str]:
        """The weight columns, once each."""
        return list(dict.fromkeys(self.wmean.values()))


def refuse_absent(needed: Sequence[str], columns: Sequence[str]) -> None:
    """SpecificationError naming the ``needed`` columns not in ``columns``."""
    absent = [c for c in dict.fromkeys(needed) if c not in columns]
    if absent:
        raise SpecificationError(
            f"the data have no column {preview(absent)}; available: {preview(columns, 12)}."
        )


def refuse_non_numeric(bad: Sequence[str], types: Sequence[str]) -> None:
    """SpecificationError naming value columns that are not numeric, with their types."""
    if bad:
        raise SpecificationError(
            f"columns {preview(bad)} are not numeric ({preview(types)}); cast them in the source."
        )


def refuse_repeats(keys: Sequence[tuple], entity: str, time: str) -> None:
    """PanelError naming the first repeated (entity, time) keys (in key order)."""
    if len(keys):
        raise PanelError(
            f"(entity, time) keys repeat, e.g. {preview(keys)}: each "
            f"{entity!r} may have one row per {time!r}. Aggregate or deduplicate the source."
        )


def refuse_negative(weight: str, n: int, rows: Sequence[tuple]) -> None:
    """SpecificationError for ``n`` rows with a negative weight, naming the first ``rows``."""
    if n:
        raise SpecificationError(
            f"weight {weight!r} is negative in {int(n)} rows, e.g. "
            f"{preview(list(rows)[:5])}; weights must be >= 0."
        )


def finish(got: pd.DataFrame, region: str, time: str, stats: Stats) -> pd.DataFrame:
    """The region-year table from the per-cell statistics ``got``, sorted by key: columns
    ``region``, ``time``, ``__s{j}`` (sums of :attr:`Stats.summed`), ``__m{j}`` (means),
    ``__wn{j}``/``__wd{j}`` (sums of ``w x`` and ``w`` over rows with both present) and
    ``__n`` (rows); each NaN where no value was present."""
    keys = pd.MultiIndex.from_frame(got[[region, time]])
    sums, shares, means, count = stats.sums, stats.shares, stats.means, stats.count
    table = pd.DataFrame(
        {c: got[f"__s{j}"].to_numpy(dtype=float) for j, c in enumerate(stats.summed)},
        index=keys,
    )
    out = table[sums].copy()
    for j, c in enumerate(means):
        out[c] = got[f"__m{j}"].to_numpy(dtype=float)
    for j, (x, w) in enumerate(stats.wmean.items()):
        den = pd.Series(got[f"__wd{j}"].to_numpy(dtype=float), index=keys)
        out[x] = got[f"__wn{j}"].to_numpy(dtype=float) / den.where(den != 0).to_numpy()
        _warn_zero_weight(den, x, w)
    out[shares] = period_shares(table[shares], time)
    if count is not None:
        out[count] = got["__n"].to_numpy(dtype=np.int64)
    return out.reset_index()
