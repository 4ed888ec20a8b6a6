"""Credit figures of loans from their paths (issue 15): a hand-computed pledge loan end to end, borrower default,
the wrong-way top-up on the engine's margin calls, and project loans."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from carbonrisk.finance.credit import WrongWayTopUp, cumulative_pd
from carbonrisk.finance.instruments import PledgeLoan, ProjectLoan
from carbonrisk.finance.loans import (
    MCPledgeLoanEngine,
    MCProjectLoanEngine,
    effective_interest_rate,
    simulate_pledge_loan,
)
from carbonrisk.finance.market import MarketEnv
from carbonrisk.models.paths import PathSet
from tests.finance.conftest import gbm_paths


def _loan(**kw: object) -> PledgeLoan:
    base: dict[str, object] = dict(
        collateral="CEA",
        quantity_t=1_000_000,
        ltv=0.6,
        rate=0.045,
        tenor_years=1.0,
        maintenance_ratio=1.35,
        liquidation_ratio=1.15,
        top_up="never",
        haircut=0.08,
        max_liquidation_days=1,
        adv_t=1e9,  # the whole pledge sells on the next trading day
        borrower_pd_1y=0.0,
    )
    base.update(kw)
    return PledgeLoan(**base)  # type: ignore[arg-type]


def _step_paths(market: MarketEnv, loan: PledgeLoan, levels: list[list[tuple[int, float]]], seed: int = 7) -> PathSet:
    """One path per entry of ``levels``: the CEA spot, then each ``(day, price)`` from that trading day on."""
    days = loan.fixing_dates(market.valuation_date)
    dates = pd.DatetimeIndex([market.valuation_date]).append(days)
    spot = market.spot("CEA")
    arr = np.full((len(dates), len(levels)), spot)
    for p, steps in enumerate(levels):
        for day, price in steps:
            arr[day:, p] = price
    return PathSet(dates, {"CEA": arr}, seed_entropy=seed)


def test_pledge_loan_credit_figures_hand_computed(market: MarketEnv) -> None:
    """Two of four paths crash to 60 CNY/t on trading day 10: coverage 1.0 < 1.15, liquidation on that day, the
    1 Mt sold the next day at 60 x (1 - 8 %). Every figure recomputed here from the loan's terms."""
    loan = _loan()
    paths = _step_paths(market, loan, [[(10, 60.0)], [(10, 60.0)], [], []])
    res = MCPledgeLoanEngine().calculate(loan, market=market, paths=paths, quick=True)
    e = res.extras
    principal = 0.6 * 1e6 * 100.0
    crash_day = loan.monitoring_dates(market.valuation_date)[9]  # row 10 of the grid = 10th monitoring date
    t_default = float(market.discount.times(pd.DatetimeIndex([crash_day]))[0])
    owed = principal * (1 + 0.045 * t_default)
    loss = owed - 1e6 * 60.0 * 0.92
    assert e["pd_lifetime"] == 0.5
    assert e["ead_cny"] == pytest.approx(owed, rel=1e-12)
    assert e["lgd"] == pytest.approx(loss / owed, rel=1e-12)
    # ECL: half the paths lose `loss` in the first quarter, discounted at the EIR from the quarter's end
    eir = (1 + 0.045 / 4) ** 4 - 1
    assert effective_interest_rate(0.045, 4) == pytest.approx(eir, rel=1e-15)
    assert e["ecl_lifetime_cny"] == pytest.approx(0.5 * loss * (1 + eir) ** -0.25, rel=1e-12)
    assert e["ecl_12m_cny"] == pytest.approx(e["ecl_lifetime_cny"], rel=1e-12)  # a one-year loan
    assert e["ifrs9_stage"] == 1  # coverage today 1/0.6 above the maintenance ratio, PD as at origination
    # IRB (BCBS 2006 para 272): borrower PD 0 floored at 0.05 %, LGD and EAD from the paths, M floored at 1
    p, lgd = 0.0005, loss / owed
    w = (1 - math.exp(-50 * p)) / (1 - math.exp(-50))
    r = 0.12 * w + 0.24 * (1 - w)
    b = (0.11852 - 0.05478 * math.log(p)) ** 2
    t_mat = float(market.discount.times(pd.DatetimeIndex([loan.maturity(market.valuation_date)]))[0])
    m = min(max(t_mat, 1.0), 5.0)
    k = (
        (lgd * norm.cdf((norm.ppf(p) + math.sqrt(r) * norm.ppf(0.999)) / math.sqrt(1 - r)) - p * lgd)
        * (1 + (m - 2.5) * b)
        / (1 - 1.5 * b)
    )
    assert e["irb_capital_cny"] == pytest.approx(k * owed, rel=1e-10)
    assert e["rwa_cny"] == pytest.approx(12.5 * k * owed, rel=1e-10)
    # standardised: general corporate 100 %, 8 % of RWA, the CEA pledge not recognised
    assert e["standardised_risk_weight"] == 1.0
    assert e["standardised_capital_cny"] == pytest.approx(0.08 * principal, rel=1e-12)
    assert e["carbon_collateral_recognised"] is False
    assert "not eligible credit-risk mitigation" in e["crm_note"]
    np.testing.assert_array_equal(res.samples["default_time_years"][2:], [np.inf, np.inf])
    assert res.samples["default_time_years"][0] == pytest.approx(t_default, rel=1e-15)


def test_no_credit_figures_without_borrower_inputs(market: MarketEnv) -> None:
    loan = _loan(borrower_pd_1y=None)
    res = MCPledgeLoanEngine().calculate(loan, market=market, paths=_step_paths(market, loan, [[], []]), quick=True)
    assert "irb_capital_cny" not in res.extras and "p_liquidation" in res.extras


def test_borrower_default_liquidates_healthy_collateral(market: MarketEnv) -> None:
    """Flat prices: only the borrower defaults (PD 30 % a year), the lender sells the pledge and loses nothing.
    The share of defaults is the cumulative PD to the last monitoring date, within 4 s.e."""
    loan = _loan(borrower_pd_1y=0.3)
    n = 20_000
    paths = _step_paths(market, loan, [[] for _ in range(n)])
    out = simulate_pledge_loan(loan, market, paths)
    last = loan.monitoring_dates(market.valuation_date)[-1]
    t_last = float(market.discount.times(pd.DatetimeIndex([last]))[0])
    expected = float(cumulative_pd(t_last, 0.3))
    assert out.borrower_default is not None and out.default_time_years is not None
    assert abs(out.liquidated.mean() - expected) < 4 * math.sqrt(expected * (1 - expected) / n)
    np.testing.assert_array_equal(out.borrower_default, out.liquidated)
    assert out.loss_cny.max() == 0.0
    assert np.all(np.isfinite(out.default_time_years[out.liquidated]))
    # same seed, same default times; another seed, other ones
    again = simulate_pledge_loan(loan, market, paths)
    np.testing.assert_array_equal(again.default_time_years, out.default_time_years)
    other = simulate_pledge_loan(loan, market, dataclasses.replace(paths, seed_entropy=8))
    assert not np.array_equal(other.default_time_years, out.default_time_years)


@pytest.mark.parametrize("top_up", ["wrong_way", 0.7, {"p_max": 0.8, "s": 0.3}])
def test_top_up_probability_taken_at_the_call_price(market: MarketEnv, top_up: object) -> None:
    """Day 5: price 75 (coverage 1.25, a margin call); day 20: 66 (coverage 1.10 without the top-up, 1.47 with it).
    Liquidated = declined the call, so the liquidation share is 1 - p(0.75) within 4 s.e."""
    loan = _loan(top_up=top_up, borrower_pd_1y=None)
    n = 20_000
    paths = _step_paths(market, loan, [[(5, 75.0), (20, 66.0)] for _ in range(n)])
    out = simulate_pledge_loan(loan, market, paths)
    if top_up == 0.7:
        p = 0.7
    else:
        p = float(WrongWayTopUp(**(top_up if isinstance(top_up, dict) else {}))(np.array([0.75]))[0])
    assert out.margin_call.all()
    assert abs(out.liquidated.mean() - (1 - p)) < 4 * math.sqrt(p * (1 - p) / n)


def test_wrong_way_top_up_is_worse_for_the_lender_in_deep_falls(market: MarketEnv) -> None:
    """A call at half the start price: the wrong-way borrower almost never tops up (p = 0.9 N(ln(0.5/0.7)/0.2)
    = 0.04), the constant one does 70 % of the time."""
    loan = _loan(top_up="wrong_way", borrower_pd_1y=None, ltv=0.4)  # coverage 1.25 at 50: a call; 1.10 at 44
    n = 20_000
    paths = _step_paths(market, loan, [[(5, 50.0), (20, 44.0)] for _ in range(n)])
    wrong = simulate_pledge_loan(loan, market, paths)
    const = simulate_pledge_loan(dataclasses.replace(loan, top_up=0.7), market, paths)
    p = float(WrongWayTopUp()(np.array([0.5]))[0])
    assert abs(wrong.liquidated.mean() - (1 - p)) < 4 * math.sqrt(p * (1 - p) / n)
    assert wrong.liquidated.mean() > const.liquidated.mean() + 0.5


def test_project_loan_credit_figures(market: MarketEnv) -> None:
    """A project whose cash flows always cover the debt service: every default is the borrower's own; ECL
    lifetime >= 12-month (zero here: the loan starts after a year), stage 1, no CRM for CCER income."""
    start = pd.Timestamp("2026-01-05")
    loan = ProjectLoan(
        principal_cny=1e8,
        rate=0.05,
        start_date=start,
        tenor_years=5,
        carbon_volumes_t=[0.0] * 5,
        other_cash_flows_cny=[1e8] * 5,
        borrower_pd_1y=0.05,
        recovery_rate=0.4,
    )
    n = 20_000
    paths = gbm_paths(market, [loan], n, seed=3)
    res = MCProjectLoanEngine().calculate(loan, market=market, paths=paths)
    e = res.extras
    expected = float(cumulative_pd(5.0, 0.05))  # hazard from the start, defaults counted at period ends
    assert abs(e["pd_lifetime"] - expected) < 4 * math.sqrt(expected * (1 - expected) / n)
    assert e["ecl_lifetime_cny"] >= e["ecl_12m_cny"] == 0.0
    assert e["ifrs9_stage"] == 1
    assert e["standardised_capital_cny"] == pytest.approx(0.08 * 1e8)
    t = res.samples["default_time_years"]
    ends = market.discount.times(loan.schedule()[1:])
    assert set(np.unique(t[np.isfinite(t)])) <= set(ends)


def test_borrowers_default_independently(market: MarketEnv) -> None:
    """Each loan draws its borrower's default times from its own stream (keyed by its name): two borrowers with
    the same PD on the same paths do not default on the same paths; the same loan always does."""
    paths = _step_paths(market, _loan(), [[] for _ in range(4000)])
    a = simulate_pledge_loan(_loan(borrower_pd_1y=0.3, name="A"), market, paths)
    b = simulate_pledge_loan(_loan(borrower_pd_1y=0.3, name="B"), market, paths)
    a2 = simulate_pledge_loan(_loan(borrower_pd_1y=0.3, name="A"), market, paths)
    np.testing.assert_array_equal(a.default_time_years, a2.default_time_years)
    both = float(np.mean(a.liquidated & b.liquidated))
    pa, pb = float(a.liquidated.mean()), float(b.liquidated.mean())
    assert abs(both - pa * pb) < 4 * math.sqrt(pa * pb * (1 - pa * pb) / 4000)  # independent, not comonotonic
