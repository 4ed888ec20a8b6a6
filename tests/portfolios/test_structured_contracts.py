"""Structured products as contracts of a portfolio file (issue 18): per-path values at the 10-day and 1-year
horizons.

The structured deposit is revalued in closed form on each path (:func:`carbonrisk.finance.revaluation.horizon_value`):
its bank side must be the depositor's mirror path by path, a deposit that matures before the 1-year horizon must show
its payout (floor ``N(1 + r tau)``, cap ``N(1 + r tau + p c)``, carried to the horizon) and nothing else, and the
10-day P&L must rise with the CEA price (the depositor is long a call spread).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from carbonrisk.finance.instruments import CarbonLinkedBond
from carbonrisk.finance.linking import ProjectCashFlows
from carbonrisk.models.random import BLOCK_PATHS
from carbonrisk.portfolios.engine import PortfolioRun, run_portfolio
from carbonrisk.portfolios.portfolio import load_portfolio

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


# --------------------------------------------------------------------------------------- carbon-linked bonds


def _income_bond(**kw: object) -> CarbonLinkedBond:
    terms: dict[str, object] = {
        "face_cny": 300_000_000.0,
        "coupon_rate": 0.028,
        "issue_date": "2024-10-31",
        "maturity_date": "2034-10-31",
        "linked_coupon": "project_income",
        "income_share": 0.3,
        "carbon_volumes_t": [0.0] * 10,
    }
    terms.update(kw)
    return CarbonLinkedBond(**terms)  # type: ignore[arg-type]


def test_project_link_gives_each_coupon_its_years_credits() -> None:
    """The generic project link (carbonrisk.finance.linking, CarbonLinkedBond.with_project) of a project-income bond:
    coupon i takes the per-path credits of the run year holding the middle of its period; the engine's per-path value is
    then the fixed leg plus sum_i P(0, d_i) s V_i A_i on each path (plain Monte Carlo: no control variate on a
    fitted model's paths)."""
    from carbonrisk.finance.market import MarketEnv
    from carbonrisk.finance.structured import MCCarbonLinkedBondEngine, bond_fixed_leg
    from tests.finance.conftest import gbm_paths

    years = tuple(range(2024, 2037))
    n = 64
    credits = np.arange(len(years))[:, None] * 1000.0 + np.arange(n)[None, :]  # year index x 1000 + path
    bond = _income_bond()
    zeros = np.zeros_like(credits)
    flows = ProjectCashFlows(years, credits, zeros, zeros, zeros)
    linked = bond.with_project(flows)
    assert isinstance(linked, CarbonLinkedBond)
    # periods 2024-10-31..2025-10-31 (middle in 2025) .. 2033-10-31..2034-10-31 (middle in 2034)
    np.testing.assert_array_equal(linked.carbon_volumes_t, credits[1:11])
    market = MarketEnv.simple("2024-10-31", 0.02, {"CCER": 70.0}, {"CCER": 0.35})
    paths = gbm_paths(market, [bond], n, 3)
    res = MCCarbonLinkedBondEngine(control_variate="none").calculate(linked, market=market, paths=paths)
    expected = np.full(n, bond_fixed_leg(bond, market).npv_cny)
    for i, period in enumerate(linked.periods()):
        rows = paths.dates.get_indexer(period.fixings)
        df = float(market.df(pd.DatetimeIndex([period.payment_date]))[0])
        expected += df * 0.3 * credits[1 + i] * paths["CCER"][rows].mean(axis=0)
    np.testing.assert_allclose(res.samples["pv_cny"], expected, rtol=1e-12)
    # contracts that cannot be linked come back unchanged
    price_bond = _income_bond(linked_coupon="average_price", strike_cny_per_t=80.0, carbon_volumes_t=None)
    assert price_bond.with_project(flows) is price_bond


BOND_BOOK = """
[[projects]]
name = "Hebei"
template = "hebei"
start_year = 2026
heat_tariff_cny_per_mwh = 200.0

[[contracts]]
type = "carbon_linked_bond"
name = "developer bond"
project = "Hebei"
face_cny = 300000000
coupon_rate = 0.028
issue_date = "2024-10-31"
maturity_date = "2034-10-31"
underlying = "CCER"
linked_coupon = "project_income"
income_share = {share}
position = "issuer"
"""


@pytest.mark.slow
def test_project_linked_bond_in_a_portfolio(tmp_path: Path) -> None:
    """A developer's project-income bond in a book: no closed form, so revalued by the regression of its engine's
    per-path value on the project's per-path credits; with a zero income share it is the fixed bond alone."""
    out = {}
    for share in (0.0, 0.3):
        path = tmp_path / f"bond_{share}.toml"
        path.write_text(HEAD.replace("horizon_years = 2", "horizon_years = 12") + BOND_BOOK.format(share=share))
        out[share] = run_portfolio(load_portfolio(path))
    plain, linked = out[0.0], out[0.3]
    assert plain.context.regressions[0] is not None
    market = plain.context.market.build()
    from carbonrisk.finance.structured import bond_fixed_leg

    fixed = bond_fixed_leg(load_portfolio(tmp_path / "bond_0.0.toml").contracts[0].instrument, market).npv_cny  # type: ignore[arg-type]
    assert plain.context.value_today[0] == pytest.approx(-fixed, rel=1e-12)
    np.testing.assert_allclose(plain.arrays["contract_pv"][0], -fixed, rtol=1e-12)
    pv = linked.arrays["contract_pv"][0]
    assert np.all(pv < -fixed)  # the issuer pays coupons on credits issued from 2031
    assert np.std(pv) > 0 and np.all(np.isfinite(linked.arrays["pnl_1y"]))


@pytest.mark.slow
def test_structured_book_same_numbers_whatever_the_task_size(tmp_path: Path) -> None:
    """Deposit (closed form) and project-linked bond (regression on a per-path project link): bit-identical
    arrays for one or two blocks per task."""
    head = HEAD.replace("horizon_years = 2", "horizon_years = 12").replace(
        f"n_paths = {BLOCK_PATHS}", f"n_paths = {BLOCK_PATHS + 300}"
    )
    path = tmp_path / "book.toml"
    path.write_text(head + DEPOSIT.format(name="deposit", position="bank") + BOND_BOOK.format(share=0.3))
    one = run_portfolio(load_portfolio(path))
    two = run_portfolio(load_portfolio(path), blocks_per_task=2)
    assert set(one.arrays) == set(two.arrays)
    for key, values in one.arrays.items():
        np.testing.assert_array_equal(values, two.arrays[key], err_msg=key)
