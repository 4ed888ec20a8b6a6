"""The index of a report with several books: ``index.html`` linking each book's report, and ``summary.json``.

Each book's report (``NAME/report.html``, ``report.pdf``, ``report.xlsx``, ``paths_summary.parquet``,
``summary.json``) is written by :func:`carbonrisk.portfolios.report.write_report_files` on the book's view of the joint
run (:mod:`carbonrisk.portfolios.books`). The index shows each book's headline figures (:func:`headline`), formatted as
in the reports (:mod:`carbonrisk.portfolios.formatting`).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from carbonrisk.portfolios import __version__
from carbonrisk.portfolios.analysis import Analysis
from carbonrisk.portfolios.engine import PortfolioRun
from carbonrisk.portfolios.formatting import Unit, format_value
from carbonrisk.portfolios.html import page, section, warnings_block
from carbonrisk.portfolios.io import write_json
from carbonrisk.portfolios.report import stress_section
from carbonrisk.portfolios.stress import StressReport

__all__ = [
    "HEADLINE",
    "BookReport",
    "console_value",
    "headline",
    "index_payload",
    "million_cny",
    "render_index",
    "write_index",
]

HEADLINE: tuple[tuple[str, str, str, Unit], ...] = (
    ("var_99_10d_cny", "VaR 99 % 10 days (CNY)", "VaR 99 %\n10 days", Unit.CNY),
    ("es_99_1y_cny", "ES 99 % 1 year (CNY)", "ES 99 %\n1 year", Unit.CNY),
    ("limit_breaches", "Limit breaches", "limit\nbreaches", Unit.NUMBER),
    ("loans_expected_loss_cny", "Loans, repos and lending: expected loss (CNY)", "loans:\nexp. loss", Unit.CNY),
    ("projects_npv_mean_cny", "Projects: mean NPV (CNY)", "projects:\nmean NPV", Unit.CNY),
    ("compliance_cost_hedged_cny", "Compliance: expected cost, hedged (CNY)", "compliance\ncost", Unit.CNY),
)
"""The headline figures of a book: key, label, short console label (amounts there in million CNY), unit (N/A
where the book has no such component)."""


def million_cny(value: float | int | None) -> str:
    """An amount in million CNY with one decimal and thousands separators (``N/A`` when missing)."""
    if value is None or not np.isfinite(value):
        return "N/A"
    return f"{float(value) / 1e6:,.1f}"


def console_value(value: float | int | None, unit: Unit) -> str:
    """A headline figure on the console: amounts in million CNY, counts as counts."""
    return million_cny(value) if unit is Unit.CNY else format_value(value, unit)


@dataclass(frozen=True)
class BookReport:
    """One book's part of a report run: its view of the joint run, its analysis and its folder in the output."""

    name: str
    run: PortfolioRun
    analysis: Analysis
    folder: str
    """Relative to the output folder (``""`` for the single-book layout)."""

    @property
    def report(self) -> str:
        """Relative path of the book's ``report.html``."""
        return f"{self.folder}/report.html" if self.folder else "report.html"


def headline(analysis: Analysis) -> dict[str, float | int | None]:
    """The book's headline figures (:data:`HEADLINE`): its own VaR / ES, limit breaches, and the sums over its
    loans' expected losses, its projects' mean NPVs and its obligations' expected hedged costs (``None`` when the
    book has no component of that kind)."""
    t, m = analysis.tables, analysis.metrics

    def total(table: str, column: str, rows: Any = None) -> float | None:
        frame = t.get(table)
        if frame is None or column not in frame or not len(frame):
            return None
        values = frame[column] if rows is None else frame.loc[rows(frame), column]
        return float(np.sum(values))

    return {
        "var_99_10d_cny": m.get("var_99_10d_cny"),
        "es_99_1y_cny": m.get("es_99_1y_cny"),
        "limit_breaches": int(m.get("limit_breaches", 0)),
        "loans_expected_loss_cny": total("loans", "expected_loss_cny"),
        "projects_npv_mean_cny": total("projects", "npv_mean_cny"),
        "compliance_cost_hedged_cny": total(
            "compliance_cost_at_risk", "expected_cost_cny", lambda f: f["case"] == "hedged"
        ),
    }


def _components(run: PortfolioRun) -> str:
    pf = run.portfolio
    parts = [
        (len(pf.positions), "position"),
        (len(pf.obligations), "obligation"),
        (len(pf.contracts), "contract"),
        (len(pf.projects), "project"),
    ]
    return ", ".join(f"{n} {word}{'s' if n > 1 else ''}" for n, word in parts if n) or "none"


def render_index(
    run: PortfolioRun,
    books: Sequence[BookReport],
    run_id: str,
    folder: Path | None = None,
    stress: StressReport | None = None,
) -> str:
    """The index page: one row per book, linking its report (and, those present in ``folder``, its PDF, workbook
    and JSON summary), with its headline figures."""
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _, _ in HEADLINE)
    rows = []
    for book in books:
        figures = headline(book.analysis)
        cells = "".join(f"<td>{html.escape(format_value(figures[key], unit))}</td>" for key, _, _, unit in HEADLINE)
        link = f'<a href="{html.escape(book.report)}">{html.escape(book.name)}</a>'
        prefix = f"{book.folder}/" if book.folder else ""
        files = " ".join(
            f'<a href="{html.escape(prefix + name)}">{name.split(".")[-1].upper()}</a>'
            for name in ("report.pdf", "report.xlsx", "summary.json")
            if (folder is None or (folder / prefix / name).is_file())
        )
        rows.append(
            f'<tr><td class="l">{link}</td><td class="l">{html.escape(_components(book.run))}</td>{cells}'
            f'<td class="l">{files}</td></tr>'
        )
    table = (
        '<div class="tw"><table id="books"><thead><tr><th class="l">Book</th><th class="l">Components</th>'
        f'{head}<th class="l">Files</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
    )
    note = (
        "<p>One joint Monte Carlo run values every book on the same price and project paths (a loan linked to a "
        "project of another book reads that project's paths); each book's figures are computed on its own "
        "components only and checked against its own limits. Figures are not additive across books.</p>"
    )
    body = section("Books", table, note, anchor="books")
    if stress is not None:
        body += section(
            "Stress of the whole file (all books together)",
            "<p>The scenarios, ladders and reverse stress revalue every component of the file at once; the "
            "per-component rows are in summary.json.</p>" + stress_section(stress.tables, stress.timings_s),
            anchor="stress",
        )
    body += section("Warnings", warnings_block(run.warnings))
    meta = (
        f"carbonrisk {__version__} - run {run_id} - {run.n_paths:,} paths, seed {run.portfolio.seed} - "
        f"{run.elapsed_s:.1f} s"
    )
    return page(f"Risk reports by book: {run.portfolio.name}", body, meta, footer=f"carbonrisk run {run_id}")


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    return value


def index_payload(run: PortfolioRun, books: Sequence[BookReport], run_id: str) -> dict[str, Any]:
    """``summary.json`` of the index: the run, and per book its folder, report, components and headline."""
    return _finite(
        {
            "run_id": run_id,
            "portfolio": run.portfolio.name,
            "source": run.portfolio.source,
            "valuation_date": str(run.context.market.valuation_date.date()),
            "n_paths": run.n_paths,
            "seed": run.portfolio.seed,
            "books": {
                b.name: {
                    "folder": b.folder,
                    "report": b.report,
                    "summary": f"{b.folder}/summary.json" if b.folder else "summary.json",
                    "components": _components(b.run),
                    "headline": headline(b.analysis),
                }
                for b in books
            },
            "warnings": run.warnings,
            "elapsed_s": run.elapsed_s,
        }
    )


def write_index(
    run: PortfolioRun, books: Sequence[BookReport], folder: Path, run_id: str, stress: StressReport | None = None
) -> None:
    """Write ``index.html`` and ``summary.json`` into ``folder`` (a staging folder); ``stress``, the stress of the
    whole file, goes on the index page and into ``summary.json`` (``stress``)."""
    (folder / "index.html").write_text(render_index(run, books, run_id, folder, stress), encoding="utf-8")
    payload = index_payload(run, books, run_id)
    if stress is not None:
        payload["stress"] = stress.to_dict()
    write_json(folder / "summary.json", payload)


def headlines(books: Mapping[str, BookReport]) -> dict[str, dict[str, float | int | None]]:
    """``{book: headline}`` (console and JSON output)."""
    return {name: headline(b.analysis) for name, b in books.items()}
