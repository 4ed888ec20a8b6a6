"""Full revaluation of instruments on every path at a risk horizon: one P&L definition for every component.

For a horizon date :math:`h` (a row of the path set) and a component whose value today is :math:`V_0`,

.. math::

    \\mathrm{PnL}(h) = V_h + \\sum_{t_i \\le h} CF_{t_i} \\frac{P(0, t_i)}{P(0, h)} - V_0,

with :math:`P(0, t)` the discount factors of the market's (QuantLib) curve, so that a cash flow paid before
:math:`h` is carried to :math:`h` at the curve's forward rates and a value at :math:`h` of a flow paid at
:math:`T > h` is discounted with :math:`P(h, T) = P(0, T) / P(0, h)` (deterministic rates). :func:`horizon_value`
returns :math:`V_h + \\sum CF` per path; :math:`V_0` is the same function at row 0 (the valuation date, where
every path holds the spot), so the today value and the horizon value use one method and one set of inputs.

State at the horizon
    * the path's price :math:`S_h` of each factor, carried to delivery along the market's forward curve:
      :math:`E_h[S_T] = F_h(T) = S_h F(0, T) / F(0, h)` (linear instruments: forwards, swaps, obligations,
      the linear parts of guaranteed contracts);
    * the fixings already on the path (averaging windows, swap periods, obligation years);
    * the remaining time, and as volatility the model's expected average variance from :math:`h` to expiry
      given its conditional variance at :math:`h` (:class:`ModelVariance`), or a constant volatility
      (:class:`FlatVolatility`: the market's, documented fallback when the path set carries no variance).

Closed forms, vectorised over paths (numpy; checked against QuantLib on individual paths in the tests)
    * European options: Black-76 (Black 1976; QuantLib ``blackFormula``) on :math:`F_h(T)`;
    * arithmetic Asian options and guaranteed-price contracts: the average of the remaining fixings matched to a
      lognormal by its first two moments (Levy 1992; Turnbull and Wakeman 1991), with the observed fixings fixed,
      then Black-76 on the shifted strike; geometric Asian options: the exact lognormal conditional law
      (Kemna and Vorst 1990), the same formula as QuantLib's ``AnalyticDiscreteGeometricAveragePriceAsianEngine``;
    * swaptions: Black on the forward swap rate at :math:`h` times its annuity (as
      :class:`~carbonrisk.finance.engines.BlackSwaptionEngine`); after expiry the swap on the paths where it was
      exercised (exercise when its value at expiry is positive, as
      :class:`~carbonrisk.finance.engines.MCSwaptionEngine`);
    * exchange options: Margrabe (1978) on the two forwards (as QuantLib's ``AnalyticEuropeanMargrabeEngine``).

Structured products (issue 18)
    structured deposits: the bond part on the curve and the call spread by Black-76 on the state (final close;
    forward start: the forward-start spread) or on the moment-matched monthly average; carbon-linked bonds with an
    average-price coupon: the fixed leg on the curve and the linked coupons as moment-matched average-price call
    spreads.

No closed form (pledge and project loans, early monetisation, bonds paying a share of a project's credit income)
    :class:`RegressionRevaluation`: least-squares Monte Carlo (Longstaff and Schwartz 2001). The engine's per-path
    present value :math:`Y` (to today) is regressed on a cubic polynomial in :math:`x = S_h / S_0` of the
    instrument's first factor, on a fixed pilot set of paths drawn from its own seed stream, so the coefficients
    and therefore every path's value are the same however the run is split. Then
    :math:`V_h + \\sum CF = \\hat E[Y \\mid x_h] / P(0, h)` and :math:`V_0 = \\bar Y_{\\text{pilot}}`; when the
    instrument's last cash flow is on or before :math:`h`, :math:`Y` is known at :math:`h` and used as it is
    (no regression). The regression's residual standard deviation and :math:`R^2` are reported. For a loan
    :math:`Y` is the engine's PV of the lender's receipts minus the principal: the P&L of a lender funded at
    the curve rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
from scipy.special import ndtr

from carbonrisk.finance.exceptions import PathSetError
from carbonrisk.finance.instruments import (
    AsianOption,
    CarbonLinkedBond,
    CarbonSwap,
    CarbonSwaption,
    EuropeanOption,
    ExchangeOption,
    Forward,
    GuaranteedPurchase,
    GuaranteedSale,
    Instrument,
    StructuredDeposit,
    vanilla_payoff,
)
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.structured import bond_fixed_leg
from carbonrisk.models.calendar import as_datetime_index, year_fractions
from carbonrisk.models.paths import PathSet
from carbonrisk.models.units import TRADING_DAYS_PER_YEAR

__all__ = [
    "FlatVolatility",
    "HorizonState",
    "ModelVariance",
    "RegressionRevaluation",
    "VolatilitySource",
    "black76",
    "has_closed_form",
    "horizon_value",
    "margrabe",
]


# ----------------------------------------------------------------------------------------------- formulas


def black76(
    forward: np.ndarray | float,
    strike: np.ndarray | float,
    stdev: np.ndarray | float,
    discount: np.ndarray | float,
    option_type: str,
) -> np.ndarray:
    """Black-76 price per unit, vectorised over paths.

    Notes
    -----
    :math:`P\\,\\omega\\,[F N(\\omega d_1) - K N(\\omega d_2)]`, :math:`d_{1,2} = (\\ln(F/K) \\pm s^2/2)/s`,
    :math:`s = \\sigma\\sqrt{\\tau}`, :math:`\\omega = \\pm 1` for a call / put (Black 1976; the formula of
    QuantLib's ``blackFormula``). Where :math:`s = 0` or :math:`K \\le 0` it is the discounted intrinsic value.
    """
    f = np.asarray(forward, dtype=float)
    k = np.asarray(strike, dtype=float)
    s = np.asarray(stdev, dtype=float)
    df = np.asarray(discount, dtype=float)
    w = 1.0 if option_type == "call" else -1.0
    ok = (s > 0.0) & (k > 0.0) & (f > 0.0)
    s_safe = np.where(ok, s, 1.0)
    ratio = np.where(ok, f / np.where(k > 0.0, k, 1.0), 1.0)
    d1 = np.log(ratio) / s_safe + 0.5 * s_safe
    d2 = d1 - s_safe
    value = w * (f * ndtr(w * d1) - k * ndtr(w * d2))
    intrinsic = np.maximum(w * (f - k), 0.0)
    return np.asarray(df * np.where(ok, value, intrinsic), dtype=float)


def margrabe(
    forward_receive: np.ndarray, forward_deliver: np.ndarray, stdev: np.ndarray, discount: np.ndarray | float
) -> np.ndarray:
    """Margrabe exchange option on forwards, vectorised: :math:`P [F_1 N(d_1) - F_2 N(d_2)]`.

    Notes
    -----
    :math:`d_{1,2} = (\\ln(F_1/F_2) \\pm s^2/2)/s`, :math:`s^2 = (\\sigma_1^2 + \\sigma_2^2 - 2\\rho\\sigma_1
    \\sigma_2)\\tau` (Margrabe 1978), quantities folded into the forwards. Equal to Black-76 of a call on
    :math:`F_1` struck at :math:`F_2`.
    """
    return black76(forward_receive, forward_deliver, stdev, discount, "call")


# ------------------------------------------------------------------------------------------- volatility


class VolatilitySource(Protocol):
    """Annualised volatility per path for the remaining life of an option, given the state at a row."""

    def average_vol(self, factor: str, paths: PathSet, row: int, tau_years: float) -> np.ndarray | float:
        """:math:`\\sqrt{\\bar v}` with :math:`\\bar v` the expected average annualised variance over
        ``tau_years`` after row ``row`` (per path or one number)."""
        ...  # pragma: no cover - protocol


@dataclass(frozen=True)
class FlatVolatility:
    """Constant volatility per factor (the market's): the fallback when the path set carries no variance."""

    vols: Mapping[str, float]

    def average_vol(self, factor: str, paths: PathSet, row: int, tau_years: float) -> float:
        """The factor's constant volatility."""
        return float(self.vols[factor])


@dataclass(frozen=True)
class ModelVariance:
    """The price model's expected average variance from the row to expiry, given its conditional variance there.

    Reads ``paths.variance[factor][row]`` (conditional daily variance per path) and calls
    ``expected(variance_now, n_days)`` (the fitted result's ``expected_average_variance``, average daily
    variance over the next ``n_days`` trading days), annualised with ``TRADING_DAYS_PER_YEAR``. A factor the
    path set carries no variance for falls back to ``fallback``.
    """

    expected: Callable[[np.ndarray, int], np.ndarray]
    fallback: FlatVolatility

    def average_vol(self, factor: str, paths: PathSet, row: int, tau_years: float) -> np.ndarray | float:
        """Per-path volatility from the model's conditional variance at ``row``."""
        variance = getattr(paths, "variance", None)
        if not variance or factor not in variance:
            return self.fallback.average_vol(factor, paths, row, tau_years)
        n_days = max(1, round(tau_years * TRADING_DAYS_PER_YEAR))
        daily = np.asarray(self.expected(np.asarray(variance[factor][row], dtype=float), n_days), dtype=float)
        return np.sqrt(np.maximum(daily, 0.0) * TRADING_DAYS_PER_YEAR)


# ------------------------------------------------------------------------------------------------ state


@dataclass(frozen=True)
class HorizonState:
    """What is known on every path at row ``row`` of ``paths``: prices, past fixings, remaining time, variance."""

    market: MarketEnv
    paths: PathSet
    row: int
    vol: VolatilitySource

    @property
    def date(self) -> pd.Timestamp:
        """The horizon date."""
        return pd.Timestamp(self.paths.dates[self.row])

    @property
    def t(self) -> float:
        """Year fraction of the horizon from the valuation date."""
        return float(year_fractions(self.market.valuation_date, pd.DatetimeIndex([self.date]))[0])

    @property
    def df_h(self) -> float:
        """:math:`P(0, h)`."""
        return float(self.market.df(pd.DatetimeIndex([self.date]))[0])

    def price(self, factor: str) -> np.ndarray:
        """:math:`S_h` per path."""
        return np.asarray(self.paths[factor][self.row])

    def rows(self, factor: str, dates: pd.DatetimeIndex) -> np.ndarray:
        """Rows of ``dates`` in the path set (each must be on the grid)."""
        pos = as_datetime_index(self.paths.dates).get_indexer(as_datetime_index(dates))
        if np.any(pos < 0):
            missing = as_datetime_index(dates)[pos < 0]
            raise PathSetError(f"path set lacks date {missing[0].date()} needed to revalue '{factor}'")
        return np.asarray(pos, dtype=np.intp)

    def carry(self, factor: str, dates: pd.DatetimeIndex) -> np.ndarray:
        """:math:`F(0, T) / F(0, h)` for each of ``dates``: the path's forward is ``S_h`` times this."""
        curve = self.market.curve(factor)
        return np.asarray(curve(dates) / curve(pd.DatetimeIndex([self.date]))[0], dtype=float)

    def discount(self, dates: pd.DatetimeIndex) -> np.ndarray:
        """:math:`P(0, d) / P(0, h)`: discount to ``h`` for ``d > h``, carry to ``h`` for ``d <= h``."""
        return np.asarray(self.market.df(dates) / self.df_h, dtype=float)

    def tau(self, date: pd.Timestamp) -> float:
        """Year fraction from the horizon to ``date`` (0 when it has passed)."""
        return max(0.0, float(year_fractions(self.date, pd.DatetimeIndex([date]))[0]))

    def sigma(self, factor: str, until: pd.Timestamp) -> np.ndarray | float:
        """Average volatility of ``factor`` from the horizon to ``until``."""
        return self.vol.average_vol(factor, self.paths, self.row, self.tau(until))

    def expected_average(self, factor: str, dates: pd.DatetimeIndex) -> tuple[np.ndarray, int]:
        """:math:`\\sum_{t_i \\le h} S_{t_i} + S_h \\sum_{t_i > h} F(0,t_i)/F(0,h)` per path, and the count."""
        dates = as_datetime_index(dates)
        past = dates[dates <= self.date]
        future = dates[dates > self.date]
        total = np.zeros(self.paths.n_paths)
        values = self.paths[factor]
        for r in self.rows(factor, past):
            total += values[r]
        if len(future):
            total += self.price(factor) * float(self.carry(factor, future).sum())
        return total, len(dates)


# ----------------------------------------------------------------------------------------- instruments


def _forward(inst: Forward, st: HorizonState) -> np.ndarray:
    d = pd.DatetimeIndex([inst.delivery_date])
    disc = float(st.discount(d)[0])
    if inst.delivery_date <= st.date:
        s_t = np.asarray(st.paths[inst.underlying][st.rows(inst.underlying, d)[0]])
    else:
        s_t = st.price(inst.underlying) * float(st.carry(inst.underlying, d)[0])
    return np.asarray(inst.sign * inst.quantity_t * disc * (s_t - inst.strike_cny_per_t), dtype=float)


def _european(inst: EuropeanOption, st: HorizonState) -> np.ndarray:
    d = pd.DatetimeIndex([inst.expiry])
    disc = float(st.discount(d)[0])
    if inst.expiry <= st.date:
        s_t = np.asarray(st.paths[inst.underlying][st.rows(inst.underlying, d)[0]])
        return np.asarray(disc * inst.payoff(s_t), dtype=float)
    f = st.price(inst.underlying) * float(st.carry(inst.underlying, d)[0])
    sd = np.asarray(st.sigma(inst.underlying, inst.expiry)) * math.sqrt(st.tau(inst.expiry))
    return inst.quantity_t * black76(f, inst.strike_cny_per_t, sd, disc, inst.option_type)


def _asian(inst: AsianOption, st: HorizonState) -> np.ndarray:
    """Average-price option at the horizon (moment-matched arithmetic or exact geometric, module docstring).

    Notes
    -----
    With :math:`n` fixings in all, :math:`P` the sum of the observed ones (pre-valuation and on the path up to
    :math:`h`) and :math:`g_i = F(0,t_i)/F(0,h)`, :math:`\\tau_i = t_i - h` for the :math:`m` remaining ones,
    the remaining sum :math:`Y = \\sum S_{t_i}` has :math:`M_1 = S_h \\sum g_i` and
    :math:`M_2 = S_h^2 \\sum_{i,j} g_i g_j e^{\\sigma^2 \\min(\\tau_i,\\tau_j)}`; matched to a lognormal with
    :math:`s^2 = \\ln(M_2/M_1^2)`, the call is :math:`\\frac{Q}{n}` Black-76 on forward :math:`M_1`, strike
    :math:`nK - P` (intrinsic forward value when that strike is not positive). :math:`\\sigma^2` is one average
    variance from :math:`h` to the last fixing (the volatility source's), applied to every remaining fixing.
    """
    vd = st.market.valuation_date
    fx = inst.fixings(vd)
    dates = fx.future_dates
    pay = pd.DatetimeIndex([inst.payment_date])
    disc = float(st.discount(pay)[0])
    past = dates[dates <= st.date]
    future = dates[dates > st.date]
    n = fx.n_total
    k = inst.strike_cny_per_t
    values = st.paths[inst.underlying]
    rows = st.rows(inst.underlying, past)
    if inst.average == "geometric":
        log_obs = np.full(st.paths.n_paths, fx.past_log_sum)
        for r in rows:
            log_obs += np.log(values[r])
        if not len(future):
            geo = np.exp(log_obs / n)
            return np.asarray(disc * vanilla_payoff(geo, inst.option_type, k, inst.quantity_t), dtype=float)
        tau = year_fractions(st.date, future)
        sig = np.asarray(st.sigma(inst.underlying, future[-1]))
        g = st.carry(inst.underlying, future)
        m = len(future)
        mean = (log_obs + m * np.log(st.price(inst.underlying)) + float(np.log(g).sum()) - 0.5 * sig**2 * tau.sum()) / n
        # sum_{i,j} min(tau_i, tau_j) for increasing tau: sum_i tau_i (2 (m - 1 - i) + 1)
        var = sig**2 / n**2 * float(np.sum(tau * (2.0 * (m - 1 - np.arange(m)) + 1.0)))
        fwd = np.exp(mean + 0.5 * var)
        return inst.quantity_t * black76(fwd, k, np.sqrt(var), disc, inst.option_type)
    observed = np.full(st.paths.n_paths, fx.past_sum)
    for r in rows:
        observed += values[r]
    if not len(future):
        return np.asarray(disc * vanilla_payoff(observed / n, inst.option_type, k, inst.quantity_t), dtype=float)
    s_h = st.price(inst.underlying)
    g = st.carry(inst.underlying, future)
    tau = year_fractions(st.date, future)
    sig2 = np.asarray(st.sigma(inst.underlying, future[-1]), dtype=float) ** 2
    suffix = np.concatenate([np.cumsum(g[::-1])[::-1][1:], [0.0]])  # sum_{j > i} g_j
    # sum_{i,j} g_i g_j exp(sig2 min(tau_i, tau_j)) = sum_i g_i exp(sig2 tau_i) (g_i + 2 sum_{j>i} g_j)
    weights = g * (g + 2.0 * suffix)
    second: np.ndarray | float
    if sig2.ndim == 0:
        second = float(np.sum(weights * np.exp(float(sig2) * tau)))
    else:
        acc = np.zeros_like(sig2)
        for w_i, t_i in zip(weights, tau, strict=True):
            acc += w_i * np.exp(sig2 * t_i)
        second = acc
    m1 = s_h * float(g.sum())
    s2 = np.log(np.maximum(second / float(g.sum()) ** 2, 1.0))
    strike = n * k - observed
    scale = inst.quantity_t / n
    value = scale * black76(m1, np.maximum(strike, 1e-300), np.sqrt(s2), disc, inst.option_type)
    sure = np.where(inst.option_type == "call", disc * scale * (m1 - strike), 0.0)
    return np.asarray(np.where(strike > 0.0, value, sure), dtype=float)


def _guaranteed(inst: GuaranteedPurchase | GuaranteedSale, st: HorizonState) -> np.ndarray:
    total = np.zeros(st.paths.n_paths)
    for weight, leg in inst.decomposition():
        total += weight * _asian(leg, st)
    return total


def _swap(inst: CarbonSwap, st: HorizonState) -> np.ndarray:
    pay = inst.schedule()[1:]
    disc = st.discount(pay)
    q, k = inst.quantity_t_per_period, inst.fixed_price_cny_per_t
    total = np.zeros(st.paths.n_paths)
    for i, fixings in enumerate(inst.period_fixings()):
        expected_sum, n = st.expected_average(inst.underlying, fixings)
        total += inst.sign * q * float(disc[i]) * (expected_sum / n - k)
    return total


def _swaption(inst: CarbonSwaption, st: HorizonState) -> np.ndarray:
    swap = inst.swap
    if inst.expiry <= st.date:
        at_expiry = HorizonState(st.market, st.paths, int(st.rows(swap.underlying, [inst.expiry])[0]), st.vol)
        exercised = _swap(swap, at_expiry) > 0.0
        return np.where(exercised, _swap(swap, st), 0.0)
    pay = swap.schedule()[1:]
    disc = st.discount(pay)
    s_h = st.price(swap.underlying)
    ratio = np.array([float(st.carry(swap.underlying, f).mean()) for f in swap.period_fixings()])
    annuity = swap.quantity_t_per_period * float(disc.sum())
    rate = s_h * float((disc * ratio).sum() / disc.sum())
    sd = np.asarray(st.sigma(swap.underlying, inst.expiry)) * math.sqrt(st.tau(inst.expiry))
    kind = "call" if swap.position == "payer" else "put"
    return annuity * black76(rate, swap.fixed_price_cny_per_t, sd, 1.0, kind)


def _exchange(inst: ExchangeOption, st: HorizonState) -> np.ndarray:
    d = pd.DatetimeIndex([inst.expiry])
    disc = float(st.discount(d)[0])
    if inst.expiry <= st.date:
        r = st.rows(inst.receive, d)[0]
        s1, s2 = st.paths[inst.receive][r], st.paths[inst.deliver][r]
        return np.asarray(
            disc * np.maximum(inst.quantity_receive_t * s1 - inst.quantity_deliver_t * s2, 0.0), dtype=float
        )
    f1 = inst.quantity_receive_t * st.price(inst.receive) * float(st.carry(inst.receive, d)[0])
    f2 = inst.quantity_deliver_t * st.price(inst.deliver) * float(st.carry(inst.deliver, d)[0])
    v1 = np.asarray(st.sigma(inst.receive, inst.expiry))
    v2 = np.asarray(st.sigma(inst.deliver, inst.expiry))
    rho = st.market.correlation
    sd = np.sqrt(np.maximum(v1**2 + v2**2 - 2.0 * rho * v1 * v2, 0.0) * st.tau(inst.expiry))
    return margrabe(f1, f2, sd, disc)


_REVALUE: dict[type, Callable[[Any, HorizonState], np.ndarray]] = {
    Forward: _forward,
    EuropeanOption: _european,
    AsianOption: _asian,
    GuaranteedPurchase: _guaranteed,
    GuaranteedSale: _guaranteed,
    CarbonSwap: _swap,
    CarbonSwaption: _swaption,
    ExchangeOption: _exchange,
}


# ------------------------------------------------------------- structured products (issue 18)


def _moment_matched_call(
    m1: np.ndarray | float,
    second: np.ndarray | float,
    observed: np.ndarray | float,
    n: int,
    strike: float,
    disc: float,
) -> np.ndarray:
    """:math:`P\\,E[(A - K)^+]` for :math:`A = (O + Y)/n`, Y lognormal with moments ``m1`` and ``second``.

    Notes
    -----
    The arithmetic average's remaining sum Y matched to a lognormal (Levy 1992), as for the Asian options above:
    :math:`s^2 = \\ln(M_2/M_1^2)`, value :math:`\\frac1n` Black-76 on forward :math:`M_1` and strike
    :math:`nK - O`; where that strike is not positive the call is sure to pay, :math:`P(M_1 + O - nK)/n`.
    """
    m1 = np.asarray(m1, dtype=float)
    s2 = np.log(np.maximum(np.asarray(second, dtype=float) / np.maximum(m1, 1e-300) ** 2, 1.0))
    k = n * strike - np.asarray(observed, dtype=float)
    value = black76(m1, np.maximum(k, 1e-300), np.sqrt(s2), disc, "call") / n
    return np.asarray(np.where(k > 0.0, value, disc * (m1 - k) / n), dtype=float)


def _lognormal_sum_moments(
    g: np.ndarray, tau: np.ndarray, sig2: np.ndarray | float
) -> tuple[float, np.ndarray | float]:
    """:math:`\\sum g_i` and :math:`\\sum_{i,j} g_i g_j e^{\\sigma^2 \\min(\\tau_i, \\tau_j)}` (increasing tau)."""
    suffix = np.concatenate([np.cumsum(g[::-1])[::-1][1:], [0.0]])
    weights = g * (g + 2.0 * suffix)
    sig2 = np.asarray(sig2, dtype=float)
    if sig2.ndim == 0:
        return float(g.sum()), float(np.sum(weights * np.exp(float(sig2) * tau)))
    acc = np.zeros_like(sig2)
    for w_i, t_i in zip(weights, tau, strict=True):
        acc += w_i * np.exp(sig2 * t_i)
    return float(g.sum()), acc


def _structured_deposit(inst: StructuredDeposit, st: HorizonState) -> np.ndarray:
    """Structured deposit at the horizon: the bond part on the curve, the call spread by Black-76 on the state.

    Notes
    -----
    Bond part :math:`N(1 + r_{min}\\tau) P(h,T)` (and :math:`-N P(h, t_s)` for a forward start, carried once
    paid). Call spread on :math:`X = A / S_0`: after the last observation, the payout itself; ``final`` with
    :math:`S_0` known (:math:`t_s \\le h`), Black-76 on :math:`F_h(T)/S_0 = S_h F(0,T)/(F(0,h) S_0)` with the
    volatility source's average volatility to T; before the start, the forward-start spread on
    :math:`F(0,T)/F(0,t_s)` (independent of :math:`S_h`). ``monthly``: the moment-matched lognormal average
    (:func:`_moment_matched_call`) of the remaining month-end closes, with the observed ones fixed.
    """
    und = inst.underlying
    pay = pd.DatetimeIndex([inst.maturity_date])
    disc = float(st.discount(pay)[0])
    n_paths = st.paths.n_paths
    bond = np.full(n_paths, inst.guaranteed_cny * disc)
    if inst.start_date > st.market.valuation_date:
        bond -= inst.principal_cny * float(st.discount(pd.DatetimeIndex([inst.start_date]))[0])
    obs = inst.observation_dates()
    n = len(obs)
    scale = inst.participation * inst.principal_cny
    values = st.paths[und]
    started = inst.start_date <= st.date
    s0 = np.asarray(values[st.rows(und, pd.DatetimeIndex([inst.start_date]))[0]] if started else np.ones(n_paths))
    past = obs[obs <= st.date]
    future = obs[obs > st.date]
    observed = np.zeros(n_paths)
    for r in st.rows(und, past):
        observed += values[r]
    if not len(future):
        return np.asarray(inst.sign * (bond + disc * inst.linked_payout(observed / n / s0)), dtype=float)
    sig2 = np.asarray(st.sigma(und, future[-1]), dtype=float) ** 2
    if started:  # E_h[S_ti] / S_0 = level x c_i
        c = st.carry(und, future)
        level: np.ndarray | float = st.price(und) / s0
        tau = year_fractions(st.date, future)
        obs_ratio = observed / s0
    else:  # forward start: X = A / S_ts, independent of the state at h
        curve = st.market.curve(und)
        c = np.asarray(curve(future) / curve(pd.DatetimeIndex([inst.start_date]))[0], dtype=float)
        level = 1.0
        tau = year_fractions(inst.start_date, future)
        obs_ratio = np.zeros(n_paths)
    if n == 1:  # final close: Black-76 on the forward ratio
        sd = np.sqrt(sig2 * float(tau[0]))
        fwd = level * float(c[0])
        spread = black76(fwd, 1.0, sd, disc, "call") - black76(fwd, 1.0 + inst.cap, sd, disc, "call")
    else:
        m1, second = _lognormal_sum_moments(c, tau, sig2)
        m1_p = level * m1
        second_p = np.asarray(level) ** 2 * second
        spread = _moment_matched_call(m1_p, second_p, obs_ratio, n, 1.0, disc) - _moment_matched_call(
            m1_p, second_p, obs_ratio, n, 1.0 + inst.cap, disc
        )
    return np.asarray(inst.sign * (bond + scale * np.broadcast_to(spread, (n_paths,))), dtype=float)


def _average_call_at_horizon(
    st: HorizonState, factor: str, fixings: pd.DatetimeIndex, strike: float, disc: float
) -> np.ndarray:
    """:math:`P(h,T) E_h[(A - K)^+]` of the mean A of ``fixings`` (moment-matched, :func:`_moment_matched_call`)."""
    values = st.paths[factor]
    past = fixings[fixings <= st.date]
    future = fixings[fixings > st.date]
    observed = np.zeros(st.paths.n_paths)
    for r in st.rows(factor, past):
        observed += values[r]
    n = len(fixings)
    if not len(future):
        return np.asarray(disc * np.maximum(observed / n - strike, 0.0), dtype=float)
    sig2 = np.asarray(st.sigma(factor, future[-1]), dtype=float) ** 2
    m1, second = _lognormal_sum_moments(st.carry(factor, future), year_fractions(st.date, future), sig2)
    s_h = st.price(factor)
    return _moment_matched_call(s_h * m1, s_h**2 * second, observed, n, strike, disc)


def _carbon_linked_bond(inst: CarbonLinkedBond, st: HorizonState) -> np.ndarray:
    """Carbon-linked bond (average-price link) at the horizon.

    Notes
    -----
    Fixed coupons and redemption :math:`\\sum_j CF_j P(0,d_j)/P(0,h)` (discounted to h, or carried once paid;
    minus the face paid at issue for a bond issued after the valuation date); linked coupon i:
    :math:`N\\alpha_i p/K` moment-matched average-price calls (:func:`_average_call_at_horizon`) struck at K less
    as many at :math:`K(1 + c/p)`, their observed fixings fixed on the path (exact once the period is over).
    """
    if inst.linked_coupon != "average_price" or inst.strike_cny_per_t is None:
        raise PathSetError("a project_income carbon-linked bond has no closed-form revaluation; use the regression")
    flows = bond_fixed_leg(inst, st.market).flows
    total = np.full(st.paths.n_paths, float((flows["amount_cny"].to_numpy() * st.discount(flows["date"])).sum()))
    if inst.issue_date > st.market.valuation_date:
        total -= inst.face_cny * float(st.discount(pd.DatetimeIndex([inst.issue_date]))[0])
    k = inst.strike_cny_per_t
    for period in inst.periods():
        disc = float(st.discount(pd.DatetimeIndex([period.payment_date]))[0])
        scale = inst.face_cny * period.accrual_years * inst.participation / k
        if scale == 0.0:
            continue
        leg = _average_call_at_horizon(st, inst.underlying, period.fixings, k, disc)
        if inst.linked_cap_rate is not None:
            k2 = k * (1.0 + inst.linked_cap_rate / inst.participation)
            leg = leg - _average_call_at_horizon(st, inst.underlying, period.fixings, k2, disc)
        total += scale * leg
    return np.asarray(inst.sign * total, dtype=float)


_REVALUE.update({StructuredDeposit: _structured_deposit, CarbonLinkedBond: _carbon_linked_bond})


def has_closed_form(instrument: Instrument) -> bool:
    """Whether :func:`horizon_value` has a closed form for ``instrument`` (else use :class:`RegressionRevaluation`)."""
    if isinstance(instrument, CarbonLinkedBond) and instrument.linked_coupon == "project_income":
        return False  # per-path project volumes: the regression of the engine's value (module docstring)
    return type(instrument) in _REVALUE


def horizon_value(instrument: Instrument, state: HorizonState) -> np.ndarray:
    """:math:`V_h + \\sum_{t_i \\le h} CF_{t_i} P(0,t_i)/P(0,h)` per path, CNY at the horizon (module docstring).

    Raises
    ------
    carbonrisk.finance.exceptions.PathSetError
        No closed form for the instrument's type, or a fixing date missing from the path set.
    """
    try:
        fn = _REVALUE[type(instrument)]
    except KeyError:
        raise PathSetError(
            f"instrument type {type(instrument).__name__} has no closed-form revaluation; use RegressionRevaluation"
        ) from None
    out = np.asarray(fn(instrument, state), dtype=float)
    return np.broadcast_to(out, (state.paths.n_paths,)).copy() if out.ndim == 0 else out


# ------------------------------------------------------------------------------------------- regression


@dataclass(frozen=True)
class RegressionRevaluation:
    """Least-squares Monte Carlo value at a horizon: :math:`\\hat E[Y \\mid x_h] = \\sum_{j=0}^{d} \\beta_j x_h^j`.

    Attributes
    ----------
    factor : str
        The factor whose price at the horizon is the regressor, :math:`x = S_h / S_0`.
    spot : float
        :math:`S_0`.
    coefficients : tuple of float
        :math:`\\beta_0 \\ldots \\beta_d` (fitted on the pilot set by :meth:`fit`).
    value_today : float
        :math:`V_0 = \\bar Y` on the pilot set.
    value_today_se : float
        Its standard error.
    residual_sd : float
        Standard deviation of :math:`Y - \\hat E[Y \\mid x_h]` on the pilot set (the regression's error per path).
    r_squared : float
        Share of the pilot variance of :math:`Y` explained.
    exact : bool
        ``True`` when the instrument's cash flows are all known at the horizon: :math:`Y` itself is used.
    """

    factor: str
    spot: float
    coefficients: tuple[float, ...]
    value_today: float
    value_today_se: float
    residual_sd: float
    r_squared: float
    exact: bool = False

    @classmethod
    def fit(
        cls, factor: str, spot: float, x_prices: np.ndarray, y: np.ndarray, *, degree: int = 3, exact: bool = False
    ) -> RegressionRevaluation:
        """Fit on pilot prices ``x_prices`` (:math:`S_h`) and present values ``y``.

        The normal equations are formed with numpy reductions and solved as a small dense system (no
        multi-threaded BLAS call), so the coefficients do not depend on the thread count.
        """
        y = np.asarray(y, dtype=float)
        n = y.size
        v0 = float(y.sum() / n)
        se = float(np.sqrt(((y - v0) ** 2).sum() / (n - 1) / n)) if n > 1 else 0.0
        if exact:
            return cls(factor, spot, (), v0, se, 0.0, 1.0, exact=True)
        x = np.asarray(x_prices, dtype=float) / spot
        powers = [np.ones(n)]
        for _ in range(degree):
            powers.append(powers[-1] * x)
        gram = np.array([[float((a * b).sum()) for b in powers] for a in powers])
        rhs = np.array([float((a * y).sum()) for a in powers])
        beta = np.linalg.lstsq(gram, rhs, rcond=None)[0]
        fitted = cls._horner(tuple(float(b) for b in beta), x)
        resid = y - fitted
        tss = float(((y - v0) ** 2).sum())
        r2 = 1.0 - float((resid**2).sum()) / tss if tss > 0 else 1.0
        sd = float(np.sqrt((resid**2).sum() / max(n - degree - 1, 1)))
        return cls(factor, spot, tuple(float(b) for b in beta), v0, se, sd, r2)

    @staticmethod
    def _horner(beta: tuple[float, ...], x: np.ndarray) -> np.ndarray:
        out = np.full(x.shape, beta[-1])
        for b in beta[-2::-1]:
            out = out * x + b
        return out

    def at_horizon(self, y_paths: np.ndarray, price_h: np.ndarray, df_h: float) -> np.ndarray:
        """:math:`V_h + \\sum CF` per path (CNY at the horizon): :math:`\\hat E[Y \\mid x_h] / P(0,h)`, or
        :math:`Y / P(0,h)` when exact."""
        if self.exact:
            return np.asarray(y_paths, dtype=float) / df_h
        return self._horner(self.coefficients, np.asarray(price_h, dtype=float) / self.spot) / df_h
