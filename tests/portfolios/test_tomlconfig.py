"""TOML input errors name the file, the key path, its line and the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from carbonrisk.portfolios.exceptions import InputError
from carbonrisk.portfolios.tomlconfig import KeyLocator, Section, load_toml

TEXT = """\
# a portfolio
[run]
n_paths = 2000
seed = 7

[market]
model = "ou-garch"
rate = { value = 0.02 }

[[contracts]]
type = "forward"
quantity_t = 1000

[[contracts]]
type = "pledge_loan"
ltv = 1.4
"""


def _load(tmp_path: Path, text: str = TEXT) -> tuple[Section, Path]:
    path = tmp_path / "p.toml"
    path.write_text(text)
    return load_toml(path)[0], path


def test_locator_maps_keys_tables_and_arrays() -> None:
    loc = KeyLocator(TEXT)
    assert loc.line(("run",)) == 2
    assert loc.line(("run", "seed")) == 4
    assert loc.line(("market", "rate")) == 8
    assert loc.line(("market", "rate", "value")) == 8
    assert loc.line(("contracts", 0, "quantity_t")) == 12
    assert loc.line(("contracts", 1, "ltv")) == 16
    assert loc.line(("contracts", 1, "absent")) == 14


def test_values_and_errors(tmp_path: Path) -> None:
    root, path = _load(tmp_path)
    run = root.table("run")
    assert run.integer("n_paths", low=1) == 2000
    assert run.number("rate_absent", 0.5) == 0.5
    loan = root.tables("contracts")[1]
    with pytest.raises(InputError, match=rf"^{path}:16: contracts\[1\].ltv = 1.4 is not in \(0, 1\)$"):
        loan.number("ltv", low=0, high=1, low_open=True, high_open=True)
    with pytest.raises(InputError, match=r":3: key 'run.n_paths' must be a string, got int 2000"):
        run.string("n_paths")
    with pytest.raises(InputError, match=r":2: key 'run' is missing required key 'horizon_years'"):
        run.number("horizon_years")
    with pytest.raises(InputError, match=r":7: key 'market.model' = 'ou-garch' must be one of garch, ou; did you"):
        root.table("market").string("model", choices=["garch", "ou"])


def test_unknown_key_suggests_closest(tmp_path: Path) -> None:
    root, path = _load(tmp_path, TEXT.replace("seed = 7", "sede = 7"))
    with pytest.raises(InputError, match=rf"^{path}:4: key 'run.sede' is not a valid key; did you mean 'seed'\?$"):
        root.table("run").check_keys(["n_paths", "seed"])


def test_missing_file_reference_and_bad_toml(tmp_path: Path) -> None:
    root, _ = _load(tmp_path, TEXT + '\n[data]\nprices = "nope.csv"\n')
    with pytest.raises(InputError, match=r"key 'data.prices' = 'nope.csv' refers to a missing file"):
        root.table("data").file_path("prices")
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\nseed = 1\n")
    with pytest.raises(InputError, match=r"invalid TOML: .*line 1"):
        load_toml(bad)
    with pytest.raises(InputError, match=r"does not exist"):
        load_toml(tmp_path / "missing.toml")
