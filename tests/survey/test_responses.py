"""read_responses and Questionnaire.check on a small data set whose problems are known by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal

from spillover.errors import DroppedRowsWarning, SurveyDataWarning, SurveyError
from spillover.survey import Codebook, read_responses

NAN = np.nan


@pytest.fixture
def codebook() -> Codebook:
    # b4 is in the codebook but not in the data; a3 is reverse-coded
    return Codebook.from_constructs(
        {"A": ["a1", "a2", "a3"], "B": ["b1", "b2", "b3", "b4"]}, scale=(1, 5), reverse=["a3"]
    )


@pytest.fixture
def crafted() -> pd.DataFrame:
    # row 1 clean; row 2 straight-lines everything (3); row 3 a2 = 7 out of range, b2
    # missing; row 4 b3 = 0 out of range, a1 and a2 missing; row 5 straight-lines A (2),
    # b2 and b3 missing; "note" is not in the codebook.
    return pd.DataFrame({
        "firm_id": [101, 102, 103, 104, 105],
        "a1": [4, 3, 1, NAN, 2], "a2": [5, 3, 7, NAN, 2], "a3": [2, 3, 5, 4, 2],
        "b1": [3, 3, 2, 5, 4], "b2": [4, 3, NAN, 5, NAN], "b3": [4, 3, 1, 0, NAN],
        "note": ["", "", "late", "", ""],
    })  # fmt: skip


@pytest.fixture
def q(crafted, codebook):
    with pytest.warns(SurveyDataWarning, match="2 answers out of range in 2 items"):
        return read_responses(crafted, codebook)


def test_load_warning_counts_every_problem(crafted, codebook):
    with pytest.warns(SurveyDataWarning) as record:
        read_responses(crafted, codebook)
    message = str(record[0].message)
    for part in ("2 answers out of range", "1 columns not in the codebook ('note')",
                 "1 codebook items absent from the data ('b4')",
                 "1 straight-lining respondents (102)", "dropped only on request"):  # fmt: skip
        assert part in message
    assert record[0].filename == __file__  # points at the caller's line


def test_ids_raw_recoded_and_constructs(q):
    assert q.ids.tolist() == [101, 102, 103, 104, 105] and q.ids.name == "firm_id"
    assert q.raw["a3"].tolist() == [2, 3, 5, 4, 2]
    assert q.items["a3"].tolist() == [4, 3, 1, 2, 4]  # 5 + 1 - x
    assert_series_equal(q.items["a2"], q.raw["a2"])  # not reversed, out of range kept
    assert dict(q.constructs) == {"A": ("a1", "a2", "a3"), "B": ("b1", "b2", "b3")}
    assert q.items.dtypes.eq(np.float64).all()
    assert q.covariates.columns.tolist() == ["note"]
    assert q.rows.tolist() == [1, 2, 3, 4, 5]


def test_out_of_range_by_respondent_and_item(q):
    expected = pd.DataFrame({
        "respondent": [103, 104], "row": [3, 4], "item": ["a2", "b3"],
        "value": [7.0, 0.0], "min": [1.0, 1.0], "max": [5.0, 5.0],
    })  # fmt: skip
    assert_frame_equal(q.check().out_of_range, expected, check_dtype=False)


def test_unknown_and_absent_columns(q):
    report = q.check()
    assert report.unknown_columns == ("note",)
    assert report.absent_items == ("b4",)


def test_straightlining_overall_by_construct_and_blocks(q):
    overall = q.check().straightlining
    assert overall[["respondent", "row", "block", "value", "items"]].values.tolist() == [
        [102, 2, "all items", 3.0, 6]
    ]
    by_construct = q.check(straightlining="construct").straightlining
    assert by_construct[["respondent", "block", "value", "items"]].values.tolist() == [
        [102, "A", 3.0, 3], [102, "B", 3.0, 3], [105, "A", 2.0, 3],
    ]  # fmt: skip
    # with two answered items required, 104's B answers (5, 5, 0) are not all equal
    blocks = q.check(straightlining={"page1": ["a3", "b1"]}, min_items=2).straightlining
    assert blocks["respondent"].tolist() == [102]


def test_missing_counts_and_patterns(q):
    report = q.check()
    assert report.missing_by_item.to_dict() == {"a1": 1, "a2": 1, "a3": 0, "b1": 0, "b2": 2,
                                                 "b3": 1}  # fmt: skip
    assert report.missing_by_respondent.to_dict() == {101: 0, 102: 0, 103: 1, 104: 2, 105: 2}
    patterns = report.missing_patterns
    items = ["a1", "a2", "a3", "b1", "b2", "b3"]
    found = {tuple(c for c in items if r[c]): (r["respondents"], r["n_missing"])
             for _, r in patterns.iterrows()}  # fmt: skip
    assert found == {(): (2, 0), ("b2",): (1, 1), ("a1", "a2"): (1, 2), ("b2", "b3"): (1, 2)}
    assert patterns["respondents"].iloc[0] == 2  # most frequent first
    assert "5 of 30 answers missing; 3 of 5 respondents" in report.summary()  # 5 x 6 cells


def test_out_of_range_as_missing_or_error(crafted, codebook):
    with pytest.warns(SurveyDataWarning):
        q = read_responses(crafted, codebook, out_of_range="missing")
    assert np.isnan(q.items.loc[103, "a2"]) and np.isnan(q.items.loc[104, "b3"])
    assert q.raw.loc[103, "a2"] == 7  # the raw answer stays, and is still reported
    assert len(q.check().out_of_range) == 2
    with pytest.raises(SurveyError, match="a2=7 at respondent 103 \\(row 3\\)"):
        read_responses(crafted, codebook, out_of_range="raise")


def test_missing_codes_are_read_as_missing_and_counted(codebook):
    df = pd.DataFrame({"firm_id": [1, 2, 3], "a1": [1, -9, 99], "a2": [2, 3, 4],
                       "a3": [5, 4, "n/a"]})  # fmt: skip
    with pytest.warns(SurveyDataWarning, match="4 codebook items absent"):
        q = read_responses(df, codebook, missing=[-9, 99, "n/a"])
    assert q.raw["a1"].isna().tolist() == [False, True, True]
    assert q.raw["a3"].isna().tolist() == [False, False, True]
    codes = q.check().missing_codes
    assert codes[["item", "code", "count"]].values.tolist() == [
        ["a1", -9, 1],
        ["a1", 99, 1],
        ["a3", "n/a", 1],
    ]


def test_text_answers_are_an_error_naming_item_value_and_row(codebook):
    df = pd.DataFrame({"firm_id": [1, 2], "a1": [1, "agree"], "a2": [2, 3], "a3": [5, 4]})
    with pytest.raises(SurveyError, match=r"item 'a1'.*'agree' at rows 2.*missing="):
        read_responses(df, codebook)


def test_structural_errors(crafted, codebook):
    with pytest.raises(SurveyError, match=r"no respondent id column 'firm'.*respondent="):
        read_responses(crafted, codebook, respondent="firm")
    no_id = crafted.assign(firm_id=[1, None, 3, 4, 5])
    with pytest.raises(SurveyError, match=r"1 rows have no respondent id.*rows 2"):
        read_responses(no_id, codebook)
    with pytest.raises(SurveyError, match="none of the 7 codebook items"):
        read_responses(crafted[["firm_id", "note"]], codebook)
    with pytest.raises(SurveyError, match="covariates 'region'"):
        read_responses(crafted, codebook, covariates=["region"])
    with pytest.raises(SurveyError, match="duplicates='first'"):
        read_responses(crafted, codebook, duplicates="first")


def test_index_as_respondent_and_declared_covariates(crafted, codebook):
    with pytest.warns(SurveyDataWarning) as record:
        q = read_responses(crafted.set_index("firm_id"), codebook, covariates=["note"])
    assert "not in the codebook" not in str(record[0].message)
    assert q.ids.tolist() == [101, 102, 103, 104, 105]


def test_duplicated_respondents_raise_or_keep_one(crafted, codebook):
    dup = pd.concat([crafted, crafted.iloc[[0, 2]]], ignore_index=True)  # rows 6, 7 repeat
    with pytest.raises(SurveyError, match=r"2 respondent ids.*101 at rows \[1, 6\]; 103 at"):
        read_responses(dup, codebook)
    dup.loc[5, "a1"] = 1.0
    with (
        pytest.warns(DroppedRowsWarning, match="dropped 2 rows: repeated respondent ids"),
        pytest.warns(SurveyDataWarning, match="2 respondent ids on more than one row"),
    ):
        first = read_responses(dup, codebook, duplicates="keep-first")
    assert first.items.loc[101, "a1"] == 4.0 and len(first) == 5
    table = first.check().duplicates
    assert table.values.tolist() == [[101, 1, True], [103, 3, True], [101, 6, False],
                                     [103, 7, False]]  # fmt: skip
    with pytest.warns(DroppedRowsWarning), pytest.warns(SurveyDataWarning):
        last = read_responses(dup, codebook, duplicates="keep-last")
    assert last.items.loc[101, "a1"] == 1.0 and last.rows.loc[101] == 6


def test_drop_and_dropna_warn_and_log(q):
    with pytest.warns(DroppedRowsWarning, match="dropped 1 rows: straight-liner"):
        fewer = q.drop([102], reason="straight-liner")
    assert fewer.ids.tolist() == [101, 103, 104, 105]
    assert fewer.dropped.values.tolist() == [[102, "straight-liner"]]
    assert len(q) == 5  # the original is unchanged
    with pytest.raises(SurveyError, match="999"):
        q.drop([999], reason="x")
    with pytest.warns(DroppedRowsWarning, match="dropped 3 rows: a missing item"):
        assert q.dropna().ids.tolist() == [101, 102]
    with pytest.warns(DroppedRowsWarning, match="dropped 0|fewer than 5") as record:
        kept = q.dropna(min_answered=5)
    assert kept.ids.tolist() == [101, 102, 103] and len(record) == 1


def test_questionnaire_is_frozen(q):
    with pytest.raises(AttributeError):
        q.items = q.raw
