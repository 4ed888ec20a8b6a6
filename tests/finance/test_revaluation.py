"""Per-path full revaluation at a horizon (carbonrisk.finance.revaluation) against QuantLib and the analytic engines.

References: Black-76 via QuantLib ``blackFormula``; discrete geometric Asian via QuantLib
``AnalyticDiscreteGeometricAveragePriceAsianEngine``; discrete arithmetic Asian (moment matching) via QuantLib
``TurnbullWakemanAsianEngine``; Margrabe via QuantLib ``AnalyticEuropeanMargrabeEngine``. Closed forms agree to
floating-point rounding (relative 1e-9 unless stated).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import QuantLib as ql

from carbonrisk.finance.engines import (
    AnalyticForwardEngine,
    AnalyticGeometricAsianEngine,
    AnalyticSwapEngine,
    BlackSwaptionEngine,
    MargrabeEngine,
    MCGuaranteedEngine,
    bsm_process,
)
from carbonrisk.finance.exceptions import PathSetError
from carbonrisk.finance.instruments import (
    AsianOption,
    CarbonSwap,
    CarbonSwaption,
    EuropeanOption,
    ExchangeOption,
    Forward,
    GuaranteedSale,
    PledgeLoan,
)
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.revaluation import (
    FlatVolatility,
    HorizonState,
    ModelVariance,
    RegressionRevaluation,
    horizon_value,
)
from carbonrisk.models.calendar import to_ql, year_fractions
from carbonrisk.models.paths import PathSet
from carbonrisk.models.units import TRADING_DAYS_PER_YEAR
from tests.finance.conftest import VALUATION_DATE, gbm_paths

EXPIRY = pd.Timestamp("2025-06-30")
H = pd.Timestamp("2025-03-31")


@dataclass(frozen=True)
class VariancePaths(PathSet):
    """A path set that carries conditional daily variances (the interface of the price-model issue)."""

    variance: Mapping[str, np.ndarray] | None = None


def state(market: MarketEnv, paths: PathSet, date: pd.Timestamp) -> HorizonState:
    row = int(pd.DatetimeIndex(paths.dates).get_loc(date))
    return HorizonState(market, paths, row, FlatVolatility(dict(market.vols)))


def today(market: MarketEnv, paths: PathSet) -> HorizonState:
    return HorizonState(market, paths, 0, FlatVolatility(dict(market.vols)))


def with_h(instruments: list, market: MarketEnv, n: int = 64, seed: int = 3) -> PathSet:
    extra = Forward(underlying="CEA", quantity_t=1.0, strike_cny_per_t=1.0, delivery_date=H)
    return gbm_paths(market, [*instruments, extra], n, seed)


def test_european_per_path_value_is_black76_on_the_paths_state(market: MarketEnv) -> None:
    opt = EuropeanOption(underlying="CEA", option_type="put", strike_cny_per_t=95.0, expiry=EXPIRY, quantity_t=10.0)
    paths = with_h([opt], market)
    st = state(market, paths, H)
    values = horizon_value(opt, st)
    tau = float(year_fractions(H, pd.DatetimeIndex([EXPIRY]))[0])
    df = float(market.df(pd.DatetimeIndex([EXPIRY]))[0] / market.df(pd.DatetimeIndex([H]))[0])
    for j in range(5):
        s_h = paths["CEA"][st.row, j]
        fwd = s_h * math.exp(0.02 * tau)  # carry curve at the financing rate
        ref = 10.0 * ql.blackFormula(ql.Option.Put, 95.0, fwd, 0.30 * math.sqrt(tau), df)
        assert values[j] == pytest.approx(ref, rel=1e-9)
    # on the valuation date the revaluation is the analytic engine's value
    assert horizon_value(opt, today(market, paths))[0] == pytest.approx(
        10.0
        * ql.blackFormula(
            ql.Option.Put,
            95.0,
            float(market.forward("CEA", [EXPIRY])[0]),
            0.3 * math.sqrt(float(year_fractions(VALUATION_DATE, pd.DatetimeIndex([EXPIRY]))[0])),
            float(market.df([EXPIRY])[0]),
        ),
        rel=1e-9,
    )
    # after expiry: the payoff, carried from expiry to the horizon on the curve
    late = state(market, paths, paths.dates[-1]) if paths.dates[-1] > EXPIRY else None
    assert late is None or np.all(horizon_value(opt, late) >= 0.0)


def test_model_variance_sets_the_volatility_per_path(market: MarketEnv) -> None:
    # volatility = the model's expected average variance from h to expiry given each path's conditional variance
    opt = EuropeanOption(underlying="CEA", option_type="call", strike_cny_per_t=100.0, expiry=EXPIRY)
    base = with_h([opt], market, n=8)
    daily = np.linspace(1e-4, 9e-4, base.n_paths)
    var = {"CEA": np.tile(daily, (base.n_dates, 1))}
    paths = VariancePaths(base.dates, base.factors, base.seed_entropy, base.meta, variance=var)
    calls: list[int] = []

    def expected(v: np.ndarray, n_days: int) -> np.ndarray:
        calls.append(n_days)
        return 0.5 * v + 0.5 * 4e-4  # halfway to a long-run daily variance of 4e-4

    row = int(pd.DatetimeIndex(paths.dates).get_loc(H))
    st = HorizonState(market, paths, row, ModelVariance(expected, FlatVolatility(dict(market.vols))))
    values = horizon_value(opt, st)
    tau = float(year_fractions(H, pd.DatetimeIndex([EXPIRY]))[0])
    assert calls == [round(tau * TRADING_DAYS_PER_YEAR)]
    df = float(market.df([EXPIRY])[0] / market.df([H])[0])
    for j in (0, 7):
        sig = math.sqrt((0.5 * daily[j] + 2e-4) * TRADING_DAYS_PER_YEAR)
        fwd = paths["CEA"][row, j] * math.exp(0.02 * tau)
        ref = ql.blackFormula(ql.Option.Call, 100.0, fwd, sig * math.sqrt(tau), df)
        assert values[j] == pytest.approx(ref, rel=1e-9)
    # a factor without a variance row falls back to the market volatility
    assert st.sigma("CCER", EXPIRY) == market.vol("CCER")


def _asian(average: str, past: tuple[float, ...] = ()) -> AsianOption:
    return AsianOption(
        underlying="CEA",
        option_type="call",
        strike_cny_per_t=101.0,
        averaging_start=pd.Timestamp("2025-02-03"),
        averaging_end=EXPIRY,
        quantity_t=3.0,
        average=average,  # type: ignore[arg-type]
        past_fixings_cny_per_t=past,
    )


def test_asian_today_matches_quantlib_geometric_and_turnbull_wakeman(market: MarketEnv) -> None:
    geo, arith = _asian("geometric"), _asian("arithmetic")
    paths = with_h([geo], market, n=4)
    ref_geo = AnalyticGeometricAsianEngine().calculate(geo, market=market).value
    assert horizon_value(geo, today(market, paths))[0] == pytest.approx(ref_geo, rel=1e-9)
    fix = arith.fixings(VALUATION_DATE).future_dates
    option = ql.DiscreteAveragingAsianOption(
        ql.Average.Arithmetic,
        0.0,
        0,
        [to_ql(d) for d in fix],
        ql.PlainVanillaPayoff(ql.Option.Call, 101.0),
        ql.EuropeanExercise(to_ql(fix[-1])),
    )
    option.setPricingEngine(ql.TurnbullWakemanAsianEngine(bsm_process(market, "CEA", fix[-1])))
    assert horizon_value(arith, today(market, paths))[0] == pytest.approx(3.0 * option.NPV(), rel=1e-6)


def test_seasoned_geometric_asian_at_h_is_quantlib_on_that_paths_state(market: MarketEnv) -> None:
    # At h the window's fixings up to h come from the path; QuantLib values the same option as a seasoned one on a
    # market whose valuation date is h and whose spot is the path's price (same rate, same carry, same vol).
    geo = _asian("geometric")
    paths = with_h([geo], market, n=16)
    st = state(market, paths, H)
    values = horizon_value(geo, st)
    window = geo.fixings(VALUATION_DATE).future_dates
    observed = window[window < H]
    rows = pd.DatetimeIndex(paths.dates).get_indexer(observed)
    for j in (0, 5, 11):
        s_h = float(paths["CEA"][st.row, j])
        at_h = MarketEnv.simple(H, 0.02, {"CEA": s_h}, {"CEA": 0.30})
        seasoned = _asian("geometric", tuple(float(x) for x in paths["CEA"][rows, j]))
        ref = AnalyticGeometricAsianEngine().calculate(seasoned, market=at_h).value
        assert values[j] == pytest.approx(ref, rel=1e-8)


def test_linear_and_exchange_instruments_today_equal_their_analytic_engines(market: MarketEnv) -> None:
    swap = CarbonSwap(
        underlying="CEA",
        fixed_price_cny_per_t=103.0,
        quantity_t_per_period=1000.0,
        start_date=pd.Timestamp("2025-01-01"),
        end_date=pd.Timestamp("2025-12-31"),
        period_months=3,
    )
    cases = [
        (
            Forward(underlying="CEA", quantity_t=500.0, strike_cny_per_t=99.0, delivery_date=EXPIRY),
            AnalyticForwardEngine(),
        ),
        (swap, AnalyticSwapEngine()),
        (CarbonSwaption(swap=swap, expiry=pd.Timestamp("2024-12-31")), BlackSwaptionEngine()),
        (
            ExchangeOption(
                receive="CEA", deliver="CCER", quantity_receive_t=100.0, quantity_deliver_t=140.0, expiry=EXPIRY
            ),
            MargrabeEngine(),
        ),
    ]
    paths = with_h([c for c, _ in cases], market, n=4)
    for inst, engine in cases:
        ref = engine.calculate(inst, market=market).value
        assert horizon_value(inst, today(market, paths))[0] == pytest.approx(ref, rel=1e-7, abs=1e-6), inst.kind


def test_swap_value_at_its_last_fixing_equals_its_settled_cash_flows(market: MarketEnv) -> None:
    swap = CarbonSwap(
        underlying="CEA",
        fixed_price_cny_per_t=103.0,
        quantity_t_per_period=1000.0,
        start_date=pd.Timestamp("2025-01-01"),
        end_date=pd.Timestamp("2025-12-31"),
        period_months=3,
        position="receiver",
    )
    paths = with_h([swap], market, n=32)
    last = swap.period_fixings()[-1][-1]
    st = state(market, paths, last)
    pay = swap.schedule()[1:]
    settled = np.zeros(paths.n_paths)
    for i, fixings in enumerate(swap.period_fixings()):
        rows = pd.DatetimeIndex(paths.dates).get_indexer(fixings)
        average = paths["CEA"][rows].mean(axis=0)
        carry = float(market.df([pay[i]])[0] / market.df([last])[0])  # carried (or discounted) to the last fixing
        settled += -1000.0 * (average - 103.0) * carry
    np.testing.assert_allclose(horizon_value(swap, st), settled, rtol=1e-12, atol=1e-6)
    assert np.std(settled) > 0  # a real per-path quantity, not a constant


def test_guaranteed_sale_today_agrees_with_the_monte_carlo_payoff(market: MarketEnv) -> None:
    # moment-matched legs against the direct document-002 payoff by Monte Carlo on GBM paths: within 4 s.e.
    contract = GuaranteedSale(
        underlying="CEA",
        committed_price_cny_per_t=98.0,
        volume_t=1000.0,
        averaging_start=pd.Timestamp("2025-02-03"),
        averaging_end=EXPIRY,
    )
    paths = with_h([contract], market, n=40_000, seed=5)
    mc = MCGuaranteedEngine().calculate(contract, market=market, paths=paths, quick=True)
    value = horizon_value(contract, today(market, paths))[0]
    assert abs(value - mc.value) < 4 * mc.std_error
    st = state(market, paths, H)
    legs = sum(w * horizon_value(leg, st) for w, leg in contract.decomposition())
    np.testing.assert_allclose(horizon_value(contract, st), legs, rtol=1e-12)


def test_regression_recovers_a_known_conditional_mean() -> None:
    # y = 5 + 2 x^2 + noise (sd 0.5), x = S / 100: the fitted E[y | S] is within 4 s.e. of the truth
    rng = np.random.default_rng(0)
    s = 100.0 * np.exp(0.2 * rng.standard_normal(20_000))
    y = 5.0 + 2.0 * (s / 100.0) ** 2 + 0.5 * rng.standard_normal(s.size)
    reg = RegressionRevaluation.fit("CEA", 100.0, s, y)
    grid = np.array([80.0, 100.0, 120.0])
    fitted = reg.at_horizon(np.zeros(3), grid, 1.0)
    truth = 5.0 + 2.0 * (grid / 100.0) ** 2
    assert np.all(np.abs(fitted - truth) < 4 * 0.5 * math.sqrt(4.0 / s.size) * 3)
    assert reg.residual_sd == pytest.approx(0.5, rel=0.03) and 0.0 < reg.r_squared < 1.0
    exact = RegressionRevaluation.fit("CEA", 100.0, s, y, exact=True)
    np.testing.assert_array_equal(exact.at_horizon(y[:3], s[:3], 0.5), y[:3] / 0.5)


def test_instrument_without_closed_form_is_refused(market: MarketEnv) -> None:
    loan = PledgeLoan(
        name="p",
        collateral="CEA",
        quantity_t=1000.0,
        ltv=0.6,
        rate=0.045,
        tenor_years=1.0,
        maintenance_ratio=1.35,
        liquidation_ratio=1.15,
    )
    paths = with_h([], market, n=4)
    with pytest.raises(PathSetError, match="no closed-form revaluation"):
        horizon_value(loan, today(market, paths))


def test_exchange_option_and_swaption_at_h_match_quantlib_on_that_paths_state(market: MarketEnv) -> None:
    # the analytic engines on a market whose valuation date is h and whose spots are the path's prices (same rate,
    # carry, vols and correlation) give each path's revalued option
    swap = CarbonSwap(
        underlying="CEA",
        fixed_price_cny_per_t=104.0,
        quantity_t_per_period=1000.0,
        start_date=pd.Timestamp("2025-07-01"),
        end_date=pd.Timestamp("2026-06-30"),
        period_months=3,
    )
    swaption = CarbonSwaption(swap=swap, expiry=EXPIRY)
    exchange = ExchangeOption(
        receive="CEA", deliver="CCER", quantity_receive_t=100.0, quantity_deliver_t=140.0, expiry=EXPIRY
    )
    paths = with_h([swaption, swap, exchange], market, n=16)
    st = state(market, paths, H)
    v_swaption, v_exchange = horizon_value(swaption, st), horizon_value(exchange, st)
    for j in (0, 9):
        spots = {"CEA": float(paths["CEA"][st.row, j]), "CCER": float(paths["CCER"][st.row, j])}
        at_h = MarketEnv.simple(H, 0.02, spots, dict(market.vols), market.correlation, {"CCER": 0.01})
        assert v_exchange[j] == pytest.approx(MargrabeEngine().calculate(exchange, market=at_h).value, rel=1e-6)
        assert v_swaption[j] == pytest.approx(BlackSwaptionEngine().calculate(swaption, market=at_h).value, rel=1e-9)
    # after expiry the swaption is the swap on the paths where the swap was worth more than 0 at expiry
    late = paths.dates[paths.dates > EXPIRY][0]
    st_late = state(market, paths, late)
    at_expiry = state(market, paths, EXPIRY)
    exercised = horizon_value(swap, at_expiry) > 0
    assert 0 < exercised.sum() < paths.n_paths
    np.testing.assert_array_equal(
        horizon_value(swaption, st_late), np.where(exercised, horizon_value(swap, st_late), 0.0)
    )
