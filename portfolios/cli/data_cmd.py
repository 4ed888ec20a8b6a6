"""``carbonrisk data show``: what a price history holds."""

from __future__ import annotations

import argparse

from rich.table import Table

from carbonrisk.models.data import load_prices
from carbonrisk.portfolios.cli._common import add_json_flag, console, print_json

__all__ = ["register"]

_SHOW_HELP = """\
Load a daily price history (embedded 'cea' or 'hbea', or a .csv / .xlsx file with a date column and a price
column), validate it and print rows, date range, price range, gaps longer than 10 calendar days and daily
log-return statistics.

--json keys: name, source, column, rows, start, end, price_min_cny_per_t, price_min_date, price_max_cny_per_t,
price_max_date, price_last_cny_per_t, gaps (list of {start, end, days}), notes, returns (n, mean_daily,
std_daily, vol_annualised, skewness, excess_kurtosis, min, max, zero_share).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``data`` subcommand group."""
    data = subparsers.add_parser("data", help="inspect price histories", description="Inspect price histories.")
    inner = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True, parser_class=type(data))
    show = inner.add_parser(
        "show",
        help="summary of a price history",
        description=_SHOW_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    show.add_argument("source", metavar="NAME|FILE", help="'cea', 'hbea' or a .csv/.xlsx file")
    show.add_argument(
        "--column",
        default=None,
        metavar="NAME",
        help="price column (default 'close' or the only numeric one)",
    )
    add_json_flag(show)
    show.set_defaults(func=run_show)


def run_show(args: argparse.Namespace) -> int:
    """Execute ``carbonrisk data show``."""
    summary = load_prices(args.source, column=args.column).summary()
    if args.json:
        print_json(summary)
        return 0
    table = Table(title=f"{summary['name']} ({summary['source']}, column '{summary['column']}')", show_header=False)
    table.add_column("field")
    table.add_column("value", justify="right")
    r = summary["returns"]
    rows = [
        ("rows", f"{summary['rows']:,}"),
        ("date range", f"{summary['start']} to {summary['end']}"),
        ("price min (CNY/t)", f"{summary['price_min_cny_per_t']:.2f} on {summary['price_min_date']}"),
        ("price max (CNY/t)", f"{summary['price_max_cny_per_t']:.2f} on {summary['price_max_date']}"),
        ("last price (CNY/t)", f"{summary['price_last_cny_per_t']:.2f}"),
        (
            "gaps > 10 days",
            ", ".join(f"{g['start']} -> {g['end']} ({g['days']} d)" for g in summary["gaps"]) or "none",
        ),
        ("daily log-return mean", f"{r['mean_daily']:.5f}"),
        ("daily log-return std", f"{r['std_daily']:.5f}"),
        ("annualised volatility", f"{r['vol_annualised']:.1%}"),
        ("skewness", f"{r['skewness']:.2f}"),
        ("excess kurtosis", f"{r['excess_kurtosis']:.2f}"),
        ("min / max return", f"{r['min']:.4f} / {r['max']:.4f}"),
        ("zero-return days", f"{r['zero_share']:.1%}"),
    ]
    for field, value in rows:
        table.add_row(field, value)
    console.print(table)
    return 0
