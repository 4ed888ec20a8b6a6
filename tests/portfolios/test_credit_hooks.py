"""Issue 15 in the portfolio run: derivatives' EPE / PFE / CVA table and pledge loans sharing the day's depth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbonrisk.finance.credit import marginal_pd, pd_from_rating
from carbonrisk.models.random import BLOCK_PATHS
from carbonrisk.portfolios.analysis import analyse
from carbonrisk.portfolios.components import LoanPaths
from carbonrisk.portfolios.engine import PortfolioRun, exposure_rows, run_portfolio
from carbonrisk.portfolios.portfolio import load_portfolio

HEAD = """
[portfolio]
name = "credit hooks"
horizon_years = 2
n_paths = {n}
seed = 20241031

[market]
prices = "cea"
model = "garch"
dist = "t"
scenario = "mid"
discount_rate = 0.02
"""
FORWARD = """
[[contracts]]
type = "forward"
name = "fwd"
underlying = "CEA"
quantity_t = 300000
strike_cny_per_t = 100.0
delivery_date = "2025-12-31"
counterparty_rating = "BBB"
counterparty_lgd = 0.45
"""
PLEDGE = """
[[contracts]]
type = "pledge_loan"
name = "{name}"
collateral = "CEA"
quantity_t = 1000000
ltv = 0.6
rate = 0.045
tenor_years = 1.0
maintenance_ratio = 1.35
liquidation_ratio = 1.15
top_up = "never"
liquidation_share_of_adv = 0.1
max_liquidation_days = 30
haircut = 0.08
adv_t = {adv}
"""


def _run(tmp: Path, name: str, body: str, n: int = BLOCK_PATHS, blocks_per_task: int = 1) -> PortfolioRun:
    path = tmp / f"{name}.toml"
    path.write_text(HEAD.format(n=n) + body)
    return run_portfolio(load_portfolio(path), blocks_per_task=blocks_per_task)


def test_counterparty_table_of_a_forward(tmp_path: Path) -> None:
    """The ``counterparty`` table: the forward's CVA is LGD sum EE DF dPD of its ``cpty_epe_fwd`` profile (PD of
    BBB, LGD 45 %) within 4 s.e.; PFE >= EE; the profile ends before delivery; the numbers do not depend on how
    the run is split into tasks."""
    run = _run(tmp_path, "fwd", FORWARD, n=2 * BLOCK_PATHS)
    tables = analyse(run).tables
    row = tables["counterparty"].set_index("contract").loc["fwd"]
    profile = tables["cpty_epe_fwd"]
    assert row["counterparty_pd_1y"] == pd_from_rating("BBB") and row["counterparty_lgd"] == 0.45
    assert len(profile) == len(exposure_rows(run.context, run.portfolio.contracts[0].instrument)) >= 20
    assert profile.index[-1] < pd.Timestamp("2025-12-31") and np.all(profile["pfe_cny"] >= profile["epe_cny"])
    market = run.context.market.build()
    dates = pd.DatetimeIndex(profile.index)
    t = market.discount.times(dates)
    closed = 0.45 * float((profile["epe_cny"] * market.df(dates) * marginal_pd(t, pd_from_rating("BBB"))).sum())
    assert abs(row["cva_cny"] - closed) < 4 * row["cva_se_cny"] and row["cva_cny"] > 0
    assert row["peak_epe_cny"] == pytest.approx(profile["epe_cny"].max())
    again = _run(tmp_path, "fwd2", FORWARD, n=2 * BLOCK_PATHS, blocks_per_task=2)
    assert analyse(again).tables["counterparty"].equals(tables["counterparty"])


def _loss(run: PortfolioRun, c: int) -> np.ndarray:
    return np.asarray(run.arrays[LoanPaths.key(c, "loss_cny")], dtype=float)


def test_two_pledge_loans_share_the_days_depth_in_the_run(tmp_path: Path) -> None:
    """Two identical CEA pledge loans of 1 Mt in a thin market (ADV 20 000 t: 2 000 t a day each alone) lose
    more together than twice one alone (each sells half as fast, more is forced out on the 30th day); with
    unlimited depth exactly twice, path by path."""
    thin = PLEDGE.format(name="a", adv=20_000.0)
    one = _run(tmp_path, "one", thin)
    two = _run(tmp_path, "two", thin + PLEDGE.format(name="b", adv=20_000.0))
    assert np.array_equal(_loss(two, 0), _loss(two, 1))
    liquidated = np.asarray(one.arrays[LoanPaths.key(0, "liquidated")], dtype=bool)
    assert liquidated.sum() > 50
    assert (_loss(two, 0) + _loss(two, 1)).mean() > 2.0 * _loss(one, 0).mean() * 1.01
    assert not np.array_equal(two.arrays["contract_pv"][0], one.arrays["contract_pv"][0])
    deep = PLEDGE.format(name="a", adv=1e12)
    one_deep = _run(tmp_path, "one_deep", deep)
    two_deep = _run(tmp_path, "two_deep", deep + PLEDGE.format(name="b", adv=1e12))
    assert np.array_equal(_loss(two_deep, 0) + _loss(two_deep, 1), 2.0 * _loss(one_deep, 0))
    assert np.array_equal(two_deep.arrays["contract_pv"][0], one_deep.arrays["contract_pv"][0])


def test_portfolio_ccer_adv_t_reaches_the_market(tmp_path: Path) -> None:
    """``[market] ccer_adv_t`` of a portfolio file is declared, checked and given to the run's market."""
    from carbonrisk.portfolios.engine import prepare
    from carbonrisk.portfolios.exceptions import InputError
    from carbonrisk.portfolios.portfolio import load_portfolio

    body = """
[portfolio]
name = "depth"
horizon_years = 2
n_paths = 200
seed = 1
[market]
prices = "cea"
model = "garch"
dist = "t"
ccer_adv_t = {adv}
"""
    path = tmp_path / "p.toml"
    path.write_text(body.format(adv=12_345.0))
    pf = load_portfolio(path)
    assert pf.market.ccer_adv_t == 12_345.0
    ctx, _, _ = prepare(pf)
    assert ctx.market.build().adv_t == {"CCER": 12_345.0}
    path.write_text(body.format(adv=-1))
    with pytest.raises(InputError, match=r"market\.ccer_adv_t = -1 is not > 0"):
        load_portfolio(path)
