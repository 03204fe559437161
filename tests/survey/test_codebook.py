"""Codebook: building from tables, dicts, files and SPSS metadata; self-validation."""

from __future__ import annotations

import pandas as pd
import pyreadstat
import pytest

from spillover.errors import SurveyError
from spillover.survey import Codebook, Item


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "item": ["a1", "a2", "a3", "b1"],
        "construct": ["A", "A", "A", "B"],
        "label": ["first", "second", None, "b one"],
        "reverse": ["no", "no", "yes", 0],
        "min": [1, 1, 1, 1],
        "max": [5, 5, 5, 7],
        "value_labels": ["1=disagree; 5=agree", None, None, ""],
    })  # fmt: skip


def test_table_builds_items_constructs_and_labels():
    cb = Codebook.from_frame(_table())
    assert cb.items == ("a1", "a2", "a3", "b1")
    assert dict(cb.constructs) == {"A": ("a1", "a2", "a3"), "B": ("b1",)}
    assert cb.reversed_items == ("a3",)
    assert cb["b1"].max == 7.0 and cb["a3"].label == ""
    assert dict(cb["a1"].value_labels) == {1.0: "disagree", 5.0: "agree"}


def test_table_round_trip_and_files(tmp_path):
    cb = Codebook.from_frame(_table())
    assert Codebook.from_frame(cb.to_frame()) == cb
    cb.to_frame().to_csv(tmp_path / "cb.csv", index=False)
    cb.to_frame().to_excel(tmp_path / "cb.xlsx", index=False)
    assert Codebook.from_file(tmp_path / "cb.csv") == cb
    assert Codebook.from_file(tmp_path / "cb.xlsx") == cb


def test_dict_and_constructs_builders_agree():
    by_dict = Codebook.from_dict({
        "a1": {"construct": "A", "range": (1, 5)},
        "a2": {"construct": "A", "range": (1, 5), "reverse": True},
    })  # fmt: skip
    by_constructs = Codebook.from_constructs({"A": ["a1", "a2"]}, scale=(1, 5), reverse=["a2"])
    assert by_dict == by_constructs


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Codebook([Item("a1", "A"), Item("a1", "B")]), "more than once: 'a1'"),
        (lambda: Codebook([Item("a1", "A"), Item("b1", "B")], constructs=["A"]),
         "not declared.*'b1'"),
        (lambda: Codebook([Item("a1", "A")], constructs=["A", "C"]), "'C' have no items"),
        (lambda: Item("a1", "A", min=5, max=1), "min \\(5\\) must be below max \\(1\\)"),
        (lambda: Item("a1", "A", min=1), "give both bounds"),
        (lambda: Item("a1", "A", reverse=True), "reverse-coded but has no range"),
        (lambda: Item("a1", "A", min=1, max=float("inf")), "finite"),
        (lambda: Codebook.from_constructs({"A": ["a1"]}, reverse=["zz"]), "'zz'"),
        (lambda: Codebook.from_frame(pd.DataFrame({"item": ["a"], "construct": ["A"],
                                                   "reverse": ["maybe"]})), "'maybe'"),
        (lambda: Codebook.from_frame(pd.DataFrame({"item": ["a"], "scale": ["A"]})),
         "needs columns 'item' and 'construct'"),
        (lambda: Codebook.from_dict({"a": {"construct": "A", "rnage": (1, 5)}}), "rnage"),
    ],
)  # fmt: skip
def test_bad_codebooks_are_named(build, match):
    with pytest.raises(SurveyError, match=match):
        build()


def test_from_spss_reads_labels_and_range_without_missing_codes(tmp_path):
    path = tmp_path / "q.sav"
    frame = pd.DataFrame({"firm_id": [1.0, 2.0], "a1": [1.0, 99.0], "a2": [3.0, 4.0]})
    labels = {"a1": {1: "disagree", 5: "agree", 99: "refused"}}
    pyreadstat.write_sav(frame, str(path), column_labels={"a1": "Cluster trust"},
                         variable_value_labels=labels, missing_ranges={"a1": [99]})  # fmt: skip
    cb = Codebook.from_spss(path, {"A": ["a1", "a2"]}, reverse=["a1"])
    assert cb["a1"].label == "Cluster trust"
    assert (cb["a1"].min, cb["a1"].max) == (1.0, 5.0)  # 99 is a user-missing code
    assert cb["a1"].value_labels[99.0] == "refused"
    assert not cb["a2"].has_range
    with pytest.raises(SurveyError, match="'zz'"):
        Codebook.from_spss(path, {"A": ["a1", "zz"]})
    scaled = Codebook.from_spss(path, {"A": ["a1", "a2"]}, scale=(1, 7))
    assert scaled["a2"].max == 7.0
