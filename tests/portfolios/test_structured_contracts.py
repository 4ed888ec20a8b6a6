"""Structured products as contracts of a portfolio file (issue 18): per-path values at the 10-day and 1-year
horizons.

The structured deposit is revalued in closed form on each path (:func:`finance.revaluation.horizon_value`): its
bank side must be the depositor's mirror path by path, a deposit that matures before the 1-year horizon must show
its payout (floor ``N(1 + r tau)``, cap ``N(1 + r tau + p c)``, carried to the horizon) and nothing else, and the
10-day P&L must rise with the CEA price (the depositor is long a call spread).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from models.random import BLOCK_PATHS
from portfolios.engine import PortfolioRun, run_portfolio
from portfolios.portfolio import load_portfolio

HEAD = f"""
[portfolio]
name = "structured products"
horizon_years = 2
n_paths = {BLOCK_PATHS}
seed = 20241031
valuation_date = "2024-10-31"

[market]
prices = "cea"
model = "ou-garch"
dist = "t"
scenario = "mid"
discount_rate = 0.02
"""
DEPOSIT = """
[[contracts]]
type = "structured_deposit"
name = "{name}"
principal_cny = 50000000
underlying = "CEA"
start_date = "2024-10-31"
maturity_date = "2025-04-30"
min_rate = 0.01
participation = 0.3
cap = 0.1
position = "{position}"
"""


@pytest.fixture(scope="module")
def deposit_run(tmp_path_factory: pytest.TempPathFactory) -> PortfolioRun:
    path = tmp_path_factory.mktemp("structured") / "book.toml"
    path.write_text(
        HEAD + DEPOSIT.format(name="depositor", position="depositor") + DEPOSIT.format(name="bank", position="bank"),
        encoding="utf-8",
    )
    return run_portfolio(load_portfolio(path))


def test_bank_side_mirrors_the_depositor(deposit_run: PortfolioRun) -> None:
    ctx = deposit_run.context
    assert ctx.value_today[1] == pytest.approx(-ctx.value_today[0], rel=1e-12)
    for horizon in ("10d", "1y"):
        pnl = deposit_run.arrays[f"pnl_{horizon}"]
        np.testing.assert_allclose(pnl[1], -pnl[0], rtol=1e-12, atol=1e-6)


def test_matured_deposit_shows_its_payout_at_one_year(deposit_run: PortfolioRun) -> None:
    ctx = deposit_run.context
    market = ctx.market.build()
    h = ctx.dates[ctx.row_1y]
    assert h > pd.Timestamp("2025-04-30")
    df = market.df(pd.DatetimeIndex([pd.Timestamp("2025-04-30"), h]))
    carry = float(df[0] / df[1])
    floor = 50e6 * (1.0 + 0.01 * 181 / 365)
    top = floor + 50e6 * 0.3 * 0.1
    pnl = deposit_run.arrays["pnl_1y"][0] + ctx.value_today[0]  # V_h + carried payout per path
    assert pnl.min() == pytest.approx(floor * carry, rel=1e-12)
    assert pnl.max() <= top * carry * (1 + 1e-12)
    assert np.mean(np.isclose(pnl, floor * carry, rtol=1e-12)) > 0.2  # the price fell below S_0 on these paths
    assert np.mean(np.isclose(pnl, top * carry, rtol=1e-12)) > 0.05  # and rose more than the cap on these


def test_ten_day_pnl_rises_with_the_price(deposit_run: PortfolioRun) -> None:
    ctx = deposit_run.context
    s_10d = deposit_run.arrays["cea_fan"][list(ctx.fan_rows).index(ctx.row_10d)]
    pnl = deposit_run.arrays["pnl_10d"][0]
    assert spearmanr(s_10d, pnl).statistic > 0.95
    assert np.std(pnl) > 0
