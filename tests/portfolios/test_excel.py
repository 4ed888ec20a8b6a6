"""Excel report: one sheet per table, numbers as numbers, safe sheet names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import load_workbook

from carbonrisk.portfolios.excel import write_workbook


def test_sheets_and_numeric_cells(tmp_path: Path) -> None:
    risk = pd.DataFrame({"level": [0.95, 0.99], "var_cny": [np.float64(1.5e6), 2.5e6], "n": [np.int64(10), 20]})
    years = pd.DataFrame({"cfar": [1.0, np.nan]}, index=pd.Index([2025, 2026], name="year"))
    long_name = "a/very:long[name]?that exceeds thirty-one characters"
    path = write_workbook(
        {"risk": risk, "cash flow at risk": years, long_name: risk, long_name + "2": risk}, tmp_path / "r.xlsx"
    )
    wb = load_workbook(path)
    assert wb.sheetnames[:2] == ["risk", "cash flow at risk"]
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in wb.sheetnames)
    assert len(set(wb.sheetnames)) == 4
    ws = wb["risk"]
    assert [c.value for c in ws[1]] == ["level", "var_cny", "n"]
    assert ws["B2"].value == 1.5e6 and ws["B2"].data_type == "n" and ws["C3"].value == 20 and ws["A2"].data_type == "n"
    ws2 = wb["cash flow at risk"]
    assert [c.value for c in ws2[1]] == ["year", "cfar"] and ws2["A2"].value == 2025 and ws2["B3"].value is None
