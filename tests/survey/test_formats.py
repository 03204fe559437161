"""Round trips through CSV, Excel, SPSS .sav (labels, user-missing codes) and Stata .dta."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from pandas.testing import assert_frame_equal

from spillover.errors import SurveyError
from spillover.survey import Codebook, read_responses

NAN = np.nan


@pytest.fixture
def codebook():
    return Codebook.from_constructs({"A": ["a1", "a2", "a3"]}, scale=(1, 5), reverse=["a3"])


@pytest.fixture
def frame():
    return pd.DataFrame({"firm_id": [11, 12, 13, 14], "a1": [1.0, 2.0, NAN, 5.0],
                         "a2": [3.0, 3.0, 4.0, 1.0], "a3": [5.0, 4.0, 2.0, NAN]})  # fmt: skip


def _same(q, frame):
    expected = frame.set_index("firm_id")
    assert q.ids.tolist() == [11, 12, 13, 14] and q.ids.dtype == np.int64
    assert_frame_equal(q.raw, expected, check_dtype=False, check_index_type=False)
    assert q.items["a3"].tolist()[:3] == [1.0, 2.0, 4.0]


def test_csv_and_excel(tmp_path, frame, codebook):
    frame.to_csv(tmp_path / "r.csv", index=False)
    _same(read_responses(tmp_path / "r.csv", codebook), frame)
    with pd.ExcelWriter(tmp_path / "r.xlsx") as xl:
        frame.head(1).to_excel(xl, sheet_name="pilot", index=False)
        frame.to_excel(xl, sheet_name="main", index=False)
    q = read_responses(str(tmp_path / "r.xlsx"), codebook, sheet="main")
    _same(q, frame)
    assert q.source == "r.xlsx"


def test_spss_keeps_user_missing_codes_missing_and_reads_labels(tmp_path, frame, codebook):
    coded = frame.fillna({"a1": 99.0, "a3": 98.0}).astype({"firm_id": float})
    path = tmp_path / "r.sav"
    pyreadstat.write_sav(
        coded, str(path), column_labels={"a1": "Trust in cluster firms", "a2": "Shared norms"},
        variable_value_labels={"a1": {1: "disagree", 5: "agree", 99: "no answer"}},
        missing_ranges={"a1": [99], "a3": [{"lo": 97, "hi": 98}]},
    )  # fmt: skip
    q = read_responses(path, codebook)
    _same(q, frame)
    assert q.codebook["a1"].label == "Trust in cluster firms"
    assert q.codebook["a1"].value_labels[99.0] == "no answer"
    assert q.check().missing_codes.values.tolist() == [["a1", 99.0, 1], ["a3", 98.0, 1]]
    assert q.check().out_of_range.empty  # the codes are missing, not out of range


def test_stata(tmp_path, frame, codebook):
    path = tmp_path / "r.dta"
    frame.to_stata(path, write_index=False, variable_labels={"a2": "Shared norms"},
                   value_labels={"a2": {1: "disagree", 5: "agree"}})  # fmt: skip
    q = read_responses(path, codebook)
    _same(q, frame)
    assert q.codebook["a2"].label == "Shared norms"
    assert dict(q.codebook["a2"].value_labels) == {1.0: "disagree", 5.0: "agree"}


def test_unreadable_sources(tmp_path, codebook):
    with pytest.raises(SurveyError, match=r"unknown extension '.json'"):
        read_responses(tmp_path / "r.json", codebook)
    with pytest.raises(SurveyError, match="no such file"):
        read_responses(tmp_path / "r.csv", codebook)
    with pytest.raises(SurveyError, match="no such file"):
        read_responses(tmp_path / "r.sav", codebook)
    with pytest.raises(SurveyError, match="file path or a DataFrame"):
        read_responses([1, 2], codebook)
