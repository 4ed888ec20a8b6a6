"""Reverse stress: bounded bisection finds the price at which a pledge loan first loses money."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carbonrisk.finance.instruments import PledgeLoan
from carbonrisk.finance.loans import simulate_pledge_loan
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.reverse_stress import ReverseStressError, find_threshold
from carbonrisk.models.paths import PathSet

CNY_TOL = 0.5  # the precision for a price threshold, CNY/t


def test_known_threshold_of_an_instantaneous_shock() -> None:
    # Pledge of q = 1e6 t at S0 = 100 CNY/t, LTV 0.6: principal 60e6. Liquidated at S with haircut 8 %: loss
    # max(60e6 - q S 0.92, 0) > 0 iff S < 60 / 0.92 = 65.2174 CNY/t.
    exact = 60.0 / 0.92

    def f(s: float) -> float:
        return 60e6 - 1e6 * s * 0.92  # > 0 where money is lost

    res = find_threshold(f, 0.0, 100.0, tol=CNY_TOL, max_steps=10)
    assert res.bracketed and res.converged and res.steps <= 10
    assert abs(res.threshold - exact) <= CNY_TOL  # type: ignore[operator]
    assert res.lo <= exact <= res.hi and res.hi - res.lo <= CNY_TOL
    assert f(res.lo) > 0 > f(res.hi)  # re-run at the bracket: loss below, none above
    assert len(res.history) == res.steps + 2


def test_step_function_and_edge_cases() -> None:
    flag = find_threshold(lambda s: 1.0 if s < 42.3 else -1.0, 0.0, 200.0, tol=0.5)
    assert flag.converged and abs(flag.threshold - 42.3) <= 0.25  # type: ignore[operator]
    none = find_threshold(lambda s: -1.0, 0.0, 200.0, tol=0.5)
    assert not none.bracketed and none.threshold is None and not none.converged
    short = find_threshold(lambda s: 49.0 - s, 0.0, 200.0, tol=0.01, max_steps=3)
    assert short.steps == 3 and not short.converged and short.hi - short.lo == pytest.approx(25.0)
    exact = find_threshold(lambda s: 100.0 - s, 0.0, 200.0, tol=0.5)
    assert exact.threshold == 100.0 and exact.steps == 1
    with pytest.raises(ReverseStressError, match=r"^lo=5.0 must be below hi=1.0$"):
        find_threshold(lambda s: s, 5.0, 1.0, tol=0.1)
    with pytest.raises(ReverseStressError, match=r"^max_steps=-1 must be an integer >= 0$"):
        find_threshold(lambda s: s, 0.0, 1.0, tol=0.1, max_steps=-1)
    with pytest.raises(ReverseStressError, match=r"must be finite$"):
        find_threshold(lambda s: float("nan"), 0.0, 1.0, tol=0.1)


def test_pledge_loan_engine_loses_money_below_the_threshold() -> None:
    # The real pledge-loan rules on a deterministic path: CEA jumps from 100 to S the day after origination and
    # stays there. Coverage S/60 falls below the liquidation ratio 1.15 for S < 69, so the loan is liquidated at S
    # less the 8 % haircut; it loses money iff q S 0.92 < amount owed (60e6 plus one day or so of interest), i.e.
    # just above 65.2174 CNY/t. Bisection on [40, 69) within 10 steps, checked by re-running the engine.
    vd = pd.Timestamp("2024-10-31")
    market = MarketEnv.simple(vd, 0.02, {"CEA": 100.0}, {"CEA": 0.3}, 0.0)
    loan = PledgeLoan(
        collateral="CEA",
        quantity_t=1e6,
        ltv=0.6,
        rate=0.045,
        tenor_years=1.0,
        maintenance_ratio=1.35,
        liquidation_ratio=1.15,
        haircut=0.08,
        max_liquidation_days=5,
        adv_t=1e9,
    )
    dates = loan.fixing_dates(vd)

    def loss(s: float) -> float:
        level = np.full((len(dates), 1), s)
        paths = PathSet(pd.DatetimeIndex(dates), {"CEA": level})
        return float(simulate_pledge_loan(loan, market, paths).loss_cny[0])

    res = find_threshold(lambda s: loss(s) - 0.5, 40.0, 68.9, tol=CNY_TOL, max_steps=10)
    assert res.converged
    assert loss(res.lo) > 0 and loss(res.hi) == 0  # re-run at the bracket ends
    assert abs(res.threshold - 60.0 / 0.92) <= CNY_TOL  # type: ignore[operator]
