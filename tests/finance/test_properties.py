"""Property tests (hypothesis): put-call parity, monotonicity in strike, volatility, LTV and maintenance ratio."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carbonrisk.finance.contracts import embedded_daily_volumes_t
from carbonrisk.finance.engines import Black76Engine, MCAsianEngine, MCEuropeanEngine
from carbonrisk.finance.instruments import AsianOption, EuropeanOption, PledgeLoan
from carbonrisk.finance.loans import simulate_pledge_loan
from carbonrisk.finance.market import MarketEnv
from tests.finance.conftest import VALUATION_DATE, gbm_paths

MARKET = MarketEnv.simple(
    VALUATION_DATE,
    0.02,
    {"CEA": 100.0, "CCER": 70.0},
    {"CEA": 0.30, "CCER": 0.35},
    0.5,
    daily_volumes_t=embedded_daily_volumes_t(VALUATION_DATE),
)
OPT = EuropeanOption(underlying="CEA", option_type="call", strike_cny_per_t=100.0, expiry="2025-10-31")
ASIAN = AsianOption(
    underlying="CEA",
    option_type="call",
    strike_cny_per_t=100.0,
    averaging_start="2025-01-02",
    averaging_end="2025-06-30",
)
PATHS = gbm_paths(MARKET, [OPT, ASIAN], 4096, seed=99)
LOAN = PledgeLoan(
    collateral="CEA",
    quantity_t=1e6,
    ltv=0.5,
    rate=0.04,
    tenor_years=1.0,
    maintenance_ratio=1.5,
    liquidation_ratio=1.2,
    adv_t=1e5,
    max_liquidation_days=5,
    haircut=0.05,
)
LOAN_PATHS = gbm_paths(MARKET, [LOAN], 2048, seed=98)
FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
strikes = st.floats(40.0, 200.0)
vols = st.floats(0.05, 1.0)


def _market(vol: float, rate: float = 0.02) -> MarketEnv:
    return MarketEnv.simple(VALUATION_DATE, rate, {"CEA": 100.0}, {"CEA": vol})


@FAST
@given(k=strikes, vol=vols, rate=st.floats(-0.01, 0.08))
def test_black76_put_call_parity(k: float, vol: float, rate: float) -> None:
    # C - P = P(0,T) (F - K) (Black 1976)
    m = _market(vol, rate)
    call = dataclasses.replace(OPT, strike_cny_per_t=k)
    put = dataclasses.replace(call, option_type="put")
    c, p = Black76Engine().calculate(call, market=m), Black76Engine().calculate(put, market=m)
    f, df = c.extras["forward_cny_per_t"], c.extras["discount_factor"]
    assert c.value - p.value == pytest.approx(df * (f - k), abs=1e-9 * max(1.0, f))


@FAST
@given(k=strikes)
def test_mc_put_call_parity_is_exact_on_the_same_paths(k: float) -> None:
    call = dataclasses.replace(OPT, strike_cny_per_t=k)
    put = dataclasses.replace(call, option_type="put")
    c = MCEuropeanEngine().calculate(call, market=MARKET, paths=PATHS).value
    p = MCEuropeanEngine().calculate(put, market=MARKET, paths=PATHS).value
    s_t = PATHS["CEA"][PATHS.dates.get_loc(OPT.expiry)]
    df = float(MARKET.df(OPT.expiry)[0])
    mean_s = float(s_t.mean())
    assert c - p == pytest.approx(df * (mean_s - k), rel=1e-10, abs=1e-9)


@FAST
@given(k1=strikes, k2=strikes)
def test_monotone_in_strike(k1: float, k2: float) -> None:
    lo, hi = sorted((k1, k2))
    for inst, engine in ((OPT, MCEuropeanEngine()), (ASIAN, MCAsianEngine(control_variate="none"))):
        v_lo = engine.calculate(dataclasses.replace(inst, strike_cny_per_t=lo), market=MARKET, paths=PATHS).value  # type: ignore[arg-type]
        v_hi = engine.calculate(dataclasses.replace(inst, strike_cny_per_t=hi), market=MARKET, paths=PATHS).value  # type: ignore[arg-type]
        assert v_lo >= v_hi - 1e-12


@FAST
@given(v1=vols, v2=vols, k=strikes)
def test_monotone_in_volatility(v1: float, v2: float, k: float) -> None:
    lo, hi = sorted((v1, v2))
    inst = dataclasses.replace(OPT, strike_cny_per_t=k)
    assert (
        Black76Engine().calculate(inst, market=_market(lo)).value
        <= Black76Engine().calculate(inst, market=_market(hi)).value + 1e-12
    )


@settings(max_examples=15, deadline=None)
@given(l1=st.floats(0.05, 0.66), l2=st.floats(0.05, 0.66))
def test_breach_and_loss_monotone_in_ltv(l1: float, l2: float) -> None:
    lo, hi = sorted((l1, l2))
    a = simulate_pledge_loan(dataclasses.replace(LOAN, ltv=lo), MARKET, LOAN_PATHS)
    b = simulate_pledge_loan(dataclasses.replace(LOAN, ltv=hi), MARKET, LOAN_PATHS)
    # first passage below a higher barrier happens on every path where the lower one is hit: exact monotonicity
    assert np.all(b.liquidated[a.liquidated]) and np.all(b.margin_call[a.margin_call])
    # the loss also depends on the prices after the (earlier) trigger, so it is monotone in expectation only:
    # the paired difference of loss indicators must not be significantly negative (4 standard errors)
    diff = b.loss_flag.astype(float) - a.loss_flag.astype(float)
    assert diff.mean() >= -4 * diff.std(ddof=1) / np.sqrt(diff.size) - 1e-12


@settings(max_examples=15, deadline=None)
@given(m1=st.floats(1.25, 1.95), m2=st.floats(1.25, 1.95))
def test_margin_calls_monotone_in_maintenance_ratio(m1: float, m2: float) -> None:
    lo, hi = sorted((m1, m2))
    a = simulate_pledge_loan(dataclasses.replace(LOAN, maintenance_ratio=lo), MARKET, LOAN_PATHS)
    b = simulate_pledge_loan(dataclasses.replace(LOAN, maintenance_ratio=hi), MARKET, LOAN_PATHS)
    assert np.all(b.margin_call[a.margin_call])


@FAST
@given(k=strikes)
def test_asian_put_call_parity_on_the_same_paths(k: float) -> None:
    # arithmetic average: C - P = P(0,T) (E[A] - K), path by path, hence exactly for the plain MC estimates
    call = dataclasses.replace(ASIAN, strike_cny_per_t=k)
    put = dataclasses.replace(call, option_type="put")
    engine = MCAsianEngine(control_variate="none")
    c = engine.calculate(call, market=MARKET, paths=PATHS).value
    p = engine.calculate(put, market=MARKET, paths=PATHS).value
    fix = ASIAN.fixing_dates(MARKET.valuation_date)
    avg = PATHS["CEA"][PATHS.dates.get_indexer(fix)].mean(axis=0)
    df = float(MARKET.df(ASIAN.payment_date)[0])
    assert c - p == pytest.approx(df * (float(avg.mean()) - k), rel=1e-10, abs=1e-9)


def test_weekly_monitoring_breaches_less_than_daily() -> None:
    # weekly monitoring dates are a subset of the daily ones: every weekly breach is a daily breach
    daily = simulate_pledge_loan(LOAN, MARKET, LOAN_PATHS)
    weekly = simulate_pledge_loan(dataclasses.replace(LOAN, monitoring="weekly"), MARKET, LOAN_PATHS)
    assert np.all(daily.margin_call[weekly.margin_call])
    assert weekly.margin_call.mean() < daily.margin_call.mean()
