"""Experience stocks (own, cluster, outside) against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from spillover import Panel
from spillover.errors import PanelError, SpecificationError
from spillover.measures import experience_stock, experience_stocks


def _panel(rows: list[tuple], columns: tuple[str, ...] = ("firm", "year", "q", "c")) -> Panel:
    return Panel(pd.DataFrame(rows, columns=list(columns)), entity="firm", time="year")


# Three firms, 2000-2002; firm 3 enters in 2001. Clusters: 1 and 2 in A, 3 in B, but
# firm 2 moves to B in 2002.
ROWS = [
    (1, 2000, 2.0, "A"), (1, 2001, 3.0, "A"), (1, 2002, 5.0, "A"),
    (2, 2000, 1.0, "A"), (2, 2001, 1.0, "A"), (2, 2002, 4.0, "B"),
    (3, 2001, 10.0, "B"), (3, 2002, 6.0, "B"),
]  # fmt: skip


def test_own_experience_is_cumulative_output_before_the_year():
    e = experience_stock(_panel(ROWS), "q")
    # firm 1: 0, 2, 2+3; firm 2: 0, 1, 1+1; firm 3 (enters 2001): 0, 10
    assert e.tolist() == [0.0, 2.0, 5.0, 0.0, 1.0, 2.0, 0.0, 10.0]
    assert e.name == "q_experience"


def test_own_experience_through_the_year_and_with_an_initial_stock():
    p = _panel(ROWS)
    assert experience_stock(p, "q", include_current=True).tolist() == [
        2.0, 5.0, 10.0, 1.0, 2.0, 6.0, 10.0, 16.0,
    ]  # fmt: skip
    assert experience_stock(p, "q", initial=4.0).tolist() == [
        4.0, 6.0, 9.0, 4.0, 5.0, 6.0, 4.0, 14.0,
    ]  # fmt: skip
    # a column: its value in the firm's first year is E_i0 (later values are ignored)
    p = p.assign(e0=[7.0, 99.0, 99.0, 1.0, 99.0, 99.0, 0.5, 99.0])
    assert experience_stock(p, "q", initial="e0").tolist() == [
        7.0, 9.0, 12.0, 1.0, 2.0, 3.0, 0.5, 10.5,
    ]  # fmt: skip


def test_initial_column_is_read_in_first_years_only():
    p = _panel(ROWS).assign(e0=[1.0, np.nan, 0.0, -1.0, 0.0, 0.0, 2.0, np.nan])
    with pytest.raises(PanelError, match=r"1 firm\(s\) have a missing.*e.g. 2"):
        experience_stock(p, "q", initial="e0")  # firm 2's first-year value is negative
    p = p.assign(e0=[1.0, np.nan, 0.0, 3.0, -9.0, 0.0, 2.0, np.nan])  # later years unread
    assert experience_stock(p, "q", initial="e0").tolist() == [
        1.0, 3.0, 6.0, 3.0, 4.0, 5.0, 2.0, 12.0,
    ]  # fmt: skip


def test_cluster_and_outside_experience_by_hand():
    out = experience_stocks(_panel(ROWS), "q", "c")
    assert list(out.columns) == ["own", "cluster", "outside"]
    expected = {
        # 2000: own E = (1: 0, 2: 0); all zero
        (1, 2000): (0.0, 0.0, 0.0),
        (2, 2000): (0.0, 0.0, 0.0),
        # 2001: E = (1: 2, 2: 1, 3: 0); A = {1, 2}, B = {3}
        (1, 2001): (2.0, 1.0, 0.0),
        (2, 2001): (1.0, 2.0, 0.0),
        (3, 2001): (0.0, 0.0, 3.0),
        # 2002: E = (1: 5, 2: 2, 3: 10); A = {1}, B = {2, 3}
        (1, 2002): (5.0, 0.0, 12.0),
        (2, 2002): (2.0, 10.0, 5.0),
        (3, 2002): (10.0, 2.0, 5.0),
    }
    for key, row in expected.items():
        assert out.loc[key].tolist() == list(row), key
    # own + cluster + outside is the year's total experience, for every firm
    total = out.sum(axis=1).groupby(level=1).transform("max")
    assert_allclose(out.sum(axis=1), total)


def test_gap_in_years_is_refused_with_the_firm_named():
    rows = [(1, 2000, 1.0, "A"), (1, 2002, 1.0, "A"), (2, 2000, 1.0, "A")]
    with pytest.raises(PanelError, match="firm 1 between 2000 and 2002"):
        experience_stock(_panel(rows), "q")


@pytest.mark.parametrize(
    ("q", "initial", "error", "match"),
    [
        (-1.0, 0.0, PanelError, "negative 'q'"),
        (np.nan, 0.0, PanelError, "missing or infinite 'q'"),
        (1.0, -2.0, SpecificationError, "initial experience must be >= 0"),
    ],
)
def test_bad_output_or_initial_stock_is_refused(q, initial, error, match):
    rows = [(1, 2000, 1.0, "A"), (1, 2001, q, "A")]
    with pytest.raises(error, match=match):
        experience_stock(_panel(rows), "q", initial=initial)


def test_missing_cluster_is_refused():
    rows = [(1, 2000, 1.0, "A"), (2, 2000, 1.0, None)]
    with pytest.raises(PanelError, match="have no 'c'"):
        experience_stocks(_panel(rows), "q", "c")
