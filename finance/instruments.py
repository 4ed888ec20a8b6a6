"""Instruments: contract terms only (QuantLib's instrument / pricing-engine split).

An instrument never holds market data, a model or a method. It knows its terms, validates them (one-line
:class:`~finance.exceptions.ContractError` naming field, value and rule), lists the price fixings it reads
(:meth:`Instrument.fixing_dates`) and the risk factors it depends on, and returns its contractual schedule
(:meth:`Instrument.cashflows`). Engines in :mod:`finance.engines` and :mod:`finance.loans` value it.

Quantities are in tonnes (``quantity_t``), prices in CNY/t, amounts in CNY, rates as decimals per year.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import pandas as pd

from finance.exceptions import ContractError
from finance.quantities import check_field
from finance.schedules import monthly_dates, payment_schedule, trading_days, trading_days_after
from models.validation import check_choice, check_number

if TYPE_CHECKING:
    from finance.linking import ProjectCashFlows

__all__ = [
    "ASSETS",
    "AsianOption",
    "AverageFixings",
    "CarbonSwap",
    "CarbonSwaption",
    "EuropeanOption",
    "ExchangeOption",
    "Forward",
    "FutureCreditMonetisation",
    "GuaranteedPurchase",
    "GuaranteedSale",
    "Instrument",
    "PledgeLoan",
    "ProjectLoan",
    "vanilla_payoff",
]

ASSETS: tuple[str, ...] = ("CEA", "CCER")
"""Carbon assets an instrument may reference."""


def vanilla_payoff(values: np.ndarray, option_type: str, strike: float, scale: float) -> np.ndarray:
    """:math:`c \\max(\\omega (x - K), 0)` per value, :math:`\\omega = +1` for a call and -1 for a put (a new
    array; shared by the European payoff and the Asian engine's averages)."""
    x = np.asarray(values, dtype=float)
    out = np.subtract(x, strike, out=np.empty(x.shape))
    if option_type != "call":
        np.negative(out, out=out)
    np.maximum(out, 0.0, out=out)
    out *= scale
    return out


def _ts(field_name: str, value: object) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(str(value)) if not isinstance(value, (pd.Timestamp, str)) else pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ContractError(f"{field_name}={value!r} is not a date (use YYYY-MM-DD)") from None
    if pd.isna(ts):
        raise ContractError(f"{field_name}={value!r} is not a date (use YYYY-MM-DD)")
    return pd.Timestamp(ts.date())


def _pos(field_name: str, value: object) -> float:
    """A finite number > 0 (:func:`models.validation.check_number`)."""
    return float(check_number(field_name, value, low=0.0, low_inclusive=False, error=ContractError))


def _num(
    field_name: str,
    value: object,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    """A finite number in ``[lo, hi]`` (open ends with ``lo_open`` / ``hi_open``)."""
    return float(
        check_number(
            field_name, value, low=lo, high=hi, low_inclusive=not lo_open, high_inclusive=not hi_open,
            error=ContractError,
        )
    )  # fmt: skip


def _field(instrument: Instrument, key: str) -> Any:
    """Check field ``key`` of ``instrument`` against its declaration (:mod:`finance.quantities`)."""
    return check_field(instrument.kind, key, getattr(instrument, key), error=ContractError)


def _asset(field_name: str, value: str) -> str:
    return check_choice(field_name, value, ASSETS, error=ContractError)


def _choice(field_name: str, value: str, allowed: Sequence[str]) -> str:
    return check_choice(field_name, value, allowed, error=ContractError)


_WRONG_WAY_KEYS = ("p_max", "m", "s", "kind", "d50", "w")


def _wrong_way_table(table: dict[str, Any]) -> None:
    """A ``top_up`` table: the parameters of :class:`finance.credit.WrongWayTopUp` (checked there too)."""
    for key in table:
        if key not in _WRONG_WAY_KEYS:
            raise ContractError(f"top_up.{key}: unknown key; a top_up table takes {', '.join(_WRONG_WAY_KEYS)}")
    if "p_max" in table:
        _num("top_up.p_max", table["p_max"], 0.0, 1.0)
    for key in ("s", "w"):
        if key in table:
            _pos(f"top_up.{key}", table[key])
    if "kind" in table:
        _choice("top_up.kind", table["kind"], ("lognormal", "logistic"))


def _credit_inputs(pd_1y: float | None, rating: str | None) -> None:
    """Borrower credit inputs of a loan: at most one of ``borrower_pd_1y`` (in [0, 1)) and ``rating``."""
    if pd_1y is not None and rating is not None:
        raise ContractError(f"borrower_pd_1y={pd_1y!r} and rating={rating!r}: give at most one")
    if pd_1y is not None:
        _num("borrower_pd_1y", pd_1y, 0.0, 1.0, hi_open=True)
    if rating is not None:
        key = str(rating).strip().upper().rstrip("+-")
        if key not in ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C"):
            raise ContractError(
                f"rating={rating!r} must be one of AAA, AA, A, BBB, BB, B, CCC (modifiers + / - allowed)"
            )


def _after(field_name: str, date: pd.Timestamp, valuation_date: pd.Timestamp) -> None:
    if date <= valuation_date:
        raise ContractError(f"{field_name}={date.date()} must be after the valuation date {valuation_date.date()}")


def _schedule_array(field_name: str, value: object, n_rows: int | None = None) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim not in (1, 2) or arr.shape[0] == 0:
        raise ContractError(f"{field_name} must be a vector (per year) or a (n_years, n_paths) array")
    if not np.all(np.isfinite(arr)):
        raise ContractError(f"{field_name} holds non-finite values")
    if n_rows is not None and arr.shape[0] != n_rows:
        raise ContractError(f"{field_name} has {arr.shape[0]} rows; the contract has {n_rows} years")
    return arr


@dataclass(frozen=True)
class AverageFixings:
    """An averaging window split at the valuation date.

    Attributes
    ----------
    future_dates : pandas.DatetimeIndex
        Trading days of the window on or after the valuation date (read from the path set; the valuation date's
        own close is the path set's first row, the spot).
    n_past : int
        Fixings already observed (trading days of the window before the valuation date).
    past_sum, past_log_sum : float
        Sum of the observed fixings and of their logarithms.
    """

    future_dates: pd.DatetimeIndex
    n_past: int = 0
    past_sum: float = 0.0
    past_log_sum: float = 0.0

    @property
    def n_total(self) -> int:
        """Number of fixings in the whole window."""
        return self.n_past + len(self.future_dates)


def _past_fixings(field_name: str, value: object) -> tuple[float, ...]:
    values = tuple(float(v) for v in (value or ()))  # type: ignore[attr-defined]
    if any(not np.isfinite(v) or v <= 0 for v in values):
        raise ContractError(f"{field_name} must hold finite prices > 0")
    return values


def _split_window(
    start: pd.Timestamp, end: pd.Timestamp, past: tuple[float, ...], valuation_date: pd.Timestamp
) -> AverageFixings:
    if end < valuation_date:
        raise ContractError(f"averaging_end={end.date()} must not be before the valuation date {valuation_date.date()}")
    days = trading_days(start, end)
    before = days[days < valuation_date]
    if len(before) != len(past):
        raise ContractError(
            f"past_fixings_cny_per_t has {len(past)} values; the averaging window has {len(before)} trading days "
            f"before the valuation date {valuation_date.date()}"
        )
    arr = np.asarray(past, dtype=float)
    return AverageFixings(days[days >= valuation_date], len(past), float(arr.sum()), float(np.log(arr).sum()))


@dataclass(frozen=True)
class Instrument:
    """Base of every instrument: a name and the common protocol."""

    name: str = field(default="", kw_only=True)
    kind: ClassVar[str] = "instrument"

    @property
    def factors(self) -> tuple[str, ...]:
        """Risk factors the payoff reads."""
        raise NotImplementedError

    def fixing_dates(self, valuation_date: pd.Timestamp) -> pd.DatetimeIndex:
        """Dates on which the payoff reads prices (a path set must contain them)."""
        raise NotImplementedError

    def check_dates(self, valuation_date: pd.Timestamp) -> None:
        """Raise :class:`ContractError` when the contract has expired at ``valuation_date``."""
        raise NotImplementedError

    def cashflows(self) -> pd.DataFrame:
        """Contractual schedule: one row per dated flow (``date``, ``flow``, ``quantity_t``, ``fixed_cny``...)."""
        raise NotImplementedError

    def label(self) -> str:
        """Name, or the kind when unnamed."""
        return self.name or self.kind

    def terms(self) -> dict[str, Any]:
        """The contract terms as JSON-ready values."""
        out: dict[str, Any] = {"type": self.kind}
        for k, v in self.__dict__.items():
            if isinstance(v, pd.Timestamp):
                out[k] = str(v.date())
            elif isinstance(v, np.ndarray):
                out[k] = v.tolist() if v.ndim == 1 else f"array{v.shape}"
            elif isinstance(v, Instrument):
                out[k] = v.terms()
            else:
                out[k] = v
        return out


@dataclass(frozen=True)
class Forward(Instrument):
    """Forward (or future, ignoring daily margining) on CEA or CCER.

    Notes
    -----
    Payoff at delivery :math:`T`: :math:`\\pm Q (S_T - K)`; value :math:`\\pm Q\\, P(0,T) (F(0,T) - K)`.
    """

    underlying: str
    quantity_t: float
    strike_cny_per_t: float
    delivery_date: pd.Timestamp
    position: Literal["long", "short"] = "long"
    kind: ClassVar[str] = "forward"

    def __post_init__(self) -> None:
        _field(self, "underlying")
        _field(self, "quantity_t")
        _field(self, "strike_cny_per_t")
        object.__setattr__(self, "delivery_date", _ts("delivery_date", self.delivery_date))
        _field(self, "position")

    @property
    def sign(self) -> float:
        """+1 long, -1 short."""
        return 1.0 if self.position == "long" else -1.0

    @property
    def factors(self) -> tuple[str, ...]:
        return (self.underlying,)

    def fixing_dates(self, valuation_date: pd.Timestamp) -> pd.DatetimeIndex:
        return pd.DatetimeIndex([self.delivery_date])

    def check_dates(self, valuation_date: pd.Timestamp) -> None:
        _after("delivery_date", self.delivery_date, valuation_date)

    def cashflows(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "date": [self.delivery_date],
                "flow": [f"{self.position} {self.underlying} forward: receive {'asset' if self.sign > 0 else 'cash'}"],
                "quantity_t": [self.sign * self.quantity_t],
                "fixed_cny": [-self.sign * self.quantity_t * self.strike_cny_per_t],
            }
        )


@dataclass(frozen=True)
class EuropeanOption(Instrument):
    """European call or put on CEA or CCER, cash-settled at expiry.

    Notes
    -----
    Black-76: :math:`V = Q P(0,T) [\\omega F N(\\omega d_1) - \\omega K N(\\omega d_2)]`,
    :math:`d_{1,2} = (\\ln(F/K) \\pm \\sigma^2 T / 2) / (\\sigma \\sqrt T)`, :math:`\\omega = \\pm 1`.
    """

    underlying: str
    option_type: Literal["call", "put"]
    strike_cny_per_t: float
    expiry: pd.Timestamp
    quantity_t: float = 1.0
    kind: ClassVar[str] = "european_option"

    def __post_init__(self) -> None:
        _field(self, "underlying")
        _field(self, "option_type")
        _field(self, "strike_cny_per_t")
        _field(self, "quantity_t")
        object.__setattr__(self, "expiry", _ts("expiry", self.expiry))

    @property
    def factors(self) -> tuple[str, ...]:
        return (self.underlying,)

    def fixing_dates(self, valuation_date: pd.Timestamp) -> pd.DatetimeIndex:
        return pd.DatetimeIndex([self.expiry])

    def check_dates(self, valuation_date: pd.Timestamp) -> None:
        _after("expiry", self.expiry, valuation_date)

    def payoff(self, price_cny_per_t: np.ndarray) -> np.ndarray:
        """Payoff in CNY for terminal prices: :math:`Q \\max(\\omega (S_T - K), 0)` (a new array)."""
        return vanilla_payoff(price_cny_per_t, self.option_type, self.strike_cny_per_t, self.quantity_t)

    def cashflows(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "date": [self.expiry],
                "flow": [f"{self.option_type} payoff max(±(S-{self.strike_cny_per_t:g}),0) x {self.quantity_t:g} t"],
                "quantity_t": [self.quantity_t],
                "fixed_cny": [0.0],
            }
        )


class _AveragingWindow:
    """What every contract settled on the average price over a window shares: its factor, dates and fixings."""

    underlying: str
    averaging_start: pd.Timestamp
    averaging_end: pd.Timestamp
    past_fixings_cny_per_t: tuple[float, ...]

    @property
    def factors(self) -> tuple[str, ...]:
        return (self.underlying,)

    @property
    def payment_date(self) -> pd.Timestamp:
        """Settlement date (end of the averaging window)."""
        return self.averaging_end

    def fixings(self, valuation_date: pd.Timestamp) -> AverageFixings:
        """The window split at ``valuation_date`` (checks the number of past fixings)."""
        return _split_window(self.averaging_start, self.averaging_end, self.past_fixings_cny_per_t, valuation_date)

    def fixing_dates(self, valuation_date: pd.Timestamp) -> pd.DatetimeIndex:
        return self.fixings(valuation_date).future_dates

    def check_dates(self, valuation_date: pd.Timestamp) -> None:
        self.fixings(valuation_date)


@dataclass(frozen=True)
class AsianOption(_AveragingWindow, Instrument):
    """Average-price option: the average of the SSE daily closes in ``[averaging_start, averaging_end]``.

    A seasoned option lists in ``past_fixings_cny_per_t`` the closes already observed (trading days of the window
    before the valuation date); the valuation date's close is the spot.

    Notes
    -----
    Payoff at ``payment_date`` (default ``averaging_end``): :math:`Q \\max(\\omega (A - K), 0)` with
    :math:`A = \\frac1n \\sum_i S_{t_i}` (arithmetic) or :math:`(\\prod_i S_{t_i})^{1/n}` (geometric).
    """

    underlying: str
    option_type: Literal["call", "put"]
    strike_cny_per_t: float
    averaging_start: pd.Timestamp
    averaging_end: pd.Timestamp
    quantity_t: float = 1.0
    average: Literal["arithmetic", "geometric"] = "arithmetic"
    past_fixings_cny_per_t: tuple[float, ...] = ()
    kind: ClassVar[str] = "asian_option"

    def __post_init__(self) -> None:
        _field(self, "underlying")
        _field(self, "option_type")
        _field(self, "strike_cny_per_t")
        _field(self, "quantity_t")
        _field(self, "average")
        object.__setattr__(self, "averaging_start", _ts("averaging_start", self.averaging_start))
        object.__setattr__(self, "averaging_end", _ts("averaging_end", self.averaging_end))
        if self.averaging_end < self.averaging_start:
            raise ContractError(
                f"averaging_end={self.averaging_end.date()} must not be before averaging_start="
                f"{self.averaging_start.date()}"
            )
        if len(trading_days(self.averaging_start, self.averaging_end)) == 0:
            raise ContractError(
                f"averaging window {self.averaging_start.date()}..{self.averaging_end.date()} has no trading day"
            )
        object.__setattr__(
            self, "past_fixings_cny_per_t", _past_fixings("past_fixings_cny_per_t", self.past_fixings_cny_per_t)
        )

    def cashflows(self) -> pd.DataFrame:
        n = len(trading_days(self.averaging_start, self.averaging_end))
        return pd.DataFrame(
            {
                "date": [self.payment_date],
                "flow": [f"{self.average} average ({n} fixings) {self.option_type}, K={self.strike_cny_per_t:g}"],
                "quantity_t": [self.quantity_t],
                "fixed_cny": [0.0],
            }
        )


@dataclass(frozen=True)
class _AveragePriceContract(_AveragingWindow, Instrument):
    underlying: str
    committed_price_cny_per_t: float
    volume_t: float
    averaging_start: pd.Timestamp
    averaging_end: pd.Timestamp
    past_fixings_cny_per_t: tuple[float, ...] = ()

    def _validate(self) -> None:
        _field(self, "underlying")
        _field(self, "committed_price_cny_per_t")
        _field(self, "volume_t")
        object.__setattr__(self, "averaging_start", _ts("averaging_start", self.averaging_start))
        object.__setattr__(self, "averaging_end", _ts("averaging_end", self.averaging_end))
        if self.averaging_end < self.averaging_start:
            raise ContractError(f"averaging_end={self.averaging_end.date()} must not be before averaging_start")
        object.__setattr__(
            self, "past_fixings_cny_per_t", _past_fixings("past_fixings_cny_per_t", self.past_fixings_cny_per_t)
        )

    def _leg(self, option_type: Literal["call", "put"]) -> AsianOption:
        return AsianOption(
            underlying=self.underlying,
            option_type=option_type,
            strike_cny_per_t=self.committed_price_cny_per_t,
            averaging_start=self.averaging_start,
            averaging_end=self.averaging_end,
            quantity_t=self.volume_t,
            past_fixings_cny_per_t=self.past_fixings_cny_per_t,
            name=f"{self.label()}:{option_type}",
        )

    def decomposition(self) -> list[tuple[float, AsianOption]]:
        """``(weight, option)`` pairs whose weighted sum replicates the asset company's payoff."""
        raise NotImplementedError

    def payoff_per_t(self, average_cny_per_t: np.ndarray) -> np.ndarray:
        """Asset company's payoff per tonne for realised averages (the direct formula of document 002)."""
        raise NotImplementedError

    def describe_decomposition(self) -> str:
        """The decomposition as text, e.g. ``-1 x call(K=60) + 0.5 x put(K=60)`` on V t."""
        parts = [f"{w:+g} x average {o.option_type}(K={o.strike_cny_per_t:g})" for w, o in self.decomposition()]
        return " ".join(parts) + f" on {self.volume_t:g} t"

    def cashflows(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "date": [self.payment_date],
                "flow": [f"settlement of {self.kind}: {self.describe_decomposition()}"],
                "quantity_t": [self.volume_t],
                "fixed_cny": [0.0],
            }
        )


@dataclass(frozen=True)
class GuaranteedPurchase(_AveragePriceContract):
    """Compliance-purchase guarantee for a thermal plant (document 002, 4.1 4)): the asset company's position.

    The company commits to supply ``volume_t`` at ``committed_price_cny_per_t`` (K) and buys at the realised
    average A: if A > K it bears A - K; if A < K it gains K - A and returns ``share_returned`` of the gain.

    Notes
    -----
    Company payoff per tonne: :math:`-(A-K)^+ + (1-\\theta)(K-A)^+`, i.e. short one average-price call and long
    :math:`1-\\theta` average-price puts.
    """

    share_returned: float = 0.5
    kind: ClassVar[str] = "guaranteed_purchase"

    def __post_init__(self) -> None:
        self._validate()
        _field(self, "share_returned")

    def decomposition(self) -> list[tuple[float, AsianOption]]:
        return [(-1.0, self._leg("call")), (1.0 - self.share_returned, self._leg("put"))]

    def payoff_per_t(self, average_cny_per_t: np.ndarray) -> np.ndarray:
        k = self.committed_price_cny_per_t
        a = average_cny_per_t
        return np.where(a > k, -(a - k), (1.0 - self.share_returned) * (k - a))


@dataclass(frozen=True)
class GuaranteedSale(_AveragePriceContract):
    """CCER sale with a floor for a generator (document 002, 4.1 4)): the asset company's position.

    The generator is paid the committed price K; the company sells at the realised average A, paying K - A when
    A < K and keeping ``upside_share_kept`` of A - K when A > K (1 = all, as in the document).

    Notes
    -----
    Company payoff per tonne: :math:`\\lambda (A-K)^+ - (K-A)^+`: long :math:`\\lambda` calls, short one put.
    """

    upside_share_kept: float = 1.0
    kind: ClassVar[str] = "guaranteed_sale"

    def __post_init__(self) -> None:
        self._validate()
        _field(self, "upside_share_kept")

    def decomposition(self) -> list[tuple[float, AsianOption]]:
        return [(self.upside_share_kept, self._leg("call")), (-1.0, self._leg("put"))]

    def payoff_per_t(self, average_cny_per_t: np.ndarray) -> np.ndarray:
        k = self.committed_price_cny_per_t
        a = average_cny_per_t
        return np.where(a > k, self.upside_share_kept * (a - k), -(k - a))


@dataclass(frozen=True)
class CarbonSwap(Instrument):
    """Fixed-for-floating carbon swap settled each period against the period's average SSE close.

    Periods come from a QuantLib schedule (``period_months`` = 1, 3, 6 or 12; China inter-bank calendar,
    modified following). Period i averages the trading days in ``(d_{i-1}, d_i]`` and pays at ``d_i``.

    Notes
    -----
    Payer (pays fixed K, receives floating): :math:`\\sum_i Q P(0,d_i) (E[A_i] - K)`; swap rate
    :math:`S = \\sum_i P(0,d_i) E[A_i] / \\sum_i P(0,d_i)` (equal quantities), annuity :math:`Q\\sum_i P(0,d_i)`.
    """

    underlying: str
    fixed_price_cny_per_t: float
    quantity_t_per_period: float
    start_date: pd.Timestamp
    end_date: pd.Timestamp
    period_months: int = 3
    position: Literal["payer", "receiver"] = "payer"
    kind: ClassVar[str] = "carbon_swap"

    def __post_init__(self) -> None:
        _field(self, "underlying")
        _field(self, "fixed_price_cny_per_t")
        _field(self, "quantity_t_per_period")
        object.__setattr__(self, "start_date", _ts("start_date", self.start_date))
        object.__setattr__(self, "end_date", _ts("end_date", self.end_date))
        _field(self, "position")
        if self.end_date <= self.start_date:
            raise ContractError(
                f"end_date={self.end_date.date()} must be after start_date={self.start_date.date()} "
                "(a swap schedule needs at least one period)"
            )
        self.schedule()

    @property
    def sign(self) -> float:
        """+1 payer of fixed (receives floating), -1 receiver."""
        return 1.0 if self.position == "payer" else -1.0

    @property
    def factors(self) -> tuple[str, ...]:
        return (self.underlying,)

    def schedule(self) -> pd.DatetimeIndex:
        """Start date followed by the period end (payment) dates."""
        sched = payment_schedule(self.start_date, self.end_date, int(self.period_months), "period_months")
        for a, b in itertools.pairwise(sched):
            if len(trading_days(a, b, include_start=False)) == 0:
                raise ContractError(f"swap period {a.date()}..{b.date()} has no trading day to average")
        return sched

    def period_fixings(self) -> list[pd.DatetimeIndex]:
        """Trading days averaged in each period."""
        s = self.schedule()
        return [trading_days(a, b, include_start=False) for a, b in itertools.pairwise(s)]

    def fixing_dates(self, valuation_date: pd.Timestamp) -> pd.DatetimeIndex:
        out = self.period_fixings()
        return out[0].append(out[1:]) if len(out) > 1 else out[0]

    def check_dates(self, valuation_date: pd.Timestamp) -> None:
        if self.start_date < valuation_date:
            raise ContractError(
                f"start_date={self.start_date.date()} must not be before the valuation date {valuation_date.date()} "
                "(seasoned swaps are not supported)"
            )

    def cashflows(self) -> pd.DataFrame:
        s = self.schedule()
        fix = self.period_fixings()
        return pd.DataFrame(
            {
                "date": s[1:],
                "period_start": s[:-1],
                "n_fixings": [len(f) for f in fix],
                "flow": ["floating average - fixed" if self.sign > 0 else "fixed - floating average"] * len(fix),
                "quantity_t": self.quantity_t_per_period,
                "fixed_cny": -self.sign * self.quantity_t_per_period * self.fixed_price_cny_per_t,
            }
        )


@dataclass(frozen=True)
class CarbonSwaption(Instrument):
    """European option, exercised at ``expiry``, to enter ``swap`` (its ``position`` says payer or receiver).

    Notes
    -----
    Black on the swap rate: :math:`V = A(0) [\\omega S_0 N(\\omega d_1) - \\omega K N(\\omega d_2)]` with the
    annuity :math:`A(0) = Q \\sum_i P(0, d_i)`, forward swap rate :math:`S_0` and swap-rate volatility taken as the
    underlying's volatility (exact under GBM when every fixing is after expiry).
    """

    swap: CarbonSwap
    expiry: pd.Timestamp
    kind: ClassVar[str] = "carbon_swaption"

    def __post_init__(self) -> None:
        if not isinstance(self.swap, CarbonSwap):
            raise ContractError("swap must be a carbon_swap table")
        object.__setattr__(self, "expiry", _ts("expiry", self.expiry))
        if self.expiry > self.swap.start_date:
            raise ContractError(
                f"expiry={self.expiry.date()} must not be after the swap start_date={self.swap.start_date.date()}"
            )

    @property
    def factors(self) -> tuple[str, ...]:
        return self.swap.factors

    def fixing_dates(self, valuation_date: pd.Timestamp) -> pd.DatetimeIndex:
        return pd.DatetimeIndex([self.expiry])

    def check_dates(self, valuation_date: pd.Timestamp) -> None:
        _after("expiry", self.expiry, valuation_date)

    def cashflows(self) -> pd.DataFrame:
        frame = self.swap.cashflows()
        frame["flow"] = "if exercised on " + str(self.expiry.date()) + ": " + frame["flow"]
        return frame


@dataclass(frozen=True)
class ExchangeOption(Instrument):
    """Quota-CCER swap option (document 002, 4.2.3): the right at ``expiry`` to receive ``quantity_receive_t`` of
    ``receive`` against delivering ``quantity_deliver_t`` of ``deliver``.

    Notes
    -----
    Payoff :math:`\\max(Q_1 S^1_T - Q_2 S^2_T, 0)`; Margrabe (1978):
    :math:`V = Q_1 P F_1 N(d_1) - Q_2 P F_2 N(d_2)`,
    :math:`\\sigma^2 = \\sigma_1^2 + \\sigma_2^2 - 2\\rho\\sigma_1\\sigma_2`.
    """

    receive: str
    deliver: str
    quantity_receive_t: float
    quantity_deliver_t: float
    expiry: pd.Timestamp
    kind: ClassVar[str] = "exchange_option"

    def __post_init__(self) -> None:
        _field(self, "receive")
        _field(self, "deliver")
        if self.receive == self.deliver:
            raise ContractError(f"deliver={self.deliver!r} must differ from receive={self.receive!r}")
        _field(self, "quantity_receive_t")
        _field(self, "quantity_deliver_t")
        object.__setattr__(self, "expiry", _ts("expiry", self.expiry))

    @property
    def factors(self) -> tuple[str, ...]:
        return (self.receive, self.deliver)

    def fixing_dates(self, valuation_date: pd.Timestamp) -> pd.DatetimeIndex:
        return pd.DatetimeIndex([self.expiry])

    def check_dates(self, valuation_date: pd.Timestamp) -> None:
        _after("expiry", self.expiry, valuation_date)

    def cashflows(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "date": [self.expiry],
                "flow": [f"option: receive {self.receive}, deliver {self.deliver}"],
                "quantity_t": [self.quantity_receive_t],
                "fixed_cny": [0.0],
            }
        )


TopUp = Literal["always", "never", "wrong_way"] | float | dict[str, Any]


@dataclass(frozen=True)
class PledgeLoan(Instrument):
    """Loan secured by a pledge of CEA or CCER (质押贷款), originated on the valuation date.

    Principal = ``ltv`` x ``quantity_t`` x spot. Interest at ``rate`` is paid every ``interest_months``; the
    principal at ``tenor_years``. Coverage = collateral value / principal, checked on each monitoring date
    (``monitoring`` ``daily`` = every SSE trading day, ``weekly`` = every fifth). Below ``maintenance_ratio``
    the borrower gets a margin call and tops up to the initial coverage ``1/ltv`` (``top_up`` ``always``,
    ``never``, a probability per call, or ``wrong_way`` / a table of :class:`finance.credit.WrongWayTopUp`
    parameters: a probability that falls with the price on the call date; a borrower who declines a call is not
    called again and the loan runs on until the liquidation line). ``borrower_pd_1y`` or ``rating`` (optional,
    at most one): the borrower's one-year PD, whose default (independent of prices, constant hazard) also
    triggers the liquidation of the collateral, and which feeds the credit figures of :mod:`finance.credit`.
    Below ``liquidation_ratio`` (and at maturity when collateral value is below the amount owed) the lender sells
    the collateral from the next trading day, at most
    ``liquidation_share_of_adv`` of the average daily traded volume per day and for at most
    ``max_liquidation_days`` days (the remainder in a block on the last day), at the close less ``haircut``.
    The average daily volume is ``adv_t`` when given, else the mean of the last ``adv_window_days`` traded
    volumes of the embedded CEA history; for CCER collateral :data:`finance.loans.CCER_ADV_T` (derived from the
    traded volume of document 003) unless ``adv_t`` is given.

    Notes
    -----
    Loss on a path: :math:`L = \\max(D_\\tau - \\sum_d q_d S_{\\tau+d} (1-h), 0)` with :math:`D_\\tau` principal plus
    accrued interest at the trigger date :math:`\\tau`.
    """

    collateral: str
    quantity_t: float
    ltv: float
    rate: float
    tenor_years: float
    maintenance_ratio: float
    liquidation_ratio: float
    monitoring: Literal["daily", "weekly"] = "daily"
    top_up: TopUp = "never"
    liquidation_share_of_adv: float = 0.1
    max_liquidation_days: int = 20
    haircut: float = 0.05
    interest_months: int = 3
    adv_t: float | None = None
    adv_window_days: int = 60
    target_loss_probability: float | None = None
    borrower_pd_1y: float | None = None
    rating: str | None = None
    kind: ClassVar[str] = "pledge_loan"

    def __post_init__(self) -> None:
        _field(self, "collateral")
        _field(self, "quantity_t")
        ltv = _field(self, "ltv")
        _field(self, "rate")
        _field(self, "tenor_years")
        m = _field(self, "maintenance_ratio")
        liq = _field(self, "liquidation_ratio")
        if m <= liq:
            raise ContractError(
                f"maintenance_ratio={self.maintenance_ratio!r} must be above "
                f"liquidation_ratio={self.liquidation_ratio!r}"
            )
        if m >= 1.0 / ltv:
            raise ContractError(
                f"maintenance_ratio={self.maintenance_ratio!r} must be below the initial coverage 1/ltv={1.0 / ltv:.4g}"
            )
        _field(self, "monitoring")
        if isinstance(self.top_up, str):
            _choice("top_up", self.top_up, ("always", "never", "wrong_way"))
        elif isinstance(self.top_up, dict):
            _wrong_way_table(self.top_up)
        else:
            _num("top_up", self.top_up, 0.0, 1.0)  # or 'always' / 'never' / 'wrong_way' / a table
        _credit_inputs(self.borrower_pd_1y, self.rating)
        _field(self, "liquidation_share_of_adv")
        _field(self, "max_liquidation_days")
        _field(self, "haircut")
        if self.interest_months not in (1, 3, 6, 12):
            raise ContractError(f"interest_months={self.interest_months!r} must be one of 1, 3, 6, 12")
        if self.adv_t is not None:
            _field(self, "adv_t")
        if self.target_loss_probability is not None:
            _field(self, "target_loss_probability")

    @property
    def factors(self) -> tuple[str, ...]:
        return (self.collateral,)

    @property
    def top_up_probability(self) -> float:
        """Probability that the borrower meets a margin call; for a price-dependent (wrong-way) model, its value
        at the first margin call, where the price ratio is ``maintenance_ratio x ltv``."""
        if self.top_up == "always":
            return 1.0
        if self.top_up == "never":
            return 0.0
        if isinstance(self.top_up, str | dict):
            from finance.credit import top_up_model

            return float(top_up_model(self.top_up)(np.array([self.maintenance_ratio * self.ltv]))[0])
        return float(self.top_up)

    def maturity(self, valuation_date: pd.Timestamp) -> pd.Timestamp:
        """Maturity: ``tenor_years`` after origination (Actual/365 days), on or before the next trading day."""
        end = valuation_date + pd.Timedelta(days=round(float(self.tenor_years) * 365))
        return trading_days(end - pd.Timedelta(days=10), end)[-1]

    def monitoring_dates(self, valuation_date: pd.Timestamp) -> pd.DatetimeIndex:
        """Monitoring dates in ``(valuation_date, maturity]``; maturity is always one."""
        days = trading_days(valuation_date, self.maturity(valuation_date), include_start=False)
        if self.monitoring == "weekly":
            days = days[4::5].union(days[-1:])
        return days

    def interest_dates(self, valuation_date: pd.Timestamp) -> pd.DatetimeIndex:
        """Origination followed by the interest payment dates (the last is maturity)."""
        return payment_schedule(valuation_date, self.maturity(valuation_date), self.interest_months, "interest_months")

    def fixing_dates(self, valuation_date: pd.Timestamp) -> pd.DatetimeIndex:
        days = trading_days(valuation_date, self.maturity(valuation_date), include_start=False)
        return days.append(trading_days_after(days[-1], int(self.max_liquidation_days)))

    def check_dates(self, valuation_date: pd.Timestamp) -> None:
        return None

    def cashflows(self) -> pd.DataFrame:
        """Contractual flows per CNY of principal (the principal is ``ltv`` x quantity x spot at origination).

        One row per interest period and the principal at maturity; the engine's result carries the expected
        flows in CNY by date.
        """
        total = round(12 * float(self.tenor_years))
        months = [*range(self.interest_months, total, self.interest_months), total]
        starts = [0, *months[:-1]]
        frame = pd.DataFrame(
            {
                "months_from_start": months,
                "flow": "interest",
                "amount_per_cny_principal": [self.rate * (b - a) / 12.0 for a, b in zip(starts, months, strict=True)],
            }
        )
        last = pd.DataFrame({"months_from_start": [total], "flow": ["principal"], "amount_per_cny_principal": [1.0]})
        return pd.concat([frame, last], ignore_index=True)


@dataclass(frozen=True)
class ProjectLoan(Instrument):
    """CCER-linked project loan repaid from project cash flows including carbon income.

    Annual periods from ``start_date`` (QuantLib schedule). Cash flow available for debt service in year y:
    ``other_cash_flows_cny[y] + carbon_volumes_t[y] x A_y``, A_y = average of the month-end closes of
    ``underlying`` in the period. Both schedules are per year, a vector or a ``(n_years, n_paths)`` array (the
    volumes of the emissions model plug in here). ``amortisation``: ``equal`` principal, ``annuity`` (level debt
    service) or ``sculpted`` (debt service = base-case CFADS / ``target_dscr``, balloon at maturity). A debt
    service reserve of ``reserve_periods`` x the first debt service is funded at close; a share
    ``cash_sweep_share`` of the cash left after debt service and reserve top-up prepays principal. Default when
    CFADS plus reserve cannot pay the debt service due, or (with ``borrower_pd_1y`` or ``rating``) when the
    borrower defaults for reasons outside the project's cash flows (constant hazard, independent of prices; the
    default is recognised at the end of the period it falls in); the lender then recovers ``recovery_rate`` of the
    amount outstanding (plus the cash on hand).

    Notes
    -----
    :math:`DSCR_{y} = CFADS_y / DS_y`; default at the first :math:`y` with :math:`CFADS_y + R_{y-1} < DS_y`.
    """

    principal_cny: float
    rate: float
    start_date: pd.Timestamp
    tenor_years: int
    carbon_volumes_t: Any
    other_cash_flows_cny: Any
    underlying: str = "CCER"
    amortisation: Literal["equal", "annuity", "sculpted"] = "annuity"
    target_dscr: float = 1.3
    reserve_periods: float = 0.5
    cash_sweep_share: float = 0.0
    recovery_rate: float = 0.4
    borrower_pd_1y: float | None = None
    rating: str | None = None
    kind: ClassVar[str] = "project_loan"

    def __post_init__(self) -> None:
        _field(self, "principal_cny")
        _field(self, "rate")
        object.__setattr__(self, "start_date", _ts("start_date", self.start_date))
        _field(self, "tenor_years")
        n = int(self.tenor_years)
        object.__setattr__(self, "carbon_volumes_t", _schedule_array("carbon_volumes_t", self.carbon_volumes_t, n))
        if np.any(self.carbon_volumes_t < 0):
            raise ContractError("carbon_volumes_t must be >= 0")
        object.__setattr__(
            self, "other_cash_flows_cny", _schedule_array("other_cash_flows_cny", self.other_cash_flows_cny, n)
        )
        _field(self, "underlying")
        _field(self, "amortisation")
        _field(self, "target_dscr")
        _field(self, "reserve_periods")
        _field(self, "cash_sweep_share")
        _field(self, "recovery_rate")
        _credit_inputs(self.borrower_pd_1y, self.rating)

    @property
    def factors(self) -> tuple[str, ...]:
        return (self.underlying,)

    def schedule(self) -> pd.DatetimeIndex:
        """Start date followed by the annual payment dates."""
        end = self.start_date + pd.DateOffset(years=int(self.tenor_years))
        return payment_schedule(self.start_date, pd.Timestamp(end), 12, "tenor_years")

    def fixing_dates(self, valuation_date: pd.Timestamp) -> pd.DatetimeIndex:
        s = self.schedule()
        return monthly_dates(max(valuation_date, s[0]), s[-1])

    def check_dates(self, valuation_date: pd.Timestamp) -> None:
        if self.start_date < valuation_date:
            raise ContractError(
                f"start_date={self.start_date.date()} must not be before the valuation date {valuation_date.date()}"
            )

    def with_project(self, flows: ProjectCashFlows) -> ProjectLoan:
        """This loan on a project's per-path credits (``carbon_volumes_t``) and operating cash flows (heat revenue
        minus opex, ``other_cash_flows_cny``) of the calendar years its periods end in (:mod:`finance.linking`);
        capex is financed by the loan, so it is not part of the cash flow available for debt service."""
        years = [d.year for d in self.schedule()[1:]]
        return dataclasses.replace(
            self,
            carbon_volumes_t=flows.on(flows.credits_t, years),
            other_cash_flows_cny=flows.on(flows.operating_cash_cny, years),
        )

    def cashflows(self) -> pd.DataFrame:
        s = self.schedule()
        vol = self.carbon_volumes_t if self.carbon_volumes_t.ndim == 1 else self.carbon_volumes_t.mean(axis=1)
        other = (
            self.other_cash_flows_cny if self.other_cash_flows_cny.ndim == 1 else self.other_cash_flows_cny.mean(axis=1)
        )
        return pd.DataFrame(
            {"date": s[1:], "period_start": s[:-1], "carbon_volume_t": vol, "other_cash_flow_cny": other}
        )


@dataclass(frozen=True)
class FutureCreditMonetisation(Instrument):
    """Early monetisation of future CCER vintages: prepaid forward sale, a sold floor and a pledge.

    ``issued_volumes_t`` (per vintage year, vector or ``(n_years, n_paths)``) are the credits the project expects
    to be issued, each year's vintage delivered at ``delivery_dates`` (default 30 June of ``first_year + y``);
    with probability ``issuance_failure_probability`` a vintage is not issued at all (registration or
    verification failure). Levers, each valued on the same paths:

    * prepaid forward: ``contract_share`` of the expected issuance sold today for a prepayment; a shortfall is
      settled at the market price times ``1 + shortfall_penalty``; the buyer discounts at the curve plus
      ``buyer_spread``;
    * sold floor: puts at ``floor_cny_per_t`` on ``contract_share`` of each vintage sold for a premium paid now;
    * pledge: a loan of ``pledge_ltv`` x the present value of the expected credit income, at ``pledge_rate``,
      repaid from the credit sales.

    Notes
    -----
    Fair prepayment price per tonne:
    :math:`X = \\sum_y P_b(0,t_y) E[c_y S_y + \\pi\\, s_y S_y] / \\sum_y c_y`, shortfall :math:`s_y = (c_y - I_y)^+`.
    """

    first_year: int
    issued_volumes_t: Any
    underlying: str = "CCER"
    contract_share: float = 0.8
    shortfall_penalty: float = 0.2
    issuance_failure_probability: float = 0.1
    buyer_spread: float = 0.03
    floor_cny_per_t: float = 50.0
    pledge_ltv: float = 0.5
    pledge_rate: float = 0.05
    early_years: int = 3
    kind: ClassVar[str] = "future_credit_monetisation"

    def __post_init__(self) -> None:
        _field(self, "first_year")
        object.__setattr__(self, "issued_volumes_t", _schedule_array("issued_volumes_t", self.issued_volumes_t))
        if np.any(self.issued_volumes_t < 0):
            raise ContractError("issued_volumes_t must be >= 0")
        _field(self, "underlying")
        _field(self, "contract_share")
        _field(self, "shortfall_penalty")
        _field(self, "issuance_failure_probability")
        _field(self, "buyer_spread")
        _field(self, "floor_cny_per_t")
        _field(self, "pledge_ltv")
        _field(self, "pledge_rate")
        _field(self, "early_years")

    @property
    def factors(self) -> tuple[str, ...]:
        return (self.underlying,)

    @property
    def n_years(self) -> int:
        """Number of vintages."""
        return int(self.issued_volumes_t.shape[0])

    def delivery_dates(self) -> pd.DatetimeIndex:
        """30 June of each vintage's delivery year (an SSE trading day on or before it)."""
        out = []
        for y in range(self.n_years):
            d = pd.Timestamp(f"{int(self.first_year) + y}-06-30")
            out.append(trading_days(d - pd.Timedelta(days=10), d)[-1])
        return pd.DatetimeIndex(out, name="date")

    def fixing_dates(self, valuation_date: pd.Timestamp) -> pd.DatetimeIndex:
        return self.delivery_dates()

    def check_dates(self, valuation_date: pd.Timestamp) -> None:
        _after("first delivery date", self.delivery_dates()[0], valuation_date)

    def cashflows(self) -> pd.DataFrame:
        vol = self.issued_volumes_t if self.issued_volumes_t.ndim == 1 else self.issued_volumes_t.mean(axis=1)
        return pd.DataFrame(
            {
                "date": self.delivery_dates(),
                "vintage_year": np.arange(self.n_years) + int(self.first_year),
                "expected_issued_t": vol * (1.0 - self.issuance_failure_probability),
                "contracted_t": self.contract_share * vol * (1.0 - self.issuance_failure_probability),
            }
        )
