"""Run a portfolio file end to end: Monte Carlo, metrics, report files, ledger record (CLI and notebooks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carbonrisk.portfolios.analysis import Analysis
from carbonrisk.portfolios.bookindex import BookReport, write_index
from carbonrisk.portfolios.books import analyse_book, book_names
from carbonrisk.portfolios.engine import PortfolioRun, run_portfolio
from carbonrisk.portfolios.exceptions import InputError
from carbonrisk.portfolios.io import OutputFolder
from carbonrisk.portfolios.ledger import Ledger, RunRecord, new_run_id
from carbonrisk.portfolios.portfolio import Portfolio, portfolio_from_text
from carbonrisk.portfolios.report import write_report_files
from carbonrisk.portfolios.stress import StressReport, report_stress

__all__ = ["ReportRun", "analyse_books", "ledger_metrics", "report_metrics", "rerun_report", "run_report"]


@dataclass
class ReportRun:
    """A finished report run: the joint run and, per book, its view, analysis and folder."""

    run: PortfolioRun
    books: dict[str, BookReport]
    run_id: str
    out_dir: Path
    record: RunRecord
    stress: StressReport | None = None

    @property
    def single(self) -> bool:
        """Whether the file has one book (the report then sits in the output folder itself, as before books)."""
        return len(self.books) == 1

    @property
    def analysis(self) -> Analysis:
        """The analysis of the only book (a run with several books: ``books[name].analysis``)."""
        if not self.single:
            raise InputError(
                f"the run has {len(self.books)} books ({', '.join(self.books)}): read books[name].analysis"
            )
        return next(iter(self.books.values())).analysis

    @property
    def index(self) -> Path:
        """The page to open: ``report.html`` of a single book, else ``index.html`` linking the books' reports."""
        return self.out_dir / ("report.html" if self.single else "index.html")


def analyse_books(run: PortfolioRun) -> dict[str, BookReport]:
    """Every book's view and analysis (:func:`carbonrisk.portfolios.books.analyse_book`); folder ``""`` for a single
    book, else the book's name."""
    names = book_names(run.portfolio)
    out = {}
    for name in names:
        view, analysis = analyse_book(run, name)
        out[name] = BookReport(name, view, analysis, "" if len(names) == 1 else name)
    return out


def report_metrics(books: dict[str, BookReport]) -> dict[str, Any]:
    """The ledger's metrics: :func:`ledger_metrics` of the only book, or ``{"books": {name: ...}}``."""
    if len(books) == 1:
        return ledger_metrics(next(iter(books.values())).analysis)
    return {"books": {name: ledger_metrics(b.analysis) for name, b in books.items()}}


def ledger_metrics(analysis: Analysis) -> dict[str, Any]:
    """What the ledger stores for a report and ``runs rerun`` compares: the scalar metrics and the key tables."""
    keep = ("var_es", "levers", "mismatch", "projects", "loans", "compliance_cost_at_risk", "contracts")
    tables = {
        name: frame.reset_index().to_dict(orient="list")
        if frame.index.name is not None
        else frame.to_dict(orient="list")
        for name, frame in analysis.tables.items()
        if name in keep
    }
    return _plain({"metrics": analysis.metrics, "tables": tables})


def _plain(value: Any) -> Any:
    import math

    import numpy as np

    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def run_report(
    portfolio: Portfolio,
    out_dir: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    blocks_per_task: int = 1,
    progress: Callable[[int, int], None] | None = None,
    ledger: Ledger | None = None,
    stress: bool = True,
) -> ReportRun:
    """Simulate, analyse, write the report atomically, then record the run in the ledger.

    One book: the report files in ``out_dir`` itself. Several books (:mod:`carbonrisk.portfolios.books`): each book's
    report in ``out_dir/NAME/`` and ``out_dir/index.html`` / ``summary.json`` linking them
    (:mod:`carbonrisk.portfolios.bookindex`); the output folder's marker lists every file of every sub-folder.

    The output folder is checked and locked before the Monte Carlo (:class:`carbonrisk.portfolios.io.OutputFolder`); the
    report is moved into place only together with its ledger record: if the record cannot be written, the
    previous content of ``out_dir`` is restored and the error propagates (no report without a record). The
    ledger is checked first (:meth:`Ledger.check_writable`): a run that could not be recorded stops before its
    Monte Carlo and before any staging folder exists.
    """
    book = ledger or Ledger()
    book.check_writable()
    with OutputFolder(out_dir) as out:
        run = run_portfolio(
            portfolio, workers=workers, scheduler=scheduler, blocks_per_task=blocks_per_task, progress=progress
        )
        books = analyse_books(run)
        stressed = report_stress(run) if stress else None
        run_id = new_run_id()
        single = len(books) == 1
        for part in books.values():
            folder = out.staging / part.folder
            folder.mkdir(exist_ok=True)
            # the stress section revalues the whole file: inside the report of a single book, else on the index
            write_report_files(part.run, part.analysis, folder, run_id, stressed if single else None)
        if not single:
            write_index(run, list(books.values()), out.staging, run_id, stressed)
        files = {"portfolio": portfolio.source} if Path(portfolio.source).is_file() else {}
        files |= portfolio.referenced_files
        inputs = {
            "portfolio_text": portfolio.text,
            "source": portfolio.source,
            "base_dir": portfolio.base_dir,
            "n_paths": portfolio.n_paths,
            "seed": portfolio.seed,
        }

        def record(final: Path) -> RunRecord:
            return book.record(
                run_id=run_id,
                kind="report",
                inputs=inputs,
                metrics=report_metrics(books),
                seed=portfolio.seed,
                n_paths=portfolio.n_paths,
                input_files=files,
                output_dir=final,
            )

        entry = out.commit(run_id, record)
    return ReportRun(run, books, run_id, out.final, entry, stressed)


def rerun_report(inputs: dict[str, Any]) -> dict[str, Any]:
    """Recompute a recorded report run from its stored portfolio text, path count and seed."""
    portfolio = portfolio_from_text(inputs["portfolio_text"], inputs["source"], inputs["base_dir"]).with_run(
        n_paths=int(inputs["n_paths"]), seed=int(inputs["seed"])
    )
    return report_metrics(analyse_books(run_portfolio(portfolio)))
