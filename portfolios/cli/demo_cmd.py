"""``carbonrisk demo``: the end-to-end pipeline on the embedded CEA history."""

from __future__ import annotations

import argparse
import sys

from rich.table import Table

from models.memory import check_memory, estimate_price_paths
from models.quantities import PORTFOLIO_N_PATHS, PORTFOLIO_SEED
from models.validation import argparse_type
from portfolios.cli._common import (
    add_json_flag,
    add_scaleout_flags,
    console,
    print_json,
)
from portfolios.cli.report_cmd import print_report_summary, report_json, run_with_progress
from portfolios.demo import DEFAULT_HOLDING_T, DEFAULT_PATHS, DEFAULT_SEED, run_demo
from portfolios.demo_report import write_demo_files
from portfolios.io import OutputFolder
from portfolios.ledger import Ledger, new_run_id
from portfolios.portfolio import load_portfolio
from portfolios.reruns import demo_metrics

__all__ = ["register"]

_HELP = """\
The showcase: run the embedded demo portfolio (portfolios/data/demo_portfolio.toml) in three books, one joint
run: the bank's (CEA collateral desk, the CEA pledge loan, the CCER-linked loan), the developer's (three
geothermal projects - the Hebei case of document 001 and two basins of Table 1 - its CCER inventory and the
monetisation levers) and the emitter's (its 2025 compliance obligation and the forward that hedges it). Writes,
exactly as `carbonrisk report` does, DIR/bank/, DIR/developer/, DIR/emitter/ (report.html, report.pdf,
report.xlsx, paths_summary.parquet, summary.json each) and DIR/index.html linking them (keys in
`carbonrisk report --help`). --paths and --seed override the portfolio's own.

--cea-holding runs the first walking skeleton instead: GARCH(1,1)-t on the embedded CEA closes, one year of daily
paths from the last close, the 1-day and 10-day 95 %/99 % VaR and ES of a 1 000 000 t CEA holding and the price fan;
its summary.json keys: dataset, model (name, params, std_err, loglikelihood, aic, bic, persistence), simulation
(n_paths, n_steps, start_date, end_date, start_price_cny_per_t, seed), holding_t, position_value_cny, risk (list of
{level, horizon_days, var, var_se, es, es_se, n_paths}, CNY, positive = loss), fan (dates, quantiles), warnings,
elapsed_s, run_id (default paths 10 000, seed 20240131).

Writing is atomic: a failed run leaves no directory.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="showcase portfolio report (or --cea-holding: VaR of a CEA holding)",
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
        "--cea-holding", action="store_true", help="the walking skeleton: VaR/ES of 1 000 000 t CEA (GARCH(1,1)-t)"
    )
    add_scaleout_flags(parser)
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``carbonrisk demo``."""
    if not args.cea_holding:
        portfolio = load_portfolio(None).with_run(n_paths=args.paths, seed=args.seed)
        result = run_with_progress(portfolio, args, quiet=args.json or not sys.stderr.isatty())
        for message in result.run.warnings:
            sys.stderr.write(f"carbonrisk: warning: {message}\n")
        if args.json:
            print_json(report_json(result))
        else:
            print_report_summary(result)
        return 0
    return run_cea_holding(args)


def run_cea_holding(args: argparse.Namespace) -> int:
    """Execute ``carbonrisk demo --cea-holding``."""
    n_paths = DEFAULT_PATHS if args.paths is None else args.paths
    check_memory(  # one year of daily GARCH paths held in full (the quantiles and VaR read every path)
        estimate_price_paths(f"demo --cea-holding with {n_paths:,} paths", n_paths, 1 + 245, 1, full=True)
    )
    with console.status("fitting GARCH(1,1)-t and simulating paths...") if not args.json else _null():
        seed = DEFAULT_SEED if args.seed is None else args.seed
        ledger = Ledger()
        ledger.check_writable()  # before any work: a run that cannot be recorded writes nothing
        with OutputFolder(args.out) as folder:
            result = run_demo(n_paths=n_paths, seed=seed, holding_t=DEFAULT_HOLDING_T)
            run_id = new_run_id()
            write_demo_files(result, folder.staging, run_id=run_id)
            record = folder.commit(
                run_id,
                lambda final: ledger.record(
                    run_id=run_id,
                    kind="demo",
                    inputs={"n_paths": n_paths, "seed": seed, "holding_t": DEFAULT_HOLDING_T, "dataset": "cea"},
                    metrics=demo_metrics(result),
                    seed=seed,
                    n_paths=n_paths,
                    output_dir=final,
                ),
            )
        out = folder.final
    for message in result.warnings:
        sys.stderr.write(f"carbonrisk: warning: {message}\n")
    if args.json:
        print_json(result.to_dict() | {"out_dir": str(out), "run_id": record.id})
        return 0
    fit = result.fit
    console.print(
        f"CEA {result.history.summary()['start']} to {result.history.summary()['end']} "
        f"({result.history.n_obs} closes), last close {fit.last_price:.2f} CNY/t; "
        f"{fit.spec.name}: persistence {fit.persistence:.4f}, nu {float(fit.params['nu']):.2f}"
    )
    table = Table(title=f"Risk of {result.holding_t:,.0f} t CEA ({result.paths.n_paths:,} paths, seed {result.seed})")
    for col in ("horizon", "level", "VaR (CNY)", "ES (CNY)", "VaR s.e.", "ES s.e."):
        table.add_column(col, justify="right")
    for f in result.risk:
        table.add_row(
            f"{f.horizon_days} d",
            f"{f.level:.0%}",
            f"{f.var:,.0f}",
            f"{f.es:,.0f}",
            f"{f.var_se:,.0f}",
            f"{f.es_se:,.0f}",
        )
    console.print(table)
    end = result.fan.iloc[-1]
    console.print(
        f"1-year price fan on {result.fan.index[-1].date()}: "
        + ", ".join(f"P{float(c[1:]) * 100:.0f} {end[c]:.1f}" for c in result.fan.columns)
        + " CNY/t"
    )
    console.print(f"report: {out / 'report.html'}\nsummary: {out / 'summary.json'}  ({result.elapsed_s:.1f} s)")
    console.print(f"run id: {record.id} (carbonrisk runs show {record.id})")
    return 0


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
