"""Missing-data rules for item responses: listwise, pairwise, item-mean within construct."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from spillover._validate import warn_dropped
from spillover.errors import SpecificationError

MissingRule = Literal["listwise", "pairwise", "item-mean"]
RULES: tuple[str, ...] = ("listwise", "pairwise", "item-mean")


def check_rule(rule: str, min_answered: int | None) -> None:
    """Raise SpecificationError for an unknown rule or a bad ``min_answered``."""
    if rule not in RULES:
        raise SpecificationError(f"unknown missing-data rule {rule!r}; use one of {RULES}.")
    if min_answered is not None:
        if rule != "item-mean":
            raise SpecificationError("min_answered applies to rule='item-mean' only.")
        if isinstance(min_answered, bool) or not isinstance(min_answered, int) or min_answered < 1:
            raise SpecificationError(f"min_answered must be an integer >= 1, got {min_answered!r}.")


def apply_rule(
    items: pd.DataFrame,
    constructs: Mapping[str, Sequence[str]],
    rule: MissingRule,
    min_answered: int | None = None,
) -> pd.DataFrame:
    """Items under ``rule``; ``attrs["missing_rule"]`` and ``attrs["missing_note"]`` say what
    was done. Listwise drops respondents (DroppedRowsWarning, since the rule asks for it)."""
    check_rule(rule, min_answered)
    columns = [i for names in constructs.values() for i in names]
    data = items[columns]
    if rule == "listwise":
        keep = data.notna().all(axis=1)
        dropped = int((~keep).sum())
        warn_dropped(dropped, "listwise deletion (rule='listwise'): a missing item")
        out = data.loc[keep]
        note = (
            f"listwise deletion: {len(out)} of {len(data)} respondents used, {dropped} with "
            "a missing item dropped"
        )
    elif rule == "pairwise":
        out = data.copy()
        note = (
            f"pairwise: all {len(data)} respondents kept; a construct score is missing where "
            "any of its items is, and correlations use pairwise-complete observations"
        )
    else:
        out, note = _item_mean(data, constructs, min_answered)
    out.attrs = {"missing_rule": rule, "missing_note": note}
    return out


def _item_mean(
    data: pd.DataFrame, constructs: Mapping[str, Sequence[str]], min_answered: int | None
) -> tuple[pd.DataFrame, str]:
    out = data.copy()
    imputed = unscored = 0
    for names in constructs.values():
        block = data[list(names)]
        need = _needed(len(names), min_answered)
        answered = block.notna().sum(axis=1)
        fill = (answered >= need) & (answered < len(names))
        means = block.mean(axis=1)
        part = block.loc[fill]
        mean = np.broadcast_to(means.loc[fill].to_numpy()[:, None], part.shape)
        out.loc[fill, list(names)] = part.where(part.notna(), mean)
        imputed += int(part.isna().to_numpy().sum())
        unscored += int((answered < need).sum())
    rule = (
        "at least half of its items answered"
        if min_answered is None
        else f"at least {min_answered} of its items answered (or all, if fewer)"
    )
    note = (
        f"item-mean within construct: {imputed} missing answers imputed by the respondent's "
        f"mean of the other items of the same construct, given {rule}; {unscored} construct "
        "scores left missing"
    )
    return out, note


def _needed(k: int, min_answered: int | None) -> int:
    return math.ceil(k / 2) if min_answered is None else min(min_answered, k)


def construct_scores(ruled: pd.DataFrame, constructs: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Mean of each construct's items per respondent (missing if any item still is)."""
    scores = pd.DataFrame(
        {c: ruled[list(names)].mean(axis=1, skipna=False) for c, names in constructs.items()},
        index=ruled.index,
    )
    scores.columns.name = "construct"
    scores.attrs = dict(ruled.attrs)
    return scores
