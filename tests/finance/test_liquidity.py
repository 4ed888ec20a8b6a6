"""Shared same-day market depth (carbonrisk.finance.liquidity) and the pledge loans that share it (issue 15)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carbonrisk.finance.depth_sharing import share_depth
from carbonrisk.finance.instruments import PledgeLoan
from carbonrisk.finance.liquidity import LiquidationDemand, LiquidityError, allocate_depth
from carbonrisk.finance.loans import simulate_pledge_loan
from carbonrisk.finance.market import MarketEnv
from carbonrisk.models.paths import PathSet


def test_two_sellers_share_the_day_pro_rata() -> None:
    """Hand-computed: A holds 300 t, B 100 t, both from day 0, capacity 100 t/day each, depth 100 t/day.
    Day 0: A 75, B 25 (pro rata 3:1); day 1: remaining 225 / 75, A 75, B 25; day 2 is both sellers' last day
    (max_days 3): they sell the rest, A 150, B 50."""
    a = LiquidationDemand(np.array([0]), np.array([300.0]), 100.0, 3)
    b = LiquidationDemand(np.array([0]), np.array([100.0]), 100.0, 3)
    sa, sb = allocate_depth([a, b], 5)
    assert sa[:, 0].tolist() == [75.0, 75.0, 150.0, 0.0, 0.0]
    assert sb[:, 0].tolist() == [25.0, 25.0, 50.0, 0.0, 0.0]


def test_a_seller_alone_keeps_its_schedule_and_sellers_on_other_days_do_not_interact() -> None:
    """Alone: min(remaining, capacity) a day, the rest on the last day; B starting after A's last day sells as
    if alone; a path where a seller does not sell is all zeros; sums are conserved."""
    a = LiquidationDemand(np.array([1, -1]), np.array([250.0, 50.0]), 100.0, 4)
    b = LiquidationDemand(np.array([5, 0]), np.array([120.0, 90.0]), 50.0, 2)
    sa, sb = allocate_depth([a, b], 8)
    assert sa[:, 0].tolist() == [0.0, 100.0, 100.0, 50.0, 0.0, 0.0, 0.0, 0.0]
    assert sb[:, 0].tolist() == [0.0, 0.0, 0.0, 0.0, 0.0, 50.0, 70.0, 0.0]
    assert sa[:, 1].tolist() == [0.0] * 8
    assert sb[:, 1].tolist() == [50.0, 40.0] + [0.0] * 6  # alone on path 1 (A does not sell there)


def test_the_day_never_sells_more_than_its_depth_before_last_days() -> None:
    rng = np.random.default_rng(4)
    n = 500
    demands = [
        LiquidationDemand(
            rng.integers(-1, 10, n), rng.uniform(0, 1000, n), float(rng.uniform(50, 200)), int(rng.integers(3, 8))
        )
        for _ in range(4)
    ]
    sold = allocate_depth(demands, 20, depth_t_per_day=150.0)
    total = np.sum(sold, axis=0)
    last = np.array([np.where(d.start_day >= 0, d.start_day + d.max_days - 1, -1) for d in demands])
    is_last = np.zeros_like(total, dtype=bool)
    for i in range(len(demands)):
        ok = last[i] >= 0
        is_last[last[i][ok], np.flatnonzero(ok)] = True
    assert np.all(total[~is_last] <= 150.0 + 1e-9)
    for d, s in zip(demands, sold, strict=True):
        assert np.allclose(s.sum(axis=0), np.where(d.start_day >= 0, d.quantity_t, 0.0))
        assert np.all(s >= 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"capacity_t_per_day": 0.0}, r"^capacity_t_per_day=0\.0 must be > 0$"),
        ({"max_days": 0}, r"^max_days=0 must be an integer >= 1$"),
        ({"quantity_t": np.array([-1.0])}, r"^quantity_t must be finite and >= 0 on every path$"),
    ],
)
def test_bad_demands_are_refused(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "start_day": np.array([0]),
        "quantity_t": np.array([1.0]),
        "capacity_t_per_day": 1.0,
        "max_days": 1,
    }
    with pytest.raises(LiquidityError, match=message):
        LiquidationDemand(**{**base, **kwargs})  # type: ignore[arg-type]
    with pytest.raises(LiquidityError, match=r"^a seller's last day 2 is beyond the day axis \(n_days=2\)$"):
        allocate_depth([LiquidationDemand(np.array([1]), np.array([1.0]), 1.0, 2)], 2)


# --- pledge loans on a falling market ----------------------------------------------------------------------------

VD = pd.Timestamp("2025-01-02")


def _market() -> MarketEnv:
    return MarketEnv.simple(VD, 0.02, {"CEA": 100.0, "CCER": 70.0}, {"CEA": 0.3, "CCER": 0.35})


def _loan(adv_t: float, **kw: object) -> PledgeLoan:
    base: dict[str, object] = dict(
        collateral="CEA",
        quantity_t=100_000,
        ltv=0.6,
        rate=0.05,
        tenor_years=1.0,
        maintenance_ratio=1.3,
        liquidation_ratio=1.15,
        top_up="never",
        liquidation_share_of_adv=0.1,
        max_liquidation_days=20,
        haircut=0.05,
        adv_t=adv_t,
        name="pledge",
    )
    base.update(kw)
    return PledgeLoan(**base)  # type: ignore[arg-type]


def _falling(loan: PledgeLoan, slopes: tuple[float, ...]) -> PathSet:
    """Deterministic paths on every day of the loan (one path per slope): flat at 100 for 30 trading days, a gap
    down to 55 (coverage 55 / 60 below the liquidation ratio) and then falling by ``slope`` per trading day."""
    days = loan.fixing_dates(VD)
    steps = np.arange(len(days) + 1)[:, None]
    prices = np.where(steps <= 30, 100.0, 55.0 * (1.0 - np.array(slopes)[None, :]) ** np.maximum(steps - 31, 0))
    return PathSet(pd.DatetimeIndex([VD, *days]), {"CEA": prices, "CCER": 0.7 * prices})


def test_two_identical_pledge_loans_lose_more_than_twice_one_in_a_thin_market() -> None:
    """Thin market (ADV 10 000 t, 10 % a day: 1 000 t/day against 100 000 t pledged): each loan alone sells
    1 000 t a day for 19 days and the rest on day 20; together each sells 500 t a day, so more of the collateral
    goes on the last, lowest-price day: on every falling path the pair loses more than twice one loan."""
    loan = _loan(adv_t=10_000.0)
    market = _market()
    paths = _falling(loan, (0.01, 0.015, 0.02))
    alone = simulate_pledge_loan(loan, market, paths)
    assert alone.liquidated.all() and np.all(alone.loss_cny > 0)
    book = share_depth([loan, loan], market, paths).results
    assert set(book) == {0, 1}
    loss = [book[i].samples["loss_cny"] for i in (0, 1)]
    assert np.all(loss[0] + loss[1] > 2.0 * alone.loss_cny * (1 + 1e-3))
    assert np.array_equal(loss[0], loss[1])
    # present value moves by the lost recovery, discounted from the trigger date
    assert alone.trigger_df is not None
    pv = book[0].samples["pv_cny"] + alone.principal_cny  # the result's value is net of the principal lent
    assert np.allclose(pv - alone.pv_cny, -(loss[0] - alone.loss_cny) * alone.trigger_df)
    cashflows = book[0].cashflows
    assert cashflows is not None
    assert cashflows["expected_loss_cny"].sum() == pytest.approx(loss[0].mean(), rel=1e-12)
    assert book[0].extras["expected_loss_cny"] == pytest.approx(loss[0].mean(), rel=1e-12)


def test_with_unlimited_depth_two_loans_lose_exactly_twice_one() -> None:
    """ADV large enough to sell everything on the first day: sharing changes nothing, the pair loses exactly
    twice one loan (and each loan its standalone loss, bit for bit)."""
    loan = _loan(adv_t=1e15)
    market = _market()
    paths = _falling(loan, (0.01, 0.02, 0.03))
    alone = simulate_pledge_loan(loan, market, paths)
    assert np.all(alone.loss_cny > 0)
    pair = share_depth([loan, loan], market, paths).results
    assert np.array_equal(pair[0].samples["loss_cny"] + pair[1].samples["loss_cny"], 2.0 * alone.loss_cny)
    assert np.array_equal(pair[0].samples["pv_cny"], alone.pv_cny - alone.principal_cny)


def test_a_loan_that_shares_with_nobody_keeps_its_standalone_sale() -> None:
    """The allocator reproduces the engine's own liquidation schedule: next to a second loan that never
    liquidates (repaid before the gap), the first loan's loss and value equal its standalone ones; a loan alone on
    its asset is not redone at all."""
    loan = _loan(adv_t=10_000.0)
    quiet = _loan(adv_t=10_000.0, tenor_years=0.1, name="quiet")
    market = _market()
    paths = _falling(loan, (0.01, 0.02))
    a, q = simulate_pledge_loan(loan, market, paths), simulate_pledge_loan(quiet, market, paths)
    assert not q.liquidated.any()
    shared = share_depth([loan, quiet], market, paths).results
    assert np.array_equal(shared[0].samples["loss_cny"], a.loss_cny)
    assert np.array_equal(shared[0].samples["pv_cny"], a.pv_cny - a.principal_cny)
    assert share_depth([loan, _loan(adv_t=10_000.0, collateral="CCER")], market, paths).results == {}


# --- CCER market depth from the market data ----------------------------------------------------------------------


def test_ccer_depth_default_and_market_override(tmp_path: object) -> None:
    """CCER collateral: the document-003 default 22 432 t/day, replaced by ``[market.CCER] adv_t`` of a contract
    file (the loan's own ``adv_t`` still wins); a bad value names the key and its limit."""
    from pathlib import Path

    from carbonrisk.finance.contracts import load_contract_file
    from carbonrisk.finance.exceptions import MarketDataError
    from carbonrisk.finance.loans import CCER_ADV_T, market_depth_t

    assert round(CCER_ADV_T) == 22_432  # 9.2194 Mt / 411 trading days (document 003)
    loan = _loan(adv_t=1.0)
    ccer = PledgeLoan(**{**loan.__dict__, "collateral": "CCER", "adv_t": None})
    assert market_depth_t(ccer, _market()) == CCER_ADV_T
    text = """
[market]
valuation_date = "2024-10-31"
discount_rate = 0.02
[market.CCER]
spot = 70.0
vol = 0.35
adv_t = {adv}
[[instrument]]
type = "pledge_loan"
collateral = "CCER"
quantity_t = 100000
ltv = 0.5
rate = 0.05
tenor_years = 1.0
maintenance_ratio = 1.5
liquidation_ratio = 1.2
"""
    path = Path(str(tmp_path)) / "c.toml"
    path.write_text(text.format(adv=30_000))
    contract = load_contract_file(path)
    (inst,) = contract.instruments
    assert isinstance(inst, PledgeLoan)
    assert contract.market.adv_t == {"CCER": 30_000}
    assert market_depth_t(inst, contract.market) == 30_000.0
    assert market_depth_t(PledgeLoan(**{**inst.__dict__, "adv_t": 5_000.0}), contract.market) == 5_000.0
    path.write_text(text.format(adv=0))
    with pytest.raises(MarketDataError, match=r"^CCER\.adv_t = 0 is not > 0"):
        load_contract_file(path)
