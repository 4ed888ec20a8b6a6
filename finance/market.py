"""Market environment: discount curve (QuantLib), CEA / CCER forward curves, volatilities, correlation.

Market data is passed to engines at pricing time and never stored in an instrument (QuantLib / rateslib style).

Discount curve
    :meth:`DiscountCurve.flat` (continuously compounded zero rate) or :meth:`DiscountCurve.from_quotes_csv`, a
    QuantLib ``PiecewiseLogCubicDiscount`` bootstrap of CNY deposits and fixed-vs-7-day-repo interest-rate swaps
    (quarterly fixed leg, Actual/365 Fixed, China inter-bank calendar, modified following, T+1 settlement; the
    floating leg is modelled as a quarterly index on the curve itself, the usual single-curve approximation).
Forward curve
    :meth:`ForwardCurve.from_carry` gives :math:`F(t) = S_0 e^{(r_f - y) t}` (financing rate ``r_f``, convenience
    yield ``y``); :meth:`ForwardCurve.from_quotes` interpolates quoted forwards log-linearly in time (spot at
    ``t = 0``), extrapolating the last segment's carry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import QuantLib as ql

from carbonrisk.finance.exceptions import MarketDataError
from carbonrisk.finance.quantities import (
    MARKET_ADV,
    MARKET_CONVENIENCE_YIELD,
    MARKET_CORRELATION,
    MARKET_DISCOUNT_RATE,
    MARKET_FINANCING_RATE,
    MARKET_FORWARD_QUOTE,
    MARKET_SPOT,
    MARKET_VOL,
)
from carbonrisk.models.calendar import as_datetime_index, interbank_calendar, to_ql, year_fractions
from carbonrisk.models.files import read_csv_text
from carbonrisk.models.validation import Quantity, check, check_number

__all__ = [
    "DEPOSIT_TENORS",
    "IRS_TENORS",
    "DiscountCurve",
    "ForwardCurve",
    "MarketEnv",
]

DEPOSIT_TENORS: tuple[str, ...] = ("1D", "7D", "1W", "2W", "14D", "1M", "2M", "3M", "6M", "9M", "1Y")
"""Tenors accepted for deposit quotes."""
IRS_TENORS: tuple[str, ...] = ("6M", "9M", "1Y", "2Y", "3Y", "4Y", "5Y", "7Y", "10Y")
"""Tenors accepted for interest-rate-swap quotes (the liquid CNY FR007 swap tenors)."""
_TENOR = re.compile(r"^(\d+)([DWMY])$")
_UNITS = {"D": ql.Days, "W": ql.Weeks, "M": ql.Months, "Y": ql.Years}


def _finite(field_name: str, value: object) -> float:
    """A finite number (:func:`carbonrisk.models.validation.check_number`)."""
    return float(check_number(field_name, value, error=MarketDataError))


def _positive(field_name: str, value: object) -> float:
    """A finite number > 0."""
    return float(check_number(field_name, value, low=0.0, low_inclusive=False, error=MarketDataError))


def _declared(quantity: Quantity, field_name: str, value: object) -> float:
    """``value`` checked against its declaration (:mod:`carbonrisk.finance.quantities`), named ``field_name``."""
    return float(check(quantity, value, name=field_name, error=MarketDataError))


def _period(tenor: str) -> ql.Period:
    m = _TENOR.match(tenor)
    assert m is not None
    return ql.Period(int(m.group(1)), _UNITS[m.group(2)])


@dataclass(frozen=True)
class DiscountCurve:
    """A CNY discount curve (QuantLib term structure, Actual/365 Fixed) with an optional parallel zero shift.

    Attributes
    ----------
    valuation_date : pandas.Timestamp
        Reference date of the curve.
    curve : QuantLib.YieldTermStructure
        The base term structure.
    description : str
        How it was built (``flat 2.00%`` or the quote file).
    shift : float
        Parallel shift of continuously compounded zero rates (for rho), 0 for the base curve.
    """

    valuation_date: pd.Timestamp
    curve: ql.YieldTermStructure
    description: str
    shift: float = 0.0

    @classmethod
    def flat(cls, valuation_date: pd.Timestamp | str, rate: float) -> DiscountCurve:
        """Flat continuously compounded zero rate ``rate`` (Actual/365 Fixed)."""
        r = float(
            _declared(MARKET_DISCOUNT_RATE, "discount.flat_rate", rate)
        )  # fmt: skip
        vd = pd.Timestamp(valuation_date)
        ts = ql.FlatForward(to_ql(vd), ql.QuoteHandle(ql.SimpleQuote(r)), ql.Actual365Fixed(), ql.Continuous)
        return cls(vd, ts, f"flat {r:.4%}")

    @classmethod
    def from_quotes(
        cls, valuation_date: pd.Timestamp | str, quotes: pd.DataFrame, source: str = "quotes"
    ) -> DiscountCurve:
        """Bootstrap from a frame with columns ``instrument`` (``deposit`` / ``irs``), ``tenor``, ``rate`` (decimal).

        Raises
        ------
        carbonrisk.finance.exceptions.MarketDataError
            Missing columns, unknown instrument or tenor, non-finite rate, duplicated pillar.
        """
        missing = {"instrument", "tenor", "rate"} - set(quotes.columns)
        if missing:
            raise MarketDataError(f"quote file {source} lacks columns {sorted(missing)}; needs instrument,tenor,rate")
        vd = pd.Timestamp(valuation_date)
        ql.Settings.instance().evaluationDate = to_ql(vd)
        cal = interbank_calendar()
        dc = ql.Actual365Fixed()
        index = ql.IborIndex(
            "CNYRepo7D3M", ql.Period(3, ql.Months), 1, ql.CNYCurrency(), cal, ql.ModifiedFollowing, False, dc
        )
        helpers = []
        seen: set[tuple[str, str]] = set()
        for i, row in quotes.reset_index(drop=True).iterrows():
            kind = str(row["instrument"]).strip().lower()
            tenor = str(row["tenor"]).strip().upper()
            rate = _finite(f"{source} row {int(str(i)) + 2} rate", row["rate"])
            allowed = {"deposit": DEPOSIT_TENORS, "irs": IRS_TENORS}.get(kind)
            if allowed is None:
                raise MarketDataError(f"{source} row {int(str(i)) + 2}: instrument={kind!r} must be 'deposit' or 'irs'")
            if tenor not in allowed:
                rule = f"allowed {', '.join(allowed)}"
                raise MarketDataError(f"{source} row {int(str(i)) + 2}: tenor={tenor!r} is unknown for {kind}; {rule}")
            if (kind, tenor) in seen:
                raise MarketDataError(f"{source} row {int(str(i)) + 2}: {kind} tenor {tenor} is quoted twice")
            seen.add((kind, tenor))
            q = ql.QuoteHandle(ql.SimpleQuote(rate))
            if kind == "deposit":
                helpers.append(ql.DepositRateHelper(q, _period(tenor), 1, cal, ql.ModifiedFollowing, False, dc))
            else:
                helpers.append(ql.SwapRateHelper(q, _period(tenor), cal, ql.Quarterly, ql.ModifiedFollowing, dc, index))
        if not helpers:
            raise MarketDataError(f"quote file {source} holds no quotes")
        try:
            curve = ql.PiecewiseLogCubicDiscount(to_ql(vd), helpers, dc)
            curve.enableExtrapolation()
            curve.discount(curve.maxDate())
            curve.freeze()  # later changes of QuantLib's global evaluation date must not re-bootstrap it
        except RuntimeError as exc:
            raise MarketDataError(f"quote file {source}: bootstrap failed ({' '.join(str(exc).split())})") from None
        return cls(vd, curve, f"bootstrap of {len(helpers)} quotes from {source}")

    @classmethod
    def from_quotes_csv(cls, valuation_date: pd.Timestamp | str, path: str | Path) -> DiscountCurve:
        """Bootstrap from a CSV file ``instrument,tenor,rate`` (see :meth:`from_quotes`)."""
        p = Path(path)
        frame = read_csv_text(p, "discount quote file", MarketDataError)
        return cls.from_quotes(valuation_date, frame, source=p.name)

    def shifted(self, bump: float) -> DiscountCurve:
        """The same curve with continuously compounded zero rates shifted by ``bump``."""
        return replace(self, shift=self.shift + float(bump))

    def times(self, dates: Sequence[pd.Timestamp] | pd.DatetimeIndex) -> np.ndarray:
        """Actual/365 Fixed year fractions from the valuation date."""
        return year_fractions(self.valuation_date, as_datetime_index(dates))

    def df(self, dates: Sequence[pd.Timestamp] | pd.DatetimeIndex | pd.Timestamp) -> np.ndarray:
        """Discount factors to ``dates`` (1 on or before the valuation date)."""
        idx = pd.DatetimeIndex([dates]) if isinstance(dates, pd.Timestamp) else as_datetime_index(dates)
        t = np.maximum(self.times(idx), 0.0)
        base = np.array([self.curve.discount(float(x), True) for x in t])
        return np.asarray(base * np.exp(-self.shift * t), dtype=float)

    def zero_rate(self, t: float) -> float:
        """Continuously compounded zero rate to time ``t`` (years), including the shift."""
        tt = max(float(t), 1.0 / 365.0)
        return float(-np.log(self.curve.discount(tt, True)) / tt + self.shift)

    def handle(self) -> ql.YieldTermStructureHandle:
        """QuantLib handle of the (shifted) curve, for QuantLib engines."""
        base = ql.YieldTermStructureHandle(self.curve)
        if self.shift == 0.0:
            return base
        spread = ql.ZeroSpreadedTermStructure(base, ql.QuoteHandle(ql.SimpleQuote(self.shift)), ql.Continuous)
        return ql.YieldTermStructureHandle(spread)


@dataclass(frozen=True)
class ForwardCurve:
    """Forward prices of one carbon asset, log-linear in time between pillars.

    Attributes
    ----------
    name : str
        Asset (``"CEA"`` or ``"CCER"``).
    valuation_date : pandas.Timestamp
        Date of the spot price.
    spot_cny_per_t : float
        Spot price.
    pillar_times : numpy.ndarray
        Year fractions of quoted forwards (empty for a carry curve).
    pillar_log_ratio : numpy.ndarray
        ``ln(F / S0)`` at the pillars.
    carry : float
        Continuous carry rate used beyond the last pillar (the whole curve for a carry curve).
    financing_rate : float or None
        Set for a carry curve: a rate bump (rho) moves it with the discount curve.
    """

    name: str
    valuation_date: pd.Timestamp
    spot_cny_per_t: float
    pillar_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pillar_log_ratio: np.ndarray = field(default_factory=lambda: np.zeros(0))
    carry: float = 0.0
    financing_rate: float | None = None

    @classmethod
    def from_carry(
        cls,
        name: str,
        valuation_date: pd.Timestamp | str,
        spot_cny_per_t: float,
        financing_rate: float,
        convenience_yield: float = 0.0,
    ) -> ForwardCurve:
        r"""Cost-of-carry curve :math:`F(t) = S_0 \exp((r_f - y) t)`."""
        s = _declared(MARKET_SPOT, f"{name}.spot", spot_cny_per_t)
        r = _declared(MARKET_FINANCING_RATE, f"{name}.financing_rate", financing_rate)
        y = _declared(MARKET_CONVENIENCE_YIELD, f"{name}.convenience_yield", convenience_yield)
        return cls(name, pd.Timestamp(valuation_date), s, carry=r - y, financing_rate=r)

    @classmethod
    def from_quotes(
        cls,
        name: str,
        valuation_date: pd.Timestamp | str,
        spot_cny_per_t: float,
        quotes: Mapping[pd.Timestamp | str, float],
    ) -> ForwardCurve:
        """Quoted forwards (delivery date -> CNY/t), interpolated log-linearly in time from the spot."""
        s = _declared(MARKET_SPOT, f"{name}.spot", spot_cny_per_t)
        vd = pd.Timestamp(valuation_date)
        if not quotes:
            raise MarketDataError(f"{name}.forwards is empty; give at least one quoted forward")
        items = sorted(
            (pd.Timestamp(k), _declared(MARKET_FORWARD_QUOTE, f"{name}.forwards[{k}]", v)) for k, v in quotes.items()
        )
        t = year_fractions(vd, pd.DatetimeIndex([d for d, _ in items]))
        if np.any(t <= 0) or np.any(np.diff(t) <= 0):
            raise MarketDataError(f"{name}.forwards dates must be distinct and after the valuation date {vd.date()}")
        lr = np.log(np.array([v for _, v in items]) / s)
        tt = np.concatenate([[0.0], t])
        ll = np.concatenate([[0.0], lr])
        carry = float((ll[-1] - ll[-2]) / (tt[-1] - tt[-2]))
        return cls(name, vd, s, t, lr, carry=carry)

    def __call__(self, dates: Sequence[pd.Timestamp] | pd.DatetimeIndex) -> np.ndarray:
        """Forward price for delivery on each of ``dates`` (spot on or before the valuation date)."""
        return self.at_times(year_fractions(self.valuation_date, as_datetime_index(dates)))

    def at_times(self, t: np.ndarray) -> np.ndarray:
        """Forward price at year fractions ``t``."""
        tt = np.maximum(np.asarray(t, dtype=float), 0.0)
        if self.pillar_times.size == 0:
            lr = self.carry * tt
        else:
            xs = np.concatenate([[0.0], self.pillar_times])
            ys = np.concatenate([[0.0], self.pillar_log_ratio])
            lr = np.interp(tt, xs, ys)
            beyond = tt > xs[-1]
            lr = np.where(beyond, ys[-1] + self.carry * (tt - xs[-1]), lr)
        return np.asarray(self.spot_cny_per_t * np.exp(lr), dtype=float)

    def scaled(self, factor: float) -> ForwardCurve:
        """The whole curve multiplied by ``factor`` (a spot bump moves the quoted forwards with it)."""
        return replace(self, spot_cny_per_t=self.spot_cny_per_t * float(factor))

    def rate_shifted(self, bump: float) -> ForwardCurve:
        """A carry curve with its financing rate moved by ``bump``; quoted curves are unchanged."""
        if self.financing_rate is None:
            return self
        return replace(self, carry=self.carry + bump, financing_rate=self.financing_rate + bump)


@dataclass(frozen=True)
class MarketEnv:
    """Everything an engine reads at pricing time.

    Attributes
    ----------
    valuation_date : pandas.Timestamp
    discount : DiscountCurve
    forwards : mapping of str to ForwardCurve
        One curve per asset (``"CEA"``, ``"CCER"``).
    vols : mapping of str to float
        Lognormal volatility per asset (Black / Margrabe inputs and GBM path sources).
    correlation : float
        Correlation of CEA and CCER log-returns.
    daily_volumes_t : mapping of str to tuple of float
        Traded volume per trading day up to the valuation date, oldest first, per asset (market depth: the
        pledge-loan engine's average daily volume, :meth:`average_daily_volume_t`); empty when not known.
    adv_t : mapping of str to float
        Market depth given in the market data, t per day, per asset (``[market.CCER] adv_t``): it replaces the
        volume history and the documented CCER default (:func:`carbonrisk.finance.loans.market_depth_t`); empty when not
        given.
    """

    valuation_date: pd.Timestamp
    discount: DiscountCurve
    forwards: Mapping[str, ForwardCurve]
    vols: Mapping[str, float]
    correlation: float = 0.0
    daily_volumes_t: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    adv_t: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.forwards:
            raise MarketDataError("market holds no forward curve; give at least [market.CEA] or [market.CCER]")
        for name, v in self.vols.items():
            _declared(MARKET_VOL, f"{name}.vol", v)
        if set(self.vols) != set(self.forwards):
            raise MarketDataError(f"vols for {sorted(self.vols)} must match forward curves {sorted(self.forwards)}")
        _declared(MARKET_CORRELATION, "correlation", self.correlation)
        for name, v in self.adv_t.items():
            _declared(MARKET_ADV, f"{name}.adv_t", v)

    @classmethod
    def simple(
        cls,
        valuation_date: pd.Timestamp | str,
        rate: float,
        spots: Mapping[str, float],
        vols: Mapping[str, float],
        correlation: float = 0.0,
        convenience_yields: Mapping[str, float] | None = None,
        daily_volumes_t: Mapping[str, Sequence[float]] | None = None,
        adv_t: Mapping[str, float] | None = None,
    ) -> MarketEnv:
        """Flat discount rate, carry forward curves financed at the same rate."""
        vd = pd.Timestamp(valuation_date)
        cy = convenience_yields or {}
        fwd = {n: ForwardCurve.from_carry(n, vd, s, rate, cy.get(n, 0.0)) for n, s in spots.items()}
        volumes = {n: tuple(float(v) for v in values) for n, values in (daily_volumes_t or {}).items()}
        return cls(vd, DiscountCurve.flat(vd, rate), fwd, dict(vols), correlation, volumes, dict(adv_t or {}))

    def average_daily_volume_t(self, name: str, window_days: int) -> float:
        """Mean traded volume of ``name`` over its last ``window_days`` trading days (market depth), t per day."""
        volumes = self.daily_volumes_t.get(name)
        if not volumes:
            raise MarketDataError(
                f"market has no daily volumes for {name!r} (has {sorted(self.daily_volumes_t)}); give the "
                "instrument's adv_t or a market with daily_volumes_t"
            )
        if window_days < 1:
            raise MarketDataError(f"window_days={window_days} must be at least 1")
        tail = volumes[-int(window_days) :]
        return float(sum(tail) / len(tail))

    def curve(self, name: str) -> ForwardCurve:
        """Forward curve of ``name``."""
        try:
            return self.forwards[name]
        except KeyError:
            raise MarketDataError(
                f"underlying={name!r} has no forward curve; market has {sorted(self.forwards)}"
            ) from None

    def spot(self, name: str) -> float:
        """Spot price of ``name``."""
        return self.curve(name).spot_cny_per_t

    def vol(self, name: str) -> float:
        """Volatility of ``name``."""
        self.curve(name)
        return float(self.vols[name])

    def forward(self, name: str, dates: Sequence[pd.Timestamp] | pd.DatetimeIndex) -> np.ndarray:
        """Forward prices of ``name`` for ``dates``."""
        return self.curve(name)(dates)

    def df(self, dates: Sequence[pd.Timestamp] | pd.DatetimeIndex | pd.Timestamp) -> np.ndarray:
        """Discount factors to ``dates``."""
        return self.discount.df(dates)

    def bumped(
        self,
        *,
        spot_rel: Mapping[str, float] | None = None,
        vol_abs: Mapping[str, float] | None = None,
        rate_abs: float = 0.0,
    ) -> MarketEnv:
        """A copy with spots scaled by ``1 + spot_rel``, vols moved by ``vol_abs`` and rates shifted by ``rate_abs``."""
        fwd = dict(self.forwards)
        for n, b in (spot_rel or {}).items():
            fwd[n] = self.curve(n).scaled(1.0 + b)
        if rate_abs:
            fwd = {n: c.rate_shifted(rate_abs) for n, c in fwd.items()}
        vols = dict(self.vols)
        for n, b in (vol_abs or {}).items():
            vols[n] = self.vol(n) + b
        disc = self.discount.shifted(rate_abs) if rate_abs else self.discount
        return replace(self, forwards=fwd, vols=vols, discount=disc)
