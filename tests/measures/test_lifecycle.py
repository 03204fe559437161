"""Entry and exit rates and life-cycle stages against counts done by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spillover.errors import PanelError, SpecificationError
from spillover.measures import entry_rates, lifecycle_stage

# firm 1: region A 2000-2002; firm 2: A 2001, moves to B 2002-2003; firm 3: B 2000 only;
# firm 4: B 2003 only.
ROWS = [
    (1, 2000, "A"), (1, 2001, "A"), (1, 2002, "A"),
    (2, 2001, "A"), (2, 2002, "B"), (2, 2003, "B"),
    (3, 2000, "B"),
    (4, 2003, "B"),
]  # fmt: skip


def firms() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=["firm", "year", "region"]).set_index(["firm", "year"])


def test_entry_rates_by_region_match_hand_counts() -> None:
    out = entry_rates(firms(), region="region", regions=["A", "B", "C"])
    # by hand: A 2000 {1}; 2001 {1, 2}: entry of firm 2, N_2000 = 1, rate 1.0;
    # 2002 {1}: firm 2 moved to B, which is neither an exit from A nor an entry to B;
    # 2003 {}: firm 1 exits (its last year 2002 was in A).
    a = out.loc["A"]
    assert a["firms"].tolist() == [1, 2, 1, 0]
    assert np.isnan(a.loc[2000, "entries"]) and np.isnan(a.loc[2000, "entry_rate"])
    assert a.loc[2001:, "entries"].tolist() == [1, 0, 0]
    assert a.loc[2001:, "exits"].tolist() == [0, 0, 1]
    assert a.loc[2001, "entry_rate"] == 1.0 and a.loc[2003, "exit_rate"] == 1.0
    b = out.loc["B"]
    # B: 2000 {3}; 2001 {}; 2002 {2}; 2003 {2,4}. Firm 3 exits in 2001 (from B).
    assert b["firms"].tolist() == [1, 0, 1, 2]
    assert b.loc[2001:, "entries"].tolist() == [0, 0, 1]  # firm 2 entered in A, not in B
    assert b.loc[2001:, "exits"].tolist() == [1, 0, 0]
    assert b.loc[2001, "exit_rate"] == 1.0
    assert np.isnan(b.loc[2002, "entry_rate"])  # no firm in B in 2001: rate undefined
    assert b.loc[2003, "entry_rate"] == 1.0
    c = out.loc["C"]
    assert c["firms"].tolist() == [0, 0, 0, 0] and c["entry_rate"].isna().all()


def test_entry_rates_overall_and_average_denominator() -> None:
    out = entry_rates(firms(), denominator="average")
    assert out["firms"].tolist() == [2, 2, 2, 2]
    # 2001: entry firm 2, exit firm 3; 2002: none; 2003: entry 4, exit 1
    assert out.loc[2001:, "entries"].tolist() == [1, 0, 1]
    assert out.loc[2001:, "exits"].tolist() == [1, 0, 1]
    assert out.loc[2003, "entry_rate"] == pytest.approx(1 / ((2 + 2) / 2))


def test_entry_rates_refuse_gaps_and_duplicates() -> None:
    gap = firms().drop(index=(1, 2001))
    with pytest.raises(PanelError, match="gaps"):
        entry_rates(gap)
    dup = pd.concat([firms(), firms().iloc[:1]])
    with pytest.raises(PanelError, match="repeats"):
        entry_rates(dup)
    with pytest.raises(SpecificationError, match="not listed"):
        entry_rates(firms(), region="region", regions=["A"])


def test_lifecycle_stage_window_growth_by_hand() -> None:
    years = range(2000, 2010)
    n = pd.Series([2, 4, 8, 16, 20, 21, 21, 20, 15, 10], index=years)
    out = lifecycle_stage(n, window=3, threshold=0.02, emergence_share=0.25)
    # peak 21 first in 2005; emergence before it while n < 5.25: 2000-2001.
    # 2002: (8/2)^(1/2)-1 = 1.0 growth (only two years back available);
    # 2003: (16/2)^(1/3)-1 = 1.0 growth; 2004: (20/4)^(1/3)-1 growth; 2005: (21/8)^(1/3)-1
    # growth; 2006: (21/16)^(1/3)-1 = 0.095 growth; 2007: (20/20)-1 = 0 maturity;
    # 2008: (15/21)^(1/3)-1 = -0.106 decline; 2009: (10/21)^(1/3)-1 decline.
    expected = ["emergence"] * 2 + ["growth"] * 5 + ["maturity", "decline", "decline"]
    assert out.tolist() == expected
    assert list(out.cat.categories) == ["emergence", "growth", "maturity", "decline"]


def test_lifecycle_stage_per_group_and_zeros() -> None:
    idx = pd.MultiIndex.from_product([["x", "y"], [1, 2, 3, 4]])
    n = pd.Series([0, 0, 5, 5, 4, 4, 1, 0], index=idx)
    out = lifecycle_stage(n, window=1)
    # x: peak 5 at 3; years 1, 2 below 1.25 and before it: emergence; 4 flat: maturity
    assert out.loc["x"].tolist() == ["emergence", "emergence", "growth", "maturity"]
    # y: peak 4 at 1 (first year, growth to the next is 0: maturity); 3: 1/4 decline;
    # 4: extinct after the peak: decline
    assert out.loc["y"].tolist() == ["maturity", "maturity", "decline", "decline"]
    with pytest.raises(SpecificationError, match="non-negative"):
        lifecycle_stage(pd.Series([1.0, -1.0]))
