"""Hostile file and data inputs (issue 12, sections 2-3): every one is refused with one line and exit 2.

Classes: fake or corrupt ``.xlsx`` price files, text that is not UTF-8 (GBK, UTF-16, random bytes), a directory
where a file is expected, semicolon- and tab-separated CSVs, missing prices, ambiguous day/month dates, broken
TOML files (portfolio, project, contract), absurd scenario files, repeated or out-of-range ``--levels``,
``--scheduler`` values that are not an address, and unusable run ledgers. Each case goes through
:func:`tests.hostile.harness.assert_refused` (exit 2, one stderr line, no traceback, nothing written or deleted
under ``tmp_path``). The warnings (an isolated outlier) and the cases that must *work* (a read-only ledger for
``runs list``, numba with no writable cache folder) are at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import carbonrisk.portfolios.ledger as ledger_module
from carbonrisk.portfolios.ledger import Ledger
from tests.hostile.harness import assert_refused, snapshot

REPO = Path(__file__).resolve().parents[2]
DEMO_PORTFOLIO = str(REPO / "portfolios" / "data" / "demo_portfolio.toml")

# --------------------------------------------------------------------------------------------------------------
# Hostile files


def _closes(n: int = 120, seed: int = 1) -> tuple[pd.DatetimeIndex, np.ndarray]:
    rng = np.random.default_rng(seed)
    return pd.bdate_range("2022-01-03", periods=n), 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, n)))


def _prices_text(n: int = 120, date_format: str = "%Y-%m-%d", sep: str = ",") -> str:
    dates, close = _closes(n)
    rows = [f"date{sep}close"] + [f"{d.strftime(date_format)}{sep}{c:.4f}" for d, c in zip(dates, close, strict=True)]
    return "\n".join(rows) + "\n"


def _random_bytes(n: int = 4096) -> bytes:
    return np.random.default_rng(12).bytes(n)


def _gbk_csv() -> bytes:
    text = "日期,收盘价\n" + "\n".join(_prices_text().splitlines()[1:]) + "\n"
    return text.encode("gbk")


def _write(tmp: Path, name: str, data: bytes | str) -> str:
    path = tmp / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return str(path)


def _folder(tmp: Path, name: str = "folder") -> str:
    (tmp / name).mkdir()
    return str(tmp / name)


def _zip_not_workbook(tmp: Path) -> str:
    path = tmp / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    return str(path)


def _xlsx_with_missing_close(tmp: Path) -> str:
    dates, close = _closes()
    frame = pd.DataFrame({"date": dates, "close": close})
    frame.loc[17, "close"] = np.nan
    path = tmp / "missing.xlsx"
    frame.to_excel(path, index=False)
    return str(path)


def _prices_with(tmp: Path, name: str, edit: Callable[[list[str]], None]) -> str:
    lines = _prices_text().splitlines()
    edit(lines)
    return _write(tmp, name, "\n".join(lines) + "\n")


def _set_row(row: int, text: str) -> Callable[[list[str]], None]:
    def edit(lines: list[str]) -> None:
        lines[row] = text

    return edit


def _ambiguous_dates(tmp: Path) -> str:
    """120 business days whose day and month are both <= 12, written dd/mm/yyyy (could be mm/dd/yyyy)."""
    dates = [d for d in pd.bdate_range("2022-01-03", "2030-12-31") if d.day <= 12][:120]
    _, close = _closes(len(dates))
    rows = ["date,close"] + [f"{d:%d/%m/%Y},{c:.4f}" for d, c in zip(dates, close, strict=True)]
    return _write(tmp, "ambiguous.csv", "\n".join(rows) + "\n")


BAD_PRICE_FILES: dict[str, tuple[Callable[[Path], str], str]] = {
    "xlsx-random-bytes": (lambda t: _write(t, "random.xlsx", _random_bytes()), r"is not a readable Excel workbook"),
    "xlsx-renamed-csv": (lambda t: _write(t, "renamed.xlsx", _prices_text()), r"is not a readable Excel workbook"),
    "xlsx-empty": (lambda t: _write(t, "empty.xlsx", b""), r"is not a readable Excel workbook"),
    "csv-gbk": (lambda t: _write(t, "gbk.csv", _gbk_csv()), r"gbk\.csv' is not UTF-8 text \(byte 0x.. at offset"),
    "csv-binary": (lambda t: _write(t, "binary.csv", _random_bytes()), r"binary\.csv' is not UTF-8 text"),
    "directory": (lambda t: _folder(t, "prices"), r"price file '.*prices' is a directory"),
    "csv-semicolon": (lambda t: _write(t, "semi.csv", _prices_text(sep=";")), r"separated by semicolon ';'.*comma"),
    "csv-tab": (lambda t: _write(t, "tab.csv", _prices_text(sep="\t")), r"separated by tab.*comma-separated"),
    "csv-nan-close": (
        lambda t: _prices_with(t, "nan.csv", _set_row(30, "2022-02-11,nan")),
        r"non-finite or missing prices .*2022-02-11",
    ),
    "dates-ambiguous": (lambda t: _ambiguous_dates(t), r"ambiguous: day and month are both <= 12"),
}
"""Name -> (writer returning the path, expected message); every one for every price-reading command."""

PRICE_COMMANDS: dict[str, list[str]] = {
    "data-show": ["data", "show"],
    "fit": ["fit"],
    "backtest": ["backtest"],
    "simulate": ["simulate", "--paths", "50"],
}


@pytest.mark.parametrize("command", PRICE_COMMANDS.values(), ids=PRICE_COMMANDS.keys())
@pytest.mark.parametrize("bad", BAD_PRICE_FILES.values(), ids=BAD_PRICE_FILES.keys())
def test_bad_price_file(
    bad: tuple[Callable[[Path], str], str], command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, match = bad
    assert_refused([*command, make(tmp_path)], tmp_path, capsys, match=match)


def _mixed_order(tmp: Path) -> str:
    lines = _prices_text(date_format="%d/%m/%Y").splitlines()
    lines[100] = "01/13/2022,50.0"  # month first, while other rows (e.g. 13/01/2022) are day first
    return _write(tmp, "mixed.csv", "\n".join(lines) + "\n")


MORE_PRICE_CASES: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "utf16-csv": (
        lambda t: ["data", "show", _write(t, "utf16.csv", _prices_text().encode("utf-16"))],
        r"is not UTF-8 text \(byte 0xff at offset 0",
    ),
    "nul-bytes-csv": (
        lambda t: ["data", "show", _write(t, "zeros.csv", b"\x00" * 512)],
        r"NUL byte at offset 0",
    ),
    "directory-named-csv": (lambda t: ["data", "show", _folder(t, "prices.csv")], r"is a directory"),
    "directory-named-xlsx": (lambda t: ["fit", _folder(t, "prices.xlsx")], r"is a directory"),
    "empty-csv": (lambda t: ["data", "show", _write(t, "empty.csv", b"")], r"empty\.csv' is empty"),
    "zip-not-a-workbook": (lambda t: ["data", "show", _zip_not_workbook(t)], r"not a readable Excel workbook"),
    "xlsx-missing-close": (
        lambda t: ["data", "show", _xlsx_with_missing_close(t)],
        r"non-finite or missing prices .*2022-01-26 \(empty\)",
    ),
    "dates-mixed-order": (lambda t: ["data", "show", _mixed_order(t)], r"mix day-first .* and month-first"),
    "csv-empty-close": (
        lambda t: ["fit", _prices_with(t, "hole.csv", _set_row(5, "2022-01-07,"))],
        r"non-finite or missing prices .*2022-01-07 \(empty\)",
    ),
    "csv-pipe": (lambda t: ["backtest", _write(t, "pipe.csv", _prices_text(sep="|"))], r"separated by pipe"),
    "ccer-gbk": (
        lambda t: ["simulate", "cea", "--paths", "50", "--ccer", _write(t, "ccer.csv", _gbk_csv())],
        r"ccer\.csv' is not UTF-8",
    ),
    "ccer-directory": (
        lambda t: ["simulate", "cea", "--paths", "50", "--ccer", _folder(t, "ccer")],
        r"is a directory",
    ),
}


@pytest.mark.parametrize("case", MORE_PRICE_CASES.values(), ids=MORE_PRICE_CASES.keys())
def test_more_bad_price_inputs(
    case: tuple[Callable[[Path], list[str]], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, match = case
    assert_refused(make(tmp_path), tmp_path, capsys, match=match)


# --------------------------------------------------------------------------------------------------------------
# Scenario files (simulate --scenario FILE; portfolio market.scenario)


def _scenario(tmp: Path, rows: str, name: str = "scenario.csv", sep: str = ",") -> str:
    return _write(tmp, name, f"year{sep}price_cny_per_t\n" + rows)


BAD_SCENARIOS: dict[str, tuple[Callable[[Path], str], str]] = {
    "years-before-valuation": (
        lambda t: _scenario(t, "".join(f"{y},60\n" for y in range(2000, 2011))),
        r"years 2000-2010 all lie before the valuation date 2024-10-31",
    ),
    "price-1e300": (lambda t: _scenario(t, "2025,60\n2026,1e300\n"), r"row 3 \(year 2026\).*100,000"),
    "price-inf": (lambda t: _scenario(t, "2025,inf\n2026,60\n"), r"row 2 \(year 2025\).*finite"),
    "price-nan": (lambda t: _scenario(t, "2025,60\n2026,nan\n"), r"row 3 \(year 2026\).*finite"),
    "price-zero": (lambda t: _scenario(t, "2025,0\n2026,60\n"), r"row 2 .*= 0 must be"),
    "price-negative": (lambda t: _scenario(t, "2025,60\n2026,-5\n"), r"row 3 .*= -5 must be"),
    "price-above-bound": (lambda t: _scenario(t, "2025,60\n2026,200000\n"), r"= 200000 .*\(0, 100,000\] CNY/t"),
    "gbk": (lambda t: _write(t, "gbk.csv", "年份,价格\n2025,60\n".encode("gbk")), r"is not UTF-8"),
    "directory": (lambda t: _folder(t, "scenario"), r"scenario file '.*scenario' is a directory"),
    "semicolon": (lambda t: _scenario(t, "2025;60\n", sep=";"), r"separated by semicolon"),
    "no-rows": (lambda t: _scenario(t, ""), r"has no rows"),
}


@pytest.mark.parametrize("bad", BAD_SCENARIOS.values(), ids=BAD_SCENARIOS.keys())
def test_bad_scenario_simulate(
    bad: tuple[Callable[[Path], str], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, match = bad
    assert_refused(["simulate", "cea", "--paths", "50", "--scenario", make(tmp_path)], tmp_path, capsys, match=match)


def _portfolio(tmp: Path, market: str, name: str = "book.toml") -> str:
    text = f"""[portfolio]
name = "hostile"
horizon_years = 2
n_paths = 200
seed = 1

[market]
{market}

[[positions]]
name = "CEA inventory"
asset = "CEA"
quantity_t = 1000
cost_cny_per_t = 90.0
"""
    return _write(tmp, name, text)


def _key(name: str, value: str) -> str:
    return f"{name} = {json.dumps(value)}"


OLD_YEARS = "2000,60\n2001,61\n"
HUGE_PRICE = "2025,60\n2026,1e300\n"

REPORT_CASES: dict[str, tuple[Callable[[Path], str], str]] = {
    "scenario-years-before": (
        lambda t: _portfolio(t, _key("scenario", _scenario(t, OLD_YEARS, "old.csv"))),
        r"book\.toml:\d+: key 'market\.scenario' .*all lie before the valuation date",
    ),
    "scenario-1e300": (
        lambda t: _portfolio(t, _key("scenario", _scenario(t, HUGE_PRICE, "huge.csv"))),
        r"key 'market\.scenario' .*row 3",
    ),
    "prices-fake-xlsx": (
        lambda t: _portfolio(t, _key("prices", _write(t, "fake.xlsx", _random_bytes()))),
        r"not a readable Excel workbook",
    ),
    "prices-gbk": (lambda t: _portfolio(t, _key("prices", _write(t, "gbk.csv", _gbk_csv()))), r"is not UTF-8"),
    "prices-directory": (lambda t: _portfolio(t, _key("prices", _folder(t, "prices"))), r"is a directory"),
    "prices-ambiguous-dates": (lambda t: _portfolio(t, _key("prices", _ambiguous_dates(t))), r"ambiguous"),
    "portfolio-gbk": (
        lambda t: _write(t, "book.toml", '[portfolio]\nname = "碳资产组合"\n'.encode("gbk")),
        r"input file '.*book\.toml' is not UTF-8 text \(byte 0x",
    ),
    "portfolio-binary": (lambda t: _write(t, "book.toml", _random_bytes()), r"book\.toml' is not UTF-8 text"),
    "portfolio-directory": (lambda t: _folder(t, "book.toml"), r"book\.toml' is a directory"),
    "portfolio-utf16": (
        lambda t: _write(t, "book.toml", '[portfolio]\nname = "x"\n'.encode("utf-16")),
        r"is not UTF-8 text",
    ),
}


# structured products (issue 18): only project-income bonds (and project loans) can name a project
_LINKED_BOND = """prices = "cea"

[[projects]]
name = "Hebei"
template = "hebei"
start_year = 2026

[[contracts]]
type = "carbon_linked_bond"
name = "bond"
project = "Hebei"
face_cny = 1e8
coupon_rate = 0.02
issue_date = "2024-10-31"
maturity_date = "2026-10-30"
"""
REPORT_CASES |= {
    "price-linked-bond-with-project": (
        lambda t: _portfolio(t, _LINKED_BOND + "strike_cny_per_t = 80.0\nparticipation = 0.1\n"),
        r"book\.toml:\d+: .*project.*a carbon_linked_bond takes no project cash flows \(a project_loan, a "
        r"carbon_linked_bond with linked_coupon = 'project_income' or any contract",
    ),
    "linked-bond-bad-share": (
        lambda t: _portfolio(t, _LINKED_BOND + 'linked_coupon = "project_income"\nincome_share = 2.0\n'),
        r"book\.toml:\d+: contracts\[0\] 'bond' \(carbon_linked_bond\): income_share = 2 is not in \[0, 1\]",
    ),
}


@pytest.mark.parametrize("case", REPORT_CASES.values(), ids=REPORT_CASES.keys())
def test_bad_report_inputs(
    case: tuple[Callable[[Path], str], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, match = case
    assert_refused(["report", make(tmp_path), "--out", "out"], tmp_path, capsys, match=match)


def test_good_portfolio_of_the_report_cases_is_accepted(tmp_path: Path) -> None:
    """The portfolio the report cases break is itself valid (so each refusal is due to its one hostile edit)."""
    from carbonrisk.portfolios.portfolio import load_portfolio

    path = _portfolio(tmp_path, _key("prices", _write(tmp_path, "good.csv", _prices_text(300))) + '\nscenario = "mid"')
    assert load_portfolio(path).n_paths == 200


# --------------------------------------------------------------------------------------------------------------
# Geothermal inputs: weather and emission-factor CSVs, project TOML files


def _project(tmp: Path, body: str) -> str:
    return _write(tmp, "project.toml", body)


GEOTHERMAL_CASES: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "weather-gbk": (
        lambda t: ["reductions", "hebei", "--weather", _write(t, "w.csv", "温度\n-5.0\n".encode("gbk"))],
        r"weather file '.*w\.csv' is not UTF-8",
    ),
    "weather-binary": (
        lambda t: ["reductions", "hebei", "--weather", _write(t, "w.csv", _random_bytes())],
        r"weather file .*is not UTF-8",
    ),
    "weather-directory": (
        lambda t: ["reductions", "hebei", "--weather", _folder(t, "weather")],
        r"weather file '.*weather' is a directory",
    ),
    "weather-semicolon": (
        lambda t: ["reductions", "hebei", "--weather", _write(t, "w.csv", "time;temperature_c\n0;-5\n")],
        r"weather file .*separated by semicolon",
    ),
    "ef-gbk": (
        lambda t: ["reductions", "hebei", "--ef", _write(t, "ef.csv", "年份,电力\n2025,0.5\n".encode("gbk"))],
        r"emission-factor file '.*ef\.csv' is not UTF-8",
    ),
    "ef-binary": (
        lambda t: ["reductions", "hebei", "--ef", _write(t, "ef.csv", _random_bytes())],
        r"emission-factor file .*is not UTF-8",
    ),
    "ef-directory": (
        lambda t: ["reductions", "hebei", "--ef", _folder(t, "ef.csv")],
        r"emission-factor file '.*ef\.csv' is a directory",
    ),
    "ef-tab": (
        lambda t: ["reductions", "hebei", "--ef", _write(t, "ef.csv", "year\tpower_ef_t_per_mwh\n2025\t0.5\n")],
        r"separated by tab",
    ),
    "project-gbk-bytes": (
        lambda t: ["reductions", "project", _write(t, "project.toml", 'name = "河北"\n'.encode("gbk"))],
        r"project file '.*project\.toml' is not UTF-8 text",
    ),
    "project-binary": (
        lambda t: ["reductions", "project", _write(t, "project.toml", _random_bytes())],
        r"project file .*is not UTF-8 text",
    ),
    "project-directory": (
        lambda t: ["reductions", "project", _folder(t, "project.toml")],
        r"project file '.*project\.toml' is a directory",
    ),
    "risk-project-gbk": (
        lambda t: ["reductions", "risk", _write(t, "project.toml", 'name = "河北"\n'.encode("gbk")), "--paths", "10"],
        r"project file .*is not UTF-8 text",
    ),
    "risk-project-directory": (
        lambda t: ["reductions", "risk", _folder(t, "project.toml"), "--paths", "10"],
        r"is a directory",
    ),
    "project-plant-file-binary": (
        lambda t: ["reductions", "project", _project(t, "[plant]\n" + _key("file", _write(t, "p.toml", b"\xff\xfe")))],
        r"plant file '.*p\.toml' is not UTF-8 text",
    ),
    "project-plant-file-directory": (
        lambda t: ["reductions", "project", _project(t, "[plant]\n" + _key("file", _folder(t, "plant.toml")))],
        r"plant file '.*plant\.toml' is a directory",
    ),
    "project-weather-parameters-gbk": (
        lambda t: [
            "reductions",
            "project",
            _project(t, "[weather]\n" + _key("parameters", _write(t, "w.toml", 'site = "保定"\n'.encode("gbk")))),
        ],
        r"weather parameter file '.*w\.toml' is not UTF-8 text",
    ),
    "project-ef-csv-directory": (
        lambda t: ["reductions", "project", _project(t, _key("ef_csv", _folder(t, "ef.csv")))],
        r"emission-factor file '.*ef\.csv' is a directory",
    ),
    "risk-project-weather-csv-gbk": (
        lambda t: [
            "reductions",
            "risk",
            _project(t, "[weather]\n" + _key("csv", _write(t, "w.csv", "温度\n1\n".encode("gbk"))) + "\n"),
            "--paths",
            "10",
        ],
        r"weather file .*is not UTF-8",
    ),
}


@pytest.mark.parametrize("case", GEOTHERMAL_CASES.values(), ids=GEOTHERMAL_CASES.keys())
def test_bad_geothermal_inputs(
    case: tuple[Callable[[Path], list[str]], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, match = case
    assert_refused(make(tmp_path), tmp_path, capsys, match=match)


# --------------------------------------------------------------------------------------------------------------
# Contract files (carbonrisk value FILE)

CONTRACT_CASES: dict[str, tuple[Callable[[Path], str], str]] = {
    "gbk": (
        lambda t: _write(t, "deal.toml", '[[instrument]]\nname = "远期"\n'.encode("gbk")),
        r"contract file '.*deal\.toml' is not UTF-8 text \(byte 0x",
    ),
    "binary": (lambda t: _write(t, "deal.toml", _random_bytes()), r"contract file .*is not UTF-8 text"),
    "directory": (lambda t: _folder(t, "deal.toml"), r"contract file '.*deal\.toml' is a directory"),
    "utf16": (lambda t: _write(t, "deal.toml", "[market]\n".encode("utf-16")), r"is not UTF-8 text"),
    "nul-bytes": (lambda t: _write(t, "deal.toml", b"[market]\n\x00\x00"), r"NUL byte at offset 9"),
}


def _contract_with_quotes(tmp: Path, quotes: str) -> str:
    text = (REPO / "finance" / "examples" / "forward.toml").read_text(encoding="utf-8")
    assert "discount_rate = 0.018\n" in text
    return _write(tmp, "deal.toml", text.replace("discount_rate = 0.018\n", _key("discount_quotes", quotes) + "\n"))


CONTRACT_CASES |= {
    "quotes-gbk": (
        lambda t: _contract_with_quotes(t, _write(t, "q.csv", "品种,期限,利率\nDEPO,1M,0.018\n".encode("gbk"))),
        r"discount quote file '.*q\.csv' is not UTF-8 text",
    ),
    "quotes-directory": (
        lambda t: _contract_with_quotes(t, _folder(t, "q.csv")),
        r"discount quote file '.*q\.csv' is a directory",
    ),
    "quotes-semicolon": (
        lambda t: _contract_with_quotes(t, _write(t, "q.csv", "instrument;tenor;rate\nDEPO;1M;0,018\n")),
        r"discount quote file .*separated by semicolon",
    ),
}


# --- structured products (issue 18): bad terms of the shipped examples, one line each -----------------------------
def _example_with(tmp: Path, example: str, old: str, new: str) -> str:
    text = (REPO / "finance" / "examples" / f"{example}.toml").read_text(encoding="utf-8")
    assert old in text
    return _write(tmp, "deal.toml", text.replace(old, new, 1))


CONTRACT_CASES |= {
    "deposit-cap-negative": (
        lambda t: _example_with(t, "structured_deposit", "cap = 0.1\n", "cap = -0.5\n"),
        r"error: cap = -0\.5 is not in \(0, 10\] \(fraction\)$",
    ),
    "deposit-participation-huge": (
        lambda t: _example_with(t, "structured_deposit", "participation = 0.15\n", "participation = 1e9\n"),
        r"error: participation = 1000000000 is not in \[0, 10\] \(fraction\)$",
    ),
    "deposit-min-rate-text": (
        lambda t: _example_with(t, "structured_deposit", "min_rate = 0.010\n", 'min_rate = "1%"\n'),
        r"error: min_rate = '1%' is not a number",
    ),
    "deposit-averaging": (
        lambda t: _example_with(t, "structured_deposit", 'averaging = "monthly"', 'averaging = "daily"'),
        r"error: averaging = 'daily' is not one of final, monthly",
    ),
    "deposit-maturity-before-start": (
        lambda t: _example_with(
            t, "structured_deposit", 'maturity_date = "2025-10-31"', 'maturity_date = "2024-01-31"'
        ),
        r"error: maturity_date=2024-01-31 must be after start_date=2024-10-31$",
    ),
    "deposit-seasoned": (
        lambda t: _example_with(t, "structured_deposit", 'start_date = "2024-10-31"', 'start_date = "2024-09-30"'),
        r"error: start_date=2024-09-30 must not be before the valuation date 2024-10-31",
    ),
    "bond-coupon-months": (
        lambda t: _example_with(t, "carbon_linked_bond", "coupon_months = 12\n", "coupon_months = 5\n"),
        r"error: coupon_months=5 must be one of 1, 3, 6, 12$",
    ),
    "bond-no-strike": (
        lambda t: _example_with(t, "carbon_linked_bond", "strike_cny_per_t = 75.0\n", ""),
        r"error: strike_cny_per_t is required when linked_coupon = 'average_price'$",
    ),
    "bond-volume-rows": (
        lambda t: _example_with(t, "carbon_linked_bond", "carbon_volumes_t = [0.0, ", "carbon_volumes_t = ["),
        r"error: carbon_volumes_t has 4 rows; the contract has 5 years$",
    ),
    "bond-negative-volume": (
        lambda t: _example_with(t, "carbon_linked_bond", "[0.0, 20000.0,", "[0.0, -20000.0,"),
        r"error: carbon_volumes_t must be >= 0$",
    ),
    "bond-day-count": (
        lambda t: _example_with(t, "carbon_linked_bond", 'day_count = "ACT/365F"', 'day_count = "30/360"'),
        r"error: day_count = '30/360' is not one of ACT/365F, ACT/ACT",
    ),
    "bond-cap": (
        lambda t: _example_with(t, "carbon_linked_bond", "linked_cap_rate = 0.015\n", "linked_cap_rate = 1.5\n"),
        r"error: linked_cap_rate = 1\.5 is not in \(0, 1\] \(1/year\)$",
    ),
}


@pytest.mark.parametrize("case", CONTRACT_CASES.values(), ids=CONTRACT_CASES.keys())
def test_bad_contract_file(
    case: tuple[Callable[[Path], str], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, match = case
    assert_refused(["value", make(tmp_path), "--paths", "100"], tmp_path, capsys, match=match)


# --------------------------------------------------------------------------------------------------------------
# Command-line values: --levels, --scheduler

BAD_LEVELS = {
    "duplicate": ("0.95,0.95", r"repeat 0\.95"),
    "duplicate-among-three": ("0.99,0.95,0.99", r"repeat 0\.99"),
    "zero": ("0", r"must lie in \(0\.5, 1\)"),
    "one": ("1", r"must lie in \(0\.5, 1\)"),
    "above-one": ("0.95,1.5", r"must lie in \(0\.5, 1\)"),
    "negative": ("-0.1", r"must lie in \(0\.5, 1\)"),
    "not-numbers": ("a,b", r"invalid levels 'a,b'"),
    "empty": ("", r"must lie in|invalid levels"),
}


@pytest.mark.parametrize(("levels", "match"), BAD_LEVELS.values(), ids=BAD_LEVELS.keys())
def test_bad_backtest_levels(levels: str, match: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert_refused(["backtest", "cea", f"--levels={levels}"], tmp_path, capsys, match=match)


BAD_SCHEDULERS = {
    "word": "foo",
    "scheme-only": "tcp://",
    "http-port-too-large": "http://x:99999",
    "empty": "",
    "port-zero": "tcp://127.0.0.1:0",
    "no-port": "tcp://scheduler",
    "port-not-a-number": "tcp://host:port",
    "spaces": "tcp://my host:8786",
}
SCHEDULER_COMMANDS = {
    "report": ["report", DEMO_PORTFOLIO, "--out", "out"],
    "simulate": ["simulate", "cea", "--paths", "50"],
    "value": ["value", "--example", "forward"],
    "demo": ["demo", "--out", "out"],
}


@pytest.mark.parametrize("address", BAD_SCHEDULERS.values(), ids=BAD_SCHEDULERS.keys())
def test_bad_scheduler_report(address: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = assert_refused(
        [*SCHEDULER_COMMANDS["report"], f"--scheduler={address}"],
        tmp_path,
        capsys,
        match=rf"--scheduler: scheduler address '{address}' is not a scheduler address",
    )
    assert "tcp://host:port" in line or "1-65535" in line


@pytest.mark.parametrize("command", SCHEDULER_COMMANDS.values(), ids=SCHEDULER_COMMANDS.keys())
def test_bad_scheduler_every_command(command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert_refused([*command, "--scheduler", "tcp://x:99999"], tmp_path, capsys, match=r"the port must be 1-65535")


def test_scheduler_check_accepts_addresses() -> None:
    from carbonrisk.portfolios.executor import check_scheduler_address

    for good in ("tcp://127.0.0.1:8786", "tls://scheduler.example.org:8786", "localhost:8786", "tcp://[::1]:8786"):
        assert check_scheduler_address(good) == good


# --------------------------------------------------------------------------------------------------------------
# Run ledger: corrupt, truncated, read-only, unusable CARBONRISK_HOME


def _real_ledger(home: Path, runs: int = 3) -> tuple[Path, list[str]]:
    ledger = Ledger(home / "ledger.sqlite")
    ids = [
        ledger.record(kind="demo", inputs={"i": i, "pad": "x" * 4000}, metrics={"v": i}, seed=i, n_paths=1).id
        for i in range(runs)
    ]
    return ledger.path, ids


def _corrupt_home(tmp: Path) -> None:
    (tmp / "home").mkdir()
    (tmp / "home" / "ledger.sqlite").write_bytes(_random_bytes())


def _truncated_home(tmp: Path) -> None:
    path, _ = _real_ledger(tmp / "home", runs=30)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _directory_home(tmp: Path) -> None:
    (tmp / "home" / "ledger.sqlite").mkdir(parents=True)


LEDGER_STATES: dict[str, tuple[Callable[[Path], None], str]] = {
    "corrupt": (_corrupt_home, r"ledger '.*ledger\.sqlite' cannot be .*file is not a database.*move the file aside"),
    "truncated": (_truncated_home, r"ledger '.*ledger\.sqlite' cannot be .*\(.*\); move the file aside"),
    "directory": (_directory_home, r"ledger path '.*ledger\.sqlite' is a directory; set CARBONRISK_HOME"),
}
LEDGER_COMMANDS = {
    "runs-list": ["runs", "list"],
    "runs-show": ["runs", "show", "2026"],
    "runs-diff": ["runs", "diff", "a", "b"],
    "runs-rerun": ["runs", "rerun", "2026"],
    "report": ["report", DEMO_PORTFOLIO, "--out", "out", "--paths", "100"],
}


@pytest.mark.parametrize("command", LEDGER_COMMANDS.values(), ids=LEDGER_COMMANDS.keys())
@pytest.mark.parametrize("state", LEDGER_STATES.values(), ids=LEDGER_STATES.keys())
def test_unusable_ledger(
    state: tuple[Callable[[Path], None], str],
    command: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make, match = state
    make(tmp_path)
    monkeypatch.setenv("CARBONRISK_HOME", str(tmp_path / "home"))
    assert_refused(command, tmp_path, capsys, match=match)


@pytest.mark.parametrize(
    "command",
    [["report", DEMO_PORTFOLIO, "--out", "out", "--paths", "100"], ["demo", "--cea-holding", "--out", "out"]],
    ids=["report", "demo-cea-holding"],
)
def test_unwritable_carbonrisk_home(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CARBONRISK_HOME under a regular file: mkdir fails even for root (chmod would not stop root)."""
    (tmp_path / "blocker").write_text("a file, not a folder")
    monkeypatch.setenv("CARBONRISK_HOME", str(tmp_path / "blocker" / "home"))
    assert_refused(command, tmp_path, capsys, match=r"cannot create ledger folder '.*blocker/home'.*CARBONRISK_HOME")


def _read_only_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    """Open every ledger connection with SQLite's ``mode=ro``: the behaviour of a read-only file, also for root."""
    real = ledger_module._sqlite_connect

    def read_only(path: Path, *, readonly: bool, immutable: bool = False) -> sqlite3.Connection:
        return real(path, readonly=True, immutable=immutable)

    monkeypatch.setattr(ledger_module, "_sqlite_connect", read_only)


def test_read_only_ledger_refuses_report_before_running(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the ledger lives outside the snapshot: SQLite may leave its empty -wal / -shm files beside a read-only file
    home = tmp_path_factory.mktemp("read-only-home")
    path, _ = _real_ledger(home)
    ledger_bytes = path.read_bytes()
    monkeypatch.setenv("CARBONRISK_HOME", str(home))
    _read_only_sqlite(monkeypatch)

    def must_not_run(*_: object, **__: object) -> None:
        raise AssertionError("the Monte Carlo started although the ledger is read-only")

    monkeypatch.setattr("carbonrisk.portfolios.runner.run_portfolio", must_not_run)
    assert_refused(
        ["report", DEMO_PORTFOLIO, "--out", "out", "--paths", "100"],
        tmp_path,
        capsys,
        match=r"ledger '.*ledger\.sqlite' cannot be opened for writing \(attempt to write a readonly database\)",
    )
    assert path.read_bytes() == ledger_bytes


def test_runs_list_and_show_work_on_read_only_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from carbonrisk.portfolios.cli import main

    _, ids = _real_ledger(tmp_path / "home")
    monkeypatch.setenv("CARBONRISK_HOME", str(tmp_path / "home"))
    _read_only_sqlite(monkeypatch)
    before = snapshot(tmp_path)
    assert main(["runs", "list", "--json"]) == 0
    assert {r["id"] for r in json.loads(capsys.readouterr().out)} == set(ids)
    assert main(["runs", "show", ids[0], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == ids[0]
    # the ledger file is unchanged (a read-only connection may leave SQLite's empty -wal / -shm files beside it)
    assert snapshot(tmp_path)["home/ledger.sqlite"] == before["home/ledger.sqlite"]


def test_runs_list_creates_no_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from carbonrisk.portfolios.cli import main

    monkeypatch.setenv("CARBONRISK_HOME", str(tmp_path / "home"))
    assert main(["runs", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert not (tmp_path / "home").exists()


# --------------------------------------------------------------------------------------------------------------
# Warnings: an isolated outlier is shown on stderr with its date and value


def test_outlier_is_warned_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from carbonrisk.portfolios.cli import main

    dates, close = _closes()
    close[40] *= 1000.0
    rows = ["date,close"] + [f"{d:%Y-%m-%d},{c:.4f}" for d, c in zip(dates, close, strict=True)]
    path = _write(tmp_path, "spike.csv", "\n".join(rows) + "\n")
    assert main(["data", "show", path, "--json"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("carbonrisk: warning: ")
    assert "1 isolated outlier(s)" in err and f"{dates[40].date()} ({close[40]:g};" in err


# --------------------------------------------------------------------------------------------------------------
# numba with no writable cache folder anywhere (read-only install, unusable HOME)

_PROBE = """
import numba

@numba.njit(cache=True)
def kernel(x):
    return x + 1
"""


def _hostile_install(tmp: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the package (the facade and its three folders) whose kernel folders' ``__pycache__`` is a regular
    file (so numba's in-tree cache cannot be created, even by root) and HOME / XDG folders under a regular file (no
    user-wide cache)."""
    src = tmp / "src"
    for package in ("carbonrisk", "models", "finance", "portfolios"):
        shutil.copytree(REPO / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    for kernels in (src / "models", src / "models" / "geothermal"):
        (kernels / "__pycache__").write_text("not a folder")
    (src / "models" / "geothermal" / "probe.py").write_text(_PROBE)
    (tmp / "blocker").write_text("not a folder")
    (tmp / "tmp").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "MPLCONFIGDIR", "CARBONRISK_DEBUG")}
    env |= {
        "PYTHONPATH": str(src),
        "HOME": str(tmp / "blocker" / "home"),
        "XDG_CACHE_HOME": str(tmp / "blocker" / "cache"),
        "XDG_CONFIG_HOME": str(tmp / "blocker" / "config"),
        "TMPDIR": str(tmp / "tmp"),
    }
    return src, env


def test_numba_cache_falls_back_silently(tmp_path: Path) -> None:
    src, env = _hostile_install(tmp_path)
    # the setting defeats numba's own locators: a cache=True kernel outside our fallback fails to decorate
    probe = subprocess.run(
        [sys.executable, "-c", "import probe"],
        cwd=src / "models" / "geothermal",
        env=env | {"PYTHONPATH": str(src / "models" / "geothermal")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode == 1 and "no locator available" in probe.stderr
    script = "import sys; from carbonrisk.portfolios.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run(
        [sys.executable, "-c", script, "data", "show", "cea", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert [line for line in proc.stderr.splitlines() if not line.startswith("carbonrisk: warning:")] == []
    assert json.loads(proc.stdout)["rows"] == 797
    assert (tmp_path / "tmp" / f"carbonrisk-numba-cache-{os.getuid()}").is_dir()
