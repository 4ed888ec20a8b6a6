"""One protocol for every component of a book: positions, obligations and contracts answer the same question.

A block of the portfolio Monte Carlo (:func:`portfolios.engine.run_block`) builds one :class:`BlockInputs` (the
block's path set, the market, the horizon states of :mod:`finance.revaluation` and the projects' per-path cash
flows) and asks each :class:`Component` for its :class:`ComponentPaths`: the P&L at each horizon (one definition:
value at ``h`` + cash flows up to ``h`` carried to ``h`` - value today), its per-path value and, for loans,
typed :class:`LoanPaths`. The engine's block is a loop over :func:`components`; the analysis and the report read
loan results back with :meth:`LoanPaths.read`, the one place that names their arrays.

Project -> contract cash flows are an explicit input: :class:`ProjectPaths` holds each project's per-path
credits, heat revenue, capex and opex, and a project-linked contract takes them through
:meth:`ProjectPaths.loan_inputs` (a new :class:`~finance.instruments.ProjectLoan` per block, never patched in
place).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol

import numpy as np

from finance.instruments import CarbonLinkedBond, Instrument, PledgeLoan, ProjectLoan
from finance.market import MarketEnv
from finance.revaluation import HorizonState, RegressionRevaluation, horizon_value
from finance.valuation import engines_for
from models.calendar import year_fractions
from models.paths import PathSet
from portfolios.portfolio import ContractSpec, Obligation, Position

if TYPE_CHECKING:
    from portfolios.engine import RunContext

__all__ = [
    "BlockInputs",
    "Component",
    "ComponentPaths",
    "ContractComponent",
    "LoanPaths",
    "ObligationComponent",
    "PositionComponent",
    "ProjectPaths",
    "components",
    "link_project",
    "obligation_value",
    "pledge_rows",
]


def pledge_rows(ctx: RunContext, loan: PledgeLoan) -> np.ndarray:
    """Grid rows on which a pledge loan's exposure and coverage are kept: every ``n // 24``-th date of its life."""
    n = int(np.count_nonzero(ctx.dates <= loan.fixing_dates(ctx.market.valuation_date)[-1]))
    return np.arange(0, n, max(1, n // 24))


@dataclass(frozen=True)
class ProjectPaths:
    """Per-path project cash flows of one block, each ``(n_projects, n_years, n_paths)`` on the run's years.

    The explicit engine input of project-linked contracts (see :meth:`loan_inputs`).
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

    def loan_inputs(self, project: str, loan: ProjectLoan) -> ProjectLoan:
        """``loan`` with the project's per-path credits and net heat cash flows on its schedule's years."""
        k = self.index(project)
        return linked_loan(self.years, loan, self.credits_t[k], self.heat_revenue_cny[k] - self.opex_cny[k])

    def contract_inputs(self, project: str, instrument: Instrument) -> Instrument:
        """``instrument`` with the project's per-path inputs (:func:`link_project`)."""
        k = self.index(project)
        net = self.heat_revenue_cny[k] - self.opex_cny[k]
        return link_project(self.years, instrument, self.credits_t[k], net)


def linked_loan(
    years: tuple[int, ...], loan: ProjectLoan, credits: np.ndarray, net_cash_cny: np.ndarray
) -> ProjectLoan:
    """A new loan whose carbon volumes and other cash flows are the rows of ``credits`` / ``net_cash_cny`` (per
    run year, per path) for the years of its schedule (zeros outside the run's years)."""
    n = credits.shape[-1]
    rows = [d.year - years[0] for d in loan.schedule()[1:]]
    vol = np.vstack([credits[r] if 0 <= r < len(years) else np.zeros(n) for r in rows])
    other = np.vstack([net_cash_cny[r] if 0 <= r < len(years) else np.zeros(n) for r in rows])
    return dataclasses.replace(loan, carbon_volumes_t=vol, other_cash_flows_cny=other)


def linked_bond(years: tuple[int, ...], bond: CarbonLinkedBond, credits: np.ndarray) -> CarbonLinkedBond:
    """A new project-income bond whose coupon volumes are the rows of ``credits`` (per run year, per path): coupon
    i takes the credits of the run year holding the middle of its accrual period (zeros outside the run's years)."""
    n = credits.shape[-1]
    rows = []
    for period in bond.periods():
        middle = period.accrual_start + (period.accrual_end - period.accrual_start) / 2
        r = middle.year - years[0]
        rows.append(credits[r] if 0 <= r < len(years) else np.zeros(n))
    return dataclasses.replace(bond, carbon_volumes_t=np.vstack(rows))


def link_project(
    years: tuple[int, ...], instrument: Instrument, credits: np.ndarray, net_cash_cny: np.ndarray
) -> Instrument:
    """The generic project link: ``instrument`` with a project's per-path credits (and net heat cash flows), for
    every contract kind that can name a project (project loans, project-income carbon-linked bonds)."""
    if isinstance(instrument, ProjectLoan):
        return linked_loan(years, instrument, credits, net_cash_cny)
    if isinstance(instrument, CarbonLinkedBond) and instrument.linked_coupon == "project_income":
        return linked_bond(years, instrument, credits)
    return instrument


@dataclass(frozen=True)
class BlockInputs:
    """What a block gives every component."""

    ctx: RunContext
    paths: PathSet
    market: MarketEnv
    states: tuple[HorizonState, HorizonState]
    """Revaluation states at 10 trading days and 1 year."""
    projects: ProjectPaths | None

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
    """``(n_rows, n_paths)`` pledge exposure on :func:`pledge_rows`."""
    coverage: np.ndarray | None = None
    """``(n_rows, n_paths)`` collateral value / principal on :func:`pledge_rows`."""
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


@dataclass(frozen=True)
class ComponentPaths:
    """What a component contributes on one block's paths."""

    pnl_10d: np.ndarray
    pnl_1y: np.ndarray
    value_cny: np.ndarray | None = None
    """Per-path value today (contracts: the engine's per-path present value, or the closed form's constant)."""
    loan: LoanPaths | None = None


class Component(Protocol):
    """A position, an obligation or a contract of the book."""

    @property
    def label(self) -> str:
        """``kind: name`` as shown in the contribution tables."""
        ...  # pragma: no cover - protocol

    def block(self, inputs: BlockInputs) -> ComponentPaths:
        """Its per-path results on one block."""
        ...  # pragma: no cover - protocol


@dataclass(frozen=True)
class PositionComponent:
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
    :math:`-P(h, T_y)\,[c\,E_h \bar S^{CCER}_y + a\,E_h \bar S^{CEA}_y]` (unhedged: hedges are contracts of the
    book) with ``c`` the CCER tonnes (at most ``ccer_share`` of emissions), ``a`` the CEA tonnes,
    :math:`\bar S_y` the average over the grid dates of year ``y`` (those up to ``h`` from the path, the rest at
    the path's forward) and :math:`T_y` the year's last grid date (carried to ``h`` once it has passed).
    """
    dates = ctx.dates
    in_year = dates[(dates.year == ob.year) & (np.arange(len(dates)) > 0)]
    fixings = in_year if len(in_year) else dates[:1]
    disc = float(state.discount(fixings[-1:])[0])
    ccer_t = min(ob.ccer_share * ob.emissions_t, ob.shortfall_t)
    cea_t = ob.shortfall_t - ccer_t
    ccer_sum, n_fix = state.expected_average("CCER", fixings)
    cea_sum, _ = state.expected_average("CEA", fixings)
    cost = ccer_t * ccer_sum / n_fix + cea_t * cea_sum / n_fix
    return np.asarray(-disc * cost, dtype=float)


@dataclass(frozen=True)
class ObligationComponent:
    """A compliance obligation (:func:`obligation_value`), ``V_0`` its value on the valuation date."""

    obligation: Obligation
    value_today: float

    @property
    def label(self) -> str:
        """Contribution-table name."""
        return f"obligation: {self.obligation.name}"

    def block(self, inputs: BlockInputs) -> ComponentPaths:
        """P&L at both horizons."""
        ten, year = (obligation_value(inputs.ctx, self.obligation, st) - self.value_today for st in inputs.states)
        return ComponentPaths(ten, year)


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
            return inputs.projects.contract_inputs(self.spec.project, inst)
        return inst

    def block(self, inputs: BlockInputs) -> ComponentPaths:
        """P&L at both horizons, per-path value and loan results."""
        n = inputs.n_paths
        if self.regression is None:
            inst = self.spec.instrument
            ten, year = (horizon_value(inst, st) - self.value_today for st in inputs.states)
            return ComponentPaths(ten, year, np.full(n, self.value_today))
        inst = self.instrument(inputs)
        result = engines_for(inst)[0].calculate(inst, market=inputs.market, paths=inputs.paths)
        pv = np.asarray(result.samples.get("pv_cny", np.full(n, result.value)), dtype=float)
        ten, year = (
            reg.at_horizon(pv, st.price(reg.factor), st.df_h) - reg.value_today
            for st, reg in zip(inputs.states, self.regression, strict=True)
        )
        kept = {k: np.asarray(result.samples[k], dtype=float) for k in self.keep if k in result.samples}
        loan = LoanPaths(**kept) if "loss_cny" in kept else None
        if isinstance(inst, PledgeLoan) and loan is not None:
            loan = dataclasses.replace(loan, **self._pledge_profile(inst, inputs))
        return ComponentPaths(ten, year, pv, loan)

    @staticmethod
    def _pledge_profile(loan: PledgeLoan, inputs: BlockInputs) -> dict[str, np.ndarray]:
        """Exposure ``max(D_0 (1 + r t) - q S_t (1 - haircut), 0)`` and coverage ``q S_t / D_0`` on the kept rows
        (the collateral before top-ups and liquidations, as the report's charts say)."""
        ctx = inputs.ctx
        s = inputs.paths[loan.collateral]
        kept = pledge_rows(ctx, loan)
        t_loan = year_fractions(ctx.dates[0], ctx.dates[kept])[:, None]
        principal = loan.ltv * loan.quantity_t * s[0, 0]
        collateral = loan.quantity_t * s[kept] * (1.0 - loan.haircut)
        return {
            "exposure_cny": np.maximum(principal * (1 + loan.rate * t_loan) - collateral, 0.0),
            "coverage": loan.quantity_t * s[kept] / principal,
        }


def components(ctx: RunContext) -> list[Component]:
    """Every component of the book in the order of the P&L rows: positions, obligations, contracts."""
    pf = ctx.portfolio
    n_contracts = len(pf.contracts)
    out: list[Component] = [PositionComponent(p) for p in pf.positions]
    out += [ObligationComponent(ob, ctx.value_today[n_contracts + i]) for i, ob in enumerate(pf.obligations)]
    out += [ContractComponent(c, spec, ctx.value_today[c], ctx.regressions[c]) for c, spec in enumerate(pf.contracts)]
    return out
