"""Issue 18 proof for repo, carbon lending, custody and the quota overdraft (carbonrisk.finance.carbon_financing).

References are closed forms computed here independently of the engines, on the market's own curves:

* zero volatility (1e-9: every path is the forward curve) and zero PD: a repo is deterministic financing, its
  financier NPV :math:`P(1 + rT)P(0,T) - P`, its break-even rate the simple curve rate :math:`(1/P(0,T) - 1)/T`;
  lending with a risk-free borrower is the fee only, :math:`f q S_0 T P(0,T)` (cash) or
  :math:`f q T F(0,T) P(0,T)` (tonnes); the overdraft is the commitment fee plus :math:`q r \\delta F(0,T) P(0,T)`;
* zero volatility with a constant hazard :math:`h = -\\ln(1 - PD)`: default falls in the day interval
  :math:`(t_{j-1}, t_j]` with probability :math:`e^{-h t_{j-1}} - e^{-h t_j}` and every loss is a function of the
  forward at :math:`t_j`, so the expected loss and value are finite sums; the Monte Carlo (default draws only)
  must match within 4 standard errors;
* custody's decomposition :math:`V_O + V_M =` lending income - borrowers' losses holds path by path.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbonrisk.finance.carbon_financing import (
    MCCustodyEngine,
    MCLendingEngine,
    MCOverdraftEngine,
    MCRepoEngine,
    commitment_fee_cny,
    default_rows,
    liquidation_proceeds,
    simulate_custody,
    simulate_lending,
    simulate_overdraft,
    simulate_repo,
)
from carbonrisk.finance.contracts import instrument_from_dict, load_example
from carbonrisk.finance.exceptions import ContractError
from carbonrisk.finance.instruments import CarbonCustody, CarbonLending, CarbonRepo, QuotaOverdraft
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.valuation import engines_for
from carbonrisk.models.paths import PathSet
from tests.finance.conftest import VALUATION_DATE, gbm_paths

BIG_ADV = 1.0e12  # market depth so deep that every close-out / buy-in trades on the default day


def flat_market(vol: float = 1e-9) -> MarketEnv:
    """2 % flat curve, CEA 100 financed at 2 % (forward = spot e^{0.02 t}), given volatility."""
    return MarketEnv.simple(VALUATION_DATE, 0.02, {"CEA": 100.0}, {"CEA": vol})


def repo(**kw: object) -> CarbonRepo:
    terms: dict[str, object] = {
        "asset": "CEA", "quantity_t": 100_000.0, "haircut": 0.2, "repo_rate": 0.04, "tenor_years": 1.0,
        "maintenance_ratio": 1.1, "adv_t": BIG_ADV,
    }  # fmt: skip
    terms.update(kw)
    return CarbonRepo(**terms)  # type: ignore[arg-type]


def lending(**kw: object) -> CarbonLending:
    terms: dict[str, object] = {"asset": "CEA", "quantity_t": 50_000.0, "tenor_years": 0.5, "fee_rate": 0.03,
                                "adv_t": BIG_ADV}  # fmt: skip
    terms.update(kw)
    return CarbonLending(**terms)  # type: ignore[arg-type]


def overdraft(**kw: object) -> QuotaOverdraft:
    terms: dict[str, object] = {
        "credit_line_t": 30_000.0, "drawn_t": 20_000.0, "draw_date": "2024-11-15", "true_up_date": "2024-12-31",
        "repay_date": "2025-06-30", "overdraft_rate": 0.05, "commitment_fee_rate": 0.002, "adv_t": BIG_ADV,
    }  # fmt: skip
    terms.update(kw)
    return QuotaOverdraft(**terms)  # type: ignore[arg-type]


def custody(**kw: object) -> CarbonCustody:
    terms: dict[str, object] = {
        "asset": "CEA", "quantity_t": 100_000.0, "tenor_years": 1.0, "lending_fee_rate": 0.03, "lent_share": 0.8,
        "guaranteed_return_cny_per_t": 1.5, "adv_t": BIG_ADV,
    }  # fmt: skip
    terms.update(kw)
    return CarbonCustody(**terms)  # type: ignore[arg-type]


def paths_for(market: MarketEnv, inst: object, n: int = 20_000, seed: int = 11) -> PathSet:
    return gbm_paths(market, [inst], n, seed)  # type: ignore[list-item]


def default_probabilities(h: float, t: np.ndarray) -> np.ndarray:
    """:math:`P(t_{j-1} < \\tau \\le t_j)` for a constant hazard (day intervals of the monitoring dates)."""
    edges = np.concatenate([[0.0], t])
    return np.exp(-h * edges[:-1]) - np.exp(-h * edges[1:])


def grid(market: MarketEnv, dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return market.discount.times(dates), market.df(dates), market.forward("CEA", dates)


def within(mc: float, se: float, ref: float) -> bool:
    return abs(mc - ref) <= 4.0 * se + 1e-9 * max(abs(ref), 1.0)


# ------------------------------------------------------------------------------------------------------ repo


def test_repo_at_zero_volatility_is_deterministic_financing() -> None:
    market = flat_market()
    r = repo(target_expected_loss_cny=0.0)
    res = MCRepoEngine().calculate(r, market=market, paths=paths_for(market, r, 2000))
    mat = pd.DatetimeIndex([r.maturity(VALUATION_DATE)])
    t, df, _ = grid(market, mat)
    cash = 100_000 * 100.0 * 0.8
    assert res.extras["cash_lent_cny"] == pytest.approx(cash, rel=1e-12)
    assert res.value == pytest.approx(cash * (1 + 0.04 * t[0]) * df[0] - cash, rel=1e-9)
    assert res.std_error < 1e-6 * cash
    assert res.extras["p_margin_call"] == 0.0 and res.extras["p_default"] == 0.0
    # break-even repo rate = the simple curve rate to maturity; the seller's value is the financier's negative
    assert res.extras["break_even_repo_rate"] == pytest.approx((1 / df[0] - 1) / t[0], abs=1e-6)
    assert res.extras["seller_npv_cny"] == pytest.approx(-res.value, rel=1e-12)
    seller = MCRepoEngine().calculate(replace(r, side="seller"), market=market, paths=paths_for(market, r, 2000))
    assert seller.value == pytest.approx(-res.value, rel=1e-12)


def test_repo_with_a_seller_who_always_meets_calls_and_never_fails_is_deterministic_at_any_volatility() -> None:
    market = flat_market(0.4)
    r = repo(top_up="always")
    res = MCRepoEngine().calculate(r, market=market, paths=paths_for(market, r, 4000), quick=True)
    t, df, _ = grid(market, pd.DatetimeIndex([r.maturity(VALUATION_DATE)]))
    cash = 8.0e6
    assert res.extras["p_margin_call"] > 0.1  # margin is called, and met, on many paths
    assert res.value == pytest.approx(cash * (1 + 0.04 * t[0]) * df[0] - cash, rel=1e-9)
    assert res.extras["expected_margin_t"] > 0


def test_repo_expected_loss_with_a_defaulting_seller_matches_the_zero_volatility_sum() -> None:
    market = flat_market()
    r = repo(haircut=0.0, maintenance_ratio=0.9, sale_discount=0.05, borrower_pd_1y=0.3)
    res = MCRepoEngine().calculate(r, market=market, paths=paths_for(market, r), quick=True)
    monitor = r.monitoring_dates(VALUATION_DATE)
    t, df, fwd = grid(market, monitor)
    h = -math.log(1 - 0.3)
    p = default_probabilities(h, t)
    cash = 100_000 * 100.0
    owed = cash * (1 + 0.04 * t)
    recovered = np.minimum(0.95 * 100_000 * fwd, owed)
    el = float(np.sum(p * (owed - recovered)))
    survive = math.exp(-h * t[-1])
    npv = float(np.sum(p * recovered * df)) + survive * owed[-1] * df[-1] - cash
    assert within(res.extras["expected_loss_cny"], res.extras["expected_loss_cny_se"], el)
    assert within(res.value, res.std_error, npv)
    assert within(res.extras["p_default"], res.extras["p_default_se"], 1 - survive)
    assert res.extras["p_margin_call"] == 0.0


def test_repo_break_even_rate_zeroes_the_financiers_npv_on_the_same_paths() -> None:
    market = flat_market(0.35)
    r = repo(borrower_pd_1y=0.1, top_up=0.8, pd_price_elasticity=-1.0, target_expected_loss_cny=50_000.0)
    paths = paths_for(market, r, 3000)
    res = MCRepoEngine().calculate(r, market=market, paths=paths)
    be = res.extras["break_even_repo_rate"]
    assert 0.0 < be < 0.5
    at_be = simulate_repo(r, market, paths, repo_rate=be)
    assert float(at_be.pv_cny.mean() - at_be.cash_lent_cny) == pytest.approx(0.0, abs=1e-4 * at_be.cash_lent_cny)
    # a target loss of 50 000 CNY is reached at a lower rate than break-even
    assert res.extras["repo_rate_for_target"] < be


def test_repo_close_out_is_limited_by_market_depth() -> None:
    """A thin market sells 10 % of the daily volume a day: the sale runs over the days after the default."""
    market = flat_market(0.3)
    deep = repo(borrower_pd_1y=0.5, haircut=0.05, maintenance_ratio=1.0, max_liquidation_days=30)
    thin = replace(deep, adv_t=20_000.0)
    paths = paths_for(market, deep, 4000)
    a, b = (simulate_repo(x, market, paths) for x in (deep, thin))
    assert np.array_equal(a.default, b.default)  # same default draws
    assert not np.allclose(a.loss_cny, b.loss_cny)
    res = MCRepoEngine().calculate(thin, market=market, paths=paths, quick=True)
    assert res.extras["days_to_liquidate_all"] == math.ceil(100_000 / 2_000)


@settings(max_examples=8, deadline=None)
@given(h1=st.floats(0.0, 0.5), dh=st.floats(0.01, 0.4), pd1=st.floats(0.0, 0.4), dpd=st.floats(0.01, 0.4))
def test_repo_loss_falls_with_the_haircut_and_defaults_rise_with_pd(
    h1: float, dh: float, pd1: float, dpd: float
) -> None:
    """Path by path on the same draws. Margin calls are switched off (maintenance 0.01) for the haircut property:
    with calls, a lower haircut can be called and topped up on a path where a higher one is not, so the loss is
    monotone only in expectation."""
    market = flat_market(0.4)
    lo = repo(haircut=h1, maintenance_ratio=0.01, borrower_pd_1y=pd1, sale_discount=0.1, top_up="always")
    hi = replace(lo, haircut=min(h1 + dh, 0.9))
    paths = paths_for(market, lo, 1000, seed=3)
    a, b = simulate_repo(lo, market, paths), simulate_repo(hi, market, paths)
    assert np.all(b.loss_cny <= a.loss_cny + 1e-6)
    called = replace(lo, maintenance_ratio=0.95)
    c = simulate_repo(called, market, paths)
    d = simulate_repo(replace(called, borrower_pd_1y=pd1 + dpd), market, paths)
    assert np.all(d.default >= c.default)


# --------------------------------------------------------------------------------------------------- lending


def test_lending_with_a_risk_free_borrower_is_the_fee() -> None:
    market = flat_market(0.3)
    cash = lending()
    res = MCLendingEngine().calculate(cash, market=market, paths=paths_for(market, cash, 4000))
    mat = pd.DatetimeIndex([cash.maturity(VALUATION_DATE)])
    t, df, fwd = grid(market, mat)
    assert res.value == pytest.approx(0.03 * 50_000 * 100.0 * t[0] * df[0], rel=1e-12)
    assert res.std_error == pytest.approx(0.0, abs=1e-9)
    assert res.extras["expected_loss_cny"] == 0.0 and res.extras["break_even_fee_rate"] == 0.0
    tonnes = replace(cash, fee_in="allowances")
    res = MCLendingEngine().calculate(tonnes, market=market, paths=paths_for(market, tonnes, 20_000))
    assert within(res.value, res.std_error, 0.03 * 50_000 * t[0] * fwd[0] * df[0])
    assert res.extras["fee_risk_free_cny"] == pytest.approx(0.03 * 50_000 * t[0] * fwd[0] * df[0], rel=1e-12)


def test_lending_loss_with_a_defaulting_borrower_matches_the_zero_volatility_sum() -> None:
    market = flat_market()
    inst = lending(borrower_pd_1y=0.25, collateral_ratio=0.5, recovery_rate=0.4, buy_in_premium=0.03)
    res = MCLendingEngine().calculate(inst, market=market, paths=paths_for(market, inst))
    monitor = inst.monitoring_dates(VALUATION_DATE)
    t, df, fwd = grid(market, monitor)
    h = -math.log(1 - 0.25)
    p = default_probabilities(h, t)
    loss = 0.6 * np.maximum(50_000 * fwd * 1.03 - 0.5 * 50_000 * 100.0, 0.0)
    fee = 0.03 * 50_000 * 100.0 * t[-1] * df[-1]
    value = math.exp(-h * t[-1]) * fee - float(np.sum(p * loss * df))
    assert within(res.extras["expected_loss_cny"], res.extras["expected_loss_cny_se"], float(np.sum(p * loss)))
    assert within(res.value, res.std_error, value)
    # the break-even fee zeroes the lender's value on the same paths
    fair = res.extras["break_even_fee_rate"]
    again = MCLendingEngine().calculate(replace(inst, fee_rate=fair), market=market, paths=paths_for(market, inst))
    assert again.value == pytest.approx(0.0, abs=1e-6 * fee)


def test_wrong_way_lending_keeps_the_mean_hazard_and_raises_the_loss() -> None:
    """b = 1: the hazard follows the price, its mean stays h0 (PD about the input), the loss grows."""
    market = flat_market(0.4)
    base = lending(tenor_years=1.0, borrower_pd_1y=0.2, collateral_ratio=1.0)
    wrong = replace(base, pd_price_elasticity=1.0)
    paths = paths_for(market, base, 20_000)
    a, b = simulate_lending(base, market, paths), simulate_lending(wrong, market, paths)
    t_last = float(market.discount.times(base.monitoring_dates(VALUATION_DATE)[-1:])[0])
    pd_ref = 1 - 0.8**t_last
    for out in (a, b):
        p = float(out.default.mean())
        assert abs(p - pd_ref) <= 4 * math.sqrt(pd_ref * (1 - pd_ref) / 20_000)
    diff = b.loss_cny - a.loss_cny
    assert diff.mean() > 4 * diff.std(ddof=1) / math.sqrt(diff.size)


@settings(max_examples=8, deadline=None)
@given(
    fee=st.floats(0.0, 0.2), dfee=st.floats(0.001, 0.2), c=st.floats(0.0, 2.0), dc=st.floats(0.01, 1.0),
    pd1=st.floats(0.0, 0.5), dpd=st.floats(0.01, 0.4),
)  # fmt: skip
def test_lending_is_monotone_in_fee_collateral_and_pd(
    fee: float, dfee: float, c: float, dc: float, pd1: float, dpd: float
) -> None:
    market = flat_market(0.35)
    base = lending(fee_rate=fee, collateral_ratio=c, borrower_pd_1y=pd1, pd_price_elasticity=1.0)
    paths = paths_for(market, base, 1000, seed=5)
    a = simulate_lending(base, market, paths)
    more_fee = simulate_lending(replace(base, fee_rate=fee + dfee), market, paths)
    assert np.all(more_fee.pv_fee_cny - more_fee.pv_loss_cny >= a.pv_fee_cny - a.pv_loss_cny)
    more_coll = simulate_lending(replace(base, collateral_ratio=c + dc), market, paths)
    assert np.all(more_coll.loss_cny <= a.loss_cny + 1e-9)
    riskier = simulate_lending(replace(base, borrower_pd_1y=min(pd1 + dpd, 0.99)), market, paths)
    assert np.all(riskier.default >= a.default)  # the same draws: a riskier borrower fails on every path it did
    assert np.all(riskier.pv_fee_cny <= a.pv_fee_cny + 1e-9)


# --------------------------------------------------------------------------------------------------- custody


def test_custody_with_risk_free_borrowers_and_manager_splits_the_fee() -> None:
    market = flat_market(0.3)
    inst = custody()
    res = MCCustodyEngine().calculate(inst, market=market, paths=paths_for(market, inst, 2000))
    mat = pd.DatetimeIndex([inst.maturity(VALUATION_DATE)])
    t, df, _ = grid(market, mat)
    guarantee = 1.5 * 100_000
    assert res.value == pytest.approx(guarantee * df[0], rel=1e-12)
    assert res.extras["manager_npv_cny"] == pytest.approx((0.03 * 0.8 * 100_000 * 100.0 * t[0] - guarantee) * df[0])
    rate = replace(inst, guaranteed_return_cny_per_t=None, guaranteed_rate=0.01)
    assert rate.guarantee_cny(100.0) == pytest.approx(0.01 * 100_000 * 100.0 * 1.0)
    be = res.extras["break_even_guarantee_cny"]
    assert be == pytest.approx(0.03 * 0.8 * 100_000 * 100.0 * t[0], rel=1e-9)


def test_custody_decomposition_and_the_zero_volatility_sum() -> None:
    market = flat_market()
    inst = custody(borrower_pd_1y=0.2, borrower_collateral_ratio=0.3, manager_pd_1y=0.05, manager_recovery_rate=0.4)
    paths = paths_for(market, inst)
    out = simulate_custody(inst, market, paths)
    assert out.lending is not None
    np.testing.assert_allclose(out.owner_cny + out.manager_cny, out.lending.pv_fee_cny - out.lending.pv_loss_cny)
    monitor = inst.monitoring_dates(VALUATION_DATE)
    t, df, fwd = grid(market, monitor)
    hm = -math.log(1 - 0.05)
    owner = 150_000 * df[-1] * math.exp(-hm * t[-1]) - float(
        np.sum(default_probabilities(hm, t) * 0.6 * 100_000 * fwd * df)
    )
    res = MCCustodyEngine().calculate(inst, market=market, paths=paths)
    assert within(res.value, res.std_error, owner)
    hb = -math.log(1 - 0.2)
    q = 80_000
    total = 0.03 * q * 100.0 * t[-1] * df[-1] * math.exp(-hb * t[-1]) - float(
        np.sum(default_probabilities(hb, t) * np.maximum(q * fwd - 0.3 * q * 100.0, 0.0) * df)
    )
    assert within(res.extras["total_npv_cny"], res.extras["total_npv_cny_se"], total)


@settings(max_examples=8, deadline=None)
@given(fee=st.floats(0.0, 0.1), dfee=st.floats(0.001, 0.1))
def test_custody_manager_gains_with_the_lending_fee(fee: float, dfee: float) -> None:
    market = flat_market(0.3)
    base = custody(lending_fee_rate=fee, borrower_pd_1y=0.1, manager_pd_1y=0.02)
    paths = paths_for(market, base, 1000, seed=9)
    a, b = (
        simulate_custody(base, market, paths),
        simulate_custody(replace(base, lending_fee_rate=fee + dfee), market, paths),
    )
    assert np.all(b.manager_cny >= a.manager_cny) and np.array_equal(a.owner_cny, b.owner_cny)


# ------------------------------------------------------------------------------------------------- overdraft


def test_overdraft_at_zero_pd_is_the_fee_and_the_interest_in_tonnes() -> None:
    for vol in (1e-9, 0.3):
        market = flat_market(vol)
        inst = overdraft()
        res = MCOverdraftEngine().calculate(inst, market=market, paths=paths_for(market, inst))
        repay = inst.monitoring_dates(VALUATION_DATE)[-1:]
        _t, df, fwd = grid(market, repay)
        delta = (repay[0] - pd.Timestamp("2024-11-15")).days / 365.0
        fee = 0.002 * 10_000 * 100.0 * (pd.Timestamp("2025-06-30") - VALUATION_DATE).days / 365.0
        assert commitment_fee_cny(inst, market) == pytest.approx(fee, rel=1e-12)
        ref = fee + 20_000 * 0.05 * delta * fwd[0] * df[0]
        assert within(res.value, res.std_error, ref)
        assert res.extras["entity_cost_cny"] == pytest.approx(-res.value)


def test_overdraft_defaults_only_count_after_the_draw() -> None:
    market = flat_market()
    inst = overdraft(borrower_pd_1y=0.3, collateral_ratio=0.2)
    res = MCOverdraftEngine().calculate(inst, market=market, paths=paths_for(market, inst))
    monitor = inst.monitoring_dates(VALUATION_DATE)
    t, _df, fwd = grid(market, monitor)
    h = -math.log(1 - 0.3)
    p = default_probabilities(h, t)
    drawn = monitor > pd.Timestamp("2024-11-15")
    loss = np.where(drawn, np.maximum(20_000 * fwd - 0.2 * 20_000 * 100.0, 0.0), 0.0)
    assert within(res.extras["expected_loss_cny"], res.extras["expected_loss_cny_se"], float(np.sum(p * loss)))
    assert within(res.extras["p_default"], res.extras["p_default_se"], float(p[drawn].sum()))


@settings(max_examples=8, deadline=None)
@given(rate=st.floats(0.0, 0.2), dr=st.floats(0.001, 0.2), pd1=st.floats(0.0, 0.4), dpd=st.floats(0.01, 0.4))
def test_overdraft_lender_value_rises_with_the_rate_and_falls_with_pd(
    rate: float, dr: float, pd1: float, dpd: float
) -> None:
    market = flat_market(0.3)
    base = overdraft(overdraft_rate=rate, borrower_pd_1y=pd1)
    paths = paths_for(market, base, 1000, seed=13)
    a = simulate_overdraft(base, market, paths)
    b = simulate_overdraft(replace(base, overdraft_rate=rate + dr), market, paths)
    assert np.all(b.pv_fee_cny >= a.pv_fee_cny) and np.array_equal(a.loss_cny, b.loss_cny)
    c = simulate_overdraft(replace(base, borrower_pd_1y=pd1 + dpd), market, paths)
    assert np.all(c.pv_fee_cny <= a.pv_fee_cny + 1e-9)  # fewer entities survive to pay the interest


# ------------------------------------------------------------------------------------------ shared machinery


def test_liquidation_in_a_thin_market_and_a_per_day_depth_array() -> None:
    prices = np.array([[10.0, 10.0], [11.0, 9.0], [12.0, 8.0]])
    q = np.array([25.0, 5.0])
    # 10 t a day: 10 at 10, 10 at 11, the last 5 at 12; the small sale fits the first day
    np.testing.assert_allclose(liquidation_proceeds(q, prices, 10.0), [10 * 10 + 10 * 11 + 5 * 12, 50.0])
    # a day's depth taken by others (0 on day 0): the sale moves to the next days, the rest in a block at the end
    cap = np.array([[0.0, 0.0], [10.0, 1.0], [5.0, 1.0]])
    np.testing.assert_allclose(liquidation_proceeds(q, prices, cap), [10 * 11 + 15 * 12, 1 * 9 + 4 * 8])


def test_per_day_depth_array_plugs_into_the_repo_and_lending() -> None:
    market = flat_market(0.3)
    r = repo(borrower_pd_1y=0.5, haircut=0.05, maintenance_ratio=1.0, adv_t=20_000.0)
    paths = paths_for(market, r, 1000)
    days = r.fixing_dates(VALUATION_DATE)
    same = np.full((len(days), 1000), 20_000.0)
    a = simulate_repo(r, market, paths)
    b = simulate_repo(r, market, paths, depth_t_per_day=same)
    np.testing.assert_allclose(a.loss_cny, b.loss_cny)
    halved = simulate_repo(r, market, paths, depth_t_per_day=same / 2)
    assert not np.allclose(a.loss_cny, halved.loss_cny)
    lend = lending(borrower_pd_1y=0.5, adv_t=5_000.0)
    ldays = lend.fixing_dates(VALUATION_DATE)
    c = simulate_lending(lend, market, paths_for(market, lend, 1000))
    d = simulate_lending(lend, market, paths_for(market, lend, 1000), depth_t_per_day=np.full((len(ldays), 1000), 5e3))
    np.testing.assert_allclose(c.loss_cny, d.loss_cny)


def test_default_rows_constant_hazard_and_reproducibility() -> None:
    t = np.linspace(1 / 250, 1.0, 250)
    prices = np.full((250, 50_000), 100.0)
    rows = default_rows("x", 0.2, 0.0, prices, t, np.full(250, 100.0), 0.3, 42)
    assert abs((rows >= 0).mean() - 0.2) < 4 * math.sqrt(0.16 / 50_000)
    again = default_rows("x", 0.2, 0.0, prices[:, :1000], t, np.full(250, 100.0), 0.3, 42)
    assert np.array_equal(rows[:1000], again)  # a block's draws do not depend on the run's size
    other = default_rows("y", 0.2, 0.0, prices[:, :1000], t, np.full(250, 100.0), 0.3, 42)
    assert not np.array_equal(again, other)  # one stream per counterparty
    with pytest.raises(ContractError, match="counterparty defaults"):
        default_rows("x", 0.2, 0.0, prices, t, np.full(250, 100.0), 0.3, None)


# --------------------------------------------------------------------------------------- terms and plumbing

BAD_TERMS = [
    (CarbonRepo, {"haircut": 1.0}, r"^haircut = 1 is not in \[0, 1\)"),
    (CarbonRepo, {"maintenance_ratio": 1.3}, r"^maintenance_ratio=1\.3 must be below the initial coverage"),
    (CarbonRepo, {"repo_rate": 2.0}, r"^repo_rate = 2 is not in \[-0\.05, 1\]"),
    (CarbonRepo, {"top_up": 1.5}, r"^top_up = 1\.5 is not in \[0, 1\]"),
    (CarbonRepo, {"side": "buyer"}, r"^side = 'buyer'"),
    (CarbonRepo, {"borrower_pd_1y": 1.0}, r"^borrower_pd_1y = 1 is not in \[0, 1\)"),
    (CarbonRepo, {"pd_price_elasticity": 9.0}, r"^pd_price_elasticity = 9 is not in \[-5, 5\]"),
    (CarbonLending, {"fee_rate": -0.01}, r"^fee_rate = -0\.01 is not in \[0, 1\]"),
    (CarbonLending, {"fee_in": "gold"}, r"^fee_in = 'gold'"),
    (CarbonLending, {"quantity_t": 0.0}, r"^quantity_t = 0 is not > 0"),
    (CarbonLending, {"collateral_ratio": 11.0}, r"^collateral_ratio = 11 is not in \[0, 10\]"),
    (CarbonCustody, {"guaranteed_rate": 0.01}, r"^guaranteed_return_cny_per_t=1\.5 and guaranteed_rate=0\.01: give"),
    (CarbonCustody, {"lent_share": 1.2}, r"^lent_share = 1\.2 is not in \[0, 1\]"),
    (CarbonCustody, {"manager_pd_1y": 1.0}, r"^manager_pd_1y = 1 is not in \[0, 1\)"),
    (QuotaOverdraft, {"drawn_t": 40_000.0}, r"^drawn_t=40000\.0 must not exceed credit_line_t=30000\.0"),
    (QuotaOverdraft, {"repay_date": "2024-12-01"}, r"^repay_date=2024-12-01 must be after true_up_date=2024-12-31"),
    (QuotaOverdraft, {"true_up_date": "2024-11-01"}, r"^true_up_date=2024-11-01 must not be before draw_date"),
    (QuotaOverdraft, {"overdraft_rate": float("nan")}, r"^overdraft_rate = nan is not a finite number"),
]
FACTORIES = {CarbonRepo: repo, CarbonLending: lending, CarbonCustody: custody, QuotaOverdraft: overdraft}


@pytest.mark.parametrize(("cls", "change", "match"), BAD_TERMS)
def test_bad_terms_are_refused_with_one_line(cls: type, change: dict[str, object], match: str) -> None:
    with pytest.raises(ContractError, match=match) as info:
        FACTORIES[cls](**change)
    assert "\n" not in str(info.value)


def test_overdraft_drawn_before_the_valuation_date_is_refused() -> None:
    with pytest.raises(ContractError, match=r"^draw_date=2024-10-01 must not be before the valuation date"):
        overdraft(draw_date="2024-10-01").check_dates(VALUATION_DATE)


@pytest.mark.parametrize("name", ["carbon_repo", "carbon_lending", "carbon_custody", "quota_overdraft"])
def test_examples_read_and_register(name: str) -> None:
    contract = load_example(name)
    inst = contract.instruments[0]
    assert inst.kind == name and len(engines_for(inst)) == 1
    assert instrument_from_dict(inst.terms()) == inst  # terms() round-trips through a contract table
    assert len(inst.cashflows()) >= 2


def test_ccer_repo_uses_the_ccer_market_depth(market: MarketEnv) -> None:
    """No CCER volume series ships: a CCER repo closes out at CCER_ADV_T (document 003), 1/20 of CEA's depth."""
    from carbonrisk.finance.loans import CCER_ADV_T

    r = repo(asset="CCER", adv_t=None, borrower_pd_1y=0.1, haircut=0.3, maintenance_ratio=1.2)
    res = MCRepoEngine().calculate(r, market=market, paths=paths_for(market, r, 2000), quick=True)
    assert res.extras["adv_t"] == pytest.approx(CCER_ADV_T) and res.extras["adv_source"].startswith("CCER_ADV_T")
    assert res.extras["days_to_liquidate_all"] == math.ceil(100_000 / (0.1 * CCER_ADV_T))


def test_repo_credit_figures_follow_the_paths() -> None:
    """With a PD the financier's IFRS 9 / capital figures come from the same per-path defaults and losses."""
    market = flat_market(0.35)
    r = repo(borrower_pd_1y=0.1, top_up=0.8, haircut=0.1, maintenance_ratio=1.05, sale_discount=0.05)
    res = MCRepoEngine().calculate(r, market=market, paths=paths_for(market, r, 4000), quick=True)
    x = res.extras
    assert x["pd_lifetime"] == pytest.approx(x["p_default"], abs=1e-12)  # default = close-out on the path
    assert 0.0 <= x["ecl_12m_cny"] <= x["ecl_lifetime_cny"] and x["ifrs9_stage"] in (1, 2, 3)
    assert x["irb_capital_cny"] > 0 and "crm_note" in x
    assert "ecl_12m_cny" not in MCRepoEngine().calculate(repo(), market=market, paths=paths_for(market, r, 500)).extras
