"""Positions and contracts listed in a CSV or XLSX file that the portfolio file references (``[portfolio]
positions_file`` / ``contracts_file``): treasury teams keep their books in spreadsheets.

One row is one ``[[positions]]`` / ``[[contracts]]`` table: the header row holds the keys (the same keys as the
TOML tables), each cell a value, an empty cell an absent key. Every row is validated by the same code as a TOML
table (:func:`carbonrisk.portfolios.portfolio._position` / ``_contract``, the declarations of
:mod:`carbonrisk.models.quantities` and
:mod:`carbonrisk.finance.quantities`), so a column is accepted exactly when the TOML key is; a key that a later version
declares (such as a component's ``book``) works as a column without a change here. An error names the file, the
row (as the spreadsheet numbers it: the header is row 1), the column, the value and the limit, on one line::

    book.csv: row 3: column quantity_t = -5 is not > 0 (t)

Cells are read as TOML values would be (``300000``, ``0.6``, ``true``, ``[1.0, 2.0]``, ``{ ... }``; a date
``2025-12-31`` becomes the text ``"2025-12-31"``, as the TOML files write dates); a cell that is no TOML value is
text, and the text columns (:data:`TEXT_COLUMNS`) are always text. An XLSX workbook is read from the sheet named
like the list (``positions`` / ``contracts``) when it has one, else from its first sheet, so one workbook can hold
both. Files are read with the rules of :mod:`carbonrisk.models.files` (UTF-8, comma-separated).
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from carbonrisk.models.files import read_csv_text, require_file
from carbonrisk.portfolios.exceptions import InputError
from carbonrisk.portfolios.tomlconfig import KeyLocator, Section

__all__ = ["SUFFIXES", "TEXT_COLUMNS", "RowSection", "row_sections"]

SUFFIXES: tuple[str, ...] = (".csv", ".xlsx")
TEXT_COLUMNS: frozenset[str] = frozenset({"name", "asset", "type", "project", "book", "underlying", "collateral"})
"""Columns always read as text (a name such as ``2025`` stays a name)."""


@dataclass(frozen=True)
class RowSection(Section):
    """One row of a spreadsheet as a :class:`~carbonrisk.portfolios.tomlconfig.Section`: errors say file, row and
    column."""

    row: int = 0
    """Row number as the spreadsheet shows it (header = 1)."""

    def where(self, key: str | int | None = None) -> str:
        """``file: row N`` (the column is named by :meth:`key_path`)."""
        return f"{self.file}: row {self.row}"

    def key_path(self, key: str | int | None = None) -> str:
        """``column KEY``; the list's name (``contracts``) for the row itself."""
        return str(self.path[0]) if key is None else f"column {key}"

    def error(self, key: str | int | None, rule: str) -> InputError:
        """``file: row N: column 'key' rule`` (``file: row N: rule`` for the row)."""
        rule = rule.replace("required key", "required column")
        return InputError(f"{self.where()}: {rule}" if key is None else f"{self.where()}: column '{key}' {rule}")

    def check_keys(self, allowed: Any, required: Any = ()) -> None:
        """As :meth:`Section.check_keys`, naming columns."""
        try:
            super().check_keys(allowed, required)
        except InputError as exc:
            message = (
                str(exc).replace("is not a valid key", "is not a valid column").replace("valid keys:", "valid columns:")
            )
            raise InputError(message) from None


def _cell(column: str, value: Any) -> Any:
    """A cell as the value a TOML table would hold (``None``: empty, the key is absent)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return str(pd.Timestamp(value).date())
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    text = str(value).strip()
    if not text:
        return None
    if column in TEXT_COLUMNS:
        return text
    try:
        parsed = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    if isinstance(parsed, (dt.datetime, dt.date)):
        return str(pd.Timestamp(parsed).date())
    return parsed


def _frame(path: Path, what: str, sheet: str) -> pd.DataFrame:
    suffix = path.suffix.lower()
    require_file(path, what, InputError)
    if suffix == ".csv":
        return read_csv_text(path, what, InputError, dtype=str, keep_default_na=False, skipinitialspace=True)
    if suffix == ".xlsx":
        try:
            with pd.ExcelFile(path, engine="openpyxl") as book:
                names = [str(n) for n in book.sheet_names]
                return pd.read_excel(book, sheet_name=sheet if sheet in names else names[0], dtype=object)
        except Exception as exc:  # zipfile.BadZipFile, openpyxl's InvalidFileException, KeyError of a bare zip...
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(
                f"{what} '{path}' is not a readable Excel workbook ({type(exc).__name__}: {first}); "
                "save it as .xlsx from Excel or export it as CSV"
            ) from None
    raise InputError(f"{what} '{path}' has suffix '{path.suffix}'; supported: {', '.join(SUFFIXES)}")


def _columns(frame: pd.DataFrame, label: str) -> list[str]:
    """The header's keys; a duplicate or a missing header of a filled column is refused."""
    names = [str(c).strip() for c in frame.columns]
    for i, name in enumerate(names):
        base = re.sub(r"\.\d+$", "", name)
        if base != name and base in names[:i]:  # pandas renames a repeated header 'x' to 'x.1'
            raise InputError(f"{label}: row 1: column '{base}' appears twice in the header")
        if name.startswith("Unnamed:") and frame.iloc[:, i].map(lambda v: _cell("", v) is not None).any():
            raise InputError(f"{label}: row 1: column {i + 1} has values but no key in the header")
    return names


def row_sections(path: Path, table: str, *, label: str, base_dir: Path) -> list[RowSection]:
    """The rows of the CSV / XLSX ``path`` as sections of the list ``table`` (``positions`` or ``contracts``).

    ``label`` is how errors name the file (as written in the portfolio file); relative paths in cells resolve
    against ``base_dir`` (the portfolio file's folder). Rows whose cells are all empty are skipped.

    Raises
    ------
    InputError
        Unreadable file (missing, not UTF-8, not comma-separated, not a workbook), a repeated header, a file with
        no row.
    """
    frame = _frame(path, f"{table} file", table)
    names = _columns(frame, label)
    out: list[RowSection] = []
    for i, values in enumerate(frame.itertuples(index=False, name=None)):
        data = {n: v for n, raw in zip(names, values, strict=True) if (v := _cell(n, raw)) is not None}
        data = {n: v for n, v in data.items() if not n.startswith("Unnamed:")}
        if data:
            out.append(RowSection(data, (table, len(out)), label, KeyLocator(""), base_dir, row=i + 2))
    if not out:
        raise InputError(f"{label}: no {table} listed (a header row and one row per entry are expected)")
    return out
