"""Pledge-loan breach probabilities against the continuous-monitoring closed form with the
Broadie-Glasserman-Kou (1997) barrier shift (Mathematical Finance 7(4), "A continuity correction for discrete
barrier options": a barrier monitored every dt behaves like a continuous one shifted by exp(-0.5826 sigma sqrt(dt))
away from the spot). Under GBM, daily monitoring and no top-up, the margin-call probability is the probability
that the price touches maintenance_ratio x ltv x S0 on a monitoring date (and likewise for liquidation)."""

from __future__ import annotations

import pandas as pd
import pytest

from carbonrisk.finance.instruments import PledgeLoan
from carbonrisk.finance.loans import BGK_BETA, MCPledgeLoanEngine, down_barrier_hit_probability
from carbonrisk.finance.market import MarketEnv
from carbonrisk.models.calendar import year_fractions
from tests.finance.conftest import gbm_paths


def test_bgk_constant() -> None:
    # beta = -zeta(1/2) / sqrt(2 pi), zeta(1/2) = -1.4603545088 (Abramowitz & Stegun 23.3)
    assert pytest.approx(1.4603545088095868 / (2 * 3.141592653589793) ** 0.5, abs=1e-12) == BGK_BETA


@pytest.mark.parametrize(("ltv", "maintenance", "liquidation"), [(0.6, 1.4, 1.2), (0.5, 1.5, 1.3)])
def test_daily_breach_probability_matches_bgk(
    market: MarketEnv, ltv: float, maintenance: float, liquidation: float
) -> None:
    loan = PledgeLoan(
        collateral="CEA",
        quantity_t=100_000,
        ltv=ltv,
        rate=0.045,
        tenor_years=1.0,
        maintenance_ratio=maintenance,
        liquidation_ratio=liquidation,
        monitoring="daily",
        top_up="never",
        adv_t=1.0e6,
    )
    res = MCPledgeLoanEngine().calculate(loan, market=market, paths=gbm_paths(market, [loan], 40_000, seed=17))
    mon = loan.monitoring_dates(market.valuation_date)
    t_years = float(year_fractions(market.valuation_date, pd.DatetimeIndex(mon[-1:]))[0])
    dt = t_years / len(mon)  # mean spacing of the SSE trading days
    s0, vol, carry = market.spot("CEA"), market.vol("CEA"), market.curve("CEA").carry
    for key, ratio in (("p_margin_call", maintenance), ("p_liquidation", liquidation)):
        expected = down_barrier_hit_probability(s0, ratio * ltv * s0, vol, carry, t_years, dt)
        assert abs(res.extras[key] - expected) < 4 * res.extras[f"{key}_se"], key
        # and the uncorrected continuous probability is clearly further away (the shift matters)
        continuous = down_barrier_hit_probability(s0, ratio * ltv * s0, vol, carry, t_years, 0.0)
        assert continuous > expected
