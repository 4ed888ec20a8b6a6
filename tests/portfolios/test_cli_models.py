"""``carbonrisk fit``, ``backtest`` and ``simulate``: JSON keys, reproducibility, one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from carbonrisk.portfolios.cli import main


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_fit_json_and_policy_warning(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["fit", "cea", "--model", "garch", "--dist", "t", "--json"], capsys)
    assert code == 0
    payload = json.loads(out)
    assert payload["model"] == "GARCH(1,1)-t" and payload["n_obs"] == 796
    assert set(payload["params"]) == {"mu", "omega", "alpha", "beta", "nu"} == set(payload["std_err"])
    assert payload["persistence"] >= 0.999 and payload["half_life_days"] is None
    assert payload["policy_applied"].startswith("variance-target") and payload["warnings"]
    assert {"aic", "bic", "loglikelihood", "diagnostics", "sim_params"} <= set(payload)
    assert "carbonrisk: warning: GARCH(1,1)-t fitted on 'cea' has persistence" in err


def test_fit_default_model_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["fit", "hbea", "--model", "ou"], capsys)
    assert code == 0 and "OU on hbea" in out and "kappa" in out and "persistence policy" in out


def test_backtest_json_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["backtest", "cea", "--model", "garch", "--levels", "0.95,0.99", "--json"], capsys)
    assert code == 0
    payload = json.loads(out)
    assert payload["window"] == 500 and payload["refit"] == 20
    assert [lv["level"] for lv in payload["levels"]] == [0.95, 0.99]
    for lv in payload["levels"]:
        assert lv["n_obs"] == 296
        assert {"violations", "expected", "kupiec_pvalue", "christoffersen_independence_pvalue",
                "christoffersen_cc_pvalue"} <= set(lv)  # fmt: skip


def test_simulate_json_is_reproducible_and_writes_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "cea", "--model", "ou", "--scenario", "mid", "--horizon", "2y", "--freq", "Y",
            "--paths", "5000", "--seed", "3", "--ccer", "--json"]  # fmt: skip
    code, out, _ = _run(argv, capsys)
    assert code == 0
    first = json.loads(out)
    assert set(first["factors"]) == {"CEA", "CCER"} and first["n_nonfinite"] == 0
    cea = first["factors"]["CEA"]
    # start, the year ends 2024-12-31 and 2025-12-31, and the horizon end 2026-10-30
    assert len(cea["dates"]) == 4 and list(cea["quantiles"]) == ["q0.05", "q0.25", "q0.50", "q0.75", "q0.95"]
    assert cea["quantiles"]["q0.50"][0] == pytest.approx(104.01)
    _, out2, _ = _run(argv, capsys)
    assert json.loads(out2)["factors"] == first["factors"]
    target = tmp_path / "paths.parquet"
    code, out3, _ = _run([*argv, "--out", str(target)], capsys)
    assert code == 0 and json.loads(out3)["out"] == str(target.resolve())
    frame = pd.read_parquet(target)
    assert list(frame.columns) == ["date", "path", "CEA", "CCER"] and len(frame) == 4 * 5000


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "cea", "--model", "arima"], "argument --model: invalid choice: 'arima'"),
        (["simulate", "cea", "--horizon=-5y"], "horizon='-5y' must look like 10d, 2w, 6m or 20y"),
        (["simulate", "cea", "--horizon", "40y"], "argument --horizon: horizon = '40y' is not in (0, 35] years"),
        (["simulate", "cea", "--paths", "-10"], "argument --paths: -10 is not in [1, 1000000000] (paths)"),
        (["fit", "nowhere"], "unknown dataset 'nowhere'"),
        (["fit", "cea", "--model", "ou", "--dist", "t"], "not available for model 'ou'"),
        (["backtest", "cea", "--window", "50"], "argument --window: 50 is not >= 100 (returns)"),
        (["backtest", "cea", "--levels", "0.95,1.5"], "levels '0.95,1.5' must lie in (0.5, 1)"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "never.parquet"
    code, _, err = _run([*argv, "--out", str(target)] if argv[0] == "simulate" else argv, capsys)
    assert code == 2
    lines = [line for line in err.splitlines() if "warning" not in line]
    assert len(lines) == 1 and message in lines[0]
    assert not target.exists()


def _without_timing(text: str) -> dict[str, object]:
    payload = json.loads(text)
    payload.pop("elapsed_s")
    return dict(payload)


@pytest.mark.slow
def test_simulate_on_a_two_worker_cluster_is_bit_identical(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Summary and full path set from ``--workers 2`` equal the in-process run number for number (issue 7)."""
    pytest.importorskip("distributed")
    argv = ["simulate", "cea", "--model", "ou-garch", "--dist", "t", "--ccer", "--horizon", "2y", "--freq", "M",
            "--paths", "9000", "--seed", "5", "--json"]  # fmt: skip
    code, serial, _ = _run(argv, capsys)
    assert code == 0
    code, parallel, _ = _run([*argv, "--workers", "2", "--blocks-per-task", "2"], capsys)
    assert code == 0
    assert _without_timing(serial) == _without_timing(parallel)
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    assert _run([*argv, "--out", str(one)], capsys)[0] == 0
    assert _run([*argv, "--out", str(two), "--workers", "2"], capsys)[0] == 0
    pd.testing.assert_frame_equal(pd.read_parquet(one), pd.read_parquet(two))
