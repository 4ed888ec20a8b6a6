"""Engines of the structured products: green structured deposits and carbon-linked bonds (issue 18).

Structured deposit (:class:`~finance.instruments.StructuredDeposit`)
    :class:`Black76DepositEngine` (``averaging = "final"``): a zero-coupon bond plus a call spread on the ratio
    :math:`X = S_T / S_0`, each call by Black-76 (QuantLib ``blackFormula``); :class:`MCDepositEngine`: the
    discounted payout on the path set, with the geometric-average control variate for ``monthly`` averaging
    (:func:`finance.engines.geometric_asian_closed_form`, the closed form of the average-price engines).
Carbon-linked bond (:class:`~finance.instruments.CarbonLinkedBond`)
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

from finance.engines import Engine, geometric_asian_closed_form
from finance.exceptions import PathSetError
from finance.instruments import StructuredDeposit
from finance.market import MarketEnv
from finance.results import PricingResult, date_rows, fixing_sums, mc_estimate
from models.calendar import year_fractions
from models.paths import PathSet

__all__ = [
    "Black76DepositEngine",
    "MCDepositEngine",
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
    is lognormal with the market volatility (as :class:`finance.engines.MCAsianEngine`); ``"geometric"`` forces
    it, ``"none"`` switches it off.

    Notes
    -----
    Per path :math:`Y = P(0,T)\\,pN \\max(0, \\min(A/S_0 - 1, c))`, A the final close or the mean of the month-end
    closes; control :math:`X` the same payout on the geometric mean G, whose expectation is
    :math:`pN/S_0 [C_G(S_0) - C_G(S_0(1+c))]` with :math:`C_G` the discrete geometric-average call
    (:func:`~finance.engines.geometric_asian_closed_form`); :math:`\\hat V = \\bar Y - \\hat\\beta(\\bar X - E X)`,
    s.e. from the residual. The zero-coupon part is exact (deterministic rates).
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
        vols = paths.meta.get("vols", {}) if isinstance(paths.meta, dict) else {}
        sig = vols.get(inst.underlying) if isinstance(vols, dict) else None
        return (
            bool(paths.meta.get("lognormal"))
            and sig is not None
            and abs(float(sig) - market.vol(inst.underlying)) < 1e-12
        )

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
