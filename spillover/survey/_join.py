"""Joining survey values to a firm panel or frame by respondent id, unmatched ids reported."""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from spillover._validate import id_mismatch, preview, user_stacklevel
from spillover.errors import (
    AlignmentError,
    DroppedRowsWarning,
    SpecificationError,
    SurveyDataWarning,
)
from spillover.panel import Panel


def join_values(
    q: Any, other: Panel | pd.DataFrame, *, on: str | None, values: pd.DataFrame | None,
    unmatched: str,
) -> Panel | pd.DataFrame:  # fmt: skip
    """See :meth:`Questionnaire.join`."""
    if unmatched not in ("raise", "drop", "keep"):
        raise SpecificationError(f"unmatched={unmatched!r}; use 'raise', 'drop' or 'keep'.")
    data = _values(q, values)
    keys, on = _keys(q, other, on)
    clash = [c for c in data.columns if c in other.columns]
    if clash:
        raise SpecificationError(
            f"columns {preview(clash)} are in both the survey values and the data; rename one."
        )
    other_ids = pd.Index(keys.unique())
    survey_only = q.ids.difference(other_ids)
    other_only = other_ids.difference(q.ids)
    matched = keys.isin(q.ids)
    if len(survey_only) or len(other_only):
        _report(q, on, survey_only, other_only, other_ids, unmatched, int((~matched).sum()))
    if unmatched == "drop" and not matched.all():
        other = _subset(other, matched)
        keys = keys[matched]
    added = data.reindex(keys.to_numpy())
    return other.assign(**{c: added[c].to_numpy() for c in data.columns})


def _values(q: Any, values: pd.DataFrame | None) -> pd.DataFrame:
    if values is None:
        return q.items
    if not isinstance(values, pd.DataFrame):
        raise SpecificationError("values must be a DataFrame indexed by respondent id.")
    stray = values.index.difference(q.ids)
    if len(stray):
        raise AlignmentError(
            f"{len(stray)} rows of values are not respondents of the questionnaire, e.g. "
            f"{preview(stray)}; pass values indexed by respondent id (e.g. q.scores(...))."
        )
    return values


def _keys(q: Any, other: Any, on: str | None) -> tuple[pd.Series, str]:
    if isinstance(other, Panel):
        on = on or other.entity_name
        if on != other.entity_name:
            raise SpecificationError(f"a Panel joins on its entity {other.entity_name!r}.")
        return pd.Series(other.data.index.get_level_values(0)), on
    if not isinstance(other, pd.DataFrame):
        raise SpecificationError(f"join needs a Panel or a DataFrame, not {type(other).__name__}.")
    on = on or q.respondent
    if on in other.columns:
        return other[on].reset_index(drop=True), on
    if on in (other.index.names or []):
        return pd.Series(other.index.get_level_values(on)), on
    raise SpecificationError(
        f"the data has no column or index level {on!r}; pass on='<firm id column>'."
    )


def _subset(other: Any, matched: pd.Series) -> Any:
    if isinstance(other, Panel):
        return other.subset(entities=pd.Index(other.entities).intersection(
            pd.Index(other.data.index.get_level_values(0)[matched.to_numpy()])))  # fmt: skip
    return other.loc[matched.to_numpy()]


def _report(
    q: Any, on: str, survey_only: pd.Index, other_only: pd.Index, other_ids: pd.Index,
    unmatched: str, rows: int,
) -> None:  # fmt: skip
    sides = [
        (survey_only, f"respondents have no {on!r} in the data"),
        (other_only, f"{on!r} ids have no survey answers"),
    ]
    message = id_mismatch("survey and data ids", sides)
    if len(survey_only) == len(q.ids) and q.ids.dtype != other_ids.dtype:
        message += (
            f" No id matches: the survey ids are {q.ids.dtype}, the data's {other_ids.dtype};"
            " convert one side (e.g. astype(int))."
        )
    if unmatched == "raise":
        raise AlignmentError(
            f"{message} Pass unmatched='drop' to keep matched firms only, or unmatched='keep' "
            "to keep every row of the data with missing survey values."
        )
    if unmatched == "drop":
        warnings.warn(
            f"dropped {rows} rows of the data (unmatched='drop'): {message}",
            DroppedRowsWarning, stacklevel=user_stacklevel(),
        )  # fmt: skip
        return
    warnings.warn(
        f"{message} Kept every row of the data (unmatched='keep'); rows whose id has no "
        "survey answers get missing survey values.",
        SurveyDataWarning, stacklevel=user_stacklevel(),
    )  # fmt: skip
