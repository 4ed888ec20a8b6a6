"""Memory estimates of portfolio runs (``report``, ``demo``) and contract valuation (``value``), before allocation.

The machinery (available memory, the one-line refusal) is :mod:`carbonrisk.models.memory`; this module counts what the
portfolio engine (:mod:`carbonrisk.portfolios.engine`) and the valuation layer
(:func:`carbonrisk.finance.valuation.value_all`) keep.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import pandas as pd

from carbonrisk.finance.instruments import Instrument, PledgeLoan, ProjectLoan
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.valuation import path_dates
from carbonrisk.models.memory import BYTES_PER_VALUE, SLACK_BYTES, WORKER_PROCESS_BYTES, MemoryEstimate, check_memory
from carbonrisk.models.random import BLOCK_PATHS
from carbonrisk.models.units import TRADING_DAYS_PER_YEAR
from carbonrisk.portfolios.portfolio import Portfolio, market_history

__all__ = ["check_portfolio_memory", "estimate_portfolio", "estimate_value", "values_per_path"]

PLEDGE_ROWS: int = 25
"""At most this many report dates of a pledge loan's exposure and coverage (every ``n // 24``-th grid date)."""
LOAN_OUTCOMES: int = 5
"""Per-path outcomes kept per loan: loss, margin call, liquidation, default, minimum DSCR."""


def values_per_path(portfolio: Portfolio) -> int:
    """float64 values the portfolio engine keeps per path (in memory and in its spill files).

    Counted from :func:`carbonrisk.portfolios.engine._one_block`: 10-day and 1-year P&L and PV per component, two
    obligation costs, five per-project figures (NPV, IRR, payback, credit and income sums), the CEA and CCER fan rows
    (year ends plus four), annual CCER averages, five per-project-year arrays (capex apart, for the books' totals) and
    six per-year portfolio totals, loan outcomes, DSCR per period and pledge exposure and coverage rows.
    """
    n_years = portfolio.horizon_years + 2
    n_proj = len(portfolio.projects)
    n_contracts = len(portfolio.contracts)
    components = len(portfolio.positions) + n_contracts
    values = 2 * components + n_contracts + 2 * len(portfolio.obligations) + 5 * n_proj
    values += 2 * (n_years + 4) + n_years + 5 * n_proj * n_years + 6 * n_years
    for spec in portfolio.contracts:
        if isinstance(spec.instrument, PledgeLoan):
            values += LOAN_OUTCOMES + 2 * PLEDGE_ROWS
        elif isinstance(spec.instrument, ProjectLoan):
            values += LOAN_OUTCOMES + int(spec.instrument.tenor_years)
    return values


def estimate_portfolio(
    portfolio: Portfolio,
    what: str,
    *,
    valuation_date: pd.Timestamp | None = None,
    workers: int | None = None,
    blocks_per_task: int = 1,
) -> MemoryEstimate:
    """Memory of a portfolio run.

    Per path: every value of :func:`values_per_path` (as if the analysis read every spilled array back at once),
    plus twice the largest per-project array (the analysis sorts copies for its quantiles). Fixed: per block in
    flight (one in process, one per worker) the block's CEA and CCER paths on the grid (daily in year 1, month ends
    to the horizon, every contract fixing), four times (engine temporaries), its project arrays and the task's
    concatenated results; plus the worker processes.
    """
    n_years = portfolio.horizon_years + 2
    per_path = BYTES_PER_VALUE * (values_per_path(portfolio) + 2 * n_years)
    fixings = 0
    if valuation_date is not None and portfolio.contracts:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fixings = len(path_dates([c.instrument for c in portfolio.contracts], valuation_date))
    n_dates = TRADING_DAYS_PER_YEAR + 12 * portfolio.horizon_years + fixings + 1
    n_proj = len(portfolio.projects)
    block = BLOCK_PATHS * BYTES_PER_VALUE * (4 * 2 * n_dates + n_proj * (20 * n_years + 200))
    task = blocks_per_task * BLOCK_PATHS * per_path * 2
    lanes = 1 + (int(workers) if workers else 0)
    fixed = lanes * (block + task) + WORKER_PROCESS_BYTES * (int(workers) if workers else 0) + SLACK_BYTES
    return MemoryEstimate(
        what, portfolio.n_paths, per_path, fixed, f"{per_path / BYTES_PER_VALUE:,.0f} values per path"
    )


def estimate_value(
    instruments: Sequence[Instrument], market: MarketEnv, n_paths: int, what: str, *, sensitivities: bool = True
) -> MemoryEstimate:
    """Memory of ``value``: the base path set and one bumped set at a time, with engine temporaries.

    :func:`carbonrisk.finance.valuation.value_all` keeps the base market's paths (every factor on every fixing date)
    while it revalues each bumped market on a second set; the Monte Carlo engines allocate about one more array of the
    same shape (payoffs on the path grid, coverage and breach flags of a pledge loan; measured: 6.9 KB per path
    for the pledge-loan example without sensitivities, estimated 9.4 KB).
    """
    n_dates = len(path_dates(list(instruments), market.valuation_date)) + 1
    n_factors = max(len(market.forwards), 1)
    copies = (2 if sensitivities else 1) + 1
    per_path = float(copies * n_factors * n_dates * BYTES_PER_VALUE)
    return MemoryEstimate(
        what, n_paths, per_path, SLACK_BYTES, f"{n_dates:,} dates x {n_factors} factor(s) x {copies} path arrays"
    )


def check_portfolio_memory(
    portfolio: Portfolio, command: str, *, workers: int | None = None, blocks_per_task: int = 1
) -> MemoryEstimate:
    """Refuse (one line) a portfolio run the machine cannot hold; called before the Monte Carlo allocates."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, valuation_date = market_history(portfolio)  # read once, when the file was parsed
    estimate = estimate_portfolio(
        portfolio,
        f"{command} with {portfolio.n_paths:,} paths",
        valuation_date=valuation_date,
        workers=workers,
        blocks_per_task=blocks_per_task,
    )
    return check_memory(estimate)
