"""``carbonrisk demo``: the end-to-end pipeline on the embedded CEA history."""

from __future__ import annotations

import argparse
import sys

from carbonrisk.models.quantities import PORTFOLIO_N_PATHS, PORTFOLIO_SEED
from carbonrisk.models.validation import argparse_type
from carbonrisk.portfolios.cli._common import (
    add_json_flag,
    add_scaleout_flags,
    print_json,
)
from carbonrisk.portfolios.cli.report_cmd import print_report_summary, report_json, run_with_progress
from carbonrisk.portfolios.portfolio import CEA_HOLDING_PORTFOLIO, DEMO_PORTFOLIO, embedded_portfolio

__all__ = ["register"]

_HELP = """\
The showcase: run the embedded demo portfolio (portfolios/data/demo_portfolio.toml) in three books, one joint
run: the bank's (CEA collateral desk, the CEA pledge loan, the CCER-linked loan), the developer's (three
geothermal projects - the Hebei case of document 001 and two basins of Table 1 - its CCER inventory and the
monetisation levers) and the emitter's (its 2025 compliance obligation and the forward that hedges it). Writes,
exactly as `carbonrisk report` does, DIR/bank/, DIR/developer/, DIR/emitter/ (report.html, report.pdf,
report.xlsx, paths_summary.parquet, summary.json each) and DIR/index.html linking them (keys in
`carbonrisk report --help`). --paths and --seed override the portfolio's own.

--cea-holding runs the embedded portfolio portfolios/data/cea_holding.toml instead: 1 000 000 t of CEA held
for a year (GARCH(1,1)-FHS on the embedded CEA closes, default 10 000 paths, seed 20240131), through the same
engine and report as every portfolio file (the former walking skeleton, rebuilt on the engine).

Writing is atomic: a failed run leaves no directory.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="showcase portfolio report (or --cea-holding: a CEA holding's report)",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out", default="carbonrisk-demo", metavar="DIR", help="output directory (default %(default)s)"
    )
    parser.add_argument(
        "--paths", type=argparse_type(PORTFOLIO_N_PATHS), default=None, metavar="N", help="number of simulated paths"
    )
    parser.add_argument("--seed", type=argparse_type(PORTFOLIO_SEED), default=None, metavar="S", help="random seed")
    parser.add_argument(
        "--cea-holding", action="store_true", help="the report of a 1 000 000 t CEA holding (cea_holding.toml)"
    )
    add_scaleout_flags(parser)
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``carbonrisk demo``."""
    name = CEA_HOLDING_PORTFOLIO if args.cea_holding else DEMO_PORTFOLIO
    portfolio = embedded_portfolio(name).with_run(n_paths=args.paths, seed=args.seed)
    result = run_with_progress(portfolio, args, quiet=args.json or not sys.stderr.isatty())
    for message in result.run.warnings:
        sys.stderr.write(f"carbonrisk: warning: {message}\n")
    if args.json:
        print_json(report_json(result))
    else:
        print_report_summary(result)
    return 0
