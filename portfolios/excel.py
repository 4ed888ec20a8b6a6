"""Excel workbook of report tables: one sheet per table, numbers stored as numbers with formats (openpyxl)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from carbonrisk.portfolios.formatting import Unit, column_unit, excel_format, format_value

__all__ = ["write_workbook"]

_INVALID = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(name: str, used: set[str]) -> str:
    base = _INVALID.sub("_", name)[:31] or "sheet"
    candidate, k = base, 1
    while candidate.lower() in used:
        suffix = f"_{k}"
        candidate, k = base[: 31 - len(suffix)] + suffix, k + 1
    used.add(candidate.lower())
    return candidate


def _cell_value(value: object) -> object:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if np.isfinite(v) else None
    if isinstance(value, (pd.Timestamp,)):
        return value.to_pydatetime()
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if value is None or isinstance(value, (int, str, bool)):
        return value
    return str(value)


def _write_sheet(
    sheet: Worksheet,
    data: pd.DataFrame,
    units: Mapping[str, str] | None,
    row_units: Mapping[str, Sequence[str]] | None = None,
) -> None:
    sheet.append([str(c) for c in data.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="bottom")
    for row in data.itertuples(index=False):
        sheet.append([_cell_value(v) for v in row])
    for i, column in enumerate(data.columns, start=1):
        per_row = (row_units or {}).get(str(column))
        kinds = [Unit(u) for u in per_row] if per_row else [column_unit(column, units)] * len(data)
        shown = [format_value(v, k) for v, k in zip(data[column], kinds, strict=True)]
        for (cell,), unit in zip(sheet.iter_rows(min_row=2, min_col=i, max_col=i), kinds, strict=True):
            number_format = excel_format(unit)
            if number_format is not None and isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                cell.number_format = number_format
            if unit is Unit.TEXT:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        width = max([min(len(str(column)), 24), *(len(text) for text in shown)])
        sheet.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 60)
    sheet.freeze_panes = "A2"


def write_workbook(
    tables: Mapping[str, pd.DataFrame], path: str | Path, *, front: Mapping[str, pd.DataFrame] | None = None
) -> Path:
    """Write each frame to its own sheet, ``front`` sheets first (Summary, Inputs, ...); return the path.

    Numbers are numeric cells with the number format of their column's unit (:func:`carbonrisk.portfolios.formatting.
    excel_format`: CNY ``#,##0``, probabilities ``0.0%``...), the header row is frozen and columns are sized to
    their formatted content (at most 60 characters; longer text wraps). A frame's index is written as columns when
    it is named. ``frame.attrs["row_units"]`` (``{column: [unit per row]}``) gives a column of mixed units (the
    Summary's ``value``) one format per cell.
    """
    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for name, frame in {**(front or {}), **tables}.items():
        data = frame.reset_index() if any(n is not None for n in frame.index.names) else frame
        sheet = workbook.create_sheet(_sheet_name(name, used))
        _write_sheet(sheet, data, frame.attrs.get("units"), frame.attrs.get("row_units"))
    target = Path(path)
    workbook.save(target)
    return target
