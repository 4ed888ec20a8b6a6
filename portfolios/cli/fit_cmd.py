"""``carbonrisk fit``: fit a carbon-price model to CEA, HBEA or a price file and report its estimates."""

from __future__ import annotations

import argparse
import math
from typing import Any

from rich.table import Table

from carbonrisk.models.catalog import DEFAULT_DIST, DEFAULT_MODEL, MODEL_NAMES, fit_model
from carbonrisk.models.data import load_prices
from carbonrisk.models.garch import DISTRIBUTIONS, PERSISTENCE_POLICIES
from carbonrisk.models.interface import PriceModelResult
from carbonrisk.models.quantities import PERSISTENCE_CAP
from carbonrisk.models.validation import argparse_type
from carbonrisk.portfolios.cli._common import add_json_flag, console, print_json

__all__ = ["add_model_arguments", "register"]

_HELP = f"""\
Fit a price model by maximum likelihood to the daily closes of PRICES (cea, hbea or a .csv/.xlsx file) and print
its parameters with standard errors, log-likelihood, AIC/BIC, persistence, half-life, Ljung-Box diagnostics and
warnings. Models: garch, gjr, egarch (random walk with GARCH-family returns, arch), ou (Ornstein-Uhlenbeck on ln
price), ou-garch (OU with GARCH innovations). Default: {DEFAULT_MODEL} with {DEFAULT_DIST} innovations, the
model chosen by the walk-forward VaR backtests (see README).

A fit with persistence >= 0.999 warns and applies --policy to the simulation parameters (variance-target: scale to
--cap and target the sample variance; cap: scale to --cap; none: keep), printed and recorded in the output.

JSON keys: model, data, n_obs, params, std_err (labelled like params), sim_params (GARCH family: parameters used
for simulation after the policy), ar1 (ou models: c, phi, sigma_e), loglikelihood, aic, bic, persistence,
half_life_days, persistence_policy, policy_applied, diagnostics (lags, q, pvalue, q_squared, pvalue_squared:
Ljung-Box on standardised residuals and their squares), warnings. GARCH-family parameters are for returns in
percent per trading day; OU parameters are per year (kappa, sigma), theta in ln CNY/t.
"""


def add_model_arguments(parser: argparse.ArgumentParser, *, model_default: str | None = None) -> None:
    """``PRICES``, ``--column``, ``--model``, ``--dist``, ``--policy``, ``--cap`` shared by fit/backtest/simulate."""
    parser.add_argument("prices", metavar="PRICES", help="cea, hbea or a .csv/.xlsx price file")
    parser.add_argument("--column", default=None, help="price column of a file (default close / the only one)")
    parser.add_argument(
        "--model", choices=MODEL_NAMES, default=model_default, help=f"price model (default {DEFAULT_MODEL})"
    )
    parser.add_argument(
        "--dist", choices=DISTRIBUTIONS, default=None, help=f"innovation law (default {DEFAULT_DIST}; ou: normal)"
    )
    parser.add_argument(
        "--policy",
        choices=PERSISTENCE_POLICIES,
        default="variance-target",
        help="persistence policy for fits with persistence >= 0.999 (default %(default)s)",
    )
    parser.add_argument(
        "--cap",
        type=argparse_type(PERSISTENCE_CAP),
        default=0.99,
        help="persistence the policy scales to (default %(default)s)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``fit`` subcommand."""
    parser = subparsers.add_parser(
        "fit", help="fit a price model", description=_HELP, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_model_arguments(parser)
    add_json_flag(parser)
    parser.set_defaults(func=run)


def fit_from_args(args: argparse.Namespace) -> PriceModelResult:
    """Load PRICES and fit the model the arguments name."""
    history = load_prices(args.prices, args.column)
    return fit_model(history, args.model, args.dist, persistence_policy=args.policy, persistence_cap=args.cap)


def run(args: argparse.Namespace) -> int:
    """Execute ``carbonrisk fit``."""
    result = fit_from_args(args)
    summary = result.summary()
    if args.json:
        print_json(_clean(summary))
        return 0
    table = Table(title=f"{summary['model']} on {summary['data']} ({summary['n_obs']} returns)")
    for col in ("parameter", "estimate", "std. error"):
        table.add_column(col, justify="right")
    for key, value in summary["params"].items():
        table.add_row(key, f"{value:.6g}", f"{summary['std_err'].get(key, math.nan):.4g}")
    console.print(table)
    half = summary["half_life_days"]
    console.print(
        f"log-likelihood {summary['loglikelihood']:.2f}, AIC {summary['aic']:.2f}, BIC {summary['bic']:.2f}; "
        f"persistence {summary['persistence']:.5f}, half-life "
        + (f"{half:.1f} trading days" if half is not None else "infinite")
    )
    diag = summary["diagnostics"]
    if diag:
        console.print(
            f"Ljung-Box({int(diag['lags'])}): residuals Q={diag['q']:.2f} (p={diag['pvalue']:.3f}), "
            f"squared Q={diag['q_squared']:.2f} (p={diag['pvalue_squared']:.3f})"
        )
    console.print(
        f"persistence policy: {summary['policy_applied']}; simulation guards: {summary.get('guards', 'none')}"
    )
    return 0


def _clean(value: Any) -> Any:
    """JSON-safe copy: non-finite floats become null."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
