"""Business days and year fractions in one place: China SSE / inter-bank calendars and Actual/365 Fixed (QuantLib)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import QuantLib as ql

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.units import DAYS_PER_YEAR

__all__ = [
    "as_datetime_index",
    "business_days_after",
    "from_ql",
    "interbank_calendar",
    "sse_calendar",
    "to_ql",
    "year_fractions",
]


def as_datetime_index(dates: Sequence[pd.Timestamp] | pd.DatetimeIndex) -> pd.DatetimeIndex:
    """``dates`` as a ``DatetimeIndex``, without building a new index when it already is one (this runs on every
    pricing call)."""
    return dates if isinstance(dates, pd.DatetimeIndex) else pd.DatetimeIndex(dates)


def sse_calendar() -> ql.Calendar:
    """Shanghai Stock Exchange calendar: the trading days of the carbon exchanges (CEA trades on SEEE)."""
    return ql.China(ql.China.SSE)


def interbank_calendar() -> ql.Calendar:
    """China inter-bank market calendar: payment and settlement dates of CNY cash flows."""
    return ql.China(ql.China.IB)


def to_ql(date: pd.Timestamp | str) -> ql.Date:
    """Convert a timestamp (or ISO string) to a ``QuantLib.Date``."""
    ts = pd.Timestamp(date)
    return ql.Date(ts.day, ts.month, ts.year)


def from_ql(date: ql.Date) -> pd.Timestamp:
    """Convert a ``QuantLib.Date`` to a pandas timestamp."""
    return pd.Timestamp(year=date.year(), month=date.month(), day=date.dayOfMonth())


def business_days_after(
    start: pd.Timestamp | str, n_days: int, calendar: ql.Calendar | None = None
) -> pd.DatetimeIndex:
    """The ``n_days`` business days strictly after ``start`` on ``calendar`` (default SSE)."""
    if n_days < 0:
        raise InputError(f"n_days={n_days} must be >= 0")
    cal = calendar if calendar is not None else sse_calendar()
    current = to_ql(start)
    out: list[pd.Timestamp] = []
    for _ in range(n_days):
        current = cal.advance(current, 1, ql.Days)
        out.append(from_ql(current))
    return pd.DatetimeIndex(out, name="date")


def year_fractions(start: pd.Timestamp | str, dates: pd.DatetimeIndex) -> np.ndarray:
    """Actual/365 Fixed year fractions from ``start`` to each of ``dates``.

    Whole days are counted as ``Timedelta.days`` does (floor of the difference); the arithmetic is done on the
    ``datetime64`` values in numpy, a tenth of the cost of pandas' ``Timedelta`` index (this runs on every
    pricing call).
    """
    delta = as_datetime_index(dates).values - pd.Timestamp(start).to_datetime64()
    return (delta // np.timedelta64(1, "D")).astype(float) / DAYS_PER_YEAR
