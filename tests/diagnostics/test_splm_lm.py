"""Panel LM tests against splm's ``slmtest``, through the input paths users take.

Reference: tests/references/splm_produc.json (``lm_tests.slmtest``), made by
tests/references/splm_produc.R with splm 1.6-5 on the Munnell states panel (48 x 17),
queen W, row-standardised. slmtest fits OLS to plm's transformed data (pooled with an
intercept, or entity / time / two-way demeaned), uses sigma^2 = e'e / (NT) and applies
``I_T (x) W`` to the transformed y: the closed forms of ``lm_tests`` on the same transformed
data, so 1e-8 relative throughout.

test_spatial_diagnostics_splm.py feeds numpy arrays with explicit ``time``/``entity`` codes;
here the same numbers must come out of (a) pandas objects carrying the Panel's
(entity, time) MultiIndex and no codes, (b) bare time-major arrays with ``n_periods`` only,
(c) rows in random order with codes. The SARMA test, which slmtest does not print, is
checked against Anselin's identity on splm's own numbers: LM-lag + robust LM-error =
robust LM-lag + LM-error.
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
SLMTEST = REF["lm_tests"]["slmtest"]
XS = ["log_pcap", "log_pc", "log_emp", "unemp"]
PAIRS = [("lag", "lml"), ("error", "lme"), ("robust_lag", "rlml"), ("robust_error", "rlme")]
CASES = ["pooling", "within_individual", "within_time", "within_twoways"]
RTOL = 1e-8


@pytest.fixture(scope="module")
def produc():
    panel = datasets.us_states()
    return panel, weights.queen(panel).row_standardize()


def _transformed(panel, case: str) -> tuple[pd.Series, pd.DataFrame]:
    """plm's transformation of y and X, kept on the Panel's (entity, time) MultiIndex."""
    data = panel.data[["log_gsp", *XS]].astype(float)
    levels = {
        "within_individual": [0],
        "within_time": [1],
        "within_twoways": [0, 1],
    }.get(case, [])
    for level in levels:  # balanced panel: sequential demeaning is the two-way transform
        data = data - data.groupby(level=level).transform("mean")
    x = data[XS]
    if case == "pooling":
        x = x.assign(Intercept=1.0)
    return data["log_gsp"], x


def _assert_equal_slmtest(res, case: str) -> None:
    ref = SLMTEST[case]
    for ours, theirs in PAIRS:
        got = getattr(res, ours)
        assert got.df == 1
        assert_allclose(
            [got.statistic, got.pvalue],
            [ref[theirs]["statistic"], ref[theirs]["p_value"]],
            rtol=RTOL,
            atol=1e-300,
        )


@pytest.mark.parametrize("case", CASES)
def test_multiindex_input_equals_slmtest(produc, case):
    """Panel columns as given (entity-major rows): the MultiIndex supplies the order."""
    panel, w = produc
    y, x = _transformed(panel, case)
    res = lm_tests(y, x, w)
    assert res.n_periods == 17
    _assert_equal_slmtest(res, case)


@pytest.mark.parametrize("case", CASES)
def test_time_major_arrays_equal_slmtest(produc, case):
    """Bare arrays stacked period by period in W's entity order, T given."""
    panel, w = produc
    y, x = _transformed(panel, case)
    order = pd.MultiIndex.from_product(
        [sorted(panel.data.index.get_level_values(1).unique()), list(w.ids)]
    ).swaplevel()  # (entity, time) pairs, time-major
    y_tm = y.reindex(order).to_numpy()
    x_tm = x.reindex(order).to_numpy()
    assert not np.isnan(y_tm).any()
    _assert_equal_slmtest(lm_tests(y_tm, x_tm, w.matrix, n_periods=17), case)


@pytest.mark.parametrize("case", ["within_individual", "within_twoways"])
def test_shuffled_rows_with_codes_equal_slmtest(produc, case):
    """Row order is irrelevant once time and entity codes are given."""
    panel, w = produc
    y, x = _transformed(panel, case)
    perm = np.random.default_rng(20240501).permutation(len(y))
    y, x = y.iloc[perm], x.iloc[perm]
    res = lm_tests(
        y.to_numpy(),
        x.to_numpy(),
        w,
        time=y.index.get_level_values(1),
        entity=y.index.get_level_values(0),
    )
    _assert_equal_slmtest(res, case)


@pytest.mark.parametrize("case", CASES)
def test_sarma_equals_anselin_identity_on_splm_numbers(produc, case):
    """SARMA (df 2) = LM-lag + robust LM-error = robust LM-lag + LM-error, from splm."""
    panel, w = produc
    y, x = _transformed(panel, case)
    ref = {k: SLMTEST[case][k]["statistic"] for k in ("lml", "lme", "rlml", "rlme")}
    assert_allclose(ref["lml"] + ref["rlme"], ref["rlml"] + ref["lme"], rtol=1e-10)
    sarma = lm_tests(y, x, w).sarma
    assert sarma.df == 2
    assert_allclose(sarma.statistic, ref["rlml"] + ref["lme"], rtol=RTOL)
