"""``carbonrisk demo`` (``--cea-holding``: the embedded CEA-holding portfolio) and ``carbonrisk data show``:
outputs, one-line errors with exit code 2, atomic writing."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import carbonrisk.portfolios.report as report_module
from carbonrisk.portfolios.cli import main


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_writes_report_and_consistent_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``demo --cea-holding``: the embedded 1 000 000 t CEA portfolio through the engine and the report."""
    out_dir = tmp_path / "demo"
    code, out, _ = _run(["demo", "--cea-holding", "--out", str(out_dir), "--paths", "1000", "--seed", "5"], capsys)
    assert code == 0
    assert "report.html" in out
    summary = json.loads((out_dir / "summary.json").read_text())
    risk = {(r["horizon"], r["level"]): r for r in summary["tables"]["var_es"]}
    assert set(risk) == {("10d", 0.95), ("10d", 0.99), ("1y", 0.95), ("1y", 0.99)}
    for (horizon, level), r in risk.items():
        assert np.isfinite(r["var_cny"]) and np.isfinite(r["es_cny"])
        assert r["var_cny"] > 0 and r["es_cny"] >= r["var_cny"]
        if level == 0.95:
            assert risk[(horizon, 0.99)]["var_cny"] >= r["var_cny"] and risk[(horizon, 0.99)]["es_cny"] >= r["es_cny"]
        if horizon == "10d":
            assert risk[("1y", level)]["var_cny"] >= r["var_cny"] and risk[("1y", level)]["es_cny"] >= r["es_cny"]
    assert summary["n_paths"] == 1000 and summary["seed"] == 5
    assert summary["valuation_date"] == "2024-10-31"
    assert summary["metrics"]["cea_equivalent_exposure_t"] == pytest.approx(1_000_000)
    last = summary["tables"]["fan_CEA"][-1]
    assert last["p05"] < last["p25"] < last["p50"] < last["p75"] < last["p95"]
    html = (out_dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 1
    assert 'id="var_es"' in html and "http://" not in html and "https://" not in html


def test_demo_is_reproducible(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = []
    for name in ("a", "b"):
        assert (
            _run(["demo", "--cea-holding", "--out", str(tmp_path / name), "--paths", "500", "--json"], capsys)[0] == 0
        )
        runs.append(json.loads((tmp_path / name / "summary.json").read_text())["tables"]["var_es"])
    assert runs[0] == runs[1]


def test_failed_demo_leaves_no_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(report_module, "write_json", broken)
    out_dir = tmp_path / "demo"
    code, _, err = _run(["demo", "--cea-holding", "--out", str(out_dir), "--paths", "200"], capsys)
    assert code == 1 and "disk full" in err
    assert not out_dir.exists()
    assert list(tmp_path.iterdir()) == []


def test_failed_rerun_keeps_previous_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out_dir = tmp_path / "demo"
    assert _run(["demo", "--cea-holding", "--out", str(out_dir), "--paths", "200"], capsys)[0] == 0
    before = (out_dir / "summary.json").read_text()
    monkeypatch.setattr(report_module, "write_json", lambda *_: (_ for _ in ()).throw(OSError("disk full")))
    assert _run(["demo", "--cea-holding", "--out", str(out_dir), "--paths", "300"], capsys)[0] == 1
    assert (out_dir / "summary.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_data_show_cea_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["data", "show", "cea", "--json"], capsys)
    assert code == 0
    payload = json.loads(out)
    assert (payload["start"], payload["end"], payload["rows"]) == ("2021-07-16", "2024-10-31", 797)
    assert len(payload["gaps"]) == 2
    assert "gap(s) longer than 10 calendar days" in err


def test_data_show_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["data", "show", "hbea"], capsys)
    assert code == 0 and "2014-04-28 to 2025-05-06" in out


def _edit(path: Path, row: int, column: str, value: str) -> Path:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[row, column] = value
    frame.to_csv(path, index=False)
    return path


BAD_FILES: list[tuple[str, Callable[[Path], Path], str]] = [
    ("unparseable date", lambda p: _edit(p, 4, "date", "yesterday"), "unparseable dates"),
    ("duplicate date", lambda p: _edit(p, 5, "date", "2022-01-03"), "duplicate dates"),
    ("non-numeric", lambda p: _edit(p, 5, "close", "n.a."), "non-numeric prices"),
    ("non-finite", lambda p: _edit(p, 5, "close", "inf"), "non-finite or missing prices"),
    ("non-positive", lambda p: _edit(p, 5, "close", "-1"), "non-positive prices"),
]


@pytest.mark.parametrize(("label", "breaker", "expected"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_data_show_bad_file_one_line_exit_2(
    label: str,
    breaker: Callable[[Path], Path],
    expected: str,
    price_csv: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = breaker(price_csv())
    code, out, err = _run(["data", "show", str(path)], capsys)
    assert code == 2, label
    assert out == ""
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err


def test_data_show_too_short_and_unsorted(price_csv: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["data", "show", str(price_csv(n=30))], capsys)
    assert code == 2 and "at least 60 are needed" in err and err.count("\n") == 1
    path = price_csv()
    pd.read_csv(path, dtype=str).iloc[::-1].to_csv(path, index=False)
    code, out, err = _run(["data", "show", str(path), "--json"], capsys)
    assert code == 0 and "sorted 120 rows" in err
    assert json.loads(out)["notes"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["demo", "--paths", "0"], "argument --paths: 0 is not in [100, 10000000] (paths)"),
        (["demo", "--paths", "many"], "argument --paths: 'many' is not an integer"),
        (["demo", "--seed", "-4"], "argument --seed: -4 is not in [0, 9223372036854775807]"),
        (["demo", "--cea-holding", "--paths", "50"], "argument --paths: 50 is not in [100, 10000000] (paths)"),
        (["demo", "--paths", "50"], "argument --paths: 50 is not in [100, 10000000] (paths)"),
        (["data", "show", "nope"], "unknown dataset 'nope'"),
        (["nosuch"], "invalid choice: 'nosuch'"),
    ],
)
def test_bad_arguments_one_line_exit_2(
    argv: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*argv, "--out", str(tmp_path / "x")] if argv[0] == "demo" else argv
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors exit directly
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and err.count("\n") == 1
    assert not (tmp_path / "x").exists()


def test_console_script_help_and_error_subprocess(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("carbonrisk")
    for argv in (["--help"], ["demo", "--help"], ["data", "show", "--help"]):
        done = subprocess.run([str(exe), *argv], capture_output=True, text=True, check=False)
        assert done.returncode == 0 and "usage:" in done.stdout
    done = subprocess.run(
        [str(exe), "demo", "--out", str(tmp_path / "o"), "--paths", "-3"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--paths" in done.stderr
    assert not (tmp_path / "o").exists()


def test_demo_report_renders_offline_in_headless_chromium(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.browser import external_requests, render

    assert main(["demo", "--cea-holding", "--out", str(tmp_path / "d"), "--paths", "500"]) == 0
    page = tmp_path / "d" / "report.html"
    shown = render(page)
    assert external_requests(shown, page) == []
    assert shown.images_total >= 1 and shown.images_loaded == shown.images_total
    assert shown.tables >= 4 and "CEA holding (1 000 000 t)" in shown.text
