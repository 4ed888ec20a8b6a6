"""Readable numbers (HTML, workbook) and report.pdf: units from column names, no scientific notation, A4 pages."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from carbonrisk.portfolios.excel import write_workbook
from carbonrisk.portfolios.formatting import Unit, column_label, column_unit, format_value
from carbonrisk.portfolios.html import page, table_tag
from carbonrisk.portfolios.pdf import print_pdf

_SCIENTIFIC = re.compile(r"\d[eE][+-]?\d")


@pytest.mark.parametrize(
    ("column", "unit", "label"),
    [
        ("var_cny", Unit.CNY, "VaR (CNY)"),
        ("npv_p05_cny", Unit.CNY, "NPV P5 (CNY)"),
        ("strike_cny_per_t", Unit.CNY_PER_T, "Strike (CNY/t)"),
        ("p_margin_call", Unit.PERCENT, "P(margin call)"),
        ("p_min_dscr_below_1_2", Unit.PERCENT, "P(min DSCR below 1.2)"),
        ("irr_p50", Unit.PERCENT, "IRR P50 (%)"),
        ("payback_year_p50", Unit.YEAR, "Payback year P50"),
        ("year", Unit.YEAR, "Year"),
        ("gap_years", Unit.YEARS, "Gap (years)"),
        ("dscr_p05", Unit.RATIO, "DSCR P5"),
        ("credits_issued_mean_t", Unit.TONNES, "Credits issued mean (t)"),
        ("pfe_0.95", Unit.CNY, "PFE P95 (CNY)"),
        ("component", Unit.NUMBER, "Component"),
        ("irb_pd_1y", Unit.PERCENT, "IRB PD 1y (%)"),
        ("standardised_risk_weight", Unit.PERCENT, "Standardised risk weight (%)"),
        ("pd_lifetime", Unit.PERCENT, "PD lifetime (%)"),
    ],
)
def test_units_and_labels_from_column_names(column: str, unit: Unit, label: str) -> None:
    assert column_unit(column) is unit
    assert column_label(column) == label


def test_frame_units_override_the_name() -> None:
    assert column_unit("expected", {"expected": "CNY/t"}) is Unit.CNY_PER_T


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (25_733_123.4, Unit.CNY, "25,733,123"),
        (6.985e-10, Unit.PERCENT, "<0.1 %"),
        (0.593, Unit.PERCENT, "59.3 %"),
        (2040.0, Unit.YEAR, "2040"),
        (np.int64(2040), Unit.YEAR, "2040"),
        (10.66, Unit.YEARS, "10.7"),
        (369.7, Unit.RATIO, "369.70"),
        (float("nan"), Unit.RATIO, "N/A"),
        (104.0149, Unit.CNY_PER_T, "104.01"),
        (6.985e-10, Unit.NUMBER, "0.0000"),
        (2.573e7, Unit.NUMBER, "25,730,000"),
    ],
)
def test_values_are_shown_as_a_reader_expects(value: object, unit: Unit, shown: str) -> None:
    assert format_value(value, unit) == shown


@given(st.floats(allow_nan=True, allow_infinity=True, width=64), st.sampled_from(list(Unit)))
def test_no_value_is_ever_shown_in_scientific_notation(value: float, unit: Unit) -> None:
    assert not _SCIENTIFIC.search(format_value(value, unit))


def test_html_table_formats_by_unit() -> None:
    frame = pd.DataFrame({"year": [2040], "p_loss": [6.985e-10], "npv_mean_cny": [2.573e7], "dscr_p50": [np.nan]})
    tag = html.unescape(table_tag(frame))
    assert "2040" in tag and "2,040" not in tag and "<0.1 %" in tag and "25,730,000" in tag and "N/A" in tag
    assert not _SCIENTIFIC.search(tag)


def test_wide_table_with_few_rows_is_shown_transposed() -> None:
    frame = pd.DataFrame({"loan": ["A", "B"]} | {f"p_event_{i}": [0.1 * i, 0.2] for i in range(14)})
    tag = html.unescape(table_tag(frame))
    assert tag.count("<tr>") == 1 + 14  # header + one row per field
    assert '<th class="l">A</th>' in tag and "P(event 3)" in tag and "30.0 %" in tag
    narrow = html.unescape(table_tag(frame.iloc[:, :5]))
    assert narrow.count("<tr>") == 1 + 2


def test_workbook_cells_are_numbers_with_formats(tmp_path: Path) -> None:
    frame = pd.DataFrame({"loan": ["A"], "p_loss": [0.0123], "expected_loss_cny": [46_500.2], "year": [2027]})
    front = {"Summary": pd.DataFrame({"metric": ["VaR 99 % 10 d"], "value_cny": [5_794_043.0]})}
    path = write_workbook({"loans": frame}, tmp_path / "r.xlsx", front=front)
    book = load_workbook(path)
    assert book.sheetnames == ["Summary", "loans"]
    sheet = book["loans"]
    assert sheet.freeze_panes == "A2"
    p_loss, loss, year = sheet["B2"], sheet["C2"], sheet["D2"]
    assert isinstance(p_loss.value, float) and p_loss.number_format == "0.0%"
    assert isinstance(loss.value, float) and loss.number_format == "#,##0"
    assert year.value == 2027 and year.number_format == "0"
    assert book["Summary"]["B2"].number_format == "#,##0"


def test_pdf_has_pages_text_and_the_run_id_on_every_page(tmp_path: Path) -> None:
    from pypdf import PdfReader

    from tests.browser import chromium_path

    chromium_path()  # skips locally without chromium, fails in CI
    sections = "".join(
        f"<section><h2>Section {i}</h2>{table_tag(pd.DataFrame({'year': [2030 + i], 'var_cny': [1e6 * i]}))}</section>"
        for i in range(3)
    )
    html_file = tmp_path / "report.html"
    html_file.write_text(page("Risk report", sections, "meta", footer="carbonrisk run 20261201T000000-abcdef12"))
    assert print_pdf(html_file, tmp_path / "report.pdf") is None
    reader = PdfReader(tmp_path / "report.pdf")
    assert len(reader.pages) == 3  # one section per page: a break before every section but the first
    for number, pdf_page in enumerate(reader.pages, start=1):
        text = pdf_page.extract_text()
        assert "carbonrisk run 20261201T000000-abcdef12" in text
        assert f"page {number} of 3" in text
    assert "2,000,000" in reader.pages[2].extract_text()


def test_without_chromium_the_pdf_is_skipped_with_a_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARBONRISK_CHROMIUM", "")
    html_file = tmp_path / "report.html"
    html_file.write_text(page("t", "<p>x</p>"))
    reason = print_pdf(html_file, tmp_path / "report.pdf")
    assert reason is not None and "Chromium" in reason
    assert not (tmp_path / "report.pdf").exists()
