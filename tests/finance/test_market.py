"""Market environment: QuantLib discount curves (flat and bootstrapped) and forward curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import QuantLib as ql

from carbonrisk.finance.exceptions import MarketDataError
from carbonrisk.finance.market import DiscountCurve, ForwardCurve, MarketEnv
from carbonrisk.models.calendar import interbank_calendar, to_ql

VD = pd.Timestamp("2024-10-31")
QUOTES = pd.DataFrame(
    {
        "instrument": ["deposit", "deposit", "deposit", "irs", "irs", "irs", "irs"],
        "tenor": ["1W", "1M", "3M", "1Y", "2Y", "5Y", "10Y"],
        "rate": [0.0175, 0.0180, 0.0182, 0.0165, 0.0163, 0.0175, 0.0195],
    }
)


def test_flat_curve_discount_factors() -> None:
    curve = DiscountCurve.flat(VD, 0.02)
    d = pd.DatetimeIndex(["2025-10-31", "2029-10-31"])
    t = (d - VD).days.to_numpy() / 365.0
    np.testing.assert_allclose(curve.df(d), np.exp(-0.02 * t), rtol=1e-14)
    np.testing.assert_allclose(curve.shifted(0.01).df(d), np.exp(-0.03 * t), rtol=1e-12)


def test_bootstrap_reprices_its_quotes() -> None:
    curve = DiscountCurve.from_quotes(VD, QUOTES)
    ql.Settings.instance().evaluationDate = to_ql(VD)
    handle = ql.YieldTermStructureHandle(curve.curve)
    cal = interbank_calendar()
    dc = ql.Actual365Fixed()
    index = ql.IborIndex(
        "CNYRepo7D3M", ql.Period(3, ql.Months), 1, ql.CNYCurrency(), cal, ql.ModifiedFollowing, False, dc, handle
    )
    for _, row in QUOTES.iterrows():
        n, unit = int(row["tenor"][:-1]), {"W": ql.Weeks, "M": ql.Months, "Y": ql.Years}[row["tenor"][-1]]
        if row["instrument"] == "deposit":
            start = cal.advance(to_ql(VD), 1, ql.Days)
            end = cal.advance(start, ql.Period(n, unit), ql.ModifiedFollowing)
            implied = (curve.curve.discount(start) / curve.curve.discount(end) - 1.0) / dc.yearFraction(start, end)
        else:
            swap = ql.MakeVanillaSwap(
                ql.Period(n, unit),
                index,
                0.0,
                ql.Period(0, ql.Days),
                fixedLegTenor=ql.Period(3, ql.Months),
                fixedLegDayCount=dc,
                fixedLegConvention=ql.ModifiedFollowing,
                fixedLegCalendar=cal,
                discountingTermStructure=handle,
            )
            implied = swap.fairRate()
        assert implied == pytest.approx(row["rate"], abs=1e-10), row["tenor"]


def test_quote_file_with_unknown_tenor(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("instrument,tenor,rate\ndeposit,1M,0.018\nirs,15Y,0.02\n", encoding="utf-8")
    with pytest.raises(MarketDataError, match=r"^q.csv row 3: tenor='15Y' is unknown for irs; allowed 6M, .*10Y$"):
        DiscountCurve.from_quotes_csv(VD, path)


def test_forward_curves() -> None:
    carry = ForwardCurve.from_carry("CEA", VD, 100.0, 0.02, 0.005)
    d = pd.DatetimeIndex(["2025-10-31"])
    assert carry(d)[0] == pytest.approx(100.0 * np.exp(0.015))
    assert carry.rate_shifted(0.01)(d)[0] == pytest.approx(100.0 * np.exp(0.025))
    quoted = ForwardCurve.from_quotes("CCER", VD, 70.0, {"2025-04-30": 71.0, "2025-10-31": 73.0})
    np.testing.assert_allclose(quoted(pd.DatetimeIndex(["2024-10-31", "2025-04-30", "2025-10-31"])), [70.0, 71.0, 73.0])
    mid = quoted(pd.DatetimeIndex(["2025-07-31"]))[0]
    assert 71.0 < mid < 73.0
    assert quoted.scaled(1.01)(d)[0] == pytest.approx(73.0 * 1.01)
    assert quoted.rate_shifted(0.01) is quoted  # quoted forwards do not move with rates


def test_market_bumps() -> None:
    m = MarketEnv.simple(VD, 0.02, {"CEA": 100.0}, {"CEA": 0.3})
    b = m.bumped(spot_rel={"CEA": 0.01}, vol_abs={"CEA": 0.01}, rate_abs=1e-4)
    assert b.spot("CEA") == pytest.approx(101.0) and b.vol("CEA") == pytest.approx(0.31)
    assert b.discount.zero_rate(1.0) == pytest.approx(0.0201)
    with pytest.raises(MarketDataError, match=r"^CEA.vol = 0 is not > 0 \(1/sqrt\(year\)\)$"):
        MarketEnv.simple(VD, 0.02, {"CEA": 100.0}, {"CEA": 0.0})


def test_bootstrapped_curve_ignores_later_evaluation_date_changes() -> None:
    curve = DiscountCurve.from_quotes(VD, QUOTES)
    d = pd.DatetimeIndex(["2027-10-29"])
    before = curve.df(d)
    ql.Settings.instance().evaluationDate = ql.Date(15, 3, 2025)  # another valuation elsewhere in the process
    try:
        np.testing.assert_array_equal(curve.df(d), before)
    finally:
        ql.Settings.instance().evaluationDate = to_ql(VD)
