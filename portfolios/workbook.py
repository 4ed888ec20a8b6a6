"""The front sheets of ``report.xlsx``: Summary, Inputs, Assumptions, Warnings and Run.

* **Summary**: the executive summary's figures, one row each (:func:`carbonrisk.portfolios.executive.summary_sheet`);
* **Inputs**: every value of the portfolio file (TOML), one row per key path (``contracts[2].principal_cny``),
  numbers as numbers formatted by the key's unit (:func:`carbonrisk.portfolios.formatting.column_unit` on the key name);
* **Assumptions**: the report's modelling assumptions, one per row;
* **Warnings**: the run's warnings and the summary's warnings that matter;
* **Run**: run id, portfolio name and source, valuation date, paths, seed, elapsed time, the SHA-256 of the
  portfolio text and of every file it references, and the package versions
  (:func:`carbonrisk.portfolios.ledger.environment_versions`).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from carbonrisk.portfolios.engine import PortfolioRun
from carbonrisk.portfolios.executive import ExecutiveSummary, summary_sheet
from carbonrisk.portfolios.formatting import Unit, column_unit
from carbonrisk.portfolios.ledger import environment_versions, file_sha256

__all__ = ["front_sheets", "inputs_sheet", "run_sheet"]


def _flatten(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flatten(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            yield from _flatten(v, f"{path}[{i}]")
    else:
        yield path, value


_RATE_KEYS = re.compile(r"(^|_)(rate|share|discount|penalty|haircut|spread|yield)$|^(ltv|ltv_max|borrower_pd_1y)$")
"""Input keys holding a rate or share (shown in %), besides those :func:`column_unit` reads as %."""


def _row_unit(key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Unit.TEXT.value
    name = key.rsplit(".", 1)[-1]
    if _RATE_KEYS.search(name):
        return Unit.PERCENT.value
    unit = column_unit(name)
    if unit is Unit.NUMBER and "." in key:  # position_t.CEA: the parent key names the unit
        unit = column_unit(key.rsplit(".", 2)[-2].split("[")[0])
    if unit in (Unit.NUMBER, Unit.DATE) and isinstance(value, int):
        return Unit.COUNT.value
    return unit.value if unit is not Unit.DATE else Unit.NUMBER.value


def inputs_sheet(text: str) -> pd.DataFrame:
    """Every value of the portfolio file ``text``: ``key`` (dotted path) and ``value`` (a number where it is one;
    lists of numbers as text)."""
    rows = []
    for key, value in _flatten(tomllib.loads(text), ""):
        shown = value if isinstance(value, int | float | str | bool) else str(value)
        rows.append((key, shown))
    frame = pd.DataFrame(rows, columns=["key", "value"])
    frame.attrs["units"] = {"key": "text", "value": "number"}
    frame.attrs["row_units"] = {"value": [_row_unit(k, v) for k, v in rows]}
    return frame


def run_sheet(run: PortfolioRun, run_id: str) -> pd.DataFrame:
    """Run id, seed, paths, hashes of the inputs and the package versions, as ``item`` / ``value`` text rows."""
    pf = run.portfolio
    rows: list[tuple[str, str]] = [
        ("run id", run_id),
        ("portfolio", pf.name),
        ("source", pf.source),
        ("valuation date", str(run.context.market.valuation_date.date())),
        ("paths", f"{run.n_paths}"),
        ("seed", f"{pf.seed}"),
        ("elapsed (s)", f"{run.elapsed_s:.1f}"),
        ("price history", f"{run.history.source} ({run.history.n_obs} closes)"),
        ("portfolio text sha256", hashlib.sha256(pf.text.encode("utf-8")).hexdigest()),
    ]
    for name, file in pf.referenced_files.items():
        path = Path(file)
        rows.append((f"{name} sha256 ({file})", file_sha256(path) if path.is_file() else "not found"))
    rows += [(f"version: {k}", str(v)) for k, v in environment_versions().items()]
    frame = pd.DataFrame(rows, columns=["item", "value"])
    frame.attrs["units"] = {"item": "text", "value": "text"}
    return frame


def _text_sheet(column: str, lines: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame({column: list(lines) or ["none"]})
    frame.attrs["units"] = {column: "text"}
    return frame


def front_sheets(
    run: PortfolioRun, run_id: str, summary: ExecutiveSummary, assumptions: Sequence[str]
) -> dict[str, pd.DataFrame]:
    """The five front sheets, in order."""
    return {
        "Summary": summary_sheet(summary),
        "Inputs": inputs_sheet(run.portfolio.text),
        "Assumptions": _text_sheet("assumption", assumptions),
        "Warnings": _text_sheet("warning", [*summary.warnings, *run.warnings]),
        "Run": run_sheet(run, run_id),
    }
