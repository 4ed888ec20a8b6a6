"""Date grids of contracts: SSE trading days for price fixings, QuantLib schedules for payment periods."""

from __future__ import annotations

from functools import lru_cache

import pandas as pd
import QuantLib as ql

from carbonrisk.finance.exceptions import ContractError
from carbonrisk.models.calendar import from_ql, interbank_calendar, sse_calendar, to_ql

__all__ = ["monthly_dates", "payment_schedule", "trading_days", "trading_days_after"]


@lru_cache(maxsize=4096)
def trading_days(start: pd.Timestamp, end: pd.Timestamp, *, include_start: bool = True) -> pd.DatetimeIndex:
    """SSE trading days in ``[start, end]`` (``(start, end]`` when ``include_start`` is false)."""
    cal = sse_calendar()
    days = [from_ql(d) for d in cal.businessDayList(to_ql(start), to_ql(end))]
    idx = pd.DatetimeIndex(days, name="date")
    if not include_start:
        idx = idx[idx > start]
    return idx


@lru_cache(maxsize=4096)
def trading_days_after(date: pd.Timestamp, n_days: int) -> pd.DatetimeIndex:
    """The ``n_days`` SSE trading days strictly after ``date``."""
    cal = sse_calendar()
    cur = to_ql(date)
    out = []
    for _ in range(n_days):
        cur = cal.advance(cur, 1, ql.Days)
        out.append(from_ql(cur))
    return pd.DatetimeIndex(out, name="date")


@lru_cache(maxsize=4096)
def payment_schedule(start: pd.Timestamp, end: pd.Timestamp, months: int, field_name: str) -> pd.DatetimeIndex:
    """Period end dates of a QuantLib schedule from ``start`` to ``end`` every ``months`` months.

    China inter-bank calendar, modified following, generated backward from ``end`` (short first period). The
    returned index holds ``start`` followed by the (adjusted) period end dates.
    """
    if months not in (1, 3, 6, 12):
        raise ContractError(f"{field_name}={months!r} must be one of 1, 3, 6, 12 (months per period)")
    if end <= start:
        raise ContractError(f"{field_name}: end {end.date()} must be after start {start.date()}")
    sched = ql.Schedule(
        to_ql(start),
        to_ql(end),
        ql.Period(months, ql.Months),
        interbank_calendar(),
        ql.ModifiedFollowing,
        ql.ModifiedFollowing,
        ql.DateGeneration.Backward,
        False,
    )
    dates = [from_ql(d) for d in sched]
    dates[0] = start
    idx = pd.DatetimeIndex(dates, name="date")
    if len(idx) < 2:
        raise ContractError(f"{field_name}: the schedule from {start.date()} to {end.date()} has no periods")
    return idx


@lru_cache(maxsize=4096)
def monthly_dates(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Month-end SSE trading days in ``(start, end]`` (monthly price fixings of long-dated contracts)."""
    cal = sse_calendar()
    months = pd.date_range(start, end, freq="ME")
    out = {from_ql(cal.adjust(to_ql(m), ql.Preceding)) for m in months}
    out.add(from_ql(cal.adjust(to_ql(end), ql.Preceding)))
    idx = pd.DatetimeIndex(sorted(out), name="date")
    return idx[idx > start]
