"""``carbonrisk report``: the portfolio Monte Carlo risk report."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from models.quantities import PORTFOLIO_N_PATHS, PORTFOLIO_SEED
from models.validation import argparse_type
from portfolios.budget import check_portfolio_memory
from portfolios.cli._common import (
    add_json_flag,
    add_scaleout_flags,
    console,
    print_json,
)
from portfolios.portfolio import Portfolio, load_portfolio
from portfolios.report import summary_payload
from portfolios.runner import ReportRun, run_report

__all__ = ["print_report_summary", "register", "run_with_progress"]

_HELP = """\
Run the portfolio Monte Carlo of FILE (TOML; format in README.md, "Portfolio file") and write, atomically,
DIR/report.html (self-contained: executive summary, contents, every section including the stress tests of
`carbonrisk stress` on the run's own model), DIR/report.pdf (when a Chromium is installed), DIR/report.xlsx
(Summary, Inputs, Assumptions, Warnings, Run, then one sheet per table), DIR/paths_summary.parquet (price fan
quantiles per date) and DIR/summary.json. The run is recorded in the ledger (see `carbonrisk runs --help`).

summary.json / --json keys: run_id, portfolio, source, valuation_date, n_paths, seed, model, metrics
(var_95_10d_cny, es_95_10d_cny, var_99_10d_cny, es_99_10d_cny, var_95_1y_cny ... es_99_1y_cny,
diversification_benefit_1y_99_cny, mismatch {gap_years, income_mean_time_years, risk_mean_time_years,
peak_funding_gap_p50_cny, peak_funding_gap_p95_cny, peak_funding_gap_year_p50, downside_es_cny}, limit_breaches),
breaches (list of {limit, limit_value, value, excess}), tables (every report table as records: var_es,
es_contributions_1y_99, fan_CEA, fan_CCER, cash_flow_at_risk, projects, project_es_contributions, mismatch_profile,
mismatch, levers, compliance_cost_at_risk, loans, credit (loans with borrower_pd_1y or rating), dscr, contracts,
exposure_<loan>, limit_breaches), warnings, elapsed_s; summary.json adds stress (the `carbonrisk stress --json`
keys); --json adds out_dir.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand."""
    parser = subparsers.add_parser(
        "report", help="portfolio risk report", description=_HELP, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("file", metavar="FILE", help="portfolio file (TOML)")
    parser.add_argument(
        "--out", default="carbonrisk-report", metavar="DIR", help="output directory (default %(default)s)"
    )
    parser.add_argument(
        "--paths", type=argparse_type(PORTFOLIO_N_PATHS), default=None, metavar="N", help="override portfolio.n_paths"
    )
    parser.add_argument(
        "--seed", type=argparse_type(PORTFOLIO_SEED), default=None, metavar="S", help="override portfolio.seed"
    )
    add_scaleout_flags(parser)
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run_with_progress(portfolio: Portfolio, args: argparse.Namespace, quiet: bool) -> ReportRun:
    """Run the report with a rich progress bar on stderr (none when ``quiet``); refuse first what cannot fit."""
    check_portfolio_memory(
        portfolio, str(getattr(args, "command", "report")), workers=args.workers, blocks_per_task=args.blocks_per_task
    )
    progress: Progress | None = None
    context: AbstractContextManager[object] = nullcontext()
    callback: Callable[[int, int], None] | None = None
    if not quiet:
        progress = Progress(
            TextColumn("simulating path blocks"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        task = progress.add_task("blocks", total=None)

        def callback(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        context = progress
    with context:
        return run_report(
            portfolio,
            args.out,
            workers=args.workers,
            scheduler=args.scheduler,
            blocks_per_task=args.blocks_per_task,
            progress=callback,
        )


def print_report_summary(result: ReportRun) -> None:
    """The summary table printed after a report."""
    t = result.analysis.tables
    table = Table(title=f"{result.run.portfolio.name}: {result.run.n_paths:,} paths, seed {result.run.portfolio.seed}")
    for col in ("horizon", "level", "VaR (CNY)", "ES (CNY)", "VaR s.e.", "ES s.e.", "HS VaR"):
        table.add_column(col, justify="right")
    for row in t["var_es"].itertuples(index=False):
        table.add_row(
            row.horizon,
            f"{row.level:.0%}",
            f"{row.var_cny:,.0f}",
            f"{row.es_cny:,.0f}",
            f"{row.var_se_cny:,.0f}",
            f"{row.es_se_cny:,.0f}",
            "" if not np.isfinite(row.hs_var_cny) else f"{row.hs_var_cny:,.0f}",
        )
    console.print(table)
    mismatch = result.analysis.metrics.get("mismatch")
    if mismatch:
        console.print(
            f"mismatch gap {mismatch['gap_years']:.1f} years (income {mismatch['income_mean_time_years']:.1f} y, "
            f"risk {mismatch['risk_mean_time_years']:.1f} y); peak funding gap P50 "
            f"{mismatch['peak_funding_gap_p50_cny'] / 1e6:,.0f} / "
            f"P95 {mismatch['peak_funding_gap_p95_cny'] / 1e6:,.0f} "
            "million CNY"
        )
    for breach in result.analysis.breaches:
        console.print(
            f"[bold red]limit breach[/]: {breach['limit']} = {breach['value']:,.4g} > {breach['limit_value']:,.4g}"
        )
    console.print(
        f"report: {result.out_dir / 'report.html'} (also report.pdf, report.xlsx, paths_summary.parquet, summary.json)"
    )
    console.print(f"run id: {result.run_id} ({result.run.elapsed_s:.1f} s)")


def run(args: argparse.Namespace) -> int:
    """Execute ``carbonrisk report``."""
    portfolio = load_portfolio(args.file).with_run(n_paths=args.paths, seed=args.seed)
    result = run_with_progress(portfolio, args, quiet=args.json or not sys.stderr.isatty())
    for message in result.run.warnings:
        sys.stderr.write(f"carbonrisk: warning: {message}\n")
    if args.json:
        print_json(summary_payload(result.run, result.analysis, result.run_id) | {"out_dir": str(result.out_dir)})
        return 0
    print_report_summary(result)
    return 0
