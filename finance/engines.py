"""Pricing engines for forwards, options, guaranteed-price contracts, swaps, swaptions and exchange options.

An engine holds the method; :meth:`calculate` takes the instrument, the market and (for Monte Carlo) a
:class:`~carbonrisk.models.paths.PathSet`, never a price model, and returns a
:class:`~carbonrisk.finance.results.PricingResult`. Closed forms come from QuantLib (Black-76 ``blackFormula``,
``AnalyticDiscreteGeometricAveragePriceAsianEngine``, ``AnalyticEuropeanMargrabeEngine``); Monte Carlo engines read the
fixings they need from the path set and discount with the market's curve (deterministic rates).

QuantLib processes are built from the market: the risk-free curve is the discount curve and the dividend curve is
chosen so that the process forward equals the market forward curve, :math:`q(t) = r(t) - \\ln(F(t)/S_0)/t`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import QuantLib as ql

from carbonrisk.finance.exceptions import PathSetError
from carbonrisk.finance.instruments import (
    AsianOption,
    CarbonSwap,
    CarbonSwaption,
    EuropeanOption,
    ExchangeOption,
    Forward,
    GuaranteedPurchase,
    GuaranteedSale,
    vanilla_payoff,
)
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.results import PricingResult, date_rows, fixing_sums, mc_estimate, prices_on
from carbonrisk.models.calendar import to_ql, year_fractions
from carbonrisk.models.paths import PathSet

__all__ = [
    "AnalyticForwardEngine",
    "AnalyticGeometricAsianEngine",
    "AnalyticSwapEngine",
    "Black76Engine",
    "BlackSwaptionEngine",
    "Engine",
    "MCAsianEngine",
    "MCEuropeanEngine",
    "MCExchangeEngine",
    "MCForwardEngine",
    "MCGuaranteedEngine",
    "MCSwapEngine",
    "MCSwaptionEngine",
    "MargrabeEngine",
    "bsm_process",
    "geometric_asian_closed_form",
]


class Engine:
    """Base class: ``calculate(instrument, *, market, paths=None, rng=None, quick=False) -> PricingResult``.

    Market data and randomness are keyword-only arguments given at pricing time (as in rateslib): ``market`` is the
    :class:`MarketEnv` (spots, curve, volatilities, market depth), ``paths`` the path set (required when
    ``needs_paths``), ``rng`` the seed (``SeedSequence`` entropy) of the engine's own draws (borrower defaults,
    top-ups, issuance failures); when it is ``None`` those draws use the path set's ``seed_entropy`` and an engine
    that must draw without either raises, so no draw is ever made from a hidden default seed. Engines that draw
    nothing ignore ``rng``. ``quick=True`` skips costly extras (used by the bump-and-revalue sensitivities).
    """

    name: ClassVar[str] = "engine"
    needs_paths: ClassVar[bool] = False

    def calculate(
        self,
        instrument: Any,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        """Value ``instrument``."""
        raise NotImplementedError

    @staticmethod
    def _paths(paths: PathSet | None) -> PathSet:
        if paths is None:
            raise PathSetError("this Monte Carlo engine needs a path set (paths=None given)")
        return paths


def _ql_type(option_type: str) -> int:
    return int(ql.Option.Call if option_type == "call" else ql.Option.Put)


def bsm_process(
    market: MarketEnv, name: str, horizon: pd.Timestamp, *, spot_scale: float = 1.0
) -> ql.GeneralizedBlackScholesProcess:
    """QuantLib Black-Scholes-Merton process of ``name`` whose forward matches the market forward curve.

    ``spot_scale`` multiplies the spot (used to price quantities other than one tonne with QuantLib engines that
    only take unit or integer quantities).
    """
    vd = market.valuation_date
    ql.Settings.instance().evaluationDate = to_ql(vd)
    dc = ql.Actual365Fixed()
    s0 = market.spot(name)
    grid = pd.date_range(vd + pd.Timedelta(days=7), horizon + pd.Timedelta(days=400), periods=60)
    t = year_fractions(vd, grid)
    fwd = market.forward(name, grid)
    q = np.array([market.discount.zero_rate(x) for x in t]) - np.log(fwd / s0) / t
    dates = [to_ql(vd)] + [to_ql(d) for d in grid]
    div = ql.ZeroCurve(dates, [float(q[0])] + [float(v) for v in q], dc, ql.NullCalendar(), ql.Linear(), ql.Continuous)
    div.enableExtrapolation()
    vol = ql.BlackConstantVol(to_ql(vd), ql.NullCalendar(), market.vol(name), dc)
    return ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(s0 * spot_scale)),
        ql.YieldTermStructureHandle(div),
        market.discount.handle(),
        ql.BlackVolTermStructureHandle(vol),
    )


def geometric_asian_closed_form(
    market: MarketEnv,
    underlying: str,
    fixings: pd.DatetimeIndex,
    strike: float,
    option_type: str,
    pay: pd.Timestamp,
    *,
    n_past: int = 0,
    past_log_sum: float = 0.0,
) -> float:
    """Discrete geometric-average option under GBM with the market forward curve (per tonne).

    Notes
    -----
    :math:`\\ln G = \\frac1n\\sum_i(\\ln F_i - \\sigma^2 t_i/2) + \\frac{\\sigma}{n}\\sum_i W_{t_i}` is normal with
    variance :math:`v = \\frac{\\sigma^2}{n^2}\\sum_{i,j}\\min(t_i,t_j)` (``n`` counts the ``n_past`` observed
    fixings too, whose log-sum ``past_log_sum`` adds to the mean); the price is Black-76 with forward
    :math:`e^{m + v/2}` and standard deviation :math:`\\sqrt v`. Checked against QuantLib's
    ``AnalyticDiscreteGeometricAveragePriceAsianEngine`` in the tests.
    """
    t = np.sort(year_fractions(market.valuation_date, fixings))
    k = t.size
    n = k + n_past
    sig = market.vol(underlying)
    m = float((past_log_sum + np.sum(np.log(market.forward(underlying, fixings)) - 0.5 * sig**2 * t)) / n)
    v = float(sig**2 / n**2 * np.sum(t * (2.0 * (k - 1 - np.arange(k)) + 1.0)))
    df = float(market.df(pay)[0])
    return float(ql.blackFormula(_ql_type(option_type), strike, math.exp(m + 0.5 * v), math.sqrt(v), df))


# ------------------------------------------------------------------------------------------------ forwards


@dataclass(frozen=True)
class AnalyticForwardEngine(Engine):
    """Forward value on the forward curve: :math:`\\pm Q P(0,T)(F(0,T) - K)`."""

    name: ClassVar[str] = "forward curve (analytic)"

    def calculate(
        self,
        instrument: Forward,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        instrument.check_dates(market.valuation_date)
        d = pd.DatetimeIndex([instrument.delivery_date])
        f = float(market.forward(instrument.underlying, d)[0])
        df = float(market.df(d)[0])
        k = instrument.strike_cny_per_t
        value = instrument.sign * instrument.quantity_t * df * (f - k)
        cf = pd.DataFrame({"date": d, "expected_cny": [instrument.sign * instrument.quantity_t * (f - k)], "df": [df]})
        cf["pv_cny"] = cf["expected_cny"] * cf["df"]
        extras = {"forward_cny_per_t": f, "discount_factor": df, "mark_to_market_cny_per_t": instrument.sign * (f - k)}
        return PricingResult(instrument.label(), value, 0.0, self.name, extras, cf)


@dataclass(frozen=True)
class MCForwardEngine(Engine):
    """Forward value as the discounted mean of :math:`\\pm Q (S_T - K)` over the path set."""

    name: ClassVar[str] = "Monte Carlo (path set)"
    needs_paths: ClassVar[bool] = True

    def calculate(
        self,
        instrument: Forward,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        instrument.check_dates(market.valuation_date)
        p = self._paths(paths)
        d = pd.DatetimeIndex([instrument.delivery_date])
        s = prices_on(p, instrument.underlying, d)[0]
        df = float(market.df(d)[0])
        pv = instrument.sign * instrument.quantity_t * df * (s - instrument.strike_cny_per_t)
        v, se = mc_estimate(pv)
        return PricingResult(
            instrument.label(),
            v,
            se,
            self.name,
            {"mean_price_cny_per_t": float(s.mean())},
            n_paths=p.n_paths,
            samples={"pv_cny": pv},
        )


# ------------------------------------------------------------------------------------------------ options


@dataclass(frozen=True)
class Black76Engine(Engine):
    """Black-76 on the market forward (QuantLib ``blackFormula``)."""

    name: ClassVar[str] = "Black-76 (QuantLib blackFormula)"

    def calculate(
        self,
        instrument: EuropeanOption,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        instrument.check_dates(market.valuation_date)
        d = pd.DatetimeIndex([instrument.expiry])
        t = float(year_fractions(market.valuation_date, d)[0])
        f = float(market.forward(instrument.underlying, d)[0])
        df = float(market.df(d)[0])
        sd = market.vol(instrument.underlying) * math.sqrt(t)
        unit = ql.blackFormula(_ql_type(instrument.option_type), instrument.strike_cny_per_t, f, sd, df)
        extras = {"forward_cny_per_t": f, "discount_factor": df, "time_years": t, "price_per_t": unit}
        return PricingResult(instrument.label(), instrument.quantity_t * unit, 0.0, self.name, extras)


@dataclass(frozen=True)
class MCEuropeanEngine(Engine):
    """Discounted mean payoff over the path set."""

    name: ClassVar[str] = "Monte Carlo (path set)"
    needs_paths: ClassVar[bool] = True

    def calculate(
        self,
        instrument: EuropeanOption,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        instrument.check_dates(market.valuation_date)
        p = self._paths(paths)
        d = pd.DatetimeIndex([instrument.expiry])
        s = p[instrument.underlying][date_rows(p, instrument.underlying, d)[0]]
        df = float(market.df(d)[0])
        pv = instrument.payoff(s)
        pv *= df
        v, se = mc_estimate(pv)
        return PricingResult(
            instrument.label(), v, se, self.name, {"discount_factor": df}, n_paths=p.n_paths, samples={"pv_cny": pv}
        )


@dataclass(frozen=True)
class AnalyticGeometricAsianEngine(Engine):
    """Geometric-average option: QuantLib ``AnalyticDiscreteGeometricAveragePriceAsianEngine``."""

    name: ClassVar[str] = "geometric Asian (QuantLib analytic)"

    def calculate(
        self,
        instrument: AsianOption,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        instrument.check_dates(market.valuation_date)
        if instrument.average != "geometric":
            raise PathSetError("the analytic Asian engine prices geometric averages only; use MCAsianEngine")
        fx = instrument.fixings(market.valuation_date)
        fix = fx.future_dates
        if fx.past_log_sum > 700.0:  # QuantLib takes the running product of past fixings, which would overflow
            unit = geometric_asian_closed_form(
                market,
                instrument.underlying,
                fix,
                instrument.strike_cny_per_t,
                instrument.option_type,
                instrument.payment_date,
                n_past=fx.n_past,
                past_log_sum=fx.past_log_sum,
            )
            extras = {"price_per_t": unit, "n_fixings": fx.n_total, "n_past_fixings": fx.n_past}
            method = "geometric Asian (closed form; running product too large for QuantLib)"
            return PricingResult(instrument.label(), instrument.quantity_t * unit, 0.0, method, extras)
        process = bsm_process(market, instrument.underlying, fix[-1])
        option = ql.DiscreteAveragingAsianOption(
            ql.Average.Geometric,
            math.exp(fx.past_log_sum),
            fx.n_past,
            [to_ql(d) for d in fix],
            ql.PlainVanillaPayoff(_ql_type(instrument.option_type), instrument.strike_cny_per_t),
            ql.EuropeanExercise(to_ql(fix[-1])),
        )
        option.setPricingEngine(ql.AnalyticDiscreteGeometricAveragePriceAsianEngine(process))
        unit = float(option.NPV())
        return PricingResult(
            instrument.label(),
            instrument.quantity_t * unit,
            0.0,
            self.name,
            {"price_per_t": unit, "n_fixings": fx.n_total, "n_past_fixings": fx.n_past},
        )


ControlVariate = Literal["auto", "geometric", "none"]


@dataclass(frozen=True)
class MCAsianEngine(Engine):
    """Average-price option by Monte Carlo, with the geometric-average control variate.

    ``control_variate="auto"`` uses it when the path set declares itself lognormal with the market volatility
    (``meta["lognormal"]`` and ``meta["vols"]``), the only case where the closed form of the geometric option is
    its exact expectation; ``"geometric"`` forces it, ``"none"`` switches it off.

    Notes
    -----
    :math:`\\hat V = \\bar Y - \\hat\\beta(\\bar X - E[X])`,
    :math:`\\hat\\beta = \\widehat{cov}(Y,X)/\\widehat{var}(X)`,
    Y the discounted arithmetic payoff, X the discounted geometric payoff; s.e. from the residual
    :math:`Y - \\hat\\beta X`.
    """

    control_variate: ControlVariate = "auto"
    name: ClassVar[str] = "Monte Carlo (path set)"
    needs_paths: ClassVar[bool] = True

    def use_cv(self, instrument: AsianOption, market: MarketEnv, paths: PathSet) -> bool:
        """Whether the geometric control variate applies to this path set."""
        if instrument.average == "geometric" or self.control_variate == "none":
            return False
        if self.control_variate == "geometric":
            return True
        vols = paths.meta.get("vols", {}) if isinstance(paths.meta, dict) else {}
        sig = vols.get(instrument.underlying) if isinstance(vols, dict) else None
        return (
            bool(paths.meta.get("lognormal"))
            and sig is not None
            and abs(float(sig) - market.vol(instrument.underlying)) < 1e-12
        )

    def samples(self, instrument: AsianOption, market: MarketEnv, paths: PathSet) -> tuple[np.ndarray, dict[str, Any]]:
        """Per-path discounted (control-variate adjusted) payoffs in CNY, and extras.

        The fixing rows are read in place (:func:`~carbonrisk.finance.results.fixing_sums`), and the control-variate
        coefficient comes from centred sums in numpy (pairwise, not BLAS: the same numbers for any thread count).
        """
        fx = instrument.fixings(market.valuation_date)
        fix = fx.future_dates
        geometric = instrument.average == "geometric"
        use_cv = self.use_cv(instrument, market, paths)
        total, log_total = fixing_sums(paths, instrument.underlying, fix, logs=geometric or use_cv)
        df = float(market.df(instrument.payment_date)[0])
        option_type, k = instrument.option_type, instrument.strike_cny_per_t
        scale = instrument.quantity_t * df
        n = fx.n_total
        geo = None
        if log_total is not None:
            log_total += fx.past_log_sum
            log_total /= n
            geo = np.exp(log_total, out=log_total)
        if geometric:
            assert geo is not None
            avg = geo
        else:
            avg = total
            avg += fx.past_sum
            avg /= n
        y = vanilla_payoff(avg, option_type, k, scale)
        extras: dict[str, Any] = {"n_fixings": fx.n_total, "n_past_fixings": fx.n_past, "control_variate": "none"}
        if use_cv:
            assert geo is not None
            x = vanilla_payoff(geo, option_type, k, scale)
            ex = instrument.quantity_t * geometric_asian_closed_form(
                market,
                instrument.underlying,
                fix,
                k,
                instrument.option_type,
                instrument.payment_date,
                n_past=fx.n_past,
                past_log_sum=fx.past_log_sum,
            )
            xc = x - x.mean()
            var_x = float((xc * xc).sum())
            beta = float(((y - y.mean()) * xc).sum() / var_x) if var_x > 0 else 0.0
            extras.update(
                {
                    "control_variate": "geometric",
                    "beta": beta,
                    "plain_value": float(y.mean()),
                    "plain_std_error": float(y.std(ddof=1) / math.sqrt(y.size)),
                }
            )
            x -= ex
            x *= beta
            y -= x
        return y, extras

    def calculate(
        self,
        instrument: AsianOption,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        instrument.check_dates(market.valuation_date)
        p = self._paths(paths)
        y, extras = self.samples(instrument, market, p)
        v, se = mc_estimate(y)
        method = self.name + (" + geometric control variate" if extras["control_variate"] == "geometric" else "")
        return PricingResult(instrument.label(), v, se, method, extras, n_paths=p.n_paths, samples={"pv_cny": y})


# ------------------------------------------------------------------------------------------- guarantees


@dataclass(frozen=True)
class MCGuaranteedEngine(Engine):
    """Guaranteed-price contract: direct payoff by Monte Carlo, and its decomposition into average-price options.

    The value is the Monte Carlo mean of the document's payoff formula; ``extras`` holds the decomposition
    (printed as text), its value from :class:`MCAsianEngine` legs on the same paths (with their control
    variate) and the difference with its standard error (per-path difference, so correlation is accounted for).
    """

    name: ClassVar[str] = "Monte Carlo (path set), direct payoff"
    needs_paths: ClassVar[bool] = True

    def calculate(
        self,
        instrument: GuaranteedPurchase | GuaranteedSale,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        instrument.check_dates(market.valuation_date)
        p = self._paths(paths)
        fx = instrument.fixings(market.valuation_date)
        fix = fx.future_dates
        total, _ = fixing_sums(p, instrument.underlying, fix, logs=False)
        a = (fx.past_sum + total) / fx.n_total
        df = float(market.df(instrument.payment_date)[0])
        direct = instrument.volume_t * df * instrument.payoff_per_t(a)
        v, se = mc_estimate(direct)
        extras: dict[str, Any] = {
            "decomposition": instrument.describe_decomposition(),
            "expected_average_cny_per_t": float(
                (fx.past_sum + market.forward(instrument.underlying, fix).sum()) / fx.n_total
            ),
        }
        if not quick:
            leg_engine = MCAsianEngine()
            combo = np.zeros(p.n_paths)
            legs = []
            for weight, leg in instrument.decomposition():
                y, _ = leg_engine.samples(leg, market, p)
                lv, lse = mc_estimate(y)
                legs.append(
                    {
                        "weight": weight,
                        "option": f"average {leg.option_type} K={leg.strike_cny_per_t:g}",
                        "value": lv,
                        "std_error": lse,
                    }
                )
                combo += weight * y
            dv, dse = mc_estimate(combo)
            diff, diff_se = mc_estimate(direct - combo)
            extras.update(
                {
                    "legs": legs,
                    "decomposition_value": dv,
                    "decomposition_std_error": dse,
                    "difference": diff,
                    "difference_std_error": diff_se,
                }
            )
        return PricingResult(
            instrument.label(), v, se, self.name, extras, n_paths=p.n_paths, samples={"pv_cny": direct}
        )


# ------------------------------------------------------------------------------------------------ swaps


def _swap_legs(
    swap: CarbonSwap, market: MarketEnv
) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray, list[pd.DatetimeIndex]]:
    sched = swap.schedule()
    fixings = swap.period_fixings()
    pay = sched[1:]
    df = market.df(pay)
    expected = np.array([market.forward(swap.underlying, f).mean() for f in fixings])
    return pay, df, expected, fixings


@dataclass(frozen=True)
class AnalyticSwapEngine(Engine):
    """Swap on the forward curve: :math:`\\pm Q \\sum_i P(0,d_i)(\\bar F_i - K)`, :math:`\\bar F_i` the mean forward
    over period i's fixings (the expected period average under any model that reprices the forward curve)."""

    name: ClassVar[str] = "forward curve (analytic)"

    def calculate(
        self,
        instrument: CarbonSwap,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        instrument.check_dates(market.valuation_date)
        pay, df, expected, _ = _swap_legs(instrument, market)
        q, k = instrument.quantity_t_per_period, instrument.fixed_price_cny_per_t
        flows = instrument.sign * q * (expected - k)
        annuity = q * float(df.sum())
        rate = float((df * expected).sum() / df.sum())
        cf = pd.DataFrame({"date": pay, "expected_average_cny_per_t": expected, "expected_cny": flows, "df": df})
        cf["pv_cny"] = cf["expected_cny"] * cf["df"]
        extras = {"swap_rate_cny_per_t": rate, "annuity_cny_per_cny_per_t": annuity, "n_periods": len(pay)}
        return PricingResult(instrument.label(), float(cf["pv_cny"].sum()), 0.0, self.name, extras, cf)


@dataclass(frozen=True)
class MCSwapEngine(Engine):
    """Swap by Monte Carlo: realised period averages on the path set."""

    name: ClassVar[str] = "Monte Carlo (path set)"
    needs_paths: ClassVar[bool] = True

    def calculate(
        self,
        instrument: CarbonSwap,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        instrument.check_dates(market.valuation_date)
        p = self._paths(paths)
        pay, df, _, fixings = _swap_legs(instrument, market)
        q, k = instrument.quantity_t_per_period, instrument.fixed_price_cny_per_t
        total = np.zeros(p.n_paths)
        for i, f in enumerate(fixings):
            total += instrument.sign * q * df[i] * (prices_on(p, instrument.underlying, f).mean(axis=0) - k)
        v, se = mc_estimate(total)
        return PricingResult(
            instrument.label(), v, se, self.name, {"n_periods": len(pay)}, n_paths=p.n_paths, samples={"pv_cny": total}
        )


def _swaption_inputs(
    instrument: CarbonSwaption, market: MarketEnv
) -> tuple[float, float, float, np.ndarray, np.ndarray]:
    swap = instrument.swap
    _, df, expected, _ = _swap_legs(swap, market)
    f_expiry = float(market.forward(swap.underlying, pd.DatetimeIndex([instrument.expiry]))[0])
    ratio = expected / f_expiry  # E_T0[A_i] = S_T0 * ratio_i for fixings after expiry
    annuity = swap.quantity_t_per_period * float(df.sum())
    rate = float((df * expected).sum() / df.sum())
    t = float(year_fractions(market.valuation_date, pd.DatetimeIndex([instrument.expiry]))[0])
    return rate, annuity, t, df, ratio


@dataclass(frozen=True)
class BlackSwaptionEngine(Engine):
    """Black on the forward swap rate with its annuity (QuantLib ``blackFormula``, discount 1, annuity outside)."""

    name: ClassVar[str] = "Black on swap rate x annuity (QuantLib blackFormula)"

    def calculate(
        self,
        instrument: CarbonSwaption,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        instrument.check_dates(market.valuation_date)
        swap = instrument.swap
        rate, annuity, t, _, _ = _swaption_inputs(instrument, market)
        kind = "call" if swap.position == "payer" else "put"
        sd = market.vol(swap.underlying) * math.sqrt(t)
        value = annuity * ql.blackFormula(_ql_type(kind), swap.fixed_price_cny_per_t, rate, sd, 1.0)
        extras = {
            "swap_rate_cny_per_t": rate,
            "annuity_cny_per_cny_per_t": annuity,
            "expiry_years": t,
            "swap_rate_vol": market.vol(swap.underlying),
        }
        return PricingResult(instrument.label(), float(value), 0.0, self.name, extras)


@dataclass(frozen=True)
class MCSwaptionEngine(Engine):
    """Swaption by Monte Carlo: at expiry each path's swap is valued on the forward curve rescaled to the path's
    price, :math:`E_{T_0}[A_i] = S_{T_0} \\bar F_i / F(T_0)`, and exercised when its value is positive."""

    name: ClassVar[str] = "Monte Carlo (path set)"
    needs_paths: ClassVar[bool] = True

    def calculate(
        self,
        instrument: CarbonSwaption,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        instrument.check_dates(market.valuation_date)
        p = self._paths(paths)
        swap = instrument.swap
        _, _, _, df, ratio = _swaption_inputs(instrument, market)
        s0 = prices_on(p, swap.underlying, pd.DatetimeIndex([instrument.expiry]))[0]
        q, k = swap.quantity_t_per_period, swap.fixed_price_cny_per_t
        # einsum, not BLAS: per-path values must not depend on the BLAS thread count of the process
        swap_pv = swap.sign * q * np.einsum("np,p->n", np.outer(s0, ratio) - k, df)
        exercised = np.maximum(swap_pv, 0.0)
        v, se = mc_estimate(exercised)
        return PricingResult(
            instrument.label(),
            v,
            se,
            self.name,
            {"exercise_probability": float(np.mean(swap_pv > 0))},
            n_paths=p.n_paths,
            samples={"pv_cny": exercised},
        )


# --------------------------------------------------------------------------------------- exchange option


@dataclass(frozen=True)
class MargrabeEngine(Engine):
    """Margrabe closed form: QuantLib ``AnalyticEuropeanMargrabeEngine`` (quantities folded into the spots)."""

    name: ClassVar[str] = "Margrabe (QuantLib analytic)"

    def calculate(
        self,
        instrument: ExchangeOption,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        instrument.check_dates(market.valuation_date)
        p1 = bsm_process(market, instrument.receive, instrument.expiry, spot_scale=instrument.quantity_receive_t)
        p2 = bsm_process(market, instrument.deliver, instrument.expiry, spot_scale=instrument.quantity_deliver_t)
        option = ql.MargrabeOption(1, 1, ql.EuropeanExercise(to_ql(instrument.expiry)))
        option.setPricingEngine(ql.AnalyticEuropeanMargrabeEngine(p1, p2, market.correlation))
        s1, s2 = market.vol(instrument.receive), market.vol(instrument.deliver)
        rho = market.correlation
        extras = {"exchange_vol": math.sqrt(s1**2 + s2**2 - 2 * rho * s1 * s2), "correlation": rho}
        return PricingResult(instrument.label(), float(option.NPV()), 0.0, self.name, extras)


@dataclass(frozen=True)
class MCExchangeEngine(Engine):
    """Exchange option by Monte Carlo on the joint CEA / CCER path set."""

    name: ClassVar[str] = "Monte Carlo (joint path set)"
    needs_paths: ClassVar[bool] = True

    def calculate(
        self,
        instrument: ExchangeOption,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        instrument.check_dates(market.valuation_date)
        p = self._paths(paths)
        d = pd.DatetimeIndex([instrument.expiry])
        s1 = prices_on(p, instrument.receive, d)[0]
        s2 = prices_on(p, instrument.deliver, d)[0]
        df = float(market.df(d)[0])
        pay = df * np.maximum(instrument.quantity_receive_t * s1 - instrument.quantity_deliver_t * s2, 0.0)
        v, se = mc_estimate(pay)
        return PricingResult(
            instrument.label(),
            v,
            se,
            self.name,
            {"exercise_probability": float(np.mean(pay > 0))},
            n_paths=p.n_paths,
            samples={"pv_cny": pay},
        )
