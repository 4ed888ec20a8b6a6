"""``carbonrisk demo``: the end-to-end pipeline on the embedded CEA history."""

from __future__ import annotations

import argparse
import sys

from rich.table import Table

from portfolios.cli._common import add_json_flag, console, non_negative_int, positive_int, print_json
from portfolios.demo import DEFAULT_HOLDING_T, DEFAULT_PATHS, DEFAULT_SEED, run_demo
from portfolios.demo_report import write_demo_outputs
from portfolios.ledger import Ledger, new_run_id
from portfolios.reruns import demo_metrics

__all__ = ["register"]

_HELP = """\
Fit GARCH(1,1)-t to the embedded CEA daily closes (2021-07-16 to 2024-10-31), simulate one year of daily prices
from the last close, and report the 1-day and 10-day 95 %/99 % VaR and expected shortfall of a 1 000 000 t CEA
holding, in CNY, plus the fan (5/25/50/75/95 % quantiles) of the price path.

Writes DIR/report.html (self-contained) and DIR/summary.json atomically: a failed run leaves no directory.

summary.json keys: dataset, model (name, params, std_err, loglikelihood, aic, bic, persistence), simulation
(n_paths, n_steps, start_date, end_date, start_price_cny_per_t, seed), holding_t, position_value_cny,
risk (list of {level, horizon_days, var, var_se, es, es_se, n_paths}, CNY, positive = loss),
fan (dates, quantiles), warnings, elapsed_s. --json prints the same object on stdout.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="end-to-end risk demo on real CEA prices",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out", default="carbonrisk-demo", metavar="DIR", help="output directory (default %(default)s)"
    )
    parser.add_argument(
        "--paths",
        type=positive_int,
        default=DEFAULT_PATHS,
        metavar="N",
        help="number of simulated paths (default %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        default=DEFAULT_SEED,
        metavar="S",
        help="random seed (default %(default)s)",
    )
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``carbonrisk demo``."""
    with console.status("fitting GARCH(1,1)-t and simulating paths...") if not args.json else _null():
        result = run_demo(n_paths=args.paths, seed=args.seed, holding_t=DEFAULT_HOLDING_T)
        run_id = new_run_id()
        out = write_demo_outputs(result, args.out, run_id=run_id)
        record = Ledger().record(
            run_id=run_id,
            kind="demo",
            inputs={"n_paths": args.paths, "seed": args.seed, "holding_t": DEFAULT_HOLDING_T, "dataset": "cea"},
            metrics=demo_metrics(result),
            seed=args.seed,
            n_paths=args.paths,
            output_dir=out,
        )
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
