"""The executive summary: the first screen of the report, in the figures and sentences a credit committee reads.

Built from one result set (a run, its :class:`~carbonrisk.portfolios.analysis.Analysis` and, when run, the stress tables
of
:func:`carbonrisk.portfolios.stress.run_stress`); nothing is re-estimated here. What it holds:

* **limits**: every limit of the portfolio file against the figure it limits, as used / limit (utilisation bars):
  ``var_99_10d_cny`` (the 99 % 10-day VaR), ``es_99_1y_cny`` (the 99 % 1-year ES), ``ltv_max`` (each pledge loan's
  LTV today) and ``position_t`` (tonnes held per asset); without limits the 99 % 10-day VaR and 1-year ES alone;
* **loans**: P(margin call), P(default), P(loss), the IFRS 9 ECL allowance and lifetime ECL, IRB and standardised
  capital per loan;
* **stress**: the scenario with the worst 1-year book P&L and the limits it breaches, and the reverse-stress levels
  at which each loan starts to lose money;
* **mismatch**: the peak funding gap at P50 / P95 and its median year, the first year from which carbon income
  covers the early losses with 50 % and 90 % probability (:func:`carbonrisk.portfolios.advice.coverage_year`), and the
  lever that removes most of the P95 gap with its cost;
* **model**: the price model and its one-day VaR backtest verdict;
* **warnings that matter**: limit breaches, a rejected backtest, loans in IFRS 9 stage 2 or 3 and the run's warnings
  other than data-gap notes, each one sentence (the stress breaches are counted in the stress lines).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from carbonrisk.finance.instruments import PledgeLoan
from carbonrisk.finance.stress_scenarios import embedded_scenarios
from carbonrisk.portfolios.advice import coverage_year, million, percent
from carbonrisk.portfolios.analysis import Analysis
from carbonrisk.portfolios.engine import PortfolioRun
from carbonrisk.portfolios.html import table_tag

__all__ = [
    "ExecutiveSummary",
    "LimitUse",
    "executive_summary",
    "limit_label",
    "limits_sentence",
    "scenario_label",
    "summary_html",
    "summary_sheet",
]


@dataclass(frozen=True)
class LimitUse:
    """One limit: the figure it limits (``used``) against its value; ``unit`` is ``CNY``, ``%`` or ``t``."""

    label: str
    used: float
    limit: float | None
    unit: str

    @property
    def utilisation(self) -> float:
        """``used / limit`` (NaN without a limit)."""
        return self.used / self.limit if self.limit else math.nan


@dataclass
class ExecutiveSummary:
    """The summary's figures and sentences (see the module docstring)."""

    limits: list[LimitUse]
    loans: pd.DataFrame
    stress: list[str]
    mismatch: list[str]
    model: str
    warnings: list[str]
    facts: list[tuple[str, float, str]] = field(default_factory=list)
    """``(figure, value, unit)`` rows of the workbook's Summary sheet (unit ``CNY``, ``%``, ``t``, ``year``)."""


def _limits(run: PortfolioRun, analysis: Analysis) -> list[LimitUse]:
    m, lim, pf = analysis.metrics, run.portfolio.limits, run.portfolio
    out = []
    for key, label in (("var_99_10d_cny", "VaR 99 %, 10 days"), ("es_99_1y_cny", "ES 99 %, 1 year")):
        if key in m:
            out.append(LimitUse(label, float(m[key]), getattr(lim, key), "CNY"))
    if lim.ltv_max is not None:
        for spec in pf.contracts:
            if isinstance(spec.instrument, PledgeLoan):
                out.append(LimitUse(f"LTV today, {spec.name}", float(spec.instrument.ltv), lim.ltv_max, "%"))
    for asset, limit in lim.position_t.items():
        held = sum(p.quantity_t for p in pf.positions if p.asset == asset)
        out.append(LimitUse(f"{asset} held", float(held), float(limit), "t"))
    return out


def _loans(analysis: Analysis) -> pd.DataFrame:
    t = analysis.tables
    if "loans" not in t:
        return pd.DataFrame()
    cols = [c for c in ("loan", "p_margin_call", "p_default", "p_loss") if c in t["loans"].columns]
    frame = t["loans"][cols].copy()
    if "credit" in t:
        keep = ["loan", "ifrs9_stage", "ecl_allowance_cny", "ecl_lifetime_cny", "irb_capital_cny"]
        credit = t["credit"][[*keep, "standardised_capital_cny"]]
        frame = frame.merge(credit, on="loan", how="left")
    frame.attrs["units"] = {"ifrs9_stage": "text"}
    return frame


def limit_label(limit: str) -> str:
    """``var_99_10d_cny`` -> ``'the 10-day 99 % VaR limit'``; ``ltv_max (loan)`` -> ``'the LTV limit (loan)'``."""
    names = {"var_99_10d_cny": "the 10-day 99 % VaR limit", "es_99_1y_cny": "the 1-year 99 % ES limit"}
    if limit in names:
        return names[limit]
    if limit.startswith("ltv_max"):
        return "the LTV limit" + limit[len("ltv_max") :]
    if limit.startswith("position_t."):
        return f"the {limit[len('position_t.') :]} position limit"
    return limit


def model_label(name: str) -> str:
    """A fitted model's name for a reader: ``'GARCH(1,1)-empirical'`` -> ``'GARCH(1,1)-empirical (filtered historical
    simulation: the fit's standardised residuals bootstrapped)'``; other names unchanged."""
    if name.endswith("-empirical"):
        return f"{name} (filtered historical simulation: the fit's standardised residuals bootstrapped)"
    return name


def limit_unit(limit: str) -> str:
    """The unit of a limit's figures: ``'CNY'`` (``*_cny``), ``'%'`` (an LTV ratio) or ``'t'`` (a position)."""
    if limit.startswith("ltv_max"):
        return "%"
    if limit.startswith("position_t."):
        return "t"
    return "CNY"


def scenario_label(name: str) -> str:
    """A scenario's readable name: its description up to the first comma or colon (the name if not embedded)."""
    scenario = embedded_scenarios().get(name)
    if scenario is None:
        return name
    text = scenario.description
    for stop in (":", ","):
        if stop in text:
            text = text.split(stop, 1)[0]
    return text


def _stress(run: PortfolioRun, stress: Mapping[str, pd.DataFrame]) -> tuple[list[str], list[tuple[str, float, str]]]:
    scen = stress.get("scenarios")
    if scen is None or not len(scen):
        if (
            ": book " not in run.portfolio.name
        ):  # not one book of several (carbonrisk.portfolios.books.book_portfolio's name)
            return ["Stress tests were not run for this report."], []
        return [
            "This book is one of several: the stress tests revalue the whole file at once and are shown on the "
            "index page (index.html), beside the books' headline figures."
        ], []
    book = scen[(scen["component"] == "book") & (scen["scenario"] != "base (no shock)")]
    if not len(book):
        return ["No stress scenario was run."], []
    worst = book.loc[book["pnl_1y_cny"].idxmin()]
    breaches = stress.get("scenario_breaches", pd.DataFrame(columns=["scenario", "limit"]))
    hit = sorted(set(breaches.loc[breaches["scenario"] == worst["scenario"], "limit"]))
    lines = [
        f"Worst stress scenario: {scenario_label(str(worst['scenario']))} ({worst['kind']}, '{worst['scenario']}'): "
        "the book "
        f"{'loses' if worst['pnl_1y_cny'] < 0 else 'gains'} {million(abs(float(worst['pnl_1y_cny'])))} over one year "
        f"({million(float(worst['pnl_10d_cny']))} at 10 days)"
        + (f"; it breaches {', '.join(limit_label(h) for h in hit)}." if hit else "; no limit breached.")
    ]
    n_breaching = breaches["scenario"].nunique() if len(breaches) else 0
    lines.append(
        f"{n_breaching} of {len(book)} scenarios breach at least one limit ({len(breaches)} breaches in all; see the "
        "stress section)."
    )
    rev = stress.get("reverse_stress")
    spots = dict(run.context.market.spots)
    if rev is not None and len(rev):
        for _, r in rev[(rev["question"] == "lender's NPV turns negative") & rev["converged"]].iterrows():
            factor = "CCER" if str(r["variable"]).startswith("CCER") else "CEA"
            move = float(r["threshold"]) / spots[factor] - 1.0
            lines.append(
                f"{r['target']} starts to lose money at {factor} {float(r['threshold']):,.2f} CNY/t "
                f"({'+' if move > 0 else ''}{percent(move)} from today's {spots[factor]:,.2f})."
            )
    facts = [
        ("Worst stress, 1-year book P&L", float(worst["pnl_1y_cny"]), "CNY"),
        ("Worst stress, 10-day book P&L", float(worst["pnl_10d_cny"]), "CNY"),
    ]
    return lines, facts


def _mismatch(analysis: Analysis) -> tuple[list[str], list[tuple[str, float, str]]]:
    t = analysis.tables
    if "mismatch_profile" not in t:
        return [], []
    m = analysis.metrics["mismatch"]
    prof = t["mismatch_profile"]
    lines = [
        f"Peak funding gap of the projects: {million(m['peak_funding_gap_p50_cny'])} at P50, "
        f"{million(m['peak_funding_gap_p95_cny'])} at P95, deepest in {m['peak_funding_gap_year_p50']:.0f} "
        "(median year).",
    ]
    facts = [
        ("Peak funding gap P50", float(m["peak_funding_gap_p50_cny"]), "CNY"),
        ("Peak funding gap P95", float(m["peak_funding_gap_p95_cny"]), "CNY"),
        ("Peak funding gap year (median)", float(m["peak_funding_gap_year_p50"]), "year"),
    ]
    cov = prof["coverage_probability"]
    parts = []
    for p in (0.5, 0.9):
        year = coverage_year(prof, p)
        if year is None:
            parts.append(f"{percent(p)} probability is not reached within the horizon")
        else:
            parts.append(f"{percent(p)} probability from {year}")
            facts.append((f"Year carbon income covers early losses, {percent(p)} probability", float(year), "year"))
    best = f" (at most {percent(cov.max())}, in {int(cov.idxmax())})" if cov.notna().any() else ""
    lines.append(f"Carbon income covers the early losses with {parts[0]}; {parts[1]}{best}.")
    levers = t.get("levers")
    if levers is not None and len(levers) > 1:
        none = levers[levers["lever"] == "none"].iloc[0]
        others = levers[levers["lever"] != "none"]
        top = others.loc[others["peak_funding_gap_p95_cny"].idxmin()]
        cut = float(none["peak_funding_gap_p95_cny"] - top["peak_funding_gap_p95_cny"])
        if cut > 0:
            lines.append(
                f"The lever that removes most of the P95 gap is the {top['lever']}: {million(cut)} less, at an "
                f"expected PV cost of {million(float(top['pv_cost_cny']))} (see the lever table)."
            )
    return lines, facts


def _model(run: PortfolioRun) -> str:
    s = run.fit_summary
    bt = s.get("backtest")
    name = f"Price model {model_label(str(s.get('price_model')))}"
    scenario = run.portfolio.market.scenario
    name += f", long-run scenario '{scenario}'" if scenario else ""
    if not bt:
        return name + "; no VaR backtest available."
    rows = bt["levels"]
    verdicts = "; ".join(
        f"{percent(r['level'])} VaR: {r['violations']} violations against {r['expected']:.1f} expected, "
        f"{'passes' if r['passes'] else 'REJECTED'}"
        for r in rows
    )
    status = "passes" if bt.get("passes", all(r["passes"] for r in rows)) else "is REJECTED by"
    return f"{name}; it {status} its one-day VaR backtest on {rows[0]['n_obs']} days ({verdicts})."


def _warnings(run: PortfolioRun, analysis: Analysis) -> list[str]:
    out = []
    for b in analysis.breaches:
        unit = limit_unit(b["limit"])
        used, limit = _amount(float(b["value"]), unit), _amount(float(b["limit_value"]), unit)
        out.append(f"Limit breached: {limit_label(b['limit'])}: {used} against {limit}.")
    credit = analysis.tables.get("credit")
    if credit is not None:
        for _, r in credit[credit["ifrs9_stage"] > 1].iterrows():
            out.append(f"{r['loan']} is in IFRS 9 stage {r['ifrs9_stage']}: {r['ifrs9_stage_reason']}.")
    for w in run.warnings:
        if "gap(s) longer than" in w:  # data-gap notes stay in the Warnings section
            continue
        if "rejected by its VaR backtest" in w:
            out.insert(0, f"The price model is rejected by its VaR backtest: {w}")
        elif "simulation policy" in w:
            out.append(
                "The fitted volatility model was adjusted before simulating (its fitted form was too persistent or "
                "too heavy-tailed to simulate as fitted); the adjustment is in the Warnings section."
            )
        else:
            out.append(w[:1].upper() + w[1:] + ("" if w.endswith(".") else "."))
    return out  # the stress breaches are in the summary's stress lines


def executive_summary(
    run: PortfolioRun, analysis: Analysis, stress: Mapping[str, pd.DataFrame] | None = None
) -> ExecutiveSummary:
    """The summary of one result set (``stress``: the tables of :func:`carbonrisk.portfolios.stress.run_stress`, if
    run)."""
    stress = stress or {}
    limits = _limits(run, analysis)
    stress_lines, stress_facts = _stress(run, stress)
    mismatch_lines, mismatch_facts = _mismatch(analysis)
    facts: list[tuple[str, float, str]] = []
    for u in limits:
        facts.append((u.label, u.used, u.unit))
        if u.limit is not None:
            facts.append((f"{u.label}: limit", float(u.limit), u.unit))
            facts.append((f"{u.label}: utilisation", u.utilisation, "%"))
    loans = _loans(analysis)
    for _, r in loans.iterrows():
        for col, label, unit in (
            ("p_margin_call", "P(margin call)", "%"),
            ("p_default", "P(default)", "%"),
            ("p_loss", "P(loss)", "%"),
            ("ecl_allowance_cny", "ECL allowance", "CNY"),
            ("ecl_lifetime_cny", "ECL lifetime", "CNY"),
            ("irb_capital_cny", "IRB capital", "CNY"),
            ("standardised_capital_cny", "Standardised capital", "CNY"),
        ):
            if col in r.index and pd.notna(r[col]):
                facts.append((f"{r['loan']}: {label}", float(r[col]), unit))
    facts += stress_facts + mismatch_facts
    return ExecutiveSummary(
        limits,
        loans,
        stress_lines,
        mismatch_lines,
        _model(run),
        _warnings(run, analysis),
        facts,
    )


def _amount(value: float, unit: str) -> str:
    if unit == "CNY":
        return million(value)
    if unit == "%":
        return f"{100 * value:.1f} %"
    return f"{value:,.0f} {unit}"


def _bar(use: LimitUse) -> str:
    if use.limit is None:
        cells = f'<td class="l">{html.escape(use.label)}</td><td>{_amount(use.used, use.unit)}</td>'
        return f"<tr>{cells}<td></td><td></td></tr>"
    pct = 100.0 * use.utilisation
    colour = "#c0392b" if pct > 100 else ("#e69500" if pct > 80 else "#2b6a4f")
    return (
        f'<tr><td class="l">{html.escape(use.label)}</td><td>{_amount(use.used, use.unit)}</td>'
        f"<td>{_amount(float(use.limit), use.unit)}</td>"
        f'<td class="l"><div class="bar"><div style="width:{min(pct, 100):.1f}%;background:{colour}"></div></div> '
        f"{pct:.0f} %</td></tr>"
    )


def limits_sentence(limits: list[LimitUse]) -> str:
    """One sentence on the limits: which are breached, which use more than 80 % of their limit."""
    over = [u for u in limits if u.limit is not None and u.utilisation > 1.0]
    near = [u for u in limits if u.limit is not None and 0.8 < u.utilisation <= 1.0]
    if not any(u.limit is not None for u in limits):
        return "The portfolio file sets no limits."
    text = (
        "Breached today: " + ", ".join(f"{u.label} ({percent(u.utilisation)} of its limit)" for u in over) + "."
        if over
        else "No limit is breached today."
    )
    if near:
        text += " Close to the limit: " + ", ".join(f"{u.label} ({percent(u.utilisation)})" for u in near) + "."
    return text


def summary_html(summary: ExecutiveSummary) -> str:
    """The summary's HTML (the body of the report's first section)."""
    head = "<tr>" + "".join(f'<th class="l">{h}</th>' for h in ("Figure", "Used", "Limit", "Utilisation")) + "</tr>"
    parts = [
        '<div class="cols"><div>',
        "<h3>Risk against limits</h3>",
        f"<p>{html.escape(limits_sentence(summary.limits))}</p>",
        f'<div class="tw"><table id="summary_limits"><thead>{head}</thead><tbody>'
        + "".join(_bar(u) for u in summary.limits)
        + "</tbody></table></div>",
        "<h3>Stress</h3><ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in summary.stress) + "</ul>",
        "</div><div>",
    ]
    if summary.mismatch:
        parts.append(
            "<h3>Funding gap and carbon income</h3><ul>"
            + "".join(f"<li>{html.escape(s)}</li>" for s in summary.mismatch)
            + "</ul>"
        )
    parts.append(f"<h3>Model</h3><p>{html.escape(summary.model)}</p>")
    parts.append("</div></div>")
    if len(summary.loans):
        note = (
            "ECL allowance: the 12-month ECL in IFRS 9 stage 1, the lifetime ECL in stages 2 and 3 (a loan that "
            "starts later has no 12-month exposure yet). Capital: IRB (Basel corporate formula) and the NFRA 2023 "
            "standardised approach."
        )
        parts.append("<h3>Loans</h3>" + table_tag(summary.loans, table_id="summary_loans", caption=note))
    if summary.warnings:
        parts.append(
            "<h3>Warnings that matter</h3><ul>"
            + "".join(f'<li class="w">{html.escape(w)}</li>' for w in summary.warnings)
            + "</ul>"
        )
    return "".join(parts)


def summary_sheet(summary: ExecutiveSummary) -> pd.DataFrame:
    """The workbook's Summary sheet: one row per figure, its value as a number and its unit (the value cell's
    number format follows the unit: ``attrs["row_units"]``)."""
    frame = pd.DataFrame(summary.facts, columns=["figure", "value", "unit"])
    frame.attrs["units"] = {"figure": "text", "value": "number", "unit": "text"}
    frame.attrs["row_units"] = {"value": [{"CNY": "CNY", "%": "%", "t": "t", "year": "year"}[u] for u in frame["unit"]]}
    return frame
