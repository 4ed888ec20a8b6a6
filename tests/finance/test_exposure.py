"""EE / PFE and CVA of a forward against the closed form (issue 15)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from carbonrisk.finance.credit import marginal_pd
from carbonrisk.finance.exceptions import PathSetError
from carbonrisk.finance.exposure import derivative_exposure
from carbonrisk.finance.instruments import Forward
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.schedules import trading_days
from carbonrisk.finance.valuation import GBMSource
from carbonrisk.models.paths import PathSet


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


def _forward_ee(market: MarketEnv, fwd: Forward, dates: pd.DatetimeIndex, times: np.ndarray) -> np.ndarray:
    """Closed-form EE of a long forward under GBM (module docstring of carbonrisk.finance.exposure)."""
    T = pd.DatetimeIndex([fwd.delivery_date])
    f0T = float(market.forward(fwd.underlying, T)[0])
    dfT = float(market.df(T)[0])
    vol = market.vol(fwd.underlying)
    return np.array(
        [
            fwd.quantity_t * dfT / float(market.df(pd.DatetimeIndex([d]))[0])
            * _black_call(f0T, fwd.strike_cny_per_t, vol * math.sqrt(t))
            for d, t in zip(dates, times, strict=True)
        ]
    )  # fmt: skip


def test_value_all_reports_the_forward_exposure_and_cva(market: MarketEnv) -> None:
    """``value_all`` (``carbonrisk value --json``'s ``exposure``): the forward's EE on its own path set within 4 s.e.
    of the closed form at every profile date, CVA (PD 2 %, LGD 45 %) within 4 s.e. of LGD sum EE DF dPD; the
    prices do not change with the exposure path set."""
    from carbonrisk.finance.valuation import value_all

    fwd = Forward(
        underlying="CEA",
        quantity_t=10_000,
        strike_cny_per_t=101.0,
        delivery_date=pd.Timestamp("2025-12-31"),
        counterparty_pd_1y=0.02,
        counterparty_lgd=0.45,
    )
    (v,) = value_all([fwd], market, n_paths=20_000, rng=11, sensitivities=False)
    exp = v.exposure
    assert exp is not None and exp.cva_cny is not None and exp.cva_se_cny is not None
    assert 15 <= len(exp.dates) <= 24 and exp.dates[-1] < fwd.delivery_date
    ee = _forward_ee(market, fwd, exp.dates, exp.times_years)
    assert np.all(np.abs(exp.profile.epe - ee) < 4 * exp.profile.epe_se)
    closed = 0.45 * float((ee * market.df(exp.dates) * marginal_pd(exp.times_years, 0.02)).sum())
    assert abs(exp.cva_cny - closed) < 4 * exp.cva_se_cny
    out = v.to_dict()["exposure"]
    assert out["cva_cny"] == exp.cva_cny and out["counterparty_lgd"] == 0.45
    assert len(out["dates"]) == len(out["epe_cny"]) == len(out["pfe_cny"]) == len(exp.dates)
    assert out["peak_pfe_cny"] >= out["peak_epe_cny"] > 0
    (plain,) = value_all([fwd], market, n_paths=20_000, rng=11, sensitivities=False, exposure=False)
    assert plain.exposure is None and plain.result.value == v.result.value


def test_counterparty_rating_gives_the_cva_pd(market: MarketEnv) -> None:
    """``counterparty_rating`` maps through carbonrisk.finance.credit.pd_from_rating; without PD or rating there is no
    CVA."""
    from carbonrisk.finance.credit import pd_from_rating
    from carbonrisk.finance.exposure import instrument_exposure
    from carbonrisk.finance.instruments import EuropeanOption

    opt = EuropeanOption(
        underlying="CCER",
        option_type="put",
        strike_cny_per_t=70.0,
        expiry=pd.Timestamp("2025-06-30"),
        quantity_t=1000,
        counterparty_rating="BB+",
    )
    assert opt.counterparty_pd() == pd_from_rating("BB")
    paths = _daily(market, opt.expiry, 2_000, seed=2)
    exp = instrument_exposure(opt, market, paths)
    assert exp is not None and exp.counterparty_pd_1y == pd_from_rating("BB") and exp.cva_cny is not None
    assert exp.cva_cny > 0
    plain = instrument_exposure(
        EuropeanOption(underlying="CCER", option_type="put", strike_cny_per_t=70.0, expiry=opt.expiry), market, paths
    )
    assert plain is not None and plain.cva_cny is None and plain.summary()["counterparty_lgd"] is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"counterparty_lgd": 1.5}, r"^counterparty_lgd = 1\.5 is not in \[0, 1\] \(fraction\)$"),
        ({"counterparty_pd_1y": 1.0}, r"^counterparty_pd_1y = 1 is not in \[0, 1\)$"),
        ({"counterparty_rating": "ZZ"}, r"^counterparty_rating='ZZ' must be one of AAA"),
        ({"counterparty_pd_1y": 0.01, "counterparty_rating": "A"}, r"give at most one$"),
    ],
)
def test_bad_counterparty_inputs_name_the_field(fields: dict[str, object], message: str) -> None:
    from carbonrisk.finance.exceptions import ContractError

    with pytest.raises(ContractError, match=message):
        Forward(
            underlying="CEA",
            quantity_t=1.0,
            strike_cny_per_t=100.0,
            delivery_date=pd.Timestamp("2025-12-31"),
            **fields,  # type: ignore[arg-type]
        )
