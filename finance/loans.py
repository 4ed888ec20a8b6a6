"""Loan engines: pledge loans on CEA / CCER collateral and CCER-linked project loans, valued on path sets.

Both engines return the lender's net present value (interest and principal received, discounted on the market
curve, less the amount lent) as ``value``, and the credit committee's numbers in ``extras``. Probabilities come
with their binomial standard errors.

The Broadie-Glasserman-Kou (1997) continuity correction used to check the daily-monitored pledge loan: a barrier
``B`` monitored every :math:`\\Delta t` is hit like a continuously monitored barrier at
:math:`B e^{\\mp \\beta \\sigma \\sqrt{\\Delta t}}`, :math:`\\beta = -\\zeta(1/2)/\\sqrt{2\\pi} \\approx 0.5826`
(minus sign for a down barrier).
"""

from __future__ import annotations

import math
import warnings
import zlib
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.stats import norm

from carbonrisk.finance.credit import LoanCreditFigures, default_times, loan_credit_figures, top_up_model
from carbonrisk.finance.engines import Engine
from carbonrisk.finance.exceptions import ContractError, PathSetError
from carbonrisk.finance.instruments import PledgeLoan, ProjectLoan
from carbonrisk.finance.liquidity import LiquidationDemand
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.results import PricingResult, mc_estimate, prices_on
from carbonrisk.models.data import load_prices
from carbonrisk.models.exceptions import DataGapWarning
from carbonrisk.models.paths import PathSet

__all__ = [
    "BGK_BETA",
    "CCER_ADV_T",
    "MCPledgeLoanEngine",
    "MCProjectLoanEngine",
    "PledgeOutcome",
    "average_daily_volume_t",
    "borrower_default_times",
    "debt_schedule",
    "down_barrier_hit_probability",
    "effective_interest_rate",
    "market_depth_t",
    "max_ltv_for_loss_probability",
    "pledge_credit_figures",
    "pledge_demand",
    "pledge_result",
    "project_credit_figures",
    "resold_pledge",
    "simulate_pledge_loan",
]

BGK_BETA: float = 0.5825971579390106
"""Broadie-Glasserman-Kou constant :math:`-\\zeta(1/2)/\\sqrt{2\\pi}`."""

_TOPUP_STREAM = 0x70505550  # spawn key of the top-up decisions' random stream ("pUPU")
_DEFAULT_STREAM = 0x42444546  # spawn key of the borrower default times' random stream ("BDEF")

CCER_TRADED_T: float = 9.2194e6
"""Cumulative CCER volume traded since the market reopened (document 003: 921.94 万吨, 6.50 亿元, ~70 CNY/t)."""

CCER_TRADING_DAYS: int = 411
"""SSE trading days from 2024-01-22 (first trade of the reopened CCER market) to 2025-09-30 (assumed end of the
period document 003 reports on: it was published with the first list of 52 national zero-carbon parks, autumn
2025), counted with :func:`carbonrisk.finance.schedules.trading_days`."""

CCER_ADV_T: float = CCER_TRADED_T / CCER_TRADING_DAYS
"""Default average daily traded CCER volume, t: 9.2194 Mt / 411 days = 22 432 t/day (about 1/20 of CEA's
recent 450 000 t/day). The liquidation capacity of CCER collateral, unless a loan gives ``adv_t``."""


def down_barrier_hit_probability(
    spot: float, barrier: float, vol: float, carry: float, t_years: float, monitoring_dt_years: float = 0.0
) -> float:
    """Probability that GBM falls to ``barrier`` before ``t_years`` (continuous, or discrete with BGK).

    Notes
    -----
    With :math:`\\nu = c - \\sigma^2/2`, :math:`b = \\ln(B'/S_0) < 0`,
    :math:`B' = B e^{-\\beta\\sigma\\sqrt{\\Delta t}}`:
    :math:`P = N((b - \\nu T)/(\\sigma\\sqrt T)) + e^{2\\nu b/\\sigma^2} N((b + \\nu T)/(\\sigma\\sqrt T))`
    (reflection principle; e.g. Shreve, *Stochastic Calculus for Finance II*, 7.2).
    """
    shifted = barrier * math.exp(-BGK_BETA * vol * math.sqrt(monitoring_dt_years))
    b = math.log(shifted / spot)
    if b >= 0:
        return 1.0
    nu = carry - 0.5 * vol**2
    sd = vol * math.sqrt(t_years)
    return float(norm.cdf((b - nu * t_years) / sd) + math.exp(2 * nu * b / vol**2) * norm.cdf((b + nu * t_years) / sd))


def market_depth_t(loan: PledgeLoan, market: MarketEnv) -> float:
    """Market depth used to liquidate ``loan``'s collateral, t/day.

    The loan's ``adv_t`` when given; else the market data's depth of the collateral (``MarketEnv.adv_t``:
    ``[market.CCER] adv_t`` of a contract file, ``ccer_adv_t`` of a portfolio file); else the market's mean traded
    volume of the collateral over ``adv_window_days``
    (:meth:`~carbonrisk.finance.market.MarketEnv.average_daily_volume_t`) when the market has its volumes; else, for
    CCER, the documented :data:`CCER_ADV_T` (document 003); else the CEA's.
    """
    if loan.adv_t is not None:
        return float(loan.adv_t)
    if loan.collateral in market.adv_t:
        return float(market.adv_t[loan.collateral])
    if loan.collateral in market.daily_volumes_t:
        return market.average_daily_volume_t(loan.collateral, loan.adv_window_days)
    if loan.collateral == "CCER":
        return CCER_ADV_T
    return market.average_daily_volume_t("CEA", loan.adv_window_days)


def _depth_source(loan: PledgeLoan, market: MarketEnv) -> str:
    """Where :func:`market_depth_t` took the loan's market depth from."""
    if loan.adv_t is not None:
        return "adv_t"
    if loan.collateral in market.adv_t:
        return "market adv_t"
    if loan.collateral in market.daily_volumes_t:
        return f"{loan.collateral} history"
    return "CCER_ADV_T (document 003)" if loan.collateral == "CCER" else "CEA history"


def effective_interest_rate(rate: float, payments_per_year: int) -> float:
    """Annual effective rate of a nominal ``rate`` paid ``payments_per_year`` times: :math:`(1 + r/m)^m - 1`
    (the EIR of a loan lent at par without fees, IFRS 9 Appendix A)."""
    m = int(payments_per_year)
    return float((1.0 + rate / m) ** m - 1.0)


def borrower_default_times(loan: PledgeLoan | ProjectLoan, paths: PathSet, *, seed: int | None = None) -> np.ndarray:
    """Per-path borrower default time in years (``inf`` = never) from its ``borrower_pd_1y`` or ``rating``.

    Constant hazard :math:`h = -\\ln(1 - PD_{1y})`, :math:`\\tau = -\\ln(1-U)/h`
    (:func:`carbonrisk.finance.credit.default_times`), independent of prices; the uniforms come from their own stream of
    the path set's seed (spawn key ``(_DEFAULT_STREAM, crc32(label))``: one stream per loan, so two borrowers' defaults
    are independent), and a block's default times do not depend on how the run is split. All ``inf`` when the loan has
    neither field.
    """
    n = paths.n_paths
    if loan.borrower_pd_1y is None and loan.rating is None:
        return np.full(n, np.inf)
    from carbonrisk.finance.credit import pd_from_rating

    pd_1y = loan.borrower_pd_1y if loan.borrower_pd_1y is not None else pd_from_rating(str(loan.rating))
    entropy = seed if seed is not None else paths.seed_entropy
    if entropy is None:
        raise ContractError(
            f"'{loan.label()}' draws borrower defaults from its PD: give a seed or a path set with seed_entropy"
        )
    borrower = zlib.crc32(loan.label().encode("utf-8"))  # loans of different borrowers draw different uniforms
    rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(_DEFAULT_STREAM, borrower)))
    return default_times(float(pd_1y), n, rng)


def average_daily_volume_t(window_days: int) -> float:
    """Average daily traded CEA volume (t) over the last ``window_days`` days of the embedded history."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataGapWarning)
        history = load_prices("cea")
    if history.volume_t is None:  # pragma: no cover - the embedded file has the column
        raise PathSetError("embedded CEA history has no volume_t column")
    return float(history.volume_t.tail(int(window_days)).mean())


@dataclass(frozen=True)
class PledgeOutcome:
    """Per-path results of one pledge-loan simulation (arrays of length ``n_paths``).

    Attributes
    ----------
    principal_cny : float
    margin_call, liquidated, default, loss_flag : numpy.ndarray of bool
    loss_cny, ead_cny : numpy.ndarray
        Loss and amount owed at default (0 where no default).
    pv_cny : numpy.ndarray
        Lender's discounted receipts (interest, principal, recoveries).
    annuity_cny : numpy.ndarray
        Discounted ``principal x accrual`` over the periods the loan is alive (for the break-even spread).
    pv_loss_cny : numpy.ndarray
        Discounted loss.
    cashflows : pandas.DataFrame
        Per interest date: expected interest and principal received, expected recoveries and losses of the
        liquidations triggered in the period ending on that date (CNY, means over paths), discount factor.
    default_time_years : numpy.ndarray
        Per path, the time (years from the valuation date) of the monitoring date on which the liquidation was
        triggered (collateral shortfall or borrower default), ``inf`` where the loan repaid.
    borrower_default : numpy.ndarray of bool
        Paths whose liquidation was triggered by the borrower's default (not by the collateral).
    liquidation_start : numpy.ndarray of int
        Per path, the position in the loan's ``fixing_dates`` of the first sale day of the liquidation, -1 where
        none (the demand :func:`carbonrisk.finance.depth_sharing.share_depth` shares with other sellers).
    liquidation_quantity_t : numpy.ndarray
        Tonnes held when the liquidation was triggered (0 where none).
    trigger_df : numpy.ndarray
        Discount factor of the trigger date, where recoveries are booked (0 where none).
    trigger_period : numpy.ndarray of int
        Row of ``cashflows`` (interest period) the liquidation falls in, -1 where none.
    profile_dates : pandas.DatetimeIndex
        The monitoring dates of the rows of ``coverage`` and ``exposure_cny`` (:func:`profile_dates`: about
        :data:`PROFILE_POINTS` of them).
    coverage : numpy.ndarray
        ``(n_profile_dates, n_paths)``: the ratio the rules test on each of those dates, pledged quantity (top-ups up
        to the previous date included) x price / principal; NaN once the loan is liquidated.
    exposure_cny : numpy.ndarray
        ``(n_profile_dates, n_paths)``: amount owed (principal plus interest accrued since the last payment) minus
        the haircut value of the pledged collateral, floored at 0; 0 once liquidated (the loss is then realised in
        ``loss_cny``).
    """

    principal_cny: float
    margin_call: np.ndarray
    liquidated: np.ndarray
    default: np.ndarray
    loss_flag: np.ndarray
    loss_cny: np.ndarray
    ead_cny: np.ndarray
    pv_cny: np.ndarray
    annuity_cny: np.ndarray
    pv_loss_cny: np.ndarray
    cashflows: pd.DataFrame | None = None
    default_time_years: np.ndarray | None = None
    borrower_default: np.ndarray | None = None
    liquidation_start: np.ndarray | None = None
    liquidation_quantity_t: np.ndarray | None = None
    trigger_df: np.ndarray | None = None
    trigger_period: np.ndarray | None = None
    profile_dates: pd.DatetimeIndex | None = None
    coverage: np.ndarray | None = None
    exposure_cny: np.ndarray | None = None


PROFILE_POINTS: int = 24
"""About this many monitoring dates carry the pledge loan's exposure and coverage profile (every
``n // PROFILE_POINTS``-th of its ``n`` monitoring dates, the first included)."""


def _profile_positions(n_monitor: int) -> np.ndarray:
    return np.arange(0, n_monitor, max(1, n_monitor // PROFILE_POINTS))


def profile_dates(loan: PledgeLoan, valuation_date: pd.Timestamp) -> pd.DatetimeIndex:
    """The monitoring dates of the loan's exposure and coverage profile (:class:`PledgeOutcome`)."""
    monitor = loan.monitoring_dates(valuation_date)
    return monitor[_profile_positions(len(monitor))]


def simulate_pledge_loan(
    loan: PledgeLoan, market: MarketEnv, paths: PathSet, *, adv_t: float | None = None, topup_seed: int | None = None
) -> PledgeOutcome:
    """Run the pledge loan's rules on every path (see :class:`~carbonrisk.finance.instruments.PledgeLoan`).

    The top-up decision on a margin call at price :math:`S_t` is ``U < p(S_t / S_0)`` with ``p`` from
    :func:`carbonrisk.finance.credit.top_up_model` (a constant, or the wrong-way model that falls with the price); the
    borrower's own default (:func:`borrower_default_times`) triggers the liquidation on the first monitoring
    date on or after it.
    """
    vd = market.valuation_date
    spot = market.spot(loan.collateral)
    principal = loan.ltv * loan.quantity_t * spot
    all_days = loan.fixing_dates(vd)
    s_all = prices_on(paths, loan.collateral, all_days)
    monitor = loan.monitoring_dates(vd)
    mon_pos = all_days.get_indexer(monitor)
    n = paths.n_paths
    adv = adv_t if adv_t is not None else market_depth_t(loan, market)
    cap = loan.liquidation_share_of_adv * adv
    n_liq = int(loan.max_liquidation_days)
    # interest periods
    ipay = loan.interest_dates(vd)
    ipay_t = market.discount.times(ipay)
    idf = market.df(ipay)
    mon_t = market.discount.times(monitor)
    mon_df = market.df(monitor)
    # index of the interest period each monitoring date falls in (period k: (ipay[k], ipay[k+1]])
    period_of = np.searchsorted(ipay_t, mon_t, side="left") - 1
    accrual_since = mon_t - ipay_t[np.clip(period_of, 0, None)]
    seed = topup_seed if topup_seed is not None else paths.seed_entropy
    top_up = top_up_model(loan.top_up)
    never = loan.top_up == "never" or (not isinstance(loan.top_up, str | dict) and float(loan.top_up) == 0.0)
    always = loan.top_up == "always" or (not isinstance(loan.top_up, str | dict) and float(loan.top_up) == 1.0)
    if seed is None and not (never or always):
        raise ContractError(
            f"top_up = {loan.top_up!r} draws the borrower's top-ups: give topup_seed or a path set with seed_entropy"
        )
    # without a seed no draw is made (top-ups always or never), so the stream's entropy is never used
    entropy = seed if seed is not None else 0
    topup_rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(_TOPUP_STREAM,)))
    tau_b = borrower_default_times(loan, paths, seed=topup_seed)
    default_time = np.full(n, np.inf)
    by_borrower = np.zeros(n, dtype=bool)

    qty = np.full(n, float(loan.quantity_t))
    alive = np.ones(n, dtype=bool)
    called = np.zeros(n, dtype=bool)
    declined = np.zeros(n, dtype=bool)
    liquidated = np.zeros(n, dtype=bool)
    loss = np.zeros(n)
    ead = np.zeros(n)
    pv = np.zeros(n)
    pv_loss = np.zeros(n)
    annuity = np.zeros(n)
    liq_start = np.full(n, -1, dtype=np.int64)
    liq_qty = np.zeros(n)
    trig_df = np.zeros(n)
    trig_period = np.full(n, -1, dtype=np.int64)
    paid_by = np.zeros(len(ipay))
    recovered_by = np.zeros(len(ipay))
    loss_by = np.zeros(len(ipay))
    paid_periods = 0
    last = len(monitor) - 1
    profile = _profile_positions(len(monitor))
    profile_row = np.full(len(monitor), -1)
    profile_row[profile] = np.arange(profile.size)
    coverage_by = np.full((profile.size, n), np.nan)
    exposure_by = np.zeros((profile.size, n))
    for j, pos in enumerate(mon_pos):
        # interest periods that ended strictly before this date were paid by the paths still alive
        while paid_periods + 1 < len(ipay) and ipay[paid_periods + 1] < monitor[j]:
            k = paid_periods + 1
            tau = ipay_t[k] - ipay_t[k - 1]
            pv[alive] += principal * loan.rate * tau * idf[k]
            paid_by[k] += principal * loan.rate * tau * np.count_nonzero(alive)
            annuity[alive] += principal * tau * idf[k]
            paid_periods = k
        s = s_all[pos]
        owed = principal * (1.0 + loan.rate * accrual_since[j])
        coverage = qty * s / principal
        if profile_row[j] >= 0:
            coverage_by[profile_row[j], alive] = coverage[alive]
            exposure_by[profile_row[j], alive] = np.maximum(owed - qty[alive] * s[alive] * (1.0 - loan.haircut), 0.0)
        trigger = alive & (coverage < loan.liquidation_ratio)
        if j == last:
            trigger |= alive & (qty * s < owed)
        borrower = alive & ~trigger & (tau_b <= mon_t[j])
        by_borrower |= borrower
        trigger |= borrower
        call = alive & ~trigger & (coverage < loan.maintenance_ratio)
        called |= call | trigger
        call &= ~declined
        if not never and call.any():
            idx = np.flatnonzero(call)
            meets = np.ones(idx.size, dtype=bool) if always else topup_rng.random(idx.size) < top_up(s[idx] / spot)
            declined[idx[~meets]] = True
            target = principal / loan.ltv / s[idx[meets]]
            qty[idx[meets]] = np.maximum(qty[idx[meets]], target)
        elif call.any():
            declined |= call
        if trigger.any():
            idx = np.flatnonzero(trigger)
            future = s_all[pos + 1 : pos + 1 + n_liq][:, idx]
            sold_before = cap * np.arange(n_liq)[:, None]
            sold = np.clip(qty[idx][None, :] - sold_before, 0.0, cap)
            sold[-1] += np.maximum(qty[idx] - cap * n_liq, 0.0)
            proceeds = (sold * future).sum(axis=0) * (1.0 - loan.haircut)
            recovered = np.minimum(proceeds, owed)
            loss[idx] = owed - recovered
            ead[idx] = owed
            liquidated[idx] = True
            liq_start[idx] = pos + 1
            liq_qty[idx] = qty[idx]
            trig_df[idx] = mon_df[j]
            trig_period[idx] = period_of[j]
            default_time[idx] = mon_t[j]
            pv[idx] += recovered * mon_df[j]
            recovered_by[period_of[j] + 1] += recovered.sum()
            loss_by[period_of[j] + 1] += loss[idx].sum()
            pv_loss[idx] = loss[idx] * mon_df[j]
            tau_part = accrual_since[j]
            annuity[idx] += principal * tau_part * mon_df[j]
            alive[idx] = False
    # survivors repay principal and the last coupon at maturity
    k = len(ipay) - 1
    if paid_periods < k:
        tau = ipay_t[k] - ipay_t[k - 1]
        pv[alive] += principal * (1.0 + loan.rate * tau) * idf[k]
        paid_by[k] += principal * (1.0 + loan.rate * tau) * np.count_nonzero(alive)
        annuity[alive] += principal * tau * idf[k]
    default = liquidated.copy()
    cf = pd.DataFrame(
        {
            "date": ipay[1:],
            "expected_interest_principal_cny": paid_by[1:] / n,
            "expected_recoveries_cny": recovered_by[1:] / n,
            "expected_loss_cny": loss_by[1:] / n,
            "df": idf[1:],
        }
    )
    return PledgeOutcome(
        principal,
        called,
        liquidated,
        default,
        loss > 1e-9,
        loss,
        ead,
        pv,
        annuity,
        pv_loss,
        cf,
        default_time,
        by_borrower,
        liq_start,
        liq_qty,
        trig_df,
        trig_period,
        monitor[profile],
        coverage_by,
        exposure_by,
    )


def pledge_demand(loan: PledgeLoan, out: PledgeOutcome, market: MarketEnv) -> LiquidationDemand:
    """The liquidation of ``out`` as a forced sale on the loan's ``fixing_dates`` (:mod:`carbonrisk.finance.liquidity`):
    from the day after the trigger, at most ``liquidation_share_of_adv`` x :func:`market_depth_t` a day, the rest on
    the ``max_liquidation_days``-th day."""
    if out.liquidation_start is None or out.liquidation_quantity_t is None:
        raise ContractError(f"'{loan.label()}': outcome carries no liquidation demand")
    cap = loan.liquidation_share_of_adv * market_depth_t(loan, market)
    return LiquidationDemand(out.liquidation_start, out.liquidation_quantity_t, cap, int(loan.max_liquidation_days))


def resold_pledge(
    loan: PledgeLoan, out: PledgeOutcome, gross_cny: np.ndarray, changed: np.ndarray | None = None
) -> PledgeOutcome:
    """``out`` with the liquidation proceeds ``gross_cny`` (before the haircut) in place of its own, on the paths
    ``changed`` (default all; the other paths keep their own numbers bit for bit)."""
    assert out.trigger_df is not None and out.trigger_period is not None
    liq = out.liquidated
    redo = liq if changed is None else liq & changed
    recovered_old = np.where(liq, out.ead_cny - out.loss_cny, 0.0)
    recovered = np.where(redo, np.minimum(gross_cny * (1.0 - loan.haircut), out.ead_cny), recovered_old)
    loss = np.where(redo, out.ead_cny - recovered, out.loss_cny)
    pv = out.pv_cny + (recovered - recovered_old) * out.trigger_df
    cashflows = out.cashflows
    if cashflows is not None:
        rows = len(cashflows)
        period = np.where(liq, out.trigger_period, 0)
        n = liq.size
        cashflows = cashflows.assign(
            expected_recoveries_cny=np.bincount(period, np.where(liq, recovered, 0.0), minlength=rows)[:rows] / n,
            expected_loss_cny=np.bincount(period, loss, minlength=rows)[:rows] / n,
        )
    return replace(
        out,
        loss_cny=loss,
        loss_flag=loss > 1e-9,
        pv_cny=pv,
        pv_loss_cny=np.where(redo, loss * out.trigger_df, out.pv_loss_cny),
        cashflows=cashflows,
    )


def _prob(flags: np.ndarray) -> tuple[float, float]:
    p = float(np.mean(flags))
    return p, math.sqrt(max(p * (1.0 - p), 0.0) / flags.size)


def max_ltv_for_loss_probability(
    loan: PledgeLoan, market: MarketEnv, paths: PathSet, target: float, *, adv_t: float | None = None, tol: float = 1e-4
) -> float:
    """Highest LTV whose simulated loss probability stays at or below ``target`` (bisection on the same paths).

    Maintenance and liquidation ratios are kept; LTVs for which the maintenance ratio would not be below the
    initial coverage are excluded, so the search runs over ``(0, 1/maintenance_ratio)``. Returns 0.0 when even
    the smallest LTV breaks the target.
    """
    hi = min(1.0, 1.0 / loan.maintenance_ratio) - 1e-9
    lo = 1e-6

    def loss_prob(ltv: float) -> float:
        return float(np.mean(simulate_pledge_loan(replace(loan, ltv=ltv), market, paths, adv_t=adv_t).loss_flag))

    if loss_prob(hi) <= target:
        return hi
    if loss_prob(lo) > target:
        return 0.0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if loss_prob(mid) <= target:
            lo = mid
        else:
            hi = mid
    return lo


@dataclass(frozen=True)
class MCPledgeLoanEngine(Engine):
    """Pledge loan on a path set: margin calls, liquidation in a thin market, losses, break-even spread.

    ``extras``: ``principal_cny``, ``p_margin_call``, ``p_liquidation``, ``p_loss`` (each with ``_se``),
    ``expected_loss_cny``, ``pv_expected_loss_cny``, ``exposure_at_default_cny`` (mean amount owed given
    default), ``loss_given_default`` (sum of losses / sum of exposures over defaulted paths),
    ``break_even_spread`` (PV of expected loss / PV of the principal-weighted accrual while alive),
    ``adv_t``, ``liquidation_capacity_t_per_day``, ``days_to_liquidate_all``, and ``max_ltv_for_target`` when
    the loan has a ``target_loss_probability``.
    """

    name: ClassVar[str] = "Monte Carlo (path set), pledge-loan rules"
    needs_paths: ClassVar[bool] = True

    def calculate(
        self,
        instrument: PledgeLoan,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        p = self._paths(paths)
        out = simulate_pledge_loan(instrument, market, p, adv_t=market_depth_t(instrument, market), topup_seed=rng)
        return pledge_result(instrument, market, p, out, quick=quick)


def pledge_result(
    instrument: PledgeLoan, market: MarketEnv, p: PathSet, out: PledgeOutcome, *, quick: bool
) -> PricingResult:
    """:class:`MCPledgeLoanEngine`'s result from a simulated outcome (its own, or one whose liquidation shares the
    day's depth with other sellers, :mod:`carbonrisk.finance.depth_sharing`); ``max_ltv_for_target`` re-simulates the
    loan alone."""
    adv = market_depth_t(instrument, market)
    value, se = mc_estimate(out.pv_cny - out.principal_cny)
    extras: dict[str, Any] = {"principal_cny": out.principal_cny}
    for key, flags in (
        ("p_margin_call", out.margin_call),
        ("p_liquidation", out.liquidated),
        ("p_loss", out.loss_flag),
    ):
        extras[key], extras[f"{key}_se"] = _prob(flags)
    extras["expected_loss_cny"], extras["expected_loss_cny_se"] = mc_estimate(out.loss_cny)
    extras["pv_expected_loss_cny"] = float(out.pv_loss_cny.mean())
    d = out.default
    extras["exposure_at_default_cny"] = float(out.ead_cny[d].mean()) if d.any() else 0.0
    extras["loss_given_default"] = float(out.loss_cny[d].sum() / out.ead_cny[d].sum()) if d.any() else 0.0
    extras["break_even_spread"] = float(out.pv_loss_cny.mean() / out.annuity_cny.mean())
    cap = instrument.liquidation_share_of_adv * adv
    credit = pledge_credit_figures(instrument, market, out)
    if credit is not None:
        extras.update(credit.to_dict())
        extras["crm_note"] = credit.standardised.crm_note
    extras.update(
        {
            "adv_t": adv,
            "adv_source": _depth_source(instrument, market),
            "liquidation_capacity_t_per_day": cap,
            "days_to_liquidate_all": math.ceil(instrument.quantity_t / cap),
        }
    )
    if instrument.target_loss_probability is not None and not quick:
        extras["max_ltv_for_target"] = max_ltv_for_loss_probability(
            instrument, market, p, instrument.target_loss_probability, adv_t=adv
        )
        extras["target_loss_probability"] = instrument.target_loss_probability
    samples = {
        "pv_cny": out.pv_cny - out.principal_cny,
        "loss_cny": out.loss_cny,
        "margin_call": out.margin_call,
        "liquidated": out.liquidated,
        "ead_cny": out.ead_cny,
    }
    if out.default_time_years is not None:
        samples["default_time_years"] = out.default_time_years
    if out.coverage is not None and out.exposure_cny is not None:
        samples["coverage"] = out.coverage
        samples["exposure_cny"] = out.exposure_cny
    return PricingResult(
        instrument.label(),
        value,
        se,
        MCPledgeLoanEngine.name,
        extras,
        out.cashflows,
        n_paths=p.n_paths,
        samples=samples,
    )


# ----------------------------------------------------------------------------------------- project loan


def _per_path(arr: np.ndarray, n_paths: int, field_name: str) -> np.ndarray:
    if arr.ndim == 1:
        return np.repeat(arr[:, None], n_paths, axis=1)
    if arr.shape[1] != n_paths:
        raise ContractError(f"{field_name} has {arr.shape[1]} path columns; the path set has {n_paths} paths")
    return arr


def debt_schedule(loan: ProjectLoan, base_cfads_cny: np.ndarray, accrual: np.ndarray) -> np.ndarray:
    """Scheduled principal repayment per period (sums to the principal).

    ``equal``: P/n; ``annuity``: level payment :math:`A = P / \\sum_y \\prod_{j \\le y}(1 + r\\tau_j)^{-1}`;
    ``sculpted``: debt service = base-case CFADS / target DSCR, principal = debt service - interest (>= 0), the
    remainder repaid at maturity.
    """
    n = accrual.size
    p = loan.principal_cny
    r = loan.rate * accrual
    if loan.amortisation == "equal":
        return np.full(n, p / n)
    out = np.zeros(n)
    bal = p
    if loan.amortisation == "annuity":
        pay = p / np.sum(np.cumprod(1.0 / (1.0 + r)))
        for y in range(n):
            out[y] = pay - bal * r[y]
            bal -= out[y]
        out[-1] += bal
        return out
    for y in range(n):
        ds = base_cfads_cny[y] / loan.target_dscr
        out[y] = float(np.clip(ds - bal * r[y], 0.0, bal))
        bal -= out[y]
    out[-1] += bal
    return out


@dataclass(frozen=True)
class MCProjectLoanEngine(Engine):
    """CCER-linked project loan on a path set (rules in :class:`~carbonrisk.finance.instruments.ProjectLoan`).

    ``extras``: ``p_dscr_below_1_0`` / ``p_dscr_below_1_2`` (any period, with ``_se``), ``p_default``
    (``_se``), ``expected_loss_cny``, ``exposure_at_default_cny``, ``loss_given_default``, ``min_dscr_median``,
    ``base_case_dscr`` (per period), ``scheduled_principal_cny`` (per period), and ``dscr_by_period`` (per
    period: P5 / P50 / P95 DSCR and the probabilities of DSCR < 1.0 and < 1.2).
    """

    name: ClassVar[str] = "Monte Carlo (path set), project-finance waterfall"
    needs_paths: ClassVar[bool] = True

    def calculate(
        self,
        instrument: ProjectLoan,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        instrument.check_dates(market.valuation_date)
        p = self._paths(paths)
        loan = instrument
        sched = loan.schedule()
        ny = len(sched) - 1
        fix = loan.fixing_dates(market.valuation_date)
        prices = prices_on(p, loan.underlying, fix)
        avg = np.empty((ny, p.n_paths))
        fwd_avg = np.empty(ny)
        fwd = market.forward(loan.underlying, fix)
        for y in range(ny):
            sel = (fix > sched[y]) & (fix <= sched[y + 1])
            avg[y] = prices[sel].mean(axis=0)
            fwd_avg[y] = fwd[sel].mean()
        vol = _per_path(loan.carbon_volumes_t, p.n_paths, "carbon_volumes_t")
        other = _per_path(loan.other_cash_flows_cny, p.n_paths, "other_cash_flows_cny")
        cfads = other + vol * avg
        base = other.mean(axis=1) + vol.mean(axis=1) * fwd_avg
        t = market.discount.times(sched)
        accrual = np.diff(t)
        principal_sched = debt_schedule(loan, base, accrual)
        df = market.df(sched[1:])

        n = p.n_paths
        t_end = market.discount.times(sched[1:])
        t_start = float(market.discount.times(sched[:1])[0])
        tau_b = borrower_default_times(loan, p, seed=rng) + t_start  # the borrower's hazard runs from the loan's start
        default_time = np.full(n, np.inf)
        bal = np.full(n, loan.principal_cny)
        first_ds = principal_sched[0] + loan.principal_cny * loan.rate * accrual[0]
        reserve_target = loan.reserve_periods * first_ds
        reserve = np.full(n, reserve_target)
        alive = np.ones(n, dtype=bool)
        default = np.zeros(n, dtype=bool)
        loss = np.zeros(n)
        ead = np.zeros(n)
        pv = np.zeros(n)
        dscr = np.full((ny, n), np.nan)
        debt_service = np.zeros((ny, n))
        expected_flow = np.zeros(ny)
        for y in range(ny):
            interest = bal * loan.rate * accrual[y]
            princ = np.minimum(principal_sched[y], bal)
            if y == ny - 1:
                princ = bal.copy()
            ds = interest + princ
            active = alive & (ds > 0)
            with np.errstate(divide="ignore", invalid="ignore"):
                dscr[y, active] = cfads[y, active] / ds[active]
            debt_service[y, active] = ds[active]
            short = active & ((cfads[y] + reserve < ds) | (tau_b <= t_end[y]))
            default_time[short] = t_end[y]
            pays = active & ~short
            # paying paths: debt service, reserve top-up, cash sweep
            excess = np.where(pays, cfads[y] - ds, 0.0)
            draw = np.where(pays & (excess < 0), -excess, 0.0)
            reserve = reserve - draw
            excess = np.maximum(excess, 0.0)
            refill = np.where(pays, np.minimum(excess, reserve_target - reserve), 0.0)
            reserve = reserve + refill
            sweep = np.where(pays, np.minimum(loan.cash_sweep_share * (excess - refill), bal - princ), 0.0)
            flow = np.where(pays, ds + sweep, 0.0)
            bal = np.where(pays, bal - princ - sweep, bal)
            # defaulting paths: cash on hand plus recovery on what is left
            owed = bal + interest
            cash = np.maximum(cfads[y], 0.0) + reserve
            recovered = np.where(short, np.minimum(owed, cash + loan.recovery_rate * np.maximum(owed - cash, 0.0)), 0.0)
            loss = np.where(short, owed - recovered, loss)
            ead = np.where(short, owed, ead)
            flow = flow + recovered
            default |= short
            alive &= ~short
            alive &= bal > 1e-6
            pv += flow * df[y]
            expected_flow[y] = float(flow.mean())
        value, se = mc_estimate(pv - loan.principal_cny)
        min_dscr = np.nanmin(np.where(np.isnan(dscr), np.inf, dscr), axis=0)
        extras: dict[str, Any] = {}
        for lvl, key in ((1.0, "p_dscr_below_1_0"), (1.2, "p_dscr_below_1_2")):
            extras[key], extras[f"{key}_se"] = _prob(min_dscr < lvl)
        extras["p_default"], extras["p_default_se"] = _prob(default)
        extras["expected_loss_cny"], extras["expected_loss_cny_se"] = mc_estimate(loss)
        extras["exposure_at_default_cny"] = float(ead[default].mean()) if default.any() else 0.0
        extras["loss_given_default"] = float(loss[default].sum() / ead[default].sum()) if default.any() else 0.0
        extras["min_dscr_median"] = float(np.median(min_dscr))
        base_ds = (
            principal_sched
            + (loan.principal_cny - np.concatenate([[0.0], np.cumsum(principal_sched)[:-1]])) * loan.rate * accrual
        )
        extras["base_case_dscr"] = np.where(base_ds > 0, base / np.where(base_ds > 0, base_ds, 1.0), np.nan).tolist()
        extras["scheduled_principal_cny"] = principal_sched.tolist()
        rows = []
        for y in range(ny):
            d = dscr[y][~np.isnan(dscr[y])]
            rows.append(
                {
                    "date": str(sched[y + 1].date()),
                    "dscr_p05": float(np.quantile(d, 0.05)) if d.size else None,
                    "dscr_p50": float(np.quantile(d, 0.50)) if d.size else None,
                    "dscr_p95": float(np.quantile(d, 0.95)) if d.size else None,
                    "p_below_1_0": float(np.mean(np.nan_to_num(dscr[y], nan=np.inf) < 1.0)),
                    "p_below_1_2": float(np.mean(np.nan_to_num(dscr[y], nan=np.inf) < 1.2)),
                }
            )
        extras["dscr_by_period"] = rows
        cf = pd.DataFrame({"date": sched[1:], "expected_cny": expected_flow, "df": df})
        cf["pv_cny"] = cf["expected_cny"] * cf["df"]
        cf["expected_cfads_cny"] = cfads.mean(axis=1)
        cf["scheduled_principal_cny"] = principal_sched
        samples = {
            "pv_cny": pv - loan.principal_cny,
            "loss_cny": loss,
            "default": default,
            "dscr": dscr,
            "debt_service_cny": debt_service,
            "min_dscr": min_dscr,
            "ead_cny": ead,
            "default_time_years": default_time,
        }
        credit = project_credit_figures(loan, market, default_time, loss, ead)
        if credit is not None:
            extras.update(credit.to_dict())
            extras["crm_note"] = credit.standardised.crm_note
        return PricingResult(loan.label(), value, se, self.name, extras, cf, n_paths=n, samples=samples)


# ----------------------------------------------------------------------------------------- credit figures


def pledge_credit_figures(
    loan: PledgeLoan,
    market: MarketEnv,
    out: PledgeOutcome | None = None,
    *,
    default_time_years: np.ndarray | None = None,
    loss_cny: np.ndarray | None = None,
    ead_cny: np.ndarray | None = None,
) -> LoanCreditFigures | None:
    """Credit figures of a pledge loan from its paths (None when it has neither ``borrower_pd_1y`` nor ``rating``).

    Give the engine's :class:`PledgeOutcome`, or the three per-path arrays (the portfolio report's merged
    arrays). Default on a path = its liquidation, triggered by the collateral (coverage below the liquidation
    ratio, or below the amount owed at maturity) or by the borrower's own default, whichever comes first; loss and
    EAD are the engine's (undiscounted). The ECL discounts at the loan's effective interest rate
    (:func:`effective_interest_rate` of ``rate`` paid every ``interest_months``); maturity is the tenor; the SICR
    test compares today's coverage (``1/ltv``, at origination) with the maintenance ratio; the standardised
    exposure is the principal, and the pledged carbon (``quantity_t x spot``) is reported but not recognised as
    credit-risk mitigation (:func:`carbonrisk.finance.credit.standardised_corporate`).
    """
    if loan.borrower_pd_1y is None and loan.rating is None:
        return None
    if out is not None:
        default_time_years, loss_cny, ead_cny = out.default_time_years, out.loss_cny, out.ead_cny
    if default_time_years is None or loss_cny is None or ead_cny is None:
        raise ContractError(f"pledge loan '{loan.label()}': credit figures need the outcome or the per-path arrays")
    spot = market.spot(loan.collateral)
    principal = loan.ltv * loan.quantity_t * spot
    vd = market.valuation_date
    maturity = float(market.discount.times(pd.DatetimeIndex([loan.maturity(vd)]))[0])
    return loan_credit_figures(
        default_time_years=default_time_years,
        loss_cny=loss_cny,
        ead_cny=ead_cny,
        maturity_years=maturity,
        eir=effective_interest_rate(loan.rate, 12 // loan.interest_months),
        exposure_cny=principal,
        borrower_pd_1y=loan.borrower_pd_1y,
        rating=loan.rating,
        coverage=1.0 / loan.ltv,
        maintenance_ratio=loan.maintenance_ratio,
        collateral_cny=loan.quantity_t * spot,
        collateral_kind=loan.collateral,
    )


def project_credit_figures(
    loan: ProjectLoan, market: MarketEnv, default_time_years: np.ndarray, loss_cny: np.ndarray, ead_cny: np.ndarray
) -> LoanCreditFigures | None:
    """Credit figures of a CCER-linked project loan from its paths (None without ``borrower_pd_1y`` / ``rating``).

    Default on a path: the first period whose CFADS plus reserve cannot pay the debt service, or the borrower's
    own default (hazard from the loan's start), recognised at that period's end. The ECL horizon and the IRB
    maturity run from the valuation date to the last repayment date (a loan drawn later is measured on the
    reporting date as a commitment with the same loss); EIR = ``rate`` (annual periods, no fees); exposure = the
    principal; CCER income is not collateral (no CRM).
    """
    if loan.borrower_pd_1y is None and loan.rating is None:
        return None
    maturity = float(market.discount.times(loan.schedule()[-1:])[0])
    return loan_credit_figures(
        default_time_years=default_time_years,
        loss_cny=loss_cny,
        ead_cny=ead_cny,
        maturity_years=maturity,
        eir=float(loan.rate),
        exposure_cny=loan.principal_cny,
        borrower_pd_1y=loan.borrower_pd_1y,
        rating=loan.rating,
        collateral_cny=0.0,
        collateral_kind="CCER",
    )
