"""Joining survey answers to a firm panel or frame: unmatched ids are reported, never lost."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spillover import Panel
from spillover.errors import AlignmentError, DroppedRowsWarning, SurveyDataWarning
from spillover.survey import Codebook, read_responses


@pytest.fixture
def q():
    cb = Codebook.from_constructs({"A": ["a1", "a2"]}, scale=(1, 5))
    df = pd.DataFrame({"firm_id": [1, 2, 3, 4], "a1": [1, 2, 3, 4], "a2": [2, 3, 4, 5]})
    return read_responses(df, cb)


@pytest.fixture
def panel():
    firms = np.repeat([1, 2, 3, 5], 2)
    df = pd.DataFrame({"firm": firms, "year": [2000, 2001] * 4, "emp": np.arange(8.0)})
    return Panel(df, entity="firm", time="year")


def test_unmatched_ids_raise_naming_both_sides(q, panel):
    with pytest.raises(AlignmentError, match=r"1 respondents have no 'firm'.*\(e.g. 4\).*"
                       r"1 'firm' ids have no survey answers \(e.g. 5\).*unmatched="):  # fmt: skip
        q.join(panel)


def test_drop_keeps_matched_firms_with_a_warning(q, panel):
    with pytest.warns(DroppedRowsWarning, match="dropped 2 rows of the data"):
        out = q.join(panel, unmatched="drop")
    assert out.entities.tolist() == [1, 2, 3]
    assert out["a1"].tolist() == [1, 1, 2, 2, 3, 3]


def test_keep_keeps_every_row_with_missing_answers(q, panel):
    with pytest.warns(SurveyDataWarning, match="unmatched='keep'"):
        out = q.join(panel, unmatched="keep", values=q.scores("pairwise"))
    assert out.nobs == 8
    assert out["A"].tolist()[-2:] == [pytest.approx(np.nan, nan_ok=True)] * 2
    assert out["A"].tolist()[:2] == [1.5, 1.5]


def test_frame_join_by_column_or_index_and_id_types(q):
    frame = pd.DataFrame({"firm": [4, 1, 2, 3], "region": ["N", "S", "S", "E"]})
    out = q.join(frame, on="firm")
    assert out["a2"].tolist() == [5, 2, 3, 4] and out["region"].tolist() == ["N", "S", "S", "E"]
    by_index = q.join(frame.set_index("firm"), on="firm")
    assert by_index["a1"].tolist() == [4, 1, 2, 3]
    text = frame.assign(firm=frame["firm"].astype(str))
    with pytest.raises(AlignmentError, match="No id matches: the survey ids are int64"):
        q.join(text, on="firm")


def test_values_must_belong_to_the_questionnaire(q):
    frame = pd.DataFrame({"firm_id": [1, 2, 3, 4]})
    with pytest.raises(AlignmentError, match=r"not respondents.*99"):
        q.join(frame, values=pd.DataFrame({"x": [1.0]}, index=[99]))
