"""Simulation grids: SSE calendar for daily steps, period ends, horizons from 1 day to 35 years."""

from __future__ import annotations

import pandas as pd
import pytest

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.grid import SimulationGrid, parse_horizon


def test_daily_grid_skips_sse_holidays() -> None:
    grid = SimulationGrid.build("2024-09-27", "3d", "D")
    # 2024-09-30 is a trading day; 1-7 October 2024 is the National Day holiday on the SSE calendar
    assert list(grid.dates.strftime("%Y-%m-%d")) == ["2024-09-27", "2024-09-30", "2024-10-08", "2024-10-09"]
    assert grid.trading_days.tolist() == [1, 1, 1]


@pytest.mark.parametrize(("horizon", "freq", "n_steps"), [("20y", "M", 240), ("35y", "Y", 35), ("1y", "W", 53)])
def test_period_grids(horizon: str, freq: str, n_steps: int) -> None:
    grid = SimulationGrid.build("2024-10-31", horizon, freq)
    assert abs(grid.n_steps - n_steps) <= 1
    assert grid.dates[0] == pd.Timestamp("2024-10-31")
    assert grid.trading_days.sum() == grid.n_days
    assert (grid.record_day >= 0).sum() == grid.n_steps


def test_one_day_and_thirty_five_years() -> None:
    assert SimulationGrid.build("2024-10-31", "1d", "Y").n_steps == 1
    assert SimulationGrid.build("2024-10-31", "35y", "D").n_days > 35 * 240


@pytest.mark.parametrize(
    ("text", "message"),
    [("-5y", "horizon='-5y' must look like"), ("0m", "positive whole number"), ("36y", r"is not in \(0, 35\] years"),
     ("abc", "must look like")],
)  # fmt: skip
def test_bad_horizons(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_horizon(text)


def test_bad_frequency() -> None:
    with pytest.raises(InputError, match="freq='Q' must be one of D, W, M, Y"):
        SimulationGrid.build("2024-10-31", "1y", "Q")


def test_weekend_month_end_after_a_friday_start_is_the_start_row() -> None:
    """Issue 14 bug: start Friday 2024-06-28, month end Sunday 2024-06-30 (its preceding trading day is the start).

    The month end collapses onto row 0 and is dropped; the next dates keep their own rows."""
    start = pd.Timestamp("2024-06-28")
    grid = SimulationGrid.from_dates(start, pd.DatetimeIndex(["2024-06-30", "2024-07-31", "2024-08-31"]))
    # 2024-08-31 is a Saturday: the preceding SSE trading day is Friday 2024-08-30
    assert list(grid.dates) == [start, pd.Timestamp("2024-07-31"), pd.Timestamp("2024-08-30")]
    assert grid.trading_days.sum() == grid.n_days and grid.n_days == len(grid.day_dates)
    assert grid.day_dates[0] == pd.Timestamp("2024-07-01")


def test_only_dates_collapsing_onto_the_start_is_an_error() -> None:
    with pytest.raises(InputError, match="has no SSE trading day after 2024-06-28"):
        SimulationGrid.from_dates(pd.Timestamp("2024-06-28"), pd.DatetimeIndex(["2024-06-29", "2024-06-30"]))
