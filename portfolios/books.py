"""Books: one joint Monte Carlo run, one report per book.

Every component of a portfolio file (``[[positions]]``, ``[[obligations]]``, ``[[contracts]]``, ``[[projects]]``)
carries ``book = "NAME"`` (default :data:`~carbonrisk.portfolios.portfolio.DEFAULT_BOOK`, ``"main"``); ``[levers] book``
names the book whose projects the levers are compared on (default: every book holding projects) and
``[books.NAME.limits]`` (the keys of ``[limits]``) are a book's own limits. The run values every component on the
same paths: a CCER-linked loan of the bank's book reads the per-path credits and cash flows of a project in the
developer's book (the link works across books). The figures of a book are then computed on its components only:
:func:`book_run` is a view of the joint run that holds the book's rows of every per-path array (P&L, values,
loan outcomes, project arrays; the totals over projects re-summed over the book's projects) and a portfolio that
holds only the book's components, so :func:`carbonrisk.portfolios.analysis.analyse` computes its VaR / ES,
contributions, limits and tables exactly as for a file of its own.

Equality with a file of its own (same seed). A book's P&L rows are computed per component on the run's price
paths, so its VaR is **bit-identical** to that of a file holding only its components when both runs simulate the
same price paths and project draws: the simulation grid is the same (the other books' contracts add no fixing
date off the grid: daily in year 1, month ends, the horizon end) and the book holds all of the file's projects or
none (the projects' risks are drawn jointly, weather correlated across sites). Otherwise the book's figures are
those of the same model on a finer grid, or of differently drawn projects: equal in distribution, within Monte
Carlo error, not draw by draw. Components that interact in the joint run keep that interaction in their book:
pledge loans on the same asset share each day's market depth (:mod:`carbonrisk.finance.liquidity`) whatever book they
are in, as they would in one market, so such a loan's liquidation losses alone would differ.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from carbonrisk.portfolios.analysis import Analysis, analyse
from carbonrisk.portfolios.components import LoanPaths
from carbonrisk.portfolios.engine import PortfolioRun, RunArrays
from carbonrisk.portfolios.portfolio import (
    DEFAULT_BOOK,
    ContractSpec,
    Limits,
    Obligation,
    Portfolio,
    Position,
    ProjectSpec,
)

__all__ = [
    "BookArrays",
    "BookSelection",
    "analyse_book",
    "book_limits",
    "book_names",
    "book_portfolio",
    "book_run",
    "select_book",
]

_PER_PROJECT = (
    "project_income",
    "project_costs",
    "project_capex",
    "project_credits",
    "project_heat_revenue",
    "project_npv_cny",
    "project_npv_hurdle_cny",
    "project_irr",
    "project_payback_year",
    "project_credits_sum_t",
    "project_income_sum_cny",
)
"""Arrays with one row per project (first axis)."""
_TOTALS = {
    "total_income_cny": ("project_income",),
    "total_costs_cny": ("project_costs",),
    "total_capex_cny": ("project_capex",),
    "total_credits_t": ("project_credits",),
    "total_heat_revenue_cny": ("project_heat_revenue",),
}
"""Totals over projects: the sum of the book's rows of these per-project arrays."""


_RISK_COLUMNS = ("horizon", "level", "var_cny", "var_se_cny", "es_cny", "es_se_cny", "hs_var_cny")
"""Columns of the risk table (:func:`carbonrisk.portfolios.analysis.analyse`), kept on a book without P&L components."""


def book_names(portfolio: Portfolio) -> tuple[str, ...]:
    """The books of ``portfolio`` in order of first appearance (positions, obligations, projects, contracts)."""
    return portfolio.books


@dataclass(frozen=True)
class BookSelection:
    """Indices, in the joint run, of one book's positions, obligations, contracts and projects."""

    name: str
    positions: tuple[int, ...]
    obligations: tuple[int, ...]
    contracts: tuple[int, ...]
    projects: tuple[int, ...]
    n_projects: int
    """Projects of the whole file."""
    n_positions_total: int
    n_obligations_total: int
    n_contracts_total: int = 0

    @property
    def pnl_rows(self) -> list[int]:
        """The book's rows of the run's P&L arrays (positions, obligations, contracts, then projects:
        :func:`carbonrisk.portfolios.components.components`)."""
        n_pos, n_obl, n_con = self.n_positions_total, self.n_obligations_total, self.n_contracts_total
        return [
            *self.positions,
            *(n_pos + i for i in self.obligations),
            *(n_pos + n_obl + c for c in self.contracts),
            *(n_pos + n_obl + n_con + k for k in self.projects),
        ]

    @property
    def all_projects(self) -> bool:
        """Whether the book holds every project of the file (the project totals are then the run's own)."""
        return len(self.projects) == self.n_projects


def select_book(portfolio: Portfolio, name: str) -> BookSelection:
    """Where book ``name``'s components sit in ``portfolio``."""

    def pick(items: Sequence[Position | Obligation | ContractSpec | ProjectSpec]) -> tuple[int, ...]:
        return tuple(i for i, x in enumerate(items) if x.book == name)

    return BookSelection(
        name=name,
        positions=pick(portfolio.positions),
        obligations=pick(portfolio.obligations),
        contracts=pick(portfolio.contracts),
        projects=pick(portfolio.projects),
        n_projects=len(portfolio.projects),
        n_positions_total=len(portfolio.positions),
        n_obligations_total=len(portfolio.obligations),
        n_contracts_total=len(portfolio.contracts),
    )


def book_limits(portfolio: Portfolio, name: str) -> Limits:
    """The limits of book ``name``: ``[books.NAME.limits]``, else ``[limits]`` for the default book or the only
    book of the file, else none."""
    if name in portfolio.book_limits:
        return portfolio.book_limits[name]
    if name == DEFAULT_BOOK or len(book_names(portfolio)) == 1:
        return portfolio.limits
    return Limits()


def book_portfolio(portfolio: Portfolio, name: str) -> Portfolio:
    """A portfolio holding only book ``name``'s components, with the book's limits (market, horizon, paths, seed
    and file text unchanged; the name is ``"<file's name>: book NAME"`` when the file has several books). A contract
    linked to a project of another book keeps its link by name."""
    sel = select_book(portfolio, name)
    return dataclasses.replace(
        portfolio,
        name=portfolio.name if len(portfolio.books) == 1 else f"{portfolio.name}: book {name}",
        positions=tuple(portfolio.positions[i] for i in sel.positions),
        obligations=tuple(portfolio.obligations[i] for i in sel.obligations),
        contracts=tuple(portfolio.contracts[i] for i in sel.contracts),
        projects=tuple(portfolio.projects[i] for i in sel.projects),
        limits=book_limits(portfolio, name),
    )


class BookArrays(RunArrays):
    """One book's rows of a joint run's per-path arrays (a view: spilled arrays are read on demand)."""

    def __init__(self, joint: RunArrays, selection: BookSelection) -> None:
        super().__init__({}, None)
        self._joint = joint
        self._sel = selection
        self._contract = {new: old for new, old in enumerate(selection.contracts)}

    def _source(self, key: str) -> tuple[str, int] | None:
        """``(joint key, joint contract index)`` of a book's contract key ``contract{c}_{name}``."""
        if key.startswith("contract") and "_" in key and key[8 : key.index("_")].isdigit():
            c = int(key[8 : key.index("_")])
            if c in self._contract:
                return LoanPaths.key(self._contract[c], key[key.index("_") + 1 :]), c
        return None

    def __getitem__(self, key: str) -> np.ndarray:
        sel, joint = self._sel, self._joint
        if key in ("pnl_10d", "pnl_1y"):
            return np.asarray(joint[key])[sel.pnl_rows]
        if key == "contract_pv":
            return np.asarray(joint[key])[list(sel.contracts)]
        if key.startswith("obligation_cost_"):
            return np.asarray(joint[key])[list(sel.obligations)]
        if key in _PER_PROJECT:
            if sel.all_projects:
                return joint[key]
            return np.stack([joint.load(key, k) for k in sel.projects]) if sel.projects else np.zeros((0,))
        if key in _TOTALS or key == "total_cash_flow_cny":
            if sel.all_projects:
                return joint[key]
            return self._total(key)
        mapped = self._source(key)
        if mapped is not None:
            return joint[mapped[0]]
        if key.startswith("contract") and key[8:9].isdigit():
            raise KeyError(key)
        return joint[key]

    def _total(self, key: str) -> np.ndarray:
        """A total over the book's projects (the run's per-project rows summed in project order)."""
        if key == "total_cash_flow_cny":
            income, heat, costs = (
                self._total(k) for k in ("total_income_cny", "total_heat_revenue_cny", "total_costs_cny")
            )
            return income + heat - costs
        (per_project,) = _TOTALS[key]
        rows = [self._joint.load(per_project, k) for k in self._sel.projects]
        if not rows:
            raise KeyError(key)
        out = np.array(rows[0], dtype=float)
        for row in rows[1:]:
            out = out + row
        return out

    def load(self, key: str, index: int) -> np.ndarray:
        if key in _PER_PROJECT:
            return self._joint.load(key, self._sel.projects[index])
        return np.asarray(self[key][index])

    def __iter__(self) -> Iterator[str]:
        for key in self._joint:
            mapped = key.startswith("contract") and key[8:9].isdigit()
            if mapped:
                c = int(key[8 : key.index("_")])
                if c in self._sel.contracts:
                    yield LoanPaths.key(self._sel.contracts.index(c), key[key.index("_") + 1 :])
                continue
            if (key in _PER_PROJECT or key in _TOTALS or key == "total_cash_flow_cny") and not self._sel.projects:
                continue
            yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)


def book_run(run: PortfolioRun, name: str) -> PortfolioRun:
    """The joint ``run`` seen from book ``name``: its portfolio (:func:`book_portfolio`), its rows of the
    run-wide context (values today, deltas, regressions, the projects' plan) and of every per-path array."""
    ctx = run.context
    pf = ctx.portfolio
    sel = select_book(pf, name)
    n_contracts = len(pf.contracts)
    contracts, obligations = list(sel.contracts), list(sel.obligations)
    context = dataclasses.replace(
        ctx,
        portfolio=book_portfolio(pf, name),
        value_today=tuple(ctx.value_today[c] for c in contracts)
        + tuple(ctx.value_today[n_contracts + i] for i in obligations)
        if ctx.value_today
        else (),
        deltas=tuple(ctx.deltas[c] for c in contracts) if ctx.deltas else (),
        regressions=tuple(ctx.regressions[c] for c in contracts) if ctx.regressions else (),
        planned_costs_cny=ctx.planned_costs_cny[list(sel.projects)],
        planned_credits_t=ctx.planned_credits_t[list(sel.projects)],
        planned_other_cny=ctx.planned_other_cny[list(sel.projects)]
        if len(ctx.planned_other_cny)
        else ctx.planned_other_cny,
        project_value_today=tuple(ctx.project_value_today[k] for k in sel.projects) if ctx.project_value_today else (),
    )
    return dataclasses.replace(run, context=context, arrays=BookArrays(run.arrays, sel))


def analyse_book(run: PortfolioRun, name: str) -> tuple[PortfolioRun, Analysis]:
    """Book ``name``'s view of the joint run and its analysis (its own VaR / ES, contributions, limits, tables);
    the lever table only in ``[levers] book`` when that is set."""
    view = book_run(run, name)
    analysis = analyse(view)
    if analysis.tables["var_es"].empty:  # a book of projects only: no P&L component, an empty risk table
        analysis.tables["var_es"] = pd.DataFrame(columns=list(_RISK_COLUMNS))
    lever = run.portfolio.levers_book
    if lever is not None and lever != name:
        analysis.tables.pop("levers", None)
    return view, analysis
