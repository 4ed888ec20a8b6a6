"""The validation module: declarations, the one check and its message rule, argparse types, memory estimates."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

import models.memory
from models import quantities as Q
from models.exceptions import InputError
from models.memory import MemoryEstimate, available_memory_bytes, check_memory, estimate_price_paths
from models.validation import Quantity, argparse_type, check, check_number

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_declaration_has_unit_description_and_range() -> None:
    declared = Q.declared_quantities()
    assert len(declared) >= 50
    names = [q.name for q in declared]
    assert len(names) == len(set(names)), "a quantity is declared twice"
    for q in declared:
        assert q.unit, q.name
        assert q.description and "\n" not in q.description, q.name
        assert q.range_text, q.name
        if q.type in ("int", "float", "horizon"):
            assert q.low is not None or q.high is not None, q.name
        if q.default is not None and q.type in ("int", "float"):
            assert check(q, q.default) == q.default, f"{q.name}: default {q.default} outside its own range"


def _readme_portfolio_keys() -> dict[str, set[str]]:
    """``table -> keys`` of the README's "Portfolio file" table (backticked names outside parentheses)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Portfolio file", 1)[1].split("```toml", 1)[0]
    table: dict[str, set[str]] = {}
    for row in re.findall(r"^\| `\[+(\w+)\]+` \| (.+) \|$", section, flags=re.MULTILINE):
        name, cell = row
        if name == "contracts":  # "any instrument of carbonrisk value files"; the portfolio adds `project`
            table[name] = {"project"}
            continue
        outside = re.sub(r"\([^()]*\)", "", cell)  # choices and notes in parentheses are not keys
        table[name] = set(re.findall(r"`(\w+)[` ]", outside))
    return table


def test_declarations_cover_the_readme_portfolio_table() -> None:
    table = _readme_portfolio_keys()
    assert set(table) == {
        "portfolio",
        "market",
        "positions",
        "obligations",
        "projects",
        "contracts",
        "limits",
        "levers",
    }
    assert sum(len(v) for v in table.values()) >= 45
    declared = {q.name for q in Q.declared_quantities()}
    missing = [f"{t}.{k}" for t, keys in table.items() for k in sorted(keys)
               if f"{t}.{k}" not in declared and f"{t}.{k}.CEA" not in declared]  # fmt: skip
    assert not missing, f"README keys without a declaration: {missing}"


def test_message_rule() -> None:
    with pytest.raises(InputError, match=r"^f.toml:4: portfolio\.n_paths = 50 is not in \[100, 10000000\] \(paths\)$"):
        check(Q.PORTFOLIO_N_PATHS, 50, "f.toml:4")
    with pytest.raises(InputError, match=r"^vol = 0 is not > 0$"):
        check_number("vol", 0.0, low=0.0, low_inclusive=False)
    with pytest.raises(InputError, match=r"^x = nan is not a finite number$"):
        check_number("x", float("nan"))
    with pytest.raises(InputError, match=r"^x = 'a' is not a number$"):
        check_number("x", "a")
    with pytest.raises(InputError, match=r"^n = 2.5 is not an integer$"):
        check_number("n", 2.5, kind="int")
    with pytest.raises(InputError, match=r"^n = true is not an integer$"):
        check_number("n", True, kind="int")
    with pytest.raises(InputError, match=r"^r = 0.5 is not < 0.5$"):
        check_number("r", 0.5, high=0.5, high_inclusive=False)
    assert check_number("n", 3.0, low=1, kind="int") == 3
    assert check(Q.MARKET_MODEL, "ou") == "ou"
    with pytest.raises(InputError, match=r"market\.model = 'ou-garh' is not one of .*did you mean 'ou-garch'"):
        check(Q.MARKET_MODEL, "ou-garh")


def test_argparse_type_uses_the_declaration() -> None:
    parse = argparse_type(Q.PORTFOLIO_N_PATHS)
    assert parse("2000") == 2000 and parse("1e4") == 10_000 and parse("10_000") == 10_000
    with pytest.raises(argparse.ArgumentTypeError, match=r"^50 is not in \[100, 10000000\] \(paths\)$"):
        parse("50")
    with pytest.raises(argparse.ArgumentTypeError, match=r"^'1.5' is not an integer$"):
        parse("1.5")
    horizon = argparse_type(Q.SIMULATE_HORIZON)
    assert horizon("20y") == "20y"
    with pytest.raises(argparse.ArgumentTypeError, match=r"horizon = '36y' is not in \(0, 35\] years"):
        horizon("36y")


def test_horizon_in_years() -> None:
    from models.grid import horizon_years

    assert horizon_years("20y") == 20 and horizon_years("6m") == 0.5 and horizon_years("245d") == 1.0


def test_quantity_lookup() -> None:
    assert Q.quantity("projects.start_year") is Q.PROJECT_START_YEAR
    with pytest.raises(KeyError):
        Q.quantity("nope")
    assert isinstance(Q.PROJECT_START_YEAR, Quantity) and Q.PROJECT_START_YEAR.key == "start_year"


# --- memory -------------------------------------------------------------------------------------------------------


def test_available_memory_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARBONRISK_MEMORY_LIMIT", "2G")
    assert available_memory_bytes() == 2 << 30
    monkeypatch.setenv("CARBONRISK_MEMORY_LIMIT", "512MiB")
    assert available_memory_bytes() == 512 << 20
    monkeypatch.delenv("CARBONRISK_MEMORY_LIMIT")
    assert available_memory_bytes() > 0


def test_check_memory_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models.memory, "available_memory_bytes", lambda: 1 << 30)
    fits = MemoryEstimate("run", 1000, 1000.0, 0.0, "x")
    assert check_memory(fits) is fits
    with pytest.raises(InputError, match=r"^big needs about 1.86 GiB of memory \(x\); this machine has 1.00 GiB "
                       r"available; use at most about 536,870 paths$"):  # fmt: skip
        check_memory(MemoryEstimate("big", 1_000_000, 2000.0, 0.0, "x"))


GIB24 = 24 << 30


def test_documented_runs_fit_on_24_gib() -> None:
    """The README's runs must stay accepted: 1M-path simulate summaries, demo at 200 000, 1M-path bank book."""
    import pandas as pd

    from portfolios.budget import estimate_portfolio
    from portfolios.portfolio import load_portfolio

    summary = estimate_price_paths("s", 1_000_000, 241, 1, full=False, threads=2)
    assert summary.total_bytes < 1 << 30
    demo = estimate_portfolio(load_portfolio().with_run(n_paths=200_000), "demo")
    assert demo.total_bytes < 4 << 30
    bank = load_portfolio(Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "bank_book.toml")
    book = estimate_portfolio(bank.with_run(n_paths=1_000_000), "report", valuation_date=pd.Timestamp("2024-10-31"))
    measured = 3.60 * (1 << 30)  # README: peak resident memory of the 1M-path bank book
    assert measured < book.total_bytes < min(GIB24, 3 * measured)
    # and 10M paths of the same book would not fit
    assert estimate_portfolio(bank.with_run(n_paths=10_000_000), "report").total_bytes > GIB24


def test_full_path_set_grows_with_dates_and_paths() -> None:
    a = estimate_price_paths("s", 100_000, 250, 1, full=True)
    b = estimate_price_paths("s", 100_000, 500, 2, full=True)
    assert b.per_path_bytes > 2 * a.per_path_bytes
    assert a.per_path_bytes == 250 * (8 + 2 * (16 + 8))
