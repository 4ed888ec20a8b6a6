"""EE / PFE and CVA of a forward against the closed form (issue 15)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from finance.credit import marginal_pd
from finance.exceptions import PathSetError
from finance.exposure import derivative_exposure
from finance.instruments import Forward
from finance.market import MarketEnv
from finance.schedules import trading_days
from finance.valuation import GBMSource
from models.paths import PathSet


def _daily(market: MarketEnv, end: pd.Timestamp, n: int, seed: int) -> PathSet:
    """GBM paths on every SSE trading day to ``end``."""
    days = trading_days(market.valuation_date, end, include_start=False)
    return GBMSource().simulate(market, days, n, seed)


def _black_call(f: float, k: float, sd: float) -> float:
    d1 = (math.log(f / k) + 0.5 * sd * sd) / sd
    return f * norm.cdf(d1) - k * norm.cdf(d1 - sd)


def test_forward_ee_and_cva_match_the_closed_form(market: MarketEnv) -> None:
    """GBM paths: EE(t) = q P(0,T)/P(0,t) Black(F(0,T), K, sigma sqrt t); each within 4 s.e.; CVA with
    PD 2 %, LGD 60 % within 4 s.e. of LGD sum EE DF dPD."""
    fwd = Forward(
        underlying="CEA", quantity_t=100_000, strike_cny_per_t=102.0, delivery_date=pd.Timestamp("2025-10-31")
    )
    paths = _daily(market, fwd.delivery_date, 40_000, seed=5)
    rows = list(range(20, paths.n_dates, 40))
    exp = derivative_exposure(fwd, market, paths, rows, counterparty_pd_1y=0.02, counterparty_lgd=0.6)
    T = pd.DatetimeIndex([fwd.delivery_date])
    f0T = float(market.forward("CEA", T)[0])
    dfT = float(market.df(T)[0])
    ee = np.array(
        [
            1e5 * dfT / float(market.df(pd.DatetimeIndex([d]))[0]) * _black_call(f0T, 102.0, 0.30 * math.sqrt(t))
            for d, t in zip(exp.dates, exp.times_years, strict=True)
        ]
    )
    assert np.all(np.abs(exp.profile.epe - ee) < 4 * exp.profile.epe_se)
    assert np.all(exp.profile.pfe >= exp.profile.epe)
    closed = 0.6 * float((ee * market.df(exp.dates) * marginal_pd(exp.times_years, 0.02)).sum())
    assert exp.cva_cny is not None and exp.cva_se_cny is not None
    assert abs(exp.cva_cny - closed) < 4 * exp.cva_se_cny
    assert exp.to_frame().shape == (len(exp.dates), 4)


def test_exposure_after_settlement_is_refused(market: MarketEnv) -> None:
    fwd = Forward(underlying="CEA", quantity_t=1.0, strike_cny_per_t=100.0, delivery_date=pd.Timestamp("2024-12-31"))
    paths = _daily(market, fwd.delivery_date, 100, seed=1)
    with pytest.raises(PathSetError, match=r"^rows \[0\]: none lies after the valuation date and before 2024-12-31$"):
        derivative_exposure(fwd, market, paths, [0])
    assert derivative_exposure(fwd, market, paths, [1, 5]).cva_cny is None
