"""Portfolio Monte Carlo: one joint run of CEA/CCER prices, project volumes and contracts, per path, block by block.

Pipeline (one run)::

    price history -> fitted model (joint CEA/CCER) -> grid (daily in year 1, month ends to the horizon, every
    contract fixing date) -> for each block of paths: prices, project paths, contract engines -> per-path arrays
    -> merged as blocks arrive into arrays for all paths -> metrics (carbonrisk.portfolios.analysis)

Memory: each block reduces its paths to what the metrics need: per path the P&L of every component, the price
fan rows, annual CCER averages, portfolio totals per year, each project's NPV / IRR / payback, loan outcomes and
pledge exposure on 24 report dates. The driver writes them into arrays preallocated for the run (no
concatenation copy), and the arrays with many values per path (:data:`SPILL_ROWS`) into ``.npy`` files that the
analysis reads when it needs them, per-project ones one project at a time. VaR, ES and every quantile stay exact:
every path's value is kept.

Randomness: block ``b`` of the run draws prices from ``SeedSequence(seed, spawn_key=(b, 0))``, project risk from
``(b, 1)`` and contract-internal randomness (borrower top-ups) from ``(b, 2)``; so the numbers depend only on the
seed and the path count, never on how blocks are grouped into tasks or spread over workers.

What each component contributes per path, at each horizon ``h`` (10 trading days and 1 year): one definition,
``P&L(h) = value at h on the path + cash flows up to h carried to h - value today``
(:mod:`carbonrisk.finance.revaluation`):

* inventories: ``q (S_h - S_0)``;
* contracts with a closed form (forwards, options, swaps, swaptions, exchange options, guaranteed contracts):
  full revaluation on each path at ``h`` (the path's price carried to delivery on the market's forward curve,
  the fixings already on the path, the remaining time and the model's expected average variance), minus the
  same formula on the valuation date;
* loans and other contracts without one: least-squares regression of the engine's per-path present value on the
  price at ``h``, fitted once per run on a pilot set of :data:`PILOT_PATHS` paths from the run's own seed
  (stream ``PILOT_KEY``), so every block applies the same coefficients;
* obligations: minus the compliance cost ``ccer_t * CCER_avg_y + (cea_t - hedged_t) * CEA_avg_y + hedged_t * K``
  (annual averages over the grid dates of year ``y``: those up to ``h`` from the path, the rest at the path's
  forward), paid on the year's last grid date, discounted on the market's curve; ``hedged_t`` at ``K =
  hedge_price_cny_per_t`` is a hedge outside the book. A hedge held as contracts of the book is named in the
  obligation's ``hedges``: its P&L is the contracts', and the hedged compliance cost (cost-at-risk and
  cash-flow-at-risk tables) nets their value on the compliance date, path by path
  (:func:`~carbonrisk.portfolios.components.hedge_settlement`);
* projects (:func:`~carbonrisk.portfolios.components.project_value`): the plan's cash flows (credits x the year's
  average CCER price at the path's forward curve, heat revenue, capex, opex) at mid-year on the market's curve, plus
  the path's own cash flows of the years already paid by ``h``; the per-path project arrays (income ``credits
  issued x CCER annual average``, heat revenue ``heat x tariff``, capex, opex, NPV, IRR, payback) are reported
  as before, and project-linked contracts (:mod:`carbonrisk.finance.linking`) run on those per-path volumes and cash
  flows, an explicit input of the block (:class:`~carbonrisk.portfolios.components.ProjectPaths` in
  :class:`~carbonrisk.portfolios.components.BlockInputs`).

Contract deltas (the contracts table) are bump-and-revalue of the same revaluation on the valuation date
(spot +-1 %); loans have none (their value comes from the regression, which has no today state to bump).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from carbonrisk.finance.exposure import evenly_spaced_rows, exposure_values
from carbonrisk.finance.instruments import Derivative, Instrument
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.revaluation import (
    FlatVolatility,
    HorizonState,
    ModelVariance,
    RegressionRevaluation,
    VolatilitySource,
    has_closed_form,
    horizon_value,
)
from carbonrisk.finance.valuation import engines_for, path_dates
from carbonrisk.models.calendar import year_fractions
from carbonrisk.models.catalog import fit_model
from carbonrisk.models.data import PriceHistory, load_prices
from carbonrisk.models.drift import MarketAnchor
from carbonrisk.models.exceptions import CarbonRiskWarning
from carbonrisk.models.geothermal import simulate_portfolio
from carbonrisk.models.grid import SimulationGrid
from carbonrisk.models.interface import PriceModelResult
from carbonrisk.models.joint import BasisParams, JointCeaCcer, fit_basis
from carbonrisk.models.paths import PathSet
from carbonrisk.models.random import BLOCK_PATHS, root_seed_sequence
from carbonrisk.models.scenarios import ScenarioCurve, load_scenario
from carbonrisk.models.units import TRADING_DAYS_PER_YEAR
from carbonrisk.portfolios.components import (
    BlockInputs,
    LoanPaths,
    ProjectPaths,
    components,
    hedge_settlement,
    mid_year_dates,
    obligation_tonnes,
    obligation_value,
    pledge_rows,
    project_value,
    shared_depth,
)
from carbonrisk.portfolios.exceptions import InputError
from carbonrisk.portfolios.executor import BlockTask, map_blocks
from carbonrisk.portfolios.metrics import irr, payback_year, present_value
from carbonrisk.portfolios.modelcheck import model_backtest
from carbonrisk.portfolios.portfolio import DEFAULT_CCER_SPOT, Portfolio, market_history

__all__ = [
    "SPILL_ROWS",
    "PortfolioRun",
    "RunArrays",
    "RunContext",
    "discount_factors",
    "pledge_rows",
    "prepare",
    "run_portfolio",
]

TEN_DAYS: int = 10
"""Trading days of the short VaR horizon."""
PILOT_PATHS: int = 2048
"""Paths of the pilot set on which the regression revaluation of contracts without a closed form is fitted."""
PILOT_KEY: int = 2**31 - 1
"""Spawn key of the pilot set's seed stream (no block of a run uses it: blocks are numbered from 0)."""
SPOT_BUMP: float = 0.01
"""Relative spot bump of the contract deltas."""


@dataclass(frozen=True)
class MarketInputs:
    """What is needed to rebuild the (unpicklable, QuantLib) market environment in any process."""

    valuation_date: pd.Timestamp
    rate: float
    spots: tuple[tuple[str, float], ...]
    vols: tuple[tuple[str, float], ...]
    correlation: float
    daily_volumes_t: tuple[tuple[str, tuple[float, ...]], ...] = ()
    """Traded volume per day of the run's price history up to the valuation date (pledge-loan market depth)."""
    adv_t: tuple[tuple[str, float], ...] = ()
    """Market depth given in the portfolio file (``[market] ccer_adv_t``), t/day per asset."""

    def build(self) -> MarketEnv:
        """The market environment (cached per process)."""
        return _market(self)


@functools.lru_cache(maxsize=8)
def _market(inputs: MarketInputs) -> MarketEnv:
    return MarketEnv.simple(
        inputs.valuation_date,
        inputs.rate,
        dict(inputs.spots),
        dict(inputs.vols),
        correlation=inputs.correlation,
        daily_volumes_t=dict(inputs.daily_volumes_t),
        adv_t=dict(inputs.adv_t),
    )


@dataclass(frozen=True)
class RunContext:
    """Everything a worker needs to compute one block (picklable)."""

    portfolio: Portfolio
    model: PriceModelResult
    scenario: ScenarioCurve | None
    anchor: MarketAnchor | None
    """Anchor / glide of the trend (with a scenario; :mod:`carbonrisk.models.drift`)."""
    grid: SimulationGrid
    market: MarketInputs
    years: tuple[int, ...]
    fan_rows: tuple[int, ...]
    row_10d: int
    row_1y: int
    deltas: tuple[tuple[tuple[str, float], ...], ...]
    """Per contract ``((factor, delta CNY per CNY/t), ...)``: bump-and-revalue on the valuation date."""
    value_today: tuple[float, ...]
    """Per contract, then per obligation: value on the valuation date, CNY (the ``V_0`` of the P&L)."""
    regressions: tuple[tuple[RegressionRevaluation, RegressionRevaluation] | None, ...]
    """Per contract: the 10-day and 1-year regressions (``None`` for contracts with a closed form)."""
    planned_costs_cny: np.ndarray
    """``(n_projects, n_years)`` capex + opex of the deterministic projects (the plan)."""
    planned_credits_t: np.ndarray
    """``(n_projects, n_years)`` credits issued by the deterministic projects."""
    planned_other_cny: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    """``(n_projects, n_years)`` heat revenue - capex - opex of the deterministic projects (the plan), CNY."""
    project_value_today: tuple[float, ...] = ()
    """Per project: value on the valuation date (:func:`~carbonrisk.portfolios.components.project_value`), CNY."""

    @property
    def dates(self) -> pd.DatetimeIndex:
        """Grid dates including the valuation date."""
        return pd.DatetimeIndex(self.grid.dates)


SPILL_ROWS: int = 8
"""Per-path arrays with this many values per path or more (per-year, per-date and per-project-year arrays) are
written to disk by the driver as blocks arrive and read back when the analysis needs them; a per-project array
``(n_projects, n_years, n_paths)`` is read one project at a time (1 000 000 paths x 21 years x 5 projects is
0.84 GB per key). What stays in memory is a few values per path (P&L per component, loan outcomes, NPVs)."""


class RunArrays(Mapping[str, np.ndarray]):
    """Per-path results of a run: small arrays in memory, the larger ones (:data:`SPILL_ROWS`) in ``.npy`` files.

    ``arrays[key]`` returns the whole array (read from disk for a spilled key); :meth:`load` reads one slice of
    the first axis (one project) without touching the rest of the file. The files live in a temporary directory
    that is removed with this object.
    """

    def __init__(self, memory: dict[str, np.ndarray], spill: tempfile.TemporaryDirectory[str] | None = None) -> None:
        self._memory = memory
        self._spill = spill
        self._files = {p.stem: p for p in Path(spill.name).glob("*.npy")} if spill is not None else {}

    def __getitem__(self, key: str) -> np.ndarray:
        if key in self._memory:
            return self._memory[key]
        if key in self._files:
            return np.load(self._files[key])
        raise KeyError(key)

    def load(self, key: str, index: int) -> np.ndarray:
        """``arrays[key][index]``, reading only that slice of a spilled array."""
        if key in self._memory:
            return self._memory[key][index]
        mapped = np.load(self._files[key], mmap_mode="r")
        out = np.array(mapped[index])
        del mapped
        return out

    def __iter__(self) -> Iterator[str]:
        return iter([*self._memory, *self._files])

    def __len__(self) -> int:
        return len(self._memory) + len(self._files)


@dataclass
class PortfolioRun:
    """Merged per-path results of a run plus the context that produced them."""

    context: RunContext
    history: PriceHistory
    arrays: RunArrays
    warnings: list[str]
    elapsed_s: float
    fit_summary: dict[str, Any] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    """Wall time of the phases: ``prepare`` (fit, grid, deltas, plan) and ``blocks`` (Monte Carlo and merge)."""

    @property
    def portfolio(self) -> Portfolio:
        """The portfolio that was run."""
        return self.context.portfolio

    @property
    def n_paths(self) -> int:
        """Paths simulated."""
        return int(self.context.portfolio.n_paths)

    @property
    def times_years(self) -> np.ndarray:
        """Mid-year time of each report year from the valuation date, years (cash-flow discounting)."""
        return times_years(self.context)


def times_years(ctx: RunContext) -> np.ndarray:
    """Mid-year (1 July) time of each of ``ctx.years`` from the valuation date, years, floored at 0."""
    return year_fractions(ctx.market.valuation_date, mid_year_dates(ctx)).clip(min=0.0)


def discount_factors(ctx: RunContext) -> np.ndarray:
    """Discount factor of each report year's mid-year cash flows on the market's curve (the one convention of
    values and risk: contracts, project NPVs, levers and mismatch metrics)."""
    return np.asarray(ctx.market.build().df(mid_year_dates(ctx)), dtype=float)


def _grid_dates(vd: pd.Timestamp, horizon_years: int, contracts: list[Instrument]) -> pd.DatetimeIndex:
    end = vd + pd.DateOffset(years=horizon_years)
    daily = pd.DatetimeIndex(SimulationGrid.daily(vd, TRADING_DAYS_PER_YEAR).dates[1:])
    month_ends = pd.date_range(vd, end, freq="ME")
    extra = path_dates(contracts, vd)[1:] if contracts else pd.DatetimeIndex([])
    dates = daily.append(month_ends).append(pd.DatetimeIndex(extra)).append(pd.DatetimeIndex([end]))
    return pd.DatetimeIndex(sorted(set(d for d in dates.normalize() if vd < d <= end)))


def market_anchor(portfolio: Portfolio) -> MarketAnchor:
    """The ``[market]`` anchor / glide of the run (:mod:`carbonrisk.models.drift`): carry from ``financing_rate``
    (default the discount rate) and ``convenience_yield``, or the quoted ``forwards``."""
    spec = portfolio.market
    quotes = (
        pd.Series([p for _, p in spec.forwards], index=pd.DatetimeIndex([d for d, _ in spec.forwards]), dtype=float)
        if spec.forwards
        else None
    )
    return MarketAnchor(
        financing_rate=spec.discount_rate if spec.financing_rate is None else spec.financing_rate,
        convenience_yield=spec.convenience_yield,
        anchor_years=spec.anchor_years,
        glide_years=spec.glide_years,
        forwards=quotes,
    )


def _basis(portfolio: Portfolio, history: PriceHistory) -> tuple[BasisParams, str]:
    """The CEA/CCER basis and where its start comes from: fitted on ``ccer_prices`` when given, else the documented
    assumptions of :class:`~carbonrisk.models.joint.BasisParams`; the start from ``ccer_spot`` (or the last CCER close,
    or
    :data:`~carbonrisk.portfolios.portfolio.DEFAULT_CCER_SPOT`), or the deprecated ``ccer_discount`` ratio."""
    spec = portfolio.market
    if spec.ccer_prices is not None:
        basis, source = fit_basis(history, load_prices(spec.ccer_prices)), "fitted on " + Path(spec.ccer_prices).name
    else:
        basis, source = BasisParams(), "assumed"
    if spec.ccer_discount is not None:
        b0 = -math.log(spec.ccer_discount)
        return dataclasses.replace(basis, b0=b0, mean_basis=b0), source
    if spec.ccer_spot is not None or spec.ccer_prices is None:
        ccer = DEFAULT_CCER_SPOT if spec.ccer_spot is None else spec.ccer_spot
        basis = dataclasses.replace(basis, b0=math.log(history.last_price / ccer))
    return basis, source


def _fit(portfolio: Portfolio, history: PriceHistory) -> tuple[JointCeaCcer, dict[str, Any]]:
    spec = portfolio.market
    single = fit_model(history, spec.model, spec.dist, persistence_policy=spec.persistence_policy)
    basis, source = _basis(portfolio, history)
    joint = JointCeaCcer(single, basis)
    summary = {
        "model": joint.name,
        "price_model": single.name,
        "basis": basis.to_dict() | {"source": source},
    }
    return joint, summary


def _check_dates(portfolio: Portfolio, vd: pd.Timestamp) -> None:
    """Contracts fix and obligations fall between the valuation date and the horizon end (what
    :func:`~carbonrisk.portfolios.portfolio.load_portfolio` checks, with file and line, for a parsed portfolio)."""
    end = vd + pd.DateOffset(years=portfolio.horizon_years)
    for spec in portfolio.contracts:
        last = max(spec.instrument.fixing_dates(vd))
        if last > end:
            raise InputError(
                f"contract '{spec.name}' fixes on {last.date()}, after the horizon ends on {end.date()} "
                f"(portfolio.horizon_years = {portfolio.horizon_years}); raise the horizon"
            )
    for ob in portfolio.obligations:
        if ob.year < vd.year or ob.year > end.year:
            raise InputError(f"obligation '{ob.name}' year {ob.year} lies outside {vd.year}-{end.year}")


def prepare(portfolio: Portfolio) -> tuple[RunContext, PriceHistory, dict[str, Any]]:
    """Fit the model and build the grid, market and contract deltas (driver side, once per run)."""
    history, vd = market_history(portfolio)  # read and checked once, when the file was parsed
    parsed = portfolio.market_data if portfolio.market_data and portfolio.market_data.matches(portfolio) else None
    if parsed is None:
        _check_dates(portfolio, vd)  # a portfolio built by hand: its dates were never checked
    model, summary = _fit(portfolio, history)
    summary["backtest"] = model_backtest(portfolio, history)
    if parsed is not None:
        scenario = parsed.scenario
    else:
        scenario = load_scenario(portfolio.market.scenario) if portfolio.market.scenario else None
    contracts = [c.instrument for c in portfolio.contracts]
    end = vd + pd.DateOffset(years=portfolio.horizon_years)
    grid = SimulationGrid.from_dates(vd, _grid_dates(vd, portfolio.horizon_years, contracts))
    dates = pd.DatetimeIndex(grid.dates)
    row_10d, row_1y = TEN_DAYS, min(TRADING_DAYS_PER_YEAR, len(dates) - 1)
    years = tuple(range(vd.year, end.year + 1))
    year_ends = (int(np.searchsorted(dates, pd.Timestamp(f"{y}-12-31"), "right")) - 1 for y in years)
    fan = sorted({0, row_10d, row_1y, len(dates) - 1, *year_ends})

    # Market: the curve of the portfolio's rate, carry forwards from the last close; the volatilities are the
    # fallback of the revaluation when the path set carries no conditional variance: CEA's from the history and,
    # since ln CCER = ln CEA - b with the basis shock correlated rho with the CEA shock,
    # vol_CCER^2 = s^2 + s_b^2 - 2 rho s s_b and corr(CEA, CCER) = (s^2 - rho s s_b) / (s vol_CCER).
    basis: BasisParams = model.basis
    s0 = history.last_price
    ratio = math.exp(-(basis.mean_basis if basis.b0 is None else basis.b0))
    vol = float(history.log_returns.std(ddof=1) * math.sqrt(TRADING_DAYS_PER_YEAR))
    vol_ccer = math.sqrt(vol**2 + basis.sigma**2 - 2.0 * basis.rho * vol * basis.sigma)
    market = MarketInputs(
        valuation_date=vd,
        rate=portfolio.market.discount_rate,
        spots=(("CEA", s0), ("CCER", s0 * ratio)),
        vols=(("CEA", vol), ("CCER", vol_ccer)),
        correlation=(vol**2 - basis.rho * vol * basis.sigma) / (vol * vol_ccer),
        daily_volumes_t=_volumes(history),
        adv_t=() if portfolio.market.ccer_adv_t is None else (("CCER", portfolio.market.ccer_adv_t),),
    )
    plan_costs = np.zeros((len(portfolio.projects), len(years)))
    plan_credits = np.zeros_like(plan_costs)
    plan_other = np.zeros_like(plan_costs)
    plan_heat, plan_capex, plan_opex = np.zeros_like(plan_costs), np.zeros_like(plan_costs), np.zeros_like(plan_costs)
    if portfolio.projects:
        plan = simulate_portfolio([p.project for p in portfolio.projects], 1, 0, deterministic=True)
        for k, pp in enumerate(plan.projects):
            beyond = int(pp.years[-1]) - years[-1]
            if beyond > 0:
                warnings.warn(
                    f"project '{portfolio.projects[k].name}' has cash flows or issuances until {int(pp.years[-1])}; "
                    f"the {beyond} year(s) after the horizon end ({years[-1]}) are left out of the report",
                    CarbonRiskWarning,
                    stacklevel=2,
                )
            plan_capex[k] = _on_years(pp.capex_cny, pp.years, years)[:, 0]
            plan_opex[k] = _on_years(pp.opex_cny, pp.years, years)[:, 0]
            plan_costs[k] = plan_capex[k] + plan_opex[k]
            plan_credits[k] = _on_years(pp.credits_issued_t, pp.years, years)[:, 0]
            plan_heat[k] = _on_years(pp.heat_mwh, pp.years, years)[:, 0] * portfolio.projects[k].heat_tariff_cny_per_mwh
            plan_other[k] = plan_heat[k] - plan_costs[k]
    context = RunContext(
        portfolio=portfolio,
        model=model,
        scenario=scenario,
        anchor=market_anchor(portfolio),
        grid=grid,
        market=market,
        years=years,
        fan_rows=tuple(fan),
        row_10d=row_10d,
        row_1y=row_1y,
        deltas=(),
        value_today=(),
        regressions=(),
        planned_costs_cny=plan_costs,
        planned_credits_t=plan_credits,
        planned_other_cny=plan_other,
    )
    names = tuple(p.name for p in portfolio.projects)
    plan_paths = ProjectPaths(
        names, years, plan_credits[..., None], plan_heat[..., None], plan_capex[..., None], plan_opex[..., None]
    )
    context = _today_values(context, plan_paths)
    summary |= {"valuation_date": str(vd.date()), "grid_dates": len(dates), "volatility_annual": vol}
    return context, history, summary


def _volumes(history: PriceHistory) -> tuple[tuple[str, tuple[float, ...]], ...]:
    """The history's daily traded volumes (CEA: the price model's asset), up to its last date; none if absent."""
    if history.volume_t is None:
        return ()
    volumes = history.volume_t.dropna()
    return (("CEA", tuple(float(v) for v in volumes)),) if len(volumes) else ()


def _annual_average(values: np.ndarray, dates: pd.DatetimeIndex, years: tuple[int, ...]) -> np.ndarray:
    out = np.empty((len(years), values.shape[1]))
    year_of = dates.year.to_numpy()
    for i, y in enumerate(years):
        rows = np.flatnonzero((year_of == y) & (np.arange(len(dates)) > 0))
        out[i] = values[rows].mean(axis=0) if rows.size else values[0]
    return out


def _on_years(array: np.ndarray, src_years: np.ndarray, years: tuple[int, ...]) -> np.ndarray:
    """Re-index a ``(n_src_years, n)`` array onto ``years`` (zeros where the source has no row)."""
    out = np.zeros((len(years), array.shape[-1]))
    for i, y in enumerate(src_years):
        if years[0] <= y <= years[-1]:
            out[int(y) - years[0]] += array[i]
    return out


def _seed(task: BlockTask, block: int, stream: int) -> np.random.SeedSequence:
    root = task.seed
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, block, stream), pool_size=root.pool_size)


def volatility_source(ctx: RunContext) -> VolatilitySource:
    """The revaluation's volatility: the model's expected average variance from the horizon to expiry given its
    conditional variance there, when the fitted model offers ``expected_average_variance(variance_now, n_days)``
    (daily variances of decimal log-returns; looked up on the joint model, then on its CEA model) and the path set
    carries ``variance``; otherwise the market's volatilities (:class:`~carbonrisk.finance.revaluation.FlatVolatility`:
    the history's CEA volatility and the CCER volatility implied by the basis), the documented fallback."""
    flat = FlatVolatility(dict(ctx.market.vols))
    for owner in (ctx.model, getattr(ctx.model, "cea", None)):
        expected = getattr(owner, "expected_average_variance", None)
        if callable(expected):
            return ModelVariance(expected, flat)
    return flat


def _today_values(ctx: RunContext, plan: ProjectPaths) -> RunContext:
    """Contract, obligation and project values today, contract deltas and the regressions of contracts without a
    closed form, all from a pilot set of :data:`PILOT_PATHS` paths (seed stream ``PILOT_KEY``) of the run's model.

    Today's values are the horizon revaluation at row 0 (every path holds the spot and the model's current
    variance); deltas are central differences of it for a spot bump of :data:`SPOT_BUMP`. Project-linked
    contracts take the deterministic plan's credits and cash flows (``plan``, one path) on the pilot set.
    """
    pf = ctx.portfolio
    if not pf.contracts and not pf.obligations and not pf.projects:
        return ctx
    market = ctx.market.build()
    vol = volatility_source(ctx)
    root = root_seed_sequence(pf.seed)
    key = (*root.spawn_key, PILOT_KEY)
    pilot: PathSet = ctx.model.simulate(
        ctx.grid,
        PILOT_PATHS,
        np.random.SeedSequence(root.entropy, spawn_key=(*key, 0)),
        scenario=ctx.scenario,
        anchor=ctx.anchor,
        record_variance=True,
    )
    entropy = int.from_bytes(
        np.random.SeedSequence(root.entropy, spawn_key=(*key, 2)).generate_state(4).tobytes(), "little"
    )
    pilot = dataclasses.replace(pilot, seed_entropy=entropy)

    def first_path(bump: str | None, rel: float) -> PathSet:
        factors = {}
        for name, values in pilot.factors.items():
            col = np.array(values[:, :1])
            if name == bump:
                col *= 1.0 + rel
            factors[name] = col
        variance = getattr(pilot, "variance", None)
        extra: dict[str, Any] = {"variance": {k: np.array(v[:, :1]) for k, v in variance.items()}} if variance else {}
        return dataclasses.replace(pilot, factors=factors, **extra)

    today = HorizonState(market, first_path(None, 0.0), 0, vol)
    bumped = {
        (f, sgn): HorizonState(market, first_path(f, sgn * SPOT_BUMP), 0, vol)
        for f in ("CEA", "CCER")
        for sgn in (1.0, -1.0)
    }
    pilot_plan = ProjectPaths(
        plan.names,
        plan.years,
        *(
            np.repeat(a, PILOT_PATHS, axis=-1)
            for a in (plan.credits_t, plan.heat_revenue_cny, plan.capex_cny, plan.opex_cny)
        ),
    )
    values: list[float] = []
    deltas: list[tuple[tuple[str, float], ...]] = []
    regressions: list[tuple[RegressionRevaluation, RegressionRevaluation] | None] = []
    # the pilot's values share the day's depth as the blocks' do (value today and regression of the same quantity)
    shared = shared_depth(ctx, market, pilot)
    for c, contract in enumerate(pf.contracts):
        inst = contract.instrument
        if has_closed_form(inst):
            values.append(float(horizon_value(inst, today)[0]))
            d = []
            for f in inst.factors:
                up = float(horizon_value(inst, bumped[(f, 1.0)])[0])
                down = float(horizon_value(inst, bumped[(f, -1.0)])[0])
                d.append((f, (up - down) / (2.0 * SPOT_BUMP * market.spot(f))))
            deltas.append(tuple(d))
            regressions.append(None)
            continue
        if contract.project is not None:
            inst = pilot_plan.linked(contract.project, inst)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = (
                shared[c]
                if c in shared
                else engines_for(inst)[0].calculate(inst, market=market, paths=pilot, quick=True)
            )
        y = np.asarray(result.samples.get("pv_cny", np.full(PILOT_PATHS, result.value)), dtype=float)
        factor = inst.factors[0]
        last = max(inst.fixing_dates(ctx.market.valuation_date))
        pair = tuple(
            RegressionRevaluation.fit(
                factor, market.spot(factor), pilot[factor][row], y, exact=bool(last <= ctx.dates[row])
            )
            for row in (ctx.row_10d, ctx.row_1y)
        )
        regressions.append((pair[0], pair[1]))
        values.append(pair[1].value_today)
        deltas.append(())
    for ob in pf.obligations:
        values.append(float(obligation_value(ctx, ob, today)[0]))
    projects = tuple(float(project_value(ctx, k, today, None)[0]) for k in range(len(pf.projects)))
    return dataclasses.replace(
        ctx,
        value_today=tuple(values),
        deltas=tuple(deltas),
        regressions=tuple(regressions),
        project_value_today=projects,
    )


def run_block(task: BlockTask, ctx: RunContext) -> dict[str, np.ndarray]:
    """Per-path results of the blocks of ``task`` (paths on the last axis)."""
    parts: list[dict[str, np.ndarray]] = []
    for b in range(task.first_block, task.last_block):
        size = min(BLOCK_PATHS, task.n_paths - b * BLOCK_PATHS)
        parts.append(_one_block(ctx, size, _seed(task, b, 0), _seed(task, b, 1), _seed(task, b, 2)))
    return {k: np.concatenate([p[k] for p in parts], axis=-1) for k in parts[0]}


def _project_paths(
    ctx: RunContext, n: int, seed: np.random.SeedSequence, ccer_avg: np.ndarray
) -> tuple[ProjectPaths | None, dict[str, np.ndarray]]:
    r"""Per-path project cash flows of a block (the explicit input of project-linked contracts) and the project
    arrays of the report: income ``credits x CCER annual average``, heat revenue ``heat x tariff``, capex, opex,
    NPV on the market's curve at mid-year, IRR and payback, and the NPV at the project's hurdle rate,
    :math:`\sum_y CF_y P(0, t_y) e^{-s t_y}` with ``s`` the project's spread over the curve
    (:meth:`~carbonrisk.portfolios.portfolio.ProjectSpec.hurdle_spread`)."""
    pf = ctx.portfolio
    if not pf.projects:
        return None, {}
    years = ctx.years
    n_proj = len(pf.projects)
    income = np.zeros((n_proj, len(years), n))
    heat_rev = np.zeros_like(income)
    capex = np.zeros_like(income)
    opex = np.zeros_like(income)
    credits = np.zeros_like(income)
    sim = simulate_portfolio([p.project for p in pf.projects], n, seed)
    for k, (spec, pp) in enumerate(zip(pf.projects, sim.projects, strict=True)):
        credits[k] = _on_years(pp.credits_issued_t, pp.years, years)
        income[k] = credits[k] * ccer_avg
        heat_rev[k] = _on_years(pp.heat_mwh, pp.years, years) * spec.heat_tariff_cny_per_mwh
        capex[k] = _on_years(pp.capex_cny, pp.years, years)
        opex[k] = _on_years(pp.opex_cny, pp.years, years)
    costs = capex + opex
    cf = income + heat_rev - capex - opex
    t = times_years(ctx)
    df = discount_factors(ctx)
    rate = pf.market.discount_rate
    hurdle = [np.exp(-spec.hurdle_spread(rate) * t) for spec in pf.projects]
    out = {
        "project_income": income,
        "project_costs": costs,
        "project_capex": capex,
        "project_credits": credits,
        "project_heat_revenue": heat_rev,
        "project_npv_cny": np.array([present_value(cf[k], df) for k in range(n_proj)]),
        "project_npv_hurdle_cny": np.array([present_value(cf[k], df * hurdle[k]) for k in range(n_proj)]),
        "project_irr": np.array([irr(cf[k], t) for k in range(n_proj)]),
        "project_payback_year": np.array([payback_year(cf[k], list(years)) for k in range(n_proj)]),
        "project_credits_sum_t": credits.sum(axis=1),
        "project_income_sum_cny": income.sum(axis=1),
        "total_income_cny": income.sum(axis=0),
        "total_costs_cny": costs.sum(axis=0),
        "total_capex_cny": capex.sum(axis=0),
        "total_credits_t": credits.sum(axis=0),
        "total_heat_revenue_cny": heat_rev.sum(axis=0),
        "total_cash_flow_cny": cf.sum(axis=0),
    }
    names = tuple(p.name for p in pf.projects)
    return ProjectPaths(names, years, credits, heat_rev, capex, opex), out


def _obligation_costs(
    ctx: RunContext, cea_avg: np.ndarray, ccer_avg: np.ndarray, hedges: list[np.ndarray]
) -> dict[str, np.ndarray]:
    """Compliance cost at the annual average prices, unhedged and hedged: minus the value on the compliance date
    of the book's contracts that hedge the obligation (``hedges``,
    :func:`~carbonrisk.portfolios.components.hedge_settlement`), or with ``hedged_t`` tonnes at the obligation's own
    hedge price."""
    cost_u, cost_h = [], []
    n = cea_avg.shape[1]
    for ob, hedge in zip(ctx.portfolio.obligations, hedges, strict=True):
        i = ob.year - ctx.years[0]
        ccer_t, cea_t = obligation_tonnes(ob)
        unhedged = ccer_t * ccer_avg[i] + cea_t * cea_avg[i]
        cost_u.append(unhedged)
        cost_h.append(unhedged - hedge - ob.hedged_t * (cea_avg[i] - ob.hedge_price_cny_per_t))
    return {
        "obligation_cost_unhedged": np.array(cost_u).reshape(len(cost_u), n),
        "obligation_cost_hedged": np.array(cost_h).reshape(len(cost_h), n),
    }


def _one_block(
    ctx: RunContext,
    n: int,
    price_seed: np.random.SeedSequence,
    project_seed: np.random.SeedSequence,
    contract_seed: np.random.SeedSequence,
) -> dict[str, np.ndarray]:
    paths: PathSet = ctx.model.simulate(
        ctx.grid, n, price_seed, scenario=ctx.scenario, anchor=ctx.anchor, record_variance=True
    )
    cea, ccer = paths["CEA"], paths["CCER"]
    # contract-internal randomness (borrower top-ups) comes from this block's own stream, via the path set's entropy
    contract_entropy = int.from_bytes(contract_seed.generate_state(4).tobytes(), "little")
    block_paths = dataclasses.replace(paths, factors={"CEA": cea, "CCER": ccer}, seed_entropy=contract_entropy)
    cea_avg = _annual_average(cea, ctx.dates, ctx.years)
    ccer_avg = _annual_average(ccer, ctx.dates, ctx.years)
    out: dict[str, np.ndarray] = {
        "cea_fan": cea[list(ctx.fan_rows)],
        "ccer_fan": ccer[list(ctx.fan_rows)],
        "ccer_annual": ccer_avg,
    }
    projects, project_arrays = _project_paths(ctx, n, project_seed, ccer_avg)
    out |= project_arrays
    market = ctx.market.build()
    vol = volatility_source(ctx)
    hedges = [hedge_settlement(ctx, ob, market, block_paths, vol) for ob in ctx.portfolio.obligations]
    out |= _obligation_costs(ctx, cea_avg, ccer_avg, hedges)
    states = (HorizonState(market, block_paths, ctx.row_10d, vol), HorizonState(market, block_paths, ctx.row_1y, vol))
    # Contracts that sell (pledge loans, repos) or buy in (lending, overdrafts) the same asset on the same path and
    # day share its market depth (carbonrisk.finance.depth_sharing): built once per block, before the loop, and handed
    # to the components through BlockInputs, so the loop stays the one place a block is computed.
    inputs = BlockInputs(ctx, block_paths, market, states, projects, shared_depth(ctx, market, block_paths))
    pnl10, pnl1y, values = [], [], []
    for component in components(ctx):
        result = component.block(inputs)
        pnl10.append(result.pnl_10d)
        pnl1y.append(result.pnl_1y)
        out |= component.arrays(result)
        if result.value_cny is not None:
            values.append(result.value_cny)
    out |= _credit_hooks(ctx, market, block_paths, vol)
    out["contract_pv"] = np.array(values).reshape(len(values), n)
    out["pnl_10d"] = np.array(pnl10).reshape(len(pnl10), n)
    out["pnl_1y"] = np.array(pnl1y).reshape(len(pnl1y), n)
    return out


def _credit_hooks(ctx: RunContext, market: MarketEnv, paths: PathSet, vol: VolatilitySource) -> dict[str, np.ndarray]:
    """Issue 15's book-level credit hook on one block: each closed-form derivative's values on its exposure-profile
    rows (:func:`exposure_rows`), kept as ``contract{c}_exposure_values`` for the EPE / PFE / CVA table
    (:func:`carbonrisk.portfolios.analysis.counterparty_tables`). (The shared market depth of the loans, repos and
    lending is applied before the components run: :func:`carbonrisk.portfolios.components.shared_depth`.)
    """
    contracts = [spec.instrument for spec in ctx.portfolio.contracts]
    out: dict[str, np.ndarray] = {}
    for c, inst in enumerate(contracts):
        rows = exposure_rows(ctx, inst)
        if rows:
            out[LoanPaths.key(c, "exposure_values")] = exposure_values(inst, market, paths, rows, vol=vol)
    return out


def exposure_rows(ctx: RunContext, instrument: Instrument) -> list[int]:
    """Grid rows of a closed-form derivative's exposure profile
    (:func:`carbonrisk.finance.exposure.evenly_spaced_rows`); empty for other contracts."""
    if not (isinstance(instrument, Derivative) and has_closed_form(instrument)):
        return []
    return evenly_spaced_rows(instrument, ctx.dates)


def run_portfolio(
    portfolio: Portfolio,
    *,
    blocks_per_task: int = 1,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PortfolioRun:
    """Run the portfolio Monte Carlo; warnings raised on the way are collected and returned."""
    start = time.perf_counter()
    spill = tempfile.TemporaryDirectory(prefix="carbonrisk-run-")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        context, history, summary = prepare(portfolio)
        prepared = time.perf_counter()
        memory = map_blocks(
            functools.partial(run_block, ctx=context),
            portfolio.n_paths,
            portfolio.seed,
            blocks_per_task=blocks_per_task,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
            spill_dir=Path(spill.name),
            spill_rows=SPILL_ROWS,
        )
    arrays = RunArrays(memory, spill)
    done = time.perf_counter()
    messages = list(dict.fromkeys(" ".join(str(w.message).split()) for w in caught))
    meta_warnings = [str(w) for w in getattr(context.model, "warnings", [])]
    return PortfolioRun(
        context=context,
        history=history,
        arrays=arrays,
        warnings=list(dict.fromkeys(messages + meta_warnings)),
        elapsed_s=done - start,
        fit_summary=summary,
        timings_s={"prepare": prepared - start, "blocks": done - prepared},
    )
