"""Run ledger: location rules, record/list/show, rerun identity, diff, and two concurrent writer processes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from carbonrisk.portfolios.cli import main
from carbonrisk.portfolios.exceptions import InputError, LedgerError
from carbonrisk.portfolios.ledger import Ledger, compare_metrics, default_ledger_path, flatten_metrics


def test_location_rules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CARBONRISK_HOME", str(tmp_path / "home"))
    assert default_ledger_path() == tmp_path / "home" / "ledger.sqlite"
    monkeypatch.delenv("CARBONRISK_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_ledger_path() == tmp_path / "xdg" / "carbonrisk" / "ledger.sqlite"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert default_ledger_path() == tmp_path / "user" / ".local" / "share" / "carbonrisk" / "ledger.sqlite"


def test_record_list_show_and_prefix(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    data = tmp_path / "in.toml"
    data.write_text("a = 1\n")
    first = ledger.record(
        kind="demo", inputs={"x": 1}, metrics={"var": 1.5}, seed=3, n_paths=10, input_files={"f": data}
    )
    second = ledger.record(kind="demo", inputs={"x": 2}, metrics={"var": 2.5}, seed=4, n_paths=10)
    assert {r.id for r in ledger.list()} == {first.id, second.id}
    assert [r.id for r in ledger.list(limit=1)] == [max((first, second), key=lambda r: (r.created_utc, r.id)).id]
    got = ledger.get(first.id[:-2])
    assert got.metrics == {"var": 1.5} and got.seed == 3
    # sha256 of b"a = 1\n", computed with `printf 'a = 1\n' | sha256sum`.
    assert got.input_hashes["f"] == "cb78bd8a17f7b751fe0d4663366dcbc257204033ef7ddd64b1f2969573b5b2e2"
    assert got.versions["carbonrisk"] != "not installed" and "numpy" in got.versions
    with pytest.raises(ValueError, match="is not in the ledger"):
        ledger.get("nope")


def test_compare_and_flatten() -> None:
    a = {"risk": [{"var": 1.0, "es": 2.0}], "n": 3}
    b = {"risk": [{"var": 1.0, "es": 2.5}], "n": 3, "extra": True}
    assert flatten_metrics(a) == {"risk[0].var": 1.0, "risk[0].es": 2.0, "n": 3}
    diffs = compare_metrics(a, b)
    assert [d["metric"] for d in diffs] == ["extra", "risk[0].es"]
    assert diffs[1]["difference"] == pytest.approx(0.5)
    assert compare_metrics(a, a) == []


def test_demo_is_recorded_and_rerun_identical(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for seed in ("1", "2"):
        assert (
            main(["demo", "--cea-holding", "--out", str(tmp_path / seed), "--paths", "400", "--seed", seed, "--json"])
            == 0
        )
    capsys.readouterr()
    assert main(["runs", "list", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert len(runs) == 2 and {r["seed"] for r in runs} == {1, 2}
    assert main(["runs", "rerun", runs[0]["id"], "--json"]) == 0
    rerun = json.loads(capsys.readouterr().out)
    assert rerun["identical"] is True and rerun["n_metrics"] > 20 and rerun["differences"] == []
    assert main(["runs", "diff", runs[0]["id"], runs[1]["id"], "--json"]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert diff["identical"] is False and any("var_99_1y_cny" in d["metric"] for d in diff["differences"])
    assert main(["runs", "show", runs[1]["id"]]) == 0
    summary = json.loads((tmp_path / "1" / "summary.json").read_text())
    assert summary["run_id"] in {r["id"] for r in runs}
    assert summary["run_id"] in (tmp_path / "1" / "report.html").read_text()


def test_unknown_run_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "show", "19990101"]) == 2
    assert "is not in the ledger" in capsys.readouterr().err


_WRITER = """
import sys
from carbonrisk.portfolios.ledger import Ledger
ledger = Ledger(sys.argv[1])
for i in range(int(sys.argv[3])):
    ledger.record(kind="demo", inputs={"writer": sys.argv[2], "i": i}, metrics={"i": i}, seed=i, n_paths=1)
"""


def test_two_processes_writing_concurrently(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger(path)
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), name, "40"], stderr=subprocess.PIPE)
        for name in ("a", "b")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    records = Ledger(path).list()
    assert len(records) == 80 and len({r.id for r in records}) == 80
    for writer in ("a", "b"):
        assert sorted(r.inputs["i"] for r in records if r.inputs["writer"] == writer) == list(range(40))
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_check_writable_passes_on_a_good_ledger_and_changes_nothing(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite")
    first = ledger.record(kind="demo", inputs={"x": 1}, metrics={"v": 1.0}, seed=1, n_paths=1)
    ledger.check_writable()
    assert [r.id for r in ledger.list()] == [first.id]


def test_read_only_ledger_reads_and_refuses_to_record(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    first = Ledger(path).record(kind="demo", inputs={"x": 1}, metrics={"v": 1.0}, seed=1, n_paths=1)
    reader = Ledger(path, readonly=True)
    assert reader.get(first.id).metrics == {"v": 1.0}
    with pytest.raises(LedgerError, match="opened read-only"):
        reader.record(kind="demo", inputs={}, metrics={})
    with pytest.raises(LedgerError, match="opened read-only"):
        reader.check_writable()


def test_read_only_ledger_that_does_not_exist_is_empty_and_not_created(tmp_path: Path) -> None:
    reader = Ledger(tmp_path / "none" / "l.sqlite", readonly=True)
    assert reader.list() == []
    with pytest.raises(InputError, match="is not in the ledger"):
        reader.get("2026")
    assert not (tmp_path / "none").exists()


def test_corrupt_ledger_is_named_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    path.write_bytes(b"SQLite format 2\x00" + bytes(range(256)) * 8)
    data = path.read_bytes()
    for make in (lambda: Ledger(path), lambda: Ledger(path, readonly=True).list()):
        with pytest.raises(LedgerError, match=r"ledger '.*l\.sqlite' cannot be .*file is not a database.*aside"):
            make()
    assert path.read_bytes() == data and sorted(p.name for p in tmp_path.iterdir()) == ["l.sqlite"]


def test_environment_is_recorded_with_the_lock_check(tmp_path: Path) -> None:
    from carbonrisk.portfolios.ledger import environment_versions, installed_distributions, lock_requirements

    env = environment_versions()
    for key in ("python", "machine", "cpu", "installed_sha256", "lock_sha256", "matches_lock"):
        assert env[key], key
    assert len(env["installed_sha256"]) == 64
    installed = installed_distributions()
    numpy_version = installed["numpy"]
    lock = tmp_path / "requirements.lock"
    lock.write_text(f"# comment\nnumpy=={numpy_version}\n", encoding="utf-8")
    assert lock_requirements(lock) == {"numpy": numpy_version}
    lock.write_text("NumPy==0.0.1  # pinned\n", encoding="utf-8")
    assert lock_requirements(lock) == {"numpy": "0.0.1"}
    assert lock_requirements(tmp_path / "absent.lock") is None


def test_compare_with_a_relative_tolerance() -> None:
    old = {"var": 5_794_043.0, "n": 3, "name": "x"}
    new = {"var": 5_794_064.0, "n": 3, "name": "x"}  # 3.6e-6 relative
    assert [d["metric"] for d in compare_metrics(old, new)] == ["var"]
    assert compare_metrics(old, new, rtol=1e-5) == []
    assert [d["metric"] for d in compare_metrics(old, new, rtol=1e-6)] == ["var"]
    assert compare_metrics({"name": "x"}, {"name": "y"}, rtol=1e-5) != []


def test_rerun_is_exact_in_the_same_environment_and_tolerant_in_another(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from carbonrisk.portfolios.ledger import RERUN_RTOL

    out = tmp_path / "d"
    assert main(["demo", "--cea-holding", "--out", str(out), "--paths", "400", "--seed", "3", "--json"]) == 0
    capsys.readouterr()
    ledger = Ledger()
    record = ledger.list()[0]
    # nudge one stored metric by 1e-7 relative: a real difference in the same environment
    metrics = json.loads(json.dumps(record.metrics))
    metrics["metrics"]["var_99_1y_cny"] *= 1.0 + 1e-7
    with sqlite3.connect(ledger.path) as conn:
        conn.execute("UPDATE runs SET metrics_json = ? WHERE id = ?", (json.dumps(metrics), record.id))
    assert main(["runs", "rerun", record.id, "--json"]) == 1
    exact = json.loads(capsys.readouterr().out)
    assert exact["comparison"] == "exact" and exact["rtol"] == 0.0 and exact["same_environment"] is True
    assert [d["metric"] for d in exact["differences"]] == ["metrics.var_99_1y_cny"]
    # the same record as if made on another machine: compared within the stated tolerance
    versions = dict(record.versions) | {"installed_sha256": "0" * 64}
    with sqlite3.connect(ledger.path) as conn:
        conn.execute("UPDATE runs SET versions_json = ? WHERE id = ?", (json.dumps(versions), record.id))
    assert main(["runs", "rerun", record.id, "--json"]) == 0
    tolerant = json.loads(capsys.readouterr().out)
    assert tolerant["comparison"] == "relative tolerance" and tolerant["rtol"] == RERUN_RTOL
    assert tolerant["same_environment"] is False and tolerant["identical"] is True
    assert main(["runs", "rerun", record.id]) == 0
    assert f"relative tolerance {RERUN_RTOL:g}" in capsys.readouterr().out
