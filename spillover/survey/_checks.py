"""Data checks of questionnaire answers, by respondent and item: the report of ``check()``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spillover._validate import preview
from spillover.survey._codebook import Codebook


@dataclass(frozen=True, eq=False)
class SurveyCheck:
    """What :meth:`Questionnaire.check` found; every table locates problems by respondent
    id and by ``row``, the data row in the source counted from 1 (SPSS's case number,
    Stata's ``_n``; in a spreadsheet, one line below the header).

    Attributes
    ----------
    out_of_range : pandas.DataFrame
        One row per answer outside its item's codebook range: ``respondent``, ``row``,
        ``item``, ``value``, ``min``, ``max``.
    unknown_columns : tuple of str
        Columns of the data that are neither items of the codebook, the respondent id
        nor declared covariates (a misspelt item name shows up here).
    absent_items : tuple of str
        Codebook items with no column in the data.
    duplicates : pandas.DataFrame
        Rows sharing a respondent id: ``respondent``, ``row``, ``kept`` (which row the
        load kept when asked to, e.g. ``duplicates="keep-first"``).
    missing_codes : pandas.DataFrame
        Answers read as missing because of a declared code (``missing=`` or an SPSS
        user-missing code): ``item``, ``code``, ``count``.
    straightlining : pandas.DataFrame
        Respondents giving the same answer to every answered item of a block:
        ``respondent``, ``row``, ``block``, ``value``, ``items`` (answered items).
    missing_by_item, missing_by_respondent : pandas.Series
        Count of missing answers per item and per respondent.
    missing_patterns : pandas.DataFrame
        One row per pattern of missing items (True = missing), with ``respondents``
        (how many share it) and ``n_missing``, most frequent first.
    """

    out_of_range: pd.DataFrame
    unknown_columns: tuple[str, ...]
    absent_items: tuple[str, ...]
    duplicates: pd.DataFrame
    missing_codes: pd.DataFrame
    straightlining: pd.DataFrame
    missing_by_item: pd.Series
    missing_by_respondent: pd.Series
    missing_patterns: pd.DataFrame

    @property
    def ok(self) -> bool:
        """True if nothing but missing answers was found."""
        return not self.problems()

    def problems(self) -> list[str]:
        """One sentence per kind of problem found, with counts (missing answers excluded)."""
        out = []
        if len(self.out_of_range):
            items = self.out_of_range["item"].unique().tolist()
            out.append(
                f"{len(self.out_of_range)} answers out of range in {len(items)} items "
                f"({preview(items)})"
            )
        if self.unknown_columns:
            out.append(
                f"{len(self.unknown_columns)} columns not in the codebook "
                f"({preview(self.unknown_columns)})"
            )
        if self.absent_items:
            out.append(
                f"{len(self.absent_items)} codebook items absent from the data "
                f"({preview(self.absent_items)})"
            )
        if len(self.duplicates):
            ids = self.duplicates["respondent"].unique().tolist()
            out.append(f"{len(ids)} respondent ids on more than one row ({preview(ids)})")
        if len(self.straightlining):
            ids = self.straightlining["respondent"].unique().tolist()
            out.append(f"{len(ids)} straight-lining respondents ({preview(ids)})")
        return out

    def summary(self) -> str:
        """The problems and the missing answers in a few lines of text."""
        total = int(self.missing_by_item.sum())
        cells = len(self.missing_by_respondent) * len(self.missing_by_item)
        lines = [f"- {p}" for p in self.problems()] or ["- no problems found"]
        lines.append(
            f"- {total} of {cells} answers missing; {int((self.missing_by_respondent > 0).sum())}"
            f" of {len(self.missing_by_respondent)} respondents miss at least one item"
        )
        return "Questionnaire check\n" + "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def out_of_range(raw: pd.DataFrame, codebook: Codebook, rows: pd.Series) -> pd.DataFrame:
    """Answers outside [min, max] of their item, in row then codebook order."""
    frames = []
    for name in raw.columns:
        item = codebook[name]
        if not item.has_range:
            continue
        values = raw[name]
        bad = values.notna() & ((values < item.min) | (values > item.max))
        if bad.any():
            hit = values[bad]
            frames.append(pd.DataFrame({
                "respondent": hit.index, "row": rows.loc[hit.index].to_numpy(), "item": name,
                "value": hit.to_numpy(), "min": item.min, "max": item.max,
            }))  # fmt: skip
    if not frames:
        return _empty(["respondent", "row", "item", "value", "min", "max"])
    return pd.concat(frames).sort_values("row", kind="stable").reset_index(drop=True)


def straightlining(
    raw: pd.DataFrame, blocks: Mapping[str, Sequence[str]], rows: pd.Series, min_items: int
) -> pd.DataFrame:
    """Respondents whose answered items of a block (at least ``min_items``) are all equal."""
    frames = []
    for block, names in blocks.items():
        answers = raw[list(names)]
        answered = answers.notna().sum(axis=1)
        same = answers.nunique(axis=1) == 1
        hit = same & (answered >= min_items)
        if hit.any():
            ids = answers.index[hit.to_numpy()]
            frames.append(pd.DataFrame({
                "respondent": ids, "row": rows.loc[ids].to_numpy(), "block": block,
                "value": answers.loc[hit].bfill(axis=1).iloc[:, 0].to_numpy(),
                "items": answered[hit].to_numpy(),
            }))  # fmt: skip
    if not frames:
        return _empty(["respondent", "row", "block", "value", "items"])
    return pd.concat(frames).sort_values("row", kind="stable").reset_index(drop=True)


def missing_patterns(raw: pd.DataFrame) -> pd.DataFrame:
    """Distinct patterns of missing items (True = missing), most frequent first."""
    missing = raw.isna()
    if missing.empty:
        return pd.DataFrame(columns=[*raw.columns, "respondents", "n_missing"])
    table = missing.value_counts(sort=False).rename("respondents").reset_index()
    table["n_missing"] = table[list(raw.columns)].sum(axis=1)
    table = table.sort_values(["respondents", "n_missing"], ascending=[False, True], kind="stable")
    return table.reset_index(drop=True)


def missing_code_counts(codes: Mapping[str, pd.Series]) -> pd.DataFrame:
    """How many answers each declared missing code turned into missing, per item."""
    rows = []
    for item, values in codes.items():
        counts = values.value_counts(sort=False).sort_index()
        rows.extend({"item": item, "code": code, "count": int(n)} for code, n in counts.items())
    return pd.DataFrame(rows, columns=["item", "code", "count"])


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object if c in ("respondent", "item", "block")
                                      else np.float64) for c in columns})  # fmt: skip
