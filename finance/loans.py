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
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.stats import norm

from finance.engines import Engine
from finance.exceptions import ContractError, PathSetError, ValuationWarning
from finance.instruments import PledgeLoan, ProjectLoan
from finance.market import MarketEnv
from finance.results import PricingResult, mc_estimate, prices_on
from models.data import load_prices
from models.exceptions import DataGapWarning
from models.paths import PathSet

__all__ = [
    "BGK_BETA",
    "MCPledgeLoanEngine",
    "MCProjectLoanEngine",
    "PledgeOutcome",
    "average_daily_volume_t",
    "debt_schedule",
    "down_barrier_hit_probability",
    "market_depth_t",
    "max_ltv_for_loss_probability",
    "simulate_pledge_loan",
]

BGK_BETA: float = 0.5825971579390106
"""Broadie-Glasserman-Kou constant :math:`-\\zeta(1/2)/\\sqrt{2\\pi}`."""

_TOPUP_STREAM = 0x70505550  # spawn key of the top-up decisions' random stream ("pUPU")


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
    """The loan's average daily volume: its ``adv_t`` when given, else the market's mean traded volume of the
    collateral over ``adv_window_days`` (:meth:`~finance.market.MarketEnv.average_daily_volume_t`), the CEA's when
    the market has no volumes of the collateral (the engine warns)."""
    if loan.adv_t is not None:
        return float(loan.adv_t)
    name = loan.collateral if loan.collateral in market.daily_volumes_t else "CEA"
    return market.average_daily_volume_t(name, loan.adv_window_days)


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


def simulate_pledge_loan(
    loan: PledgeLoan, market: MarketEnv, paths: PathSet, *, adv_t: float | None = None, topup_seed: int | None = None
) -> PledgeOutcome:
    """Run the pledge loan's rules on every path (see :class:`~finance.instruments.PledgeLoan`)."""
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
    p_top = loan.top_up_probability
    seed = topup_seed if topup_seed is not None else paths.seed_entropy
    if seed is None and 0.0 < p_top < 1.0:
        raise ContractError(
            f"top_up = {loan.top_up!r} draws the borrower's top-ups: give topup_seed or a path set with seed_entropy"
        )
    # without a seed no draw is made (top-ups always or never), so the stream's entropy is never used
    entropy = seed if seed is not None else 0
    topup_rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(_TOPUP_STREAM,)))

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
    paid_by = np.zeros(len(ipay))
    recovered_by = np.zeros(len(ipay))
    loss_by = np.zeros(len(ipay))
    paid_periods = 0
    last = len(monitor) - 1
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
        trigger = alive & (coverage < loan.liquidation_ratio)
        if j == last:
            trigger |= alive & (qty * s < owed)
        call = alive & ~trigger & (coverage < loan.maintenance_ratio)
        called |= call | trigger
        call &= ~declined
        if p_top > 0.0 and call.any():
            idx = np.flatnonzero(call)
            meets = topup_rng.random(idx.size) < p_top if p_top < 1.0 else np.ones(idx.size, dtype=bool)
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
    return PledgeOutcome(principal, called, liquidated, default, loss > 1e-9, loss, ead, pv, annuity, pv_loss, cf)


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
        self, instrument: PledgeLoan, market: MarketEnv, paths: PathSet | None = None, *, quick: bool = False
    ) -> PricingResult:
        p = self._paths(paths)
        if (
            instrument.adv_t is None
            and instrument.collateral != "CEA"
            and instrument.collateral not in market.daily_volumes_t
        ):
            warnings.warn(
                f"pledge loan '{instrument.label()}': the market has no {instrument.collateral} volumes; "
                "liquidation capacity uses the CEA average daily volume (set adv_t to override)",
                ValuationWarning,
                stacklevel=2,
            )
        adv = market_depth_t(instrument, market)
        out = simulate_pledge_loan(instrument, market, p, adv_t=adv)
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
        extras.update(
            {
                "adv_t": adv,
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
        }
        return PricingResult(
            instrument.label(), value, se, self.name, extras, out.cashflows, n_paths=p.n_paths, samples=samples
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
    """CCER-linked project loan on a path set (rules in :class:`~finance.instruments.ProjectLoan`).

    ``extras``: ``p_dscr_below_1_0`` / ``p_dscr_below_1_2`` (any period, with ``_se``), ``p_default``
    (``_se``), ``expected_loss_cny``, ``exposure_at_default_cny``, ``loss_given_default``, ``min_dscr_median``,
    ``base_case_dscr`` (per period), ``scheduled_principal_cny`` (per period), and ``dscr_by_period`` (per
    period: P5 / P50 / P95 DSCR and the probabilities of DSCR < 1.0 and < 1.2).
    """

    name: ClassVar[str] = "Monte Carlo (path set), project-finance waterfall"
    needs_paths: ClassVar[bool] = True

    def calculate(
        self, instrument: ProjectLoan, market: MarketEnv, paths: PathSet | None = None, *, quick: bool = False
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
            short = active & (cfads[y] + reserve < ds)
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
            "min_dscr": min_dscr,
        }
        return PricingResult(loan.label(), value, se, self.name, extras, cf, n_paths=n, samples=samples)
