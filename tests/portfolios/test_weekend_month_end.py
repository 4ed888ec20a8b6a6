"""Issue 14 bug: a ``valuation_date`` on a Friday before a weekend month end (2024-06-28; 2024-06-30 is a Sunday).

The portfolio grid holds every month end; the June one moves to the preceding trading day, the valuation date
itself, and used to make :meth:`carbonrisk.models.grid.SimulationGrid.from_dates` refuse the whole grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbonrisk.portfolios.engine import run_portfolio
from carbonrisk.portfolios.portfolio import load_portfolio

TOML = """
[portfolio]
name = "Friday valuation"
horizon_years = 2
n_paths = 200
seed = 11
valuation_date = 2024-06-28

[market]
prices = "cea"
model = "garch"
scenario = "mid"

[[positions]]
name = "inventory"
asset = "CEA"
quantity_t = 1000
cost_cny_per_t = 90
"""


@pytest.mark.slow
def test_friday_before_weekend_month_end_runs(tmp_path: Path) -> None:
    path = tmp_path / "friday.toml"
    path.write_text(TOML)
    run = run_portfolio(load_portfolio(path))
    dates = run.context.dates
    assert dates[0] == pd.Timestamp("2024-06-28") and dates[1] == pd.Timestamp("2024-07-01")
    assert dates.is_monotonic_increasing and not dates.has_duplicates
    assert pd.Timestamp("2024-07-31") in dates  # the next month end keeps its row
    pnl = run.arrays["pnl_1y"]
    assert pnl.shape == (1, 200) and np.all(np.isfinite(pnl))
