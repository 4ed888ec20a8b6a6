"""Shared market and path helpers for the finance tests."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pytest

from carbonrisk.finance.contracts import embedded_daily_volumes_t
from carbonrisk.finance.instruments import Instrument
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.valuation import GBMSource, path_dates
from carbonrisk.models.paths import PathSet

VALUATION_DATE = pd.Timestamp("2024-10-31")


@pytest.fixture
def market() -> MarketEnv:
    """Flat 2 % curve, CEA 100 (vol 30 %), CCER 70 (vol 35 %, convenience yield 1 %), correlation 0.5; market
    depth: the embedded CEA daily volumes up to the valuation date."""
    return MarketEnv.simple(
        VALUATION_DATE,
        0.02,
        {"CEA": 100.0, "CCER": 70.0},
        {"CEA": 0.30, "CCER": 0.35},
        0.5,
        {"CCER": 0.01},
        daily_volumes_t=embedded_daily_volumes_t(VALUATION_DATE),
    )


def gbm_paths(market: MarketEnv, instruments: Sequence[Instrument], n_paths: int, seed: int) -> PathSet:
    """GBM paths calibrated to ``market`` on the fixing dates of ``instruments``."""
    return GBMSource().simulate(market, path_dates(instruments, market.valuation_date), n_paths, seed)
