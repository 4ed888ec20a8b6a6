"""``carbonrisk report``: the portfolio Monte Carlo risk report."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import numpy as np
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from carbonrisk.models.quantities import PORTFOLIO_N_PATHS, PORTFOLIO_SEED
from carbonrisk.models.validation import argparse_type
from carbonrisk.portfolios.bookindex import HEADLINE, console_value, headline, index_payload
from carbonrisk.portfolios.budget import check_portfolio_memory
from carbonrisk.portfolios.cli._common import (
    add_json_flag,
    add_scaleout_flags,
    console,
    print_json,
)
from carbonrisk.portfolios.formatting import Unit, format_value
from carbonrisk.portfolios.portfolio import Portfolio, load_portfolio
from carbonrisk.portfolios.report import summary_payload
from carbonrisk.portfolios.runner import ReportRun, run_report

__all__ = ["print_report_summary", "register", "report_json", "run_with_progress"]

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

Books: components with `book = "NAME"` (README, "Books") are reported per book, from the same joint run: DIR/NAME/
holds each book's report files (the keys above, figures of its own components against [books.NAME.limits]) and
DIR/index.html links them with each book's headline figures and shows the stress of the whole file (all books
together); DIR/summary.json then holds run_id, portfolio, source, valuation_date, n_paths, seed, books {NAME:
{folder, report, summary, components, headline {var_99_10d_cny, es_99_1y_cny, limit_breaches,
loans_expected_loss_cny, projects_npv_mean_cny, compliance_cost_hedged_cny}}}, stress, warnings, elapsed_s; --json
adds out_dir and, per book, its full summary under books.NAME.report_summary.
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
    """The summary printed after a report: the risk table of a single book, or each book's headline figures."""
    if result.single:
        _print_single(result)
    else:
        _print_books(result)
    console.print(f"run id: {result.run_id} ({result.run.elapsed_s:.1f} s)")


def _print_books(result: ReportRun) -> None:
    run = result.run
    table = Table(
        title=f"{run.portfolio.name}\n{run.n_paths:,} paths, seed {run.portfolio.seed}, one joint run; million CNY",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("book", justify="left", no_wrap=True)
    for _, _, label, _ in HEADLINE:
        table.add_column(label, justify="right", min_width=max(len(word) for word in label.split("\n")))
    for name, book in result.books.items():
        figures = headline(book.analysis)
        table.add_row(name, *(console_value(figures[key], unit) for key, _, _, unit in HEADLINE))
    console.print(table)
    for name, book in result.books.items():
        for breach in book.analysis.breaches:
            console.print(f"[bold red]limit breach[/] ({name}): {_breach(breach)}")
    console.print(f"index: {result.index}")
    for name, book in result.books.items():
        console.print(f"  {name}: {result.out_dir / book.report} (also report.pdf, report.xlsx, summary.json)")


def _breach(breach: dict[str, object]) -> str:
    unit = Unit.PERCENT if str(breach["limit"]).startswith("ltv") else Unit.CNY
    unit = Unit.TONNES if str(breach["limit"]).startswith("position_t") else unit
    return f"{breach['limit']} = {format_value(breach['value'], unit)} > {format_value(breach['limit_value'], unit)}"


def _print_single(result: ReportRun) -> None:
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
        console.print(f"[bold red]limit breach[/]: {_breach(breach)}")
    console.print(
        f"report: {result.out_dir / 'report.html'} (also report.pdf, report.xlsx, paths_summary.parquet, summary.json)"
    )


def report_json(result: ReportRun) -> dict[str, object]:
    """The ``--json`` payload: a single book's summary, or the index's with each book's full summary."""
    if result.single:
        payload = summary_payload(result.run, result.analysis, result.run_id)
    else:
        payload = index_payload(result.run, list(result.books.values()), result.run_id)
        for name, book in result.books.items():
            payload["books"][name]["report_summary"] = summary_payload(book.run, book.analysis, result.run_id)
    return payload | {"out_dir": str(result.out_dir)}


def run(args: argparse.Namespace) -> int:
    """Execute ``carbonrisk report``."""
    portfolio = load_portfolio(args.file).with_run(n_paths=args.paths, seed=args.seed)
    result = run_with_progress(portfolio, args, quiet=args.json or not sys.stderr.isatty())
    for message in result.run.warnings:
        sys.stderr.write(f"carbonrisk: warning: {message}\n")
    if args.json:
        print_json(report_json(result))
        return 0
    print_report_summary(result)
    return 0
