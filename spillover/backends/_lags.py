"""``W x`` out of core, whatever the backend: the checks, their errors and the column names.

DuckDB (:mod:`._wx`) and Dask (:mod:`._dask_wx`) compute the lags their own way (a SQL
join, tasks per period) but check the source the same way, in the in-memory order of
:func:`spillover.models._formula.spatial_lag_panel`, with its errors: the entity and time
columns known and the lagged columns present (:func:`require_lag_columns`), W's ids equal
to the panel's entities (:func:`spillover.weights.as_weights`), the panel balanced
(:func:`require_balanced`) and each lagged column complete (:func:`require_complete`).
A backend finds the offending keys (a count and the first five in (entity, time) order);
the messages are :func:`spillover.panel.unbalanced_error` and
:func:`spillover.panel.lag_undefined_error`, those of the in-memory path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from spillover._validate import preview
from spillover.errors import PanelError, SpecificationError
from spillover.panel import lag_undefined_error, unbalanced_error

#: The keys found by a backend: how many, and the first five as a frame of (entity, time).
Keys = tuple[int, pd.DataFrame]


def lag_name(column: str) -> str:
    """The design column of ``W(column)``, as in memory."""
    return f"W_{column}"


def require_lag_columns(
    entity: str | None,
    time: str | None,
    columns: Sequence[str],
    available: Sequence[str],
    *,
    unnamed: str,
) -> None:
    """SpecificationError if the entity or time column is unknown (``unnamed``: the inputs
    that name none) or a lagged column is not in the source."""
    if entity is None or time is None:
        raise SpecificationError(
            f"W(x) terms need the panel's entity and time columns, which {unnamed} does not "
            "name; pass ParquetPanel(path, entity=..., time=...) (spillover.backends), a "
            "Panel, or a DataFrame indexed by (entity, time)."
        )
    missing = [c for c in columns if c not in available]
    if missing:
        data = [c for c in available if c not in (entity, time)]
        raise SpecificationError(
            f"panel has no column(s) {preview(missing)}; available: {preview(data, 12)}."
        )


def key_list(first: pd.DataFrame) -> list[tuple]:
    """The (entity, time) keys of a frame's rows as tuples, shown as in memory."""
    return list(pd.MultiIndex.from_frame(first))


def require_balanced(
    rows: int,
    n_entities: int,
    n_periods: int,
    absent: Callable[[], Keys],
    keys: tuple[str, str],
    *,
    repeated: int = 0,
) -> None:
    """PanelError unless the ``rows`` fill the entity x period grid once: the absent
    cells named as in memory (``absent()`` finds them), or repeated ``keys`` (``repeated``:
    rows beyond the first of their key, when the backend counts them)."""
    cells = n_entities * n_periods
    repeats = PanelError(
        f"{rows} rows for {cells} (entity, time) cells: some keys repeat, so a spatial lag "
        f"has no single value per cell. Make the ({keys[0]}, {keys[1]}) keys unique in the "
        "source."
    )
    if repeated:
        raise repeats
    if rows == cells:
        return
    n, first = absent()
    if not n:
        raise repeats
    raise unbalanced_error(key_list(first), cells, total=n)


def require_complete(column: str, found: Keys) -> None:
    """PanelError, as in memory, if ``column`` is missing in rows (``found``: their count
    and first keys)."""
    n, first = found
    if n:
        raise lag_undefined_error(column, key_list(first), total=n)
