"""Excel workbook of report tables: one sheet per table, numbers stored as numbers (openpyxl)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

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


def write_workbook(tables: Mapping[str, pd.DataFrame], path: str | Path) -> Path:
    """Write each frame of ``tables`` to its own sheet (index included when named); return the path."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for name, frame in tables.items():
        data = frame.reset_index() if any(n is not None for n in frame.index.names) else frame
        sheet = workbook.create_sheet(_sheet_name(name, used))
        sheet.append([str(c) for c in data.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in data.itertuples(index=False):
            sheet.append([_cell_value(v) for v in row])
        for i, column in enumerate(data.columns, start=1):
            width = max(
                [len(str(column)), *(len(f"{v:.6g}" if isinstance(v, float) else str(v)) for v in data[column])]
            )
            sheet.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 60)
        sheet.freeze_panes = "A2"
    target = Path(path)
    workbook.save(target)
    return target
