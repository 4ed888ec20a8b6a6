"""The portfolio report: ``report.html`` (self-contained), ``report.pdf``, ``report.xlsx``, ``paths_summary.parquet``,
``summary.json``.

Written atomically into the output directory (a failed or interrupted run leaves no half report).
"""

from __future__ import annotations

import html
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from finance.instruments import PledgeLoan
from models.exceptions import ReportWarning
from portfolios import __version__
from portfolios.analysis import Analysis
from portfolios.components import LoanPaths
from portfolios.engine import PortfolioRun, pledge_rows
from portfolios.excel import write_workbook
from portfolios.history import project_history
from portfolios.html import figure_tag, page, section, table_tag, warnings_block
from portfolios.io import atomic_output_dir, write_json
from portfolios.pdf import print_pdf

__all__ = ["summary_payload", "write_report", "write_report_files"]

_TITLES = {
    "var_es": "Value at risk and expected shortfall (CNY, positive = loss)",
    "es_contributions_1y_99": "Contributions to the 1-year 99 % expected shortfall (Euler)",
    "limit_breaches": "Limit breaches",
    "contracts": "Contracts: value today, revaluation method and deltas",
    "loans": "Loans: margin-call, default and loss probabilities",
    "credit": "Loans: credit figures (PD, LGD, EAD, IFRS 9 ECL, IRB and standardised capital)",
    "dscr": "Project loan DSCR by period",
    "compliance_cost_at_risk": "Compliance cost-at-risk (emitter short allowances)",
    "cash_flow_at_risk": "Cash-flow-at-risk per year (projects and compliance, CNY)",
    "projects": "Projects: NPV, IRR and payback distributions",
    "project_es_contributions": "Contributions of projects to the 95 % NPV shortfall",
    "mismatch": "Early-risk / late-income mismatch",
    "mismatch_profile": "Mismatch profile by year (portfolio)",
    "levers": "What each lever changes (and costs)",
    "fan_CEA": "CEA price fan (CNY/t)",
    "fan_CCER": "CCER price fan (CNY/t)",
}


def _fan_figure(analysis: Analysis) -> str:
    fig = Figure(figsize=(11, 3.8))
    axes = fig.subplots(1, 2)
    for ax, factor in zip(axes, ("CEA", "CCER"), strict=True):
        fan = analysis.tables[f"fan_{factor}"]
        x = pd.DatetimeIndex(fan.index)
        ax.fill_between(x, fan["p05"], fan["p95"], alpha=0.2, color="#2b6a4f", label="5-95 %")
        ax.fill_between(x, fan["p25"], fan["p75"], alpha=0.4, color="#2b6a4f", label="25-75 %")
        ax.plot(x, fan["p50"], color="#2b6a4f", label="median")
        ax.set_title(f"{factor} (CNY/t)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    return figure_tag(fig, "Fan charts of the simulated CEA and CCER prices.", "price fan charts")


def _cash_flow_figure(run: PortfolioRun) -> str:
    cf = run.arrays["total_cash_flow_cny"]
    years = list(run.context.years)
    fig = Figure(figsize=(11, 3.6))
    ax = fig.subplots()
    q = np.quantile(cf / 1e6, [0.05, 0.25, 0.5, 0.75, 0.95], axis=1)
    ax.fill_between(years, q[0], q[4], alpha=0.2, color="#345", label="5-95 %")
    ax.fill_between(years, q[1], q[3], alpha=0.4, color="#345", label="25-75 %")
    ax.plot(years, q[2], color="#345", label="median")
    ax.axhline(0, color="k", lw=0.6)
    ax.set_ylabel("million CNY")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Annual project cash flows (carbon + heat income - capex - opex)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return figure_tag(fig, "Distribution of the projects' annual cash flows.", "annual cash-flow distribution")


def _mismatch_figure(analysis: Analysis) -> str:
    prof = analysis.tables["mismatch_profile"]
    fig = Figure(figsize=(11, 3.8))
    ax = fig.subplots()
    years = np.asarray(prof.index)
    ax.bar(
        years - 0.2,
        prof["downside_es_contribution_cny"] / 1e6,
        width=0.4,
        color="#c0392b",
        label="downside (ES contribution)",
    )
    ax.bar(years + 0.2, prof["expected_income_cny"] / 1e6, width=0.4, color="#2b6a4f", label="expected carbon income")
    ax.set_ylabel("million CNY")
    ax2 = ax.twinx()
    ax2.plot(years, prof["coverage_probability"], color="#333", marker=".", label="P(income covers early losses)")
    ax2.set_ylim(0, 1.05)
    ax.set_title("Early risk vs late income (portfolio of projects)")
    ax.legend(loc="upper left", fontsize=7)
    ax2.legend(loc="upper right", fontsize=7)
    ax.grid(alpha=0.3)
    return figure_tag(
        fig, "Downside profile vs expected carbon income by year, and coverage probability.", "mismatch chart"
    )


def _coverage_figure(run: PortfolioRun) -> str:
    parts = []
    for c, spec in enumerate(run.portfolio.contracts):
        if not isinstance(spec.instrument, PledgeLoan):
            continue
        cov = LoanPaths.read(run.arrays, c).coverage
        assert cov is not None
        dates = run.context.dates[pledge_rows(run.context, spec.instrument)]
        q = np.nanquantile(cov, [0.05, 0.5, 0.95], axis=1)  # over the loans not yet liquidated
        fig = Figure(figsize=(11, 3.4))
        ax = fig.subplots()
        ax.fill_between(dates, q[0], q[2], alpha=0.25, color="#2b6a4f", label="5-95 %")
        ax.plot(dates, q[1], color="#2b6a4f", label="median")
        for ratio, label, color in (
            (spec.instrument.maintenance_ratio, "margin call", "#e69500"),
            (spec.instrument.liquidation_ratio, "liquidation", "#c0392b"),
        ):
            ax.axhline(ratio, ls="--", color=color, label=label)
        ax.set_title(f"{spec.name}: collateral coverage (pledged collateral value / principal, top-ups included)")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        parts.append(figure_tag(fig, f"Coverage paths of {spec.name}.", "loan coverage paths"))
    return "".join(parts)


def _inputs_table(run: PortfolioRun) -> pd.DataFrame:
    pf, ctx = run.portfolio, run.context
    rows = [
        ("portfolio file", pf.source),
        ("valuation date", str(ctx.market.valuation_date.date())),
        ("price history", f"{run.history.source} ({run.history.n_obs} closes)"),
        ("model", str(run.fit_summary.get("model"))),
        ("scenario", str(pf.market.scenario)),
        ("persistence policy", pf.market.persistence_policy),
        ("discount rate", f"{pf.market.discount_rate:.2%}"),
        ("horizon", f"{pf.horizon_years} years ({ctx.years[0]}-{ctx.years[-1]})"),
        ("paths / seed", f"{run.n_paths:,} / {pf.seed}"),
        ("grid dates", str(len(ctx.dates))),
        (
            "positions / contracts / projects / obligations",
            f"{len(pf.positions)} / {len(pf.contracts)} / {len(pf.projects)} / {len(pf.obligations)}",
        ),
    ]
    return pd.DataFrame(rows, columns=["input", "value"])


_ASSUMPTIONS = [
    "P&L at 10 days and 1 year, for positions, obligations, contracts and projects alike: value at the horizon on the "
    "path + cash flows up to it (carried on the curve) - value today. Contracts are revalued on each path (closed "
    "forms on the path's price carried along the forward curve, the fixings already on it and the model's variance); "
    "loans by a regression fitted on a seeded pilot set (residual s.d. in the contracts table). An obligation's hedge "
    "is the book's contracts it names (hedges) or its own hedged_t at a fixed price. A project's value at the horizon "
    "is its plan's cash flows at the path's CCER forward curve plus the path's cash flows paid by then.",
    "Carbon income = credits issued in a year x that year's average CCER price on the path; "
    "heat revenue = heat x tariff.",
    "Compliance purchases are made at the year's average price; CCERs cover at most 5 % of emissions.",
    "Early losses (coverage probability) are measured against the deterministic project plan and counted from the "
    "first year with a loss; the downside includes carbon price risk.",
    "Levers: loan proceeds and debt service are financing, shown apart from carbon income (they move the funding "
    "gap, not the income); pv_cost_cny > 0 means the lever costs the project money (minus its expected PV).",
    "Project NPVs are shown on the market curve and at each project's hurdle rate (the curve plus a spread).",
    "Pledge-loan coverage and exposure charts are the loan engine's own monitoring-date state: top-ups included, "
    "coverage over the loans not yet liquidated, exposure 0 once liquidated (the loss is then realised).",
]


def _model_section(run: PortfolioRun) -> str:
    """The price model in use: name, the drift at each horizon, the CEA/CCER basis and the model's VaR backtest on
    its own history (a rejected model is flagged here and in the warnings at the top)."""
    ctx, spec = run.context, run.portfolio.market
    summary = run.fit_summary
    vd = ctx.market.valuation_date
    s0 = dict(ctx.market.spots)["CEA"]
    anchor = ctx.anchor
    if ctx.scenario is None or anchor is None:
        drift = "Drift: no scenario; the model's own drift at every horizon."
    else:
        t_a, t_g = anchor.anchor_years, anchor.glide_years
        f_a = float(anchor.forward(s0, vd, pd.DatetimeIndex([vd + pd.Timedelta(days=round(t_a * 365))]))[0])
        end = vd + pd.Timedelta(days=round((t_a + t_g) * 365))
        carry = (
            "the quoted forwards"
            if anchor.forwards is not None
            else f"the carry forward (financing rate {anchor.financing_rate:.2%}, convenience yield "
            f"{anchor.convenience_yield:.2%})"
        )
        drift = (
            f"Drift: up to {t_a:g} year(s) the expected CEA price follows {carry}, {s0:,.2f} today to {f_a:,.2f} "
            f"CNY/t at {t_a:g} y; from {t_a:g} to {t_a + t_g:g} years the median glides in log onto the "
            f"'{spec.scenario}' scenario ({float(ctx.scenario.price_at(pd.DatetimeIndex([end]))[0]):,.2f} CNY/t at "
            f"{end.date()}), which it follows after."
        )
    b = summary.get("basis", {})
    ccer0 = dict(ctx.market.spots)["CCER"]
    basis = (
        f"CCER = CEA x exp(-b), b an OU process ({b.get('source', 'assumed')}): kappa {b.get('kappa', 0):.2f}/year, "
        f"sigma {b.get('sigma', 0):.2f}/sqrt(year), rho {b.get('rho', 0):.2f} with the CEA shocks, long-run CCER/CEA "
        f"ratio {b.get('ccer_cea_ratio', 0):.3f}; CCER starts at {ccer0:,.2f} CNY/t."
    )
    parts = [f"<p>{html.escape(p)}</p>" for p in (f"Model: {summary.get('price_model')}.", drift, basis)]
    bt = summary.get("backtest")
    if bt:
        frame = pd.DataFrame(bt["levels"])[["level", "n_obs", "violations", "expected", "kupiec_pvalue", "cc_pvalue"]]
        frame = frame.assign(
            level=[f"{lv:.0%}" for lv in frame["level"]],
            expected=[f"{e:.1f}" for e in frame["expected"]],
            verdict=["passes" if r["passes"] else "REJECTED at 5 %" for r in bt["levels"]],
        ).rename(columns={"expected": "expected violations", "kupiec_pvalue": "Kupiec p", "cc_pvalue": "CC p"})
        frame.attrs["units"] = {"level": "text", "expected violations": "text", "Kupiec p": "number", "CC p": "number"}
        parts.append(f"<p>{html.escape('One-day VaR backtest of this model: ' + bt['source'] + '.')}</p>")
        parts.append(table_tag(frame, table_id="model_backtest"))
    return section("Price model", *parts, anchor="model")


CREDIT_NOTE = (
    "PD over the loan's life, LGD (exposure-weighted loss rate over the defaulting paths) and EAD come from the run's "
    "paths: a loan defaults on a path when its collateral or cash flow falls short or when the borrower defaults "
    "(one-year PD from borrower_pd_1y or the rating, constant hazard, independent of prices). ECL is discounted at "
    "the loan's effective interest rate; stage 2 when the lifetime PD has more than doubled since origination or the "
    "coverage is below the maintenance ratio (finance.credit.ifrs9_stage). IRB: Basel corporate risk weight with "
    "the borrower's one-year PD, the paths' LGD and EAD, M = remaining maturity floored at 1 and capped at 5 years. "
    "Standardised: NFRA 2023 corporate weight; CEA / CCER collateral is not in the rules' eligible collateral, so "
    "it is assumed to give no RWA reduction (it lowers the LGD only)."
)


def credit_section(analysis: Analysis) -> str:
    """The credit-figures section (empty when no loan has a ``borrower_pd_1y`` or ``rating``)."""
    t = analysis.tables
    if "credit" not in t:
        return ""
    return section(_TITLES["credit"], table_tag(t["credit"], table_id="credit"), f"<p>{html.escape(CREDIT_NOTE)}</p>")


STRESS_TITLES = {
    "scenarios": "Stress scenarios: book P&L (CNY)",
    "scenario_loans": "Stress scenarios: loans (coverage, margin calls, liquidations, expected loss)",
    "scenario_breaches": "Stress scenarios: limit breaches",
    "reverse_stress": "Reverse stress: where each loan and the book break",
}


def stress_section(tables: Mapping[str, pd.DataFrame]) -> str:
    """The stress section from the tables of :func:`portfolios.stress.run_stress` (``scenarios``,
    ``scenario_loans``, ``scenario_breaches``, ``reverse_stress``; those present), empty when there are none.

    The scenarios table is shown for the book (one row per scenario, P&L at 10 days and 1 year); the per-component
    rows stay in the stress command's ``--json``.
    """
    parts = []
    for key, title in STRESS_TITLES.items():
        frame = tables.get(key)
        if frame is None or not len(frame):
            continue
        if key == "scenarios":
            frame = frame[frame["component"] == "book"].drop(columns=["component"])
        parts.append(f"<h3>{html.escape(title)}</h3>" + table_tag(frame, table_id=f"stress_{key}"))
    return section("Stress tests", *parts, anchor="stress") if parts else ""


def render_html(run: PortfolioRun, analysis: Analysis, run_id: str) -> str:
    """The report page."""
    t = analysis.tables
    risk = t["var_es"].assign(level=[f"{lv:.0%}" for lv in t["var_es"]["level"]])
    parts = [table_tag(risk, table_id="var_es")]
    if "es_contributions_1y_99" in t:
        parts.append(table_tag(t["es_contributions_1y_99"], index=True, table_id="es_contributions"))
    body = []
    rejected = [w for w in run.warnings if "rejected by its VaR backtest" in w]
    if rejected:
        body.append(section("Model warning", warnings_block(rejected), keep=True))
    body.append(section("Risk figures", *parts))
    body.append(
        section(
            "Limits",
            table_tag(t["limit_breaches"], table_id="limit_breaches")
            if len(t["limit_breaches"])
            else "<p>No limit breached.</p>",
        )
    )
    body.append(section("Prices", _fan_figure(analysis)))
    body.append(_model_section(run))
    for key in ("contracts", "loans", "dscr", "compliance_cost_at_risk"):
        if key in t:
            body.append(section(_TITLES[key], table_tag(t[key], table_id=key)))
    credit = credit_section(analysis)
    if credit:
        body.append(credit)
    coverage = _coverage_figure(run)
    if coverage:
        body.append(section("Loan coverage paths", coverage))
    for key in [k for k in t if k.startswith("exposure_")]:
        body.append(section(f"PFE / EPE: {key[9:]}", table_tag(t[key], index=True, table_id=key)))
    if run.portfolio.projects:
        body.append(
            section(
                "Project cash flows",
                _cash_flow_figure(run),
                table_tag(t["cash_flow_at_risk"], index=True, table_id="cash_flow_at_risk"),
            )
        )
        for key in ("projects", "project_es_contributions"):
            body.append(
                section(
                    _TITLES[key],
                    table_tag(t[key], index=key == "project_es_contributions", table_id=key),
                )
            )
        history = project_history(run.portfolio, run.context.market.valuation_date.year)
        if len(history):
            body.append(
                section(
                    "Operating projects: seasons before the valuation date (history, from the plan)",
                    "<p>These seasons are history: they are not simulated and not in any risk figure, NPV or IRR.</p>",
                    table_tag(history, table_id="project_history"),
                )
            )
        body.append(
            section(
                _TITLES["mismatch"],
                _mismatch_figure(analysis),
                table_tag(t["mismatch"], table_id="mismatch"),
                table_tag(t["mismatch_profile"], index=True, table_id="mismatch_profile"),
            )
        )
        body.append(section(_TITLES["levers"], table_tag(t["levers"], table_id="levers")))
    elif "cash_flow_at_risk" in t:
        body.append(section(_TITLES["cash_flow_at_risk"], table_tag(t["cash_flow_at_risk"], index=True)))
    body.append(section("Inputs", table_tag(_inputs_table(run))))
    body.append(section("Assumptions", "<ul>" + "".join(f"<li>{a}</li>" for a in _ASSUMPTIONS) + "</ul>"))
    body.append(section("Warnings", warnings_block(run.warnings)))
    meta = (
        f"carbonrisk {__version__} - run {run_id} - {run.n_paths:,} paths, seed {run.portfolio.seed} - "
        f"{run.elapsed_s:.1f} s"
    )
    footer = f"carbonrisk run {run_id} - {run.portfolio.name}"
    return page(f"Portfolio risk report: {run.portfolio.name}", "".join(body), meta, footer=footer)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (pd.Timestamp,)):
        return str(value.date())
    return value


def summary_payload(run: PortfolioRun, analysis: Analysis, run_id: str) -> dict[str, Any]:
    """The JSON summary: metrics, every table as records, warnings, inputs."""
    tables = {}
    for name, frame in analysis.tables.items():
        data = frame.reset_index() if frame.index.name is not None else frame
        tables[name] = json.loads(data.to_json(orient="records", date_format="iso"))
    return _jsonable(
        {
            "run_id": run_id,
            "portfolio": run.portfolio.name,
            "source": run.portfolio.source,
            "valuation_date": str(run.context.market.valuation_date.date()),
            "n_paths": run.n_paths,
            "seed": run.portfolio.seed,
            "model": run.fit_summary,
            "metrics": analysis.metrics,
            "breaches": analysis.breaches,
            "tables": tables,
            "warnings": run.warnings,
            "elapsed_s": run.elapsed_s,
        }
    )


def write_report_files(run: PortfolioRun, analysis: Analysis, folder: Path, run_id: str) -> None:
    """Write report.html, report.pdf, report.xlsx, paths_summary.parquet and summary.json into ``folder``.

    ``folder`` is a staging folder (:class:`portfolios.io.OutputFolder`). Without a Chromium to print with, the
    PDF is left out with a :class:`~models.exceptions.ReportWarning`.
    """
    (folder / "report.html").write_text(render_html(run, analysis, run_id), encoding="utf-8")
    reason = print_pdf(folder / "report.html", folder / "report.pdf")
    if reason is not None:
        warnings.warn(reason, ReportWarning, stacklevel=2)
    write_workbook(analysis.tables, folder / "report.xlsx")
    frames = []
    for factor in ("CEA", "CCER"):
        fan = analysis.tables[f"fan_{factor}"].reset_index()
        fan.insert(1, "factor", factor)
        frames.append(fan)
    pd.concat(frames, ignore_index=True).to_parquet(folder / "paths_summary.parquet", index=False)
    write_json(folder / "summary.json", summary_payload(run, analysis, run_id))


def write_report(run: PortfolioRun, analysis: Analysis, out_dir: str | Path, run_id: str) -> Path:
    """Write the four report files atomically into ``out_dir`` (see :class:`portfolios.io.OutputFolder`)."""
    with atomic_output_dir(out_dir, run_id) as staging:
        write_report_files(run, analysis, staging, run_id)
    return Path(out_dir).absolute()
