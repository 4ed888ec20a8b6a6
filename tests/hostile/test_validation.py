"""Hostile inputs of issue 12 that the validation module refuses: one rule per quantity for the flag and the file
key, memory refusals before allocation, contract errors with file, line and name, and project date ranges.

Every case goes through :func:`tests.hostile.harness.assert_refused`: exit 2, one stderr line, no traceback and the
folder unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import carbonrisk.models.memory
from carbonrisk.models.exceptions import CarbonRiskWarning
from tests.hostile.harness import assert_refused

PORTFOLIO = """\
[portfolio]
name = "hostile"
horizon_years = 5
n_paths = 200
seed = 7

[market]
prices = "cea"
model = "garch"
discount_rate = 0.02

[[positions]]
name = "CEA stock"
asset = "CEA"
quantity_t = 1000
"""

PLEDGE = """
[[contracts]]
type = "pledge_loan"
name = "Bad loan"
collateral = "CEA"
quantity_t = 100000
ltv = 0.6
rate = 0.045
tenor_years = 1.0
maintenance_ratio = 1.35
liquidation_ratio = 1.15
"""

FORWARD = """
[[contracts]]
type = "forward"
name = "Stale forward"
underlying = "CEA"
position = "long"
quantity_t = 1000
strike_cny_per_t = 100.0
delivery_date = "2025-12-31"
"""

# carbon financing (issue 18)
REPO = """
[[contracts]]
type = "carbon_repo"
name = "Bad repo"
asset = "CEA"
quantity_t = 100000
haircut = 0.2
repo_rate = 0.04
tenor_years = 1.0
maintenance_ratio = 1.1
"""

LENDING = """
[[contracts]]
type = "carbon_lending"
name = "Bad lending"
asset = "CEA"
quantity_t = 100000
tenor_years = 0.5
fee_rate = 0.03
"""

CUSTODY = """
[[contracts]]
type = "carbon_custody"
name = "Bad custody"
asset = "CEA"
quantity_t = 100000
tenor_years = 1.0
lending_fee_rate = 0.03
guaranteed_rate = 0.01
"""

OVERDRAFT = """
[[contracts]]
type = "quota_overdraft"
name = "Bad overdraft"
credit_line_t = 300000
drawn_t = 200000
draw_date = "2025-11-15"
true_up_date = "2025-12-31"
repay_date = "2026-06-30"
overdraft_rate = 0.05
"""

CONTRACT_FILE = """\
[simulation]
paths = 2000
seed = 1

[market]
valuation_date = "2024-10-31"
discount_rate = 0.018

[market.CEA]
spot = 104.01
vol = 0.25

[[instrument]]
type = "forward"
name = "f"
underlying = "CEA"
position = "long"
quantity_t = 1000
strike_cny_per_t = 100.0
delivery_date = "2025-06-30"
"""


def _write(tmp_path: Path, text: str, name: str = "book.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(text: str, needle: str, occurrence: int = 0) -> int:
    lines = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return lines[occurrence]


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# --- one rule per quantity: the flag and the file key --------------------------------------------------------------

FLAG_CASES = [
    (["report", "{file}", "--paths", "50"], r"argument --paths: 50 is not in \[100, 10000000\] \(paths\)"),
    (["report", "{file}", "--paths", "1000000000000"], r"argument --paths: 1000000000000 is not in \[100, 10000000\]"),
    (["report", "{file}", "--paths", "1e12"], r"argument --paths: 1000000000000 is not in \[100, 10000000\]"),
    (["report", "{file}", "--paths", "many"], r"argument --paths: 'many' is not an integer"),
    (["report", "{file}", "--seed", "-1"], r"argument --seed: -1 is not in \[0, 9223372036854775807\]"),
    (["report", "{file}", "--seed", str(2**63)], r"argument --seed: 9223372036854775808 is not in \[0, "),
    (["demo", "--paths", "50"], r"argument --paths: 50 is not in \[100, 10000000\] \(paths\)"),
    (["demo", "--seed", "-4"], r"argument --seed: -4 is not in \[0, "),
    (["simulate", "cea", "--paths", "0"], r"argument --paths: 0 is not in \[1, 1000000000\] \(paths\)"),
    (["simulate", "cea", "--paths", "1000000000000"], r"argument --paths: 1000000000000 is not in \[1, 1000000000\]"),
    (["simulate", "cea", "--seed", "-1"], r"argument --seed: -1 is not in \[0, "),
    (["simulate", "cea", "--horizon", "40y"], r"argument --horizon: horizon = '40y' is not in \(0, 35\] years"),
    (["simulate", "cea", "--horizon", "500m"], r"argument --horizon: horizon = '500m' is not in \(0, 35\] years"),
    (["simulate", "cea", "--horizon", "soon"], r"argument --horizon: horizon='soon' must look like 10d"),
    (["value", "--example", "forward", "--paths", "0"], r"argument --paths: 0 is not in \[1, 1000000000\] \(paths\)"),
    (["value", "--example", "forward", "--seed", "-2"], r"argument --seed: -2 is not in \[0, "),
    (["reductions", "risk", "--paths", "0"], r"argument --paths: 0 is not in \[1, 1000000000\] \(paths\)"),
    (["reductions", "risk", "--seed", "-3"], r"argument --seed: -3 is not in \[0, "),
    (["report", "{file}", "--workers", "0"], r"argument --workers: 0 is not in \[1, 256\] \(processes\)"),
    (["simulate", "cea", "--blocks-per-task", "0"], r"argument --blocks-per-task: 0 is not in \[1, 100000\]"),
    (["backtest", "cea", "--window", "50"], r"argument --window: 50 is not >= 100 \(returns\)"),
    (["backtest", "cea", "--refit", "0"], r"argument --refit: 0 is not >= 1 \(trading days\)"),
    (["fit", "cea", "--cap", "1.0"], r"argument --cap: 1 is not in \(0, 1\) \(fraction\)"),
    (["simulate", "cea", "--cap", "nan"], r"argument --cap: nan is not a finite number"),
    (["reductions", "table1", "--price", "1e300"], r"argument --price: 1e\+300 is not in \[0, 10000\] \(CNY/t\)"),
    (["runs", "list", "--limit", "0"], r"argument --limit: 0 is not >= 1 \(runs\)"),
]


@pytest.mark.parametrize(("argv", "match"), FLAG_CASES)
def test_flag_out_of_range(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], match: str) -> None:
    file = _write(tmp_path, PORTFOLIO)
    assert_refused([a.format(file=file) for a in argv], tmp_path, capsys, match=match)


KEY_CASES = [
    ("n_paths = 200", "n_paths = 50", r"portfolio\.n_paths = 50 is not in \[100, 10000000\] \(paths\)"),
    ("n_paths = 200", "n_paths = 1000000000000", r"portfolio\.n_paths = 1000000000000 is not in \[100, 10000000\]"),
    ("n_paths = 200", "n_paths = 2.5", r"key 'portfolio\.n_paths' must be an integer"),
    ("seed = 7", "seed = -1", r"portfolio\.seed = -1 is not in \[0, 9223372036854775807\]"),
    ("horizon_years = 5", "horizon_years = 0", r"portfolio\.horizon_years = 0 is not in \[1, 35\] \(years\)"),
    ("horizon_years = 5", "horizon_years = 36", r"portfolio\.horizon_years = 36 is not in \[1, 35\] \(years\)"),
    ("discount_rate = 0.02", "discount_rate = 0.9", r"market\.discount_rate = 0\.9 is not in \[-0\.05, 0\.5\]"),
    ("discount_rate = 0.02", "discount_rate = 0.02\nccer_discount = 0", r"market\.ccer_discount = 0 is not in \(0, "),
    ("quantity_t = 1000", "quantity_t = 0", r"positions\[0\]\.quantity_t = 0 is not > 0 \(t\)"),
    ("quantity_t = 1000", "quantity_t = 1000\ncost_cny_per_t = -1", r"positions\[0\]\.cost_cny_per_t = -1 is not >= 0"),
]


@pytest.mark.parametrize(("old", "new", "match"), KEY_CASES)
def test_file_key_out_of_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, match: str
) -> None:
    text = _replace(PORTFOLIO, old, new)
    file = _write(tmp_path, text)
    key = new.splitlines()[-1].split("=")[0].strip()
    line = _line_of(text, f"{key} =")
    assert_refused(
        ["report", str(file)],
        tmp_path,
        capsys,
        match=rf"^carbonrisk report: error: {re.escape(str(file))}:{line}: .*{match}",
    )


TABLE_CASES = [
    (
        "[[obligations]]\nname = 'o'\nyear = 2019\nemissions_t = 10\nfree_allocation_t = 5\n",
        r"obligations\[0\]\.year = 2019 is not in \[2021, 2060\] \(year\)",
    ),
    (
        "[[obligations]]\nname = 'o'\nyear = 2025\nemissions_t = 10\nfree_allocation_t = 5\nccer_share = 0.2\n",
        r"obligations\[0\]\.ccer_share = 0\.2 is not in \[0, 0\.05\] \(fraction\)",
    ),
    (
        "[[obligations]]\nname = 'o'\nyear = 2025\nemissions_t = -1\nfree_allocation_t = 5\n",
        r"obligations\[0\]\.emissions_t = -1 is not > 0 \(t\)",
    ),
    (
        "[[projects]]\nname = 'p'\ntemplate = 'hebei'\nstart_year = 1850\n",
        r"projects\[0\]\.start_year = 1850 is not in \[2021, 2060\] \(year\)",
    ),
    (
        "[[projects]]\nname = 'p'\ntemplate = 'hebei'\nstart_year = 2061\n",
        r"projects\[0\]\.start_year = 2061 is not in \[2021, 2060\] \(year\)",
    ),
    (
        "[[projects]]\nname = 'p'\ntemplate = 'hebei'\nstart_year = 2055\n",
        r"projects\[0\] 'p': start_year \+ life_years - 1 \(2055 \+ 20 - 1\) = 2074 is not in \[2021, 2070\]",
    ),
    (
        "[[projects]]\nname = 'p'\ntemplate = 'basin'\nbasin = 'Ordos Basin'\nstart_year = 2027\narea_m2 = 0\n",
        r"projects\[0\]\.area_m2 = 0 is not > 0 \(m2\)",
    ),
    (
        "[[projects]]\nname = 'p'\ntemplate = 'hebei'\nstart_year = 2026\ncapex_cny = -1\n",
        r"projects\[0\]\.capex_cny = -1 is not > 0 \(CNY\)",
    ),
    (
        "[[projects]]\nname = 'p'\ntemplate = 'hebei'\nstart_year = 2026\nheat_tariff_cny_per_mwh = -5\n",
        r"projects\[0\]\.heat_tariff_cny_per_mwh = -5 is not >= 0 \(CNY/MWh\)",
    ),
    ("[limits]\nltv_max = 1.0\n", r"limits\.ltv_max = 1 is not in \(0, 1\) \(fraction\)"),
    ("[limits]\nvar_99_10d_cny = -5\n", r"limits\.var_99_10d_cny = -5 is not > 0 \(CNY\)"),
    ("[limits]\nposition_t = { CEA = 0 }\n", r"limits\.position_t\.CEA = 0 is not > 0 \(t\)"),
    ("[levers]\nforward_share = 1.5\n", r"levers\.forward_share = 1\.5 is not in \[0, 1\] \(fraction\)"),
    ("[levers]\nloan_tenor_years = 0\n", r"levers\.loan_tenor_years = 0 is not in \[1, 30\] \(years\)"),
    ("[levers]\npledge_rate = 0.9\n", r"levers\.pledge_rate = 0\.9 is not in \[-0\.05, 0\.5\] \(1/year\)"),
]


@pytest.mark.parametrize(("table", "match"), TABLE_CASES)
def test_table_key_out_of_range(tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, match: str) -> None:
    text = PORTFOLIO + "\n" + table
    file = _write(tmp_path, text)
    assert_refused(["report", str(file)], tmp_path, capsys, match=rf"{re.escape(str(file))}:\d+: {match}")


@pytest.mark.parametrize(
    ("flag", "key", "value"),
    [("--paths", "n_paths = 200", "50"), ("--paths", "n_paths = 200", "20000000"), ("--seed", "seed = 7", "-1")],
)
def test_flag_and_key_share_one_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, key: str, value: str
) -> None:
    """``report --paths N`` and ``n_paths = N`` are refused with the same rule and unit."""
    good = _write(tmp_path, PORTFOLIO, "good.toml")
    bad = _write(tmp_path, _replace(PORTFOLIO, key, f"{key.split(' = ')[0]} = {value}"), "bad.toml")
    from_flag = assert_refused(["report", str(good), flag, value], tmp_path, capsys)
    from_key = assert_refused(["report", str(bad)], tmp_path, capsys)
    rule_flag = from_flag.split(f"{value} ", 1)[1].removesuffix(" (see --help)")
    rule_key = from_key.split(f"= {value} ", 1)[1]
    assert rule_flag == rule_key and rule_flag.startswith("is not in ")


def test_contract_file_simulation_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = _write(tmp_path, _replace(CONTRACT_FILE, "paths = 2000", "paths = 0"), "c.toml")
    assert_refused(["value", str(file)], tmp_path, capsys, match=r"simulation\.paths = 0 is not in \[1, 1000000000\]")
    file = _write(tmp_path, _replace(CONTRACT_FILE, "seed = 1", "seed = -1"), "c.toml")
    assert_refused(["value", str(file)], tmp_path, capsys, match=r"simulation\.seed = -1 is not in \[0, ")


FINANCING_FILE_CASES = [
    (REPO, "haircut = 0.2", "haircut = -0.1", r"haircut = -0\.1 is not in \[0, 1\) \(fraction\)"),
    (LENDING, "quantity_t = 100000", "quantity_t = 'lots'", r"quantity_t = 'lots' is not a number"),
    (CUSTODY, "guaranteed_rate = 0.01", "manager_pd_1y = 1.0", r"manager_pd_1y = 1 is not in \[0, 1\)"),
    (CUSTODY, "guaranteed_rate = 0.01", "lent_share = 0.5", r"guaranteed_return_cny_per_t=None and guaranteed_"),
    (OVERDRAFT, 'draw_date = "2025-11-15"', 'draw_date = "2024-01-15"', r"draw_date=2024-01-15 must not be before"),
]


@pytest.mark.parametrize(("contract", "old", "new", "match"), FINANCING_FILE_CASES)
def test_contract_file_carbon_financing_terms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], contract: str, old: str, new: str, match: str
) -> None:
    """``carbonrisk value`` on a contract file with bad repo / lending / custody / overdraft terms (issue 18)."""
    table = _replace(contract, old, new).replace("[[contracts]]", "[[instrument]]")
    head = CONTRACT_FILE.split("[[instrument]]")[0]
    file = _write(tmp_path, head + table, "c.toml")
    assert_refused(["value", str(file)], tmp_path, capsys, match=match)


# --- memory estimates before allocation ------------------------------------------------------------------------------


@pytest.fixture
def tiny_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine with 64 MiB available."""
    monkeypatch.setattr(carbonrisk.models.memory, "available_memory_bytes", lambda: 64 << 20)


MEMORY_RULE = r"needs about [\d,.]+ (GiB|MiB) of memory \(.*\); this machine has 64 MiB available; use at most about"


@pytest.mark.usefixtures("tiny_machine")
@pytest.mark.parametrize(
    "argv",
    [
        ["report", "{file}", "--paths", "1000000", "--out", "{tmp}/out"],
        ["demo", "--paths", "200000", "--out", "{tmp}/demo"],
        ["demo", "--cea-holding", "--paths", "1000000", "--out", "{tmp}/demo"],
        ["simulate", "cea", "--paths", "100000000"],
        ["simulate", "cea", "--paths", "1000000", "--horizon", "5y", "--freq", "D", "--out", "{tmp}/p.parquet"],
        ["value", "--example", "asian_option", "--paths", "10000000"],
        ["reductions", "risk", "--paths", "10000000"],
    ],
)
def test_memory_refused_before_allocation(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    file = _write(tmp_path, PORTFOLIO)
    line = assert_refused([a.format(file=file, tmp=tmp_path) for a in argv], tmp_path, capsys, match=MEMORY_RULE)
    assert not (tmp_path / "out").exists() and not (tmp_path / "demo").exists()
    assert "--paths" in line or "paths" in line


def test_memory_limit_from_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARBONRISK_MEMORY_LIMIT", "100M")
    assert_refused(["simulate", "cea", "--paths", "100000000"], tmp_path, capsys, match=r"has 100 MiB available")
    monkeypatch.setenv("CARBONRISK_MEMORY_LIMIT", "lots")
    assert_refused(["simulate", "cea"], tmp_path, capsys, match=r"CARBONRISK_MEMORY_LIMIT = 'lots' is not a byte count")


# --- portfolio errors carry the file, the line and the contract's name ----------------------------------------------

CONTRACT_CASES = [
    (PLEDGE, "ltv = 0.6", "ltv = 1.2", r"ltv = 1\.2 is not in \(0, 1\)"),
    (PLEDGE, "maintenance_ratio = 1.35", "maintenance_ratio = 1.1", r"maintenance_ratio=1\.1 must be above"),
    (PLEDGE, "quantity_t = 100000", "quantity_t = -5", r"quantity_t = -5 is not > 0"),
    (PLEDGE, "ltv = 0.6", "ltv = 0.6\nhaircut = 1.0", r"haircut = 1 is not in \[0, 1\)"),
    (FORWARD, 'delivery_date = "2025-12-31"', 'delivery_date = "2024-01-31"', r"valuation date"),
    (FORWARD, "strike_cny_per_t = 100.0", "strike_cny_per_t = 0", r"strike_cny_per_t = 0 is not > 0"),
    # carbon financing (issue 18)
    (REPO, "haircut = 0.2", "haircut = 1.0", r"haircut = 1 is not in \[0, 1\)"),
    (REPO, "maintenance_ratio = 1.1", "maintenance_ratio = 1.3", r"maintenance_ratio=1\.3 must be below the initial"),
    (REPO, "repo_rate = 0.04", "repo_rate = 0.04\nside = 'buyer'", r"side = 'buyer' is not one of financier, seller"),
    (REPO, "repo_rate = 0.04", "repo_rate = 0.04\nborrower_pd_1y = 0.1\nrating = 'BB'", r"give at most one"),
    (LENDING, "fee_rate = 0.03", "fee_rate = -0.03", r"fee_rate = -0\.03 is not in \[0, 1\]"),
    (LENDING, "fee_rate = 0.03", "fee_rate = 0.03\nfee_in = 'gold'", r"fee_in = 'gold' is not one of cash, allowances"),
    (LENDING, "tenor_years = 0.5", "tenor_years = 0", r"tenor_years = 0 is not > 0"),
    (CUSTODY, "guaranteed_rate = 0.01", "guaranteed_rate = 0.01\nguaranteed_return_cny_per_t = 1.0", r"give exactly"),
    (CUSTODY, "tenor_years = 1.0", "tenor_years = 1.0\nlent_share = 2", r"lent_share = 2 is not in \[0, 1\]"),
    (OVERDRAFT, "drawn_t = 200000", "drawn_t = 400000", r"drawn_t=400000 must not exceed credit_line_t=300000"),
    (OVERDRAFT, 'repay_date = "2026-06-30"', 'repay_date = "2025-12-01"', r"repay_date=2025-12-01 must be after"),
]


@pytest.mark.parametrize(("contract", "old", "new", "match"), CONTRACT_CASES)
def test_contract_error_names_file_line_and_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], contract: str, old: str, new: str, match: str
) -> None:
    text = PORTFOLIO + _replace(contract, old, new)
    file = _write(tmp_path, text)
    line = _line_of(text, "[[contracts]]")
    name = re.search(r'name = "([^"]+)"', contract).group(1)  # type: ignore[union-attr]
    where = rf"{re.escape(str(file))}:{line}: contracts\[0\] '{name}'"
    assert_refused(["report", str(file)], tmp_path, capsys, match=rf"{where}.*{match}")


def test_nan_price_in_history_names_the_portfolio_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], price_csv: object
) -> None:
    prices = price_csv(n=120)  # type: ignore[operator]
    rows = prices.read_text(encoding="utf-8").splitlines()
    rows[50] = rows[50].split(",")[0] + ",nan"
    prices.write_text("\n".join(rows) + "\n", encoding="utf-8")
    text = _replace(PORTFOLIO, 'prices = "cea"', f'prices = "{prices.name}"')
    file = _write(tmp_path, text)
    line = _line_of(text, "prices =")
    assert_refused(["report", str(file)], tmp_path, capsys, match=rf"{re.escape(str(file))}:{line}: market\.prices: ")


# --- projects' date ranges -------------------------------------------------------------------------------------------

PROJECT_FILE_CASES = [
    ("start_year = 1850\n", r"start_year = 1850 is not in \[2021, 2060\] \(year\)"),
    ("start_year = 2050\nlife_years = 30\n", r"\(2050 \+ 30 - 1\) = 2079 is not in \[2021, 2070\] \(year\)"),
    ("start_year = 2030\nlife_years = 2000\n", r"life_years = 2000 is not in \[1, 50\] \(years\)"),
    ("life_years = 0\n", r"life_years = 0 is not in \[1, 50\] \(years\)"),
]


@pytest.mark.parametrize(("body", "match"), PROJECT_FILE_CASES)
def test_project_file_ranges(tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, match: str) -> None:
    project = _write(tmp_path, body, "project.toml")
    assert_refused(["reductions", "project", str(project)], tmp_path, capsys, match=rf"project\.toml.*{match}")
    text = PORTFOLIO + f"\n[[projects]]\nname = 'mine'\nfile = '{project.name}'\n"
    file = _write(tmp_path, text)
    assert_refused(
        ["report", str(file)], tmp_path, capsys, match=rf"{re.escape(str(file))}:\d+: projects\[0\] 'mine'.*{match}"
    )


def test_project_ended_before_valuation_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _write(tmp_path, "start_year = 2021\nlife_years = 3\n", "old.toml")
    text = PORTFOLIO + f"\n[[projects]]\nname = 'old plant'\nfile = '{project.name}'\n"
    file = _write(tmp_path, text)
    line = _line_of(text, "[[projects]]")
    assert_refused(
        ["report", str(file)],
        tmp_path,
        capsys,
        match=rf"{re.escape(str(file))}:{line}: projects\[0\] 'old plant': runs 2021-2023 and ended before the "
        r"valuation date 2024-10-31",
    )


def test_operating_project_is_accepted(tmp_path: Path) -> None:
    """The Hebei reference case starts in 2021 and still runs on the valuation date 2024-10-31: accepted."""
    from carbonrisk.portfolios.portfolio import load_portfolio

    file = _write(tmp_path, PORTFOLIO + "\n[[projects]]\nname = 'Hebei'\ntemplate = 'hebei'\nstart_year = 2021\n")
    with pytest.warns(CarbonRiskWarning, match=r"project 'Hebei' has operated since 2021: it is valued from the "):
        portfolio = load_portfolio(file)
    assert portfolio.projects[0].project.start_year == 2021
    risk = portfolio.projects[0].project.risk
    assert (risk.well_failure_probability, risk.capex_overrun_median, risk.capex_overrun_sigma) == (0.0, 1.0, 0.0)
    assert risk.availability_sd > 0  # operation stays random
