"""The portfolio report: ``report.html`` (self-contained), ``report.pdf``, ``report.xlsx``, ``paths_summary.parquet``,
``summary.json``.

One result set (a run, its analysis and optionally its stress tables) is one report
(:func:`write_report_files`): the executive summary first (:mod:`carbonrisk.portfolios.executive`), a table of contents,
then every section, the stress section included (:func:`stress_section`); the workbook's front sheets are
:mod:`carbonrisk.portfolios.workbook`.

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

from carbonrisk.finance.instruments import PledgeLoan
from carbonrisk.models.exceptions import ReportWarning
from carbonrisk.portfolios import __version__
from carbonrisk.portfolios.advice import SIGN_CONVENTION, lever_advice
from carbonrisk.portfolios.analysis import Analysis
from carbonrisk.portfolios.components import LoanPaths
from carbonrisk.portfolios.engine import PortfolioRun, pledge_rows
from carbonrisk.portfolios.excel import write_workbook
from carbonrisk.portfolios.executive import ExecutiveSummary, executive_summary, model_label, summary_html
from carbonrisk.portfolios.history import project_history
from carbonrisk.portfolios.html import figure_tag, page, section, table_tag, warnings_block
from carbonrisk.portfolios.io import atomic_output_dir, write_json
from carbonrisk.portfolios.pdf import print_pdf
from carbonrisk.portfolios.stress import StressReport
from carbonrisk.portfolios.workbook import front_sheets

__all__ = ["summary_payload", "write_report", "write_report_files"]

_TITLES = {
    "var_es": "Value at risk and expected shortfall (CNY, positive = loss)",
    "es_contributions_1y_99": "Contributions to the 1-year 99 % expected shortfall (Euler)",
    "limit_breaches": "Limit breaches",
    "contracts": "Contracts: value today, revaluation method and deltas",
    "loans": "Loans: margin-call, default and loss probabilities",
    "credit": "Loans, repos and lending: credit figures (PD, LGD, EAD, IFRS 9 ECL, IRB and standardised capital)",
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


_CAPTIONS = {
    "contracts": "Value today from the lender's or holder's side; deltas in tonnes of CEA / CCER equivalent.",
    "loans": "Probabilities over the loan's life on the run's paths; expected loss with its Monte Carlo s.e. Repos, "
    "carbon lending and overdrafts: the financier's / lender's P(margin call) (repos), P(default) and loss. Forced "
    "sales (pledge loans, repos) and buy-ins (lending, overdrafts) of one asset share each day's market depth pro "
    "rata to the tonnes each still has to trade (carbonrisk.finance.depth_sharing).",
    "dscr": "DSCR = cash flow available for debt service / debt service due, over the paths where debt service is "
    "due in the period (at least 10 % of a full period's; N/A where fewer than half the paths owe any: the cash "
    "sweep has repaid the loan). P(below) over all paths.",
    "compliance_cost_at_risk": "Cost of buying the obligation's allowances in its year; cost at risk = P95 - "
    "expected (how much a bad year adds).",
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
        ax.set_ylabel("CNY/t")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    return figure_tag(
        fig,
        "Simulated CEA and CCER prices (CNY/t): median and the 25-75 % and 5-95 % bands at each date. Read the "
        "width of the bands as the price risk the book carries, and the median as the model's expected path.",
        "price fan charts",
    )


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
    return figure_tag(
        fig,
        "The projects' annual cash flows (million CNY): median and bands. Below the zero line the projects need "
        "funding (drilling and construction); the bands show how uncertain each year is.",
        "annual cash-flow distribution",
    )


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
    ax2.set_ylabel("probability")
    ax.set_title("Early risk vs late income (portfolio of projects)")
    ax.legend(loc="upper left", fontsize=7)
    ax2.legend(loc="upper right", fontsize=7)
    ax.grid(alpha=0.3)
    return figure_tag(
        fig,
        "Red: when the downside falls (ES contribution by year, million CNY); green: when the carbon income arrives; "
        "line: probability that carbon income to date covers the early losses (right axis). Read the distance "
        "between the red and green bars as the mismatch a lever must bridge.",
        "mismatch chart",
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
        ax.set_ylabel("coverage (x principal)")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        parts.append(
            figure_tag(
                fig,
                f"{spec.name}: collateral value / principal (median and 5-95 % band). Where the band crosses the "
                "dashed lines, that share of the paths gets a margin call or a liquidation.",
                "loan coverage paths",
            )
        )
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
    frame = pd.DataFrame(rows, columns=["input", "value"])
    frame.attrs["units"] = {"input": "text", "value": "text"}
    return frame


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
    model = f"Model: {model_label(str(summary.get('price_model')))}."
    parts = [f"<p>{html.escape(p)}</p>" for p in (model, drift, basis)]
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
    "coverage is below the maintenance ratio (carbonrisk.finance.credit.ifrs9_stage). IRB: Basel corporate risk "
    "weight with "
    "the borrower's one-year PD, the paths' LGD and EAD, M = remaining maturity floored at 1 and capped at 5 years. "
    "Standardised: NFRA 2023 corporate weight; CEA / CCER collateral is not in the rules' eligible collateral, so "
    "it is assumed to give no RWA reduction (it lowers the LGD only). Repos: default = the seller's default or a "
    "failed margin call, the close-out sharing the day's depth with the book's other forced sales, ECL at the repo "
    "rate (carbonrisk.finance.carbon_financing.repo_credit_figures). Carbon lending and overdrafts: PD, LGD and EAD "
    "of the buy-in from the paths only (no ECL or capital is computed for tonnes lent)."
)


STRESS_TITLES = {
    "scenarios": "Stress scenarios: book P&L (CNY)",
    "scenario_loans": "Stress scenarios: loans (coverage, margin calls, liquidations, expected loss)",
    "scenario_breaches": "Stress scenarios: limit breaches",
    "reverse_stress": "Reverse stress: where each loan and the book break",
    "ladders": "Sensitivity ladders: change of the book's mean P&L against the unshocked paths (CNY)",
}
_STRESS_NOTES = {
    "scenarios": "Each scenario's relative price path applied from the valuation date to today's spots "
    "(deterministic; projects at plan). Read: the 1-year column is what the book would lose or make if the episode "
    "happened again starting today; the base row is the no-shock drift.",
    "scenario_loans": "Per loan on the scenario path: the share of the identical columns (random top-up decisions) "
    "with a margin call or a liquidation, the expected loss, the lowest collateral coverage and the peak LTV.",
    "scenario_breaches": "Limits breached on the scenario path (LTV) or by the Monte Carlo around it (VaR, ES).",
    "reverse_stress": "Threshold: the price level (CNY/t) or uniform relative shock at which the target first loses "
    "money or breaches the limit (bisection on common random numbers; precision = the final bracket width).",
    "ladders": "Instantaneous shocks of the starting state on the same paths: spot moves in %, volatility in "
    "annualised points, CCER basis in log points, the discount rate in %. Read the sign: negative = the book loses.",
}


def _ladder_point(ladder: str, point: float) -> str:
    if ladder == "volatility":
        return f"{100 * point:+.0f} vol points"
    if ladder == "CCER basis":
        return f"{point:+.1f} (log)"
    if ladder == "discount rate":
        return f"{10000 * point:+.0f} bp"
    return f"{100 * point:+.0f} %"


def _finite(value: object) -> bool:
    """Whether a table cell is a finite number (None: no threshold, e.g. a limit already breached today)."""
    return isinstance(value, int | float | np.number) and bool(np.isfinite(value))


def _stress_frame(key: str, frame: pd.DataFrame) -> pd.DataFrame:
    """A stress table as the report shows it: the book's rows, readable shocks, thresholds as text with units."""
    if key == "scenarios":
        return frame[frame["component"] == "book"].drop(columns=["component"])
    if key == "ladders":
        book = frame[frame["component"] == "book"].drop(columns=["component"])
        out = book.assign(point=[_ladder_point(lad, pt) for lad, pt in zip(book["ladder"], book["point"], strict=True)])
        out = out.rename(columns={"point": "shock"})
        out.attrs["units"] = {"shock": "text"}
        return out
    if key == "reverse_stress":
        out = frame.drop(columns=[c for c in ("steps",) if c in frame.columns]).copy()
        shock = out["variable"].astype(str).str.startswith("uniform")
        found = [_finite(v) for v in out["threshold"]]  # no threshold: the bracket width means nothing
        out["precision"] = [v if f else None for v, f in zip(out["precision"], found, strict=True)]
        out["threshold"] = [
            "N/A" if not _finite(v) else (f"{v:+.1%}" if s else f"{v:,.2f} CNY/t")
            for v, s in zip(out["threshold"], shock, strict=True)
        ]
        out["precision"] = [
            "N/A" if not _finite(v) else (f"{v:.2%}" if s else f"{v:,.2f} CNY/t")
            for v, s in zip(out["precision"], shock, strict=True)
        ]
        out.attrs["units"] = {"threshold": "text", "precision": "text"}
        return out
    if key == "scenario_loans":
        out = frame.copy()
        out.attrs["units"] = {"peak_ltv": "%", "min_coverage": "ratio", "min_dscr": "ratio"}
        return out
    if key == "scenario_breaches":
        out = frame.copy()
        ltv = out["limit"].astype(str).str.startswith("ltv")
        for col in ("limit_value", "value"):
            out[col] = [f"{v:.0%}" if r else f"{v:,.0f} CNY" for v, r in zip(out[col], ltv, strict=True)]
        out.attrs["units"] = {"limit_value": "text", "value": "text"}
        return out
    return frame


def _ladder_figure(ladders: pd.DataFrame) -> str:
    """The spot ladders of the book: P&L change at 10 days and 1 year against the CEA and the CCER shock."""
    book = ladders[ladders["component"] == "book"]
    fig = Figure(figsize=(11, 3.4))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, factor in zip(axes, ("CEA", "CCER"), strict=True):
        rows = book[book["ladder"] == f"{factor} spot"].sort_values("point")
        x = np.concatenate([[0.0], 100 * rows["point"].to_numpy()])
        order = np.argsort(x)
        for col, label, style in (("pnl_10d_change_cny", "10 days", "--"), ("pnl_1y_change_cny", "1 year", "-")):
            y = np.concatenate([[0.0], rows[col].to_numpy() / 1e6])
            ax.plot(x[order], y[order], style, marker="o", color="#2b6a4f", label=label)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xlabel(f"instantaneous {factor} shock (%)")
        ax.set_title(f"Book P&L change against a {factor} spot shock")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("million CNY")
    return figure_tag(
        fig,
        "Change of the book's mean P&L (million CNY) when today's CEA or CCER price is shocked by -30 % .. +30 %. "
        "Read the slope as the book's net exposure to that price (a rising line: the book is long), the curvature "
        "as option-like behaviour (loans, floors).",
        "sensitivity ladder chart",
    )


def stress_section(tables: Mapping[str, pd.DataFrame], timings_s: Mapping[str, float] | None = None) -> str:
    """The stress section from the tables of :func:`carbonrisk.portfolios.stress.run_stress` (``scenarios``,
    ``scenario_loans``, ``scenario_breaches``, ``reverse_stress``, ``ladders``; those present), empty when none.

    The scenarios and ladders are shown for the book (one row per scenario or shock); the per-component rows are
    in the workbook and in the stress command's ``--json``.
    """
    parts = []
    for key, title in STRESS_TITLES.items():
        frame = tables.get(key)
        if frame is None or not len(frame):
            continue
        parts.append(
            f"<h3>{html.escape(title)}</h3>"
            + table_tag(_stress_frame(key, frame), table_id=f"stress_{key}", caption=_STRESS_NOTES[key])
        )
    ladders = tables.get("ladders")
    if ladders is not None and len(ladders) and {"CEA spot", "CCER spot"} <= set(ladders["ladder"]):
        parts.append(_ladder_figure(ladders))
    if parts and timings_s:
        parts.append(f'<p class="meta">Stress computed in {sum(timings_s.values()):.1f} s.</p>')
    return section("Stress tests", *parts, anchor="stress") if parts else ""


class _Sections:
    """The report's sections in order, each with an anchor for the table of contents."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str]] = []

    def add(self, title: str, *parts: str, anchor: str = "", keep: bool = False) -> None:
        """Add a section (``anchor`` defaults to a slug of the title; ``keep``: no PDF page break before it)."""
        slug = anchor or "s-" + "-".join("".join(ch if ch.isalnum() else " " for ch in title.lower()).split())[:40]
        self.items.append((slug, title, section(title, *parts, anchor=slug, keep=keep)))

    def add_html(self, title: str, text: str, anchor: str) -> None:
        """A section rendered elsewhere (it carries ``id=anchor``)."""
        if text:
            self.items.append((anchor, title, text))

    def toc(self) -> str:
        """The table of contents: a numbered link to every section."""
        links = "".join(f'<li><a href="#{a}">{html.escape(t)}</a></li>' for a, t, _ in self.items)
        return f'<nav id="toc" class="toc"><h2>Contents</h2><ol>{links}</ol></nav>'

    def html(self) -> str:
        """The sections' HTML in order."""
        return "".join(text for _, _, text in self.items)


def _exposure_tables(t: Mapping[str, pd.DataFrame]) -> list[tuple[str, str]]:
    out = []
    for key in [k for k in t if k.startswith("exposure_")]:
        frame = t[key]
        out.append((key[9:], table_tag(frame, index=True, table_id=key, caption=str(frame.attrs.get("note", "")))))
    return out


def _lever_parts(t: Mapping[str, pd.DataFrame]) -> list[str]:
    advice = lever_advice(t["levers"])
    parts = [f"<p>{html.escape(SIGN_CONVENTION)}</p>"]
    if len(advice):
        parts.append(
            table_tag(
                advice,
                table_id="lever_advice",
                caption="Cost per CNY of gap = PV cost / reduction of the P95 peak funding gap (lower is cheaper).",
            )
        )
    parts.append(
        table_tag(
            t["levers"],
            table_id="levers",
            caption="The figures behind the sentences: mismatch metrics with each lever (PV cost > 0 = the lever "
            "costs the project money).",
        )
    )
    return parts


def render_html(
    run: PortfolioRun,
    analysis: Analysis,
    run_id: str,
    stress: StressReport | None = None,
    summary: ExecutiveSummary | None = None,
) -> str:
    """The report page of one result set: the executive summary first, a table of contents, then every section.

    ``stress``: the stress tables (:func:`report_stress`), shown in the stress section and the summary; without
    them the summary says that stress tests were not run.
    """
    t = analysis.tables
    tables = stress.tables if stress is not None else {}
    summary = summary or executive_summary(run, analysis, tables)
    risk = t["var_es"].assign(level=[f"{lv:.0%}" for lv in t["var_es"]["level"]])
    risk.attrs["units"] = {"level": "text"}
    parts = [
        table_tag(
            risk,
            table_id="var_es",
            caption="Monte Carlo VaR and ES of the book's P&L (positive = loss) with their standard errors; HS VaR = "
            "the book's CEA-equivalent exposure on the historical 10-day moves.",
        )
    ]
    if "es_contributions_1y_99" in t:
        parts.append(
            table_tag(
                t["es_contributions_1y_99"],
                index=True,
                table_id="es_contributions",
                caption="Who drives the 1-year 99 % ES: a negative contribution is a hedge (it gains when the book "
                "loses).",
            )
        )
    body = _Sections()
    rejected = [w for w in run.warnings if "rejected by its VaR backtest" in w]
    if rejected:
        body.add("Model warning", warnings_block(rejected), anchor="model-warning", keep=True)
    body.add("Risk figures", *parts, anchor="risk")
    body.add(
        "Limits",
        table_tag(t["limit_breaches"], table_id="limit_breaches")
        if len(t["limit_breaches"])
        else "<p>No limit breached.</p>",
        anchor="limits",
    )
    body.add_html("Stress tests", stress_section(tables, stress.timings_s if stress else None), "stress")
    body.add("Prices", _fan_figure(analysis), anchor="prices")
    body.add_html("Price model", _model_section(run), "model")
    for key in ("contracts", "loans", "dscr", "compliance_cost_at_risk"):
        if key in t:
            caption = _CAPTIONS.get(key, "")
            body.add(_TITLES[key], table_tag(t[key], table_id=key, caption=caption), anchor=key)
    if "credit" in t:
        body.add(_TITLES["credit"], table_tag(t["credit"], table_id="credit"), f"<p>{html.escape(CREDIT_NOTE)}</p>")
    coverage = _coverage_figure(run)
    if coverage:
        body.add("Loan coverage paths", coverage, anchor="coverage")
    for name, tag in _exposure_tables(t):
        body.add(f"PFE / EPE: {name}", tag)
    if run.portfolio.projects:
        body.add(
            "Project cash flows",
            _cash_flow_figure(run),
            table_tag(
                t["cash_flow_at_risk"],
                index=True,
                table_id="cash_flow_at_risk",
                caption="CFaR = expected minus the 5th percentile of the year's cash flow (how much worse a bad year "
                "is than the plan).",
            ),
            anchor="cash-flows",
        )
        for key in ("projects", "project_es_contributions"):
            body.add(
                _TITLES[key],
                table_tag(t[key], index=key == "project_es_contributions", table_id=key),
                anchor=key.replace("_", "-"),
            )
        history = project_history(run.portfolio, run.context.market.valuation_date.year)
        if len(history):
            body.add(
                "Operating projects: seasons before the valuation date (history, from the plan)",
                "<p>These seasons are history: they are not simulated and not in any risk figure, NPV or IRR.</p>",
                table_tag(history, table_id="project_history"),
            )
        body.add(
            _TITLES["mismatch"],
            _mismatch_figure(analysis),
            table_tag(t["mismatch"], table_id="mismatch"),
            table_tag(t["mismatch_profile"], index=True, table_id="mismatch_profile"),
            anchor="mismatch",
        )
        body.add(_TITLES["levers"], *_lever_parts(t), anchor="levers")
    elif "cash_flow_at_risk" in t:
        body.add(_TITLES["cash_flow_at_risk"], table_tag(t["cash_flow_at_risk"], index=True), anchor="cash-flows")
    inputs = _inputs_table(run)
    body.add("Inputs", table_tag(inputs), anchor="inputs")
    body.add(
        "Assumptions",
        "<ul>" + "".join(f"<li>{html.escape(a)}</li>" for a in _ASSUMPTIONS) + "</ul>",
        anchor="assumptions",
    )
    body.add("Warnings", warnings_block(run.warnings), anchor="warnings")
    first = section("Executive summary", summary_html(summary), anchor="summary", keep=True)
    meta = (
        f"carbonrisk {__version__} - run {run_id} - {run.n_paths:,} paths, seed {run.portfolio.seed} - "
        f"valuation date {run.context.market.valuation_date.date()} - {run.elapsed_s:.1f} s"
    )
    footer = f"carbonrisk run {run_id} - {run.portfolio.name}"
    return page(f"Portfolio risk report: {run.portfolio.name}", first + body.toc() + body.html(), meta, footer=footer)


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


def summary_payload(
    run: PortfolioRun, analysis: Analysis, run_id: str, stress: StressReport | None = None
) -> dict[str, Any]:
    """The JSON summary: metrics, every table as records, warnings, inputs (and the stress tables, if run)."""
    tables = {}
    for name, frame in analysis.tables.items():
        data = frame.reset_index() if frame.index.name is not None else frame
        tables[name] = json.loads(data.to_json(orient="records", date_format="iso"))
    payload: dict[str, Any] = {
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
    if stress is not None:
        payload["stress"] = stress.to_dict()
    return _jsonable(payload)


def write_report_files(
    run: PortfolioRun, analysis: Analysis, folder: Path, run_id: str, stress: StressReport | None = None
) -> None:
    """Write one result set's report.html, report.pdf, report.xlsx, paths_summary.parquet and summary.json into
    ``folder``.

    ``folder`` is a staging folder (:class:`carbonrisk.portfolios.io.OutputFolder`); ``stress`` the stress tables of
    this result set (:func:`carbonrisk.portfolios.stress.report_stress`), or None for a report without its stress
    section. Without a Chromium to print with, the PDF is left out with a
    :class:`~carbonrisk.models.exceptions.ReportWarning`.
    """
    summary = executive_summary(run, analysis, stress.tables if stress is not None else {})
    (folder / "report.html").write_text(render_html(run, analysis, run_id, stress, summary), encoding="utf-8")
    reason = print_pdf(folder / "report.html", folder / "report.pdf")
    if reason is not None:
        warnings.warn(reason, ReportWarning, stacklevel=2)
    sheets = dict(analysis.tables)
    if stress is not None:
        sheets |= {f"stress_{k}": v for k, v in stress.tables.items()}
    write_workbook(sheets, folder / "report.xlsx", front=front_sheets(run, run_id, summary, _ASSUMPTIONS))
    frames = []
    for factor in ("CEA", "CCER"):
        fan = analysis.tables[f"fan_{factor}"].reset_index()
        fan.insert(1, "factor", factor)
        frames.append(fan)
    pd.concat(frames, ignore_index=True).to_parquet(folder / "paths_summary.parquet", index=False)
    write_json(folder / "summary.json", summary_payload(run, analysis, run_id, stress))


def write_report(
    run: PortfolioRun, analysis: Analysis, out_dir: str | Path, run_id: str, stress: StressReport | None = None
) -> Path:
    """Write the report files atomically into ``out_dir`` (see :class:`carbonrisk.portfolios.io.OutputFolder`)."""
    with atomic_output_dir(out_dir, run_id) as staging:
        write_report_files(run, analysis, staging, run_id, stress)
    return Path(out_dir).absolute()
