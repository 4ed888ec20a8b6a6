"""The report a credit committee reads (issue 16): executive summary first, readable numbers, lever advice, the
stress section inside the report, and the workbook's front sheets (Summary, Inputs, Assumptions, Warnings, Run)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from carbonrisk.portfolios.advice import coverage_year, lever_advice, million, percent
from carbonrisk.portfolios.analysis import DSCR_DUE_SHARE, dscr_rows_of, informative_exposure_profile
from carbonrisk.portfolios.components import LoanPaths
from carbonrisk.portfolios.excel import write_workbook
from carbonrisk.portfolios.executive import limit_unit, model_label
from carbonrisk.portfolios.ledger import Ledger
from carbonrisk.portfolios.portfolio import DEMO_PORTFOLIO, Portfolio, load_portfolio, portfolio_from_text
from carbonrisk.portfolios.runner import ReportRun, run_report
from carbonrisk.portfolios.workbook import inputs_sheet

RUN_ID = re.compile(r"\d{8}T\d{6}-[0-9a-f]{8}")
SCIENTIFIC = re.compile(r"\b\d+(\.\d+)?[eE][+-]?\d+\b")


# ----------------------------------------------------------------------------------------- pure functions


def test_coverage_year_is_the_first_year_from_which_the_probability_holds() -> None:
    # 2025 reaches 60 % but falls back: the year is the one from which coverage stays above the level.
    profile = pd.DataFrame(
        {"coverage_probability": [np.nan, 0.6, 0.3, 0.55, 0.7, 0.92, 0.95]},
        index=pd.Index(range(2024, 2031), name="year"),
    )
    assert coverage_year(profile, 0.5) == 2027
    assert coverage_year(profile, 0.9) == 2029
    assert coverage_year(profile, 0.99) is None


def test_lever_advice_says_what_each_lever_buys_and_costs() -> None:
    levers = pd.DataFrame(
        {
            "lever": ["none", "prepaid forward", "sold floor"],
            "gap_years": [9.2, 5.5, 9.6],
            "peak_funding_gap_p95_cny": [692.9e6, 667.4e6, 696.6e6],
            "downside_es_cny": [94.8e6, 89.3e6, 94.8e6],
            "coverage_2025": [0.19, 0.49, 0.19],
            "upfront_carbon_income_cny": [0.0, 25.5e6, 0.0],
            "upfront_financing_cny": [0.0, 0.0, 0.0],
            "pv_cost_cny": [0.0, 2.8e6, -1.0e6],
        }
    )
    advice = lever_advice(levers).set_index("lever")
    prepaid = advice.loc["prepaid forward"]
    assert "P95 peak funding gap 692.9 M CNY -> 667.4 M CNY (-25.5 M CNY)" in prepaid["buys"]
    assert "coverage by 2025 19 % -> 49 %" in prepaid["buys"] and "25.5 M CNY of carbon income" in prepaid["buys"]
    assert prepaid["costs"].startswith("2.8 M CNY in expected PV")
    assert prepaid["cost_per_cny_of_gap"] == pytest.approx(2.8e6 / 25.5e6)
    floor = advice.loc["sold floor"]  # a gap that grows is a cost; a negative PV cost is a gain
    assert "P95 peak funding gap" in floor["costs"] and "+3.7 M CNY" in floor["costs"]
    assert "1.0 M CNY of expected PV gained" in floor["buys"] and math.isnan(floor["cost_per_cny_of_gap"])
    assert million(25_472_566.0) == "25.5 M CNY" and percent(0.305) == "30 %" and percent(0.305, 1) == "30.5 %"


def test_limit_units_and_model_label_read_as_a_credit_officer_expects() -> None:
    # a breach is stated in the limit's unit (M CNY, %, t), not as raw floats with cents
    assert [
        limit_unit(n) for n in ("es_99_1y_cny", "var_99_10d_cny", "ltv_max (CEA pledge loan)", "position_t.CEA")
    ] == [
        "CNY",
        "CNY",
        "%",
        "t",
    ]
    assert model_label("GARCH(1,1)-empirical").startswith("GARCH(1,1)-empirical (filtered historical simulation")
    assert model_label("OU-GARCH(1,1)-t") == "OU-GARCH(1,1)-t"


def test_reverse_stress_without_a_threshold_shows_no_precision() -> None:
    """A search that found no crossing reports its threshold and its bracket width as N/A (the width of a search
    that never crossed is not a precision of anything); a found threshold keeps both, with units."""
    from carbonrisk.portfolios.report import _stress_frame

    frame = pd.DataFrame(
        {
            "target": ["loan", "book"],
            "question": ["NPV < 0", "VaR limit"],
            "variable": ["CCER level (CNY/t)", "uniform shock"],
            "threshold": [None, -0.123],
            "precision": [69.3, 0.004],
            "steps": [10, 8],
            "converged": [False, True],
            "note": ["no crossing in the search range", ""],
        }
    )
    shown = _stress_frame("reverse_stress", frame)
    assert list(shown["threshold"]) == ["N/A", "-12.3%"] and list(shown["precision"]) == ["N/A", "0.40%"]


def test_pfe_level_is_raised_to_99_when_few_paths_are_exposed() -> None:
    n = 1000
    exposure = np.zeros((3, n))
    exposure[1, :30] = 1e6  # 3 % of the paths exposed: the 95 % quantile is 0
    rare = informative_exposure_profile(exposure, ["d0", "d1", "d2"])
    assert "pfe_0.99" in rare.columns and rare["pfe_0.99"].iloc[1] == pytest.approx(1e6)
    assert rare["p_exposure"].tolist() == pytest.approx([0.0, 0.03, 0.0])
    assert rare["epe"].iloc[1] == pytest.approx(0.03 * 1e6) and "PFE at 99 %" in rare.attrs["note"]
    exposure[2, :100] = 2e6  # 10 %: the 95 % PFE is informative
    common = informative_exposure_profile(exposure, ["d0", "d1", "d2"])
    assert "pfe_0.95" in common.columns and common["pfe_0.95"].iloc[2] == pytest.approx(2e6)


def test_dscr_is_not_applicable_where_no_debt_service_is_due() -> None:
    loan_spec = next(c for c in load_portfolio(None).contracts if c.instrument.kind == "project_loan")
    inst = loan_spec.instrument
    n_periods = len(inst.schedule()) - 1
    n = 200
    rng = np.random.default_rng(3)
    ds = np.full((n_periods, n), 15e6)
    ds[-1] = 0.02 * 15e6  # the final period: a residual after the cash sweep (2 % of a full period)
    ds[-1, :40] = 15e6  # 20 % of the paths still owe a full period
    cfads = 1.3 * 15e6 * (1 + 0.05 * rng.standard_normal((n_periods, n)))
    loan = LoanPaths(loss_cny=np.zeros(n), dscr=cfads / ds, debt_service_cny=ds)
    rows = pd.DataFrame(dscr_rows_of("L", inst, loan))
    assert rows["p_debt_service_due"].iloc[0] == 1.0 and rows["p_debt_service_due"].iloc[-1] == pytest.approx(0.2)
    assert rows[["dscr_p05", "dscr_p50", "dscr_p95"]].iloc[-1].isna().all()  # fewer than half owe: N/A
    assert rows["dscr_p50"].iloc[0] == pytest.approx(np.median(cfads[0] / ds[0]))
    assert 0.02 < DSCR_DUE_SHARE  # the residual is below the due threshold


def one_book_demo() -> Portfolio:
    """The demo portfolio as one book (every ``book`` key dropped, the bank's limits as ``[limits]``): a single
    report holding every section, the stress section included."""
    demo = load_portfolio(None)
    text = demo.text
    text = re.sub(r"(?m)^book = .*\n", "", text)
    text = re.sub(r"(?ms)^\[books\.(developer|emitter)\.limits\]\n.*?(?=^\[|^#|\Z)", "", text)
    text = text.replace("[books.bank.limits]", "[limits]")
    return portfolio_from_text(text, DEMO_PORTFOLIO, demo.base_dir)


def test_inputs_sheet_holds_every_value_of_the_portfolio_file_as_numbers(tmp_path: Path) -> None:
    pf = one_book_demo()
    frame = inputs_sheet(pf.text)
    values = dict(zip(frame["key"], frame["value"], strict=True))
    assert values["limits.var_99_10d_cny"] == 8_000_000 and values["contracts[1].rate"] == pytest.approx(0.042)
    path = write_workbook({}, tmp_path / "i.xlsx", front={"Inputs": frame})
    sheet = load_workbook(path)["Inputs"]
    cells = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2)}
    limit = cells["limits.var_99_10d_cny"]
    assert limit.data_type == "n" and limit.number_format == "#,##0"
    assert cells["contracts[1].rate"].number_format == "0.0%"
    assert cells["contracts[1].start_date"].data_type == "s"


# ------------------------------------------------------------------------------------- the demo's report


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> ReportRun:
    root = tmp_path_factory.mktemp("summary-report")
    portfolio = one_book_demo().with_run(n_paths=300, seed=5)
    return run_report(portfolio, root / "out", ledger=Ledger(root / "ledger.sqlite"))


@pytest.mark.slow
def test_executive_summary_is_first_and_the_page_fits_1280_px(report: ReportRun) -> None:
    from tests.browser import external_requests, layout

    page = report.out_dir / "report.html"
    shown = layout(page, 1280)
    assert external_requests(shown, page) == []  # type: ignore[arg-type]
    assert shown.first_section == "summary"
    assert shown.too_wide == [] and shown.scroll_width <= shown.viewport_width
    assert shown.images_total >= 4 and shown.images_loaded == shown.images_total
    assert SCIENTIFIC.search(shown.visible_text) is None, SCIENTIFIC.search(shown.visible_text)
    text = shown.visible_text
    for words in ("Risk against limits", "Worst stress scenario", "Peak funding gap", "Model", "Contents"):
        assert words in text
    assert re.search(r"VaR 99 %, 10 days\s+[\d.]+ M CNY\s+8.0 M CNY", text)
    assert text.index("Executive summary") < text.index("Contents") < text.index("Risk figures")


@pytest.mark.slow
def test_every_section_is_in_the_table_of_contents_and_stress_is_in_the_report(report: ReportRun) -> None:
    html = (report.out_dir / "report.html").read_text()
    toc = html[html.index('<nav id="toc"') : html.index("</nav>")]
    anchors = re.findall(r'<section id="([^"]+)"', html)
    assert anchors[0] == "summary"
    assert all(f'href="#{a}"' in toc for a in anchors[1:])
    for table in ("stress_scenarios", "stress_reverse_stress", "stress_ladders", "lever_advice"):
        assert f'id="{table}"' in html
    assert report.stress is not None and set(report.stress.tables) >= {"scenarios", "ladders", "reverse_stress"}
    book = report.stress.tables["scenarios"]
    worst = book[(book["component"] == "book") & (book["scenario"] != "base (no shock)")]["pnl_1y_cny"].min()
    assert f"loses {million(abs(worst))} over one year" in html


@pytest.mark.slow
def test_final_period_dscr_is_not_applicable_and_pfe_is_informative(report: ReportRun) -> None:
    t = report.analysis.tables
    dscr = t["dscr"]
    assert dscr[["dscr_p05", "dscr_p50", "dscr_p95"]].iloc[-1].isna().all()
    assert (dscr["dscr_p95"].dropna() < 5).all()
    exposure = next(v for k, v in t.items() if k.startswith("exposure_"))
    pfe = next(c for c in exposure.columns if c.startswith("pfe_"))
    level = float(pfe[4:])
    assert (exposure["p_exposure"].max() < 0.05) == (level == 0.99)


@pytest.mark.slow
def test_pdf_pages_text_and_run_id_on_every_page(report: ReportRun) -> None:
    from pypdf import PdfReader

    from tests.browser import chromium_path

    chromium_path()
    reader = PdfReader(report.out_dir / "report.pdf")
    assert len(reader.pages) > 1
    for pdf_page in reader.pages:
        text = pdf_page.extract_text()
        assert f"carbonrisk run {report.run_id}" in text
    assert "Executive summary" in reader.pages[0].extract_text()


@pytest.mark.slow
def test_workbook_front_sheets_numbers_and_formats(report: ReportRun) -> None:
    book = load_workbook(report.out_dir / "report.xlsx")
    assert book.sheetnames[:5] == ["Summary", "Inputs", "Assumptions", "Warnings", "Run"]
    assert {"stress_scenarios", "stress_ladders", "var_es", "levers"} <= set(book.sheetnames)
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
    summary = {row[0].value: row[1] for row in book["Summary"].iter_rows(min_row=2)}
    var = summary["VaR 99 %, 10 days"]
    assert var.data_type == "n" and var.number_format == "#,##0"
    assert var.value == pytest.approx(report.analysis.metrics["var_99_10d_cny"])
    assert summary["VaR 99 %, 10 days: utilisation"].number_format == "0.0%"
    assert summary["Peak funding gap year (median)"].number_format == "0"
    run = {row[0].value: row[1].value for row in book["Run"].iter_rows(min_row=2)}
    assert run["run id"] == report.run_id and run["seed"] == "5" and len(run["portfolio text sha256"]) == 64
    assert any(k.startswith("version: numpy") for k in run)
    var_es = book["var_es"]
    assert var_es["C2"].data_type == "n" and var_es["C2"].number_format == "#,##0"
    widths = [d.width for d in book["Summary"].column_dimensions.values()]
    assert widths and max(widths) <= 60


def test_inputs_sheet_formats_counts_tonnes_and_rates() -> None:
    frame = inputs_sheet(
        "seed = 7\n[portfolio]\nn_paths = 4000\n[limits]\nposition_t = { CEA = 2000000 }\n"
        "[levers]\nprepaid_discount = 0.1\n"
    )
    units = dict(zip(frame["key"], frame.attrs["row_units"]["value"], strict=True))
    assert units == {
        "seed": "count",
        "portfolio.n_paths": "count",
        "limits.position_t.CEA": "t",
        "levers.prepaid_discount": "%",
    }
