"""Every documented bad input gives a one-line error naming the field, the value and the rule."""

from __future__ import annotations

from typing import Any

import pytest

from carbonrisk.finance.engines import Black76Engine
from carbonrisk.finance.exceptions import ContractError
from carbonrisk.finance.instruments import AsianOption, CarbonSwap, EuropeanOption, Forward, PledgeLoan
from carbonrisk.finance.market import MarketEnv
from carbonrisk.models.exceptions import InputError

PLEDGE: dict[str, Any] = dict(
    collateral="CEA", quantity_t=1e6, ltv=0.5, rate=0.045, tenor_years=1.0, maintenance_ratio=1.5, liquidation_ratio=1.3
)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ltv": 1.2}, r"^ltv = 1.2 is not in \(0, 1\) \(fraction\)$"),
        ({"ltv": 0.0}, r"^ltv = 0 is not in \(0, 1\) \(fraction\)$"),
        ({"maintenance_ratio": 1.2}, r"^maintenance_ratio=1.2 must be above liquidation_ratio=1.3$"),
        ({"maintenance_ratio": 1.3}, r"^maintenance_ratio=1.3 must be above liquidation_ratio=1.3$"),
        ({"tenor_years": 0}, r"^tenor_years = 0 is not > 0 \(years\)$"),
        ({"tenor_years": -1.0}, r"^tenor_years = -1 is not > 0 \(years\)$"),
        ({"quantity_t": 0}, r"^quantity_t = 0 is not > 0 \(t\)$"),
        ({"top_up": "sometimes"}, r"^top_up = 'sometimes' is not one of always, never, wrong_way$"),
        (
            {"top_up": {"p_max": 0.9, "q": 1}},
            r"^top_up.q: unknown key; a top_up table takes p_max, m, s, kind, d50, w$",
        ),
        ({"borrower_pd_1y": 1.0}, r"^borrower_pd_1y = 1 is not in \[0, 1\)$"),
        ({"borrower_pd_1y": 0.01, "rating": "BB"}, r"^borrower_pd_1y=0.01 and rating='BB': give at most one$"),
        (
            {"rating": "Baa2"},
            r"^rating='Baa2' must be one of AAA, AA, A, BBB, BB, B, CCC \(modifiers \+ / - allowed\)$",
        ),
        ({"collateral": "EUA"}, r"^collateral = 'EUA' is not one of CEA, CCER"),
    ],
)
def test_pledge_loan_rules(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ContractError, match=message):
        PledgeLoan(**{**PLEDGE, **change})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strike_cny_per_t": -5.0}, r"^strike_cny_per_t = -5 is not > 0 \(CNY/t\)$"),
        ({"quantity_t": 0.0}, r"^quantity_t = 0 is not > 0 \(t\)$"),
        ({"expiry": "2025-13-40"}, r"^expiry='2025-13-40' is not a date \(use YYYY-MM-DD\)$"),
    ],
)
def test_option_terms(kwargs: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = dict(underlying="CEA", option_type="call", strike_cny_per_t=100.0, expiry="2025-12-31")
    with pytest.raises(ContractError, match=message):
        EuropeanOption(**{**base, **kwargs})


def test_expiry_before_valuation_date(market: MarketEnv) -> None:
    opt = EuropeanOption(underlying="CEA", option_type="call", strike_cny_per_t=100.0, expiry="2024-06-28")
    with pytest.raises(ContractError, match=r"^expiry=2024-06-28 must be after the valuation date 2024-10-31$"):
        Black76Engine().calculate(opt, market=market)
    fwd = Forward(underlying="CEA", quantity_t=1, strike_cny_per_t=1, delivery_date="2024-10-31")
    with pytest.raises(ContractError, match=r"^delivery_date=2024-10-31 must be after the valuation date 2024-10-31$"):
        fwd.check_dates(market.valuation_date)


def test_non_positive_volatility() -> None:
    with pytest.raises(InputError, match=r"^CEA.vol = -0.2 is not > 0 \(1/sqrt\(year\)\)$"):
        MarketEnv.simple("2024-10-31", 0.02, {"CEA": 100.0}, {"CEA": -0.2})


def test_swap_without_periods() -> None:
    with pytest.raises(
        ContractError, match=r"^end_date=2025-03-31 must be after start_date=2025-03-31 \(a swap schedule"
    ):
        CarbonSwap(
            underlying="CEA",
            fixed_price_cny_per_t=100.0,
            quantity_t_per_period=1.0,
            start_date="2025-03-31",
            end_date="2025-03-31",
        )
    with pytest.raises(ContractError, match=r"^period_months=2 must be one of 1, 3, 6, 12"):
        CarbonSwap(
            underlying="CEA",
            fixed_price_cny_per_t=100.0,
            quantity_t_per_period=1.0,
            start_date="2025-03-31",
            end_date="2025-09-30",
            period_months=2,
        )


def test_messages_are_one_line() -> None:
    with pytest.raises(ContractError) as info:
        PledgeLoan(**{**PLEDGE, "maintenance_ratio": 1.0})
    assert "\n" not in str(info.value)


def test_past_fixings_must_match_the_window(market: MarketEnv) -> None:
    opt = AsianOption(
        underlying="CEA",
        option_type="call",
        strike_cny_per_t=100.0,
        averaging_start="2024-10-08",
        averaging_end="2025-01-27",
        past_fixings_cny_per_t=(100.0, 101.0),
    )
    with pytest.raises(
        ContractError,
        match=r"^past_fixings_cny_per_t has 2 values; the averaging window has 17 trading days before the valuation "
        r"date 2024-10-31$",
    ):
        opt.check_dates(market.valuation_date)
    expired = AsianOption(
        underlying="CEA",
        option_type="call",
        strike_cny_per_t=100.0,
        averaging_start="2024-09-02",
        averaging_end="2024-09-30",
    )
    with pytest.raises(ContractError, match=r"^averaging_end=2024-09-30 must not be before the valuation date"):
        expired.check_dates(market.valuation_date)
