"""Loading item-level questionnaire responses: structural checks raise, data problems warn."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from spillover._validate import preview, user_stacklevel, warn_dropped
from spillover.errors import SurveyDataWarning, SurveyError
from spillover.survey._codebook import Codebook, as_codebook
from spillover.survey._formats import FileMeta, read_table
from spillover.survey._questionnaire import Questionnaire

Duplicates = Literal["raise", "keep-first", "keep-last"]
OutOfRange = Literal["keep", "missing", "raise"]


def read_responses(
    source: str | Path | pd.DataFrame,
    codebook: Codebook | pd.DataFrame | Mapping[str, Any],
    *,
    respondent: str = "firm_id",
    missing: float | str | Sequence[float | str] | None = None,
    duplicates: Duplicates = "raise",
    out_of_range: OutOfRange = "keep",
    covariates: Sequence[str] = (),
    sheet: str | int = 0,
) -> Questionnaire:
    """Read item-level responses and check them against a codebook.

    Parameters
    ----------
    source : str, pathlib.Path or pandas.DataFrame
        A ``.csv``, ``.xlsx``, SPSS ``.sav``/``.zsav`` or Stata ``.dta`` file, or a frame
        with one row per respondent.
    codebook : Codebook, DataFrame or dict
        The items, their constructs, ranges and reverse flags (see :class:`Codebook`).
    respondent : str, default "firm_id"
        The column (or index name) with respondent ids; they join to the firm panel.
    missing : number, str or sequence of them, optional
        Codes meaning "no answer" (e.g. ``[-9, 99]``), read as missing. SPSS user-missing
        codes declared in a ``.sav`` file are read as missing in any case.
    duplicates : {"raise", "keep-first", "keep-last"}
        A respondent id on several rows raises unless you say which row to keep; the
        others are then dropped with a DroppedRowsWarning.
    out_of_range : {"keep", "missing", "raise"}, default "keep"
        Answers outside the codebook range are kept (and reported), set to missing (and
        reported), or raise.
    covariates : sequence of str
        Columns that are not items but expected (e.g. ``"region"``); kept in
        ``Questionnaire.covariates``. Other non-item columns are kept too but reported.
    sheet : str or int, default 0
        Excel sheet.

    Returns
    -------
    Questionnaire

    Raises
    ------
    SurveyError
        No id column, missing or duplicated ids (unless asked to keep one), no codebook
        item in the data, answers that are not numbers, out-of-range answers if
        ``out_of_range="raise"``.

    Warns
    -----
    SurveyDataWarning
        With counts, if answers are out of range, columns are unknown, codebook items are
        absent or respondents straight-line (every answer the same); see
        :meth:`Questionnaire.check`.

    Notes
    -----
    Whole-number ids stored as decimals (SPSS keeps every number as a double) are read
    as integers, so they match the integer firm ids of a panel.

    Examples
    --------
    >>> import pandas as pd
    >>> from spillover.survey import Codebook, read_responses
    >>> cb = Codebook.from_constructs({"trust": ["t1", "t2", "t3"]}, scale=(1, 5),
    ...                               reverse=["t3"])
    >>> df = pd.DataFrame({"firm_id": [1, 2, 3], "t1": [4, 2, 5], "t2": [5, 1, 4],
    ...                    "t3": [2, 4, -9]})
    >>> q = read_responses(df, cb, missing=-9)
    >>> q.items["t3"].tolist()
    [4.0, 2.0, nan]
    """
    cb = as_codebook(codebook)
    _check_options(duplicates, out_of_range)
    frame, meta = _read(source, sheet)
    frame, rows, dups = _keyed(frame, respondent, duplicates)
    present, absent, unknown = _columns(frame, cb, respondent, covariates)
    raw, codes = _answers(frame[present], meta, _codes(missing), rows)
    q = Questionnaire.build(
        respondent=respondent, raw=raw, codebook=_with_file_labels(cb, meta),
        covariates=frame.drop(columns=present), rows=rows, source=_describe_source(source),
        duplicates=dups, missing_codes=codes, absent_items=absent, unknown_columns=unknown,
        out_of_range=out_of_range,
    )  # fmt: skip
    problems = q.check().problems()
    if problems:
        warnings.warn(
            "questionnaire data problems: " + "; ".join(problems) + ". Questionnaire.check() "
            "lists them by respondent and item; rows are dropped only on request.",
            SurveyDataWarning,
            stacklevel=user_stacklevel(),
        )
    return q


def _check_options(duplicates: str, out_of_range: str) -> None:
    if duplicates not in ("raise", "keep-first", "keep-last"):
        raise SurveyError(f"duplicates={duplicates!r}; use 'raise', 'keep-first' or 'keep-last'.")
    if out_of_range not in ("keep", "missing", "raise"):
        raise SurveyError(f"out_of_range={out_of_range!r}; use 'keep', 'missing' or 'raise'.")


def _read(source: Any, sheet: str | int) -> tuple[pd.DataFrame, FileMeta]:
    if isinstance(source, pd.DataFrame):
        return source.copy(), FileMeta()
    if isinstance(source, str | Path):
        return read_table(source, sheet=sheet)
    raise SurveyError(f"source must be a file path or a DataFrame, not {type(source).__name__}.")


def _describe_source(source: Any) -> str:
    return "DataFrame" if isinstance(source, pd.DataFrame) else Path(source).name


def _keyed(
    frame: pd.DataFrame, respondent: str, duplicates: Duplicates
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Frame indexed by respondent id, the source row of each id, the duplicates table."""
    if respondent not in frame.columns:
        if respondent not in frame.index.names:
            raise SurveyError(
                f"no respondent id column {respondent!r}; columns: {preview(frame.columns, 10)}."
                " Pass respondent='<id column>'."
            )
        frame = frame.reset_index()
    ids = frame[respondent]
    number = np.arange(1, len(frame) + 1)
    if ids.isna().any():
        raise SurveyError(
            f"{int(ids.isna().sum())} rows have no respondent id ({respondent!r} missing) at "
            f"rows {preview(number[ids.isna().to_numpy()].tolist())} (data rows counted from 1)."
            " "
            "Fill in the ids or remove those rows."
        )
    if pd.api.types.is_float_dtype(ids) and (ids == np.round(ids)).all():
        ids = ids.astype(np.int64)  # SPSS and Excel store whole-number ids as doubles
        frame = frame.assign(**{respondent: ids})
    dup = ids.duplicated(keep=False).to_numpy()
    keep = ~ids.duplicated(keep="last" if duplicates == "keep-last" else "first").to_numpy()
    table = pd.DataFrame({"respondent": ids[dup].to_numpy(), "row": number[dup],
                          "kept": keep[dup]})  # fmt: skip
    if dup.any():
        if duplicates == "raise":
            raise SurveyError(
                f"{table['respondent'].nunique()} respondent ids appear on more than one row: "
                + "; ".join(f"{_plain(k)!r} at rows {list(g['row'])}" for k, g in
                            list(table.groupby("respondent", sort=False))[:5])
                + ". Remove the repeated answers, or pass duplicates='keep-first' or "
                "'keep-last' to keep one row per id."
            )  # fmt: skip
        warn_dropped(int((~keep).sum()), f"repeated respondent ids ({duplicates})")
    frame = frame.loc[keep].set_index(respondent)
    return frame, pd.Series(number[keep], index=frame.index, name="row"), table


def _columns(
    frame: pd.DataFrame, cb: Codebook, respondent: str, covariates: Sequence[str]
) -> tuple[list[str], tuple[str, ...], tuple[str, ...]]:
    present = [i for i in cb.items if i in frame.columns]
    if not present:
        raise SurveyError(
            f"none of the {len(cb)} codebook items is a column of the data (items: "
            f"{preview(cb.items)}; columns: {preview(frame.columns, 10)}). Check the codebook "
            "matches the file, and the header row."
        )
    gone = [c for c in covariates if c not in frame.columns]
    if gone:
        raise SurveyError(f"covariates {preview(gone)} are not columns of the data.")
    absent = tuple(i for i in cb.items if i not in frame.columns)
    known = set(present) | set(covariates) | {respondent}
    unknown = tuple(str(c) for c in frame.columns if c not in known)
    return present, absent, unknown


def _codes(missing: Any) -> list[Any]:
    if missing is None:
        return []
    if isinstance(missing, str | int | float):
        return [missing]
    return list(missing)


def _answers(
    data: pd.DataFrame, meta: FileMeta, codes: list[Any], rows: pd.Series
) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """Numeric answers with declared missing codes set to NaN, and the codes found."""
    out, found = {}, {}
    for name in data.columns:
        values = data[name]
        hit = values.isin(codes) if codes else pd.Series(False, index=values.index)
        numeric = pd.to_numeric(values.where(~hit), errors="coerce")
        bad = numeric.isna() & values.notna() & ~hit
        if bad.any():
            raise SurveyError(
                f"item {name!r} has {int(bad.sum())} answers that are not numbers, e.g. "
                f"{preview(values[bad].unique().tolist())} at rows {preview(rows[bad])}. Declare "
                "non-answer codes with missing=[...] or recode the text to numbers first."
            )
        spans = meta.missing_ranges.get(name, [])
        for lo, hi in spans:
            hit = hit | numeric.between(lo, hi)
        if hit.any():
            found[name] = values[hit]
        out[name] = numeric.where(~hit).astype(np.float64)
    return pd.DataFrame(out, index=data.index), found


def _with_file_labels(cb: Codebook, meta: FileMeta) -> Codebook:
    """The codebook with item and value labels from the file where it has none."""
    for item in list(cb):
        changes: dict[str, Any] = {}
        if not item.label and meta.variable_labels.get(item.name):
            changes["label"] = meta.variable_labels[item.name]
        if not item.value_labels and meta.value_labels.get(item.name):
            changes["value_labels"] = meta.value_labels[item.name]
        if changes:
            cb = cb.replace(item.name, **changes)
    return cb


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value (for messages)."""
    return value.item() if isinstance(value, np.generic) else value
