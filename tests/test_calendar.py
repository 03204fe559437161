"""Calendar period numbers: integer time in its own unit, dates in the coarsest regular unit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spillover._calendar import period_numbers, unit_name
from spillover.errors import SpecificationError


def steps(times) -> list[int]:
    return np.diff(period_numbers(times)).tolist()


def test_integer_time_counts_in_its_own_unit():
    assert period_numbers([2000, 2002, 2003]).tolist() == [2000, 2002, 2003]
    assert period_numbers(np.array([3.0, 1.0])).tolist() == [3, 1]  # whole floats
    assert unit_name([2000, 2002]) == "time unit"


@pytest.mark.parametrize(
    ("dates", "unit", "expected"),
    [
        (["2000-01-01", "2001-01-01", "2003-01-01"], "year", [1, 2]),
        (["2000-06-30", "2001-06-30", "2004-06-30"], "year", [1, 3]),  # not quarters
        (["2000-01-01", "2000-04-01", "2000-10-01"], "quarter", [1, 2]),
        (["2000-03-31", "2000-06-30", "2001-03-31"], "quarter", [1, 3]),  # quarter ends
        (["2000-02-15", "2000-05-15", "2000-08-15"], "quarter", [1, 1]),
        (["2000-01-31", "2000-02-29", "2000-04-30"], "month", [1, 2]),  # month ends
        (["2000-11-15", "2000-12-15", "2001-01-15"], "month", [1, 1]),
        (["2024-01-05", "2024-01-12", "2024-02-02"], "week", [1, 3]),  # Fridays
        (["2024-01-05", "2024-01-06", "2024-01-09"], "day", [1, 3]),
    ],
)
def test_dates_count_the_coarsest_regular_unit(dates, unit, expected):
    times = pd.to_datetime(dates)
    assert unit_name(times) == unit
    assert steps(times) == expected


def test_time_zone_keeps_the_wall_clock_dates():
    times = pd.DatetimeIndex(["2000-01-01", "2001-01-01"]).tz_localize("America/New_York")
    assert steps(times) == [1]


@pytest.mark.parametrize(
    ("times", "match"),
    [
        (np.array([0.5, 1.5]), "integer period codes.*0.5"),
        (np.array(["2000", "2001"], dtype=object), "dtype object.*'2000'"),
        (pd.to_datetime(["2000-01-01 10:00", "2000-01-02 00:00"]), "times of day"),
    ],
)
def test_bad_time_names_the_values_and_the_fix(times, match):
    with pytest.raises(SpecificationError, match=match):
        period_numbers(times)
