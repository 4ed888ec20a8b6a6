"""The validation module: declarations, the one check and its message rule, argparse types, memory estimates."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

import carbonrisk.models.memory
from carbonrisk.models import quantities as Q
from carbonrisk.models.exceptions import InputError
from carbonrisk.models.memory import MemoryEstimate, available_memory_bytes, check_memory, estimate_price_paths
from carbonrisk.models.validation import Quantity, argparse_type, check, check_number

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_declaration_has_unit_description_and_range() -> None:
    declared = Q.declared_quantities()
    assert len(declared) >= 50
    names = [q.name for q in declared]
    assert len(names) == len(set(names)), "a quantity is declared twice"
    _assert_well_declared(declared)


def _assert_well_declared(declared: list[Quantity], unbounded: frozenset[str] = frozenset()) -> None:
    for q in declared:
        assert q.unit, q.name
        assert q.description and "\n" not in q.description, q.name
        assert q.range_text, q.name
        if q.type in ("int", "float", "horizon") and q.name not in unbounded:
            assert q.low is not None or q.high is not None, q.name
        if q.default is not None and q.type in ("int", "float"):
            assert check(q, q.default) == q.default, f"{q.name}: default {q.default} outside its own range"


def test_every_instrument_field_is_declared() -> None:
    """Each field an instrument table accepts (its class's init fields, as the contract reader allows them) is
    declared once in :mod:`carbonrisk.finance.quantities`, with the class's own default."""
    import dataclasses

    from carbonrisk.finance.contracts import INSTRUMENT_TYPES, _fields
    from carbonrisk.finance.quantities import INSTRUMENT_QUANTITIES, declared_instrument_quantities

    assert set(INSTRUMENT_QUANTITIES) == set(INSTRUMENT_TYPES)
    for kind, cls in INSTRUMENT_TYPES.items():
        accepted = _fields(cls)
        declared = INSTRUMENT_QUANTITIES[kind]
        assert not set(accepted) - set(declared), f"{kind}: fields without a declaration"
        assert not set(declared) - set(accepted), f"{kind}: declarations of fields the reader refuses"
        for key, f in accepted.items():
            if f.default is not dataclasses.MISSING:
                assert declared[key].default == f.default, f"{kind}.{key}: default differs from the class"
    quantities = declared_instrument_quantities()
    assert len(quantities) >= 90
    assert len({q.name for q in quantities}) == len(quantities)
    _assert_well_declared(quantities)


def test_every_geothermal_parameter_is_declared() -> None:
    """Each field of the geothermal parameter classes (the keys of project and plant files) is declared once."""
    import dataclasses

    from carbonrisk.models.geothermal.cascade import PlantParameters
    from carbonrisk.models.geothermal.emission_factors import EF_FORMS
    from carbonrisk.models.geothermal.issuance import CREDITING_YEARS_RANGE, IssuanceParameters
    from carbonrisk.models.geothermal.project import FinanceParameters, Project, RiskParameters
    from carbonrisk.models.geothermal.quantities import GEOTHERMAL_QUANTITIES, declared_geothermal_quantities

    classes = {
        "plant": PlantParameters,
        "risk": RiskParameters,
        "finance": FinanceParameters,
        "issuance": IssuanceParameters,
        "project": Project,
    }
    assert set(GEOTHERMAL_QUANTITIES) == set(classes)
    for family, cls in classes.items():
        accepted = {f.name: f for f in dataclasses.fields(cls) if f.init}
        declared = GEOTHERMAL_QUANTITIES[family]
        assert set(accepted) == set(declared), f"{family}: fields and declarations differ"
        for key, f in accepted.items():
            if f.default is not dataclasses.MISSING:
                assert declared[key].default == f.default, f"{family}.{key}: default differs from the class"
    issuance = GEOTHERMAL_QUANTITIES["issuance"]["crediting_years"]
    assert (issuance.low, issuance.high) == CREDITING_YEARS_RANGE
    assert GEOTHERMAL_QUANTITIES["project"]["ef_form"].choices == EF_FORMS
    project = GEOTHERMAL_QUANTITIES["project"]
    assert (project["start_year"].low, project["start_year"].high) == (
        Q.PROJECT_START_YEAR.low,
        Q.PROJECT_START_YEAR.high,
    )
    assert (project["life_years"].low, project["life_years"].high) == (
        Q.PROJECT_LIFE_YEARS.low,
        Q.PROJECT_LIFE_YEARS.high,
    )
    temperatures = ("indoor_temperature_c", "wellhead_temperature_c", "stage1_min_outlet_c", "hp_threshold_c")
    _assert_well_declared(
        declared_geothermal_quantities(), frozenset(f"geothermal.plant.{key}" for key in temperatures)
    )


def test_every_contract_market_key_is_declared() -> None:
    """Each key the contract reader accepts in ``[market]`` and ``[market.CEA]`` is declared once."""
    from carbonrisk.finance.contracts import MARKET_ASSET_KEYS, MARKET_KEYS
    from carbonrisk.finance.quantities import MARKET_ASSET_QUANTITIES, MARKET_QUANTITIES, declared_market_quantities

    assert set(MARKET_QUANTITIES) == set(MARKET_KEYS)
    assert set(MARKET_ASSET_QUANTITIES) == set(MARKET_ASSET_KEYS)
    # financing_rate and convenience_yield are any finite rate today (no range is checked)
    unbounded = frozenset(
        q.name for q in declared_market_quantities() if q.key in ("financing_rate", "convenience_yield")
    )
    _assert_well_declared(declared_market_quantities(), unbounded)


SHIPPED_PORTFOLIOS = (
    "portfolios/data/demo_portfolio.toml",
    "portfolios/data/cea_holding.toml",
    "portfolios/examples/treasury_book.toml",
    "benchmarks/data/bank_book.toml",
)


def _key_paths(table: dict[str, object], prefix: str) -> set[str]:
    """``table.key`` paths of a parsed TOML table (arrays of tables by their table name, nested tables flattened)."""
    out: set[str] = set()
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            out |= _key_paths(value, path) if path not in ("market.forwards",) else {path}
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for row in value:
                out |= _key_paths(row, path)
        else:
            out.add(path)
    return out


def test_every_key_of_the_shipped_portfolio_files_is_declared() -> None:
    """The keys the shipped portfolio files use are declared (the generated reference documents each one):
    portfolio-file keys in models/quantities.py, contract keys in finance/quantities.py; ``books.NAME.limits.*``
    take the keys of ``[limits]``."""
    import tomllib

    from carbonrisk.finance.quantities import INSTRUMENT_QUANTITIES

    declared = {q.name for q in Q.declared_quantities()}
    missing = []
    root = README.parent
    for rel in SHIPPED_PORTFOLIOS:
        data = tomllib.loads((root / rel).read_text(encoding="utf-8"))
        contracts = data.pop("contracts", [])
        for path in sorted(_key_paths(data, "")):
            path = re.sub(r"^books\.[^.]+\.limits\.", "limits.", path)
            if path not in declared:
                missing.append(f"{rel}: {path}")
        for row in contracts:
            fields = INSTRUMENT_QUANTITIES[str(row["type"])]
            for key in row:
                if key not in fields and f"contracts.{key}" not in declared and key != "type":
                    missing.append(f"{rel}: contracts ({row['type']}).{key}")
    assert not missing, f"keys without a declaration: {missing}"


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
    from carbonrisk.models.grid import horizon_years

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
    monkeypatch.setattr(carbonrisk.models.memory, "available_memory_bytes", lambda: 1 << 30)
    fits = MemoryEstimate("run", 1000, 1000.0, 0.0, "x")
    assert check_memory(fits) is fits
    with pytest.raises(InputError, match=r"^big needs about 1.86 GiB of memory \(x\); this machine has 1.00 GiB "
                       r"available; use at most about 536,870 paths$"):  # fmt: skip
        check_memory(MemoryEstimate("big", 1_000_000, 2000.0, 0.0, "x"))


GIB24 = 24 << 30


def test_documented_runs_fit_on_24_gib() -> None:
    """The README's runs must stay accepted: 1M-path simulate summaries, demo at 200 000, 1M-path bank book."""
    import pandas as pd

    from carbonrisk.portfolios.budget import estimate_portfolio
    from carbonrisk.portfolios.portfolio import load_portfolio

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
