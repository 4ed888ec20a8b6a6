"""``carbonrisk reductions``: geothermal emission reductions (AM0072 Table 1, the Hebei case, a user's project)."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from carbonrisk.models.geothermal.emission_factors import EF_FORMS, SCENARIO_LABEL_NOTE
from carbonrisk.models.geothermal.methodology import (
    BASELINE_EF_T_PER_TJ,
    BASELINE_EFFICIENCY,
    DEFAULT_PRICE_CNY_PER_T,
    FUGITIVE_TEMPERATURE_LIMIT_C,
    PE_SHARE_OF_BE,
    table1,
)
from carbonrisk.models.geothermal.project import ProjectResult, hebei_project, load_project, run_project
from carbonrisk.models.geothermal.risk import simulate_project
from carbonrisk.models.geothermal.risk_summary import summarise_project_risk
from carbonrisk.models.memory import check_memory, estimate_project_paths
from carbonrisk.models.quantities import REDUCTIONS_RISK_PATHS, SEED, TABLE1_PRICE
from carbonrisk.models.scenarios import SCENARIOS
from carbonrisk.models.validation import argparse_type
from carbonrisk.portfolios.cli._common import add_json_flag, console, print_json

__all__ = ["register"]

_TABLE1_HELP = """\
Recompute Table 1 of document 000 (AM0072 / CM-022-V01, 12 sedimentary basins): BE = H_CAP x 87.3 / 0.85,
PE = 8 % of BE, ER = BE - PE, and compare with the printed values (3 significant figures). The printed Songliao row
is inconsistent with its own heat input and is flagged; the revenue is ER x price.

--json keys: price_cny_per_t, rows (list of {basin, basin_zh, h_cap_tj_per_a, be_t_per_a, pe_t_per_a, er_t_per_a,
printed_be_t_per_a, printed_pe_t_per_a, printed_er_t_per_a, consistent, flag}), totals (h_cap_tj_per_a,
be_t_per_a, pe_t_per_a, er_t_per_a, revenue_cny_per_a, printed {...}, printed_row_sum {...}, from_rounded_h {...}),
flags (list of str), assumptions {ef_t_per_tj, efficiency, pe_share_of_be, le_t, fugitive_gas}.
"""

_PROJECT_KEYS = """\
--json keys: name, scenario, ef_form, years [first, last], season {season_days, heat_mwh, heat_twh, stage1_share,
stage2_share, hp_hours, stage2_vs_stage1_in_hp_hours, peak_load_mw, unmet_mwh, electricity_mwh, electricity_gwh,
electricity_components_mwh {pumping, reinjection, heat_pump, aux}, electricity_shares {...},
power_without_hp_mw, power_with_hp_mw, degree_hours}, reductions_t {year: t}, cumulative_reductions_t,
credits_issued_t {issue year: t}, issuance {project_start, registration, crediting_years, crediting_end,
monitoring_months, verification_months, issuance_months, uncertainty_deduction, reductions_t,
before_crediting_t, after_crediting_t, deducted_t, credits_t, first_issue, last_issue}, income_cny {year: CNY}
(reductions x scenario price, 2025-2040 as in doc 001), income_total_cny, income_years, income_peak_year,
price_source, am0072 {be_t, pe_t, er_t, first_year, technologies, pe_method, electricity_mwh, grid_ef_t_per_mwh,
le_t, fugitive_gas, ...} (the first year under AM0072 / doc 000: coal-boiler baseline, metered PE), notes.
"""

_HEBEI_HELP = f"""\
The Hebei case of document 001 (2.3 million m2, plate exchanger + heat pump, 2021-2040): one heating season hour
by hour (embedded synthetic typical year or --weather FILE, an hourly CSV with column temperature_c and optionally
time), yearly reductions = heat x heat EF - electricity x power EF under the scenario's static, linear or dynamic
emission factors (or --ef FILE, a CSV year, power_ef_t_per_mwh, heat_ef_t_per_mwh), the CCER credits issued per
year, and the carbon income 2025-2040 at the scenario price curve.

{_PROJECT_KEYS}"""

_PROJECT_HELP = f"""\
Run a user's project described in a TOML file (keys as models/data/geothermal/hebei_project.toml; keys left out
take the Hebei defaults): same outputs as 'reductions hebei'.

{_PROJECT_KEYS}"""


_RISK_HELP = """\
Monte Carlo project risk of the Hebei case (or FILE.toml): drilling failures (re-drill cost and start-up delay,
capacity loss), capex overrun, availability and weather, per path; paths are drawn in 4096-path blocks so a seed
gives the same numbers whatever the chunking. Prints yearly quantiles and the distribution of totals.

--json keys: name, scenario, ef_form, n_paths, seed, years, quantiles {field: {p5, p50, p95: list per year}} for
heat_mwh, reductions_t, credits_issued_t, opex_cny; totals {field: {mean, se, p5, p50, p95}} for the sums over
years of reductions_t, credits_issued_t, capex_cny, opex_cny; deterministic_totals {field: value};
startup_delay_share, mean_failed_wells, capacity_factor_p5.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``reductions`` subcommand group."""
    group = subparsers.add_parser(
        "reductions",
        help="geothermal emission reductions and CCER credits",
        description="Geothermal emission reductions (AM0072), the Hebei cascade case, CCER credits.",
    )
    inner = group.add_subparsers(
        dest="reductions_command", metavar="SUBCOMMAND", required=True, parser_class=type(group)
    )
    t1 = inner.add_parser(
        "table1",
        help="Table 1 of doc 000",
        description=_TABLE1_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t1.add_argument(
        "--price",
        type=argparse_type(TABLE1_PRICE),
        default=DEFAULT_PRICE_CNY_PER_T,
        help="carbon price, CNY/t (default 60)",
    )
    add_json_flag(t1)
    t1.set_defaults(func=run_table1)
    hb = inner.add_parser(
        "hebei",
        help="Hebei case of doc 001",
        description=_HEBEI_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    hb.add_argument("--scenario", choices=SCENARIOS, default="mid", help="carbon-price scenario (default mid)")
    hb.add_argument(
        "--ef",
        default="dynamic",
        metavar="static|linear|dynamic|FILE",
        help="emission-factor form (default dynamic) or a CSV with year, power_ef_t_per_mwh, heat_ef_t_per_mwh",
    )
    hb.add_argument("--weather", metavar="FILE", default=None, help="hourly temperature CSV of one heating season")
    add_json_flag(hb)
    hb.set_defaults(func=run_hebei)
    pr = inner.add_parser(
        "project",
        help="a project TOML file",
        description=_PROJECT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pr.add_argument("file", metavar="FILE.toml", help="project description")
    add_json_flag(pr)
    pr.set_defaults(func=run_project_cmd)
    rk = inner.add_parser(
        "risk",
        help="per-path project risk",
        description=_RISK_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rk.add_argument("file", metavar="FILE.toml", nargs="?", default=None, help="project (default: the Hebei case)")
    rk.add_argument(
        "--paths", type=argparse_type(REDUCTIONS_RISK_PATHS), default=2000, help="Monte Carlo paths (default 2000)"
    )
    rk.add_argument("--seed", type=argparse_type(SEED), default=20240131, help="seed (default 20240131)")
    add_json_flag(rk)
    rk.set_defaults(func=run_risk)


def run_table1(args: argparse.Namespace) -> int:
    """Execute ``carbonrisk reductions table1``."""
    result = table1(price_cny_per_t=args.price)
    if args.json:
        print_json(
            {
                "price_cny_per_t": result.price_cny_per_t,
                "rows": result.rows.to_dict(orient="records"),
                "totals": result.totals,
                "flags": result.flags,
                "assumptions": {
                    "ef_t_per_tj": BASELINE_EF_T_PER_TJ,
                    "efficiency": BASELINE_EFFICIENCY,
                    "pe_share_of_be": PE_SHARE_OF_BE,
                    "le_t": 0.0,
                    "fugitive_gas": f"ignored below {FUGITIVE_TEMPERATURE_LIMIT_C:g} C at 1000 m (doc 000, 2.1.2)",
                },
            }
        )
        return 0
    table = Table(title="AM0072 reductions of the 12 basins (doc 000 Table 1), tCO2/a")
    for col in ("basin", "H_CAP TJ/a", "BE", "PE", "ER", "printed BE", "printed PE", "printed ER", "ok"):
        table.add_column(col, justify="left" if col == "basin" else "right")
    for r in result.rows.itertuples(index=False):
        table.add_row(
            str(r.basin),
            f"{r.h_cap_tj_per_a:.3g}",
            f"{r.be_t_per_a:.3g}",
            f"{r.pe_t_per_a:.3g}",
            f"{r.er_t_per_a:.3g}",
            f"{r.printed_be_t_per_a:.3g}",
            f"{r.printed_pe_t_per_a:.3g}",
            f"{r.printed_er_t_per_a:.3g}",
            "yes" if r.consistent else "NO",
        )
    t, p = result.totals, result.totals["printed"]
    table.add_row(
        "total",
        f"{t['h_cap_tj_per_a']:.3g}",
        f"{t['be_t_per_a']:.3g}",
        f"{t['pe_t_per_a']:.3g}",
        f"{t['er_t_per_a']:.3g}",
        f"{p['be_t_per_a']:.3g}",
        f"{p['pe_t_per_a']:.3g}",
        f"{p['er_t_per_a']:.3g}",
        "",
    )
    console.print(table)
    console.print(
        f"revenue at {result.price_cny_per_t:g} CNY/t: {t['revenue_cny_per_a'] / 1e9:,.1f} billion CNY/a "
        f"(printed {p['revenue_cny_per_a'] / 1e9:,.0f} at 60 CNY/t)"
    )
    for flag in result.flags:
        console.print(f"flag: {flag}")
    return 0


def _payload(result: ProjectResult) -> dict[str, Any]:
    summary = result.summary()
    notes = [SCENARIO_LABEL_NOTE]
    if result.season.summary["unmet_mwh"] > 0.5:
        notes.append(f"unmet heat demand {result.season.summary['unmet_mwh']:.0f} MWh (stage-1 capacity exceeded)")
    summary["notes"] = notes
    return summary


def _print_project(result: ProjectResult) -> None:
    s = result.season.summary
    console.print(
        f"[bold]{result.project.name}[/bold]: scenario {result.project.scenario}, EF {result.trajectory.form}"
    )
    console.print(
        f"season {s['season_days']} days, heat {s['heat_mwh']:,.0f} MWh ({s['heat_twh']:.3f} TWh), stage shares "
        f"{s['stage1_share']:.2%} / {s['stage2_share']:.2%}, heat-pump hours {s['hp_hours']}, peak load "
        f"{s['peak_load_mw']:.1f} MW"
    )
    comp = ", ".join(
        f"{k} {v:,.0f} MWh ({s['electricity_shares'][k]:.2%})" for k, v in s["electricity_components_mwh"].items()
    )
    console.print(f"electricity {s['electricity_gwh']:.2f} GWh: {comp}")
    table = Table(title="yearly reductions, credits and income")
    for col in ("year", "heat EF", "power EF", "reductions t", "credits issued t", "price CNY/t", "income CNY"):
        table.add_column(col, justify="right")
    credits = result.issuance.credits_by_year
    a = result.annual
    for year in sorted(set(a.index.tolist()) | set(credits.index.tolist())):
        in_life = year in a.index
        table.add_row(
            str(year),
            f"{a.at[year, 'heat_ef_t_per_mwh']:.4f}" if in_life else "",
            f"{a.at[year, 'power_ef_t_per_mwh']:.4f}" if in_life else "",
            f"{a.at[year, 'reductions_t']:,.0f}" if in_life else "",
            f"{credits.get(year, 0.0):,.0f}",
            f"{a.at[year, 'price_cny_per_t']:.2f}" if in_life and year >= 2025 else "",
            f"{a.at[year, 'income_cny']:,.0f}" if in_life and 2025 <= year <= 2040 else "",
        )
    console.print(table)
    summary = result.summary()
    iss = summary["issuance"]
    console.print(
        f"cumulative reductions {summary['cumulative_reductions_t']:,.0f} t; credits issued {iss['credits_t']:,.0f} t "
        f"(registration {iss['registration']}, crediting to {iss['crediting_end']}); never credited: "
        f"{iss['before_crediting_t']:,.0f} t before registration, {iss['after_crediting_t']:,.0f} t after the "
        f"crediting period; uncertainty deduction {iss['deducted_t']:,.0f} t"
    )
    console.print(
        f"carbon income 2025-2040: {summary['income_total_cny'] / 1e6:,.2f} million CNY "
        f"(peak {summary['income_peak_year']}; price curve {summary['price_source']})"
    )
    am = summary["am0072"]
    console.print(
        f"AM0072 view of {am['first_year']} (doc 000: coal boiler 87.3 t/TJ / 0.85, metered PE): "
        f"BE {am['be_t']:,.0f} t, PE {am['pe_t']:,.0f} t, ER {am['er_t']:,.0f} t"
    )
    console.print(f"note: {SCENARIO_LABEL_NOTE}")


def run_hebei(args: argparse.Namespace) -> int:
    """Execute ``carbonrisk reductions hebei``."""
    if args.ef in EF_FORMS:
        project = hebei_project(args.scenario, args.ef, weather_csv=args.weather)
    else:
        project = hebei_project(args.scenario, "dynamic", weather_csv=args.weather, ef_csv=args.ef)
    result = run_project(project)
    return _emit(result, args.json)


def _emit(result: ProjectResult, as_json: bool) -> int:
    """Print a project result as JSON or as tables."""
    if as_json:
        print_json(_payload(result))
    else:
        _print_project(result)
    return 0


def run_project_cmd(args: argparse.Namespace) -> int:
    """Execute ``carbonrisk reductions project FILE.toml``."""
    result = run_project(load_project(args.file))
    return _emit(result, args.json)


def run_risk(args: argparse.Namespace) -> int:
    """Execute ``carbonrisk reductions risk [FILE.toml]``."""
    project = load_project(args.file)
    det = simulate_project(project, 1, deterministic=True)  # its shapes are the per-path arrays' (years, vintages)
    shape = (len(det.years), int(det.credits_by_vintage_t.shape[1]))
    check_memory(estimate_project_paths(f"reductions risk --paths {args.paths}", [shape], args.paths))
    summary = summarise_project_risk(project, args.paths, args.seed, deterministic=det)
    payload = {
        "name": project.name,
        "scenario": project.scenario,
        "ef_form": project.ef_form if project.ef_csv is None else "csv",
        "n_paths": args.paths,
        "seed": args.seed,
    } | summary.to_dict()
    totals, deterministic = summary.totals, summary.deterministic_totals
    if args.json:
        print_json(payload)
        return 0
    table = Table(title=f"{project.name}: {args.paths:,} paths, seed {args.seed}")
    table.add_column("total over the life", justify="left")
    for col in ("deterministic", "mean", "s.e.", "P5", "P50", "P95"):
        table.add_column(col, justify="right")
    for field, t in totals.items():
        table.add_row(
            field,
            f"{deterministic[field]:,.0f}",
            *(f"{t[k]:,.0f}" for k in ("mean", "se", "p5", "p50", "p95")),
        )
    console.print(table)
    console.print(
        f"start-up delayed on {payload['startup_delay_share']:.0%} of paths; mean failed wells "
        f"{payload['mean_failed_wells']:.2f}; capacity factor P5 {payload['capacity_factor_p5']:.3f}"
    )
    return 0
