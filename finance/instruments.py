"""Instruments: contract terms only (QuantLib's instrument / pricing-engine split).

An instrument never holds market data, a model or a method. It knows its terms, validates them (one-line
:class:`~carbonrisk.finance.exceptions.ContractError` naming field, value and rule), lists the price fixings it reads
(:meth:`Instrument.fixing_dates`) and the risk factors it depends on, and returns its contractual schedule
(:meth:`Instrument.cashflows`). Engines in :mod:`carbonrisk.finance.engines` and :mod:`carbonrisk.finance.loans` value
it.

Quantities are in tonnes (``quantity_t``), prices in CNY/t, amounts in CNY, rates as decimals per year.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import pandas as pd

from carbonrisk.finance.exceptions import ContractError
from carbonrisk.finance.quantities import check_field
from carbonrisk.finance.schedules import monthly_dates, payment_schedule, trading_days, trading_days_after
from carbonrisk.models.validation import check_choice, check_number

if TYPE_CHECKING:
    from carbonrisk.finance.linking import ProjectCashFlows

__all__ = [
    "ASSETS",
    "AsianOption",
    "AverageFixings",
    "BondPeriod",
    "CarbonCustody",
    "CarbonLending",
    "CarbonLinkedBond",
    "CarbonRepo",
    "CarbonSwap",
    "CarbonSwaption",
    "Derivative",
    "EuropeanOption",
    "ExchangeOption",
    "Forward",
    "FutureCreditMonetisation",
    "GuaranteedPurchase",
    "GuaranteedSale",
    "Instrument",
    "PledgeLoan",
    "ProjectLoan",
    "QuotaOverdraft",
    "StructuredDeposit",
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
    """A finite number > 0 (:func:`carbonrisk.models.validation.check_number`)."""
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
    """Check field ``key`` of ``instrument`` against its declaration (:mod:`carbonrisk.finance.quantities`)."""
    return check_field(instrument.kind, key, getattr(instrument, key), error=ContractError)


def _asset(field_name: str, value: str) -> str:
    return check_choice(field_name, value, ASSETS, error=ContractError)


def _choice(field_name: str, value: str, allowed: Sequence[str]) -> str:
    return check_choice(field_name, value, allowed, error=ContractError)


_WRONG_WAY_KEYS = ("p_max", "m", "s", "kind", "d50", "w")


def _wrong_way_table(table: dict[str, Any]) -> None:
    """A ``top_up`` table: the parameters of :class:`carbonrisk.finance.credit.WrongWayTopUp` (checked there too)."""
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


def _credit_inputs(
    pd_1y: float | None, rating: str | None, names: tuple[str, str] = ("borrower_pd_1y", "rating")
) -> None:
    """Credit inputs of a loan's borrower (or, with ``names``, a derivative's counterparty): at most one of a
    one-year PD (in [0, 1)) and a rating."""
    pd_name, rating_name = names
    if pd_1y is not None and rating is not None:
        raise ContractError(f"{pd_name}={pd_1y!r} and {rating_name}={rating!r}: give at most one")
    if pd_1y is not None:
        _num(pd_name, pd_1y, 0.0, 1.0, hi_open=True)
    if rating is not None:
        key = str(rating).strip().upper().rstrip("+-")
        if key not in ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C"):
            raise ContractError(
                f"{rating_name}={rating!r} must be one of AAA, AA, A, BBB, BB, B, CCC (modifiers + / - allowed)"
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
class Derivative(Instrument):
    """Base of the derivatives: the counterparty's credit inputs of the CVA (:mod:`carbonrisk.finance.exposure`).

    ``counterparty_pd_1y`` (constant hazard) or ``counterparty_rating`` (mapped by
    :func:`carbonrisk.finance.credit.pd_from_rating`), and ``counterparty_lgd`` (default 60 %); without a PD or rating
    the exposure profile (EPE / PFE) is still reported, the CVA is not.
    """

    counterparty_pd_1y: float | None = field(default=None, kw_only=True)
    counterparty_rating: str | None = field(default=None, kw_only=True)
    counterparty_lgd: float = field(default=0.6, kw_only=True)

    def _check_counterparty(self) -> None:
        _credit_inputs(self.counterparty_pd_1y, self.counterparty_rating, ("counterparty_pd_1y", "counterparty_rating"))
        _field(self, "counterparty_lgd")

    def counterparty_pd(self) -> float | None:
        """The counterparty's one-year PD (from its rating when given that way), None when neither is given."""
        if self.counterparty_pd_1y is not None:
            return float(self.counterparty_pd_1y)
        if self.counterparty_rating is None:
            return None
        from carbonrisk.finance.credit import pd_from_rating  # carbonrisk.finance.credit imports this module's types

        return pd_from_rating(str(self.counterparty_rating))


@dataclass(frozen=True)
class Forward(Derivative):
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
        self._check_counterparty()
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
class EuropeanOption(Derivative):
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
        self._check_counterparty()
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
class AsianOption(_AveragingWindow, Derivative):
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
        self._check_counterparty()
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
class _AveragePriceContract(_AveragingWindow, Derivative):
    underlying: str
    committed_price_cny_per_t: float
    volume_t: float
    averaging_start: pd.Timestamp
    averaging_end: pd.Timestamp
    past_fixings_cny_per_t: tuple[float, ...] = ()

    def _validate(self) -> None:
        self._check_counterparty()
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
class CarbonSwap(Derivative):
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
        self._check_counterparty()
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
class CarbonSwaption(Derivative):
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
        self._check_counterparty()
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
class ExchangeOption(Derivative):
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
        self._check_counterparty()
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
    ``never``, a probability per call, or ``wrong_way`` / a table of :class:`carbonrisk.finance.credit.WrongWayTopUp`
    parameters: a probability that falls with the price on the call date; a borrower who declines a call is not
    called again and the loan runs on until the liquidation line). ``borrower_pd_1y`` or ``rating`` (optional,
    at most one): the borrower's one-year PD, whose default (independent of prices, constant hazard) also
    triggers the liquidation of the collateral, and which feeds the credit figures of :mod:`carbonrisk.finance.credit`.
    Below ``liquidation_ratio`` (and at maturity when collateral value is below the amount owed) the lender sells
    the collateral from the next trading day, at most
    ``liquidation_share_of_adv`` of the average daily traded volume per day and for at most
    ``max_liquidation_days`` days (the remainder in a block on the last day), at the close less ``haircut``.
    The average daily volume is ``adv_t`` when given, else the mean of the last ``adv_window_days`` traded
    volumes of the embedded CEA history; for CCER collateral :data:`carbonrisk.finance.loans.CCER_ADV_T` (derived from
    the traded volume of document 003) unless ``adv_t`` is given.

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
            from carbonrisk.finance.credit import top_up_model

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
        minus opex, ``other_cash_flows_cny``) of the calendar years its periods end in
        (:mod:`carbonrisk.finance.linking`); capex is financed by the loan, so it is not part of the cash flow available
        for debt service."""
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


# --- structured products: green structured deposits and carbon-linked bonds (issue 18) ------------------------------


def _last_trading_day(date: pd.Timestamp) -> pd.Timestamp:
    """The SSE trading day on or before ``date``."""
    return pd.Timestamp(trading_days(date - pd.Timedelta(days=14), date)[-1])


@dataclass(frozen=True)
class StructuredDeposit(Instrument):
    """Green structured deposit (绿色结构性存款): principal protected, a minimum rate and a capped carbon upside.

    The depositor places ``principal_cny`` on ``start_date`` and receives at ``maturity_date``

    .. math::

        N \\left[1 + r_{min}\\,\\tau + p \\max\\left(0, \\min\\left(\\frac{S_T}{S_0} - 1, c\\right)\\right)\\right]

    with :math:`\\tau` the Actual/365 Fixed year fraction from ``start_date`` to ``maturity_date``, :math:`S_0` the
    close of ``underlying`` on ``start_date`` (the spot when it is the valuation date) and :math:`S_T` the close on
    the last SSE trading day on or before maturity (``averaging = "final"``) or the mean of the month-end closes in
    ``(start_date, maturity_date]`` (``"monthly"``, :func:`carbonrisk.finance.schedules.monthly_dates`). ``position``:
    the side valued, ``depositor`` (the claim) or ``bank`` (its negative). A deposit starting after the valuation date
    includes the principal the depositor pays on ``start_date``.

    Notes
    -----
    Decomposition (``final``): a zero-coupon bond :math:`N(1 + r_{min}\\tau)` plus :math:`pN/S_0` call spreads
    :math:`(S_T - S_0)^+ - (S_T - S_0(1+c))^+`.
    """

    principal_cny: float
    underlying: str
    start_date: pd.Timestamp
    maturity_date: pd.Timestamp
    min_rate: float
    participation: float
    cap: float
    averaging: Literal["final", "monthly"] = "final"
    position: Literal["depositor", "bank"] = "depositor"
    kind: ClassVar[str] = "structured_deposit"

    def __post_init__(self) -> None:
        _field(self, "principal_cny")
        _field(self, "underlying")
        object.__setattr__(self, "start_date", _ts("start_date", self.start_date))
        object.__setattr__(self, "maturity_date", _ts("maturity_date", self.maturity_date))
        _field(self, "min_rate")
        _field(self, "participation")
        _field(self, "cap")
        _field(self, "averaging")
        _field(self, "position")
        if self.maturity_date <= self.start_date:
            raise ContractError(
                f"maturity_date={self.maturity_date.date()} must be after start_date={self.start_date.date()}"
            )
        if self.observation_dates()[-1] <= self.start_date:
            raise ContractError(
                f"maturity_date={self.maturity_date.date()}: no SSE trading day after start_date="
                f"{self.start_date.date()} to observe the underlying on"
            )

    @property
    def factors(self) -> tuple[str, ...]:
        return (self.underlying,)

    @property
    def sign(self) -> float:
        """+1 for the depositor, -1 for the bank."""
        return 1.0 if self.position == "depositor" else -1.0

    @property
    def year_fraction(self) -> float:
        """Actual/365 Fixed year fraction from ``start_date`` to ``maturity_date``."""
        return float((self.maturity_date - self.start_date).days) / 365.0

    @property
    def guaranteed_cny(self) -> float:
        """Principal plus the minimum interest, paid at maturity whatever the price."""
        return self.principal_cny * (1.0 + self.min_rate * self.year_fraction)

    def observation_dates(self) -> pd.DatetimeIndex:
        """The closes that set :math:`S_T`: the last trading day on or before maturity, or the month-ends."""
        if self.averaging == "monthly":
            return monthly_dates(self.start_date, self.maturity_date)
        return pd.DatetimeIndex([_last_trading_day(self.maturity_date)], name="date")

    def linked_payout(self, ratio: np.ndarray) -> np.ndarray:
        """Linked part in CNY for ratios :math:`X = S_T / S_0`: :math:`pN \\max(0, \\min(X - 1, c))` (a new array)."""
        out = np.asarray(ratio, dtype=float) - 1.0
        np.clip(out, 0.0, self.cap, out=out)
        out *= self.participation * self.principal_cny
        return out

    def fixing_dates(self, valuation_date: pd.Timestamp) -> pd.DatetimeIndex:
        obs = self.observation_dates()
        if self.start_date > valuation_date:
            return pd.DatetimeIndex([self.start_date]).append(obs)
        return obs

    def check_dates(self, valuation_date: pd.Timestamp) -> None:
        if self.start_date < valuation_date:
            raise ContractError(
                f"start_date={self.start_date.date()} must not be before the valuation date {valuation_date.date()} "
                "(S_0 and past fixings of a running deposit are not inputs)"
            )

    def cashflows(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "date": [self.start_date, self.maturity_date, self.maturity_date],
                "flow": [
                    "principal paid by the depositor",
                    f"principal + minimum interest {self.min_rate:.4%} x {self.year_fraction:.4f} y",
                    f"{self.participation:g} x max(0, min(S_T/S_0 - 1, {self.cap:g})) x principal ({self.averaging})",
                ],
                "fixed_cny": [-self.principal_cny, self.guaranteed_cny, 0.0],
            }
        )


_BOND_MONTHS = (1, 3, 6, 12)


@dataclass(frozen=True)
class BondPeriod:
    """One coupon period of a carbon-linked bond.

    Attributes
    ----------
    accrual_start, accrual_end : pandas.Timestamp
        Unadjusted accrual dates (QuantLib schedule).
    payment_date : pandas.Timestamp
        Payment date (following business day, China inter-bank calendar).
    accrual_years : float
        Year fraction of the bond's day count.
    fixings : pandas.DatetimeIndex
        Month-end SSE closes in ``(accrual_start, accrual_end]`` whose mean sets the linked coupon.
    """

    accrual_start: pd.Timestamp
    accrual_end: pd.Timestamp
    payment_date: pd.Timestamp
    accrual_years: float
    fixings: pd.DatetimeIndex


@dataclass(frozen=True)
class CarbonLinkedBond(Instrument):
    """Carbon-linked bond (碳债券): fixed coupons plus a coupon linked to the carbon price or to a project's credits.

    Fixed leg: ``coupon_rate`` on ``face_cny`` every ``coupon_months`` from ``issue_date`` to ``maturity_date``
    (QuantLib schedule generated backward on the China inter-bank calendar, unadjusted accrual, payments on the
    following business day, ``day_count`` ACT/365F or ACT/ACT (ISMA)), face redeemed at maturity. Linked coupon of
    period i, paid with the fixed one, on :math:`A_i` the mean of the month-end closes of ``underlying`` in the
    period:

    * ``linked_coupon = "average_price"``: :math:`N \\alpha_i \\min(p \\max(A_i / K - 1, 0), c)`, participation
      ``participation`` in the average above ``strike_cny_per_t``, capped at the rate ``linked_cap_rate``
      (optional);
    * ``"project_income"``: :math:`s V_i A_i`, the share ``income_share`` of the credit income of the
      project's ``carbon_volumes_t`` issued in the period (annual coupons; one row per coupon, a vector or a
      ``(n_coupons, n_paths)`` array: a portfolio contract with ``project = "..."`` takes its project's per-path
      credits).

    ``position``: ``holder`` (the bond's value) or ``issuer`` (its negative). A bond issued after the valuation
    date includes the face the holder pays at issue.

    Notes
    -----
    The average-price coupon is :math:`N\\alpha_i p / K` average-price calls struck at K less as many struck at
    :math:`K(1 + c/p)`.
    """

    face_cny: float
    coupon_rate: float
    issue_date: pd.Timestamp
    maturity_date: pd.Timestamp
    coupon_months: int = 12
    day_count: Literal["ACT/365F", "ACT/ACT"] = "ACT/365F"
    underlying: str = "CCER"
    linked_coupon: Literal["average_price", "project_income"] = "average_price"
    strike_cny_per_t: float | None = None
    participation: float = 0.0
    linked_cap_rate: float | None = None
    income_share: float = 0.0
    carbon_volumes_t: Any = None
    position: Literal["holder", "issuer"] = "holder"
    kind: ClassVar[str] = "carbon_linked_bond"

    def __post_init__(self) -> None:
        _field(self, "face_cny")
        _field(self, "coupon_rate")
        object.__setattr__(self, "issue_date", _ts("issue_date", self.issue_date))
        object.__setattr__(self, "maturity_date", _ts("maturity_date", self.maturity_date))
        if self.maturity_date <= self.issue_date:
            raise ContractError(
                f"maturity_date={self.maturity_date.date()} must be after issue_date={self.issue_date.date()}"
            )
        _field(self, "coupon_months")
        if self.coupon_months not in _BOND_MONTHS:
            raise ContractError(f"coupon_months={self.coupon_months!r} must be one of 1, 3, 6, 12")
        _field(self, "day_count")
        _field(self, "underlying")
        _field(self, "linked_coupon")
        _field(self, "participation")
        _field(self, "income_share")
        _field(self, "position")
        if self.linked_cap_rate is not None:
            _field(self, "linked_cap_rate")
        if self.linked_coupon == "average_price":
            if self.strike_cny_per_t is None:
                raise ContractError("strike_cny_per_t is required when linked_coupon = 'average_price'")
            _field(self, "strike_cny_per_t")
            if self.carbon_volumes_t is not None:
                raise ContractError("carbon_volumes_t is only read when linked_coupon = 'project_income'")
        else:
            if self.coupon_months != 12:
                raise ContractError(
                    f"coupon_months={self.coupon_months!r}: a project_income coupon is annual (coupon_months = 12)"
                )
            if self.carbon_volumes_t is None:
                raise ContractError(
                    "carbon_volumes_t is required when linked_coupon = 'project_income' (one row per coupon), "
                    "unless a portfolio contract names its project"
                )
            n = len(self.periods())
            vol = _schedule_array("carbon_volumes_t", self.carbon_volumes_t, n)
            if np.any(vol < 0):
                raise ContractError("carbon_volumes_t must be >= 0")
            object.__setattr__(self, "carbon_volumes_t", vol)
        for period in self.periods():
            if len(period.fixings) == 0:
                raise ContractError(
                    f"coupon period {period.accrual_start.date()}..{period.accrual_end.date()} has no month-end "
                    "trading day to average"
                )

    @property
    def factors(self) -> tuple[str, ...]:
        return (self.underlying,)

    @property
    def sign(self) -> float:
        """+1 for the holder, -1 for the issuer."""
        return 1.0 if self.position == "holder" else -1.0

    def ql_day_count(self) -> Any:
        """The QuantLib day counter of the fixed coupons."""
        import QuantLib as ql

        if self.day_count == "ACT/ACT":
            return ql.ActualActual(ql.ActualActual.ISMA)
        return ql.Actual365Fixed()

    def ql_schedule(self) -> Any:
        """QuantLib schedule: China inter-bank calendar, unadjusted, generated backward from maturity."""
        import QuantLib as ql

        from carbonrisk.models.calendar import interbank_calendar, to_ql

        return ql.Schedule(
            to_ql(self.issue_date),
            to_ql(self.maturity_date),
            ql.Period(int(self.coupon_months), ql.Months),
            interbank_calendar(),
            ql.Unadjusted,
            ql.Unadjusted,
            ql.DateGeneration.Backward,
            False,
        )

    def ql_fixed_bond(self) -> Any:
        """The fixed leg and redemption as a QuantLib ``FixedRateBond`` (settlement days 0, face in CNY)."""
        import QuantLib as ql

        from carbonrisk.models.calendar import interbank_calendar, to_ql

        return ql.FixedRateBond(
            0,
            float(self.face_cny),
            self.ql_schedule(),
            [float(self.coupon_rate)],
            self.ql_day_count(),
            ql.Following,
            100.0,
            to_ql(self.issue_date),
            interbank_calendar(),
        )

    def periods(self) -> tuple[BondPeriod, ...]:
        """The coupon periods (schedule, payment dates, accruals, month-end fixings)."""
        return _bond_periods(self.issue_date, self.maturity_date, int(self.coupon_months), str(self.day_count))

    def with_project(self, flows: ProjectCashFlows) -> CarbonLinkedBond:
        """This project-income bond on a project's per-path credits (:mod:`carbonrisk.finance.linking`): coupon i takes
        the credits of the calendar year holding the middle of its accrual period (zeros outside the project's years).
        A bond whose coupon follows the price takes nothing from a project and is returned unchanged."""
        if self.linked_coupon != "project_income":
            return self
        years = [(p.accrual_start + (p.accrual_end - p.accrual_start) / 2).year for p in self.periods()]
        return dataclasses.replace(self, carbon_volumes_t=flows.on(flows.credits_t, years))

    def linked_coupon_cny(self, period: int, average_cny_per_t: np.ndarray) -> np.ndarray:
        """Linked coupon of period ``period`` in CNY for realised averages (per path)."""
        a = np.asarray(average_cny_per_t, dtype=float)
        if self.linked_coupon == "project_income":
            vol = self.carbon_volumes_t[period]
            return np.asarray(self.income_share * vol * a, dtype=float)
        assert self.strike_cny_per_t is not None
        rate = self.participation * np.maximum(a / self.strike_cny_per_t - 1.0, 0.0)
        if self.linked_cap_rate is not None:
            rate = np.minimum(rate, self.linked_cap_rate)
        return np.asarray(self.face_cny * self.periods()[period].accrual_years * rate, dtype=float)

    def fixing_dates(self, valuation_date: pd.Timestamp) -> pd.DatetimeIndex:
        out = pd.DatetimeIndex([], name="date")
        for period in self.periods():
            out = out.union(period.fixings)
        return out

    def check_dates(self, valuation_date: pd.Timestamp) -> None:
        if self.issue_date < valuation_date:
            raise ContractError(
                f"issue_date={self.issue_date.date()} must not be before the valuation date {valuation_date.date()} "
                "(the fixings of a running bond's current period are not inputs)"
            )

    def cashflows(self) -> pd.DataFrame:
        rows = []
        for p in self.periods():
            rows.append(
                {
                    "date": p.payment_date,
                    "accrual_start": p.accrual_start,
                    "accrual_years": p.accrual_years,
                    "fixed_cny": self.face_cny * self.coupon_rate * p.accrual_years,
                    "linked": f"{self.linked_coupon} on the mean of {len(p.fixings)} month-end closes",
                }
            )
        rows[-1]["fixed_cny"] += self.face_cny
        return pd.DataFrame(rows)


@lru_cache(maxsize=256)
def _bond_periods(issue: pd.Timestamp, maturity: pd.Timestamp, months: int, day_count: str) -> tuple[BondPeriod, ...]:
    import QuantLib as ql

    from carbonrisk.models.calendar import from_ql, interbank_calendar

    dc = ql.ActualActual(ql.ActualActual.ISMA) if day_count == "ACT/ACT" else ql.Actual365Fixed()
    sched = ql.Schedule(
        ql.Date(issue.day, issue.month, issue.year),
        ql.Date(maturity.day, maturity.month, maturity.year),
        ql.Period(months, ql.Months),
        interbank_calendar(),
        ql.Unadjusted,
        ql.Unadjusted,
        ql.DateGeneration.Backward,
        False,
    )
    dates = list(sched)
    cal = interbank_calendar()
    out = []
    for a, b in itertools.pairwise(dates):
        start, end = from_ql(a), from_ql(b)
        if day_count == "ACT/ACT":
            alpha = float(dc.yearFraction(a, b, a, b))
        else:
            alpha = float(dc.yearFraction(a, b))
        out.append(BondPeriod(start, end, from_ql(cal.adjust(b, ql.Following)), alpha, monthly_dates(start, end)))
    return tuple(out)


# ---------------------------------------------------------------------------------------------------------------
# Carbon financing (issue 18): repo, lending, custody, quota overdraft; engines in carbonrisk.finance.carbon_financing.


def _top_up_terms(value: TopUp) -> None:
    """``top_up``: ``always``, ``never``, ``wrong_way``, a table of its parameters or a probability in [0, 1]."""
    if isinstance(value, str):
        _choice("top_up", value, ("always", "never", "wrong_way"))
    elif isinstance(value, dict):
        _wrong_way_table(value)
    else:
        _num("top_up", value, 0.0, 1.0)


class _Term:
    """A contract running ``tenor_years`` from the valuation date, its prices read on every SSE trading day of its
    life plus ``max_liquidation_days`` days after it (a close-out or buy-in started on the last day)."""

    tenor_years: float
    max_liquidation_days: int

    def maturity(self, valuation_date: pd.Timestamp) -> pd.Timestamp:
        """``tenor_years`` after the valuation date (Actual/365 days), on or before the next trading day."""
        end = valuation_date + pd.Timedelta(days=round(float(self.tenor_years) * 365))
        return trading_days(end - pd.Timedelta(days=10), end)[-1]

    def monitoring_dates(self, valuation_date: pd.Timestamp) -> pd.DatetimeIndex:
        """Trading days in ``(valuation_date, maturity]``."""
        return trading_days(valuation_date, self.maturity(valuation_date), include_start=False)

    def fixing_dates(self, valuation_date: pd.Timestamp) -> pd.DatetimeIndex:
        days = self.monitoring_dates(valuation_date)
        return days.append(trading_days_after(days[-1], int(self.max_liquidation_days)))

    def check_dates(self, valuation_date: pd.Timestamp) -> None:
        if len(self.monitoring_dates(valuation_date)) == 0:
            raise ContractError(f"tenor_years={self.tenor_years!r} ends before the next trading day")


@dataclass(frozen=True)
class CarbonRepo(_Term, Instrument):
    """Sale and repurchase of allowances (售出回购), started on the valuation date.

    The seller sells ``quantity_t`` of ``asset`` to the financier at spot x (1 - ``haircut``) and buys them back
    at ``tenor_years`` at the sale price x (1 + ``repo_rate`` x accrual) (simple, Actual/365). Title passes: the
    financier holds the tonnes. Coverage = value of the tonnes held / amount owed, checked every trading day;
    below ``maintenance_ratio`` the seller is called to deliver tonnes back to the initial coverage
    1/(1 - haircut) (``top_up`` as for pledge loans); a failed call is an event of default. On the seller's
    default (``borrower_pd_1y`` / ``rating``, hazard ``h0 (S/F)^b`` with ``b = pd_price_elasticity``; a failed
    call) the financier sells the tonnes it holds from the default day's close (no pledge-enforcement delay), at
    most ``liquidation_share_of_adv`` of the daily volume a day for ``max_liquidation_days`` days (the rest in a
    block on the last day), at the close less ``sale_discount``; the surplus over the amount owed goes back to
    the seller. ``side`` picks whose value ``value`` reports (the seller's is the negative of the financier's).

    Notes
    -----
    Cash lent :math:`P = q S_0 (1-h)`; owed :math:`D_t = P(1 + r t)`; loss at default :math:`\tau`:
    :math:`L = \\max(D_\tau - (1-d) \\sum_k q_k S_{\tau+k}, 0)`.
    """

    asset: str
    quantity_t: float
    haircut: float
    repo_rate: float
    tenor_years: float
    maintenance_ratio: float
    top_up: TopUp = "always"
    liquidation_share_of_adv: float = 0.1
    max_liquidation_days: int = 20
    sale_discount: float = 0.0
    adv_t: float | None = None
    adv_window_days: int = 60
    pd_price_elasticity: float = 0.0
    target_expected_loss_cny: float | None = None
    side: Literal["financier", "seller"] = "financier"
    borrower_pd_1y: float | None = None
    rating: str | None = None
    kind: ClassVar[str] = "carbon_repo"

    def __post_init__(self) -> None:
        _field(self, "asset")
        _field(self, "quantity_t")
        h = _field(self, "haircut")
        _field(self, "repo_rate")
        _field(self, "tenor_years")
        m = _field(self, "maintenance_ratio")
        if m >= 1.0 / (1.0 - h):
            raise ContractError(
                f"maintenance_ratio={self.maintenance_ratio!r} must be below the initial coverage "
                f"1/(1 - haircut)={1.0 / (1.0 - h):.4g}"
            )
        _top_up_terms(self.top_up)
        _field(self, "liquidation_share_of_adv")
        _field(self, "max_liquidation_days")
        _field(self, "sale_discount")
        if self.adv_t is not None:
            _field(self, "adv_t")
        _field(self, "adv_window_days")
        _field(self, "pd_price_elasticity")
        if self.target_expected_loss_cny is not None:
            _field(self, "target_expected_loss_cny")
        _field(self, "side")
        _credit_inputs(self.borrower_pd_1y, self.rating)

    @property
    def factors(self) -> tuple[str, ...]:
        return (self.asset,)

    def cashflows(self) -> pd.DataFrame:
        """The sale and the repurchase per tonne of ``quantity_t`` at a spot of 1 CNY/t (scale by q x spot)."""
        t = float(self.tenor_years)
        return pd.DataFrame(
            {
                "years_from_start": [0.0, t],
                "flow": ["sale: seller receives cash, financier the tonnes", "repurchase: seller pays, gets tonnes"],
                "cash_per_cny_spot": [1.0 - self.haircut, -(1.0 - self.haircut) * (1.0 + self.repo_rate * t)],
            }
        )


class _Lent:
    """Fields shared by the contracts that lend tonnes to a borrower who may fail (buy-in on default)."""

    def _check_lent(self, names: Sequence[str]) -> None:
        inst: Any = self
        for key in names:
            value = getattr(inst, key)
            if value is not None or key not in ("adv_t", "target_expected_loss_cny"):
                _field(inst, key)


@dataclass(frozen=True)
class CarbonLending(_Term, _Lent, Instrument):
    """Carbon lending (借碳 / 拆借): the lender hands ``quantity_t`` to a borrower for ``tenor_years``.

    The borrower pays a fee at maturity, ``fee_rate`` x ``tenor_years`` on the value at inception, in cash
    (``fee_in = "cash"``: :math:`f q S_0 T`) or in tonnes (``"allowances"``: :math:`f q T` t, worth
    :math:`S_T` each), and posts cash collateral ``collateral_ratio`` x q S_0 (static). On the borrower's
    default before maturity (``borrower_pd_1y`` / ``rating``; hazard ``h0 (S/F)^b``, ``b`` =
    ``pd_price_elasticity``: a short borrower weakens as the price rises, so ``b > 0`` is wrong-way) the fee is
    lost and the lender buys the tonnes back from that day's close in the thin market (at most
    ``liquidation_share_of_adv`` of the daily volume a day, ``max_liquidation_days`` days, at the close plus
    ``buy_in_premium``), keeps the collateral and recovers ``recovery_rate`` of the rest.

    Notes
    -----
    Loss at default :math:`\tau`: :math:`L = (1-R)\\max(K_\tau - C, 0)`, :math:`K_\tau = (1+p)\\sum_k q_k
    S_{\tau+k}` (about :math:`q S_\tau`: the exposure :math:`\\max(q S_\tau - C, 0)`). Lender's value
    :math:`V = E[P(0,T) F 1_{\tau > T}] - E[P(0,\tau) L]`; the tonnes themselves stay the lender's inventory
    (their price risk is the position's, not the contract's).
    """

    asset: str
    quantity_t: float
    tenor_years: float
    fee_rate: float
    fee_in: Literal["cash", "allowances"] = "cash"
    collateral_ratio: float = 0.0
    recovery_rate: float = 0.0
    buy_in_premium: float = 0.0
    liquidation_share_of_adv: float = 0.1
    max_liquidation_days: int = 20
    adv_t: float | None = None
    adv_window_days: int = 60
    pd_price_elasticity: float = 0.0
    target_expected_loss_cny: float | None = None
    side: Literal["lender", "borrower"] = "lender"
    borrower_pd_1y: float | None = None
    rating: str | None = None
    kind: ClassVar[str] = "carbon_lending"

    def __post_init__(self) -> None:
        self._check_lent(
            ("asset", "quantity_t", "tenor_years", "fee_rate", "fee_in", "collateral_ratio", "recovery_rate",
             "buy_in_premium", "liquidation_share_of_adv", "max_liquidation_days", "adv_t", "adv_window_days",
             "pd_price_elasticity", "target_expected_loss_cny", "side")
        )  # fmt: skip
        _credit_inputs(self.borrower_pd_1y, self.rating)

    @property
    def factors(self) -> tuple[str, ...]:
        return (self.asset,)

    def cashflows(self) -> pd.DataFrame:
        t = float(self.tenor_years)
        unit = "CNY per CNY of q S_0" if self.fee_in == "cash" else "t per t lent"
        return pd.DataFrame(
            {
                "years_from_start": [0.0, t, t],
                "flow": ["tonnes lent, collateral posted", "tonnes returned, collateral released", f"fee ({unit})"],
                "amount": [self.collateral_ratio, -self.collateral_ratio, self.fee_rate * t],
            }
        )


@dataclass(frozen=True)
class CarbonCustody(_Term, _Lent, Instrument):
    """Carbon custody (托管): a compliance company (the owner) hands ``quantity_t`` to an asset manager.

    The manager lends ``lent_share`` of the tonnes out as a :class:`CarbonLending` (cash fee
    ``lending_fee_rate``, the borrowers' ``borrower_pd_1y`` / ``rating``, ``borrower_collateral_ratio``,
    ``borrower_recovery_rate``), bears the borrowers' credit losses, and returns the same quantity at
    ``tenor_years`` plus a guaranteed return (exactly one of ``guaranteed_return_cny_per_t``, cash per tonne, or
    ``guaranteed_rate``, simple annual on q S_0), keeping the rest. If the manager fails (``manager_pd_1y``) the
    owner loses the tonnes, less ``manager_recovery_rate``, and the guarantee. ``side``: ``owner`` or
    ``manager``.

    Notes
    -----
    Decomposition (PVs, expectations over the paths; :math:`\tau_m` the manager's default):
    total :math:`= E[\text{lending fees}] - E[\text{borrowers' credit losses}]`;
    owner :math:`V_O = E[G 1_{\tau_m > T}] - E[(1-R_m) q S_{\tau_m} 1_{\tau_m \\le T}]`;
    manager :math:`V_M = \text{total} - V_O` (lending income minus the guarantee minus the credit losses, plus
    the tonnes it does not return when it fails). With risk-free borrowers and manager:
    :math:`V_O = G P(0,T)`, :math:`V_M = (f\\,s\\,q S_0 T - G) P(0,T)`.
    """

    asset: str
    quantity_t: float
    tenor_years: float
    lending_fee_rate: float
    guaranteed_return_cny_per_t: float | None = None
    guaranteed_rate: float | None = None
    lent_share: float = 1.0
    borrower_collateral_ratio: float = 0.0
    borrower_recovery_rate: float = 0.0
    manager_pd_1y: float = 0.0
    manager_recovery_rate: float = 0.0
    buy_in_premium: float = 0.0
    liquidation_share_of_adv: float = 0.1
    max_liquidation_days: int = 20
    adv_t: float | None = None
    adv_window_days: int = 60
    pd_price_elasticity: float = 0.0
    side: Literal["owner", "manager"] = "owner"
    borrower_pd_1y: float | None = None
    rating: str | None = None
    kind: ClassVar[str] = "carbon_custody"

    def __post_init__(self) -> None:
        self._check_lent(
            ("asset", "quantity_t", "tenor_years", "lending_fee_rate", "lent_share", "borrower_collateral_ratio",
             "borrower_recovery_rate", "manager_pd_1y", "manager_recovery_rate", "buy_in_premium",
             "liquidation_share_of_adv", "max_liquidation_days", "adv_t", "adv_window_days", "pd_price_elasticity",
             "side")
        )  # fmt: skip
        g, r = self.guaranteed_return_cny_per_t, self.guaranteed_rate
        if (g is None) == (r is None):
            raise ContractError(f"guaranteed_return_cny_per_t={g!r} and guaranteed_rate={r!r}: give exactly one")
        _field(self, "guaranteed_return_cny_per_t" if g is not None else "guaranteed_rate")
        _credit_inputs(self.borrower_pd_1y, self.rating)

    @property
    def factors(self) -> tuple[str, ...]:
        return (self.asset,)

    def guarantee_cny(self, spot_cny_per_t: float) -> float:
        """The guaranteed return paid at maturity, CNY: :math:`g q` or :math:`r_g q S_0 T`."""
        if self.guaranteed_return_cny_per_t is not None:
            return float(self.guaranteed_return_cny_per_t) * float(self.quantity_t)
        return float(self.guaranteed_rate or 0.0) * float(self.quantity_t) * spot_cny_per_t * float(self.tenor_years)

    def lending(self) -> CarbonLending:
        """The manager's lending of ``lent_share`` of the tonnes (cash fee; ``lent_share`` must be > 0)."""
        return CarbonLending(
            self.asset,
            self.quantity_t * self.lent_share,
            self.tenor_years,
            self.lending_fee_rate,
            "cash",
            self.borrower_collateral_ratio,
            self.borrower_recovery_rate,
            self.buy_in_premium,
            self.liquidation_share_of_adv,
            self.max_liquidation_days,
            self.adv_t,
            self.adv_window_days,
            self.pd_price_elasticity,
            None,
            "lender",
            self.borrower_pd_1y,
            self.rating,
            name=f"{self.label()} (borrowers)",
        )

    def cashflows(self) -> pd.DataFrame:
        t = float(self.tenor_years)
        return pd.DataFrame(
            {
                "years_from_start": [0.0, t, t],
                "flow": ["owner hands tonnes to manager", "manager returns tonnes", "guaranteed return to owner"],
                "quantity_t": [-self.quantity_t, self.quantity_t, 0.0],
            }
        )


@dataclass(frozen=True)
class QuotaOverdraft(_Lent, Instrument):
    """Quota overdraft for a legal person (碳排放权法人透支): a credit line in allowances.

    A compliance entity draws ``drawn_t`` (at most ``credit_line_t``) on ``draw_date`` to cover its shortfall
    before the ``true_up_date`` and repays at ``repay_date`` in tonnes: ``drawn_t`` plus the interest in tonnes
    ``drawn_t x overdraft_rate x accrual`` (Actual/365). The lender charges ``commitment_fee_rate`` on the
    undrawn line (x spot x line term, cash, paid upfront) and holds cash collateral ``collateral_ratio`` x
    ``drawn_t`` x S_0. On the entity's default between the draw and the repayment (``borrower_pd_1y`` /
    ``rating``, hazard ``h0 (S/F)^b``) the interest is lost and the lender buys the drawn tonnes back in the thin
    market as for :class:`CarbonLending`. A default before the draw cancels the line. ``side``: ``lender`` or
    ``entity`` (the entity's value is the negative of the lender's: its cost).

    Notes
    -----
    Lender's value :math:`V = c (Q - q) S_0 T_\\ell + E[P(0,T) q r \\delta S_T 1_{\tau > T}]
    - E[P(0,\tau) (1-R)\\max(K_\tau - C, 0) 1_{t_d < \tau \\le T}]`; at zero PD
    :math:`V = c (Q - q) S_0 T_\\ell + P(0,T) q r \\delta F(0,T)`.
    """

    credit_line_t: float
    drawn_t: float
    draw_date: pd.Timestamp
    true_up_date: pd.Timestamp
    repay_date: pd.Timestamp
    overdraft_rate: float
    asset: str = "CEA"
    commitment_fee_rate: float = 0.0
    collateral_ratio: float = 0.0
    recovery_rate: float = 0.0
    buy_in_premium: float = 0.0
    liquidation_share_of_adv: float = 0.1
    max_liquidation_days: int = 20
    adv_t: float | None = None
    adv_window_days: int = 60
    pd_price_elasticity: float = 0.0
    target_expected_loss_cny: float | None = None
    side: Literal["lender", "entity"] = "lender"
    borrower_pd_1y: float | None = None
    rating: str | None = None
    kind: ClassVar[str] = "quota_overdraft"

    def __post_init__(self) -> None:
        self._check_lent(
            ("asset", "credit_line_t", "drawn_t", "overdraft_rate", "commitment_fee_rate", "collateral_ratio",
             "recovery_rate", "buy_in_premium", "liquidation_share_of_adv", "max_liquidation_days", "adv_t",
             "adv_window_days", "pd_price_elasticity", "target_expected_loss_cny", "side")
        )  # fmt: skip
        if self.drawn_t > self.credit_line_t:
            raise ContractError(f"drawn_t={self.drawn_t!r} must not exceed credit_line_t={self.credit_line_t!r}")
        for key in ("draw_date", "true_up_date", "repay_date"):
            object.__setattr__(self, key, _ts(key, getattr(self, key)))
        if self.true_up_date < self.draw_date:
            raise ContractError(
                f"true_up_date={self.true_up_date.date()} must not be before draw_date={self.draw_date.date()}"
            )
        if self.repay_date <= self.true_up_date:
            raise ContractError(
                f"repay_date={self.repay_date.date()} must be after true_up_date={self.true_up_date.date()}"
            )
        _credit_inputs(self.borrower_pd_1y, self.rating)

    @property
    def factors(self) -> tuple[str, ...]:
        return (self.asset,)

    def monitoring_dates(self, valuation_date: pd.Timestamp) -> pd.DatetimeIndex:
        """Trading days in ``(valuation_date, repay]`` (``repay`` = the last trading day on or before
        ``repay_date``)."""
        return trading_days(valuation_date, self.repay_date, include_start=False)

    def fixing_dates(self, valuation_date: pd.Timestamp) -> pd.DatetimeIndex:
        days = self.monitoring_dates(valuation_date)
        return days.append(trading_days_after(days[-1], int(self.max_liquidation_days)))

    def check_dates(self, valuation_date: pd.Timestamp) -> None:
        if self.draw_date < valuation_date:
            raise ContractError(
                f"draw_date={self.draw_date.date()} must not be before the valuation date {valuation_date.date()}"
            )
        _after("repay_date", self.repay_date, valuation_date)

    def cashflows(self) -> pd.DataFrame:
        delta = (self.repay_date - self.draw_date).days / 365.0
        return pd.DataFrame(
            {
                "date": [self.draw_date, self.true_up_date, self.repay_date],
                "flow": ["entity draws tonnes", "entity surrenders them at true-up", "entity repays tonnes + interest"],
                "quantity_t": [self.drawn_t, -self.drawn_t, -self.drawn_t * (1.0 + self.overdraft_rate * delta)],
            }
        )
