"""``carbonrisk value``: value the instruments of a TOML contract file (or a shipped example)."""

from __future__ import annotations

import argparse
import secrets
from typing import Any

from rich.table import Table

from carbonrisk.finance.contracts import ContractFile, example_names, load_contract_file, load_example
from carbonrisk.finance.depth_sharing import RULE, RULE_TEXT
from carbonrisk.models.exceptions import InputError
from carbonrisk.models.memory import check_memory
from carbonrisk.models.quantities import MC_PATHS, SEED
from carbonrisk.models.validation import argparse_type
from carbonrisk.portfolios import __version__
from carbonrisk.portfolios.budget import estimate_value
from carbonrisk.portfolios.cli._common import (
    add_json_flag,
    add_scaleout_flags,
    console,
    print_json,
)
from carbonrisk.portfolios.cluster import value_contracts

__all__ = ["register"]

DEFAULT_PATHS = 20_000

_HELP = """\
Value every instrument of a TOML contract file: market data ([market]: valuation_date, discount_rate or
discount_quotes, correlation, [market.CEA] / [market.CCER] with spot, vol and financing_rate /
convenience_yield or forwards) and one or more [[instrument]] tables (type = forward, european_option,
asian_option, guaranteed_purchase, guaranteed_sale, carbon_swap, carbon_swaption, exchange_option, pledge_loan,
project_loan, future_credit_monetisation, carbon_repo, carbon_lending, carbon_custody, quota_overdraft).
Monte Carlo runs on correlated GBM paths calibrated to the market;
sensitivities are bump-and-revalue with common random numbers. See the README for the file format.

--workers N (a local Dask cluster of N processes) or --scheduler ADDRESS (an existing cluster) generates the
4096-path blocks of every path set (base and bumped markets) on the cluster; the engines price on this machine.
The numbers are identical to the in-process run.

Pledge loans, repos, carbon lending and quota overdrafts of the file that trade the same asset (CEA or CCER) on
the same side on a default (sales: pledge loans and repos; buy-ins: lending and overdrafts) share each day's
market depth, pro rata to the tonnes each still has to trade (the portfolio run's rule); --json says so in
depth_sharing (rule, description, groups: asset, side, depth_t_per_day, contracts, capacities_t_per_day) and in
each such contract's extras.depth_sharing (also shared_with and expected_loss_alone_cny).

--json keys: carbonrisk_version, source, valuation_date, paths, seed, market (discount, spots_cny_per_t, vols,
correlation), depth_sharing, instruments (list of: name, type, value (CNY), std_error,
method, n_paths, sensitivities {delta {factor: CNY per CNY/t}, vega {factor: CNY per vol point}, rho (CNY per
bp)}, extras (engine numbers, e.g. loan probabilities p_margin_call, p_liquidation, p_loss, expected_loss_cny,
exposure_at_default_cny, loss_given_default, break_even_spread, max_ltv_for_target; p_dscr_below_1_0,
p_dscr_below_1_2, p_default, dscr_by_period; fair_prepayment_price_cny_per_t, discount_to_spot,
moved_into_early_years_cny; decomposition, difference; carbon financing: side, cash_lent_cny,
financier_npv_cny, seller_npv_cny, seller_cost_of_funds_rate, spread_over_curve, expected_margin_t, margin_t_p95,
break_even_repo_rate, repo_rate_for_target; lender_npv_cny, pv_fee_cny, break_even_fee_rate, fee_rate_for_target;
owner_npv_cny, manager_npv_cny, total_npv_cny, pv_lending_fees_cny, pv_borrower_losses_cny, pv_guarantee_cny,
pv_owner_loss_cny, break_even_guarantee_cny; entity_cost_cny, commitment_fee_cny, pv_interest_cny, interest_t,
break_even_overdraft_rate, overdraft_rate_for_target; p_default), terms (the contract as read), checks (list of
{method, value, std_error, difference}: the other engines on the same paths), cashflows (expected cash flows by
date, where computed), exposure (derivatives: peak_epe_cny, peak_pfe_cny, effective_epe_cny, pfe_level, cva_cny,
cva_se_cny with the contract's counterparty_pd_1y / counterparty_rating and counterparty_lgd, and the profile
dates, epe_cny, epe_se_cny, ene_cny, pfe_cny on its own path set)).

Structured products (issue 18): type = structured_deposit (extras zero_coupon_bond_cny, call_spread_cny,
bank_hedge_cost_cny, bank_option_hedge_cost_cny, bank_margin_cny, expected_payout_cny, depositor_expected_return,
depositor_expected_annual_rate, p_linked_coupon_paid; monthly averaging adds control_variate, beta,
plain_call_spread_cny, plain_call_spread_std_error) and carbon_linked_bond (extras fixed_leg_pv_cny,
fixed_leg_clean_price, fixed_leg_dirty_price, fixed_leg_yield, fixed_leg_modified_duration,
fixed_leg_macaulay_duration, linked_leg_pv_cny, linked_leg_std_error, price_per_100, yield, modified_duration,
macaulay_duration, issuer_cfar_95_max_coupon_cny, issuer_cfar_95_life_cny, control_variate; cashflows per coupon
date: fixed_coupon_cny, expected_linked_coupon_cny, redemption_cny, coupon_p95_cny, issuer_cfar_95_cny).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``value`` subcommand."""
    parser = subparsers.add_parser(
        "value",
        help="value instruments from a TOML contract file",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", nargs="?", metavar="FILE", help="TOML contract file")
    parser.add_argument("--example", metavar="NAME", help="run a shipped sample file instead of FILE")
    parser.add_argument("--list-examples", action="store_true", help="print the sample names, one per line")
    parser.add_argument(
        "--paths",
        type=argparse_type(MC_PATHS),
        default=None,
        help=f"Monte Carlo paths (default: file or {DEFAULT_PATHS})",
    )
    parser.add_argument(
        "--seed", type=argparse_type(SEED), default=None, help="random seed (default: file, else fresh)"
    )
    parser.add_argument("--no-sensitivities", action="store_true", help="skip delta / vega / rho")
    add_scaleout_flags(parser)
    add_json_flag(parser)
    parser.set_defaults(func=run)


def _load(args: argparse.Namespace) -> ContractFile:
    if args.example is not None and args.file is not None:
        raise InputError("give either FILE or --example NAME, not both")
    if args.example is not None:
        return load_example(args.example)
    if args.file is None:
        raise InputError("FILE is required (or --example NAME, or --list-examples)")
    return load_contract_file(args.file)


def _depth_sharing(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The shared-depth rule applied to the file's contracts and its groups (asset, side, depth, contracts), from
    the instruments' ``extras.depth_sharing`` (:func:`carbonrisk.finance.depth_sharing.share_depth`); no group when no
    two contracts trade the same asset on the same side."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for item in items:
        info = item["extras"].get("depth_sharing")
        if isinstance(info, dict):
            keep = ("rule", "asset", "side", "depth_t_per_day", "contracts", "capacities_t_per_day")
            groups.setdefault((info["asset"], info["side"]), {k: info[k] for k in keep})
    return {"rule": RULE, "description": RULE_TEXT, "groups": list(groups.values())}


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:,.6g}" if abs(x) < 1 else f"{x:,.2f}"
    return str(x)


def run(args: argparse.Namespace) -> int:
    """Execute ``carbonrisk value``."""
    if args.list_examples:
        for name in example_names():
            console.print(name)
        return 0
    contract = _load(args)
    n_paths = args.paths or contract.paths or DEFAULT_PATHS
    seed = args.seed if args.seed is not None else contract.seed
    if seed is None:
        seed = secrets.randbelow(2**32)  # recorded in the output so the run can be repeated
    check_memory(
        estimate_value(
            contract.instruments,
            contract.market,
            n_paths,
            f"value with {n_paths:,} paths",
            sensitivities=not args.no_sensitivities,
        )
    )
    results = value_contracts(
        contract.instruments,
        contract.market,
        n_paths=n_paths,
        seed=seed,
        sensitivities=not args.no_sensitivities,
        workers=args.workers,
        scheduler=args.scheduler,
        blocks_per_task=args.blocks_per_task,
    )
    items = [r.to_dict() for r in results]
    mkt = contract.market
    payload: dict[str, Any] = {
        "carbonrisk_version": __version__,
        "source": contract.source,
        "valuation_date": str(contract.market.valuation_date.date()),
        "paths": n_paths,
        "seed": seed,
        "market": {
            "discount": mkt.discount.description,
            "spots_cny_per_t": {n: mkt.spot(n) for n in mkt.forwards},
            "vols": {n: mkt.vol(n) for n in mkt.forwards},
            "correlation": mkt.correlation,
        },
        "instruments": items,
        "depth_sharing": _depth_sharing(items),
    }
    if args.json:
        print_json(payload)
        return 0
    console.print(f"{contract.source}: valuation on {payload['valuation_date']} ({n_paths:,} paths, seed {seed})")
    for group in payload["depth_sharing"]["groups"]:
        console.print(
            f"shared market depth ({group['rule']}): {group['asset']} {group['side']}s of "
            f"{', '.join(group['contracts'])} share {group['depth_t_per_day']:,.0f} t/day"
        )
    for item in items:
        table = Table(title=f"{item['name']} ({item['type']})", show_header=False, title_justify="left")
        table.add_column("field")
        table.add_column("value", overflow="fold")
        table.add_row("value (CNY)", f"{item['value']:,.2f}  (s.e. {item['std_error']:,.2f})")
        table.add_row("method", item["method"])
        for check in item["checks"]:
            table.add_row(
                "check",
                f"{check['value']:,.2f} (s.e. {check['std_error']:,.2f}, diff {check['difference']:,.2f}): "
                f"{check['method']}",
            )
        s = item["sensitivities"]
        for key, unit in (("delta", "CNY per CNY/t"), ("vega", "CNY per vol point")):
            if s.get(key):
                table.add_row(f"{key} ({unit})", ", ".join(f"{k} {v:,.2f}" for k, v in s[key].items()))
        if "rho" in s:
            table.add_row("rho (CNY per bp)", f"{s['rho']:,.2f}")
        for key, value in item["extras"].items():
            if isinstance(value, (int, float, str)) and value is not None:
                table.add_row(key, _fmt(value))
            elif key == "moved_into_early_years_cny":
                table.add_row(key, "; ".join(f"{k} {v:,.0f}" for k, v in value.items()))
            elif key == "early_income_share":
                table.add_row(key, "; ".join(f"{k} {v:.1%}" for k, v in value.items()))
        exposure = item.get("exposure")
        if exposure is not None:
            table.add_row(
                "exposure (CNY)",
                f"peak EPE {exposure['peak_epe_cny']:,.2f}, peak PFE {exposure['peak_pfe_cny']:,.2f} "
                f"({exposure['pfe_level']:.0%}), effective EPE {exposure['effective_epe_cny']:,.2f}",
            )
            if exposure["cva_cny"] is not None:
                table.add_row("CVA (CNY)", f"{exposure['cva_cny']:,.2f}  (s.e. {exposure['cva_se_cny']:,.2f})")
        console.print(table)
    return 0
