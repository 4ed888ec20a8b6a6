"""One protocol for every component of a book: positions, obligations, contracts and projects answer the same
questions.

A block of the portfolio Monte Carlo (:func:`carbonrisk.portfolios.engine.run_block`) builds one :class:`BlockInputs`
(the block's path set, the market, the horizon states of :mod:`carbonrisk.finance.revaluation` and the projects'
per-path cash flows) and asks each :class:`Component` for its :class:`ComponentPaths`: the P&L at each horizon (one
definition: value at ``h`` + cash flows up to ``h`` carried to ``h`` - value today), its per-path value and, for loans,
typed :class:`LoanPaths`. The engine's block is a loop over :func:`components`: ``block`` on the paths,
``arrays`` for what the run keeps; after the run the analysis asks each component for its ``tables`` (loans,
exposure profiles, DSCR, compliance cost, projects). :meth:`LoanPaths.read` is the one place that names a loan's
arrays in the run's merged arrays (the report's coverage chart reads them through it).

Project -> contract cash flows are an explicit input: :class:`ProjectPaths` holds each project's per-path
credits, heat revenue, capex and opex, and a contract that names a project takes them through
:meth:`ProjectPaths.linked` (any contract implementing :class:`carbonrisk.finance.linking.ProjectLinked`, rebuilt per
block, never patched in place).

Adding a contract type: register its instrument and engines in :mod:`carbonrisk.finance.valuation`; if
:func:`carbonrisk.finance.revaluation.has_closed_form` knows it, :class:`ContractComponent` revalues it per path,
otherwise its engine's per-path ``pv_cny`` sample is regressed on the price at each horizon (pilot set); loan-like
results go in :class:`LoanPaths`. No change here is needed unless it has report tables of its own
(:meth:`ContractComponent.tables`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from carbonrisk.finance.carbon_financing import repo_credit_figures
from carbonrisk.finance.depth_sharing import share_depth
from carbonrisk.finance.instruments import (
    CarbonLending,
    CarbonRepo,
    Instrument,
    PledgeLoan,
    ProjectLoan,
    QuotaOverdraft,
)
from carbonrisk.finance.linking import ProjectCashFlows, ProjectLinked
from carbonrisk.finance.loans import pledge_credit_figures, profile_dates, project_credit_figures
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.results import PricingResult
from carbonrisk.finance.revaluation import HorizonState, RegressionRevaluation, VolatilitySource, horizon_value
from carbonrisk.finance.valuation import engines_for
from carbonrisk.models.paths import PathSet
from carbonrisk.portfolios.metrics import exposure_profile
from carbonrisk.portfolios.portfolio import ContractSpec, Obligation, Position

if TYPE_CHECKING:
    from carbonrisk.portfolios.engine import RunContext

__all__ = [
    "CREDIT_COLUMNS",
    "FINANCED",
    "BlockInputs",
    "Component",
    "ComponentPaths",
    "ContractComponent",
    "LoanPaths",
    "ObligationComponent",
    "PositionComponent",
    "ProjectComponent",
    "ProjectPaths",
    "components",
    "hedge_settlement",
    "mid_year_dates",
    "obligation_tonnes",
    "obligation_value",
    "pledge_rows",
    "project_value",
    "shared_depth",
    "year_fixings",
]


FINANCED = (CarbonRepo, CarbonLending, QuotaOverdraft)
"""Carbon-financing contracts with rows in the loans and credit tables (the financier's / lender's credit risk)."""


def shared_depth(ctx: RunContext, market: MarketEnv, paths: PathSet) -> dict[int, PricingResult]:
    """The book's contracts whose forced trades share an asset's same-day depth, on one block's paths
    (:func:`carbonrisk.finance.depth_sharing.share_depth`: pledge loans and repos sell, carbon lending and quota
    overdrafts buy in; pro rata to the tonnes still to trade; depth per asset the largest capacity of the group).
    Project-linked contracts do not take part. Per path, so a block's numbers do not depend on the split."""
    insts = [spec.instrument if spec.project is None else None for spec in ctx.portfolio.contracts]
    return dict(share_depth(insts, market, paths, quick=True).results)


def pledge_rows(ctx: RunContext, loan: PledgeLoan) -> np.ndarray:
    """Grid rows of a pledge loan's exposure and coverage profile: the loan engine's own profile dates
    (:func:`carbonrisk.finance.loans.profile_dates`, every ``n // 24``-th of its ``n`` monitoring dates)."""
    return np.asarray(ctx.dates.get_indexer(profile_dates(loan, ctx.market.valuation_date)), dtype=np.intp)


@dataclass(frozen=True)
class ProjectPaths:
    """Per-path project cash flows of one block, each ``(n_projects, n_years, n_paths)`` on the run's years.

    The explicit engine input of project-linked contracts: :meth:`flows` gives one project's
    :class:`~carbonrisk.finance.linking.ProjectCashFlows` and :meth:`linked` the contract on them (any contract
    implementing
    :class:`~carbonrisk.finance.linking.ProjectLinked`, not only project loans).
    """

    names: tuple[str, ...]
    years: tuple[int, ...]
    credits_t: np.ndarray
    heat_revenue_cny: np.ndarray
    capex_cny: np.ndarray
    opex_cny: np.ndarray

    def index(self, project: str) -> int:
        """Position of ``project`` in the portfolio's projects."""
        return self.names.index(project)

    def flows(self, project: str) -> ProjectCashFlows:
        """``project``'s per-path credits and cash flows."""
        k = self.index(project)
        return ProjectCashFlows(
            self.years, self.credits_t[k], self.heat_revenue_cny[k], self.capex_cny[k], self.opex_cny[k]
        )

    def linked(self, project: str, instrument: Instrument) -> Instrument:
        """``instrument`` on ``project``'s per-path volumes and cash flows (unchanged if it takes none)."""
        if isinstance(instrument, ProjectLinked):
            linked: Instrument = instrument.with_project(self.flows(project))
            return linked
        return instrument

    def loan_inputs(self, project: str, loan: ProjectLoan) -> ProjectLoan:
        """``loan`` with the project's per-path credits and net heat cash flows on its schedule's years."""
        return loan.with_project(self.flows(project))


@dataclass(frozen=True)
class BlockInputs:
    """What a block gives every component."""

    ctx: RunContext
    paths: PathSet
    market: MarketEnv
    states: tuple[HorizonState, HorizonState]
    """Revaluation states at 10 trading days and 1 year."""
    projects: ProjectPaths | None
    shared: Mapping[int, PricingResult] = field(default_factory=dict)
    """Per contract index, its engine's result with the day's market depth shared with the book's other forced
    traders of the asset (:func:`shared_depth`); a contract not in it runs its own engine."""

    @property
    def n_paths(self) -> int:
        """Paths in the block."""
        return self.paths.n_paths


@dataclass(frozen=True)
class LoanPaths:
    """Per-path loan results kept for the report (``None`` where the loan type has none)."""

    loss_cny: np.ndarray
    margin_call: np.ndarray | None = None
    liquidated: np.ndarray | None = None
    default: np.ndarray | None = None
    min_dscr: np.ndarray | None = None
    dscr: np.ndarray | None = None
    """``(n_periods, n_paths)`` DSCR per period (project loans)."""
    debt_service_cny: np.ndarray | None = None
    """``(n_periods, n_paths)`` debt service due per period (interest + principal, 0 once repaid or defaulted)."""
    exposure_cny: np.ndarray | None = None
    """``(n_rows, n_paths)`` pledge exposure on :func:`pledge_rows`, the loan engine's own
    (:attr:`carbonrisk.finance.loans.PledgeOutcome.exposure_cny`: 0 once liquidated)."""
    coverage: np.ndarray | None = None
    """``(n_rows, n_paths)`` pledged collateral value / principal on :func:`pledge_rows`, the loan engine's own
    (:attr:`carbonrisk.finance.loans.PledgeOutcome.coverage`: top-ups included, NaN once liquidated)."""
    ead_cny: np.ndarray | None = None
    """Amount owed at default (0 where none): the credit figures' EAD."""
    default_time_years: np.ndarray | None = None
    """Time of default in years from the valuation date (``inf`` where none): the credit figures' PD and ECL."""

    FIELDS: ClassVar[tuple[str, ...]] = (
        "loss_cny",
        "margin_call",
        "liquidated",
        "default",
        "min_dscr",
        "dscr",
        "debt_service_cny",
        "exposure_cny",
        "coverage",
        "ead_cny",
        "default_time_years",
    )

    @staticmethod
    def key(c: int, name: str) -> str:
        """Name of contract ``c``'s array ``name`` in the run's merged arrays."""
        return f"contract{c}_{name}"

    def arrays(self, c: int) -> dict[str, np.ndarray]:
        """The per-path arrays to merge (paths on the last axis)."""
        out = {}
        for name in self.FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[self.key(c, name)] = np.asarray(value, dtype=float)
        return out

    @classmethod
    def read(cls, arrays: Mapping[str, np.ndarray], c: int) -> LoanPaths:
        """Contract ``c``'s loan results from a run's merged arrays (spilled arrays are read from disk)."""
        values = {name: arrays[cls.key(c, name)] for name in cls.FIELDS if cls.key(c, name) in arrays}
        return cls(**values)


@runtime_checkable
class _Loader(Protocol):
    """A run's arrays that read one slice of a spilled array (:class:`carbonrisk.portfolios.engine.RunArrays`)."""

    def load(self, key: str, index: int) -> np.ndarray:
        """``arrays[key][index]``."""
        ...  # pragma: no cover - protocol


@dataclass(frozen=True)
class ComponentPaths:
    """What a component contributes on one block's paths."""

    pnl_10d: np.ndarray
    pnl_1y: np.ndarray
    value_cny: np.ndarray | None = None
    """Per-path value today (contracts: the engine's per-path present value, or the closed form's constant)."""
    loan: LoanPaths | None = None


class Component(Protocol):
    """A position, an obligation, a contract or a project of the book.

    ``block`` runs on every block of paths (in any process); ``arrays`` says which of its per-path results the
    run keeps (merged over blocks, paths on the last axis, under names only this component reads back); ``tables``
    turns the run's merged arrays into its report tables (rows that the analysis concatenates with the other
    components' rows of the same table).
    """

    @property
    def label(self) -> str:
        """``kind: name`` as shown in the contribution tables."""
        ...  # pragma: no cover - protocol

    def block(self, inputs: BlockInputs) -> ComponentPaths:
        """Its per-path results on one block."""
        ...  # pragma: no cover - protocol

    def arrays(self, result: ComponentPaths) -> dict[str, np.ndarray]:
        """The per-path arrays of ``result`` the run keeps besides the P&L rows."""
        ...  # pragma: no cover - protocol

    def tables(self, arrays: Mapping[str, np.ndarray], ctx: RunContext) -> dict[str, pd.DataFrame]:
        """Its rows of the report tables, from the run's merged arrays."""
        ...  # pragma: no cover - protocol


class _NothingKept:
    """Default of :class:`Component`'s ``arrays`` and ``tables``: nothing besides the P&L rows."""

    def arrays(self, result: ComponentPaths) -> dict[str, np.ndarray]:
        """Nothing besides the P&L rows."""
        return {}

    def tables(self, arrays: Mapping[str, np.ndarray], ctx: RunContext) -> dict[str, pd.DataFrame]:
        """No table of its own."""
        return {}


@dataclass(frozen=True)
class PositionComponent(_NothingKept):
    """An inventory: ``P&L(h) = q (S_h - S_0)``."""

    position: Position

    @property
    def label(self) -> str:
        """Contribution-table name."""
        return f"position: {self.position.name}"

    def block(self, inputs: BlockInputs) -> ComponentPaths:
        """P&L at both horizons."""
        s = inputs.paths[self.position.asset]
        q = self.position.quantity_t
        return ComponentPaths(q * (s[inputs.ctx.row_10d] - s[0]), q * (s[inputs.ctx.row_1y] - s[0]))


def obligation_value(ctx: RunContext, ob: Obligation, state: HorizonState) -> np.ndarray:
    r"""Value at the horizon (plus its carried cost once paid) of an obligation, CNY per path.

    Notes
    -----
    :math:`-P(h, T_y)\,[c\,E_h \bar S^{CCER}_y + (a - q)\,E_h \bar S^{CEA}_y + q K]` with ``c`` the CCER
    tonnes (at most ``ccer_share`` of emissions), ``a`` the CEA tonnes, :math:`\bar S_y` the average over the
    grid dates of year ``y`` (those up to ``h`` from the path, the rest at the path's forward), :math:`T_y` the
    year's last grid date (carried to ``h`` once it has passed) and ``q = hedged_t`` tonnes bought forward at
    ``K = hedge_price_cny_per_t`` outside the book. A hedge held as contracts of the book (``hedges``) is not
    in this value: the contracts carry its P&L.
    """
    fixings = year_fixings(ctx, ob.year)
    disc = float(state.discount(fixings[-1:])[0])
    ccer_t, cea_t = obligation_tonnes(ob)
    ccer_sum, n_fix = state.expected_average("CCER", fixings)
    cea_sum, _ = state.expected_average("CEA", fixings)
    cost = ccer_t * ccer_sum / n_fix + (cea_t - ob.hedged_t) * cea_sum / n_fix + ob.hedged_t * ob.hedge_price_cny_per_t
    return np.asarray(-disc * cost, dtype=float)


def obligation_tonnes(ob: Obligation) -> tuple[float, float]:
    """CCER and CEA tonnes surrendered for ``ob``: CCERs up to ``ccer_share`` of emissions, CEAs for the rest."""
    ccer_t = min(ob.ccer_share * ob.emissions_t, ob.shortfall_t)
    return ccer_t, ob.shortfall_t - ccer_t


def hedge_settlement(
    ctx: RunContext, ob: Obligation, market: MarketEnv, paths: PathSet, vol: VolatilitySource
) -> np.ndarray:
    """Per path, the value on the obligation's compliance date :math:`T_y` of the book's contracts that hedge it
    (``ob.hedges``): their cash flows settled by then carried to :math:`T_y` plus the value of the rest, CNY (0
    without hedges)."""
    total = np.zeros(paths.n_paths)
    if not ob.hedges:
        return total
    row = int(ctx.dates.get_loc(year_fixings(ctx, ob.year)[-1]))
    state = HorizonState(market, paths, row, vol)
    for spec in ctx.portfolio.contracts:
        if spec.name in ob.hedges:
            total += horizon_value(spec.instrument, state)
    return total


@dataclass(frozen=True)
class ObligationComponent(_NothingKept):
    """A compliance obligation (:func:`obligation_value`), ``V_0`` its value on the valuation date; ``index`` its
    row in the run's ``obligation_cost_*`` arrays."""

    obligation: Obligation
    value_today: float
    index: int = 0

    @property
    def label(self) -> str:
        """Contribution-table name."""
        return f"obligation: {self.obligation.name}"

    def block(self, inputs: BlockInputs) -> ComponentPaths:
        """P&L at both horizons."""
        ten, year = (obligation_value(inputs.ctx, self.obligation, st) - self.value_today for st in inputs.states)
        return ComponentPaths(ten, year)

    def tables(self, arrays: Mapping[str, np.ndarray], ctx: RunContext) -> dict[str, pd.DataFrame]:
        """``compliance_cost_at_risk``: expected and 95 % cost, unhedged and hedged."""
        ob = self.obligation
        rows = []
        for label, key in (("unhedged", "obligation_cost_unhedged"), ("hedged", "obligation_cost_hedged")):
            cost = np.asarray(arrays[key][self.index])
            rows.append(
                {
                    "obligation": ob.name,
                    "year": ob.year,
                    "case": label,
                    "expected_cost_cny": float(cost.mean()),
                    "p95_cost_cny": float(np.quantile(cost, 0.95)),
                    "cost_at_risk_95_cny": float(np.quantile(cost, 0.95) - cost.mean()),
                }
            )
        return {"compliance_cost_at_risk": pd.DataFrame(rows)}


def mid_year_dates(ctx: RunContext) -> pd.DatetimeIndex:
    """1 July of each of ``ctx.years``, no earlier than the valuation date: the cash-flow date of a report year
    (project cash flows, their NPVs and the levers)."""
    vd = ctx.market.valuation_date
    return pd.DatetimeIndex([max(pd.Timestamp(f"{y}-07-01"), vd) for y in ctx.years])


def year_fixings(ctx: RunContext, year: int) -> pd.DatetimeIndex:
    """Grid dates of ``year`` after the valuation date (the dates of its annual average price); the valuation date
    alone when the grid has none."""
    dates = ctx.dates
    in_year = dates[(dates.year == year) & (np.arange(len(dates)) > 0)]
    return in_year if len(in_year) else dates[:1]


def project_value(ctx: RunContext, k: int, state: HorizonState, flows: ProjectCashFlows | None) -> np.ndarray:
    r"""Value at the horizon of project ``k`` (plus its cash flows paid by then, carried to the horizon), CNY per
    path.

    Notes
    -----
    :math:`V_h = \sum_y \frac{P(0, t_y)}{P(0, h)} [C_y E_h \bar S^{CCER}_y + H_y - K_y - O_y]` with
    :math:`t_y` the year's mid-year cash-flow date (:func:`mid_year_dates`), :math:`\bar S_y` the year's
    average CCER price over :func:`year_fixings` (those up to ``h`` from the path, the rest at the path's
    forward :math:`S_h F(0,t)/F(0,h)`, as for obligations and contracts), and credits :math:`C_y`, heat revenue
    :math:`H_y`, capex :math:`K_y` and opex :math:`O_y` from the path (``flows``) for the years already paid
    (:math:`t_y \le h`) and from the project's deterministic plan for the years to come (the plan is the
    expected volume; the volume risk of later years is in the NPV distribution of the projects table, not in
    the horizon value). On the valuation date (no ``flows``) every year is the plan's: ``V_0`` is the plan's NPV
    on the market curve at the market's forwards.
    """
    pay = mid_year_dates(ctx)
    disc = state.discount(pay)
    paid = np.asarray(pay <= state.date)
    total = np.zeros(state.paths.n_paths)
    for i, y in enumerate(ctx.years):
        price_sum, n_fix = state.expected_average("CCER", year_fixings(ctx, y))
        if paid[i] and flows is not None:
            credits = flows.credits_t[i]
            other = flows.heat_revenue_cny[i] - flows.capex_cny[i] - flows.opex_cny[i]
            total += disc[i] * (credits * price_sum / n_fix + other)
        else:
            credits_plan = float(ctx.planned_credits_t[k, i])
            other_plan = float(ctx.planned_other_cny[k, i])
            total += disc[i] * (credits_plan * price_sum / n_fix + other_plan)
    return total


@dataclass(frozen=True)
class ProjectComponent(_NothingKept):
    """A project of the book (:func:`project_value`), ``V_0`` its value on the valuation date."""

    index: int
    name: str
    value_today: float

    @property
    def label(self) -> str:
        """Contribution-table name."""
        return f"project: {self.name}"

    def block(self, inputs: BlockInputs) -> ComponentPaths:
        """P&L at both horizons."""
        flows = inputs.projects.flows(self.name) if inputs.projects is not None else None
        ten, year = (project_value(inputs.ctx, self.index, st, flows) - self.value_today for st in inputs.states)
        return ComponentPaths(ten, year)

    def tables(self, arrays: Mapping[str, np.ndarray], ctx: RunContext) -> dict[str, pd.DataFrame]:
        """``projects``: NPV on the curve and at the hurdle rate, IRR, payback, credits and carbon income."""
        k, spec, rate = self.index, ctx.portfolio.projects[self.index], ctx.portfolio.market.discount_rate
        load = arrays.load if isinstance(arrays, _Loader) else (lambda key, i: np.asarray(arrays[key][i]))
        values, at_hurdle = load("project_npv_cny", k), load("project_npv_hurdle_cny", k)
        rates, pb = load("project_irr", k), load("project_payback_year", k)
        row = {
            "project": self.name,
            "npv_mean_cny": float(values.mean()),
            "npv_p05_cny": float(np.quantile(values, 0.05)),
            "npv_p50_cny": float(np.quantile(values, 0.50)),
            "npv_p95_cny": float(np.quantile(values, 0.95)),
            "hurdle_rate": rate + spec.hurdle_spread(rate),
            "npv_hurdle_mean_cny": float(at_hurdle.mean()),
            "npv_hurdle_p05_cny": float(np.quantile(at_hurdle, 0.05)),
            "npv_hurdle_p50_cny": float(np.quantile(at_hurdle, 0.50)),
            "npv_hurdle_p95_cny": float(np.quantile(at_hurdle, 0.95)),
            "irr_p05": float(np.nanquantile(rates, 0.05)) if np.isfinite(rates).any() else np.nan,
            "irr_p50": float(np.nanquantile(rates, 0.50)) if np.isfinite(rates).any() else np.nan,
            "irr_p95": float(np.nanquantile(rates, 0.95)) if np.isfinite(rates).any() else np.nan,
            "payback_year_p50": float(np.nanmedian(pb)) if np.isfinite(pb).any() else np.nan,
            "p_no_payback": float(np.mean(np.isnan(pb))),
            "credits_issued_mean_t": float(load("project_credits_sum_t", k).mean()),
            "carbon_income_mean_cny": float(load("project_income_sum_cny", k).mean()),
        }
        frame = pd.DataFrame([row])
        frame.attrs["units"] = {"hurdle_rate": "%"}
        return {"projects": frame}


CREDIT_COLUMNS: tuple[str, ...] = (
    "pd_lifetime",
    "lgd",
    "ead_cny",
    "ecl_12m_cny",
    "ecl_lifetime_cny",
    "ifrs9_stage",
    "ecl_allowance_cny",
    "irb_pd_1y",
    "irb_risk_weight",
    "irb_capital_cny",
    "rwa_cny",
    "standardised_risk_weight",
    "standardised_capital_cny",
    "carbon_collateral_recognised",
)
"""Columns of the report's credit table (the keys of :meth:`carbonrisk.finance.credit.LoanCreditFigures.to_dict`)."""


@dataclass(frozen=True)
class ContractComponent:
    """A contract: closed-form revaluation per path, or the pilot regression of its engine's per-path value."""

    index: int
    spec: ContractSpec
    value_today: float
    regression: tuple[RegressionRevaluation, RegressionRevaluation] | None = None
    keep: tuple[str, ...] = field(
        default=(
            "loss_cny",
            "margin_call",
            "liquidated",
            "default",
            "min_dscr",
            "dscr",
            "debt_service_cny",
            "ead_cny",
            "default_time_years",
        )
    )

    @property
    def label(self) -> str:
        """Contribution-table name."""
        return f"contract: {self.spec.name}"

    def instrument(self, inputs: BlockInputs) -> Instrument:
        """The instrument on this block: a project-linked contract takes the project's per-path cash flows."""
        inst = self.spec.instrument
        if self.spec.project is not None and inputs.projects is not None:
            return inputs.projects.linked(self.spec.project, inst)
        return inst

    def block(self, inputs: BlockInputs) -> ComponentPaths:
        """P&L at both horizons, per-path value and loan results."""
        n = inputs.n_paths
        if self.regression is None:
            inst = self.spec.instrument
            ten, year = (horizon_value(inst, st) - self.value_today for st in inputs.states)
            return ComponentPaths(ten, year, np.full(n, self.value_today))
        inst = self.instrument(inputs)
        result = inputs.shared.get(self.index)
        if result is None:
            result = engines_for(inst)[0].calculate(inst, market=inputs.market, paths=inputs.paths)
        pv = np.asarray(result.samples.get("pv_cny", np.full(n, result.value)), dtype=float)
        ten, year = (
            reg.at_horizon(pv, st.price(reg.factor), st.df_h) - reg.value_today
            for st, reg in zip(inputs.states, self.regression, strict=True)
        )
        kept = {k: np.asarray(result.samples[k], dtype=float) for k in self.keep if k in result.samples}
        if isinstance(inst, PledgeLoan) and "coverage" in result.samples:
            # the loan engine's own profile on the dates of pledge_rows (carbonrisk.finance.loans.profile_dates)
            for key in ("coverage", "exposure_cny"):
                kept[key] = np.asarray(result.samples[key], dtype=float)
        loan = LoanPaths(**kept) if "loss_cny" in kept else None
        return ComponentPaths(ten, year, pv, loan)

    def arrays(self, result: ComponentPaths) -> dict[str, np.ndarray]:
        """A loan's per-path results (:class:`LoanPaths`)."""
        return result.loan.arrays(self.index) if result.loan is not None else {}

    def tables(self, arrays: Mapping[str, np.ndarray], ctx: RunContext) -> dict[str, pd.DataFrame]:
        """Loans: their row of ``loans``, a pledge loan's ``exposure_<name>`` profile, a project loan's ``dscr``
        rows. Other contracts: none (their row of ``contracts`` comes from the run's ``contract_pv``)."""
        inst = self.spec.instrument
        if isinstance(inst, FINANCED):
            return self._financed_tables(inst, LoanPaths.read(arrays, self.index), ctx)
        if not isinstance(inst, PledgeLoan | ProjectLoan):
            return {}
        loan = LoanPaths.read(arrays, self.index)
        loss = loan.loss_cny
        row: dict[str, object] = {"loan": self.spec.name}
        out: dict[str, pd.DataFrame] = {}
        if isinstance(inst, PledgeLoan):
            assert loan.margin_call is not None and loan.liquidated is not None and loan.exposure_cny is not None
            row |= {"p_margin_call": float(loan.margin_call.mean()), "p_liquidation": float(loan.liquidated.mean())}
        else:
            assert loan.default is not None
            row["p_default"] = float(loan.default.mean())
        row |= {
            "p_loss": float((loss > 1e-9).mean()),
            "expected_loss_cny": float(loss.mean()),
            "expected_loss_se_cny": float(loss.std(ddof=1) / np.sqrt(loss.size)),
        }
        if isinstance(inst, PledgeLoan):
            assert loan.exposure_cny is not None
            dates = ctx.dates[pledge_rows(ctx, inst)]
            out[f"exposure_{self.spec.name}"[:31]] = informative_exposure_profile(loan.exposure_cny, list(dates))
        else:
            assert loan.min_dscr is not None and loan.dscr is not None
            row |= {
                "p_min_dscr_below_1_0": float((loan.min_dscr < 1.0).mean()),
                "p_min_dscr_below_1_2": float((loan.min_dscr < 1.2).mean()),
            }
            out["dscr"] = pd.DataFrame(dscr_rows_of(self.spec.name, inst, loan))
        out["loans"] = pd.DataFrame([row])
        credit = self._credit_row(loan, ctx)
        if credit is not None:
            out["credit"] = pd.DataFrame([credit])
        return out

    def _financed_tables(
        self, inst: CarbonRepo | CarbonLending | QuotaOverdraft, loan: LoanPaths, ctx: RunContext
    ) -> dict[str, pd.DataFrame]:
        """A repo's, a lending contract's or an overdraft's rows of ``loans`` and ``credit``: the financier's /
        lender's P(margin call) (repos), P(default), P(loss), expected loss; in ``credit`` (with
        ``borrower_pd_1y`` or ``rating``) PD over the life, LGD and EAD from the run's paths and, for a repo, the
        ECL, stage and capital of :func:`carbonrisk.finance.carbon_financing.repo_credit_figures` (lending and
        overdrafts: the engine computes no ECL or capital for tonnes lent; those columns are empty). No rows for the
        other side (a repo's seller, a lending contract's borrower, an overdraft's entity): the loss is its
        counterparty's credit loss, not a credit risk of this book."""
        if inst.side not in ("financier", "lender"):
            return {}
        assert loan.default is not None and loan.ead_cny is not None
        loss, d = loan.loss_cny, np.asarray(loan.default, dtype=bool)
        row: dict[str, object] = {"loan": self.spec.name}
        if isinstance(inst, CarbonRepo) and loan.margin_call is not None:
            row["p_margin_call"] = float(np.mean(loan.margin_call))
        row |= {
            "p_default": float(d.mean()),
            "p_loss": float((loss > 1e-9).mean()),
            "expected_loss_cny": float(loss.mean()),
            "expected_loss_se_cny": float(loss.std(ddof=1) / np.sqrt(loss.size)),
        }
        out = {"loans": pd.DataFrame([row])}
        if inst.borrower_pd_1y is None and inst.rating is None:
            return out
        credit: dict[str, object] = {"loan": self.spec.name}
        if isinstance(inst, CarbonRepo):
            assert loan.default_time_years is not None
            figs = repo_credit_figures(
                inst,
                ctx.market.build(),
                default_time_years=loan.default_time_years,
                loss_cny=loss,
                ead_cny=loan.ead_cny,
            )
            assert figs is not None
            full = figs.to_dict()
            credit |= {k: full[k] for k in CREDIT_COLUMNS}
            credit |= {"pd_lifetime_se": full["pd_lifetime_se"], "ifrs9_stage_reason": full["ifrs9_stage_reason"]}
        else:
            ead = loan.ead_cny[d]
            p = float(d.mean())
            credit |= {k: np.nan for k in CREDIT_COLUMNS}
            credit |= {
                "pd_lifetime": p,
                "lgd": float(loss[d].sum() / ead.sum()) if d.any() and ead.sum() > 0 else 0.0,
                "ead_cny": float(ead.mean()) if d.any() else 0.0,
                "pd_lifetime_se": float(np.sqrt(p * (1.0 - p) / d.size)),
                "ifrs9_stage_reason": "not computed for tonnes lent (PD, LGD and EAD from the paths only)",
            }
        out["credit"] = pd.DataFrame([credit])
        return out

    def _credit_row(self, loan: LoanPaths, ctx: RunContext) -> dict[str, object] | None:
        """The loan's credit figures (:func:`carbonrisk.finance.loans.pledge_credit_figures` /
        :func:`carbonrisk.finance.loans.project_credit_figures`) on the run's merged per-path default times, losses and
        EADs (the same paths as the P&L); None without ``borrower_pd_1y`` or ``rating``."""
        inst = self.spec.instrument
        if not isinstance(inst, PledgeLoan | ProjectLoan) or (inst.borrower_pd_1y is None and inst.rating is None):
            return None
        assert loan.default_time_years is not None and loan.ead_cny is not None
        market = ctx.market.build()
        if isinstance(inst, PledgeLoan):
            figs = pledge_credit_figures(
                inst, market, default_time_years=loan.default_time_years, loss_cny=loan.loss_cny, ead_cny=loan.ead_cny
            )
        else:
            figs = project_credit_figures(inst, market, loan.default_time_years, loan.loss_cny, loan.ead_cny)
        assert figs is not None
        d = figs.to_dict()
        row: dict[str, object] = {"loan": self.spec.name}
        row.update({k: d[k] for k in CREDIT_COLUMNS})
        row["pd_lifetime_se"] = d["pd_lifetime_se"]
        row["ifrs9_stage_reason"] = d["ifrs9_stage_reason"]
        return row


DSCR_DUE_SHARE = 0.10
"""A period's debt service counts as *due* on a path when it is at least this share of the loan's full-period debt
service (the largest per-period median over the paths with debt service)."""
DSCR_MIN_PATHS_DUE = 0.5
"""Share of paths on which debt service must be due for a period's DSCR quantiles to be shown (N/A below)."""


def dscr_rows_of(name: str, inst: ProjectLoan, loan: LoanPaths) -> list[dict[str, Any]]:
    r"""The DSCR table rows of one project loan: per period, P5 / P50 / P95 of the DSCR where debt service is due.

    A DSCR ``CFADS_y / DS_y`` is a statement about the borrower's ability to pay only where debt service is due.
    After the cash sweep has repaid most of the balance, the last period's debt service is a small residual and the
    ratio explodes (the demo's final period showed a P95 of 197). So on each path the period counts when
    :math:`DS_{y} \ge` :data:`DSCR_DUE_SHARE` :math:`\times \max_k \operatorname{median}(DS_k \mid DS_k > 0)`;
    the quantiles are over those paths, and N/A when fewer than :data:`DSCR_MIN_PATHS_DUE` of the paths have debt
    service due (the column ``p_debt_service_due`` says how many do). ``p_below_1_0`` / ``p_below_1_2`` are over
    all paths (a path without debt service due is not below). Runs without the per-path debt service (older
    arrays) keep every finite DSCR.
    """
    assert loan.dscr is not None
    dscr = np.asarray(loan.dscr, dtype=float)
    finite = np.isfinite(dscr)
    if loan.debt_service_cny is not None:
        ds = np.asarray(loan.debt_service_cny, dtype=float)
        medians = [float(np.median(row[row > 0])) if (row > 0).any() else 0.0 for row in ds]
        due = finite & (ds >= DSCR_DUE_SHARE * max(medians, default=0.0)) & (ds > 0)
    else:
        due = finite
    sched = inst.schedule()
    rows = []
    for y in range(dscr.shape[0]):
        share = float(due[y].mean())
        d = dscr[y][due[y]]
        shown = d.size > 0 and share >= DSCR_MIN_PATHS_DUE
        rows.append(
            {
                "loan": name,
                "period_end": str(sched[y + 1].date()),
                "p_debt_service_due": share,
                "dscr_p05": float(np.quantile(d, 0.05)) if shown else np.nan,
                "dscr_p50": float(np.quantile(d, 0.50)) if shown else np.nan,
                "dscr_p95": float(np.quantile(d, 0.95)) if shown else np.nan,
                "p_below_1_0": float(np.mean(np.nan_to_num(dscr[y], nan=np.inf) < 1.0)),
                "p_below_1_2": float(np.mean(np.nan_to_num(dscr[y], nan=np.inf) < 1.2)),
            }
        )
    return rows


PFE_RARE_EXPOSURE = 0.05
"""Below this share of paths with exposure at every date, the 95 % PFE is zero by construction: 99 % is shown."""


def informative_exposure_profile(exposure_cny: np.ndarray, dates: list[Any]) -> pd.DataFrame:
    """EPE and PFE of a pledge loan per date, the PFE at a level that says something, and the share of paths
    with exposure (``p_exposure``).

    The PFE at level ``c`` is the ``c`` quantile of ``max(E, 0)``: zero wherever fewer than ``1 - c`` of the paths
    have exposure, while the EPE is already positive. The level is 95 %, or 99 % when fewer than
    :data:`PFE_RARE_EXPOSURE` of the paths have exposure at every date; ``attrs["note"]`` says which and why (and
    that a zero PFE beside a positive EPE means that fewer than ``1 - c`` of the paths are exposed).
    """
    e = np.maximum(np.asarray(exposure_cny, dtype=float), 0.0)
    share = (e > 0).mean(axis=1)
    peak = float(share.max()) if share.size else 0.0
    level = 0.95 if peak >= PFE_RARE_EXPOSURE else 0.99
    frame = exposure_profile(e, dates, level)
    frame["p_exposure"] = share
    why = (
        f"at most {100 * peak:.2f} % of the paths are exposed on any date (fewer than {100 * PFE_RARE_EXPOSURE:.0f} "
        "%), so the 95 % PFE would be zero everywhere; "
        if level == 0.99
        else ""
    )
    frame.attrs["note"] = (
        f"PFE at {100 * level:.0f} % ({why}the {100 * level:.0f} % quantile of the exposure over the paths). A PFE "
        f"of 0 beside a positive EPE means fewer than {100 * (1 - level):.0f} % of the paths are exposed on that "
        "date: the EPE is the "
        "average over all paths, P(exposure) the share exposed. Exposure = amount owed (principal and accrued "
        "interest) minus the haircut value of the pledged collateral (top-ups included), 0 once liquidated."
    )
    return frame


def components(ctx: RunContext) -> list[Component]:
    """Every component of the book in the order of the P&L rows: positions, obligations, contracts, projects."""
    pf = ctx.portfolio
    n_contracts = len(pf.contracts)
    out: list[Component] = [PositionComponent(p) for p in pf.positions]
    out += [ObligationComponent(ob, ctx.value_today[n_contracts + i], i) for i, ob in enumerate(pf.obligations)]
    out += [ContractComponent(c, spec, ctx.value_today[c], ctx.regressions[c]) for c, spec in enumerate(pf.contracts)]
    out += [ProjectComponent(k, p.name, ctx.project_value_today[k]) for k, p in enumerate(pf.projects)]
    return out
