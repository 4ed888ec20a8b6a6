"""Readable numbers: the unit of each report column and how a value of that unit is shown.

Report tables name their columns with units (``var_cny``, ``price_cny_per_t``, ``p_margin_call``, ``gap_years``);
:func:`column_unit` reads the unit from the name (or from ``frame.attrs["units"]``, which wins), and
:func:`format_value` shows a value of that unit the way a credit committee reads it: amounts in CNY with thousands
separators and no decimals, prices with two decimals, probabilities and shares in %, calendar years as ``2040``,
durations in years with one decimal, ratios (DSCR, LTV multiples) with two decimals, never scientific notation.
The same units give the Excel number formats (:func:`excel_format`), so the HTML page, the PDF and the workbook
agree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from enum import Enum

import numpy as np
import pandas as pd

__all__ = ["Unit", "column_label", "column_unit", "excel_format", "format_value"]


class Unit(Enum):
    """What a column measures (decides its format)."""

    CNY = "CNY"
    CNY_PER_T = "CNY/t"
    TONNES = "t"
    PERCENT = "%"
    YEAR = "year"
    YEARS = "years"
    RATIO = "ratio"
    DATE = "date"
    NUMBER = "number"
    COUNT = "count"
    TEXT = "text"


_PERCENT = re.compile(
    r"^(p_|prob|coverage|share$|.*_share$|irr|level$|.*_probability$|utilisation|ltv|pd_|pd$|lgd|.*risk_weight$|"
    r".*_pd(_1y)?$|.*_pd_lifetime$)"
)
_CNY_PREFIXES = ("epe", "pfe", "cfar", "expected", "standalone_es", "contribution", "value", "loss")
_QUANTILE_LABEL = re.compile(r"^q?(0\.\d+)$|^p(\d\d)$")


def column_unit(name: object, units: Mapping[str, str] | None = None) -> Unit:
    """The unit of column ``name``; an entry in ``units`` (a frame's ``attrs["units"]``) takes precedence."""
    key = str(name)
    if units and key in units:
        return Unit(units[key])
    low = key.lower()
    if low in ("date", "period_end", "delivery_date", "start_date") or low.endswith("_date"):
        return Unit.DATE
    if low in ("year", "period") or low.endswith("_year") or "_year_p" in low or low.startswith("year_"):
        return Unit.YEAR
    if low.endswith("_years") or "_years_" in low or low in ("tenor", "maturity"):
        return Unit.YEARS
    if "_cny_per_t" in low or low.startswith("price") or low.startswith("strike"):
        return Unit.CNY_PER_T
    if low.endswith("_cny") or "_cny_" in low or low.startswith(_CNY_PREFIXES):
        return Unit.CNY
    if low.startswith("dscr") or low.endswith("_ratio") or low.startswith("ratio"):
        return Unit.RATIO
    if _PERCENT.match(low):
        return Unit.PERCENT
    if low.endswith("_t") or low.startswith("delta_") or low.startswith("quantity"):
        return Unit.TONNES
    return Unit.NUMBER


_ABBREVIATIONS = {
    "var": "VaR",
    "es": "ES",
    "npv": "NPV",
    "irr": "IRR",
    "dscr": "DSCR",
    "pfe": "PFE",
    "epe": "EPE",
    "cfar": "CFaR",
    "ecl": "ECL",
    "ead": "EAD",
    "lgd": "LGD",
    "pd": "PD",
    "ltv": "LTV",
    "se": "s.e.",
    "cea": "CEA",
    "ccer": "CCER",
    "pv": "PV",
    "rwa": "RWA",
    "cny": "CNY",
    "irb": "IRB",
    "ifrs9": "IFRS 9",
    "cva": "CVA",
    "hs": "HS",
    "pnl": "P&L",
}


def column_label(name: object, units: Mapping[str, str] | None = None) -> str:
    """A header a reader understands: ``npv_p05_cny`` -> ``NPV P5 (CNY)``, ``p_margin_call`` -> ``P(margin call)``."""
    key = str(name)
    unit = column_unit(key, units)
    words = re.sub(r"(\d)_(\d)", r"\1.\2", key.replace("-", "_")).split("_")
    for unit_words in (["cny", "per", "t"], ["cny"], ["years"], ["t"]):
        if len(words) > len(unit_words) and [w.lower() for w in words[-len(unit_words) :]] == unit_words:
            words = words[: -len(unit_words)]
            break
    shown = []
    for word in words:
        low = word.lower()
        match = _QUANTILE_LABEL.match(low)
        if match:
            level = float(match.group(1)) * 100 if match.group(1) else float(match.group(2))
            shown.append(f"P{level:g}")
        elif low in _ABBREVIATIONS:
            shown.append(_ABBREVIATIONS[low])
        elif word:
            shown.append(word)
    text = " ".join(shown) or key
    if key.lower().startswith("p_") and len(shown) > 1:
        text = f"P({' '.join(shown[1:])})"
    suffix = {Unit.CNY: " (CNY)", Unit.CNY_PER_T: " (CNY/t)", Unit.TONNES: " (t)", Unit.YEARS: " (years)"}.get(unit, "")
    if unit is Unit.PERCENT and not text.startswith("P("):
        suffix = " (%)"
    return text[:1].upper() + text[1:] + suffix


def _plain_number(x: float) -> str:
    size = abs(x)
    if size >= 1000:
        return f"{x:,.0f}"
    if size >= 1:
        return f"{x:,.2f}"
    if size == 0:
        return "0"
    return f"{x:.4f}".rstrip("0").rstrip(".") if size >= 1e-4 else "0.0000"


def format_value(value: object, unit: Unit) -> str:
    """Show ``value`` in ``unit`` (missing or non-finite numbers as ``N/A``)."""
    if value is None or (isinstance(value, float | np.floating) and not math.isfinite(float(value))):
        return "N/A"
    if value is pd.NaT:
        return "N/A"
    if isinstance(value, pd.Timestamp):
        return str(value.date()) if value == value.normalize() else str(value)
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if not isinstance(value, int | float | np.integer | np.floating):
        return str(value)
    x = float(value)
    if unit is Unit.CNY or unit is Unit.TONNES:
        return f"{x:,.0f}"
    if unit is Unit.CNY_PER_T:
        return f"{x:,.2f}"
    if unit is Unit.PERCENT:
        pct = 100.0 * x
        if 0 < pct < 0.05:
            return "<0.1 %"
        if -0.05 < pct < 0:
            return "-0.0 %"
        return f"{pct:.1f} %"
    if unit is Unit.YEAR:
        return f"{round(x):d}"
    if unit is Unit.YEARS:
        return f"{x:.1f}"
    if unit is Unit.RATIO:
        return f"{x:.2f}"
    if unit is Unit.COUNT:
        return f"{round(x):,d}"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}" if abs(int(value)) >= 10_000 else str(int(value))
    return _plain_number(x)


_EXCEL = {
    Unit.CNY: "#,##0",
    Unit.TONNES: "#,##0",
    Unit.CNY_PER_T: "#,##0.00",
    Unit.PERCENT: "0.0%",
    Unit.YEAR: "0",
    Unit.YEARS: "0.0",
    Unit.RATIO: "0.00",
    Unit.DATE: "yyyy-mm-dd",
    Unit.NUMBER: "#,##0.0000",
    Unit.COUNT: "#,##0",
}


def excel_format(unit: Unit) -> str | None:
    """The Excel number format of ``unit`` (``None`` for text)."""
    return _EXCEL.get(unit)
