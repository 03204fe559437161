"""What :func:`technology_pool` checks the same way on every backend: its options, the
firm and period columns, the profiles as a long table, and the wording of its errors (the
DuckDB path finds the offending rows in SQL, the Dask path on the workers and the client;
both name them here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from spillover.errors import AlignmentError, PanelError, SpecificationError
from spillover.measures._technology import Proximity


@dataclass(frozen=True)
class PoolSpec:
    """The columns and options of one call."""

    column: str
    entity: str | None
    time: str | None
    classes: str
    counts: str
    proximity: Proximity
    exclude_self: bool
    name: str


def check_proximity(proximity: Any) -> None:
    if proximity not in ("jaffe", "mahalanobis"):
        raise SpecificationError(f"proximity must be 'jaffe' or 'mahalanobis', got {proximity!r}.")


def pool_keys(
    entity: str | None, time: str | None, known: tuple[str | None, str | None]
) -> tuple[str, str]:
    """The firm and period columns: as passed, else ``known`` (those of a Panel, a
    ParquetPanel or a DataFrame indexed by (entity, time))."""
    entity, time = entity or known[0], time or known[1]
    if entity is None or time is None:
        raise SpecificationError(
            "the firm and period columns are not known: pass entity=... and time=..., or a "
            "Panel, a ParquetPanel or a DataFrame indexed by (entity, time)."
        )
    return entity, time


def refuse_pool_column(name: str, columns: Sequence[str]) -> None:
    if name in columns:
        raise SpecificationError(
            f"the data already have a column {name!r}; pass name=... for the pool."
        )


def refuse_non_finite_stock(n: int, first: Sequence[tuple], column: str) -> None:
    """PanelError naming the first (entity, time) keys of ``n`` rows with a missing or
    infinite stock."""
    if n:
        named = ", ".join(repr(tuple(r)) for r in first)
        raise PanelError(
            f"{n} rows have a missing or infinite {column!r}, e.g. at {named}. Impute them "
            "(e.g. 0 for no reported R&D) or drop them from the source."
        )


def long_shares(shares: Any, entity: str, classes: str, counts: str) -> Any:
    """A Series of counts indexed by (firm, class) as a long DataFrame; anything else as
    it is."""
    if not isinstance(shares, pd.Series):
        return shares
    if len(shares.index.names) != 2:
        raise SpecificationError(
            "long-format shares must be a Series indexed by (firm, class), holding patent "
            "counts or shares."
        )
    return pd.DataFrame(
        {
            entity: shares.index.get_level_values(0),
            classes: shares.index.get_level_values(1),
            counts: shares.to_numpy(),
        }
    )


def refuse_repeated_pairs(pairs: Sequence[tuple]) -> None:
    """SpecificationError naming (firm, class) pairs found more than once (sorted)."""
    if len(pairs):
        raise SpecificationError(
            f"(id, class) pairs occur more than once in the shares, e.g. "
            f"{', '.join(repr(tuple(r)) for r in pairs[:5])}; sum them first."
        )


def refuse_bad_profiles(firms: Sequence[Any]) -> None:
    """SpecificationError naming the firms (sorted) whose counts are missing, negative,
    infinite or all zero."""
    if len(firms):
        raise SpecificationError(
            f"{len(firms)} share rows are missing, negative or all zero, e.g. "
            f"{', '.join(repr(f) for f in firms[:5])}: technological proximity is undefined "
            "for a firm without patents. Drop those firms from the panel or give them a "
            "profile."
        )


def refuse_misaligned(
    unprofiled: tuple[int, Sequence[Any]], unpaneled: tuple[int, Sequence[Any]]
) -> None:
    """AlignmentError naming panel firms without a profile and profiled firms outside the
    panel: each side as (count, the first five sorted)."""
    sides = []
    for (n, examples), what in (
        (unprofiled, "panel firms have no share row"),
        (unpaneled, "share rows are not panel firms"),
    ):
        if n:
            more = f", ... ({n - 5} more)" if n > 5 else ""
            sides.append(f"{n} {what} (e.g. {', '.join(map(repr, examples[:5]))}{more})")
    if sides:
        raise AlignmentError(
            f"technology shares and panel firms disagree: {' and '.join(sides)}. Pass the "
            "profiles of exactly the panel's firms."
        )
