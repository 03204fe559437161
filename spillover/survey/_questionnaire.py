"""Questionnaire: checked item responses keyed by respondent, with their codebook."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from spillover._validate import preview, warn_dropped
from spillover.errors import SpecificationError, SurveyError
from spillover.panel import Panel
from spillover.survey import _checks
from spillover.survey._codebook import Codebook
from spillover.survey._join import join_values
from spillover.survey._missing import MissingRule, apply_rule, construct_scores

Unmatched = Literal["raise", "drop", "keep"]


@dataclass(frozen=True, eq=False)
class Questionnaire:
    """Item responses checked against a codebook; build it with :func:`read_responses`.

    Attributes
    ----------
    respondent : str
        Name of the respondent id (the index name of every frame).
    raw : pandas.DataFrame
        Answers as given (declared missing codes read as NaN), respondent x item.
    items : pandas.DataFrame
        Numeric answers with reverse-coded items recoded as ``max + min - x`` (and
        out-of-range answers set to NaN if loaded with ``out_of_range="missing"``): the
        input of reliability, factor analysis and SEM.
    codebook : Codebook
        With item and value labels from the file filled in where it had none.
    covariates : pandas.DataFrame
        The data's non-item columns, by respondent.
    rows : pandas.Series
        Source data row of each respondent, counted from 1.
    dropped : pandas.DataFrame
        Respondents dropped on request so far, with the reason.
    """

    respondent: str
    raw: pd.DataFrame
    items: pd.DataFrame
    codebook: Codebook
    covariates: pd.DataFrame
    rows: pd.Series
    source: str
    duplicates: pd.DataFrame
    missing_codes: pd.DataFrame
    absent_items: tuple[str, ...]
    unknown_columns: tuple[str, ...]
    out_of_range_rule: str
    dropped: pd.DataFrame

    @classmethod
    def build(cls, *, raw: pd.DataFrame, codebook: Codebook, out_of_range: str,
              missing_codes: Mapping[str, pd.Series], **fields: Any) -> Questionnaire:  # fmt: skip
        """Assemble from checked parts (used by :func:`read_responses`)."""
        bad = _checks.out_of_range(raw, codebook, fields["rows"])
        if out_of_range == "raise" and len(bad):
            raise SurveyError(
                f"{len(bad)} answers are outside their item's range, e.g. "
                + "; ".join(f"{r.item}={r.value:g} at respondent {r.respondent!r} (row {r.row})"
                            for r in bad.head(3).itertuples())
                + ". Correct them, or load with out_of_range='missing' to read them as missing."
            )  # fmt: skip
        answers = raw.copy()
        if out_of_range == "missing":
            for r in bad.itertuples():
                answers.loc[r.respondent, r.item] = np.nan
        dropped = pd.DataFrame({raw.index.name: pd.Series(dtype=raw.index.dtype),
                                "reason": pd.Series(dtype=object)})  # fmt: skip
        return cls(
            raw=raw, items=recode(answers, codebook), codebook=codebook,
            missing_codes=_checks.missing_code_counts(missing_codes),
            out_of_range_rule=out_of_range, dropped=dropped, **fields,
        )  # fmt: skip

    # ------------------------------------------------------------------ views
    @property
    def ids(self) -> pd.Index:
        """Respondent ids, in source order."""
        return self.items.index

    @property
    def constructs(self) -> Mapping[str, tuple[str, ...]]:
        """Construct -> its items present in the data (read-only; absent items left out)."""
        return MappingProxyType({
            c: tuple(i for i in names if i in self.items.columns)
            for c, names in self.codebook.constructs.items()
            if any(i in self.items.columns for i in names)
        })  # fmt: skip

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return (
            f"Questionnaire({len(self)} respondents ({self.respondent!r}) x "
            f"{self.items.shape[1]} items in {len(self.constructs)} constructs, from "
            f"{self.source})"
        )

    # ------------------------------------------------------------------ checks
    def check(
        self,
        *,
        straightlining: Literal["overall", "construct"] | Mapping[str, Sequence[str]] = "overall",
        min_items: int = 3,
    ) -> _checks.SurveyCheck:
        """Report data problems by respondent and item (see :class:`SurveyCheck`).

        Parameters
        ----------
        straightlining : "overall", "construct" or mapping, default "overall"
            The blocks in which the same answer to every answered item counts as
            straight-lining: all items, each construct, or named blocks of items (e.g.
            the pages of the questionnaire). Judged on the answers as given (before
            reverse coding): a respondent who reads the questions cannot tick the same
            box for an item and its reverse.
        min_items : int, default 3
            Fewest answered items of a block for straight-lining to be judged.

        Examples
        --------
        >>> import pandas as pd
        >>> from spillover.survey import Codebook, read_responses
        >>> cb = Codebook.from_constructs({"trust": ["t1", "t2", "t3"], "size": ["s1", "s2"]},
        ...                               scale=(1, 5))
        >>> df = pd.DataFrame({"firm_id": [1, 2], "t1": [4, 3], "t2": [5, 3], "t3": [2, 3],
        ...                    "s1": [1, 1], "s2": [2, 5]})
        >>> read_responses(df, cb).check(straightlining="construct").straightlining
           respondent  row  block  value  items
        0           2    2  trust    3.0      3
        """
        if isinstance(min_items, bool) or not isinstance(min_items, int) or min_items < 2:
            raise SpecificationError(f"min_items must be an integer >= 2, got {min_items!r}.")
        raw = self.raw
        return _checks.SurveyCheck(
            out_of_range=_checks.out_of_range(raw, self.codebook, self.rows),
            unknown_columns=self.unknown_columns,
            absent_items=self.absent_items,
            duplicates=self.duplicates,
            missing_codes=self.missing_codes,
            straightlining=_checks.straightlining(
                raw, self._blocks(straightlining), self.rows, min_items
            ),
            missing_by_item=raw.isna().sum().rename("missing"),
            missing_by_respondent=raw.isna().sum(axis=1).rename("missing"),
            missing_patterns=_checks.missing_patterns(raw),
        )

    def _blocks(self, spec: Any) -> Mapping[str, Sequence[str]]:
        if isinstance(spec, Mapping):
            unknown = [i for names in spec.values() for i in names if i not in self.raw.columns]
            if unknown:
                raise SpecificationError(f"blocks name items not in the data: {preview(unknown)}.")
            return spec
        if spec == "overall":
            return {"all items": list(self.raw.columns)}
        if spec == "construct":
            return self.constructs
        raise SpecificationError(
            f"straightlining={spec!r}; use 'overall', 'construct' or a mapping of blocks."
        )

    # ------------------------------------------------------------------ missing data
    def apply_rule(self, rule: MissingRule, *, min_answered: int | None = None) -> pd.DataFrame:
        """The recoded items under a missing-data rule (see :meth:`scores`), e.g. for
        reliability or factor analysis; ``attrs`` record the rule."""
        return apply_rule(self.items, self.constructs, rule, min_answered)

    def scores(self, rule: MissingRule, *, min_answered: int | None = None) -> pd.DataFrame:
        """Construct scores: the mean of each construct's items after reverse coding.

        Parameters
        ----------
        rule : {"listwise", "pairwise", "item-mean"}
            ``"listwise"``: respondents with any missing item are dropped (a
            DroppedRowsWarning gives the count). ``"pairwise"``: nobody is dropped; a
            score is missing where any of its construct's items is, so correlations
            between scores (``DataFrame.corr``) use pairwise-complete observations and
            their n differs by pair. ``"item-mean"``: a missing item is imputed by the
            respondent's mean of the other items of the same construct, if at least
            ``min_answered`` of them are answered; otherwise the score stays missing.
        min_answered : int, optional
            For ``"item-mean"``: answered items needed (default half of the construct's
            items, rounded up; capped at the number of items).

        Returns
        -------
        pandas.DataFrame
            Respondent x construct; ``attrs["missing_rule"]`` is the rule and
            ``attrs["missing_note"]`` a sentence for a table note.

        Examples
        --------
        >>> import pandas as pd
        >>> from spillover.survey import Codebook, read_responses
        >>> cb = Codebook.from_constructs({"trust": ["t1", "t2", "t3"]}, scale=(1, 5))
        >>> df = pd.DataFrame({"firm_id": [1, 2], "t1": [4, 3], "t2": [5, None], "t3": [3, 2]})
        >>> s = read_responses(df, cb).scores("item-mean")
        >>> s["trust"].tolist(), s.attrs["missing_rule"]
        ([4.0, 2.5], 'item-mean')
        """
        return construct_scores(self.apply_rule(rule, min_answered=min_answered), self.constructs)

    def describe(self, rule: MissingRule = "pairwise", *,
                 min_answered: int | None = None) -> pd.DataFrame:  # fmt: skip
        """Item statistics under ``rule``: construct, reverse, range, n, missing, mean, sd
        (after recoding); ``attrs`` state the missing-data rule."""
        data = self.apply_rule(rule, min_answered=min_answered)
        cb = self.codebook
        table = pd.DataFrame({
            "construct": [cb[i].construct for i in data.columns],
            "reverse": [cb[i].reverse for i in data.columns],
            "min": [cb[i].min for i in data.columns], "max": [cb[i].max for i in data.columns],
            "n": data.notna().sum().to_numpy(), "missing": data.isna().sum().to_numpy(),
            "mean": data.mean().to_numpy(), "sd": data.std(ddof=1).to_numpy(),
        }, index=pd.Index(data.columns, name="item"))  # fmt: skip
        table.attrs = dict(data.attrs)
        return table

    # ------------------------------------------------------------------ rows
    def drop(self, respondents: Iterable[Any], *, reason: str) -> Questionnaire:
        """A new Questionnaire without ``respondents`` (DroppedRowsWarning with the reason)."""
        ids = pd.Index(list(respondents))
        unknown = ids.difference(self.ids)
        if len(unknown):
            raise SurveyError(
                f"{len(unknown)} ids to drop are not respondents: {preview(unknown.tolist())}."
            )
        if not isinstance(reason, str) or not reason.strip():
            raise SpecificationError("give a reason for dropping respondents (reason='...').")
        ids = ids.unique()
        warn_dropped(len(ids), reason)
        keep = ~self.ids.isin(ids)
        log = pd.DataFrame({self.respondent: ids, "reason": reason})
        return dataclasses.replace(
            self, raw=self.raw.loc[keep], items=self.items.loc[keep],
            covariates=self.covariates.loc[keep], rows=self.rows.loc[keep],
            dropped=pd.concat([self.dropped, log], ignore_index=True) if len(self.dropped)
            else log,
        )  # fmt: skip

    def dropna(self, how: Literal["any", "all"] = "any", *,
               min_answered: int | None = None) -> Questionnaire:  # fmt: skip
        """Drop respondents with a missing item (``how="any"``), with no answer at all
        (``"all"``), or with fewer than ``min_answered`` answered items (if given)."""
        answered = self.raw.notna().sum(axis=1)
        if min_answered is not None:
            lose, why = answered < min_answered, f"fewer than {min_answered} items answered"
        elif how == "any":
            lose, why = answered < self.raw.shape[1], "a missing item (dropna how='any')"
        elif how == "all":
            lose, why = answered == 0, "no item answered (dropna how='all')"
        else:
            raise SpecificationError(f"how={how!r}; use 'any' or 'all'.")
        return self.drop(self.ids[lose.to_numpy()], reason=why)

    def join(self, other: Panel | pd.DataFrame, *, on: str | None = None,
             values: pd.DataFrame | None = None, unmatched: Unmatched = "raise",
             ) -> Panel | pd.DataFrame:  # fmt: skip
        """Add survey values to a firm panel or frame, matching respondent ids to ``on``.

        Parameters
        ----------
        other : Panel or pandas.DataFrame
            A Panel (matched on its entity) or a frame with the id in column or index
            ``on``; several rows per id (years) each get the firm's values.
        on : str, optional
            Id column of ``other``; default the Panel's entity, else ``self.respondent``.
        values : pandas.DataFrame, optional
            What to add, indexed by respondent (e.g. ``q.scores("item-mean")``);
            default the recoded items.
        unmatched : {"raise", "drop", "keep"}, default "raise"
            Ids on one side only raise an AlignmentError naming them; ``"drop"`` keeps
            the matched rows of ``other`` (DroppedRowsWarning); ``"keep"`` keeps every
            row of ``other`` with missing survey values (a SurveyDataWarning counts the
            firms without answers and the respondents not in ``other``).

        Returns
        -------
        Panel or pandas.DataFrame
            ``other`` with the survey columns added, rows in its order.

        Examples
        --------
        >>> import pandas as pd
        >>> from spillover import Panel
        >>> from spillover.survey import Codebook, read_responses
        >>> cb = Codebook.from_constructs({"trust": ["t1", "t2"]}, scale=(1, 5))
        >>> q = read_responses(pd.DataFrame({"firm_id": [1, 2], "t1": [4, 2], "t2": [5, 3]}), cb)
        >>> panel = Panel(pd.DataFrame({"firm": [1, 1, 2, 2], "year": [2000, 2001] * 2}),
        ...               entity="firm", time="year")
        >>> q.join(panel, values=q.scores("pairwise"))["trust"].tolist()
        [4.5, 4.5, 2.5, 2.5]
        """
        return join_values(self, other, on=on, values=values, unmatched=unmatched)


def recode(raw: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Reverse-coded items as ``max + min - x``; the others unchanged."""
    out = raw.copy()
    for name in raw.columns:
        item = codebook[name]
        if item.reverse:
            out[name] = item.max + item.min - raw[name]
    return out
