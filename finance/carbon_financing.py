"""Carbon-financing engines (issue 18): repo, carbon lending, custody and the quota overdraft, on path sets.

Each engine returns as ``value`` the NPV of the side the contract names (``side``), with the other side and the
credit numbers in ``extras``, and per-path ``samples`` (``pv_cny`` of that side, ``loss_cny``, ``ead_cny``,
``default``, ``default_time_years``) that the portfolio engine regresses at its risk horizons like a pledge loan's
(:class:`~carbonrisk.finance.revaluation.RegressionRevaluation`).

Counterparty default (one model for the four contracts)
    A hazard linked to the price, :math:`h_t = h_0 (S_t / F(0,t))^b e^{-b(b-1)\\sigma^2 t / 2}`, with
    :math:`h_0 = -\\ln(1 - PD_{1y})` from ``borrower_pd_1y`` or ``rating``
    (:func:`carbonrisk.finance.credit.pd_from_rating`) and :math:`b` = ``pd_price_elasticity``; the exponential factor
    (the market's lognormal moment of
    :math:`(S_t/F)^b`) keeps the mean hazard at :math:`h_0` on every date, so the one-year PD stays close to the
    input (exactly the input when :math:`b = 0`) while defaults move to the paths where the price went the wrong
    way. Default is recognised on the first trading day whose cumulative hazard :math:`\\sum h_{t_i}
    \\Delta t_i` exceeds an exponential draw :math:`E = -\\ln(1-U)`; with :math:`b = 0` that is the constant
    hazard of :func:`carbonrisk.finance.loans.borrower_default_times` on the daily grid. Should the PD rise with the
    price? For a borrower of allowances (lending, overdraft, custody's borrowers) yes: it is short the allowances it
    must return, and a price rise is a loss to it exactly when the lender's exposure :math:`q S_t - C` grows,
    so ``b > 0`` is the wrong-way case (``b = 1``: hazard proportional to the price). A repo seller is long the
    allowances it will buy back: it weakens when the price falls, as the financier's collateral does, so the
    wrong-way repo has ``b < 0``. The default ``b = 0`` is the credit issue's price-independent PD; no
    calibration of ``b`` for Chinese carbon counterparties is published, so it is a stated assumption per
    contract. The uniforms come from their own stream of the path set's seed (or ``rng``), keyed by the
    contract's label, so the same seed gives the same defaults however the run is split.

Thin market (real daily volume)
    Close-outs (the repo financier selling the tonnes it holds) and buy-ins (a lender replacing the tonnes a
    failed borrower does not return) trade at most ``liquidation_share_of_adv`` x the market depth a day for
    ``max_liquidation_days`` days, the rest in a block on the last day, from the default day's close. The depth
    is ``adv_t`` or the market's mean traded volume of the asset (:func:`market_depth_t`). Every simulation
    takes ``depth_t_per_day``: a number, or an array ``(n_days, n_paths)`` on the rows of the contract's
    ``fixing_dates`` (:func:`liquidation_proceeds`). A book's contracts trading the same asset on the same path and
    day share its depth (:mod:`carbonrisk.finance.depth_sharing`): each outcome carries its demand (first trade
    row, tonnes) and :func:`resold_repo` / :func:`rebought` redo it from the shared proceeds.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from carbonrisk.finance.credit import LoanCreditFigures, loan_credit_figures, pd_from_rating, top_up_model
from carbonrisk.finance.engines import Engine
from carbonrisk.finance.exceptions import ContractError
from carbonrisk.finance.instruments import CarbonCustody, CarbonLending, CarbonRepo, QuotaOverdraft
from carbonrisk.finance.liquidity import LiquidationDemand
from carbonrisk.finance.loans import CCER_ADV_T
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.results import PricingResult, mc_estimate, prices_on
from carbonrisk.models.paths import PathSet

__all__ = [
    "CustodyOutcome",
    "LendingOutcome",
    "MCCustodyEngine",
    "MCLendingEngine",
    "MCOverdraftEngine",
    "MCRepoEngine",
    "RepoOutcome",
    "commitment_fee_cny",
    "default_rows",
    "lending_result",
    "lent_demand",
    "liquidation_proceeds",
    "market_depth_t",
    "overdraft_result",
    "rebought",
    "repo_credit_figures",
    "repo_demand",
    "repo_result",
    "resold_repo",
    "simulate_custody",
    "simulate_lending",
    "simulate_overdraft",
    "simulate_repo",
]

_HAZARD_STREAM = 0x4346494E  # spawn key of the counterparty default draws ("CFIN")
_TOPUP_STREAM = 0x43545550  # spawn key of the repo seller's top-up decisions ("CTUP")
_TOPUP_DRAWS = 64  # uniforms per path for successive margin calls (the 65th call reuses the first)

Depth = float | np.ndarray
Financed = CarbonRepo | CarbonLending | CarbonCustody | QuotaOverdraft


def market_depth_t(instrument: Financed, market: MarketEnv) -> float:
    """Market depth of ``instrument``'s asset, t/day: ``adv_t`` when given; else the market data's depth of the
    asset (``MarketEnv.adv_t``: ``[market.CCER] adv_t`` of a contract file, ``ccer_adv_t`` of a portfolio file); else
    the market's mean traded volume
    of the asset over ``adv_window_days``; else, for CCER, :data:`carbonrisk.finance.loans.CCER_ADV_T` (document 003);
    else the CEA's (as :func:`carbonrisk.finance.loans.market_depth_t` for pledge loans)."""
    if instrument.adv_t is not None:
        return float(instrument.adv_t)
    if instrument.asset in market.adv_t:
        return float(market.adv_t[instrument.asset])
    if instrument.asset in market.daily_volumes_t:
        return market.average_daily_volume_t(instrument.asset, instrument.adv_window_days)
    if instrument.asset == "CCER":
        return CCER_ADV_T
    return market.average_daily_volume_t("CEA", instrument.adv_window_days)


def _depth_source(instrument: Financed, market: MarketEnv | None = None) -> str:
    if instrument.adv_t is not None:
        return "adv_t"
    if market is not None and instrument.asset in market.adv_t:
        return "market adv_t"
    if market is not None and instrument.asset in market.daily_volumes_t:
        return f"{instrument.asset} history"
    return "CCER_ADV_T (document 003)" if instrument.asset == "CCER" else "CEA history"


def liquidation_proceeds(
    quantity_t: np.ndarray, prices: np.ndarray, capacity_t_per_day: float | np.ndarray
) -> np.ndarray:
    """Value of ``quantity_t`` tonnes traded over the rows of ``prices`` in a thin market, CNY per path.

    Parameters
    ----------
    quantity_t : numpy.ndarray
        Tonnes per path, shape ``(k,)``.
    prices : numpy.ndarray
        Closes on the trading days of the sale, ``(n_days, k)``.
    capacity_t_per_day : float or numpy.ndarray
        Tonnes that can trade each day: a number or ``(n_days, k)`` (a depth shared with other contracts).

    Notes
    -----
    :math:`q_d = \\min(\\max(q - \\sum_{e<d} c_e, 0), c_d)`, the remainder :math:`\\max(q - \\sum_d c_d, 0)` in a
    block on the last day; proceeds :math:`\\sum_d q_d S_d`.
    """
    cap = np.broadcast_to(np.asarray(capacity_t_per_day, dtype=float), prices.shape)
    cum = np.cumsum(cap, axis=0)
    sold = np.clip(quantity_t[None, :] - (cum - cap), 0.0, cap)
    sold[-1] += np.maximum(quantity_t - cum[-1], 0.0)
    return np.asarray((sold * prices).sum(axis=0), dtype=float)


def _window(values: np.ndarray, rows: np.ndarray, cols: np.ndarray, n_days: int) -> np.ndarray:
    """``values[rows + d, cols]`` for ``d < n_days``, shape ``(n_days, k)``."""
    return np.asarray(values[rows[None, :] + np.arange(n_days)[:, None], cols[None, :]])


def _capacity(depth: Depth, share: float, rows: np.ndarray, cols: np.ndarray, n_days: int) -> float | np.ndarray:
    if np.ndim(depth) == 0:
        return share * float(depth)
    return share * _window(np.asarray(depth, dtype=float), rows, cols, n_days)


def _pd_1y(pd_1y: float | None, rating: str | None) -> float:
    if pd_1y is not None:
        return float(pd_1y)
    if rating is not None:
        return pd_from_rating(str(rating))
    return 0.0


def default_rows(
    label: str,
    pd_1y: float,
    elasticity: float,
    prices: np.ndarray,
    times_years: np.ndarray,
    forwards: np.ndarray,
    vol: float,
    entropy: int | None,
) -> np.ndarray:
    """First row of ``prices`` on which the counterparty has defaulted, ``-1`` where it survives (module notes).

    Parameters
    ----------
    label : str
        Names the counterparty's uniforms (one stream per label).
    pd_1y, elasticity : float
        :math:`PD_{1y}` and :math:`b`.
    prices : numpy.ndarray
        ``(n_days, n_paths)`` closes on the monitoring days.
    times_years, forwards : numpy.ndarray
        Year fraction and forward :math:`F(0,t)` of each monitoring day.
    vol : float
        The market volatility of the moment correction.
    entropy : int or None
        Seed entropy (required when ``pd_1y > 0``).
    """
    n = prices.shape[1]
    if pd_1y <= 0.0:
        return np.full(n, -1, dtype=np.intp)
    if entropy is None:
        raise ContractError(f"'{label}' draws counterparty defaults from its PD: give rng or a path set with a seed")
    key = zlib.crc32(label.encode("utf-8"))
    rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(_HAZARD_STREAM, key)))
    e = -np.log1p(-rng.random(n))
    h0 = -math.log1p(-pd_1y)
    t = np.asarray(times_years, dtype=float)
    if elasticity == 0.0:
        with np.errstate(over="ignore"):  # a PD of 1e-320 defaults after the end of time: inf
            rows = np.searchsorted(t, e / h0, side="left")
    else:
        dt = np.diff(np.concatenate([[0.0], t]))
        moment = np.exp(-0.5 * elasticity * (elasticity - 1.0) * vol**2 * t)
        hazard = h0 * (prices / np.asarray(forwards)[:, None]) ** elasticity * (moment * dt)[:, None]
        cum = np.cumsum(hazard, axis=0)
        hit = cum >= e[None, :]
        rows = np.where(hit.any(axis=0), hit.argmax(axis=0), t.size)
    return np.where(rows < t.size, rows, -1).astype(np.intp)


def _prob(flags: np.ndarray) -> tuple[float, float]:
    p = float(np.mean(flags))
    return p, math.sqrt(max(p * (1.0 - p), 0.0) / flags.size)


def _entropy(rng: int | None, paths: PathSet) -> int | None:
    return rng if rng is not None else paths.seed_entropy


def _solve(fn: Any, lo: float, hi: float) -> float:
    """Root of ``fn`` on ``[lo, hi]`` (``nan`` without a sign change)."""
    f_lo, f_hi = fn(lo), fn(hi)
    if f_lo == 0.0:
        return lo
    if np.sign(f_lo) == np.sign(f_hi):
        return float("nan")
    return float(brentq(fn, lo, hi, xtol=1e-7))


# ------------------------------------------------------------------------------------------------------- repo


def repo_credit_figures(
    repo: CarbonRepo,
    market: MarketEnv,
    out: RepoOutcome | None = None,
    *,
    default_time_years: np.ndarray | None = None,
    loss_cny: np.ndarray | None = None,
    ead_cny: np.ndarray | None = None,
) -> LoanCreditFigures | None:
    """The financier's credit figures of a repo (None without ``borrower_pd_1y`` / ``rating``), as a pledge loan's
    (:func:`carbonrisk.finance.loans.pledge_credit_figures`): default on a path = the close-out (the seller's own
    default or a failed margin call); loss and EAD from the paths; ECL discounted at the repo rate (one payment at
    maturity); the SICR test compares today's coverage 1/(1 - haircut) with the maintenance ratio; the standardised
    exposure is the cash lent and the tonnes held (``quantity_t`` x spot) are reported, not recognised as credit-risk
    mitigation (:func:`carbonrisk.finance.credit.standardised_corporate`). Give the engine's :class:`RepoOutcome`, or
    the three per-path arrays (the portfolio report's merged arrays).
    """
    if repo.borrower_pd_1y is None and repo.rating is None:
        return None
    if out is not None:
        default_time_years, loss_cny, ead_cny = out.default_time_years, out.loss_cny, out.ead_cny
    if default_time_years is None or loss_cny is None or ead_cny is None:
        raise ContractError(f"repo '{repo.label()}': credit figures need the outcome or the per-path arrays")
    mat = pd.DatetimeIndex([repo.maturity(market.valuation_date)])
    return loan_credit_figures(
        default_time_years=default_time_years,
        loss_cny=loss_cny,
        ead_cny=ead_cny,
        maturity_years=float(market.discount.times(mat)[0]),
        eir=float(repo.repo_rate),
        exposure_cny=repo.quantity_t * market.spot(repo.asset) * (1.0 - repo.haircut),
        borrower_pd_1y=repo.borrower_pd_1y,
        rating=repo.rating,
        coverage=1.0 / (1.0 - repo.haircut),
        maintenance_ratio=repo.maintenance_ratio,
        collateral_cny=repo.quantity_t * market.spot(repo.asset),
        collateral_kind=repo.asset,
    )


@dataclass(frozen=True)
class RepoOutcome:
    """Per-path results of one repo simulation (arrays of length ``n_paths``).

    Attributes
    ----------
    cash_lent_cny : float
        :math:`P = q S_0 (1-h)`, paid to the seller today.
    pv_cny : numpy.ndarray
        Financier's discounted receipts (repurchase price, or the close-out proceeds up to the amount owed).
    loss_cny, ead_cny : numpy.ndarray
        Loss and amount owed at the seller's default (0 where none).
    pv_loss_cny : numpy.ndarray
        Discounted loss.
    default, margin_call : numpy.ndarray of bool
    default_time_years : numpy.ndarray
        Default day (years from today), ``inf`` where the seller repurchased.
    margin_t : numpy.ndarray
        Tonnes the seller delivered on margin calls (returned at the repurchase): its liquidity drain in kind.
    liquidation_start : numpy.ndarray of int
        Row of the repo's ``fixing_dates`` of the first sale day of the close-out (the default day), -1 where none
        (the demand :func:`repo_demand` shares with other sellers of the asset).
    liquidation_quantity_t : numpy.ndarray
        Tonnes held at the close-out (0 where none).
    trigger_df : numpy.ndarray
        Discount factor of the default day, where the recovery is booked (0 where none).
    """

    cash_lent_cny: float
    pv_cny: np.ndarray
    loss_cny: np.ndarray
    ead_cny: np.ndarray
    pv_loss_cny: np.ndarray
    default: np.ndarray
    margin_call: np.ndarray
    default_time_years: np.ndarray
    margin_t: np.ndarray
    liquidation_start: np.ndarray | None = None
    liquidation_quantity_t: np.ndarray | None = None
    trigger_df: np.ndarray | None = None


def simulate_repo(
    repo: CarbonRepo,
    market: MarketEnv,
    paths: PathSet,
    *,
    rng: int | None = None,
    depth_t_per_day: Depth | None = None,
    repo_rate: float | None = None,
) -> RepoOutcome:
    """Simulate ``repo`` (rules in :class:`~carbonrisk.finance.instruments.CarbonRepo`) on every path.

    ``repo_rate`` overrides the contract's (the fair-rate search re-runs with the same default and top-up draws:
    common random numbers). ``depth_t_per_day``: see the module notes (default :func:`market_depth_t`).

    Notes
    -----
    On each trading day :math:`t_j`: owed :math:`D_j = P(1 + r t_j)`, coverage :math:`c_j = q_j S_j / D_j`;
    seller default (hazard) or a failed call (:math:`c_j < m`, top-up refused) closes out:
    :math:`L = \\max(D_j - (1-d)\\,\\mathrm{proceeds}(q_j), 0)`; a met call sets :math:`q_j = D_j / ((1-h) S_j)`.
    Survivors pay :math:`D_T` at maturity.
    """
    vd = market.valuation_date
    rate = float(repo.repo_rate if repo_rate is None else repo_rate)
    days = repo.fixing_dates(vd)
    monitor = repo.monitoring_dates(vd)
    s_all = prices_on(paths, repo.asset, days)
    n = paths.n_paths
    n_mon = len(monitor)
    t = market.discount.times(monitor)
    df = market.df(monitor)
    spot = market.spot(repo.asset)
    cash = repo.quantity_t * spot * (1.0 - repo.haircut)
    depth = market_depth_t(repo, market) if depth_t_per_day is None else depth_t_per_day
    n_liq = int(repo.max_liquidation_days)
    entropy = _entropy(rng, paths)
    drow = default_rows(
        repo.label(),
        _pd_1y(repo.borrower_pd_1y, repo.rating),
        float(repo.pd_price_elasticity),
        s_all[:n_mon],
        t,
        market.forward(repo.asset, monitor),
        market.vol(repo.asset),
        entropy,
    )
    always = repo.top_up == "always" or (not isinstance(repo.top_up, str | dict) and float(repo.top_up) == 1.0)
    never = repo.top_up == "never" or (not isinstance(repo.top_up, str | dict) and float(repo.top_up) == 0.0)
    draws = None
    if not (always or never):
        if entropy is None:
            raise ContractError(f"top_up = {repo.top_up!r} draws the seller's top-ups: give rng or a seeded path set")
        top_rng = np.random.default_rng(
            np.random.SeedSequence(entropy, spawn_key=(_TOPUP_STREAM, zlib.crc32(repo.label().encode("utf-8"))))
        )
        draws = top_rng.random((_TOPUP_DRAWS, n))
    top_up = top_up_model(repo.top_up)
    qty = np.full(n, float(repo.quantity_t))
    alive = np.ones(n, dtype=bool)
    called = np.zeros(n, dtype=bool)
    calls = np.zeros(n, dtype=np.intp)
    default = np.zeros(n, dtype=bool)
    loss = np.zeros(n)
    ead = np.zeros(n)
    pv = np.zeros(n)
    pv_loss = np.zeros(n)
    default_time = np.full(n, np.inf)
    liq_start = np.full(n, -1, dtype=np.int64)
    liq_qty = np.zeros(n)
    trig_df = np.zeros(n)
    for j in range(n_mon):
        s = s_all[j]
        owed = cash * (1.0 + rate * t[j])
        trigger = alive & (drow == j)
        call = alive & ~trigger & (qty * s < repo.maintenance_ratio * owed)
        if j == n_mon - 1:
            call[:] = False  # the repurchase settles on the maturity date
        if call.any():
            idx = np.flatnonzero(call)
            called[idx] = True
            if always:
                meets = np.ones(idx.size, dtype=bool)
            elif never or draws is None:
                meets = np.zeros(idx.size, dtype=bool)
            else:
                u = draws[calls[idx] % _TOPUP_DRAWS, idx]
                meets = u < top_up(s[idx] / spot)
            calls[idx] += 1
            ok = idx[meets]
            qty[ok] = owed / ((1.0 - repo.haircut) * s[ok])
            trigger[idx[~meets]] = True
        if trigger.any():
            idx = np.flatnonzero(trigger)
            rows = np.full(idx.size, j, dtype=np.intp)
            prices = _window(s_all, rows, idx, n_liq)
            cap = _capacity(depth, repo.liquidation_share_of_adv, rows, idx, n_liq)
            proceeds = liquidation_proceeds(qty[idx], prices, cap) * (1.0 - repo.sale_discount)
            recovered = np.minimum(proceeds, owed)
            loss[idx] = owed - recovered
            ead[idx] = owed
            pv[idx] = recovered * df[j]
            pv_loss[idx] = loss[idx] * df[j]
            default[idx] = True
            default_time[idx] = t[j]
            liq_start[idx] = j
            liq_qty[idx] = qty[idx]
            trig_df[idx] = df[j]
            alive[idx] = False
    owed_t = cash * (1.0 + rate * t[-1])
    pv[alive] = owed_t * df[-1]
    margin = np.maximum(qty - repo.quantity_t, 0.0)
    return RepoOutcome(cash, pv, loss, ead, pv_loss, default, called, default_time, margin, liq_start, liq_qty, trig_df)


def repo_demand(repo: CarbonRepo, out: RepoOutcome, market: MarketEnv) -> LiquidationDemand:
    """The close-out of ``out`` as a forced sale on the repo's ``fixing_dates`` (:mod:`carbonrisk.finance.liquidity`):
    from the default day, at most ``liquidation_share_of_adv`` x :func:`market_depth_t` a day, the rest on the
    ``max_liquidation_days``-th day."""
    if out.liquidation_start is None or out.liquidation_quantity_t is None:
        raise ContractError(f"'{repo.label()}': outcome carries no liquidation demand")
    cap = repo.liquidation_share_of_adv * market_depth_t(repo, market)
    return LiquidationDemand(out.liquidation_start, out.liquidation_quantity_t, cap, int(repo.max_liquidation_days))


def resold_repo(
    repo: CarbonRepo, out: RepoOutcome, gross_cny: np.ndarray, changed: np.ndarray | None = None
) -> RepoOutcome:
    r"""``out`` with the close-out proceeds ``gross_cny`` (before the sale discount) in place of its own on the paths
    ``changed`` (default all; the others keep their numbers bit for bit): recovery
    :math:`\min((1-d)\,\mathrm{proceeds}, D_j)`, loss :math:`D_j -` recovery, booked on the default day (the default,
    the margin calls and the amount owed do not depend on the sale)."""
    assert out.trigger_df is not None
    d = out.default if changed is None else out.default & changed
    recovered = np.minimum(np.asarray(gross_cny) * (1.0 - repo.sale_discount), out.ead_cny)
    loss = np.where(d, out.ead_cny - recovered, out.loss_cny)
    pv = np.where(d, recovered * out.trigger_df, out.pv_cny)
    return replace(out, pv_cny=pv, loss_cny=loss, pv_loss_cny=np.where(d, loss * out.trigger_df, out.pv_loss_cny))


@dataclass(frozen=True)
class MCRepoEngine(Engine):
    """Repo on a path set: margin maintenance, the seller's default and the financier's close-out.

    ``value``: the NPV of ``side`` (financier: discounted receipts minus the cash lent; seller: the negative,
    the seller's default option being the financier's loss). ``extras``: ``cash_lent_cny``,
    ``repurchase_price_cny``, ``financier_npv_cny``, ``seller_npv_cny``, ``p_margin_call``, ``p_default``,
    ``p_loss`` (each with ``_se``), ``expected_loss_cny`` (``_se``), ``pv_expected_loss_cny``,
    ``exposure_at_default_cny``, ``loss_given_default``, ``seller_cost_of_funds_rate`` (the repo rate, simple),
    ``curve_rate_simple`` (:math:`(1/P(0,T) - 1)/T`), ``spread_over_curve``, ``expected_margin_t`` and
    ``margin_t_p95`` (tonnes the seller must find for margin calls), ``adv_t``, ``liquidation_capacity_t_per_day``,
    ``days_to_liquidate_all``, the financier's credit figures with a PD or rating (:func:`repo_credit_figures`:
    ``ecl_12m_cny``, ``ecl_lifetime_cny``, ``ifrs9_stage``, ``irb_capital_cny``, ...); with
    ``target_expected_loss_cny`` and unless ``quick`` (as the pledge loan's ``max_ltv_for_target``; the portfolio
    engine's blocks do not pass ``quick``, so leave the target out of portfolio files or every block searches):
    ``break_even_repo_rate`` (financier NPV = 0) and
    ``repo_rate_for_target``, the rate at which the financier's expected net loss (PV of credit losses minus PV of
    its spread income over the curve, i.e. minus its NPV) equals the target. Both are root-found (Brent) on the
    same paths with the same default and top-up draws (common random numbers).
    """

    name: ClassVar[str] = "Monte Carlo (path set), repo with margin maintenance and close-out"
    needs_paths: ClassVar[bool] = True

    def calculate(
        self,
        instrument: CarbonRepo,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        instrument.check_dates(market.valuation_date)
        p = self._paths(paths)
        out = simulate_repo(instrument, market, p, rng=rng, depth_t_per_day=market_depth_t(instrument, market))
        return repo_result(instrument, market, p, out, rng=rng, quick=quick)


def repo_result(
    instrument: CarbonRepo, market: MarketEnv, p: PathSet, out: RepoOutcome, *, rng: int | None, quick: bool
) -> PricingResult:
    """:class:`MCRepoEngine`'s result from a simulated outcome (its own, or one whose close-out shares the day's
    depth with other sellers, :mod:`carbonrisk.finance.depth_sharing`); the rate searches re-simulate the repo alone."""
    depth = market_depth_t(instrument, market)
    fin = out.pv_cny - out.cash_lent_cny
    sign = 1.0 if instrument.side == "financier" else -1.0
    value, se = mc_estimate(sign * fin)
    vd = market.valuation_date
    mat = pd.DatetimeIndex([instrument.maturity(vd)])
    t_mat = float(market.discount.times(mat)[0])
    df_mat = float(market.df(mat)[0])
    curve = (1.0 / df_mat - 1.0) / t_mat
    extras: dict[str, Any] = {
        "side": instrument.side,
        "cash_lent_cny": out.cash_lent_cny,
        "repurchase_price_cny": out.cash_lent_cny * (1.0 + instrument.repo_rate * t_mat),
        "financier_npv_cny": float(fin.mean()),
        "seller_npv_cny": -float(fin.mean()),
    }
    for key, flags in (
        ("p_margin_call", out.margin_call),
        ("p_default", out.default),
        ("p_loss", out.loss_cny > 1e-9),
    ):
        extras[key], extras[f"{key}_se"] = _prob(flags)
    extras["expected_loss_cny"], extras["expected_loss_cny_se"] = mc_estimate(out.loss_cny)
    extras["pv_expected_loss_cny"] = float(out.pv_loss_cny.mean())
    d = out.default
    extras["exposure_at_default_cny"] = float(out.ead_cny[d].mean()) if d.any() else 0.0
    extras["loss_given_default"] = float(out.loss_cny[d].sum() / out.ead_cny[d].sum()) if d.any() else 0.0
    extras["seller_cost_of_funds_rate"] = float(instrument.repo_rate)
    extras["curve_rate_simple"] = curve
    extras["spread_over_curve"] = float(instrument.repo_rate) - curve
    extras["expected_margin_t"] = float(out.margin_t.mean())
    extras["margin_t_p95"] = float(np.quantile(out.margin_t, 0.95))
    credit = repo_credit_figures(instrument, market, out)
    if credit is not None:
        extras.update(credit.to_dict())
        extras["crm_note"] = credit.standardised.crm_note
    cap = instrument.liquidation_share_of_adv * depth
    extras.update(
        {
            "adv_t": depth,
            "adv_source": _depth_source(instrument, market),
            "liquidation_capacity_t_per_day": cap,
            "days_to_liquidate_all": math.ceil(instrument.quantity_t / cap),
        }
    )
    if instrument.target_expected_loss_cny is not None and not quick:

        def net_loss(rate: float, target: float) -> float:
            o = simulate_repo(instrument, market, p, rng=rng, depth_t_per_day=depth, repo_rate=rate)
            return float(o.cash_lent_cny - o.pv_cny.mean()) - target

        target = float(instrument.target_expected_loss_cny)
        extras["break_even_repo_rate"] = _solve(lambda r: net_loss(r, 0.0), -0.05, 1.0)
        extras["target_expected_loss_cny"] = target
        extras["repo_rate_for_target"] = (
            extras["break_even_repo_rate"] if target == 0.0 else _solve(lambda r: net_loss(r, target), -0.05, 1.0)
        )
    samples = {
        "pv_cny": sign * fin,
        "loss_cny": out.loss_cny,
        "ead_cny": out.ead_cny,
        "default": out.default,
        "margin_call": out.margin_call,
        "default_time_years": out.default_time_years,
        "margin_t": out.margin_t,
    }
    return PricingResult(instrument.label(), value, se, MCRepoEngine.name, extras, n_paths=p.n_paths, samples=samples)


# ---------------------------------------------------------------------------------------------------- lending


@dataclass(frozen=True)
class LendingOutcome:
    """Per-path results of lending tonnes to a borrower who may fail (lending, overdraft, custody's borrowers).

    Attributes
    ----------
    pv_fee_cny : numpy.ndarray
        Discounted fee received (0 where the borrower failed).
    pv_fee_per_rate_cny : numpy.ndarray
        ``pv_fee_cny`` per unit of the fee rate (the fee is linear in it: the fair fee is a ratio).
    loss_cny, ead_cny, pv_loss_cny : numpy.ndarray
        Loss :math:`(1-R)\\max(K - C, 0)`, exposure :math:`\\max(K - C, 0)` and the discounted loss.
    default : numpy.ndarray of bool
    default_time_years : numpy.ndarray
        ``inf`` where the borrower returned the tonnes.
    buy_in_start : numpy.ndarray of int
        Row of the contract's ``fixing_dates`` of the first buy-in day (the default day), -1 where none (the
        demand :func:`lent_demand` shares with other forced buyers of the asset).
    buy_in_quantity_t : numpy.ndarray
        Tonnes to buy in (0 where none).
    trigger_df : numpy.ndarray
        Discount factor of the default day, where the loss is booked (0 where none).
    """

    pv_fee_cny: np.ndarray
    pv_fee_per_rate_cny: np.ndarray
    loss_cny: np.ndarray
    ead_cny: np.ndarray
    pv_loss_cny: np.ndarray
    default: np.ndarray
    default_time_years: np.ndarray
    buy_in_start: np.ndarray | None = None
    buy_in_quantity_t: np.ndarray | None = None
    trigger_df: np.ndarray | None = None


def _lent(
    *,
    label: str,
    asset: str,
    quantity_t: float,
    collateral_cny: float,
    recovery_rate: float,
    buy_in_premium: float,
    share_of_adv: float,
    n_liq: int,
    pd_1y: float,
    elasticity: float,
    fee_per_rate_cny: float | None,
    fee_per_rate_t: float | None,
    first_row: int,
    days: pd.DatetimeIndex,
    n_mon: int,
    market: MarketEnv,
    paths: PathSet,
    entropy: int | None,
    depth: Depth,
) -> LendingOutcome:
    """Tonnes lent over the monitoring days ``days[:n_mon]``; defaults on rows before ``first_row`` cancel."""
    s_all = prices_on(paths, asset, days)
    monitor = days[:n_mon]
    t = market.discount.times(monitor)
    df = market.df(monitor)
    n = paths.n_paths
    drow = default_rows(
        label, pd_1y, elasticity, s_all[:n_mon], t, market.forward(asset, monitor), market.vol(asset), entropy
    )
    default = drow >= first_row
    cancelled = (drow >= 0) & (drow < first_row)
    loss = np.zeros(n)
    ead = np.zeros(n)
    pv_loss = np.zeros(n)
    default_time = np.full(n, np.inf)
    start = np.full(n, -1, dtype=np.int64)
    qty = np.zeros(n)
    trig_df = np.zeros(n)
    idx = np.flatnonzero(default)
    if idx.size:
        rows = drow[idx]
        start[idx] = rows
        qty[idx] = float(quantity_t)
        trig_df[idx] = df[rows]
        prices = _window(s_all, rows, idx, n_liq)
        cap = _capacity(depth, share_of_adv, rows, idx, n_liq)
        cost = liquidation_proceeds(np.full(idx.size, float(quantity_t)), prices, cap) * (1.0 + buy_in_premium)
        ead[idx] = np.maximum(cost - collateral_cny, 0.0)
        loss[idx] = (1.0 - recovery_rate) * ead[idx]
        pv_loss[idx] = loss[idx] * df[rows]
        default_time[idx] = t[rows]
    paid = ~(default | cancelled)
    if fee_per_rate_t is not None:
        per_rate = fee_per_rate_t * s_all[n_mon - 1] * df[-1]
    else:
        per_rate = np.full(n, float(fee_per_rate_cny or 0.0) * df[-1])
    per_rate = np.where(paid, per_rate, 0.0)
    return LendingOutcome(per_rate, per_rate, loss, ead, pv_loss, default, default_time, start, qty, trig_df)


Lent = CarbonLending | QuotaOverdraft


def _lent_quantity_t(inst: Lent) -> float:
    return float(inst.quantity_t if isinstance(inst, CarbonLending) else inst.drawn_t)


def lent_demand(inst: Lent, out: LendingOutcome, market: MarketEnv) -> LiquidationDemand:
    """The buy-in of ``out`` as a forced purchase on the contract's ``fixing_dates``
    (:mod:`carbonrisk.finance.liquidity`): from the default day, at most ``liquidation_share_of_adv`` x
    :func:`market_depth_t` a day, the rest on the ``max_liquidation_days``-th day."""
    if out.buy_in_start is None or out.buy_in_quantity_t is None:
        raise ContractError(f"'{inst.label()}': outcome carries no buy-in demand")
    cap = inst.liquidation_share_of_adv * market_depth_t(inst, market)
    return LiquidationDemand(out.buy_in_start, out.buy_in_quantity_t, cap, int(inst.max_liquidation_days))


def rebought(
    inst: Lent, out: LendingOutcome, gross_cny: np.ndarray, market: MarketEnv, changed: np.ndarray | None = None
) -> LendingOutcome:
    r"""``out`` with the buy-in cost ``gross_cny`` (before the premium) in place of its own on the paths ``changed``
    (default all; the others keep their numbers bit for bit): exposure :math:`\max((1+\pi)\,\mathrm{cost} - C, 0)`,
    loss :math:`(1-R)` x exposure, booked on the default day (the default and the fee do not depend on the
    buy-in)."""
    assert out.trigger_df is not None
    value0 = _lent_quantity_t(inst) * market.spot(inst.asset)
    collateral = inst.collateral_ratio * value0
    d = out.default if changed is None else out.default & changed
    ead = np.where(d, np.maximum(np.asarray(gross_cny) * (1.0 + inst.buy_in_premium) - collateral, 0.0), out.ead_cny)
    loss = np.where(d, (1.0 - inst.recovery_rate) * ead, out.loss_cny)
    return replace(out, loss_cny=loss, ead_cny=ead, pv_loss_cny=np.where(d, loss * out.trigger_df, out.pv_loss_cny))


def simulate_lending(
    lending: CarbonLending,
    market: MarketEnv,
    paths: PathSet,
    *,
    rng: int | None = None,
    depth_t_per_day: Depth | None = None,
) -> LendingOutcome:
    """Simulate ``lending`` (rules in :class:`~carbonrisk.finance.instruments.CarbonLending`); ``pv_fee_cny`` at its
    ``fee_rate``. ``depth_t_per_day``: the module notes (default :func:`market_depth_t`)."""
    vd = market.valuation_date
    days = lending.fixing_dates(vd)
    n_mon = len(lending.monitoring_dates(vd))
    t_mat = float(market.discount.times(days[n_mon - 1 : n_mon])[0])
    spot = market.spot(lending.asset)
    value0 = lending.quantity_t * spot
    out = _lent(
        label=lending.label(),
        asset=lending.asset,
        quantity_t=lending.quantity_t,
        collateral_cny=lending.collateral_ratio * value0,
        recovery_rate=lending.recovery_rate,
        buy_in_premium=lending.buy_in_premium,
        share_of_adv=lending.liquidation_share_of_adv,
        n_liq=int(lending.max_liquidation_days),
        pd_1y=_pd_1y(lending.borrower_pd_1y, lending.rating),
        elasticity=float(lending.pd_price_elasticity),
        fee_per_rate_cny=value0 * t_mat if lending.fee_in == "cash" else None,
        fee_per_rate_t=lending.quantity_t * t_mat if lending.fee_in == "allowances" else None,
        first_row=0,
        days=days,
        n_mon=n_mon,
        market=market,
        paths=paths,
        entropy=_entropy(rng, paths),
        depth=market_depth_t(lending, market) if depth_t_per_day is None else depth_t_per_day,
    )
    return replace(out, pv_fee_cny=out.pv_fee_per_rate_cny * lending.fee_rate)


def _credit_extras(out: LendingOutcome, extras: dict[str, Any]) -> None:
    extras["p_default"], extras["p_default_se"] = _prob(out.default)
    extras["p_loss"], extras["p_loss_se"] = _prob(out.loss_cny > 1e-9)
    extras["expected_loss_cny"], extras["expected_loss_cny_se"] = mc_estimate(out.loss_cny)
    extras["pv_expected_loss_cny"] = float(out.pv_loss_cny.mean())
    d = out.default
    extras["exposure_at_default_cny"] = float(out.ead_cny[d].mean()) if d.any() else 0.0
    extras["loss_given_default"] = (
        float(out.loss_cny[d].sum() / out.ead_cny[d].sum()) if d.any() and out.ead_cny[d].sum() > 0 else 0.0
    )


def _fair_rate(out: LendingOutcome, target: float) -> float:
    """Fee rate at which PV(credit losses) - PV(fee) = ``target`` (linear: no search)."""
    per_rate = float(out.pv_fee_per_rate_cny.mean())
    return (float(out.pv_loss_cny.mean()) - target) / per_rate if per_rate > 0 else float("nan")


def _samples(pv: np.ndarray, out: LendingOutcome) -> dict[str, np.ndarray]:
    return {
        "pv_cny": pv,
        "loss_cny": out.loss_cny,
        "ead_cny": out.ead_cny,
        "default": out.default,
        "default_time_years": out.default_time_years,
    }


@dataclass(frozen=True)
class MCLendingEngine(Engine):
    """Carbon lending on a path set: the borrower's (possibly wrong-way) default and the lender's buy-in.

    ``value``: the NPV of ``side`` (lender: PV of the fee minus PV of the credit losses; borrower: the
    negative). ``extras``: ``lender_npv_cny``, ``pv_fee_cny`` (``_se``), ``fee_risk_free_cny`` (the fee's PV with
    a borrower that never fails), ``p_default``, ``p_loss`` (``_se``), ``expected_loss_cny`` (``_se``),
    ``pv_expected_loss_cny``, ``exposure_at_default_cny``, ``loss_given_default``, ``break_even_fee_rate``
    (PV fee = PV loss) and, with ``target_expected_loss_cny``, ``fee_rate_for_target``, the market depth
    fields.
    """

    name: ClassVar[str] = "Monte Carlo (path set), carbon lending with buy-in"
    needs_paths: ClassVar[bool] = True

    def calculate(
        self,
        instrument: CarbonLending,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        instrument.check_dates(market.valuation_date)
        p = self._paths(paths)
        out = simulate_lending(instrument, market, p, rng=rng, depth_t_per_day=market_depth_t(instrument, market))
        return lending_result(instrument, market, p, out)


def lending_result(instrument: CarbonLending, market: MarketEnv, p: PathSet, out: LendingOutcome) -> PricingResult:
    """:class:`MCLendingEngine`'s result from a simulated outcome (its own, or one whose buy-in shares the day's
    depth with other forced buyers, :mod:`carbonrisk.finance.depth_sharing`)."""
    lender = out.pv_fee_cny - out.pv_loss_cny
    vd = market.valuation_date
    mat = pd.DatetimeIndex([instrument.maturity(vd)])
    t_mat = float(market.discount.times(mat)[0])
    fwd = (
        market.forward(instrument.asset, mat)[0] if instrument.fee_in == "allowances" else market.spot(instrument.asset)
    )
    extras: dict[str, Any] = {"side": instrument.side, "lender_npv_cny": float(lender.mean())}
    extras["pv_fee_cny"], extras["pv_fee_cny_se"] = mc_estimate(out.pv_fee_cny)
    extras["fee_risk_free_cny"] = float(instrument.fee_rate * instrument.quantity_t * fwd * t_mat * market.df(mat)[0])
    _credit_extras(out, extras)
    extras["break_even_fee_rate"] = _fair_rate(out, 0.0)
    if instrument.target_expected_loss_cny is not None:
        extras["target_expected_loss_cny"] = float(instrument.target_expected_loss_cny)
        extras["fee_rate_for_target"] = _fair_rate(out, float(instrument.target_expected_loss_cny))
    return _buy_in_result(instrument, market, p, out, lender, extras, MCLendingEngine.name)


def _buy_in_result(
    instrument: CarbonLending | QuotaOverdraft,
    market: MarketEnv,
    p: PathSet,
    out: LendingOutcome,
    lender: np.ndarray,
    extras: dict[str, Any],
    engine: str,
) -> PricingResult:
    """A lending-type engine's result: the value is the lender's NPV per path ``lender`` (its negative for the
    other side), ``extras`` completed with the market-depth fields of the buy-in."""
    depth = market_depth_t(instrument, market)
    sign = 1.0 if instrument.side == "lender" else -1.0
    value, se = mc_estimate(sign * lender)
    extras.update({"adv_t": depth, "adv_source": _depth_source(instrument, market)})
    extras["buy_in_capacity_t_per_day"] = instrument.liquidation_share_of_adv * depth
    samples = _samples(sign * lender, out)
    return PricingResult(instrument.label(), value, se, engine, extras, n_paths=p.n_paths, samples=samples)


# ---------------------------------------------------------------------------------------------------- custody


@dataclass(frozen=True)
class CustodyOutcome:
    """Per-path decomposition of a custody contract (CNY, present values).

    Attributes
    ----------
    lending : LendingOutcome or None
        The manager's lending to its borrowers (None when ``lent_share`` = 0).
    pv_guarantee_cny : numpy.ndarray
        Guaranteed return received by the owner (0 where the manager failed).
    owner_loss_cny, pv_owner_loss_cny : numpy.ndarray
        The owner's loss on the manager's failure, :math:`(1-R_m) q S_{\\tau_m}`, and its PV.
    manager_default : numpy.ndarray of bool
    manager_default_time_years : numpy.ndarray
    owner_cny, manager_cny, total_cny : numpy.ndarray
        :math:`V_O`, :math:`V_M` and their sum, lending income minus borrowers' credit losses.
    """

    lending: LendingOutcome | None
    pv_guarantee_cny: np.ndarray
    owner_loss_cny: np.ndarray
    pv_owner_loss_cny: np.ndarray
    manager_default: np.ndarray
    manager_default_time_years: np.ndarray
    owner_cny: np.ndarray
    manager_cny: np.ndarray
    total_cny: np.ndarray


def simulate_custody(
    custody: CarbonCustody,
    market: MarketEnv,
    paths: PathSet,
    *,
    rng: int | None = None,
    depth_t_per_day: Depth | None = None,
) -> CustodyOutcome:
    """Simulate ``custody`` (decomposition in :class:`~carbonrisk.finance.instruments.CarbonCustody`)."""
    vd = market.valuation_date
    n = paths.n_paths
    spot = market.spot(custody.asset)
    lending = None
    if custody.lent_share > 0:
        lending = simulate_lending(custody.lending(), market, paths, rng=rng, depth_t_per_day=depth_t_per_day)
    monitor = custody.monitoring_dates(vd)
    t = market.discount.times(monitor)
    df = market.df(monitor)
    s = prices_on(paths, custody.asset, monitor)
    drow = default_rows(
        f"{custody.label()} (manager)",
        float(custody.manager_pd_1y),
        0.0,
        s,
        t,
        market.forward(custody.asset, monitor),
        market.vol(custody.asset),
        _entropy(rng, paths),
    )
    mdef = drow >= 0
    guarantee = custody.guarantee_cny(spot)
    pv_g = np.where(mdef, 0.0, guarantee * df[-1])
    owner_loss = np.zeros(n)
    pv_owner_loss = np.zeros(n)
    idx = np.flatnonzero(mdef)
    owner_loss[idx] = (1.0 - custody.manager_recovery_rate) * custody.quantity_t * s[drow[idx], idx]
    pv_owner_loss[idx] = owner_loss[idx] * df[drow[idx]]
    mtime = np.where(mdef, t[np.maximum(drow, 0)], np.inf)
    total = np.zeros(n) if lending is None else lending.pv_fee_cny - lending.pv_loss_cny
    owner = pv_g - pv_owner_loss
    return CustodyOutcome(lending, pv_g, owner_loss, pv_owner_loss, mdef, mtime, owner, total - owner, total)


@dataclass(frozen=True)
class MCCustodyEngine(Engine):
    """Carbon custody on a path set: the owner's and the manager's sides (decomposition in
    :class:`~carbonrisk.finance.instruments.CarbonCustody`).

    ``value``: :math:`V_O` (owner) or :math:`V_M` (manager). ``extras``: ``owner_npv_cny``, ``manager_npv_cny``,
    ``total_npv_cny`` (``_se`` each), ``pv_lending_fees_cny``, ``pv_borrower_losses_cny``,
    ``pv_guarantee_cny``, ``pv_owner_loss_cny``, ``guarantee_cny``, ``p_manager_default`` (``_se``) and the
    borrowers' credit figures (``p_default``, ``expected_loss_cny``, ...; the borrowers' losses fall on the
    manager); ``break_even_guarantee_cny``: the guarantee at which the manager's expected value is 0.
    """

    name: ClassVar[str] = "Monte Carlo (path set), custody: lending income - guarantee - credit losses"
    needs_paths: ClassVar[bool] = True

    def calculate(
        self,
        instrument: CarbonCustody,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        instrument.check_dates(market.valuation_date)
        p = self._paths(paths)
        depth = market_depth_t(instrument, market)
        out = simulate_custody(instrument, market, p, rng=rng, depth_t_per_day=depth)
        pv = out.owner_cny if instrument.side == "owner" else out.manager_cny
        value, se = mc_estimate(pv)
        extras: dict[str, Any] = {"side": instrument.side}
        for key, arr in (("owner_npv_cny", out.owner_cny), ("manager_npv_cny", out.manager_cny),
                         ("total_npv_cny", out.total_cny)):  # fmt: skip
            extras[key], extras[f"{key}_se"] = mc_estimate(arr)
        lend = out.lending
        extras["pv_lending_fees_cny"] = 0.0 if lend is None else float(lend.pv_fee_cny.mean())
        extras["pv_borrower_losses_cny"] = 0.0 if lend is None else float(lend.pv_loss_cny.mean())
        extras["pv_guarantee_cny"] = float(out.pv_guarantee_cny.mean())
        extras["pv_owner_loss_cny"] = float(out.pv_owner_loss_cny.mean())
        extras["guarantee_cny"] = instrument.guarantee_cny(market.spot(instrument.asset))
        extras["p_manager_default"], extras["p_manager_default_se"] = _prob(out.manager_default)
        survive = float(np.mean(~out.manager_default))
        mat = pd.DatetimeIndex([instrument.maturity(market.valuation_date)])
        df_mat = float(market.df(mat)[0])
        # V_M = total - E[G df 1{survive}] + E[owner loss]: zero at G* below
        extras["break_even_guarantee_cny"] = (
            (float(out.total_cny.mean()) + extras["pv_owner_loss_cny"]) / (df_mat * survive) if survive > 0 else 0.0
        )
        if lend is not None:
            _credit_extras(lend, extras)
        extras.update({"adv_t": depth, "adv_source": _depth_source(instrument, market)})
        empty = np.zeros(p.n_paths)
        samples = {
            "pv_cny": pv,
            "loss_cny": (lend.loss_cny if lend is not None else empty)
            + (out.owner_loss_cny if instrument.side == "owner" else empty),
            "manager_default": out.manager_default,
            "manager_default_time_years": out.manager_default_time_years,
        }
        return PricingResult(instrument.label(), value, se, self.name, extras, n_paths=p.n_paths, samples=samples)


# -------------------------------------------------------------------------------------------------- overdraft


def simulate_overdraft(
    overdraft: QuotaOverdraft,
    market: MarketEnv,
    paths: PathSet,
    *,
    rng: int | None = None,
    depth_t_per_day: Depth | None = None,
    overdraft_rate: float | None = None,
) -> LendingOutcome:
    """Simulate ``overdraft`` (rules in :class:`~carbonrisk.finance.instruments.QuotaOverdraft`): the interest in tonnes
    as the fee (``pv_fee_cny`` at ``overdraft_rate``, default the contract's), defaults in (draw, repay]."""
    vd = market.valuation_date
    days = overdraft.fixing_dates(vd)
    monitor = overdraft.monitoring_dates(vd)
    n_mon = len(monitor)
    repay = monitor[-1]
    delta = float(max((repay - overdraft.draw_date).days, 0)) / 365.0
    spot = market.spot(overdraft.asset)
    first_row = int(np.searchsorted(monitor.values, overdraft.draw_date.to_datetime64(), side="right"))
    out = _lent(
        label=overdraft.label(),
        asset=overdraft.asset,
        quantity_t=overdraft.drawn_t,
        collateral_cny=overdraft.collateral_ratio * overdraft.drawn_t * spot,
        recovery_rate=overdraft.recovery_rate,
        buy_in_premium=overdraft.buy_in_premium,
        share_of_adv=overdraft.liquidation_share_of_adv,
        n_liq=int(overdraft.max_liquidation_days),
        pd_1y=_pd_1y(overdraft.borrower_pd_1y, overdraft.rating),
        elasticity=float(overdraft.pd_price_elasticity),
        fee_per_rate_cny=None,
        fee_per_rate_t=overdraft.drawn_t * delta,
        first_row=first_row,
        days=days,
        n_mon=n_mon,
        market=market,
        paths=paths,
        entropy=_entropy(rng, paths),
        depth=market_depth_t(overdraft, market) if depth_t_per_day is None else depth_t_per_day,
    )
    rate = overdraft.overdraft_rate if overdraft_rate is None else overdraft_rate
    return replace(out, pv_fee_cny=out.pv_fee_per_rate_cny * rate)


def commitment_fee_cny(overdraft: QuotaOverdraft, market: MarketEnv) -> float:
    """Upfront cash fee on the undrawn line: :math:`c (Q - q) S_0 T_\\ell`, :math:`T_\\ell` the years from the
    valuation date to the repayment date (Actual/365)."""
    t_line = (overdraft.repay_date - market.valuation_date).days / 365.0
    undrawn = overdraft.credit_line_t - overdraft.drawn_t
    return float(overdraft.commitment_fee_rate * undrawn * market.spot(overdraft.asset) * t_line)


@dataclass(frozen=True)
class MCOverdraftEngine(Engine):
    """Quota overdraft on a path set: the entity's cost, the lender's exposure and expected loss.

    ``value``: the NPV of ``side`` (lender: commitment fee + PV of the interest tonnes - PV of credit losses;
    entity: the negative, its cost). ``extras``: ``lender_npv_cny``, ``entity_cost_cny``, ``commitment_fee_cny``,
    ``pv_interest_cny`` (``_se``), ``interest_t`` (tonnes of interest due), ``entity_cost_rate`` (the overdraft
    rate: simple, in tonnes), the credit figures (``p_default``, ``expected_loss_cny``, ...),
    ``break_even_overdraft_rate`` and with a target ``overdraft_rate_for_target`` (linear in the rate, as the
    lending fee), the market depth fields.
    """

    name: ClassVar[str] = "Monte Carlo (path set), quota overdraft repaid in allowances"
    needs_paths: ClassVar[bool] = True

    def calculate(
        self,
        instrument: QuotaOverdraft,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        instrument.check_dates(market.valuation_date)
        p = self._paths(paths)
        out = simulate_overdraft(instrument, market, p, rng=rng, depth_t_per_day=market_depth_t(instrument, market))
        return overdraft_result(instrument, market, p, out)


def overdraft_result(instrument: QuotaOverdraft, market: MarketEnv, p: PathSet, out: LendingOutcome) -> PricingResult:
    """:class:`MCOverdraftEngine`'s result from a simulated outcome (its own, or one whose buy-in shares the day's
    depth with other forced buyers, :mod:`carbonrisk.finance.depth_sharing`)."""
    fee = commitment_fee_cny(instrument, market)
    lender = fee + out.pv_fee_cny - out.pv_loss_cny
    monitor = instrument.monitoring_dates(market.valuation_date)
    delta = float(max((monitor[-1] - instrument.draw_date).days, 0)) / 365.0
    extras: dict[str, Any] = {
        "side": instrument.side,
        "lender_npv_cny": float(lender.mean()),
        "entity_cost_cny": -float(lender.mean()),
        "commitment_fee_cny": fee,
        "interest_t": instrument.drawn_t * instrument.overdraft_rate * delta,
        "entity_cost_rate": float(instrument.overdraft_rate),
    }
    extras["pv_interest_cny"], extras["pv_interest_cny_se"] = mc_estimate(out.pv_fee_cny)
    _credit_extras(out, extras)
    extras["break_even_overdraft_rate"] = _fair_rate(out, fee)
    if instrument.target_expected_loss_cny is not None:
        target = float(instrument.target_expected_loss_cny)
        extras["target_expected_loss_cny"] = target
        extras["overdraft_rate_for_target"] = _fair_rate(out, target + fee)
    return _buy_in_result(instrument, market, p, out, lender, extras, MCOverdraftEngine.name)
