"""Calendar period numbers: the one time convention of every lag, difference and serial term.

Lags (:meth:`spillover.Panel.lag`), first differences
(:class:`~spillover.models.FirstDifference`), R&D stocks and the serial-correlation terms of
:class:`~spillover.inference.Conley` and :class:`~spillover.inference.DriscollKraay` count
**calendar periods in the panel's own time unit**, never positions among the periods present:
with waves in 2000 and 2002, the waves are two periods (years) apart, and a year missing from
the whole panel is still a year. This is how Stata's time-series operators (under
``xtset``), plm's ``lag``/``diff`` (``shift = "time"``), Hsiang's ``ols_spatial_HAC``,
``acreg``, ``conleyreg`` and Fetzer's Conley code measure time.

:func:`period_numbers` turns time values into integers whose differences are those calendar
distances. Where a reference counts rows instead, the row convention is an explicit option,
never the default: :func:`~spillover.diagnostics.wooldridge_serial` reproduces plm's
``pwfdtest`` on a panel with gaps with ``gaps="bridge"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from spillover._typing import IntArray
from spillover._validate import preview
from spillover.errors import SpecificationError

_UNITS = ("year", "quarter", "month", "week", "day")


def period_numbers(time: Any, *, name: str = "time") -> IntArray:
    """Calendar number of each time value: the difference of two numbers counts periods.

    Parameters
    ----------
    time : array-like
        Time of each observation: integers, floats holding whole numbers, or datetimes.
    name : str, default "time"
        How the values are named in an error message.

    Returns
    -------
    ndarray of int64
        Integer time: the values themselves, so time counts in its own unit (years
        2000 and 2002 are 2 apart; number quarters or months consecutively, e.g.
        ``4 * year + quarter``). Datetimes: the number of the calendar year, quarter,
        month, week or day, for the coarsest of these units at which all dates sit at the
        same place in their period (all on 1 January or all on 30 June: years; on the
        first day of a quarter's first month: quarters; on the last day of a month:
        months; on the same weekday: weeks; else days).

    Raises
    ------
    SpecificationError
        If the values are neither whole numbers nor datetimes, or datetimes that fall
        at different times of day.

    Examples
    --------
    >>> import pandas as pd
    >>> period_numbers([2000, 2002, 2003]).tolist()
    [2000, 2002, 2003]
    >>> q = pd.to_datetime(["2000-01-01", "2000-04-01", "2000-10-01"])
    >>> (period_numbers(q) - period_numbers(q)[0]).tolist()  # quarters: Q3 is missing
    [0, 1, 3]
    """
    values = time if isinstance(time, pd.Index | pd.Series) else np.asarray(time)
    if pd.api.types.is_datetime64_any_dtype(values):
        return _date_numbers(pd.DatetimeIndex(values), name)
    arr = np.asarray(values)
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64).reshape(-1)
    if np.issubdtype(arr.dtype, np.floating):
        flat = arr.reshape(-1)
        ok = np.isfinite(flat) & (flat % 1 == 0)
        if ok.all():
            return flat.astype(np.int64)
        bad = flat[~ok]
    else:
        bad = arr.reshape(-1)
    raise SpecificationError(
        f"{name} must hold integer period codes (e.g. years, or quarters numbered "
        f"consecutively as 4 * year + quarter) or dates, got dtype {arr.dtype}, e.g. "
        f"{preview(pd.unique(bad)[:3].tolist())}. Lags, differences and serial correlation "
        "count calendar periods of time, so convert it, e.g. df['year'] = df['date'].dt.year."
    )


def unit_name(time: Any) -> str:
    """The calendar unit :func:`period_numbers` counts in, for messages ("year", ...)."""
    values = time if isinstance(time, pd.Index | pd.Series) else np.asarray(time)
    if not pd.api.types.is_datetime64_any_dtype(values):
        return "time unit"
    return _UNITS[_frequency(pd.DatetimeIndex(pd.unique(values)))]


def _date_numbers(dates: pd.DatetimeIndex, name: str) -> IntArray:
    if dates.tz is not None:
        dates = dates.tz_localize(None)  # wall-clock dates, as written by the user
    if dates.hasnans:
        raise SpecificationError(f"{name} has missing dates; every row needs a period.")
    unit = _frequency(pd.DatetimeIndex(pd.unique(dates)))
    if unit is None:
        raise SpecificationError(
            f"{name} has dates at different times of day, e.g. "
            f"{preview(pd.unique(dates)[:3].tolist())}; lags count calendar periods, so "
            "give each period one date (e.g. df['day'] = df['time'].dt.normalize()) or "
            "integer period codes."
        )
    year, month = dates.year.to_numpy(np.int64), dates.month.to_numpy(np.int64) - 1
    days = dates.to_numpy().astype("datetime64[D]").astype(np.int64)  # days since 1970
    numbers = (year, 4 * year + month // 3, 12 * year + month, days // 7, days)[unit]
    return np.asarray(numbers, dtype=np.int64)


def _frequency(distinct: pd.DatetimeIndex) -> int | None:
    """Index into ``_UNITS`` of the coarsest unit at which all dates share their place."""
    if distinct.tz is not None:
        distinct = distinct.tz_localize(None)
    if len(distinct) == 0:
        return 0
    clock = (distinct - distinct.normalize()).asi8
    if (clock != clock[0]).any():
        return None
    day = np.where(distinct.is_month_end, 99, distinct.day)  # 99: the month's last day
    month = distinct.month.to_numpy() - 1
    places = (
        (month, day),  # year: same month and day
        (month % 3, day),  # quarter: same month of the quarter and day
        (day,),  # month: same day
        (distinct.day_of_week.to_numpy(),),  # week: same weekday
    )
    for unit, keys in enumerate(places):
        if all((np.asarray(k) == np.asarray(k)[0]).all() for k in keys):
            return unit
    return len(places)  # days
