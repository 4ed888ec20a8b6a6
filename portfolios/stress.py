"""Stress tests, sensitivity ladders and reverse stress of a portfolio, on the engine's full revaluation.

Shared market depth: on every stressed path set, as in the run's blocks, the book's pledge loans and repos (forced
sales) and carbon lending and overdrafts (buy-ins) of one asset share each day's depth
(:func:`carbonrisk.portfolios.components.shared_depth`, rule in :mod:`carbonrisk.finance.depth_sharing`); a loan's
reverse-stress NPV is its shared one.

Every figure here is the P&L of :mod:`carbonrisk.portfolios.components` (value at ``h`` + cash flows to ``h`` carried to
``h``
- value today, at 10 trading days and 1 year) of every component, computed by the components themselves on a
stressed path set. Nothing is re-implemented: a stress is a different path set (and, for policy flags, a
different portfolio or project input) given to the same :class:`~carbonrisk.portfolios.components.Component` objects.

What is computed
----------------
**Scenarios** (:func:`run_scenarios`): each historical and policy scenario of :mod:`carbonrisk.finance.stress_scenarios`
(or a user file) applied from the valuation date. *Deterministic*: one path, the valuation-date spots times the
scenario's relative level :math:`1 + r_f(d)` on every grid date after the valuation date (row 0 keeps today's
spot: a shock on day 0 happens after today's close, so it shows in the P&L), repeated over
:data:`DETERMINISTIC_COLUMNS` identical columns so that the borrowers' random top-up decisions average out; the
projects at their deterministic plan. *Monte Carlo around it* (for the VaR / ES limits): the run's
:data:`STRESS_PATHS` paths multiplied by the same relative level (common random numbers). Policy flags where they
have meaning: ``offset_cap`` replaces every obligation's ``ccer_share``; ``issuance_delay_years`` shifts every
project's credits later by that many whole years (rounded); ``heat_ef_multiplier`` scales the projects' credits
(an approximation: credits are proportional to the heat term of the reduction, the electricity term, about 8 % of
the baseline, is ignored, which understates the fall by about 2 points at 0.8). Per component: P&L at 10 days and
1 year; per pledge loan: margin-call and liquidation probability over the columns, expected loss, the lowest
coverage and the peak LTV on the scenario path; per repo, carbon lending contract and overdraft: P(margin call)
(repos), P(default) and expected loss; per project loan: default probability and expected loss; and the
limit breaches (``ltv_max`` on the scenario path, ``var_99_10d_cny`` and ``es_99_1y_cny`` of the Monte Carlo around
it).

**Sensitivity ladders** (:func:`run_ladders`): on the same :data:`STRESS_PATHS` paths, instantaneous shocks of the
starting state (every date after the valuation date multiplied by the shock): CEA and CCER spot -30 % .. +30 % in
10 % steps; volatility -/+ 5 points (each path's log-price deviation from the cross-path mean at each date scaled
by :math:`k = (\\sigma + \\Delta)/\\sigma`, :math:`\\sigma` the run's CEA volatility, so the dispersion of the
paths moves by :math:`\\Delta`, and the revaluation's volatility shifted by :math:`\\Delta`); CCER basis
:math:`\\ln(CEA/CCER)` -/+ 0.1 and 0.2 (CCER times :math:`e^{-\\Delta b}`); discount rate -/+ 100 bp (the curve of
the market environment shifted; forwards carry at the shifted rate). Reported per component: the change of the
mean P&L at 10 days and 1 year against the unshocked paths.

**Reverse stress** (:func:`run_reverse_stress`): common random numbers on :data:`REVERSE_PATHS` paths (fewer than
the run: documented here, each evaluation revalues every component) and
:func:`carbonrisk.finance.reverse_stress.find_threshold` (bisection, at most :data:`REVERSE_STEPS` steps). Per pledge
loan: the collateral price level (instantaneous move from day 1) at which the lender's NPV of the loan turns negative,
and the level at which coverage breaches the maintenance ratio (:math:`L = m \\cdot principal / q`, closed form). Per
project loan: the CCER level at which its NPV turns negative. For the book: the CEA level (CEA and CCER moved by the
same relative shock) at which the mean 1-year P&L of the book turns negative, and the smallest uniform shock (down, else
up) that breaches each price-dependent limit (``var_99_10d_cny``, ``es_99_1y_cny`` by bisection; ``ltv_max`` in closed
form,
:math:`s = ltv/ltv_{max} - 1`); then the same with CEA alone and with CCER alone moved (the other price
unchanged), as price levels: the level nearest today's price (down first, in ``[0.1, 1] x S_0``, else up, in
``[1, 2] x S_0``; none when already true today) at which the book's mean 1-year P&L turns negative and each of
``var_99_10d_cny``, ``es_99_1y_cny`` is breached (``question`` ends in ``(CEA alone)`` / ``(CCER alone)``). A file
of several books (:mod:`carbonrisk.portfolios.books`): the mean-P&L searches are of the whole file (target
``book``), and each book's own limits (``[books.NAME.limits]``) are searched on that book's components only (target
``book NAME``: its P&L, as its report's VaR / ES are), each evaluation of the paths shared by all books.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from carbonrisk.finance.instruments import CarbonRepo, PledgeLoan, ProjectLoan
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.revaluation import HorizonState, RegressionRevaluation, VolatilitySource
from carbonrisk.finance.reverse_stress import ThresholdResult, find_threshold
from carbonrisk.finance.stress_scenarios import StressScenario, embedded_scenarios, load_scenarios
from carbonrisk.finance.valuation import engines_for
from carbonrisk.models.geothermal import simulate_portfolio
from carbonrisk.models.paths import PathSet
from carbonrisk.models.random import root_seed_sequence
from carbonrisk.models.units import TRADING_DAYS_PER_YEAR
from carbonrisk.portfolios.books import book_limits, book_names
from carbonrisk.portfolios.components import (
    FINANCED,
    BlockInputs,
    ContractComponent,
    ObligationComponent,
    PositionComponent,
    ProjectComponent,
    ProjectPaths,
    components,
    shared_depth,
)
from carbonrisk.portfolios.engine import PortfolioRun, RunContext, _on_years, _project_paths, prepare, volatility_source
from carbonrisk.portfolios.portfolio import Portfolio
from carbonrisk.portfolios.risk import var_es

__all__ = [
    "DETERMINISTIC_COLUMNS",
    "REPORT_STRESS_PATHS",
    "REVERSE_PATHS",
    "REVERSE_STEPS",
    "STRESS_PATHS",
    "StressBase",
    "StressReport",
    "evaluate",
    "prepare_stress",
    "report_stress",
    "run_ladders",
    "run_reverse_stress",
    "run_scenarios",
    "run_stress",
]

STRESS_PATHS: int = 2048
"""Monte Carlo paths of the ladders and of the Monte Carlo around each scenario (one engine block)."""
REVERSE_PATHS: int = 1024
"""Paths of each reverse-stress evaluation (common random numbers: the first 1024 of the stress paths)."""
REVERSE_STEPS: int = 10
"""Most bisection steps per reverse-stress search."""
DETERMINISTIC_COLUMNS: int = 256
"""Identical columns of a deterministic scenario path (the top-up decisions are random per column)."""
STRESS_KEY: int = 2**31 - 2
"""Spawn key of the stress paths' seed stream (the pilot set uses ``2**31 - 1``)."""


class ShiftedVolatility:
    """A volatility source moved by ``delta`` (annualised, floored at 1 %): the volatility ladder."""

    def __init__(self, base: VolatilitySource, delta: float) -> None:
        self.base = base
        self.delta = float(delta)

    def average_vol(self, factor: str, paths: PathSet, row: int, tau_years: float) -> np.ndarray | float:
        """The base source's average volatility plus ``delta``."""
        return np.maximum(np.asarray(self.base.average_vol(factor, paths, row, tau_years)) + self.delta, 0.01)


@dataclass(frozen=True)
class StressBase:
    """What every stress evaluation shares: the run context, the Monte Carlo paths and project paths, the plan."""

    ctx: RunContext
    market: MarketEnv
    paths: PathSet
    projects: ProjectPaths | None
    plan: ProjectPaths | None
    """The deterministic project plan on :data:`DETERMINISTIC_COLUMNS` columns."""
    prepare_s: float = 0.0


def _plan_paths(ctx: RunContext, n: int) -> ProjectPaths | None:
    pf = ctx.portfolio
    if not pf.projects:
        return None
    plan = simulate_portfolio([p.project for p in pf.projects], 1, 0, deterministic=True)
    shape = (len(pf.projects), len(ctx.years), n)
    credits, heat, capex, opex = (np.zeros(shape) for _ in range(4))
    for k, (spec, pp) in enumerate(zip(pf.projects, plan.projects, strict=True)):
        credits[k] = _on_years(pp.credits_issued_t, pp.years, ctx.years)[:, :1]
        heat[k] = _on_years(pp.heat_mwh, pp.years, ctx.years)[:, :1] * spec.heat_tariff_cny_per_mwh
        capex[k] = _on_years(pp.capex_cny, pp.years, ctx.years)[:, :1]
        opex[k] = _on_years(pp.opex_cny, pp.years, ctx.years)[:, :1]
    return ProjectPaths(tuple(p.name for p in pf.projects), ctx.years, credits, heat, capex, opex)


def prepare_stress(
    portfolio: Portfolio, *, n_paths: int = STRESS_PATHS, context: RunContext | None = None
) -> StressBase:
    """Fit and prepare the run (:func:`carbonrisk.portfolios.engine.prepare`), then draw the stress paths (seed stream
    :data:`STRESS_KEY` of the portfolio's seed), their project paths and the deterministic plan.

    ``context``: the prepared context of a run of ``portfolio`` (``PortfolioRun.context``), reused instead of
    fitting and preparing again (the report's stress section); the stress paths are the same either way.
    """
    start = time.perf_counter()
    ctx = context if context is not None else prepare(portfolio)[0]
    root = root_seed_sequence(portfolio.seed)
    key = (*root.spawn_key, STRESS_KEY)
    paths: PathSet = ctx.model.simulate(
        ctx.grid, n_paths, np.random.SeedSequence(root.entropy, spawn_key=(*key, 0)), scenario=ctx.scenario
    )
    entropy = int.from_bytes(
        np.random.SeedSequence(root.entropy, spawn_key=(*key, 2)).generate_state(4).tobytes(), "little"
    )
    paths = dataclasses.replace(paths, factors={f: paths[f] for f in ("CEA", "CCER")}, seed_entropy=entropy)
    ccer_avg = np.zeros((len(ctx.years), n_paths))
    projects, _ = _project_paths(ctx, n_paths, np.random.SeedSequence(root.entropy, spawn_key=(*key, 1)), ccer_avg)
    return StressBase(
        ctx, ctx.market.build(), paths, projects, _plan_paths(ctx, DETERMINISTIC_COLUMNS), time.perf_counter() - start
    )


def _subset(base: StressBase, n: int) -> tuple[PathSet, ProjectPaths | None]:
    """The first ``n`` stress paths and their project paths (common random numbers for reverse stress)."""
    p = base.paths
    extra: dict[str, Any] = {}
    variance = getattr(p, "variance", None)
    if variance:
        extra["variance"] = {k: v[:, :n] for k, v in variance.items()}
    paths = dataclasses.replace(p, factors={f: v[:, :n] for f, v in p.factors.items()}, **extra)
    pr = base.projects
    if pr is None:
        return paths, None
    cut = ProjectPaths(
        pr.names,
        pr.years,
        pr.credits_t[..., :n],
        pr.heat_revenue_cny[..., :n],
        pr.capex_cny[..., :n],
        pr.opex_cny[..., :n],
    )
    return paths, cut


def scaled(paths: PathSet, levels: Mapping[str, np.ndarray]) -> PathSet:
    """``paths`` with each factor in ``levels`` multiplied by its relative level per date (row 0 forced to 1: the
    valuation-date state is today's)."""
    factors = {}
    for name, values in paths.factors.items():
        if name in levels:
            rel = np.asarray(levels[name], dtype=float).copy()
            rel[0] = 1.0
            factors[name] = values * rel[:, None]
        else:
            factors[name] = values
    return dataclasses.replace(paths, factors=factors)


def evaluate(
    base: StressBase,
    paths: PathSet,
    projects: ProjectPaths | None,
    *,
    portfolio: Portfolio | None = None,
    market: MarketEnv | None = None,
    vol: VolatilitySource | None = None,
) -> list[tuple[Any, Any]]:
    """``(component, ComponentPaths)`` for every component of the book on ``paths`` (full revaluation).

    As in the run's blocks, the book's pledge loans, repos, lending and overdrafts that trade the same asset share
    each day's market depth on the stressed paths (:func:`carbonrisk.portfolios.components.shared_depth`).
    Contracts without a closed form (loans, early monetisation) are revalued by their engine on the stressed
    paths, and the least-squares regression of that per-path present value on the stressed price at ``h`` is
    refitted on those same paths (the run's regression is fitted on the unstressed pilot's price range and would
    extrapolate its cubic under a large shock); on a deterministic path the value at ``h`` is the path's own
    present value carried to ``h``.
    """
    ctx = base.ctx if portfolio is None else dataclasses.replace(base.ctx, portfolio=portfolio)
    mkt = market or base.market
    v = vol or volatility_source(ctx)
    states = (HorizonState(mkt, paths, ctx.row_10d, v), HorizonState(mkt, paths, ctx.row_1y, v))
    inputs = BlockInputs(ctx, paths, mkt, states, projects, shared_depth(ctx, mkt, paths))
    out = []
    for c in components(ctx):
        res = c.block(inputs)
        if isinstance(c, ContractComponent) and c.regression is not None and res.value_cny is not None:
            pv = res.value_cny
            deterministic = bool(paths.meta.get("deterministic", False))
            pnl = []
            for st, reg in zip(states, c.regression, strict=True):
                x = paths[reg.factor][st.row]
                refit = RegressionRevaluation.fit(reg.factor, reg.spot, x, pv, exact=reg.exact or deterministic)
                pnl.append(refit.at_horizon(pv, st.price(reg.factor), st.df_h) - c.value_today)
            res = dataclasses.replace(res, pnl_10d=pnl[0], pnl_1y=pnl[1])
        out.append((c, res))
    return out


def _deterministic_paths(base: StressBase, scenario: StressScenario) -> PathSet:
    dates = base.ctx.dates
    lv = scenario.levels_on(base.ctx.market.valuation_date, dates)
    factors = {}
    for name in ("CEA", "CCER"):
        rel = lv[name].to_numpy() if name in lv.columns else np.ones(len(dates))
        rel = rel.copy()
        rel[0] = 1.0
        factors[name] = np.repeat((base.market.spot(name) * rel)[:, None], DETERMINISTIC_COLUMNS, axis=1)
    return PathSet(dates, factors, base.paths.seed_entropy, {"stress_scenario": scenario.name, "deterministic": True})


def _policy(base: StressBase, scenario: StressScenario, projects: ProjectPaths | None) -> tuple[Portfolio, Any]:
    """The portfolio and project paths with the scenario's policy flags applied."""
    pf = base.ctx.portfolio
    if scenario.offset_cap is not None:
        cap = float(scenario.offset_cap)
        pf = dataclasses.replace(
            pf, obligations=tuple(dataclasses.replace(ob, ccer_share=cap) for ob in pf.obligations)
        )
    if projects is not None:
        credits = projects.credits_t
        shift = round(scenario.issuance_delay_years)
        if shift > 0:
            credits = np.concatenate([np.zeros_like(credits[:, :shift]), credits[:, :-shift]], axis=1)
        credits = credits * float(scenario.heat_ef_multiplier)
        projects = dataclasses.replace(projects, credits_t=credits)
    return pf, projects


def _loan_rows(results: list[tuple[Any, Any]], base: StressBase) -> list[dict[str, Any]]:
    rows = []
    for comp, res in results:
        if not isinstance(comp, ContractComponent) or res.loan is None:
            continue
        inst, loan = comp.spec.instrument, res.loan
        row: dict[str, Any] = {"loan": comp.spec.name, "expected_loss_cny": float(loan.loss_cny.mean())}
        if isinstance(inst, PledgeLoan) and loan.margin_call is not None and loan.liquidated is not None:
            cov = loan.coverage
            min_cov = float(np.nanmin(cov)) if cov is not None and np.isfinite(cov).any() else float("nan")
            row |= {
                "p_margin_call": float(loan.margin_call.mean()),
                "p_liquidation": float(loan.liquidated.mean()),
                "min_coverage": min_cov,
                "peak_ltv": 1.0 / min_cov if min_cov > 0 else float("inf"),
            }
        elif isinstance(inst, FINANCED) and loan.default is not None:
            if isinstance(inst, CarbonRepo) and loan.margin_call is not None:
                row["p_margin_call"] = float(np.mean(loan.margin_call))
            row["p_default"] = float(np.mean(loan.default))
        elif isinstance(inst, ProjectLoan) and loan.default is not None:
            row["p_default"] = float(loan.default.mean())
            if loan.min_dscr is not None:
                finite = loan.min_dscr[np.isfinite(loan.min_dscr)]
                row["min_dscr"] = float(finite.min()) if finite.size else float("nan")
        rows.append(row)
    return rows


def _component_book(component: Any, portfolio: Portfolio) -> str:
    """The book a component belongs to (its position, obligation, contract or project's ``book`` key)."""
    if isinstance(component, PositionComponent):
        return component.position.book
    if isinstance(component, ObligationComponent):
        return component.obligation.book
    if isinstance(component, ContractComponent):
        return component.spec.book
    if isinstance(component, ProjectComponent):
        return portfolio.projects[component.index].book
    raise TypeError(f"unknown component {component!r}")  # pragma: no cover - the four kinds above are all


_PnlByBook = dict[str | None, tuple[np.ndarray, np.ndarray]]
"""Summed 10-day and 1-year P&L per path: of every component (key None) and of each book's (key its name)."""


def _pnl_by_book(results: list[tuple[Any, Any]], portfolio: Portfolio) -> _PnlByBook:
    """The P&L sums of one evaluation, whole file and per book (kept instead of the components' arrays)."""
    out: _PnlByBook = {None: _book_pnl(results)}
    names = book_names(portfolio)
    if len(names) > 1:
        out |= {name: _book_pnl(results, name, portfolio) for name in names}
    return out


def _book_pnl(
    results: list[tuple[Any, Any]], book: str | None = None, portfolio: Portfolio | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Summed 10-day and 1-year P&L per path of every component, or of book ``book``'s only."""
    if book is not None:
        assert portfolio is not None
        results = [(c, r) for c, r in results if _component_book(c, portfolio) == book]
    ten = np.sum([r.pnl_10d for _, r in results], axis=0)
    year = np.sum([r.pnl_1y for _, r in results], axis=0)
    return np.asarray(ten, dtype=float), np.asarray(year, dtype=float)


def run_scenarios(base: StressBase, scenarios: Mapping[str, StressScenario]) -> dict[str, pd.DataFrame]:
    """Every scenario, deterministic and Monte Carlo around it: tables ``scenarios`` (per scenario and component:
    P&L 10d / 1y), ``scenario_loans`` (per scenario and loan) and ``scenario_breaches``."""
    comp_rows, loan_rows, breach_rows = [], [], []
    limits = base.ctx.portfolio.limits
    no_shock = StressScenario("base (no shock)", "user", "today's spots held", "generated", np.array([0]), None)
    for name, sc in {no_shock.name: no_shock, **scenarios}.items():
        det = _deterministic_paths(base, sc)
        pf, plan = _policy(base, sc, base.plan)
        results = evaluate(base, det, plan, portfolio=pf)
        for comp, res in results:
            comp_rows.append(
                {
                    "scenario": name,
                    "kind": sc.kind,
                    "component": comp.label,
                    "pnl_10d_cny": float(res.pnl_10d.mean()),
                    "pnl_1y_cny": float(res.pnl_1y.mean()),
                }
            )
        ten, year = _book_pnl(results)
        comp_rows.append(
            {
                "scenario": name,
                "kind": sc.kind,
                "component": "book",
                "pnl_10d_cny": float(ten.mean()),
                "pnl_1y_cny": float(year.mean()),
            }
        )
        loans = _loan_rows(results, base)
        for row in loans:
            loan_rows.append({"scenario": name, **row})
            if limits.ltv_max is not None and row.get("peak_ltv", 0.0) > limits.ltv_max:
                breach_rows.append(
                    {
                        "scenario": name,
                        "limit": f"ltv_max ({row['loan']})",
                        "limit_value": limits.ltv_max,
                        "value": row["peak_ltv"],
                    }
                )
        if limits.var_99_10d_cny is not None or limits.es_99_1y_cny is not None:
            lv = sc.levels_on(base.ctx.market.valuation_date, base.paths.dates)
            mc_paths = scaled(base.paths, {f: lv[f].to_numpy() for f in lv.columns})
            _, mc_projects = _policy(base, sc, base.projects)
            mc_ten, mc_year = _book_pnl(evaluate(base, mc_paths, mc_projects, portfolio=pf))
            for limit, value in (
                ("var_99_10d_cny", var_es(mc_ten, 0.99, 10).var),
                ("es_99_1y_cny", var_es(mc_year, 0.99, TRADING_DAYS_PER_YEAR).es),
            ):
                cap = getattr(limits, limit)
                if cap is not None and value > cap:
                    breach_rows.append({"scenario": name, "limit": limit, "limit_value": cap, "value": float(value)})
    return {
        "scenarios": pd.DataFrame(comp_rows),
        "scenario_loans": pd.DataFrame(loan_rows),
        "scenario_breaches": pd.DataFrame(breach_rows, columns=["scenario", "limit", "limit_value", "value"]),
    }


def _mean_pnl(results: list[tuple[Any, Any]]) -> dict[str, tuple[float, float]]:
    out = {c.label: (float(r.pnl_10d.mean()), float(r.pnl_1y.mean())) for c, r in results}
    ten, year = _book_pnl(results)
    out["book"] = (float(ten.mean()), float(year.mean()))
    return out


def _vol_scaled(paths: PathSet, k: float) -> PathSet:
    factors = {}
    for name, v in paths.factors.items():
        lg = np.log(v)
        mu = lg.mean(axis=1, keepdims=True)
        factors[name] = np.exp(mu + k * (lg - mu))
    return dataclasses.replace(paths, factors=factors)


LADDER_SHOCKS: tuple[float, ...] = (-0.3, -0.2, -0.1, 0.1, 0.2, 0.3)
VOL_POINTS: tuple[float, ...] = (-0.05, 0.05)
BASIS_POINTS: tuple[float, ...] = (-0.2, -0.1, 0.1, 0.2)
RATE_POINTS: tuple[float, ...] = (-0.01, 0.01)


def run_ladders(base: StressBase) -> pd.DataFrame:
    """Sensitivity ladders: per ladder, point and component, the change of the mean P&L (10d, 1y) against the
    unshocked paths (see the module docstring)."""
    paths, projects = base.paths, base.projects
    ref = _mean_pnl(evaluate(base, paths, projects))
    n_dates = paths.n_dates
    points: list[tuple[str, float, PathSet, MarketEnv | None, VolatilitySource | None]] = []
    for factor in ("CEA", "CCER"):
        for s in LADDER_SHOCKS:
            points.append((f"{factor} spot", s, scaled(paths, {factor: np.full(n_dates, 1.0 + s)}), None, None))
    sigma = float(dict(base.ctx.market.vols)["CEA"])
    for d in VOL_POINTS:
        shifted = ShiftedVolatility(volatility_source(base.ctx), d)
        points.append(("volatility", d, _vol_scaled(paths, (sigma + d) / sigma), None, shifted))
    for b in BASIS_POINTS:
        points.append(("CCER basis", b, scaled(paths, {"CCER": np.full(n_dates, math.exp(-b))}), None, None))
    for r in RATE_POINTS:
        mk = dataclasses.replace(base.ctx.market, rate=base.ctx.market.rate + r).build()
        points.append(("discount rate", r, paths, mk, None))
    rows = []
    for ladder, point, shocked, mk_point, vol_point in points:
        got = _mean_pnl(evaluate(base, shocked, projects, market=mk_point, vol=vol_point))
        for label, (ten, year) in got.items():
            rows.append(
                {
                    "ladder": ladder,
                    "point": point,
                    "component": label,
                    "pnl_10d_change_cny": ten - ref[label][0],
                    "pnl_1y_change_cny": year - ref[label][1],
                }
            )
    return pd.DataFrame(rows)


def _npv(
    inst: Any,
    base: StressBase,
    paths: PathSet,
    projects: ProjectPaths | None,
    project: str | None,
    index: int | None = None,
) -> float:
    """The contract's value on ``paths``; contract ``index`` of the book with the day's depth shared with the book's
    other forced traders of its asset (:func:`carbonrisk.portfolios.components.shared_depth`), as in the run."""
    if index is not None:
        shared = shared_depth(base.ctx, base.market, paths)
        if index in shared:
            return float(shared[index].value)
    if project is not None and projects is not None:
        inst = projects.linked(project, inst)
    return float(engines_for(inst)[0].calculate(inst, market=base.market, paths=paths, quick=True).value)


@dataclass(frozen=True)
class ReverseResult:
    """One reverse-stress search: what was searched, the threshold and the bisection record."""

    target: str
    question: str
    variable: str
    threshold: float | None
    precision: float
    steps: int
    converged: bool
    note: str = ""
    history: pd.DataFrame = field(default_factory=pd.DataFrame)

    def row(self) -> dict[str, Any]:
        """Table row."""
        return {k: v for k, v in self.__dict__.items() if k != "history"}


def _from(res: ThresholdResult, target: str, question: str, variable: str, note: str = "") -> ReverseResult:
    if not res.bracketed:
        note = note or "no crossing in the search range"
    return ReverseResult(
        target, question, variable, res.threshold, res.hi - res.lo, res.steps, res.converged, note, res.history
    )


def run_reverse_stress(
    base: StressBase, *, n_paths: int = REVERSE_PATHS, max_steps: int = REVERSE_STEPS
) -> list[ReverseResult]:
    """Reverse stress per loan and for the book (see the module docstring); common random numbers."""
    paths, projects = _subset(base, n_paths)
    vd = base.ctx.market.valuation_date
    out: list[ReverseResult] = []
    n_dates = paths.n_dates
    for c, spec in enumerate(base.ctx.portfolio.contracts):
        inst = spec.instrument
        if isinstance(inst, PledgeLoan):
            f0 = inst.collateral
            s0 = base.market.spot(f0)

            def loss_fn(level: float, inst: PledgeLoan = inst, f0: str = f0, s0: float = s0, c: int = c) -> float:
                lv = {f0: np.full(n_dates, level / s0)}
                return -_npv(inst, base, scaled(paths, lv), projects, None, c)

            res = find_threshold(loss_fn, 0.1 * s0, s0, tol=0.1, max_steps=max_steps)
            out.append(_from(res, spec.name, "lender's NPV turns negative", f"{f0} level (CNY/t)"))
            principal = inst.ltv * inst.quantity_t * s0
            level = inst.maintenance_ratio * principal / inst.quantity_t
            out.append(
                ReverseResult(
                    spec.name,
                    "coverage breaches the maintenance ratio",
                    f"{f0} level (CNY/t)",
                    level,
                    0.0,
                    0,
                    True,
                    "closed form: maintenance_ratio x principal / quantity",
                )
            )
        elif isinstance(inst, ProjectLoan):
            f0 = inst.underlying
            s0 = base.market.spot(f0)

            def project_fn(
                level: float, inst: ProjectLoan = inst, f0: str = f0, s0: float = s0, project: str | None = spec.project
            ) -> float:
                lv = {f0: np.full(n_dates, level / s0)}
                return -_npv(inst, base, scaled(paths, lv), projects, project)

            res = find_threshold(project_fn, 0.01 * s0, s0, tol=0.1, max_steps=max_steps)
            out.append(_from(res, spec.name, "lender's NPV turns negative", f"{f0} level (CNY/t)"))
    cea0 = base.market.spot("CEA")

    def book(shock: float) -> tuple[np.ndarray, np.ndarray]:
        lv = {f: np.full(n_dates, 1.0 + shock) for f in ("CEA", "CCER")}
        return _book_pnl(evaluate(base, scaled(paths, lv), projects))

    res = find_threshold(
        lambda lvl: -float(book(lvl / cea0 - 1.0)[1].mean()), 0.1 * cea0, cea0, tol=0.1, max_steps=max_steps
    )
    note = "the book's mean 1-year P&L is already negative at today's prices" if not res.bracketed else ""
    out.append(_from(res, "book", "mean 1-year P&L turns negative", "CEA level (CNY/t), CCER moved alike", note))
    portfolio = base.ctx.portfolio
    names = book_names(portfolio)
    uniform: dict[float, _PnlByBook] = {}

    def uniform_pnl(shock: float, name: str | None) -> tuple[np.ndarray, np.ndarray]:
        if shock not in uniform:
            lv = {f: np.full(n_dates, 1.0 + shock) for f in ("CEA", "CCER")}
            uniform[shock] = _pnl_by_book(evaluate(base, scaled(paths, lv), projects), portfolio)
        return uniform[shock][name]

    single: dict[tuple[str, float], _PnlByBook] = {}
    for factor in ("CEA", "CCER"):
        out += _single_factor_book(base, paths, projects, factor, [], max_steps, cache=single)
    # the limits: the file's, or with several books each book's on its own components (its own P&L)
    for name in (None,) if len(names) == 1 else names:
        limits = portfolio.limits if name is None else book_limits(portfolio, name)
        target = "book" if name is None else f"book {name}"
        caps = _limit_caps(limits)
        for limit, fn, cap in caps:
            g = lambda s, fn=fn, cap=cap, name=name: (  # noqa: E731
                float(fn(uniform_pnl(s, name))) - cap
            )
            if g(0.0) > 0:
                question, note = f"breaches {limit} = {cap:,.0f}", "already breached at today's prices"
                out.append(ReverseResult(target, question, "uniform shock of CEA and CCER", None, 0.0, 0, False, note))
                continue
            down = find_threshold(g, -0.9, 0.0, tol=1e-3, max_steps=max_steps)
            res = down if down.bracketed else find_threshold(g, 0.0, 2.0, tol=2e-3, max_steps=max_steps)
            out.append(_from(res, target, f"breaches {limit} = {cap:,.0f}", "uniform shock of CEA and CCER"))
        for factor in ("CEA", "CCER"):
            out += _single_factor_book(
                base, paths, projects, factor, caps, max_steps, cache=single, book=name, mean=False
            )
        if limits.ltv_max is None:
            continue
        for spec in portfolio.contracts:
            if isinstance(spec.instrument, PledgeLoan) and (name is None or spec.book == name):
                s = spec.instrument.ltv / limits.ltv_max - 1.0
                out.append(
                    ReverseResult(
                        spec.name,
                        f"LTV breaches ltv_max = {limits.ltv_max:g}",
                        f"uniform shock of {spec.instrument.collateral}",
                        s,
                        0.0,
                        0,
                        True,
                        "closed form: ltv / ltv_max - 1",
                    )
                )
    del vd
    return out


def _limit_caps(limits: Any) -> list[tuple[str, Any, float]]:
    """The price-dependent limits of ``limits`` that are set: ``(key, P&L -> figure, cap)``."""
    return [
        (limit, fn, getattr(limits, limit))
        for limit, fn in (
            ("var_99_10d_cny", lambda pnl: var_es(pnl[0], 0.99, 10).var),
            ("es_99_1y_cny", lambda pnl: var_es(pnl[1], 0.99, TRADING_DAYS_PER_YEAR).es),
        )
        if getattr(limits, limit) is not None
    ]


def _single_factor_book(
    base: StressBase,
    paths: PathSet,
    projects: ProjectPaths | None,
    factor: str,
    caps: list[tuple[str, Any, float]],
    max_steps: int,
    *,
    cache: dict[tuple[str, float], _PnlByBook] | None = None,
    book: str | None = None,
    mean: bool = True,
) -> list[ReverseResult]:
    """Reverse stress of the book with ``factor`` alone moved (the other price unchanged): the level at which
    the mean 1-year P&L turns negative and each price-dependent limit (``caps``) is breached.

    A question already true at today's price has no threshold (note "already the case at today's prices");
    otherwise the search runs down from today's price (``[0.1 S_0, S_0]``) and, when that range holds no
    crossing, up (``[S_0, 2 S_0]``) (:func:`_nearest_level`, bisection to 0.2 CNY/t in at most ``max_steps``).
    """
    s0 = base.market.spot(factor)
    other = "CCER" if factor == "CEA" else "CEA"
    n_dates = paths.n_dates
    results = {} if cache is None else cache
    portfolio = base.ctx.portfolio
    target = "book" if book is None else f"book {book}"

    def book_pnl(level: float) -> tuple[np.ndarray, np.ndarray]:
        if (factor, level) not in results:
            moved = scaled(paths, {factor: np.full(n_dates, level / s0)})
            results[factor, level] = _pnl_by_book(evaluate(base, moved, projects), portfolio)
        return results[factor, level][book]

    variable = f"{factor} level (CNY/t), {other} unchanged"
    searches: list[tuple[str, Any]] = []
    if mean:
        question = f"mean 1-year P&L turns negative ({factor} alone)"
        searches.append((question, lambda lvl: -float(book_pnl(lvl)[1].mean())))
    searches += [
        (f"breaches {limit} = {cap:,.0f} ({factor} alone)", lambda lvl, fn=fn, cap=cap: float(fn(book_pnl(lvl))) - cap)
        for limit, fn, cap in caps
    ]
    out = []
    for question, f in searches:
        if f(s0) > 0:
            note = "already the case at today's prices"
            out.append(ReverseResult(target, question, variable, None, 0.0, 0, False, note))
            continue
        res = _nearest_level(f, s0, max_steps)
        note = "" if res.bracketed else f"no crossing for {factor} in [0.1, 2] x today's price"
        out.append(_from(res, target, question, variable, note))
    return out


def _nearest_level(f: Any, s0: float, max_steps: int) -> ThresholdResult:
    """Sign change of ``f`` on ``[0.1 s0, s0]``, else on ``[s0, 2 s0]`` (tolerance 0.2 CNY/t)."""
    down = find_threshold(f, 0.1 * s0, s0, tol=0.2, max_steps=max_steps)
    return down if down.bracketed else find_threshold(f, s0, 2.0 * s0, tol=0.2, max_steps=max_steps)


@dataclass(frozen=True)
class StressReport:
    """Everything ``carbonrisk stress`` prints: tables and timings."""

    tables: dict[str, pd.DataFrame]
    reverse: list[ReverseResult]
    timings_s: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON payload: every table as records, reverse stress rows, timings."""
        out: dict[str, Any] = {k: v.replace({np.nan: None}).to_dict("records") for k, v in self.tables.items()}
        out["reverse_stress"] = [r.row() for r in self.reverse]
        out["timings_s"] = self.timings_s
        return out


def run_stress(
    portfolio: Portfolio,
    scenarios: Mapping[str, StressScenario] | None = None,
    *,
    ladders: bool = True,
    reverse: bool = True,
    context: RunContext | None = None,
    n_paths: int = STRESS_PATHS,
) -> StressReport:
    """Scenarios (the embedded historical and policy ones unless ``scenarios`` is given), ladders, reverse stress.

    ``context``: a run's prepared context to reuse (see :func:`prepare_stress`); ``n_paths``: the Monte Carlo
    paths around the scenarios and of the ladders (reverse stress uses the first :data:`REVERSE_PATHS` of them).
    """
    t0 = time.perf_counter()
    base = prepare_stress(portfolio, context=context, n_paths=n_paths)
    t1 = time.perf_counter()
    scen = dict(scenarios) if scenarios is not None else embedded_scenarios()
    tables = run_scenarios(base, scen)
    t2 = time.perf_counter()
    if ladders:
        tables["ladders"] = run_ladders(base)
    t3 = time.perf_counter()
    rev = run_reverse_stress(base) if reverse else []
    t4 = time.perf_counter()
    if rev:
        tables["reverse_stress"] = pd.DataFrame([r.row() for r in rev])
    timings = {"prepare": t1 - t0, "scenarios": t2 - t1, "ladders": t3 - t2, "reverse_stress": t4 - t3}
    return StressReport(tables, rev, timings)


REPORT_STRESS_PATHS: int = 1024
"""Monte Carlo paths of the report's stress section (the stress command uses :data:`STRESS_PATHS`): the same
first paths as the reverse stress, so the report adds about 10 s to the demo on 2 cores instead of about 20 s. The
deterministic scenario P&L, loan outcomes and the closed-form thresholds do not depend on it."""


def report_stress(run: PortfolioRun) -> StressReport:
    """The stress section of a run's report: the embedded scenarios, ladders and reverse stress on the run's own
    prepared context (no second fit), on ``min(`` :data:`REPORT_STRESS_PATHS` ``, run paths)`` Monte Carlo paths."""
    return run_stress(run.portfolio, context=run.context, n_paths=min(REPORT_STRESS_PATHS, max(run.n_paths, 2)))


def load_user_scenarios(path: str) -> dict[str, StressScenario]:
    """A user scenario file (:func:`carbonrisk.finance.stress_scenarios.load_scenarios`)."""
    return load_scenarios(path)
