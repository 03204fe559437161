"""Perpetual-inventory R&D stocks against hand-computed series and a scalar loop."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover import Panel
from spillover.errors import PanelError, SpecificationError
from spillover.measures import rd_stock


def _panel(firm, year, rd):
    return Panel(pd.DataFrame({"firm": firm, "year": year, "rd": rd}), entity="firm", time="year")


def test_constant_growth_hand_series():
    # K0 = 10 / (0.05 + 0.15) = 50; K1 = 0.85 * 50 + 20 = 62.5; K2 = 0.85 * 62.5 + 30
    p = _panel([1, 1, 1], [2000, 2001, 2002], [10.0, 20.0, 30.0])
    assert_allclose(rd_stock(p, "rd", growth=0.05), [50.0, 62.5, 83.125], rtol=1e-14)


def test_presample_growth_hand_series():
    # R grows 10% a year; window of 2 years: g = (121 / 100) ** (1 / 2) - 1 = 0.10
    # K0 = 100 / 0.25 = 400; K1 = 340 + 110 = 450; K2 = 382.5 + 121 = 503.5;
    # K3 = 0.85 * 503.5 + 133.1 = 561.075
    p = _panel([7] * 4, [1990, 1991, 1992, 1993], [100.0, 110.0, 121.0, 133.1])
    k = rd_stock(p, "rd", presample_years=2)
    assert_allclose(k, [400.0, 450.0, 503.5, 561.075], rtol=1e-12)
    assert k.name == "rd_stock"
    assert k.index.equals(p.data.index)


def _loop_reference(df, delta, g):
    """Scalar perpetual inventory, firm by firm (independent of the vectorised code)."""
    out = {}
    for firm, grp in df.sort_values(["firm", "year"]).groupby("firm"):
        k = None
        for year, r in zip(grp["year"], grp["rd"], strict=True):
            k = r / (g + delta) if k is None else (1 - delta) * k + r
            out[(firm, year)] = k
    return pd.Series(out)


def test_unbalanced_firms_match_scalar_loop():
    rng = np.random.default_rng(11)
    rows = []
    for firm in range(40):
        start, length = rng.integers(1980, 1990), rng.integers(1, 12)
        for year in range(start, start + length):
            rows.append((firm, year, rng.gamma(2.0, 5.0)))
    df = pd.DataFrame(rows, columns=["firm", "year", "rd"]).sample(frac=1, random_state=1)
    p = Panel(df, entity="firm", time="year")
    k = rd_stock(p, "rd", depreciation=0.2, growth=0.03)
    ref = _loop_reference(df, 0.2, 0.03)
    # same arithmetic in a different order of operations: agree to rounding
    assert_allclose(k.to_numpy(), ref.reindex(k.index).to_numpy(), rtol=1e-12)


def test_gap_raises_naming_firm_and_years():
    p = _panel([1, 1, 2, 2, 2], [2000, 2001, 2000, 2003, 2004], [1.0] * 5)
    with pytest.raises(PanelError, match=r"firm 2 between 2000 and 2003"):
        rd_stock(p, "rd", growth=0.05)


def test_gap_restart_is_two_separate_firms():
    p = _panel([2, 2, 2, 2], [2000, 2001, 2004, 2005], [10.0, 20.0, 30.0, 40.0])
    k = rd_stock(p, "rd", growth=0.05, gaps="restart")
    # each spell starts afresh: 50, 62.5 | 30 / 0.2 = 150, 0.85 * 150 + 40 = 167.5
    assert_allclose(k, [50.0, 62.5, 150.0, 167.5], rtol=1e-14)


def test_growth_guards():
    p = _panel([1, 1, 2], [2000, 2001, 2000], [10.0, 5.0, 3.0])
    with pytest.raises(SpecificationError, match="<= 0"):
        rd_stock(p, "rd", growth=-0.15)
    # firm 1 halves its R&D: g = -0.5, g + delta < 0; firm 2 has one year: g undefined
    with pytest.raises(SpecificationError, match=r"2 firm\(s\) .* e\.g\. 1, 2"):
        rd_stock(p, "rd")
    k = rd_stock(p, "rd", fallback_growth=0.05)
    assert_allclose(k, [50.0, 0.85 * 50 + 5.0, 15.0], rtol=1e-14)


def test_missing_and_negative_rd_are_errors():
    with pytest.raises(PanelError, match="missing"):
        rd_stock(_panel([1, 1], [2000, 2001], [1.0, np.nan]), "rd", growth=0.05)
    with pytest.raises(PanelError, match="negative"):
        rd_stock(_panel([1, 1], [2000, 2001], [1.0, -2.0]), "rd", growth=0.05)
    with pytest.raises(SpecificationError, match="depreciation"):
        rd_stock(_panel([1], [2000], [1.0]), "rd", depreciation=1.5, growth=0.05)


def test_datetime_periods_use_the_panel_calendar():
    q = pd.to_datetime(["2000-01-01", "2000-04-01", "2000-07-01", "2000-10-01"])
    df = pd.DataFrame({"firm": [1, 1, 1, 2, 2], "year": q[[0, 1, 2, 0, 3]], "rd": [1.0] * 5})
    p = Panel(df, entity="firm", time="year")
    with pytest.raises(PanelError, match="firm 2 between"):
        rd_stock(p, "rd", growth=0.05)
    k = rd_stock(p.subset(entities=[1]), "rd", depreciation=0.1, growth=0.1)
    assert_allclose(k, [5.0, 5.5, 5.95], rtol=1e-14)  # 1 / 0.2; 0.9 * 5 + 1; 0.9 * 5.5 + 1


def test_a_quarter_missing_from_the_whole_panel_is_a_gap():
    # calendar quarters, as every lag: Q3 absent for every firm still breaks the recursion
    q = pd.to_datetime(["2000-01-01", "2000-04-01", "2000-10-01"])
    p = Panel(pd.DataFrame({"firm": 1, "q": q, "rd": [1.0, 1.0, 1.0]}), entity="firm", time="q")
    with pytest.raises(PanelError, match="missing years"):
        rd_stock(p, "rd", growth=0.1)
    k = rd_stock(p, "rd", depreciation=0.1, growth=0.1, gaps="restart")
    assert_allclose(k, [5.0, 5.5, 5.0], rtol=1e-14)  # a new stock after the gap
