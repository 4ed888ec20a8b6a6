"""Engines of the structured products: green structured deposits and carbon-linked bonds (issue 18).

Structured deposit (:class:`~carbonrisk.finance.instruments.StructuredDeposit`)
    :class:`Black76DepositEngine` (``averaging = "final"``): a zero-coupon bond plus a call spread on the ratio
    :math:`X = S_T / S_0`, each call by Black-76 (QuantLib ``blackFormula``); :class:`MCDepositEngine`: the
    discounted payout on the path set, with the geometric-average control variate for ``monthly`` averaging
    (:func:`carbonrisk.finance.engines.geometric_asian_closed_form`, the closed form of the average-price engines).
Carbon-linked bond (:class:`~carbonrisk.finance.instruments.CarbonLinkedBond`)
    :class:`MCCarbonLinkedBondEngine`: the fixed leg with QuantLib's bond machinery (``FixedRateBond`` on a China
    inter-bank schedule, ``DiscountingBondEngine`` on the market curve, ``BondFunctions`` yield and duration), the
    linked coupons by Monte Carlo on the path set with the control variates of the average-price engines.

The results report, besides the value, the bank's hedge cost and the depositor's expected return (deposits) and
the yield, duration and issuer's cash-flow-at-risk (bonds); see each engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import QuantLib as ql

from carbonrisk.finance.engines import Engine, geometric_asian_closed_form
from carbonrisk.finance.exceptions import PathSetError
from carbonrisk.finance.instruments import CarbonLinkedBond, StructuredDeposit
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.results import PricingResult, date_rows, fixing_sums, mc_estimate
from carbonrisk.models.calendar import from_ql, interbank_calendar, to_ql, year_fractions
from carbonrisk.models.paths import PathSet

__all__ = [
    "Black76DepositEngine",
    "MCCarbonLinkedBondEngine",
    "MCDepositEngine",
    "bond_fixed_leg",
    "call_spread_per_unit",
    "deposit_forward_ratio",
]


def call_spread_per_unit(forward: float, stdev: float, discount: float, cap: float) -> float:
    """:math:`P\\,E[\\max(0, \\min(X - 1, c))]` for a lognormal :math:`X` with forward ``forward``.

    Notes
    -----
    :math:`\\mathrm{Black}(1) - \\mathrm{Black}(1 + c)`, each Black-76 (QuantLib ``blackFormula``) with forward
    ``forward``, standard deviation ``stdev`` of :math:`\\ln X` and discount factor ``discount``.
    """
    call = ql.Option.Call
    return float(
        ql.blackFormula(call, 1.0, forward, stdev, discount)
        - ql.blackFormula(call, 1.0 + cap, forward, stdev, discount)
    )


def deposit_forward_ratio(inst: StructuredDeposit, market: MarketEnv) -> tuple[float, float]:
    """Forward and log standard deviation of :math:`X = S_T / S_0` of a ``final`` deposit under the market's GBM.

    Notes
    -----
    :math:`S_0` is the close on ``start_date`` (:math:`t_s \\ge 0`): :math:`E[X] = F(0,T) / F(0,t_s)` and
    :math:`\\mathrm{sd}(\\ln X) = \\sigma \\sqrt{T - t_s}` (deterministic rates; :math:`X` is independent of
    :math:`S_{t_s}`, so a forward-starting deposit is a forward-start call spread).
    """
    vd = market.valuation_date
    fix = inst.observation_dates()
    start = pd.DatetimeIndex([max(inst.start_date, vd)])
    curve = market.curve(inst.underlying)
    forward = float(curve(fix)[0] / curve(start)[0])
    t_fix = float(year_fractions(vd, fix)[0])
    t_start = float(year_fractions(vd, start)[0])
    return forward, market.vol(inst.underlying) * math.sqrt(max(t_fix - t_start, 0.0))


def _principal_leg(inst: StructuredDeposit, market: MarketEnv) -> float:
    """:math:`-N P(0, t_s)` for a deposit starting after the valuation date, else 0 (already paid)."""
    if inst.start_date <= market.valuation_date:
        return 0.0
    return -inst.principal_cny * float(market.df(pd.DatetimeIndex([inst.start_date]))[0])


def _deposit_extras(
    inst: StructuredDeposit, market: MarketEnv, zcb: float, option: float, p_linked: float | None
) -> dict[str, Any]:
    """Bank's hedge cost and depositor's expected return from the two parts' present values."""
    df_pay = float(market.df(pd.DatetimeIndex([inst.maturity_date]))[0])
    expected_payout = (zcb + option) / df_pay
    tau = inst.year_fraction
    funding = -_principal_leg(inst, market) if inst.start_date > market.valuation_date else inst.principal_cny
    out: dict[str, Any] = {
        "zero_coupon_bond_cny": zcb,
        "call_spread_cny": option,
        "bank_hedge_cost_cny": zcb + option,
        "bank_option_hedge_cost_cny": option,
        "bank_margin_cny": funding - (zcb + option),
        "expected_payout_cny": expected_payout,
        "depositor_expected_return": expected_payout / inst.principal_cny - 1.0,
        "depositor_expected_annual_rate": (expected_payout / inst.principal_cny - 1.0) / tau,
        "discount_factor": df_pay,
        "year_fraction": tau,
        "averaging": inst.averaging,
    }
    if p_linked is not None:
        out["p_linked_coupon_paid"] = p_linked
    return out


def market_lognormal_paths(paths: PathSet, market: MarketEnv, underlying: str) -> bool:
    """Whether ``paths`` are lognormal (GBM) paths at the market's own volatility of ``underlying``: only then is
    the market forward the paths' expectation and the geometric-average closed form a valid control variate."""
    vols = paths.meta.get("vols", {}) if isinstance(paths.meta, dict) else {}
    sig = vols.get(underlying) if isinstance(vols, dict) else None
    return bool(paths.meta.get("lognormal")) and sig is not None and abs(float(sig) - market.vol(underlying)) < 1e-12


@dataclass(frozen=True)
class Black76DepositEngine(Engine):
    """Structured deposit (``final``) as a zero-coupon bond plus a call spread, Black-76 (QuantLib).

    Notes
    -----
    :math:`V = N(1 + r_{min}\\tau) P(0,T) + pN [\\mathrm{Black}(F_X, 1) - \\mathrm{Black}(F_X, 1+c)] - N P(0,t_s)
    1_{t_s > 0}`, times -1 for the bank; :math:`F_X`, :math:`\\sigma_X` from :func:`deposit_forward_ratio`. The
    bank's hedge cost is the price of the replicating bond and call spread, its margin the principal (its present
    value for a forward start) minus that cost; the depositor's expected return is the risk-neutral expected payout
    over the principal, minus one (and per year, divided by :math:`\\tau`).
    """

    name: ClassVar[str] = "zero-coupon bond + call spread (Black-76, QuantLib blackFormula)"

    def calculate(
        self,
        instrument: StructuredDeposit,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        instrument.check_dates(market.valuation_date)
        if instrument.averaging != "final":
            raise PathSetError("the Black-76 deposit engine prices final-close deposits; use MCDepositEngine")
        df_pay = float(market.df(pd.DatetimeIndex([instrument.maturity_date]))[0])
        forward, sd = deposit_forward_ratio(instrument, market)
        zcb = instrument.guaranteed_cny * df_pay
        option = (
            instrument.participation
            * instrument.principal_cny
            * call_spread_per_unit(forward, sd, df_pay, instrument.cap)
        )
        value = instrument.sign * (zcb + option + _principal_leg(instrument, market))
        p_linked = (
            float(ql.CumulativeNormalDistribution()((math.log(forward) - 0.5 * sd * sd) / sd))
            if sd > 0
            else (float(forward > 1.0))
        )
        extras = _deposit_extras(instrument, market, zcb, option, p_linked)
        extras.update({"forward_ratio": forward, "stdev_log_ratio": sd})
        return PricingResult(instrument.label(), value, 0.0, self.name, extras)


ControlVariate = Literal["auto", "geometric", "none"]


@dataclass(frozen=True)
class MCDepositEngine(Engine):
    """Structured deposit by Monte Carlo on the path set, with the geometric-average control variate (``monthly``).

    ``control_variate="auto"`` uses it for a ``monthly`` deposit starting on the valuation date when the path set
    is lognormal with the market volatility (as :class:`carbonrisk.finance.engines.MCAsianEngine`); ``"geometric"``
    forces it, ``"none"`` switches it off.

    Notes
    -----
    Per path :math:`Y = P(0,T)\\,pN \\max(0, \\min(A/S_0 - 1, c))`, A the final close or the mean of the month-end
    closes; control :math:`X` the same payout on the geometric mean G, whose expectation is
    :math:`pN/S_0 [C_G(S_0) - C_G(S_0(1+c))]` with :math:`C_G` the discrete geometric-average call
    (:func:`~carbonrisk.finance.engines.geometric_asian_closed_form`); :math:`\\hat V = \\bar Y - \\hat\\beta(\\bar X -
    E X)`, s.e. from the residual. The zero-coupon part is exact (deterministic rates).
    """

    control_variate: ControlVariate = "auto"
    name: ClassVar[str] = "Monte Carlo (path set)"
    needs_paths: ClassVar[bool] = True

    def use_cv(self, inst: StructuredDeposit, market: MarketEnv, paths: PathSet) -> bool:
        """Whether the geometric control variate applies."""
        if inst.averaging != "monthly" or self.control_variate == "none":
            return False
        if inst.start_date > market.valuation_date:
            return False  # S_0 is random: the geometric closed form of a fixed strike does not apply
        if self.control_variate == "geometric":
            return True
        return market_lognormal_paths(paths, market, inst.underlying)

    def calculate(
        self,
        instrument: StructuredDeposit,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        inst = instrument
        inst.check_dates(market.valuation_date)
        p = self._paths(paths)
        obs = inst.observation_dates()
        und = inst.underlying
        if inst.start_date > market.valuation_date:
            s0 = np.asarray(p[und][date_rows(p, und, pd.DatetimeIndex([inst.start_date]))[0]], dtype=float)
        else:
            s0 = np.asarray(p[und][0], dtype=float)
        use_cv = self.use_cv(inst, market, p)
        total, log_total = fixing_sums(p, und, obs, logs=use_cv)
        n = len(obs)
        df_pay = float(market.df(pd.DatetimeIndex([inst.maturity_date]))[0])
        y = inst.linked_payout(total / n / s0)
        y *= df_pay
        extras: dict[str, Any] = {"control_variate": "none"}
        if use_cv:
            assert log_total is not None
            x = inst.linked_payout(np.exp(log_total / n) / s0)
            x *= df_pay
            spot = market.spot(und)
            scale = inst.participation * inst.principal_cny / spot
            ex = scale * (
                geometric_asian_closed_form(market, und, obs, spot, "call", inst.maturity_date)
                - geometric_asian_closed_form(market, und, obs, spot * (1.0 + inst.cap), "call", inst.maturity_date)
            )
            xc = x - x.mean()
            var_x = float((xc * xc).sum())
            beta = float(((y - y.mean()) * xc).sum() / var_x) if var_x > 0 else 0.0
            plain, plain_se = mc_estimate(y)
            extras.update(
                {
                    "control_variate": "geometric",
                    "beta": beta,
                    "plain_call_spread_cny": plain,
                    "plain_call_spread_std_error": plain_se,
                }
            )
            y -= beta * (x - ex)
        option, option_se = mc_estimate(y)
        zcb = inst.guaranteed_cny * df_pay
        pv = (y + (zcb + _principal_leg(inst, market))) * inst.sign
        value = inst.sign * (option + zcb + _principal_leg(inst, market))
        ratio = total / n / s0
        extras.update(_deposit_extras(inst, market, zcb, option, float(np.mean(ratio > 1.0))))
        extras["call_spread_std_error"] = option_se
        method = self.name + (" + geometric control variate" if extras["control_variate"] == "geometric" else "")
        return PricingResult(inst.label(), value, option_se, method, extras, n_paths=p.n_paths, samples={"pv_cny": pv})


# ------------------------------------------------------------------------------------- carbon-linked bonds

_FREQUENCY = {1: ql.Monthly, 3: ql.Quarterly, 6: ql.Semiannual, 12: ql.Annual}
CFAR_LEVEL: float = 0.95
"""Quantile of the issuer's cash-flow-at-risk: coupons paid above their expectation with this probability."""


@dataclass(frozen=True)
class FixedLeg:
    """QuantLib figures of a bond's fixed leg and redemption on the market curve.

    Attributes
    ----------
    npv_cny : float
        Present value at the valuation date (``DiscountingBondEngine``).
    clean_price, dirty_price : float
        Per 100 of face at settlement (the valuation date, or the issue date of a bond not yet issued).
    yield_rate : float
        Yield compounded at the coupon frequency (day count of the bond) from the dirty price.
    modified_duration, macaulay_duration : float
        In years at that yield.
    flows : pandas.DataFrame
        ``date``, ``amount_cny`` of every coupon and the redemption.
    """

    npv_cny: float
    clean_price: float
    dirty_price: float
    yield_rate: float
    modified_duration: float
    macaulay_duration: float
    flows: pd.DataFrame


def _settlement(inst: CarbonLinkedBond, market: MarketEnv) -> pd.Timestamp:
    """Settlement of the yield figures: the valuation date, or the issue date of a bond not yet issued."""
    return max(pd.Timestamp(market.valuation_date), inst.issue_date)


def _yield_and_durations(
    bond: ql.Bond, dirty_price: float, dc: ql.DayCounter, freq: int, settle: pd.Timestamp
) -> tuple[float, float, float]:
    d = to_ql(settle)
    price = ql.BondPrice(dirty_price, ql.BondPrice.Dirty)
    y = float(ql.BondFunctions.bondYield(bond, price, dc, ql.Compounded, freq, d))
    rate = ql.InterestRate(y, dc, ql.Compounded, freq)
    modified = float(ql.BondFunctions.duration(bond, rate, ql.Duration.Modified, d))
    macaulay = float(ql.BondFunctions.duration(bond, rate, ql.Duration.Macaulay, d))
    return y, modified, macaulay


def bond_fixed_leg(inst: CarbonLinkedBond, market: MarketEnv) -> FixedLeg:
    """The fixed leg of ``inst`` priced with QuantLib (``FixedRateBond``, ``DiscountingBondEngine``, ``BondFunctions``).

    Notes
    -----
    :math:`PV = \\sum_j CF_j P(0, d_j)` over coupons and redemption; the yield :math:`y` solves
    :math:`\\mathrm{dirty} = \\sum_j CF_j (1 + y/f)^{-f\\,t_j}` (compounded at the coupon frequency f,
    :math:`t_j` in the bond's day count), durations at that yield.
    """
    ql.Settings.instance().evaluationDate = to_ql(market.valuation_date)
    bond = inst.ql_fixed_bond()
    bond.setPricingEngine(ql.DiscountingBondEngine(market.discount.handle()))
    npv = float(bond.NPV())
    settle = _settlement(inst, market)
    dirty = 100.0 * npv / float(inst.face_cny) / float(market.df(pd.DatetimeIndex([settle]))[0])
    clean = dirty - 100.0 * float(ql.BondFunctions.accruedAmount(bond, to_ql(settle))) / 100.0
    freq = _FREQUENCY[int(inst.coupon_months)]
    y, modified, macaulay = _yield_and_durations(bond, dirty, inst.ql_day_count(), freq, settle)
    flows = pd.DataFrame(
        {
            "date": pd.DatetimeIndex([from_ql(cf.date()) for cf in bond.cashflows()]),
            "amount_cny": [float(cf.amount()) for cf in bond.cashflows()],
        }
    )
    return FixedLeg(npv, clean, dirty, y, modified, macaulay, flows)


def _whole_bond_yield(
    inst: CarbonLinkedBond, market: MarketEnv, flows: pd.DataFrame, pv_cny: float
) -> tuple[float, float, float]:
    """Yield and durations of the whole bond: fixed flows plus expected linked coupons, at its total value."""
    ql.Settings.instance().evaluationDate = to_ql(market.valuation_date)
    leg = [ql.SimpleCashFlow(float(a), to_ql(d)) for d, a in zip(flows["date"], flows["amount_cny"], strict=True)]
    bond = ql.Bond(
        0, interbank_calendar(), float(inst.face_cny), to_ql(inst.maturity_date), to_ql(inst.issue_date), leg
    )
    settle = _settlement(inst, market)
    dirty = 100.0 * pv_cny / float(inst.face_cny) / float(market.df(pd.DatetimeIndex([settle]))[0])
    return _yield_and_durations(bond, dirty, inst.ql_day_count(), _FREQUENCY[int(inst.coupon_months)], settle)


@dataclass(frozen=True)
class MCCarbonLinkedBondEngine(Engine):
    """Carbon-linked bond: fixed leg by QuantLib, linked coupons by Monte Carlo with control variates.

    ``control_variate="auto"``: the average-price link uses the discrete geometric-average calls (closed form of
    :func:`~carbonrisk.finance.engines.geometric_asian_closed_form`) when the path set is lognormal with the market
    volatility, as :class:`carbonrisk.finance.engines.MCAsianEngine`; the project-income link uses the arithmetic
    averages themselves, whose expectation is the mean of the market forwards on such a path set (with deterministic
    volumes the estimate is then exact). Other path sets (a fitted model's, whose mean need not be the market's
    forward) and ``"none"`` use plain Monte Carlo.

    Notes
    -----
    :math:`V = \\pm(PV_{fixed} + E[\\sum_i P(0, d_i) C_i] - N P(0, t_{issue}) 1_{t_{issue} > 0})`, one control
    coefficient :math:`\\hat\\beta` for the sum of the periods' controls. Extras: the fixed leg's QuantLib price,
    yield and durations; the whole bond's yield and durations on its fixed flows plus the expected linked coupons
    (risk-neutral, :math:`E[C_i] = PV_i / P(0, d_i)`); the issuer's cash-flow-at-risk per coupon date,
    :math:`CFaR_i = q_{95\\%}(F_i + C_i) - E[F_i + C_i]`, and over the life on the sum of the coupons.
    """

    control_variate: Literal["auto", "none"] = "auto"
    name: ClassVar[str] = "QuantLib fixed leg + Monte Carlo linked coupons (path set)"
    needs_paths: ClassVar[bool] = True

    def _lognormal(self, inst: CarbonLinkedBond, market: MarketEnv, paths: PathSet) -> bool:
        return market_lognormal_paths(paths, market, inst.underlying)

    def calculate(
        self,
        instrument: CarbonLinkedBond,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        inst = instrument
        inst.check_dates(market.valuation_date)
        p = self._paths(paths)
        und = inst.underlying
        periods = inst.periods()
        pay = pd.DatetimeIndex([q.payment_date for q in periods])
        dfs = market.df(pay)
        n = p.n_paths
        volumes = inst.carbon_volumes_t
        if volumes is not None and volumes.ndim == 2 and volumes.shape[1] != n:
            raise PathSetError(f"carbon_volumes_t has {volumes.shape[1]} paths; the path set has {n}")
        use_geo = (
            self.control_variate == "auto"
            and inst.linked_coupon == "average_price"
            and self._lognormal(inst, market, p)
        )
        use_mean = (
            self.control_variate == "auto"
            and inst.linked_coupon == "project_income"
            and self._lognormal(inst, market, p)
        )
        coupons = np.empty((len(periods), n))
        y = np.zeros(n)
        x = np.zeros(n)
        ex = 0.0
        for i, period in enumerate(periods):
            total, log_total = fixing_sums(p, und, period.fixings, logs=use_geo)
            m = len(period.fixings)
            avg = total / m
            coupons[i] = inst.linked_coupon_cny(i, avg)
            y += float(dfs[i]) * coupons[i]
            if use_geo:
                assert log_total is not None and inst.strike_cny_per_t is not None
                x += float(dfs[i]) * inst.linked_coupon_cny(i, np.exp(log_total / m))
                k = inst.strike_cny_per_t
                scale = inst.face_cny * period.accrual_years * inst.participation / k
                fix = period.fixings
                value = geometric_asian_closed_form(market, und, fix, k, "call", period.payment_date)
                if inst.linked_cap_rate is not None and inst.participation > 0:
                    k2 = k * (1.0 + inst.linked_cap_rate / inst.participation)
                    value -= geometric_asian_closed_form(market, und, fix, k2, "call", period.payment_date)
                ex += scale * value
            elif use_mean:
                v_bar = float(np.mean(volumes[i]))
                x += float(dfs[i]) * inst.income_share * v_bar * avg
                ex += float(dfs[i]) * inst.income_share * v_bar * float(market.forward(und, period.fixings).mean())
        extras: dict[str, Any] = {"control_variate": "geometric" if use_geo else "mean" if use_mean else "none"}
        if use_geo or use_mean:
            xc = x - x.mean()
            var_x = float((xc * xc).sum())
            beta = float(((y - y.mean()) * xc).sum() / var_x) if var_x > 0 else 0.0
            plain, plain_se = mc_estimate(y)
            extras.update({"beta": beta, "plain_linked_pv_cny": plain, "plain_linked_std_error": plain_se})
            y = y - beta * (x - ex)
        linked, linked_se = mc_estimate(y)
        fixed = bond_fixed_leg(inst, market)
        issue_leg = 0.0
        if inst.issue_date > market.valuation_date:
            issue_leg = -inst.face_cny * float(market.df(pd.DatetimeIndex([inst.issue_date]))[0])
        value = inst.sign * (fixed.npv_cny + linked + issue_leg)
        pv = inst.sign * (y + fixed.npv_cny + issue_leg)
        # expected linked coupons per period: the per-period discounted estimate (no CV) rescaled to the CV total
        plain_pv = dfs * coupons.mean(axis=1)
        expected_linked = coupons.mean(axis=1) * (linked / plain_pv.sum() if plain_pv.sum() > 0 else 1.0)
        fixed_amounts = (
            fixed.flows.groupby("date")["amount_cny"].sum().reindex(pay, fill_value=0.0).to_numpy(dtype=float)
        )
        redemption = np.zeros(len(periods))
        redemption[-1] = inst.face_cny
        coupon_fixed = fixed_amounts - redemption
        paid = coupons + coupon_fixed[:, None]
        cfar = np.quantile(paid, CFAR_LEVEL, axis=1) - paid.mean(axis=1)
        life = paid.sum(axis=0)
        flows = pd.DataFrame(
            {
                "date": pay,
                "fixed_coupon_cny": coupon_fixed,
                "expected_linked_coupon_cny": expected_linked,
                "redemption_cny": redemption,
                "coupon_p95_cny": np.quantile(paid, CFAR_LEVEL, axis=1),
                "issuer_cfar_95_cny": cfar,
                "df": dfs,
            }
        )
        flows["expected_cny"] = (
            flows["fixed_coupon_cny"] + flows["expected_linked_coupon_cny"] + flows["redemption_cny"]
        )
        flows["pv_cny"] = flows["expected_cny"] * flows["df"]
        whole_flows = pd.DataFrame({"date": pay, "amount_cny": flows["expected_cny"].to_numpy()})
        extras.update(
            {
                "fixed_leg_pv_cny": fixed.npv_cny,
                "fixed_leg_clean_price": fixed.clean_price,
                "fixed_leg_dirty_price": fixed.dirty_price,
                "fixed_leg_yield": fixed.yield_rate,
                "fixed_leg_modified_duration": fixed.modified_duration,
                "fixed_leg_macaulay_duration": fixed.macaulay_duration,
                "linked_leg_pv_cny": linked,
                "linked_leg_std_error": linked_se,
                "issuer_cfar_95_max_coupon_cny": float(cfar.max()),
                "issuer_cfar_95_life_cny": float(np.quantile(life, CFAR_LEVEL) - life.mean()),
            }
        )
        if not quick:
            pv_bond = fixed.npv_cny + linked
            y_all, mod_all, mac_all = _whole_bond_yield(inst, market, whole_flows, pv_bond)
            extras.update(
                {
                    "price_per_100": 100.0 * pv_bond / inst.face_cny,
                    "yield": y_all,
                    "modified_duration": mod_all,
                    "macaulay_duration": mac_all,
                }
            )
        return PricingResult(inst.label(), value, linked_se, self.name, extras, flows, p.n_paths, {"pv_cny": pv})
