"""``carbonrisk value``: examples, JSON keys, user files, one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carbonrisk.finance.contracts import example_names, example_text
from carbonrisk.portfolios.cli import main


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_list_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["value", "--list-examples"], capsys)
    assert code == 0
    assert out.split() == example_names()


def test_example_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["value", "--example", "pledge_loan", "--paths", "2000", "--seed", "4", "--json"], capsys)
    assert code == 0
    payload = json.loads(out)
    assert payload["paths"] == 2000 and payload["seed"] == 4 and payload["valuation_date"] == "2024-10-31"
    assert payload["market"]["spots_cny_per_t"]["CEA"] == 104.01 and payload["carbonrisk_version"]
    (item,) = payload["instruments"]
    assert {"name", "type", "value", "std_error", "method", "sensitivities", "extras", "checks"} <= set(item)
    assert set(item["sensitivities"]) == {"delta", "vega", "rho"}
    for key in (
        "p_margin_call",
        "p_liquidation",
        "p_loss",
        "expected_loss_cny",
        "exposure_at_default_cny",
        "loss_given_default",
        "break_even_spread",
        "max_ltv_for_target",
    ):
        assert key in item["extras"]


def test_same_seed_same_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["value", "--example", "asian_option", "--paths", "1000", "--seed", "9", "--json", "--no-sensitivities"]
    first = json.loads(_run(argv, capsys)[1])
    second = json.loads(_run(argv, capsys)[1])
    assert first == second


def test_user_file_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(example_text("exchange_option"), encoding="utf-8")
    code, out, _ = _run(["value", str(path), "--paths", "1000", "--seed", "1"], capsys)
    assert code == 0
    assert "Margrabe" in out and "exchange_vol" in out


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[[instrument]]\ntype = "pledge_loan"\ncollateral = "CEA"\nquantity_t = 1e6\nltv = 1.5\nrate = 0.04\n'
            "tenor_years = 1.0\nmaintenance_ratio = 1.4\nliquidation_ratio = 1.2\n",
            "ltv = 1.5 is not in (0, 1)",
        ),
        (
            '[[instrument]]\ntype = "european_option"\nunderlying = "CEA"\noption_type = "call"\n'
            'strike_cny_per_t = 100.0\nexpiry = "2024-01-31"\n',
            "expiry=2024-01-31 must be after the valuation date",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    market = '[market]\nvaluation_date = "2024-10-31"\ndiscount_rate = 0.02\n[market.CEA]\nspot = 100.0\nvol = 0.3\n'
    path.write_text(market + body, encoding="utf-8")
    code, out, err = _run(["value", str(path), "--paths", "500"], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("carbonrisk value: error: ") and message in err


def test_quote_file_with_unknown_tenor_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "q.csv").write_text("instrument,tenor,rate\ndeposit,5W,0.018\n", encoding="utf-8")
    path = tmp_path / "c.toml"
    path.write_text(
        example_text("forward").replace("discount_rate = 0.018", 'discount_quotes = "q.csv"'), encoding="utf-8"
    )
    code, out, err = _run(["value", str(path)], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "q.csv row 2: tenor='5W' is unknown for deposit; allowed 1D" in err


def test_missing_file_and_unknown_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["value", "nope.toml"], capsys)
    assert code == 2 and "contract file 'nope.toml' does not exist" in err
    code, _, err = _run(["value", "--example", "nope"], capsys)
    assert code == 2 and err.count("\n") == 1 and "example='nope' is unknown" in err


def test_help_documents_json_keys(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["value", "--help"])
    out = capsys.readouterr().out
    assert "--json keys:" in out and "sensitivities" in out and "p_margin_call" in out


@pytest.mark.slow
def test_value_on_a_two_worker_cluster_is_identical(capsys: pytest.CaptureFixture[str]) -> None:
    """``--workers 2`` generates the path blocks on a LocalCluster: values, checks and every sensitivity equal the
    in-process run's (issue 7); two correlated factors and 3 tasks of 2 blocks."""
    pytest.importorskip("distributed")
    argv = ["value", "--example", "exchange_option", "--paths", "20000", "--seed", "4", "--json"]
    assert main(argv) == 0
    serial = json.loads(capsys.readouterr().out)
    assert main([*argv, "--workers", "2", "--blocks-per-task", "2"]) == 0
    parallel = json.loads(capsys.readouterr().out)
    assert serial == parallel
    assert serial["instruments"][0]["sensitivities"]["delta"]


SHARED_FILE = """
[market]
valuation_date = "2024-10-31"
discount_rate = 0.02
[market.CEA]
spot = 100.0
vol = 0.3

[[instrument]]
type = "pledge_loan"
name = "pledge"
collateral = "CEA"
quantity_t = 1000000
ltv = 0.72
rate = 0.05
tenor_years = 1.0
maintenance_ratio = 1.3
liquidation_ratio = 1.15
top_up = "never"
adv_t = 20000

[[instrument]]
type = "carbon_repo"
name = "repo"
asset = "CEA"
quantity_t = 1000000
haircut = 0.2
repo_rate = 0.045
tenor_years = 1.0
maintenance_ratio = 1.1
top_up = "never"
rating = "BB"
adv_t = 20000
"""


def test_value_shares_the_depth_of_loan_type_contracts_on_one_asset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15: a contract file with a CEA pledge loan and a CEA repo (both sell on a default): ``--json`` names
    the rule and the group, each contract's extras carry it, and the repo's expected loss is the shared one (it
    differs from its standalone loss, which the record keeps)."""
    path = tmp_path / "shared.toml"
    path.write_text(SHARED_FILE, encoding="utf-8")
    code = main(["value", str(path), "--paths", "2000", "--seed", "3", "--json", "--no-sensitivities"])
    out, _ = capsys.readouterr()
    assert code == 0
    payload = json.loads(out)
    sharing = payload["depth_sharing"]
    assert sharing["rule"] == "pro_rata_remaining_water_filled" and "pro rata" in sharing["description"]
    (group,) = sharing["groups"]
    assert group["asset"] == "CEA" and group["side"] == "sell" and group["contracts"] == ["pledge", "repo"]
    assert group["depth_t_per_day"] == 2000.0  # 10 % of 20 000 t, the largest capacity
    pledge, repo = payload["instruments"]
    assert repo["extras"]["depth_sharing"]["shared_with"] == ["pledge"]
    assert repo["extras"]["expected_loss_cny"] != repo["extras"]["depth_sharing"]["expected_loss_alone_cny"]
    assert pledge["extras"]["depth_sharing"]["shared_with"] == ["repo"]
    code = main(["value", str(path), "--paths", "2000", "--seed", "3", "--no-sensitivities"])
    assert (
        code == 0
        and "shared market depth (pro_rata_remaining_water_filled): CEA sells of pledge, repo" in capsys.readouterr()[0]
    )
