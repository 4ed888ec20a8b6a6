"""Positions and contracts listed in a CSV or XLSX file referenced by the portfolio file (issue 14).

Each row goes through the same validation as a TOML table: the same portfolio as the equivalent tables, and every
refusal one line naming the file, the row, the column, the value and the limit (CLI exit 2, nothing written)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from openpyxl import Workbook

from carbonrisk.portfolios.cli import main
from carbonrisk.portfolios.exceptions import InputError
from carbonrisk.portfolios.portfolio import Portfolio, load_portfolio

EXAMPLES = Path(__file__).resolve().parents[2] / "portfolios" / "examples"

HEAD = """
[portfolio]
name = "sheet book"
horizon_years = 3
n_paths = 200
seed = 5
{keys}

[market]
prices = "cea"
model = "garch"
"""

TABLES = """
[[positions]]
name = "CEA inventory (spot desk)"
asset = "CEA"
quantity_t = 150000
cost_cny_per_t = 96.5

[[positions]]
name = "CEA inventory (2023 vintage)"
asset = "CEA"
quantity_t = 50000
cost_cny_per_t = 78.0

[[contracts]]
type = "forward"
name = "CEA Jun-25 purchase"
underlying = "CEA"
position = "long"
quantity_t = 100000
strike_cny_per_t = 101.0
delivery_date = "2025-06-30"

[[contracts]]
type = "european_option"
name = "CEA Dec-25 115 call"
underlying = "CEA"
quantity_t = 50000
strike_cny_per_t = 115.0
option_type = "call"
expiry = "2025-12-15"
"""

POSITIONS = [
    ["name", "asset", "quantity_t", "cost_cny_per_t"],
    ["CEA inventory (spot desk)", "CEA", 150000, 96.5],
    ["CEA inventory (2023 vintage)", "CEA", 50000, 78.0],
]
CONTRACTS = [
    ["type", "name", "underlying", "position", "quantity_t", "strike_cny_per_t", "delivery_date", "option_type",
     "expiry"],
    ["forward", "CEA Jun-25 purchase", "CEA", "long", 100000, 101.0, "2025-06-30", None, None],
    ["european_option", "CEA Dec-25 115 call", "CEA", None, 50000, 115.0, None, "call", "2025-12-15"],
]  # fmt: skip


def _csv(path: Path, rows: list[list[object]]) -> Path:
    path.write_text("\n".join(",".join("" if v is None else str(v) for v in row) for row in rows) + "\n")
    return path


def _book(tmp_path: Path, keys: str, tables: str = "") -> Portfolio:
    path = tmp_path / "book.toml"
    path.write_text(HEAD.format(keys=keys) + tables)
    return load_portfolio(path)


def _same_components(a: Portfolio, b: Portfolio) -> None:
    assert a.positions == b.positions
    assert [(c.name, c.instrument, c.project) for c in a.contracts] == [
        (c.name, c.instrument, c.project) for c in b.contracts
    ]


def test_csv_rows_give_the_same_portfolio_as_the_tables(tmp_path: Path) -> None:
    _csv(tmp_path / "positions.csv", POSITIONS)
    _csv(tmp_path / "contracts.csv", CONTRACTS)
    listed = _book(tmp_path, 'positions_file = "positions.csv"\ncontracts_file = "contracts.csv"')
    _same_components(listed, _book(tmp_path, "", TABLES))
    assert set(listed.referenced_files) >= {"positions_file", "contracts_file"}


def test_xlsx_sheets_named_like_the_lists_give_the_same_portfolio(tmp_path: Path) -> None:
    workbook = Workbook()
    notes = workbook.active
    assert notes is not None
    notes.title = "notes"  # first sheet: not read, since sheets named positions and contracts exist
    notes.append(["read me first"])
    for title, rows in (("positions", POSITIONS), ("contracts", CONTRACTS)):
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(tmp_path / "desk.xlsx")
    listed = _book(tmp_path, 'positions_file = "desk.xlsx"\ncontracts_file = "desk.xlsx"')
    _same_components(listed, _book(tmp_path, "", TABLES))


def test_tables_come_first_then_the_rows(tmp_path: Path) -> None:
    _csv(tmp_path / "positions.csv", POSITIONS[:2])
    extra = '\n[[positions]]\nname = "CCER buffer"\nasset = "CCER"\nquantity_t = 20000\n'
    pf = _book(tmp_path, 'positions_file = "positions.csv"', extra)
    assert [p.name for p in pf.positions] == ["CCER buffer", "CEA inventory (spot desk)"]


def test_shipped_example_loads() -> None:
    pf = load_portfolio(EXAMPLES / "treasury_book.toml")
    assert [p.asset for p in pf.positions] == ["CCER", "CEA", "CEA"]
    assert [type(c.instrument).__name__ for c in pf.contracts] == ["Forward", "Forward", "EuropeanOption"]


_AT = r"^positions\.csv: row "
BAD_ROWS = [
    ("negative quantity", 2, "quantity_t", "-5", _AT + r"3: column quantity_t = -5 is not > 0 \(t\)$"),
    ("not a number", 1, "quantity_t", '"1,000"', _AT + r"2: column 'quantity_t' must be a number, got str '1,000'$"),
    ("unknown asset", 1, "asset", "EUA", _AT + r"2: column 'asset' = 'EUA' must be one of CEA, CCER; did you mean"),
    ("infinite cost", 2, "cost_cny_per_t", "inf", _AT + r"3: column cost_cny_per_t = inf is not a finite number"),
]


@pytest.mark.parametrize(("label", "row", "column", "value", "message"), BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_bad_position_cells_name_file_row_column_value_and_limit(
    tmp_path: Path, label: str, row: int, column: str, value: str, message: str
) -> None:
    rows = [list(r) for r in POSITIONS]
    rows[row][rows[0].index(column)] = value
    _csv(tmp_path / "positions.csv", rows)
    with pytest.raises(InputError, match=message):
        _book(tmp_path, 'positions_file = "positions.csv"')


def test_bad_contract_cell_names_the_row_the_contract_and_the_field(tmp_path: Path) -> None:
    rows = [list(r) for r in CONTRACTS]
    rows[1][rows[0].index("strike_cny_per_t")] = -3
    _csv(tmp_path / "contracts.csv", rows)
    with pytest.raises(
        InputError, match=r"^contracts\.csv: row 2: contracts 'CEA Jun-25 purchase'.*strike_cny_per_t = -3"
    ):
        _book(tmp_path, 'contracts_file = "contracts.csv"')


def test_a_contract_beyond_the_horizon_names_its_row(tmp_path: Path) -> None:
    rows = [list(r) for r in CONTRACTS]
    rows[2][rows[0].index("expiry")] = "2030-12-16"
    _csv(tmp_path / "contracts.csv", rows)
    with pytest.raises(InputError, match=r"^contracts\.csv: row 3: contracts 'CEA Dec-25 115 call': fixes until"):
        _book(tmp_path, 'contracts_file = "contracts.csv"')


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("name,asset,quantity", r"row 2: column 'quantity' is not a valid column; did you mean 'quantity_t'\?"),
        ("name,asset,t", r"row 2: column 't' is not a valid column; valid columns: asset, book, cost_cny_per_t, name"),
        ("asset,quantity_t", r"row 2: is missing required column 'name'"),
        ("name,asset,quantity_t,asset", r"row 1: column 'asset' appears twice in the header"),
    ],
)
def test_bad_headers(tmp_path: Path, header: str, message: str) -> None:
    width = len(header.split(","))
    (tmp_path / "positions.csv").write_text(header + "\n" + ",".join(["CEA", "CEA", "100", "CEA"][:width]) + "\n")
    with pytest.raises(InputError, match=message):
        _book(tmp_path, 'positions_file = "positions.csv"')


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"book\.toml:\d+: key 'portfolio\.positions_file' = 'gone\.csv' refers"):
        _book(tmp_path, 'positions_file = "gone.csv"')
    (tmp_path / "positions.txt").write_text("name,asset,quantity_t\n")
    with pytest.raises(InputError, match=r"positions_file' = 'positions\.txt' must be a \.csv or \.xlsx file"):
        _book(tmp_path, 'positions_file = "positions.txt"')
    (tmp_path / "positions.csv").write_text("name,asset,quantity_t\n")
    with pytest.raises(InputError, match=r"^positions\.csv: no positions listed"):
        _book(tmp_path, 'positions_file = "positions.csv"')
    (tmp_path / "positions.csv").write_text("name;asset;quantity_t\na;CEA;1\n")
    with pytest.raises(InputError, match=r"separated by semicolon"):
        _book(tmp_path, 'positions_file = "positions.csv"')
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    with pytest.raises(InputError, match=r"is not a readable Excel workbook"):
        _book(tmp_path, 'positions_file = "broken.xlsx"')


def test_a_column_is_accepted_exactly_when_the_table_key_is(tmp_path: Path) -> None:
    """The row reader has no list of its own: a key the tables accept (such as a component's ``book`` once it is
    declared, branch ``books``) is accepted as a column with the same value, a key they refuse is refused."""
    _csv(tmp_path / "positions.csv", [[*POSITIONS[0], "book"], [*POSITIONS[1], "trading"]])
    table = '[[positions]]\nname = "CEA inventory (spot desk)"\nasset = "CEA"\nquantity_t = 150000\n'
    table += 'cost_cny_per_t = 96.5\nbook = "trading"\n'
    try:
        from_table = _book(tmp_path, "", table)
    except InputError as exc:
        assert "key 'positions[0].book' is not a valid key" in str(exc)
        with pytest.raises(InputError, match=r"^positions\.csv: row 2: column 'book' is not a valid column"):
            _book(tmp_path, 'positions_file = "positions.csv"')
        return
    assert _book(tmp_path, 'positions_file = "positions.csv"').positions == from_table.positions


def test_cli_refuses_a_bad_row_in_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = tmp_path / "book"
    shutil.copytree(EXAMPLES, book, ignore=shutil.ignore_patterns("*.pyc"))
    path = book / "treasury_positions.csv"
    path.write_text(path.read_text().replace("150000", "-150000"))
    out = tmp_path / "out"
    code = main(["report", str(book / "treasury_book.toml"), "--out", str(out), "--paths", "200"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "treasury_positions.csv: row 2: column quantity_t = -150000 is not > 0 (t)" in err
    assert not out.exists()
