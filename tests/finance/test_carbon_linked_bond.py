"""Carbon-linked bond: QuantLib fixed leg against a hand computation, linked coupons by Monte Carlo against closed
forms, revaluation at the horizons, properties and bad terms.

References
----------
* Fixed leg: the bond price is :math:`\\sum_j CF_j e^{-r t_j}` on the flat continuously compounded curve
  (:math:`t_j` ACT/365 from the valuation date to the payment date), the yield the root of
  :math:`\\sum_j CF_j (1+y)^{-t_j} = \\mathrm{dirty}` (annual compounding, ACT/365F; Fabozzi, *Bond Markets,
  Analysis and Strategies*, ch. 2-4), Macaulay duration :math:`\\sum_j t_j CF_j (1+y)^{-t_j} / \\mathrm{dirty}` and
  modified duration Macaulay / (1 + y); the same figures from QuantLib's own ``FixedRateBond`` methods
  (``dirtyPrice``, ``cleanPrice``, ``bondYield``, ``BondFunctions.duration``).
* Linked leg: at (near) zero volatility the average-price coupon is the deterministic
  :math:`N\\alpha_i\\min(p(\\bar F_i/K - 1)^+, c)`; a project-income coupon with deterministic volumes is linear in
  the average, :math:`s V_i \\bar F_i` discounted (exact); Monte Carlo tolerances 4 standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import QuantLib as ql
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from carbonrisk.finance.exceptions import ContractError
from carbonrisk.finance.instruments import CarbonLinkedBond
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.revaluation import FlatVolatility, HorizonState, has_closed_form, horizon_value
from carbonrisk.finance.structured import MCCarbonLinkedBondEngine, bond_fixed_leg
from carbonrisk.finance.valuation import GBMSource
from carbonrisk.models.calendar import to_ql
from tests.finance.conftest import VALUATION_DATE, gbm_paths


def _bond(**kw: object) -> CarbonLinkedBond:
    terms: dict[str, object] = {
        "face_cny": 100_000_000.0,
        "coupon_rate": 0.025,
        "issue_date": "2024-10-31",
        "maturity_date": "2027-10-29",
        "underlying": "CCER",
        "strike_cny_per_t": 75.0,
        "participation": 0.05,
        "linked_cap_rate": 0.02,
    }
    terms.update(kw)
    return CarbonLinkedBond(**terms)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ fixed leg


def test_fixed_leg_matches_hand_computation_and_quantlib(market: MarketEnv) -> None:
    bond = _bond()
    leg = bond_fixed_leg(bond, market)
    # hand case: schedule backward from 2027-10-29 (a Friday): 2025-10-29, 2026-10-29, 2027-10-29, short first period
    days = np.array([(pd.Timestamp(d) - VALUATION_DATE).days for d in ("2025-10-29", "2026-10-29", "2027-10-29")])
    t = days / 365.0
    first = 0.025 * 363 / 365  # 2024-10-31 -> 2025-10-29: 363 days, ACT/365F
    cf = 1e8 * np.array([first, 0.025, 0.025 + 1.0])
    np.testing.assert_allclose(leg.flows["amount_cny"].to_numpy(), [cf[0], cf[1], cf[2] - 1e8, 1e8], rtol=1e-12)
    price = float((cf * np.exp(-0.02 * t)).sum())
    assert leg.npv_cny == pytest.approx(price, rel=1e-12)
    dirty = 100.0 * price / 1e8
    assert leg.dirty_price == pytest.approx(dirty, rel=1e-12)
    y = brentq(lambda r: float((cf * (1.0 + r) ** -t).sum()) / 1e6 - dirty, -0.5, 0.5, xtol=1e-14)
    assert leg.yield_rate == pytest.approx(y, abs=1e-9)
    macaulay = float((t * cf * (1.0 + y) ** -t).sum() / (cf * (1.0 + y) ** -t).sum())
    assert leg.macaulay_duration == pytest.approx(macaulay, rel=1e-7)
    assert leg.modified_duration == pytest.approx(macaulay / (1.0 + y), rel=1e-7)
    # QuantLib's own bond methods (settlement = valuation date)
    ql.Settings.instance().evaluationDate = to_ql(VALUATION_DATE)
    qb = bond.ql_fixed_bond()
    qb.setPricingEngine(ql.DiscountingBondEngine(market.discount.handle()))
    assert leg.dirty_price == pytest.approx(qb.dirtyPrice(), rel=1e-12)
    assert leg.clean_price == pytest.approx(qb.cleanPrice(), rel=1e-12)
    dc = ql.Actual365Fixed()
    assert leg.yield_rate == pytest.approx(qb.bondYield(dc, ql.Compounded, ql.Annual), abs=1e-9)


def test_act_act_semiannual_coupons_are_half_the_rate(market: MarketEnv) -> None:
    bond = _bond(day_count="ACT/ACT", coupon_months=6, issue_date="2025-01-02", maturity_date="2027-01-04")
    amounts = bond_fixed_leg(bond, market).flows["amount_cny"].to_numpy()
    # regular ISMA periods pay exactly rate / 2 (the first, 2025-01-02 -> 2025-01-04 + 6m, is regular: backward)
    np.testing.assert_allclose(amounts[1:-1], 1e8 * 0.0125, rtol=1e-12)


# ------------------------------------------------------------------------------------------------ linked leg


def test_average_price_link_at_near_zero_volatility_is_deterministic() -> None:
    mkt = MarketEnv.simple(VALUATION_DATE, 0.02, {"CCER": 70.0}, {"CCER": 1e-6}, convenience_yields={"CCER": -0.08})
    bond = _bond(strike_cny_per_t=72.0, participation=0.1, linked_cap_rate=0.015)
    res = MCCarbonLinkedBondEngine().calculate(bond, market=mkt, paths=gbm_paths(mkt, [bond], 1000, 1))
    expected = 0.0
    for period in bond.periods():
        avg = float(mkt.forward("CCER", period.fixings).mean())
        rate = min(0.1 * max(avg / 72.0 - 1.0, 0.0), 0.015)
        expected += float(mkt.df(pd.DatetimeIndex([period.payment_date]))[0]) * 1e8 * period.accrual_years * rate
    assert expected > 0
    assert res.extras["linked_leg_pv_cny"] == pytest.approx(expected, rel=1e-5)


def test_average_price_control_variate_agrees_with_plain_monte_carlo(market: MarketEnv) -> None:
    bond = _bond()
    cv = MCCarbonLinkedBondEngine().calculate(bond, market=market, paths=gbm_paths(market, [bond], 20_000, 31))
    plain = MCCarbonLinkedBondEngine(control_variate="none").calculate(
        bond, market=market, paths=gbm_paths(market, [bond], 20_000, 32)
    )
    assert cv.extras["control_variate"] == "geometric" and plain.extras["control_variate"] == "none"
    assert abs(cv.value - plain.value) < 4 * math.hypot(cv.std_error, plain.std_error)
    assert cv.std_error < 0.1 * plain.std_error


def test_project_income_link_with_known_volumes_is_exact(market: MarketEnv) -> None:
    volumes = [80_000.0, 120_000.0, 150_000.0]
    bond = _bond(linked_coupon="project_income", income_share=0.4, carbon_volumes_t=volumes, strike_cny_per_t=None)
    res = MCCarbonLinkedBondEngine().calculate(bond, market=market, paths=gbm_paths(market, [bond], 4096, 4))
    expected = sum(
        float(market.df(pd.DatetimeIndex([p.payment_date]))[0])
        * 0.4
        * v
        * float(market.forward("CCER", p.fixings).mean())
        for p, v in zip(bond.periods(), volumes, strict=True)
    )
    assert res.extras["linked_leg_pv_cny"] == pytest.approx(expected, rel=1e-10)
    assert res.std_error < 1e-6 * expected


def test_project_income_link_with_per_path_volumes(market: MarketEnv) -> None:
    n = 20_000
    rng = np.random.default_rng(7)
    mean = np.array([80_000.0, 120_000.0, 150_000.0])
    volumes = mean[:, None] * rng.lognormal(-0.5 * 0.3**2, 0.3, size=(3, n))  # independent of prices, E = mean
    bond = _bond(linked_coupon="project_income", income_share=0.4, carbon_volumes_t=volumes, strike_cny_per_t=None)
    res = MCCarbonLinkedBondEngine().calculate(bond, market=market, paths=gbm_paths(market, [bond], n, 5))
    expected = sum(
        float(market.df(pd.DatetimeIndex([p.payment_date]))[0])
        * 0.4
        * v
        * float(market.forward("CCER", p.fixings).mean())
        for p, v in zip(bond.periods(), mean, strict=True)
    )
    assert abs(res.extras["linked_leg_pv_cny"] - expected) < 4 * res.extras["plain_linked_std_error"]
    assert not has_closed_form(bond)


def test_issuer_side_and_cash_flow_at_risk(market: MarketEnv) -> None:
    paths = gbm_paths(market, [_bond()], 8192, 6)
    holder = MCCarbonLinkedBondEngine().calculate(_bond(), market=market, paths=paths)
    issuer = MCCarbonLinkedBondEngine().calculate(_bond(position="issuer"), market=market, paths=paths)
    assert issuer.value == pytest.approx(-holder.value, rel=1e-12)
    cap_cny = 1e8 * 0.02  # a linked coupon never exceeds the cap rate x accrual (<= 1 year)
    assert 0.0 < holder.extras["issuer_cfar_95_max_coupon_cny"] <= cap_cny
    fixed_only = MCCarbonLinkedBondEngine().calculate(_bond(participation=0.0), market=market, paths=paths)
    assert fixed_only.extras["issuer_cfar_95_life_cny"] == pytest.approx(0.0, abs=1e-6)
    assert fixed_only.value == pytest.approx(fixed_only.extras["fixed_leg_pv_cny"], rel=1e-12)
    flows = holder.cashflows
    assert flows is not None and list(flows["redemption_cny"])[-1] == 1e8


# ----------------------------------------------------------------------------------------------- revaluation


def test_horizon_value_is_a_martingale(market: MarketEnv) -> None:
    """E[P(0,h) V_h] = V_0 on GBM paths, within 4 s.e. plus the moment-matching error of the lognormal average
    (Levy 1992; measured 0.2 % of the linked leg, allowed 1 %)."""
    bond = _bond()
    extra = pd.DatetimeIndex(["2024-11-14", "2025-11-04"])
    paths = GBMSource().simulate(market, bond.fixing_dates(VALUATION_DATE).union(extra), 40_000, 9)
    vol = FlatVolatility(market.vols)
    today = float(horizon_value(bond, HorizonState(market, paths, 0, vol))[0])
    ref = MCCarbonLinkedBondEngine().calculate(bond, market=market, paths=paths)
    allowance = 0.01 * ref.extras["linked_leg_pv_cny"]
    assert abs(today - ref.value) < 4 * ref.std_error + allowance
    for day in extra:
        row = int(paths.dates.get_loc(day))
        state = HorizonState(market, paths, row, vol)
        v = horizon_value(bond, state) * state.df_h
        assert abs(float(v.mean()) - today) < 4 * float(v.std(ddof=1) / math.sqrt(v.size)) + allowance


def test_horizon_after_maturity_is_every_flow_carried(market: MarketEnv) -> None:
    bond = _bond(maturity_date="2025-10-29")
    paths = GBMSource().simulate(market, bond.fixing_dates(VALUATION_DATE).union(["2025-12-31"]), 500, 10)
    state = HorizonState(market, paths, len(paths.dates) - 1, FlatVolatility(market.vols))
    (period,) = bond.periods()
    rows = paths.dates.get_indexer(period.fixings)
    avg = paths["CCER"][rows].mean(axis=0)
    paid = 1e8 * (1.0 + 0.025 * period.accrual_years) + bond.linked_coupon_cny(0, avg)
    carry = float(market.df(pd.DatetimeIndex([period.payment_date]))[0]) / state.df_h
    np.testing.assert_allclose(horizon_value(bond, state), paid * carry, rtol=1e-12)


# ----------------------------------------------------------------------------------------------- properties

_MKT = MarketEnv.simple(VALUATION_DATE, 0.02, {"CCER": 70.0}, {"CCER": 0.35})
_PATHS = gbm_paths(_MKT, [_bond()], 2048, 12)


@settings(max_examples=25, deadline=None)
@given(
    p=st.floats(0.0, 1.0),
    dp=st.floats(0.0, 1.0),
    c=st.floats(0.001, 0.1),
    dc=st.floats(0.0, 0.1),
    r=st.floats(0.0, 0.1),
    dr=st.floats(0.0, 0.1),
)
def test_value_is_monotone_in_participation_cap_and_coupon(
    p: float, dp: float, c: float, dc: float, r: float, dr: float
) -> None:
    engine = MCCarbonLinkedBondEngine(control_variate="none")

    def v(part: float, cap: float, rate: float) -> float:
        bond = _bond(participation=part, linked_cap_rate=cap, coupon_rate=rate)
        return engine.calculate(bond, market=_MKT, paths=_PATHS, quick=True).value

    base = v(p, c, r)
    assert v(p + dp, c, r) >= base - 1e-6
    assert v(p, c + dc, r) >= base - 1e-6
    assert v(p, c, r + dr) >= base - 1e-6


# ----------------------------------------------------------------------------------------------- bad terms

BAD = {
    "face": ({"face_cny": -1.0}, r"^face_cny = -1 is not > 0 \(CNY\)$"),
    "coupon": ({"coupon_rate": 2.0}, r"^coupon_rate = 2 is not in \[0, 1\] \(1/year\)$"),
    "months": ({"coupon_months": 4}, r"^coupon_months=4 must be one of 1, 3, 6, 12$"),
    "order": ({"maturity_date": "2024-01-31"}, r"^maturity_date=2024-01-31 must be after issue_date=2024-10-31$"),
    "no-strike": ({"strike_cny_per_t": None}, r"^strike_cny_per_t is required when linked_coupon = 'average_price'$"),
    "cap-zero": ({"linked_cap_rate": 0.0}, r"^linked_cap_rate = 0 is not in \(0, 1\] \(1/year\)$"),
    "participation": ({"participation": -1.0}, r"^participation = -1 is not in \[0, 10\] \(fraction\)$"),
    "link": ({"linked_coupon": "dividend"}, r"^linked_coupon = 'dividend' is not one of"),
    "no-volumes": (
        {"linked_coupon": "project_income", "strike_cny_per_t": None, "income_share": 0.3},
        r"^carbon_volumes_t is required when linked_coupon = 'project_income'",
    ),
    "volume-rows": (
        {"linked_coupon": "project_income", "carbon_volumes_t": [1.0, 2.0], "income_share": 0.3},
        r"^carbon_volumes_t has 2 rows; the contract has 3 years$",
    ),
    "quarterly-income": (
        {"linked_coupon": "project_income", "carbon_volumes_t": [1.0], "coupon_months": 3},
        r"^coupon_months=3: a project_income coupon is annual",
    ),
}


@pytest.mark.parametrize("terms,match", BAD.values(), ids=BAD.keys())
def test_bad_terms_are_refused_in_one_line(terms: dict[str, object], match: str) -> None:
    with pytest.raises(ContractError, match=match) as info:
        _bond(**terms)
    assert "\n" not in str(info.value)


def test_issue_before_valuation_date_is_refused(market: MarketEnv) -> None:
    bond = _bond(issue_date="2024-06-28")
    paths = gbm_paths(market, [_bond()], 100, 1)
    with pytest.raises(ContractError, match=r"^issue_date=2024-06-28 must not be before the valuation date"):
        MCCarbonLinkedBondEngine().calculate(bond, market=market, paths=paths)
