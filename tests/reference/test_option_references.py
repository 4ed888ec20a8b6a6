"""Closed forms against published tables, and Monte Carlo engines against QuantLib within 4 standard errors.

Day-count note: the published examples use Actual/360 time; the engine uses Actual/365 Fixed. A market built with
rates x 365/360 and volatilities x sqrt(365/360) on the same calendar days gives identical discount factors,
forwards and total variances, so the published numbers must be reproduced exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import QuantLib as ql

from carbonrisk.finance.engines import (
    AnalyticGeometricAsianEngine,
    Black76Engine,
    BlackSwaptionEngine,
    MargrabeEngine,
    MCAsianEngine,
    MCEuropeanEngine,
    MCExchangeEngine,
    MCGuaranteedEngine,
    MCSwaptionEngine,
    bsm_process,
    geometric_asian_closed_form,
)
from carbonrisk.finance.instruments import (
    AsianOption,
    CarbonSwap,
    CarbonSwaption,
    EuropeanOption,
    ExchangeOption,
    GuaranteedPurchase,
    GuaranteedSale,
)
from carbonrisk.finance.market import DiscountCurve, ForwardCurve, MarketEnv
from carbonrisk.finance.schedules import trading_days
from carbonrisk.models.calendar import to_ql
from tests.finance.conftest import VALUATION_DATE, gbm_paths

A360 = 365.0 / 360.0


def _market_360(
    r: float, spots: dict[str, float], yields: dict[str, float], vols: dict[str, float], rho: float
) -> MarketEnv:
    vd = VALUATION_DATE
    fwd = {n: ForwardCurve.from_carry(n, vd, s, r * A360, yields[n] * A360) for n, s in spots.items()}
    return MarketEnv(vd, DiscountCurve.flat(vd, r * A360), fwd, {n: v * math.sqrt(A360) for n, v in vols.items()}, rho)


def test_black76_haug_futures_option() -> None:
    # Haug (2007), The Complete Guide to Option Pricing Formulas, 2nd ed., 1.1.3 (Black-76): F = 19, K = 19,
    # T = 0.75, r = 10 %, sigma = 28 % -> call = put = 1.7011 (4 decimals).
    # T = 0.75 is 270 days on Actual/360 (see the module docstring); zero carry keeps F = 19.
    m = _market_360(0.10, {"CEA": 19.0}, {"CEA": 0.10}, {"CEA": 0.28}, 0.0)
    expiry = VALUATION_DATE + pd.Timedelta(days=270)
    for kind in ("call", "put"):
        opt = EuropeanOption(underlying="CEA", option_type=kind, strike_cny_per_t=19.0, expiry=expiry)
        assert Black76Engine().calculate(opt, market=m).value == pytest.approx(1.7011, abs=5e-5)


@pytest.mark.parametrize(
    ("v2", "rho", "expected"),
    [
        (0.15, -0.5, 2.125),
        (0.20, -0.5, 2.199),
        (0.25, -0.5, 2.283),
        (0.15, 0.0, 2.045),
        (0.20, 0.0, 2.091),
        (0.25, 0.0, 2.152),
    ],
)
def test_margrabe_haug_table(v2: float, rho: float, expected: float) -> None:
    # Haug (1998), The Complete Guide to Option Pricing Formulas, exchange-one-asset-for-another table, as stored in
    # QuantLib test-suite/margrabeoption.cpp (testEuroExchangeTwoAssets): S1 = 22, S2 = 20, q1 = 6 %, q2 = 4 %,
    # r = 10 %, t = 0.10 (36 days, Actual/360), v1 = 20 %; tolerance 1e-3 as in QuantLib.
    m = _market_360(0.10, {"CEA": 22.0, "CCER": 20.0}, {"CEA": 0.06, "CCER": 0.04}, {"CEA": 0.20, "CCER": v2}, rho)
    opt = ExchangeOption(
        receive="CEA",
        deliver="CCER",
        quantity_receive_t=1,
        quantity_deliver_t=1,
        expiry=VALUATION_DATE + pd.Timedelta(days=36),
    )
    assert MargrabeEngine().calculate(opt, market=m).value == pytest.approx(expected, abs=1e-3)


def test_geometric_asian_clewlow_strickland() -> None:
    # Clewlow & Strickland, Implementing Derivatives Models, pp. 118-123, as stored in QuantLib
    # test-suite/asianoptions.cpp (testAnalyticDiscreteGeometricAveragePrice): call, S = K = 100, q = 3 %,
    # r = 6 %, sigma = 20 %, 10 fixings every 36 days (Actual/360), exercise at day 360: 5.3425606635 (1e-10).
    m = _market_360(0.06, {"CEA": 100.0}, {"CEA": 0.03}, {"CEA": 0.20}, 0.0)
    fixings = pd.DatetimeIndex([VALUATION_DATE + pd.Timedelta(days=36 * (j + 1)) for j in range(10)])
    value = geometric_asian_closed_form(m, "CEA", fixings, 100.0, "call", fixings[-1])
    assert value == pytest.approx(5.3425606635, abs=1e-9)


def test_geometric_asian_engine_matches_closed_form(market: MarketEnv) -> None:
    # QuantLib's AnalyticDiscreteGeometricAveragePriceAsianEngine on our market (daily SSE fixings) against the
    # closed form used as control variate; both exact, so agreement to rounding.
    for kind in ("call", "put"):
        opt = AsianOption(
            underlying="CCER",
            option_type=kind,
            strike_cny_per_t=72.0,
            averaging_start="2025-03-03",
            averaging_end="2025-09-30",
            average="geometric",
        )
        ql_value = AnalyticGeometricAsianEngine().calculate(opt, market=market).value
        fix = opt.fixing_dates(market.valuation_date)
        assert ql_value == pytest.approx(
            geometric_asian_closed_form(market, "CCER", fix, 72.0, kind, fix[-1]), abs=1e-9
        )


def test_mc_european_agrees_with_black76(market: MarketEnv) -> None:
    opt = EuropeanOption(
        underlying="CEA", option_type="call", strike_cny_per_t=105.0, expiry="2025-10-31", quantity_t=10
    )
    paths = gbm_paths(market, [opt], 50_000, seed=11)
    mc = MCEuropeanEngine().calculate(opt, market=market, paths=paths)
    assert abs(mc.value - Black76Engine().calculate(opt, market=market).value) < 4 * mc.std_error


def test_mc_arithmetic_asian_agrees_with_quantlib_mc(market: MarketEnv) -> None:
    # QuantLib MCDiscreteArithmeticAPEngine (pseudo-random, geometric control variate) on the same process, fixings
    # and number of paths; the two independent estimates must agree within 4 combined standard errors.
    opt = AsianOption(
        underlying="CEA",
        option_type="call",
        strike_cny_per_t=100.0,
        averaging_start="2025-01-02",
        averaging_end="2025-06-30",
    )
    n = 20_000
    ours = MCAsianEngine().calculate(opt, market=market, paths=gbm_paths(market, [opt], n, seed=5))
    assert ours.extras["control_variate"] == "geometric"
    assert ours.std_error < 0.1 * ours.extras["plain_std_error"]
    fix = opt.fixing_dates(market.valuation_date)
    ql_opt = ql.DiscreteAveragingAsianOption(
        ql.Average.Arithmetic,
        0.0,
        0,
        [to_ql(d) for d in fix],
        ql.PlainVanillaPayoff(ql.Option.Call, 100.0),
        ql.EuropeanExercise(to_ql(fix[-1])),
    )
    engine = ql.MCDiscreteArithmeticAPEngine(
        bsm_process(market, "CEA", fix[-1]), "pseudorandom", requiredSamples=n, seed=42, controlVariate=True
    )
    ql_opt.setPricingEngine(engine)
    ql_value, ql_se = ql_opt.NPV(), ql_opt.errorEstimate()
    assert abs(ours.value - ql_value) < 4 * math.hypot(ours.std_error, ql_se)


def test_mc_exchange_agrees_with_margrabe(market: MarketEnv) -> None:
    opt = ExchangeOption(
        receive="CEA", deliver="CCER", quantity_receive_t=1.0, quantity_deliver_t=1.4, expiry="2025-12-31"
    )
    mc = MCExchangeEngine().calculate(opt, market=market, paths=gbm_paths(market, [opt], 50_000, seed=3))
    assert abs(mc.value - MargrabeEngine().calculate(opt, market=market).value) < 4 * mc.std_error


def test_swaption_black_and_mc_agree(market: MarketEnv) -> None:
    # Under GBM with every fixing after expiry the swap rate at expiry is lognormal with the underlying's
    # volatility, so Black on the swap rate is exact and the MC value must agree within 4 SE.
    swap = CarbonSwap(
        underlying="CEA",
        fixed_price_cny_per_t=104.0,
        quantity_t_per_period=1000.0,
        start_date="2025-04-30",
        end_date="2026-04-30",
        period_months=3,
    )
    for position in ("payer", "receiver"):
        opt = CarbonSwaption(swap=CarbonSwap(**{**swap.__dict__, "position": position}), expiry="2025-04-30")
        mc = MCSwaptionEngine().calculate(opt, market=market, paths=gbm_paths(market, [opt], 40_000, seed=8))
        assert abs(mc.value - BlackSwaptionEngine().calculate(opt, market=market).value) < 4 * mc.std_error


@pytest.mark.parametrize("contract", ["purchase", "sale"])
def test_guarantee_decomposition_equals_direct_payoff(market: MarketEnv, contract: str) -> None:
    # Document 002, 4.1 4): the guarantees as combinations of average-price options; the decomposition (legs by
    # MC with geometric control variate) equals the direct payoff's MC value within 4 SE of their difference.
    common = dict(
        committed_price_cny_per_t=100.0, volume_t=1000.0, averaging_start="2025-01-02", averaging_end="2025-06-30"
    )
    inst = (
        GuaranteedPurchase(underlying="CEA", share_returned=0.3, **common)  # type: ignore[arg-type]
        if contract == "purchase"
        else GuaranteedSale(underlying="CCER", upside_share_kept=0.8, **common)  # type: ignore[arg-type]
    )
    res = MCGuaranteedEngine().calculate(inst, market=market, paths=gbm_paths(market, [inst], 20_000, seed=21))
    assert abs(res.extras["difference"]) < 4 * res.extras["difference_std_error"]
    assert res.extras["decomposition"].startswith(
        "-1 x average call" if contract == "purchase" else "+0.8 x average call"
    )
    # the decomposition is exact path by path when no control variate is used
    a = np.linspace(60.0, 140.0, 81)
    legs = sum(
        w * np.maximum((a - 100.0) if o.option_type == "call" else (100.0 - a), 0.0) for w, o in inst.decomposition()
    )
    np.testing.assert_allclose(inst.payoff_per_t(a), legs, atol=1e-12)


def test_mc_geometric_asian_agrees_with_quantlib_analytic(market: MarketEnv) -> None:
    # the geometric average by plain MC on our paths against QuantLib's analytic discrete geometric engine
    opt = AsianOption(
        underlying="CEA",
        option_type="put",
        strike_cny_per_t=98.0,
        averaging_start="2025-02-03",
        averaging_end="2025-08-29",
        average="geometric",
    )
    mc = MCAsianEngine().calculate(opt, market=market, paths=gbm_paths(market, [opt], 40_000, seed=13))
    assert mc.extras["control_variate"] == "none"
    assert abs(mc.value - AnalyticGeometricAsianEngine().calculate(opt, market=market).value) < 4 * mc.std_error


def _seasoned(market: MarketEnv, average: str, kind: str = "call") -> AsianOption:
    past_days = trading_days(pd.Timestamp("2024-10-08"), market.valuation_date - pd.Timedelta(days=1))
    past = tuple(np.linspace(96.0, 101.0, len(past_days)))
    return AsianOption(
        underlying="CEA",
        option_type=kind,
        strike_cny_per_t=100.0,
        averaging_start="2024-10-08",
        averaging_end="2025-01-27",
        average=average,
        past_fixings_cny_per_t=past,  # type: ignore[arg-type]
    )


def test_seasoned_geometric_asian_quantlib_closed_form_and_mc(market: MarketEnv) -> None:
    # QuantLib's analytic engine with runningAccumulator / pastFixings against the closed form (exact), and
    # plain MC on our paths (the window's remaining fixings, the valuation date's close being the spot) in 4 SE
    for kind in ("call", "put"):
        opt = _seasoned(market, "geometric", kind)
        fx = opt.fixings(market.valuation_date)
        assert fx.n_past == 17 and fx.future_dates[0] == market.valuation_date
        analytic = AnalyticGeometricAsianEngine().calculate(opt, market=market).value
        closed = geometric_asian_closed_form(
            market,
            "CEA",
            fx.future_dates,
            100.0,
            kind,
            opt.payment_date,
            n_past=fx.n_past,
            past_log_sum=fx.past_log_sum,
        )
        assert analytic == pytest.approx(closed, abs=1e-9)
        mc = MCAsianEngine().calculate(opt, market=market, paths=gbm_paths(market, [opt], 40_000, seed=31))
        assert abs(mc.value - analytic) < 4 * mc.std_error


def test_seasoned_arithmetic_asian_agrees_with_quantlib_mc(market: MarketEnv) -> None:
    opt = _seasoned(market, "arithmetic")
    fx = opt.fixings(market.valuation_date)
    ours = MCAsianEngine().calculate(opt, market=market, paths=gbm_paths(market, [opt], 20_000, seed=32))
    future = [to_ql(d) for d in fx.future_dates]
    ql_opt = ql.DiscreteAveragingAsianOption(
        ql.Average.Arithmetic,
        fx.past_sum,
        fx.n_past,
        future,
        ql.PlainVanillaPayoff(ql.Option.Call, 100.0),
        ql.EuropeanExercise(future[-1]),
    )
    ql_opt.setPricingEngine(
        ql.MCDiscreteArithmeticAPEngine(
            bsm_process(market, "CEA", fx.future_dates[-1]),
            "pseudorandom",
            requiredSamples=20_000,
            seed=7,
            controlVariate=True,
        )
    )
    assert abs(ours.value - ql_opt.NPV()) < 4 * math.hypot(ours.std_error, ql_opt.errorEstimate())


def test_seasoned_guarantee_decomposition(market: MarketEnv) -> None:
    past = _seasoned(market, "arithmetic").past_fixings_cny_per_t
    inst = GuaranteedPurchase(
        underlying="CEA",
        committed_price_cny_per_t=100.0,
        volume_t=1000.0,
        averaging_start="2024-10-08",
        averaging_end="2025-01-27",
        share_returned=0.5,
        past_fixings_cny_per_t=past,
    )
    res = MCGuaranteedEngine().calculate(inst, market=market, paths=gbm_paths(market, [inst], 20_000, seed=33))
    assert abs(res.extras["difference"]) < 4 * res.extras["difference_std_error"]
