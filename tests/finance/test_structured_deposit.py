"""Green structured deposit: ZCB + call spread (QuantLib), Monte Carlo checks, revaluation, properties, bad terms.

References
----------
* Decomposition: the payout :math:`N[1 + r\\tau + p\\max(0, \\min(X-1, c))]` is a zero-coupon bond plus
  :math:`pN/S_0` call spreads struck at :math:`S_0` and :math:`S_0(1+c)` (Hull, *Options, Futures and Other
  Derivatives*, 10th ed., ch. 12 "principal-protected notes"); the calls are priced here by QuantLib's
  ``AnalyticEuropeanEngine`` on a Black-Scholes-Merton process (an independent QuantLib route from the engine's
  ``blackFormula``).
* Monte Carlo tolerances: 4 standard errors of the estimators (the difference of two independent estimators:
  4 x the root sum of squares).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import QuantLib as ql
from hypothesis import given, settings
from hypothesis import strategies as st

from carbonrisk.finance.engines import bsm_process
from carbonrisk.finance.exceptions import ContractError
from carbonrisk.finance.instruments import StructuredDeposit
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.revaluation import FlatVolatility, HorizonState, horizon_value
from carbonrisk.finance.structured import Black76DepositEngine, MCDepositEngine
from carbonrisk.finance.valuation import engines_for
from carbonrisk.models.calendar import to_ql
from tests.finance.conftest import VALUATION_DATE, gbm_paths


def _deposit(**kw: object) -> StructuredDeposit:
    terms: dict[str, object] = {
        "principal_cny": 1_000_000.0,
        "underlying": "CEA",
        "start_date": "2024-10-31",
        "maturity_date": "2025-10-31",
        "min_rate": 0.01,
        "participation": 0.5,
        "cap": 0.2,
    }
    terms.update(kw)
    return StructuredDeposit(**terms)  # type: ignore[arg-type]


def _ql_call(market: MarketEnv, strike: float, expiry: pd.Timestamp, pay: pd.Timestamp) -> float:
    """A European call by QuantLib's AnalyticEuropeanEngine, moved from its expiry to the payment date."""
    process = bsm_process(market, "CEA", expiry)
    option = ql.VanillaOption(ql.PlainVanillaPayoff(ql.Option.Call, strike), ql.EuropeanExercise(to_ql(expiry)))
    option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
    return float(option.NPV()) * float(market.df(pd.DatetimeIndex([pay]))[0] / market.df(pd.DatetimeIndex([expiry]))[0])


def test_final_is_zero_coupon_bond_plus_quantlib_call_spread(market: MarketEnv) -> None:
    dep = _deposit()
    res = Black76DepositEngine().calculate(dep, market=market)
    expiry = dep.observation_dates()[-1]
    s0 = market.spot("CEA")
    spread = _ql_call(market, s0, expiry, dep.maturity_date) - _ql_call(market, s0 * 1.2, expiry, dep.maturity_date)
    zcb = 1_000_000.0 * (1.0 + 0.01 * 365 / 365) * float(market.df(pd.DatetimeIndex([dep.maturity_date]))[0])
    expected = zcb + 0.5 * 1_000_000.0 / s0 * spread
    assert res.value == pytest.approx(expected, rel=1e-9)
    assert res.extras["zero_coupon_bond_cny"] == pytest.approx(zcb, rel=1e-12)
    assert res.extras["bank_hedge_cost_cny"] == pytest.approx(expected, rel=1e-9)
    assert res.extras["bank_margin_cny"] == pytest.approx(1_000_000.0 - expected, rel=1e-9)
    paths = gbm_paths(market, [dep], 100_000, 11)
    mc = MCDepositEngine().calculate(dep, market=market, paths=paths)
    assert abs(mc.value - res.value) < 4 * mc.std_error
    assert mc.std_error > 0


def test_forward_start_is_forward_start_call_spread(market: MarketEnv) -> None:
    dep = _deposit(start_date="2025-01-02", maturity_date="2026-01-05")
    res = Black76DepositEngine().calculate(dep, market=market)
    # the principal paid at the start is part of the value: -N P(0, t_s)
    df_s = float(market.df(pd.DatetimeIndex([dep.start_date]))[0])
    assert res.extras["bank_margin_cny"] == pytest.approx(1e6 * df_s - res.extras["bank_hedge_cost_cny"], rel=1e-9)
    paths = gbm_paths(market, [dep], 100_000, 12)
    mc = MCDepositEngine().calculate(dep, market=market, paths=paths)
    assert abs(mc.value - res.value) < 4 * mc.std_error


def test_monthly_control_variate_agrees_with_plain_monte_carlo(market: MarketEnv) -> None:
    dep = _deposit(averaging="monthly")
    cv = MCDepositEngine().calculate(dep, market=market, paths=gbm_paths(market, [dep], 40_000, 21))
    plain = MCDepositEngine(control_variate="none").calculate(
        dep, market=market, paths=gbm_paths(market, [dep], 40_000, 22)
    )
    assert cv.extras["control_variate"] == "geometric" and plain.extras["control_variate"] == "none"
    assert abs(cv.value - plain.value) < 4 * math.hypot(cv.std_error, plain.std_error)
    assert cv.std_error < 0.2 * plain.std_error  # the control variate does its job
    assert [type(e) for e in engines_for(dep)] == [MCDepositEngine, MCDepositEngine]


def test_monthly_at_near_zero_volatility_is_the_deterministic_payout() -> None:
    mkt = MarketEnv.simple(VALUATION_DATE, 0.02, {"CEA": 100.0}, {"CEA": 1e-6}, convenience_yields={"CEA": -0.2})
    dep = _deposit(averaging="monthly", cap=0.5)
    res = MCDepositEngine().calculate(dep, market=mkt, paths=gbm_paths(mkt, [dep], 2_000, 3))
    ratio = float(mkt.forward("CEA", dep.observation_dates()).mean()) / 100.0
    df = float(mkt.df(pd.DatetimeIndex([dep.maturity_date]))[0])
    expected = df * 1e6 * (1.0 + 0.01 + 0.5 * min(max(ratio - 1.0, 0.0), 0.5))
    assert ratio > 1.05
    assert res.value == pytest.approx(expected, rel=1e-5)


def test_bank_side_is_the_negative(market: MarketEnv) -> None:
    a = Black76DepositEngine().calculate(_deposit(), market=market).value
    b = Black76DepositEngine().calculate(_deposit(position="bank"), market=market).value
    assert b == pytest.approx(-a, rel=1e-12)


def test_depositor_expected_return(market: MarketEnv) -> None:
    res = Black76DepositEngine().calculate(_deposit(), market=market)
    df = res.extras["discount_factor"]
    assert res.extras["expected_payout_cny"] == pytest.approx(res.value / df, rel=1e-12)
    assert res.extras["depositor_expected_return"] > 0.01  # above the minimum rate: the option pays sometimes
    assert res.extras["depositor_expected_return"] < 0.01 + 0.5 * 0.2


# ----------------------------------------------------------------------------------------------- revaluation


@pytest.mark.parametrize("averaging", ["final", "monthly"])
def test_horizon_value_is_a_martingale(market: MarketEnv, averaging: str) -> None:
    """E[P(0,h) V_h] = V_0 on GBM paths: final exactly (Black-76 is exact), monthly within the moment-matching
    error of the lognormal average (Levy 1992; measured 1.4 % of the call spread at 30 % vol, allowed 3 %)."""
    dep = _deposit(averaging=averaging)
    extra = pd.DatetimeIndex(["2024-11-14", "2025-04-15"])
    dates = dep.fixing_dates(VALUATION_DATE).union(extra)
    from carbonrisk.finance.valuation import GBMSource

    paths = GBMSource().simulate(market, dates, 40_000, 5)
    vol = FlatVolatility(market.vols)
    today = float(horizon_value(dep, HorizonState(market, paths, 0, vol))[0])
    engine = engines_for(dep)[0]
    reference = engine.calculate(dep, market=market, paths=paths)
    option = reference.extras["call_spread_cny"]
    allowance = 0.0 if averaging == "final" else 0.03 * option
    assert abs(today - reference.value) <= 4 * reference.std_error + allowance + 1e-6
    for day in extra:
        row = int(paths.dates.get_loc(day))
        st = HorizonState(market, paths, row, vol)
        v = horizon_value(dep, st) * st.df_h
        se = float(v.std(ddof=1) / math.sqrt(v.size))
        assert abs(float(v.mean()) - today) < 4 * se + allowance


def test_horizon_after_maturity_is_the_payout_carried(market: MarketEnv) -> None:
    dep = _deposit(maturity_date="2025-03-31")
    from carbonrisk.finance.valuation import GBMSource

    dates = dep.fixing_dates(VALUATION_DATE).union(pd.DatetimeIndex(["2025-06-30"]))
    paths = GBMSource().simulate(market, dates, 1000, 6)
    st = HorizonState(market, paths, len(paths.dates) - 1, FlatVolatility(market.vols))
    s_t = paths["CEA"][int(paths.dates.get_loc(dep.observation_dates()[-1]))]
    payout = dep.guaranteed_cny + dep.linked_payout(s_t / paths["CEA"][0])
    carry = float(market.df(pd.DatetimeIndex([dep.maturity_date]))[0]) / st.df_h
    np.testing.assert_allclose(horizon_value(dep, st), payout * carry, rtol=1e-12)


# ----------------------------------------------------------------------------------------------- properties

FAST = settings(max_examples=25, deadline=None)


@FAST
@given(
    p1=st.floats(0.0, 3.0),
    p2=st.floats(0.0, 3.0),
    c1=st.floats(0.01, 2.0),
    c2=st.floats(0.01, 2.0),
    r1=st.floats(0.0, 0.1),
    r2=st.floats(0.0, 0.1),
)
def test_value_is_monotone_in_participation_cap_and_min_rate(
    p1: float, p2: float, c1: float, c2: float, r1: float, r2: float
) -> None:
    mkt = MarketEnv.simple(VALUATION_DATE, 0.02, {"CEA": 100.0}, {"CEA": 0.3})
    engine = Black76DepositEngine()

    def v(p: float, c: float, r: float) -> float:
        return engine.calculate(_deposit(participation=p, cap=c, min_rate=r), market=mkt).value

    base = v(min(p1, p2), min(c1, c2), min(r1, r2))
    assert v(max(p1, p2), min(c1, c2), min(r1, r2)) >= base - 1e-9
    assert v(min(p1, p2), max(c1, c2), min(r1, r2)) >= base - 1e-9
    assert v(min(p1, p2), min(c1, c2), max(r1, r2)) >= base - 1e-9


_MONTHLY_MARKET = MarketEnv.simple(VALUATION_DATE, 0.02, {"CEA": 100.0}, {"CEA": 0.3})
_MONTHLY_PATHS = gbm_paths(_MONTHLY_MARKET, [_deposit(averaging="monthly")], 4096, 8)


@FAST
@given(p=st.floats(0.0, 3.0), dp=st.floats(0.0, 1.0), c=st.floats(0.01, 2.0), dc=st.floats(0.0, 1.0))
def test_monthly_value_is_monotone_on_common_paths(p: float, dp: float, c: float, dc: float) -> None:
    engine = MCDepositEngine(control_variate="none")

    def v(part: float, cap: float) -> float:
        dep = _deposit(averaging="monthly", participation=part, cap=cap)
        return engine.calculate(dep, market=_MONTHLY_MARKET, paths=_MONTHLY_PATHS).value

    assert v(p + dp, c) >= v(p, c) - 1e-9
    assert v(p, c + dc) >= v(p, c) - 1e-9


# ----------------------------------------------------------------------------------------------- bad terms

BAD = {
    "participation": ({"participation": -0.1}, r"^participation = -0\.1 is not in \[0, 10\] \(fraction\)$"),
    "cap-zero": ({"cap": 0.0}, r"^cap = 0 is not in \(0, 10\] \(fraction\)$"),
    "min-rate": ({"min_rate": 1.5}, r"^min_rate = 1\.5 is not in \[0, 1\] \(1/year\)$"),
    "principal": ({"principal_cny": 0.0}, r"^principal_cny = 0 is not > 0 \(CNY\)$"),
    "averaging": ({"averaging": "weekly"}, r"^averaging"),
    "underlying": ({"underlying": "EUA"}, r"^underlying"),
    "order": ({"maturity_date": "2024-06-30"}, r"^maturity_date=2024-06-30 must be after start_date=2024-10-31$"),
    "date": ({"start_date": "tomorrow"}, r"^start_date='tomorrow' is not a date"),
}


@pytest.mark.parametrize("terms,match", BAD.values(), ids=BAD.keys())
def test_bad_terms_are_refused_in_one_line(terms: dict[str, object], match: str) -> None:
    with pytest.raises(ContractError, match=match) as info:
        _deposit(**terms)
    assert "\n" not in str(info.value)


def test_start_before_valuation_date_is_refused(market: MarketEnv) -> None:
    dep = _deposit(start_date="2024-06-28")
    with pytest.raises(ContractError, match=r"^start_date=2024-06-28 must not be before the valuation date 2024-10-31"):
        Black76DepositEngine().calculate(dep, market=market)
