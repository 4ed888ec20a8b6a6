"""``carbonrisk stress``: scenarios, sensitivity ladders and reverse stress of a portfolio file."""

from __future__ import annotations

import argparse
import math
from typing import Any

from rich.table import Table

from carbonrisk.finance.stress_scenarios import load_scenarios
from carbonrisk.portfolios.cli._common import add_json_flag, console, non_negative_int, print_json
from carbonrisk.portfolios.portfolio import load_portfolio
from carbonrisk.portfolios.stress import DETERMINISTIC_COLUMNS, REVERSE_PATHS, REVERSE_STEPS, STRESS_PATHS, run_stress

__all__ = ["register"]

_HELP = f"""\
Stress the portfolio of FILE (TOML, as for `carbonrisk report`) on the engine's full revaluation
(portfolios/stress.py):

- every scenario (the embedded historical and policy scenarios of finance/data/scenarios, or those of
  --scenarios FILE, format in the docstring of finance/stress_scenarios.py and the README) applied from the
  valuation date: deterministically ({DETERMINISTIC_COLUMNS} identical columns, projects at plan) for the P&L per
  component and the loans' coverage, margin-call and liquidation outcome, and as a Monte Carlo around it
  ({STRESS_PATHS} paths, common random numbers) for the VaR / ES limits;
- sensitivity ladders on the same {STRESS_PATHS} paths: CEA and CCER spot -30 % .. +30 %, volatility -/+5 points,
  CCER basis -/+0.1 and 0.2, discount rate -/+100 bp;
- reverse stress on {REVERSE_PATHS} of those paths, bisection of at most {REVERSE_STEPS} steps: per loan the price
  level at which the lender's NPV turns negative and the maintenance-ratio level; for the book the level at which
  its mean 1-year P&L turns negative and the smallest uniform shock breaching each price-dependent limit.

--json keys: scenarios (scenario, kind, component, pnl_10d_cny, pnl_1y_cny), scenario_loans (scenario, loan,
expected_loss_cny, p_margin_call, p_liquidation, min_coverage, peak_ltv, p_default, min_dscr), scenario_breaches
(scenario, limit, limit_value, value), ladders (ladder, point, component, pnl_10d_change_cny, pnl_1y_change_cny),
reverse_stress (target, question, variable, threshold, precision, steps, converged, note), timings_s.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``stress`` subcommand."""
    parser = subparsers.add_parser(
        "stress",
        help="stress scenarios, sensitivity ladders and reverse stress",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="portfolio file (TOML)")
    parser.add_argument("--scenarios", metavar="FILE", default=None, help="user scenario file (TOML) instead")
    parser.add_argument("--seed", type=non_negative_int, default=None, metavar="S", help="override portfolio.seed")
    parser.add_argument("--no-ladders", action="store_true", help="skip the sensitivity ladders")
    parser.add_argument("--no-reverse", action="store_true", help="skip the reverse stress")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


def run(args: argparse.Namespace) -> int:
    """Execute ``carbonrisk stress``."""
    portfolio = load_portfolio(args.file).with_run(seed=args.seed)
    scenarios = load_scenarios(args.scenarios) if args.scenarios else None
    report = run_stress(portfolio, scenarios, ladders=not args.no_ladders, reverse=not args.no_reverse)
    if args.json:
        print_json(report.to_dict())
        return 0
    t = report.tables
    book = t["scenarios"][t["scenarios"]["component"] == "book"]
    table = Table(title=f"{portfolio.name}: scenarios (book P&L, CNY)")
    for col in ("scenario", "kind", "P&L 10d", "P&L 1y"):
        table.add_column(col, justify="right")
    for row in book.itertuples(index=False):
        table.add_row(row.scenario, row.kind, _fmt(row.pnl_10d_cny), _fmt(row.pnl_1y_cny))
    console.print(table)
    if len(t["scenario_breaches"]):
        for row in t["scenario_breaches"].itertuples(index=False):
            console.print(
                f"[bold red]breach[/] {row.scenario}: {row.limit} = {row.value:,.4g} > {row.limit_value:,.4g}"
            )
    if report.reverse:
        rev = Table(title="reverse stress")
        for col in ("target", "question", "variable", "threshold", "precision", "note"):
            rev.add_column(col)
        for r in report.reverse:
            precision = r.precision if r.threshold is not None else None  # no threshold: no bracket to report
            rev.add_row(r.target, r.question, r.variable, _fmt(r.threshold), _fmt(precision), r.note)
        console.print(rev)
    console.print("timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in report.timings_s.items()))
    return 0
