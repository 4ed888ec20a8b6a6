"""The five levers of the report's table (carbonrisk.finance.monetisation.lever_flows): repayment rules, costs and
signs."""

from __future__ import annotations

import numpy as np
import pytest

from carbonrisk.finance.exceptions import ContractError
from carbonrisk.finance.monetisation import (
    LEVERS,
    ccer_linked_loan,
    forward_sale,
    lever_flows,
    pledge_of_future_credits,
    prepaid_forward,
    sold_floor,
)

N_YEARS, N_PATHS = 8, 20_000
DF = np.exp(-0.02 * (np.arange(N_YEARS) + 0.5))


@pytest.fixture(scope="module")
def prices() -> np.ndarray:
    rng = np.random.default_rng(5)
    return 60.0 * np.exp(rng.normal(0.0, 0.3, size=(N_YEARS, N_PATHS)))


def _credits(n_years: int = N_YEARS) -> np.ndarray:
    credits = np.zeros((n_years, N_PATHS))
    credits[3:] = 100_000.0
    return credits


def test_forward_sale_at_the_forward_costs_nothing_and_removes_price_risk(prices: np.ndarray) -> None:
    credits = _credits()
    lever = forward_sale(credits, prices, share=1.0)
    # Deterministic credits, F_y = E[P_y]: the expected income change is 0 to rounding and the income is C_y F_y.
    assert lever.pv_cost_cny(DF) == pytest.approx(0.0, abs=1e-6 * float((credits * prices).sum(axis=0).mean()))
    np.testing.assert_allclose((credits * prices + lever.carbon_income_cny).std(axis=1), 0.0, atol=1e-6)
    assert not lever.financing_cny.any() and not lever.costs_cny.any()


def test_prepaid_forward_costs_its_discount_when_every_tonne_is_delivered(prices: np.ndarray) -> None:
    credits = _credits()
    lever = prepaid_forward(credits, prices, DF, share=0.5, discount=0.1, delivery_penalty=0.1, start_year=1)
    committed_pv = float((0.5 * credits[:, 0] * prices.mean(axis=1) * DF).sum())
    # cost = -(0.9 PV received in year 1 carried there, less the PV of the delivered tonnes at P_y) = 0.1 PV + MC error
    # of E[P_y] vs the sample mean, which is 0 exactly here (F_y is the sample mean).
    assert lever.pv_cost_cny(DF) == pytest.approx(0.1 * committed_pv, rel=1e-9)
    assert lever.carbon_income_cny[1].mean() == pytest.approx(0.9 * committed_pv / DF[1], rel=1e-12)
    assert not lever.costs_cny.any()  # no shortfall


def test_fair_floor_costs_nothing_and_pays_in_low_price_paths(prices: np.ndarray) -> None:
    credits = _credits()
    lever = sold_floor(credits, prices, DF, share=1.0, strike_cny_per_t=60.0, start_year=1)
    payoff_pv = float((lever.carbon_income_cny * DF[:, None]).sum(axis=0).mean())
    assert payoff_pv > 0
    assert lever.pv_cost_cny(DF) == pytest.approx(0.0, abs=1e-9 * payoff_pv)
    assert lever.costs_cny[1, 0] == pytest.approx(payoff_pv / DF[1], rel=1e-12)
    low = prices[5] < 60.0
    assert (lever.carbon_income_cny[5][low] > 0).all() and not lever.carbon_income_cny[5][~low].any()


def test_pledge_is_financing_repaid_from_carbon_income(prices: np.ndarray) -> None:
    credits = _credits()
    lever = pledge_of_future_credits(credits, prices, DF, ltv=0.5, rate=0.045, start_year=1)
    assert not lever.carbon_income_cny.any() and not lever.costs_cny.any()
    borrowed = lever.financing_cny[1, 0]
    assert borrowed == pytest.approx(0.5 * float((credits.mean(axis=1) * prices.mean(axis=1) * DF).sum()) / DF[1])
    # Repayment never exceeds that year's carbon income before the last year, and the debt is cleared at the end:
    # the repayments are the borrowed amount accrued at 4.5 % a year.
    repaid = -lever.financing_cny[2:]
    assert (repaid[:-1] <= credits[2:-1] * prices[2:-1] + 1e-6).all()
    growth = 1.045 ** -np.arange(1, N_YEARS - 1)
    np.testing.assert_allclose((repaid * growth[:, None]).sum(axis=0), borrowed, rtol=1e-10)
    assert lever.pv_financing_proceeds_cny(DF) == pytest.approx(borrowed * DF[1])


def test_ccer_linked_loan_is_an_annuity() -> None:
    lever = ccer_linked_loan(12, 3, principal_cny=1e6, rate=0.05, tenor_years=10, start_year=1)
    annuity = 1e6 * 0.05 / (1 - 1.05**-10)
    np.testing.assert_allclose(lever.financing_cny[1], 1e6)
    np.testing.assert_allclose(lever.financing_cny[2:12], -annuity)
    assert not lever.financing_cny[0].any()
    zero_rate = ccer_linked_loan(12, 1, principal_cny=1e6, rate=0.0, tenor_years=4, start_year=0)
    np.testing.assert_allclose(zero_rate.financing_cny[1:5, 0], -2.5e5)
    with pytest.raises(ContractError, match="loan_tenor_years = 0 must be at least 1"):
        ccer_linked_loan(12, 1, principal_cny=1e6, rate=0.0, tenor_years=0, start_year=0)


def test_lever_flows_in_report_order_and_bad_input(prices: np.ndarray) -> None:
    credits = _credits()
    capex = np.zeros_like(credits)
    capex[1] = 5e6
    terms = dict(
        forward_share=0.5,
        prepaid_share=0.5,
        prepaid_discount=0.1,
        delivery_penalty=0.1,
        floor_strike_cny_per_t=None,
        floor_share=1.0,
        pledge_ltv=0.5,
        pledge_rate=0.045,
        loan_share_of_capex=0.5,
        loan_rate=0.042,
        loan_tenor_years=5,
    )
    flows = list(lever_flows(credits, prices, DF, capex, **terms))  # type: ignore[arg-type]
    assert tuple(f.name for f in flows) == LEVERS
    assert flows[-1].financing_cny[1, 0] == pytest.approx(2.5e6)  # half the first capex year, borrowed that year
    with pytest.raises(ContractError, match=r"discount_factors has shape \(3,\); expected \(8,\)"):
        list(lever_flows(credits, prices, DF[:3], capex, **terms))  # type: ignore[arg-type]
    with pytest.raises(ContractError, match=r"forward_share = 1.5 must lie in \[0, 1\]"):
        list(lever_flows(credits, prices, DF, capex, **(terms | {"forward_share": 1.5})))  # type: ignore[arg-type]
