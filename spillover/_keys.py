"""Keys of a panel: from a user's DataFrame to rows keyed by a sorted, unique (entity, time).

:class:`spillover.Panel` and :func:`spillover.panel.as_panel` validate their input here, so
a Panel built from columns and one converted from an indexed DataFrame refuse the same
keys with the same messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from spillover._validate import preview, require_columns
from spillover.errors import PanelError


def keyed_frame(data: pd.DataFrame, entity: str, time: str) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise PanelError(f"panel data must be a pandas DataFrame, not {type(data).__name__}.")
    repeated = data.columns[data.columns.duplicated()].unique()
    if len(repeated):
        raise PanelError(
            f"column names {preview(repeated)} occur more than once in the data; rename or "
            "drop the copies (e.g. df.loc[:, ~df.columns.duplicated()])."
        )
    if _has_levels(data, entity, time):
        clash = [n for n in data.index.names if n is not None and n in data.columns]
        if clash:
            raise PanelError(
                f"{preview(clash)} is both an index level and a column of the data; keep one, "
                f"e.g. df.drop(columns={clash!r}) or df.reset_index(drop=True)."
            )
        frame = data.reset_index()
    else:
        frame = data.copy()
    require_columns(frame, [entity, time], "panel data")
    if "geometry" in frame.columns:
        frame = pd.DataFrame(frame.drop(columns="geometry"))
    _check_keys_present(frame, entity, time)
    frame[time] = _coerce_time(frame[time], time)
    frame = frame.set_index([entity, time]).sort_index()
    dup = frame.index.duplicated(keep=False)
    if dup.any():
        keys = frame.index[dup].unique()
        first = np.flatnonzero(dup)[:5]
        raise PanelError(
            f"{len(keys)} (entity, time) keys occur more than once, e.g. {preview(keys)} "
            f"(sorted rows {preview(first.tolist())}). Aggregate them first (e.g. "
            f"df.groupby([{entity!r}, {time!r}]).sum()) or fix the keys."
        )
    return frame


def _has_levels(data: pd.DataFrame, entity: str, time: str) -> bool:
    names = list(data.index.names)
    return entity in names or time in names


def _check_keys_present(frame: pd.DataFrame, entity: str, time: str) -> None:
    for col in (entity, time):
        miss = frame[col].isna()
        if miss.any():
            rows = frame.index[miss]
            raise PanelError(
                f"{int(miss.sum())} rows have no {col!r} key, e.g. rows {preview(rows)}. "
                "Every row needs an entity and a time; drop or fill these rows first."
            )


def _coerce_time(s: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        return s
    if pd.api.types.is_integer_dtype(s):
        return s.astype(np.int64)
    if pd.api.types.is_float_dtype(s):
        frac = s.to_numpy() % 1 != 0
        if not frac.any():
            return s.astype(np.int64)
        raise PanelError(
            f"time column {name!r} has non-integer values, e.g. {preview(s[frac].unique())}. "
            "Use integer periods (e.g. years) or datetimes."
        )
    offending = [v for v in s.unique() if isinstance(v, bool) or not _is_time_value(v)]
    shown = (
        f"values that are neither whole numbers nor dates: {preview(offending)}"
        if offending
        else "its values are whole numbers stored as Python objects"
    )
    raise PanelError(
        f"time column {name!r} has dtype {s.dtype}: {shown}; it must be integer (e.g. years) "
        f"or datetime. Convert it, e.g. df[{name!r}] = df[{name!r}].astype(int) or "
        f"pd.to_datetime(df[{name!r}])."
    )


def _is_time_value(value: Any) -> bool:
    return isinstance(value, int | np.integer | datetime | np.datetime64)


def index_keys(index: pd.Index, columns: pd.Index) -> tuple[str, str]:
    """(entity, time) names of a DataFrame's two-level index, or a PanelError saying why not."""
    names = list(index.names)
    if not isinstance(index, pd.MultiIndex):
        hint = f" (e.g. df.set_index({list(columns[:2])!r}))" if len(columns) >= 2 else ""
        raise PanelError(
            f"a DataFrame panel needs an (entity, time) MultiIndex; this one has a single "
            f"index{'' if names[0] is None else f' {names[0]!r}'}. Set the two key columns as "
            f"its index{hint}, or use spillover.Panel(df, entity=..., time=...)."
        )
    if len(names) != 2:
        raise PanelError(
            f"a DataFrame panel needs exactly two index levels (entity, time); this one has "
            f"{len(names)}: {preview(names)}. Keep two, e.g. df.reset_index(level=[...]) for "
            "the others."
        )
    if None in names:
        raise PanelError(
            f"the (entity, time) index levels need names; this one has {names!r}. Name them, "
            "e.g. df.rename_axis(['firm', 'year'])."
        )
    return names[0], names[1]
