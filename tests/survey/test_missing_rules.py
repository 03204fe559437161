"""Missing-data rules against hand computations; the rule is recorded in every output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover.errors import DroppedRowsWarning, SpecificationError
from spillover.survey import Codebook, read_responses

NAN = np.nan


@pytest.fixture
def q():
    cb = Codebook.from_constructs({"A": ["a1", "a2", "a3"], "B": ["b1", "b2"]}, scale=(1, 5),
                                  reverse=["a3"])  # fmt: skip
    # a3 recoded (6 - x): 4, 1, 3, 5
    df = pd.DataFrame({
        "firm_id": [1, 2, 3, 4],
        "a1": [4, 2, NAN, 5], "a2": [5, NAN, NAN, 3], "a3": [2, 5, 3, 1],
        "b1": [3, 4, 1, 2], "b2": [5, 4, NAN, 2],
    })  # fmt: skip
    return read_responses(df, cb)


def test_listwise_drops_incomplete_respondents_with_a_warning(q):
    with pytest.warns(DroppedRowsWarning, match="dropped 2 rows: listwise deletion"):
        s = q.scores("listwise")
    assert s.index.tolist() == [1, 4]
    assert_allclose(s.to_numpy(), [[13 / 3, 4.0], [13 / 3, 2.0]], rtol=1e-15)
    assert s.attrs["missing_rule"] == "listwise"
    assert "2 of 4 respondents used, 2 with a missing item dropped" in s.attrs["missing_note"]


def test_pairwise_keeps_everyone_and_leaves_incomplete_constructs_missing(q):
    s = q.scores("pairwise")
    assert_allclose(s["A"], [13 / 3, NAN, NAN, 13 / 3], rtol=1e-15)
    assert_allclose(s["B"], [4.0, 4.0, NAN, 2.0], rtol=1e-15)
    assert s.attrs["missing_rule"] == "pairwise"
    assert "pairwise-complete" in s.attrs["missing_note"]
    # pairwise-complete counts behind DataFrame.corr: A with B 2, B with itself 3
    present = s.notna().astype(int)
    assert (present.T @ present).to_numpy().tolist() == [[2, 2], [2, 3]]


def test_item_mean_imputes_within_construct_given_enough_answers(q):
    items = q.apply_rule("item-mean")
    # respondent 2: a2 from the mean of a1 = 2 and recoded a3 = 1; respondent 3 answered
    # one of three A items (< 2 needed), so A stays missing; b2 from b1 = 1
    assert items.loc[2, "a2"] == 1.5
    assert np.isnan(items.loc[3, "a1"]) and np.isnan(items.loc[3, "a2"])
    assert items.loc[3, "b2"] == 1.0
    s = q.scores("item-mean")
    assert_allclose(s["A"], [13 / 3, 1.5, NAN, 13 / 3], rtol=1e-15)
    assert_allclose(s["B"], [4.0, 4.0, 1.0, 2.0], rtol=1e-15)
    note = s.attrs["missing_note"]
    assert "2 missing answers imputed" in note and "1 construct scores left missing" in note
    one = q.scores("item-mean", min_answered=1)
    assert one.loc[3, "A"] == 3.0 and one.attrs["missing_rule"] == "item-mean"
    assert "at least 1 of its items" in one.attrs["missing_note"]


def test_describe_states_the_rule_and_recoded_statistics(q):
    table = q.describe()
    assert table.attrs["missing_rule"] == "pairwise"
    assert table.loc["a3", "mean"] == pytest.approx((4 + 1 + 3 + 5) / 4)
    assert table.loc["a2", ["n", "missing"]].tolist() == [2, 2]
    assert bool(table.loc["a3", "reverse"]) and table.loc["b1", "construct"] == "B"
    with pytest.warns(DroppedRowsWarning):
        assert q.describe("listwise").loc["a1", "n"] == 2


@pytest.mark.parametrize(
    ("rule", "kw", "match"),
    [("mean", {}, "unknown missing-data rule 'mean'"),
     ("listwise", {"min_answered": 2}, "\'item-mean\' only"),
     ("item-mean", {"min_answered": 0}, ">= 1")],
)  # fmt: skip
def test_bad_rules_are_rejected(q, rule, kw, match):
    with pytest.raises(SpecificationError, match=match):
        q.scores(rule, **kw)
