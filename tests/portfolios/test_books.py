"""Books (issue 16, "one book per report"): one joint run, each book's figures on its own components.

Reference for the equality tests: a book's figures must equal those of a portfolio file holding only that book's
components (same seed), bit for bit when the two runs simulate the same paths (see :mod:`carbonrisk.portfolios.books`:
the other books add no grid date and the book holds all projects or none), and within Monte Carlo error (4 standard
errors of the VaR difference of two independent estimates) when another book's contract refines the grid.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import carbonrisk.portfolios.runner as runner_module
from carbonrisk.portfolios.analysis import analyse
from carbonrisk.portfolios.books import analyse_book, book_portfolio, book_run
from carbonrisk.portfolios.cli import main
from carbonrisk.portfolios.engine import run_portfolio
from carbonrisk.portfolios.io import MARKER, foreign_entries
from carbonrisk.portfolios.ledger import Ledger
from carbonrisk.portfolios.portfolio import DEFAULT_BOOK, load_portfolio, portfolio_from_text
from carbonrisk.portfolios.runner import ReportRun, run_report

HEAD = """\
[portfolio]
name = "Two desks"
horizon_years = 2
n_paths = 600
seed = 5

[market]
prices = "cea"
model = "garch"
dist = "normal"
scenario = "mid"
"""

BOOK_A = """
[[positions]]
name = "CEA desk"
book = "a"
asset = "CEA"
quantity_t = 200000
cost_cny_per_t = 90.0

[[contracts]]
type = "forward"
name = "CEA Jun-25 sale"
book = "a"
underlying = "CEA"
position = "short"
quantity_t = 80000
strike_cny_per_t = 104.0
delivery_date = "2025-06-30"

[[contracts]]
type = "pledge_loan"
name = "CEA pledge"
book = "a"
collateral = "CEA"
quantity_t = 300000
ltv = 0.6
rate = 0.045
tenor_years = 1.0
maintenance_ratio = 1.35
liquidation_ratio = 1.15
"""

BOOK_B = """
[[positions]]
name = "CCER stock"
book = "b"
asset = "CCER"
quantity_t = 100000
cost_cny_per_t = 60.0

[[obligations]]
name = "Plant 2025"
book = "b"
year = 2025
emissions_t = 1000000
free_allocation_t = 900000
ccer_share = 0.05
"""


def _portfolio(*parts: str):  # type: ignore[no-untyped-def]
    return portfolio_from_text(HEAD + "".join(parts), "books-test.toml", ".")


@pytest.fixture(scope="module")
def joint_run():  # type: ignore[no-untyped-def]
    return run_portfolio(_portfolio(BOOK_A, BOOK_B))


def test_a_book_equals_its_components_run_alone_bit_for_bit(joint_run) -> None:  # type: ignore[no-untyped-def]
    """Book b (a CCER stock and an obligation) adds no grid date: book a's run alone draws the same paths."""
    _, mine = analyse_book(joint_run, "a")
    solo = analyse(run_portfolio(_portfolio(BOOK_A)))
    pd.testing.assert_frame_equal(mine.tables["var_es"], solo.tables["var_es"], check_exact=True)
    for key in ("es_contributions_1y_99", "contracts", "loans", "limit_breaches"):
        pd.testing.assert_frame_equal(mine.tables[key], solo.tables[key], check_exact=True)
    assert mine.metrics == solo.metrics


def test_a_finer_grid_from_another_book_agrees_within_monte_carlo_error(joint_run) -> None:  # type: ignore[no-untyped-def]
    """Book a's pledge loan is monitored on every SSE trading day, which adds grid dates: book b alone is drawn on
    a coarser grid, so its VaR is not the same draw, but the same distribution: within 4 s.e. of the difference
    of two independent estimates."""
    _, mine = analyse_book(joint_run, "b")
    solo = analyse(run_portfolio(_portfolio(BOOK_B)))
    r1 = mine.tables["var_es"].set_index(["horizon", "level"])
    r2 = solo.tables["var_es"].set_index(["horizon", "level"])
    assert not r1["var_cny"].equals(r2["var_cny"])
    for idx in r1.index:
        se = math.hypot(r1.loc[idx, "var_se_cny"], r2.loc[idx, "var_se_cny"])
        assert abs(r1.loc[idx, "var_cny"] - r2.loc[idx, "var_cny"]) < 4 * se, (idx, r1.loc[idx], r2.loc[idx])


def test_book_rows_add_up_to_the_joint_pnl(joint_run) -> None:  # type: ignore[no-untyped-def]
    a, b = (np.asarray(book_run(joint_run, name).arrays["pnl_1y"]) for name in ("a", "b"))
    joint = np.asarray(joint_run.arrays["pnl_1y"])
    assert a.shape[0] + b.shape[0] == joint.shape[0]
    np.testing.assert_array_equal(np.sort(np.vstack([a, b]), axis=0), np.sort(joint, axis=0))


def test_each_book_has_its_own_limits() -> None:
    limits = """
[books.a.limits]
var_99_10d_cny = 1000
position_t = { CEA = 100000 }
[books.b.limits]
es_99_1y_cny = 1e12
"""
    pf = _portfolio(BOOK_A, BOOK_B, limits).with_run(n_paths=200)
    run = run_portfolio(pf)
    _, a = analyse_book(run, "a")
    _, b = analyse_book(run, "b")
    assert {x["limit"] for x in a.breaches} == {"var_99_10d_cny", "position_t.CEA"}
    assert b.breaches == [] and book_portfolio(pf, "b").limits.es_99_1y_cny == 1e12


def test_a_file_without_books_is_one_book_as_before() -> None:
    pf = portfolio_from_text(HEAD + BOOK_A.replace('book = "a"\n', ""), "x.toml", ".")
    assert pf.books == (DEFAULT_BOOK,)
    assert book_portfolio(pf, DEFAULT_BOOK) == pf


# --- the demo: three books, the bank's loan on the developer's project ------------------------------------------


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> ReportRun:
    root = tmp_path_factory.mktemp("books-demo")
    portfolio = load_portfolio(None).with_run(n_paths=150, seed=3)
    return run_report(portfolio, root / "out" / "nested", ledger=Ledger(root / "ledger.sqlite"))


def test_demo_books_are_complete(demo_report: ReportRun) -> None:
    books = demo_report.books
    assert list(books) == ["bank", "developer", "emitter"]
    bank, dev, emitter = (books[n].run.portfolio for n in books)
    assert [c.name for c in bank.contracts] == [
        "CEA pledge loan",
        "CCER-linked loan (Hebei)",
        "CEA repo (bank financier)",
        "Green structured deposit (bank side)",
    ]
    assert [p.name for p in bank.positions] == ["CEA inventory (bank collateral desk)"] and not bank.projects
    assert len(dev.projects) == 3 and [p.asset for p in dev.positions] == ["CCER"]
    assert [c.name for c in dev.contracts] == ["Hebei carbon-linked bond (issuer)"]
    assert [o.name for o in emitter.obligations] == ["Coal power plant 2025"]
    assert [c.name for c in emitter.contracts] == ["CEA Dec-25 hedge (emitter)"]
    assert "levers" in books["developer"].analysis.tables
    assert all("levers" not in books[n].analysis.tables for n in ("bank", "emitter"))
    assert {"loans", "credit", "dscr"} <= set(books["bank"].analysis.tables)
    assert "compliance_cost_at_risk" in books["emitter"].analysis.tables


def test_the_bank_loan_uses_the_developer_project_paths_across_books(demo_report: ReportRun) -> None:
    """The bank's CCER-linked loan reads the Hebei project's per-path credits: its loan rows in the bank's book are
    those of the whole-file analysis (the same per-path arrays), and they vary with the project's paths."""
    whole = analyse(demo_report.run)
    bank = demo_report.books["bank"].analysis
    key = "CCER-linked loan (Hebei)"
    pd.testing.assert_series_equal(
        bank.tables["loans"].set_index("loan").loc[key], whole.tables["loans"].set_index("loan").loc[key]
    )
    dscr = bank.tables["dscr"]
    assert (dscr["loan"] == key).any() and dscr["dscr_p95"].max() > dscr["dscr_p05"].min()
    pd.testing.assert_frame_equal(demo_report.books["developer"].analysis.tables["projects"], whole.tables["projects"])


def test_index_links_every_book_and_marker_lists_nested_files(demo_report: ReportRun) -> None:
    out = demo_report.out_dir
    page = (out / "index.html").read_text(encoding="utf-8")
    for name, book in demo_report.books.items():
        assert f'href="{name}/report.html"' in page
        assert (out / book.report).is_file() and (out / name / "summary.json").is_file()
        assert json.loads((out / name / "summary.json").read_text())["run_id"] == demo_report.run_id
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["books"]) == set(demo_report.books)
    assert summary["books"]["bank"]["headline"]["var_99_10d_cny"] > 0
    listed = set(json.loads((out / MARKER).read_text())["files"])
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != MARKER}
    assert listed == on_disk and "bank/report.html" in listed
    assert foreign_entries(out) == []
    (out / "bank" / "notes.txt").write_text("mine")
    assert foreign_entries(out) == ["bank/notes.txt"]
    (out / "bank" / "notes.txt").unlink()


def test_ledger_records_per_book_metrics_and_reruns_identical(demo_report: ReportRun) -> None:
    metrics = demo_report.record.metrics
    assert set(metrics["books"]) == {"bank", "developer", "emitter"}
    assert (
        metrics["books"]["bank"]["metrics"]["var_99_10d_cny"]
        == demo_report.books["bank"].analysis.metrics["var_99_10d_cny"]
    )
    again = runner_module.rerun_report(demo_report.record.inputs)
    assert again == json.loads(json.dumps(metrics))


def test_run_with_books_has_no_pooled_analysis(demo_report: ReportRun) -> None:
    with pytest.raises(Exception, match="books"):
        _ = demo_report.analysis


# --- bad input: one line, exit 2, nothing written -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('book = "a"', 'book = "a b"', 1), "positions[0].book' = 'a b' must be 1-40 letters"),
        (('book = "a"', "book = 3", 1), "positions[0].book' must be a string"),
        (('book = "a"', 'book = "../x"', 1), "must be 1-40 letters"),
        (("", "[books.zzz.limits]\nvar_99_10d_cny = 1\n", 0), "key 'books.zzz' names no book"),
        (("", "[books.a.limits]\nvar_99 = 1\n", 0), "did you mean 'var_99_10d_cny'"),
        (("", "[books.a.limits]\nvar_99_10d_cny = -1\n", 0), "books.a.limits.var_99_10d_cny"),
        (("", "[books.a]\nlimit = 1\n", 0), "did you mean 'limits'"),
        (("", "[limits]\nvar_99_10d_cny = 1\n", 0), "applies to the default book 'main'"),
        (("", '[levers]\nbook = "a"\n', 0), "levers.book' = 'a' holds no project"),
    ],
)
def test_bad_book_input_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: tuple[str, str, int], message: str
) -> None:
    old, new, count = edit
    text = HEAD + BOOK_A + BOOK_B
    text = text.replace(old, new, count) if old else text + new
    path = tmp_path / "p.toml"
    path.write_text(text)
    assert main(["report", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "o").exists()


def test_a_failed_index_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(runner_module, "write_index", broken)
    path = tmp_path / "p.toml"
    path.write_text((HEAD + BOOK_A + BOOK_B).replace("n_paths = 600", "n_paths = 100"))
    out = tmp_path / "deep" / "er" / "out"
    assert main(["report", str(path), "--out", str(out)]) == 1
    assert "disk full" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.toml"]


@pytest.mark.slow
def test_report_cli_prints_per_book_headlines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.toml"
    path.write_text((HEAD + BOOK_A + BOOK_B).replace("n_paths = 600", "n_paths = 100"))
    out = tmp_path / "out"
    assert main(["report", str(path), "--out", str(out), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload["books"]) == {"a", "b"}
    assert payload["books"]["a"]["report_summary"]["metrics"]["var_99_10d_cny"] == pytest.approx(
        payload["books"]["a"]["headline"]["var_99_10d_cny"], rel=0, abs=0
    )
    assert main(["report", str(path), "--out", str(out)]) == 0  # a carbonrisk folder with sub-folders is replaced
    shown = capsys.readouterr().out
    assert "million CNY" in shown and "index:" in shown and "e+" not in shown
    (out / "a" / "report.html").write_text("edited")
    assert main(["report", str(path), "--out", str(out)]) == 2
    assert "a/report.html (changed since carbonrisk wrote it)" in capsys.readouterr().err
    assert (out / "a" / "report.html").read_text() == "edited"
