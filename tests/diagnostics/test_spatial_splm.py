"""Panel LM tests against R's splm ``slmtest`` on the Munnell states panel.

Reference: tests/references/splm_produc.json (``lm_tests.slmtest``), made by
tests/references/splm_produc.R with splm 1.6-5: OLS on the pooled data or on the within
(entity, time or two-way demeaned) data, LM lag/error and their locally robust versions
with I_T (x) W. Same closed forms on the same transformed data: 1e-8.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover import datasets, weights
from spillover.diagnostics.spatial import lm_tests

REF = json.loads((Path(__file__).parents[1] / "references" / "splm_produc.json").read_text())
XS = ["log_pcap", "log_pc", "log_emp", "unemp"]
PAIRS = [("lag", "lml"), ("error", "lme"), ("robust_lag", "rlml"), ("robust_error", "rlme")]


@pytest.fixture(scope="module")
def data():
    panel = datasets.us_states()
    w = weights.queen(panel.geo).row_standardize()
    frame = panel.data.reset_index()
    return frame, w, frame["year"].nunique()


def _demean(a: np.ndarray, by: pd.Series) -> np.ndarray:
    a = pd.DataFrame(a)
    return (a - a.groupby(by.to_numpy()).transform("mean")).to_numpy()


@pytest.mark.parametrize("case", ["pooling", "within_individual", "within_time", "within_twoways"])
def test_panel_lm_tests_equal_splm_slmtest(data, case):
    frame, w, n_periods = data
    y, x = frame[["log_gsp"]].to_numpy(), frame[XS].to_numpy()
    if case == "pooling":
        x = np.column_stack([np.ones(len(x)), x])
    if case in ("within_individual", "within_twoways"):
        y, x = _demean(y, frame["state"]), _demean(x, frame["state"])
    if case in ("within_time", "within_twoways"):
        y, x = _demean(y, frame["year"]), _demean(x, frame["year"])
    # Rows are state-major here; time/entity codes put them in I_T (x) W order.
    res = lm_tests(y, x, w, n_periods=n_periods, time=frame["year"], entity=frame["state"])
    ref = REF["lm_tests"]["slmtest"][case]
    for ours, theirs in PAIRS:
        got = getattr(res, ours)
        assert_allclose(
            [got.statistic, got.pvalue],
            [ref[theirs]["statistic"], ref[theirs]["p_value"]],
            rtol=1e-8,
        )
