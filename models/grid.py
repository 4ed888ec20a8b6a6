"""Simulation date grids: daily (SSE trading days), weekly, monthly or yearly, from 1 day to 35 years.

A grid starts at the valuation date (row 0, the observed price) and lists the simulation dates after it. Models
whose dynamics are daily (the GARCH family, mean reversion with GARCH innovations) step through every SSE trading
day in between and record the grid dates; the Ornstein-Uhlenbeck model jumps from grid date to grid date with its
exact transition over ``trading_days / 245`` years.

* ``D``: every SSE business day after the start, up to the horizon;
* ``W`` / ``M`` / ``Y``: the last SSE business day of each calendar week (Friday-ending) / month / year after the
  start, up to the horizon, the horizon end itself being the last date (adjusted to the preceding business day).

Horizons are written ``10d`` (trading days), ``2w``, ``6m``, ``20y`` (calendar), or given as a number of years.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import QuantLib as ql

from carbonrisk.models.calendar import business_days_after, from_ql, sse_calendar, to_ql
from carbonrisk.models.exceptions import InputError
from carbonrisk.models.units import TRADING_DAYS_PER_YEAR

__all__ = ["FREQUENCIES", "MAX_HORIZON_YEARS", "SimulationGrid", "horizon_years", "parse_horizon"]

FREQUENCIES: tuple[str, ...] = ("D", "W", "M", "Y")
MAX_HORIZON_YEARS: int = 35
_HORIZON_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dwmyDWMY])\s*$")
_PERIOD_ALIAS = {"W": "W-FRI", "M": "M", "Y": "Y"}
_YEARS_PER_UNIT = {"d": 1.0 / TRADING_DAYS_PER_YEAR, "w": 7.0 / 365.25, "m": 1.0 / 12.0, "y": 1.0}


def parse_horizon(text: str | int | float) -> tuple[int, str]:
    """Parse ``"20y"``, ``"6m"``, ``"2w"``, ``"10d"`` (or a number of years) into ``(count, unit)``.

    Raises
    ------
    carbonrisk.models.exceptions.InputError
        Unparseable, zero or negative horizons, and horizons beyond :data:`MAX_HORIZON_YEARS` years.
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value, unit = float(text), "y"
    else:
        match = _HORIZON_RE.match(str(text))
        if match is None:
            raise InputError(f"horizon={text!r} must look like 10d, 2w, 6m or 20y (a positive count and a unit)")
        value, unit = float(match.group(1)), match.group(2).lower()
    if value <= 0 or value != int(value):
        raise InputError(f"horizon={text!r} must be a positive whole number of {unit}")
    if value * _YEARS_PER_UNIT[unit] > MAX_HORIZON_YEARS:
        raise InputError(f"horizon = {str(text)!r} is not in (0, {MAX_HORIZON_YEARS}] years (the simulation limit)")
    return int(value), unit


def horizon_years(text: str | int | float) -> float:
    """A horizon (``"20y"``, ``"6m"``, ``"2w"``, ``"10d"`` trading days, or years) in years.

    Raises
    ------
    carbonrisk.models.exceptions.InputError
        As :func:`parse_horizon`.
    """
    count, unit = parse_horizon(text)
    return count * _YEARS_PER_UNIT[unit]


@dataclass(frozen=True)
class SimulationGrid:
    """Dates of a simulation and the trading days between them.

    Attributes
    ----------
    dates : pandas.DatetimeIndex
        Valuation date then the ``n_steps`` simulation dates.
    freq : str
        ``D``, ``W``, ``M`` or ``Y``.
    day_dates : pandas.DatetimeIndex
        Every SSE trading day after the valuation date up to the last grid date (daily sub-steps).
    record_day : numpy.ndarray
        For each trading day, the grid row (1..n_steps) it is recorded in, or -1.
    """

    dates: pd.DatetimeIndex
    freq: str
    day_dates: pd.DatetimeIndex
    record_day: np.ndarray

    @classmethod
    def build(cls, start: pd.Timestamp | str, horizon: str | int | float, freq: str = "M") -> SimulationGrid:
        """Grid from ``start`` over ``horizon`` (``"20y"``, ``"250d"``...) at frequency ``freq`` (memoised)."""
        return _build_cached(pd.Timestamp(start).normalize(), horizon, freq)

    @classmethod
    def _build(cls, start: pd.Timestamp | str, horizon: str | int | float, freq: str = "M") -> SimulationGrid:
        if freq not in FREQUENCIES:
            raise InputError(f"freq={freq!r} must be one of {', '.join(FREQUENCIES)}")
        count, unit = parse_horizon(horizon)
        start_ts = pd.Timestamp(start).normalize()
        cal = sse_calendar()
        if unit == "d":
            days = business_days_after(start_ts, count)
        else:
            period = {"w": ql.Weeks, "m": ql.Months, "y": ql.Years}[unit]
            end = from_ql(cal.adjust(cal.advance(to_ql(start_ts), count, period, ql.Unadjusted), ql.Preceding))
            n_days = cal.businessDaysBetween(to_ql(start_ts), to_ql(end), False, True)
            days = business_days_after(start_ts, int(n_days))
        if len(days) == 0:
            raise InputError(f"horizon={horizon!r} from {start_ts.date()} contains no SSE trading day")
        if freq == "D":
            grid_days = days
        else:
            keys = days.to_period(_PERIOD_ALIAS[freq])
            last_of_period = pd.Series(days, index=days).groupby(keys).max()
            grid_days = pd.DatetimeIndex(sorted(set(last_of_period.tolist()) | {days[-1]}))
        return cls.from_dates(start_ts, grid_days, freq=freq, day_dates=days)

    @classmethod
    def daily(cls, start: pd.Timestamp | str, n_days: int) -> SimulationGrid:
        """``n_days`` SSE trading days after ``start``."""
        if isinstance(n_days, bool) or not isinstance(n_days, (int, np.integer)) or n_days <= 0:
            raise InputError(f"n_steps={n_days!r} must be a positive integer")
        return cls.build(start, f"{int(n_days)}d", "D")

    @classmethod
    def from_dates(
        cls,
        start: pd.Timestamp | str,
        dates: pd.DatetimeIndex,
        *,
        freq: str = "custom",
        day_dates: pd.DatetimeIndex | None = None,
    ) -> SimulationGrid:
        """Grid on arbitrary increasing ``dates`` after ``start`` (each moved to the preceding SSE trading day).

        A date whose preceding trading day is ``start`` itself (a month end on a weekend after a Friday start, e.g.
        start 2024-06-28 and 2024-06-30) is the start's row and is dropped; only a grid left with no date after
        ``start`` is an error.
        """
        start_ts = pd.Timestamp(start).normalize()
        grid = pd.DatetimeIndex(dates).normalize()
        if len(grid) == 0 or not grid.is_monotonic_increasing or grid[0] <= start_ts or grid.has_duplicates:
            raise InputError("dates must be strictly increasing and after the start date")
        if day_dates is None:
            cal = sse_calendar()
            grid = pd.DatetimeIndex([from_ql(cal.adjust(to_ql(d), ql.Preceding)) for d in grid]).unique()
            grid = grid[grid > start_ts]
            if len(grid) == 0:
                raise InputError(f"first date {dates[0]} has no SSE trading day after {start_ts.date()}")
            n_days = cal.businessDaysBetween(to_ql(start_ts), to_ql(grid[-1]), False, True)
            day_dates = business_days_after(start_ts, int(n_days))
        rows = pd.Series(np.arange(1, len(grid) + 1), index=grid)
        record = rows.reindex(day_dates).fillna(-1).to_numpy(dtype=np.int64)
        full = pd.DatetimeIndex([start_ts]).append(grid)
        full.name = "date"
        return cls(dates=full, freq=freq, day_dates=pd.DatetimeIndex(day_dates, name="date"), record_day=record)

    @property
    def start(self) -> pd.Timestamp:
        """Valuation date."""
        return pd.Timestamp(self.dates[0])

    @property
    def n_steps(self) -> int:
        """Number of simulation dates after the valuation date."""
        return len(self.dates) - 1

    @property
    def n_days(self) -> int:
        """Number of SSE trading days simulated."""
        return len(self.day_dates)

    @property
    def trading_days(self) -> np.ndarray:
        """Trading days in each grid step (length ``n_steps``)."""
        rec = np.flatnonzero(self.record_day >= 0)
        return np.diff(np.concatenate([[-1], rec])).astype(np.int64)

    @property
    def step_years(self) -> np.ndarray:
        """Length of each grid step in years of :data:`carbonrisk.models.units.TRADING_DAYS_PER_YEAR` trading days."""
        return self.trading_days / float(TRADING_DAYS_PER_YEAR)


@functools.lru_cache(maxsize=128)
def _build_cached(start: pd.Timestamp, horizon: str | int | float, freq: str) -> SimulationGrid:
    """Grids are immutable: the QuantLib calendar walk is done once per (start, horizon, freq)."""
    grid = SimulationGrid._build(start, horizon, freq)
    grid.record_day.setflags(write=False)
    return grid
