"""Portfolio engine, metrics, report files, ledger and bad input (issue: portfolio Monte Carlo and risk report)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

import carbonrisk.portfolios.report as report_module
from carbonrisk.models.random import BLOCK_PATHS
from carbonrisk.portfolios.analysis import Analysis, analyse
from carbonrisk.portfolios.cli import main
from carbonrisk.portfolios.engine import PortfolioRun, run_portfolio
from carbonrisk.portfolios.exceptions import InputError
from carbonrisk.portfolios.pdf import chromium_executable
from carbonrisk.portfolios.portfolio import load_portfolio, portfolio_from_text

DEMO = Path(__file__).resolve().parents[2] / "portfolios" / "data" / "demo_portfolio.toml"
N_TWO_BLOCKS = BLOCK_PATHS + 300


@pytest.fixture(scope="module")
def run_two_blocks() -> PortfolioRun:
    return run_portfolio(load_portfolio(None).with_run(n_paths=N_TWO_BLOCKS, seed=11))


@pytest.fixture(scope="module")
def analysis(run_two_blocks: PortfolioRun) -> Analysis:
    return analyse(run_two_blocks)


def test_same_numbers_whatever_the_task_size(run_two_blocks: PortfolioRun) -> None:
    again = run_portfolio(load_portfolio(None).with_run(n_paths=N_TWO_BLOCKS, seed=11), blocks_per_task=2)
    assert set(again.arrays) == set(run_two_blocks.arrays)
    for key, values in run_two_blocks.arrays.items():
        np.testing.assert_array_equal(values, again.arrays[key], err_msg=key)


@pytest.mark.slow
def test_two_worker_local_cluster_is_bit_identical(run_two_blocks: PortfolioRun) -> None:
    pytest.importorskip("distributed")
    parallel = run_portfolio(load_portfolio(None).with_run(n_paths=N_TWO_BLOCKS, seed=11), workers=2)
    for key, values in run_two_blocks.arrays.items():
        np.testing.assert_array_equal(values, parallel.arrays[key], err_msg=key)


def test_risk_figures_are_consistent(analysis: Analysis) -> None:
    risk = analysis.tables["var_es"].set_index(["horizon", "level"])
    for horizon in ("10d", "1y"):
        for level in (0.95, 0.99):
            row = risk.loc[(horizon, level)]
            assert np.isfinite(row["var_cny"]) and row["es_cny"] >= row["var_cny"] > 0
        assert risk.loc[(horizon, 0.99), "var_cny"] >= risk.loc[(horizon, 0.95), "var_cny"]
    contrib = analysis.tables["es_contributions_1y_99"]
    parts = contrib.drop(index="total")["contribution"].sum()
    assert parts == pytest.approx(contrib.loc["total", "contribution"], rel=1e-9)
    assert analysis.metrics["es_99_1y_cny"] == pytest.approx(contrib.loc["total", "contribution"], rel=1e-9)
    assert analysis.metrics["diversification_benefit_1y_99_cny"] >= 0


def test_inventory_pnl_matches_prices(run_two_blocks: PortfolioRun) -> None:
    # The CEA inventory's 1-year P&L is quantity x (S_1y - S_0) on every path (engine definition).
    ctx = run_two_blocks.context
    qty = run_two_blocks.portfolio.positions[0].quantity_t
    fan_row = list(ctx.fan_rows).index(ctx.row_1y)
    cea_1y = run_two_blocks.arrays["cea_fan"][fan_row]
    s0 = run_two_blocks.arrays["cea_fan"][0, 0]
    np.testing.assert_allclose(run_two_blocks.arrays["pnl_1y"][0], qty * (cea_1y - s0))


def test_mismatch_and_levers(analysis: Analysis) -> None:
    mismatch = analysis.metrics["mismatch"]
    # Drilling and capex sit in 2025-2027 and credits are issued from 2027 on: income arrives years after risk.
    assert mismatch["gap_years"] > 5
    assert mismatch["peak_funding_gap_p95_cny"] >= mismatch["peak_funding_gap_p50_cny"] > 0
    profile = analysis.tables["mismatch_profile"]
    assert np.all(np.diff(profile["coverage_probability"].to_numpy()[2:]) >= -0.05)
    levers = analysis.tables["levers"].set_index("lever")
    assert list(levers.index) == [
        "none",
        "forward sale",
        "prepaid forward",
        "sold floor",
        "pledge of future credits",
        "CCER-linked loan",
    ]
    none = levers.loc["none"]
    # Only a sale moves carbon income earlier; loans are financing: same carbon income, smaller funding gap.
    assert levers.loc["prepaid forward", "income_mean_time_years"] < none["income_mean_time_years"]
    assert levers.loc["prepaid forward", "upfront_carbon_income_cny"] > 0
    for lever in ("pledge of future credits", "CCER-linked loan"):
        assert levers.loc[lever, "income_mean_time_years"] == none["income_mean_time_years"]
        assert levers.loc[lever, "pv_financing_proceeds_cny"] > 0
        assert levers.loc[lever, "peak_funding_gap_p50_cny"] < none["peak_funding_gap_p50_cny"]
    # Sign convention: pv_cost_cny > 0 is a cost to the project (the prepayment's discount, the loans' interest).
    for lever in ("prepaid forward", "pledge of future credits", "CCER-linked loan"):
        assert levers.loc[lever, "pv_cost_cny"] > 0
    # The downside includes carbon price risk: a floor (and a forward sale) lowers it; a loan does not.
    assert levers.loc["sold floor", "downside_es_cny"] < none["downside_es_cny"]
    assert levers.loc["forward sale", "downside_es_cny"] < none["downside_es_cny"]
    assert levers.loc["CCER-linked loan", "downside_es_cny"] == none["downside_es_cny"]
    # Coverage is counted from the first year with a loss: the valuation year (no cost yet) is not 1.0 but NaN.
    assert np.isnan(profile["coverage_probability"].iloc[0])
    assert np.isfinite(profile["coverage_probability"].iloc[1])
    # A forward at the expected price moves no expected value (cost within 1 % of the carbon income's PV).
    assert (
        abs(levers.loc["forward sale", "pv_cost_cny"])
        < 0.01 * analysis.tables["projects"]["carbon_income_mean_cny"].sum()
    )


def test_loans_projects_and_compliance_tables(analysis: Analysis) -> None:
    loans = analysis.tables["loans"].set_index("loan")
    pledge = loans.loc["CEA pledge loan"]
    assert 0 <= pledge["p_liquidation"] <= pledge["p_margin_call"] <= 1
    assert pledge["p_loss"] <= pledge["p_liquidation"]
    dscr = analysis.tables["dscr"]
    assert (dscr["p_below_1_0"] <= dscr["p_below_1_2"]).all()
    due = dscr.dropna(subset=["dscr_p05"])  # periods with debt service due (the last one is N/A after the sweep)
    assert len(due) >= len(dscr) - 1 and (due["dscr_p05"] <= due["dscr_p50"]).all()
    projects = analysis.tables["projects"]
    assert (projects["npv_p05_cny"] <= projects["npv_p95_cny"]).all()
    compliance = analysis.tables["compliance_cost_at_risk"].set_index("case")
    # The forward hedge at a fixed price removes part of the price risk of the emitter's purchases.
    assert compliance.loc["hedged", "cost_at_risk_95_cny"] < compliance.loc["unhedged", "cost_at_risk_95_cny"]
    cfar = analysis.tables["cash_flow_at_risk"]
    assert cfar.index[0] == 2024 and (cfar["cfar"] >= 0).all()


def test_report_cli_files_ledger_and_rerun(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report"
    assert main(["report", str(DEMO), "--out", str(out), "--paths", "150", "--seed", "3", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    pdf = ["report.pdf"] if chromium_executable() else []
    books = ["bank", "developer", "emitter"]  # the demo's books: one report each, an index linking them
    assert sorted(p.name for p in out.iterdir()) == [".carbonrisk-output.json", *books, "index.html", "summary.json"]
    for book in books:
        assert sorted(p.name for p in (out / book).iterdir()) == [
            "paths_summary.parquet",
            "report.html",
            *pdf,
            "report.xlsx",
            "summary.json",
        ]
    index = json.loads((out / "summary.json").read_text())
    assert index["run_id"] == payload["run_id"] and index["n_paths"] == 150 and list(index["books"]) == books
    summary = json.loads((out / "developer" / "summary.json").read_text())
    assert summary["run_id"] == payload["run_id"] and summary["n_paths"] == 150
    assert {"var_es", "levers", "mismatch", "projects"} <= set(summary["tables"])
    assert {"loans", "dscr"} <= set(json.loads((out / "bank" / "summary.json").read_text())["tables"])
    sheets = load_workbook(out / "developer" / "report.xlsx").sheetnames
    assert {"var_es", "levers", "mismatch_profile", "cash_flow_at_risk"} <= set(sheets)
    ws = load_workbook(out / "developer" / "report.xlsx")["var_es"]
    assert ws["C2"].data_type == "n"
    fan = pd.read_parquet(out / "developer" / "paths_summary.parquet")
    assert set(fan["factor"]) == {"CEA", "CCER"} and {"p05", "p50", "p95"} <= set(fan.columns)
    html = (out / "developer" / "report.html").read_text()  # price fans, cash flows, mismatch
    assert html.count("data:image/png;base64,") >= 3 and payload["run_id"] in html
    assert "Loan coverage paths" in (out / "bank" / "report.html").read_text()
    assert main(["runs", "rerun", payload["run_id"], "--json"]) == 0
    rerun = json.loads(capsys.readouterr().out)
    assert rerun["identical"] is True and rerun["n_metrics"] > 50


def test_report_renders_offline_in_headless_chromium(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.browser import external_requests, render

    out = tmp_path / "r"
    assert main(["report", str(DEMO), "--out", str(out), "--paths", "120"]) == 0
    index = render(out / "index.html")
    assert external_requests(index, out / "index.html") == [] and index.tables >= 1
    assert "Stress of the whole file" in index.text  # the stress of all books together sits on the index
    assert all(book in index.text for book in ("bank", "developer", "emitter"))
    page = out / "developer" / "report.html"
    shown = render(page)
    assert external_requests(shown, page) == []
    assert shown.images_total >= 3 and shown.images_loaded == shown.images_total
    assert shown.tables >= 8
    for heading in ("Risk figures", "Early-risk / late-income mismatch", "What each lever changes", "Warnings"):
        assert heading in shown.text


def test_failed_report_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(report_module, "write_workbook", broken)
    out = tmp_path / "report"
    assert main(["report", str(DEMO), "--out", str(out), "--paths", "120"]) == 1
    assert "disk full" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    assert main(["runs", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = DEMO.read_text()
    assert old in text, old
    path = tmp_path / "p.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def _line(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)


BAD = [
    (
        "unknown key",
        "seed = 20241031",
        "sede = 20241031",
        r"key 'portfolio.sede' is not a valid key; did you mean 'seed'\?",
        "sede =",
    ),
    ("wrong type", "n_paths = 4000", 'n_paths = "many"', r"key 'portfolio.n_paths' must be an integer", "n_paths ="),
    (
        "missing file",
        'prices = "cea"',
        'prices = "missing.csv"',
        r"key 'market.prices' = 'missing.csv' refers to a missing file",
        "prices =",
    ),
    ("bad model", 'model = "garch"', 'model = "gacrh"', r"must be one of .*did you mean 'garch'\?", "model ="),
    (
        "negative limit",
        "var_99_10d_cny = 8000000",
        "var_99_10d_cny = -5",
        r"limits.var_99_10d_cny = -5 is not > 0 \(CNY\)",
        "var_99_10d_cny",
    ),
    (
        "ccer cap",
        "ccer_share = 0.05",
        "ccer_share = 0.2",
        r"obligations\[0\].ccer_share = 0.2 is not in \[0, 0.05\] \(fraction\)",
        "ccer_share",
    ),
    (
        "horizon",
        "horizon_years = 23",
        "horizon_years = 1",
        r"contracts\[0\] 'CEA pledge loan': fixes until 2025-12-12, after the horizon ends on 2025-10-31",
        "[[contracts]]",
    ),
    (
        "unknown project",
        'project = "Hebei cascade (2.3 million m2)"',
        'project = "Hebei"',
        r"names no project",
        "project = ",
    ),
    ("ltv", "ltv = 0.6", "ltv = 1.4", r"ltv", "ltv = "),
    (
        "missing required",
        'name = "Geothermal developer',
        '# name = "Geothermal developer',
        r"key 'portfolio' is missing required key 'name'",
        "[portfolio]",
    ),
]


@pytest.mark.parametrize(("label", "old", "new", "message", "needle"), BAD, ids=[b[0] for b in BAD])
def test_bad_portfolio_one_line_with_key_and_line(
    label: str, old: str, new: str, message: str, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _variant(tmp_path, old, new)
    out = tmp_path / "out"
    assert main(["report", str(path), "--out", str(out), "--paths", "100"]) == 2, label
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert re.search(message, err), err
    if label not in ("ltv",):
        line = _line(path, needle)
        assert f"{path}:{line}: " in err, (line, err)
    assert not out.exists()


def test_default_run_does_not_import_dask(tmp_path: Path) -> None:
    code = (
        "import sys; from carbonrisk.portfolios.cli import main; "
        f"rc = main(['report', {str(DEMO)!r}, '--out', {str(tmp_path / 'o')!r}, '--paths', '100']); "
        "assert rc == 0; assert 'distributed' not in sys.modules and 'dask' not in sys.modules, 'dask imported'"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={"CARBONRISK_HOME": str(tmp_path), "PATH": ""},
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.slow
def test_unreachable_scheduler_is_one_line_exit_2_and_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run that cannot start on its cluster says so in one line, exits 2, and leaves no output directory."""
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    address = "tcp://127.0.0.1:9"  # discard port: nothing listens
    assert main(["report", str(DEMO), "--out", str(out), "--paths", "100", "--scheduler", address]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"cannot reach Dask scheduler '{address}'" in err, err
    assert not out.exists()


def test_project_npv_at_its_hurdle_rate(analysis: Analysis, tmp_path: Path) -> None:
    projects = analysis.tables["projects"]
    # Default: the curve (2 %) plus 6 %; costs come first, so the higher rate lowers every project's NPV.
    assert projects["hurdle_rate"].to_list() == pytest.approx([0.08] * 3)
    assert (projects["npv_hurdle_mean_cny"] < projects["npv_mean_cny"]).all()
    text = DEMO.read_text(encoding="utf-8").replace(
        'template = "hebei"\n', 'template = "hebei"\nhurdle_rate = 0.02   # the curve itself\n', 1
    )
    pf = portfolio_from_text(text, "hurdle.toml", tmp_path).with_run(n_paths=200, seed=2)
    assert [p.hurdle_rate for p in pf.projects] == [0.02, None, None]
    run = run_portfolio(pf)
    # A hurdle rate equal to the curve's rate is the curve: the same NPV on every path; the others are lower.
    np.testing.assert_allclose(run.arrays["project_npv_hurdle_cny"][0], run.arrays["project_npv_cny"][0], rtol=1e-12)
    assert (
        run.arrays["project_npv_hurdle_cny"][1:].mean(axis=1) < run.arrays["project_npv_cny"][1:].mean(axis=1)
    ).all()
    bad = text.replace("hurdle_rate = 0.02", "hurdle_rate = 0.9")
    with pytest.raises(InputError, match="hurdle_rate"):
        portfolio_from_text(bad, "bad.toml", tmp_path)


_SMALL = """
[portfolio]
name = "valuation date"
horizon_years = 2
n_paths = 200
seed = 1
{line}

[market]
prices = "cea"
model = "garch"

[[positions]]
name = "inventory"
asset = "CEA"
quantity_t = 1000
cost_cny_per_t = 90.0
"""


def test_valuation_date_uses_market_data_up_to_it_and_warns_when_the_history_is_stale(tmp_path: Path) -> None:
    earlier = run_portfolio(portfolio_from_text(_SMALL.format(line='valuation_date = "2024-06-14"'), "a", tmp_path))
    assert earlier.context.market.valuation_date == pd.Timestamp("2024-06-14")
    assert earlier.history.last_date <= pd.Timestamp("2024-06-14")
    assert earlier.context.market.daily_volumes_t[0][1] == tuple(earlier.history.volume_t.dropna())
    assert not any("days before the valuation date" in w for w in earlier.warnings)
    later = run_portfolio(portfolio_from_text(_SMALL.format(line='valuation_date = "2025-03-31"'), "b", tmp_path))
    assert later.history.last_date == pd.Timestamp("2024-10-31")
    assert any("ends on 2024-10-31, 151 days before the valuation date 2025-03-31" in w for w in later.warnings)
    with pytest.raises(InputError, match=r"valuation_date' valuation_date = 2019-01-01 is before the price history"):
        portfolio_from_text(_SMALL.format(line='valuation_date = "2019-01-01"'), "c", tmp_path)
