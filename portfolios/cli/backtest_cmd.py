"""``carbonrisk backtest``: walk-forward 1-day VaR backtest with Kupiec and Christoffersen tests."""

from __future__ import annotations

import argparse

from rich.table import Table

from carbonrisk.models.backtest import backtest_var
from carbonrisk.models.catalog import make_spec
from carbonrisk.models.data import load_prices
from carbonrisk.models.quantities import BACKTEST_REFIT, BACKTEST_WINDOW
from carbonrisk.models.validation import argparse_type
from carbonrisk.portfolios.cli._common import add_json_flag, console, print_json
from carbonrisk.portfolios.cli.fit_cmd import _clean, add_model_arguments

__all__ = ["register"]

_HELP = """\
Walk-forward 1-day VaR backtest of a price model on PRICES: fit on a rolling (or expanding) window of --window
returns, refit every --refit trading days, forecast the next day's return quantile at each --levels, count
violations and test them (Kupiec proportion of failures; Christoffersen independence and conditional coverage).

JSON keys: model, data, window, refit, scheme, n_refits, passes_5pct (no rejection at 5 % at any level),
warnings, levels (one object per level: level, n_obs, violations, expected, kupiec_lr, kupiec_pvalue,
christoffersen_independence_lr, christoffersen_independence_pvalue, christoffersen_cc_lr,
christoffersen_cc_pvalue).
"""


def _levels(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid levels '{text}'; expected e.g. 0.95,0.99") from None
    if not values or any(not 0.5 < v < 1.0 for v in values):
        raise argparse.ArgumentTypeError(f"levels '{text}' must lie in (0.5, 1)")
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        listed = ", ".join(f"{v:g}" for v in repeated)
        raise argparse.ArgumentTypeError(f"levels '{text}' repeat {listed}; give each level once")
    return values


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``backtest`` subcommand."""
    parser = subparsers.add_parser(
        "backtest",
        help="walk-forward VaR backtest of a price model",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_arguments(parser)
    parser.add_argument("--levels", type=_levels, default=[0.95, 0.99], help="VaR levels (default 0.95,0.99)")
    parser.add_argument(
        "--window", type=argparse_type(BACKTEST_WINDOW), default=500, help="estimation window (default %(default)s)"
    )
    parser.add_argument(
        "--refit", type=argparse_type(BACKTEST_REFIT), default=20, help="days between refits (default %(default)s)"
    )
    parser.add_argument("--scheme", choices=("rolling", "expanding"), default="rolling", help="window scheme")
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``carbonrisk backtest``."""
    history = load_prices(args.prices, args.column)
    spec = make_spec(args.model, args.dist, persistence_policy=args.policy, persistence_cap=args.cap)
    result = backtest_var(history, spec, levels=args.levels, window=args.window, refit=args.refit, scheme=args.scheme)
    if args.json:
        print_json(_clean(result.to_dict()))
        return 0
    table = Table(
        title=f"{result.model} on {result.data}: 1-day VaR, {result.scheme} window {result.window}, "
        f"refit every {result.refit} days ({result.n_refits} fits)"
    )
    for col in ("level", "n", "violations", "expected", "Kupiec p", "Chr. ind. p", "Chr. cc p", "verdict"):
        table.add_column(col, justify="right")
    for lv in result.levels:
        table.add_row(
            f"{lv.level:.1%}",
            str(lv.n_obs),
            str(lv.violations),
            f"{lv.expected:.1f}",
            f"{lv.kupiec_pvalue:.3f}",
            f"{lv.christoffersen_independence_pvalue:.3f}",
            f"{lv.christoffersen_cc_pvalue:.3f}",
            "pass" if lv.passes() else "reject",
        )
    console.print(table)
    for note in result.warnings:
        console.print(f"note: {note}")
    return 0
