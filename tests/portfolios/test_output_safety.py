"""carbonrisk deletes or replaces only what it wrote: output folders, output files, staging, locks, interruptions.

Regression tests of issue 12 (section 1): ``report --out DIR`` used to move an existing DIR aside and delete it,
and ``--out .`` deleted the portfolio file and every other document beside it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import carbonrisk.portfolios.io as io_module
import carbonrisk.portfolios.runner as runner
from carbonrisk.models.exceptions import CarbonRiskError
from carbonrisk.portfolios.cli import main
from carbonrisk.portfolios.io import MARKER, OutputFolder, foreign_entries
from carbonrisk.portfolios.ledger import Ledger

SMALL = """\
[portfolio]
name = "Output safety"
horizon_years = 2
n_paths = 100
seed = 7

[market]
prices = "cea"
model = "garch"
dist = "normal"

[[positions]]
name = "CEA inventory"
asset = "CEA"
quantity_t = 1000
cost_cny_per_t = 90.0
"""


def snapshot(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every entry under ``folder`` with its size, mtime and (for files) content."""
    result: dict[str, tuple[int, int, bytes]] = {}
    for path in sorted(folder.rglob("*")):
        stat = path.lstat()
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
        result[path.relative_to(folder).as_posix()] = (stat.st_size, stat.st_mtime_ns, data)
    return result


def refused(argv: list[str], capsys: pytest.CaptureFixture[str], folder: Path, match: str) -> str:
    """Run ``argv``: exit 2, one stderr line containing ``match``, and ``folder`` exactly as before."""
    before = snapshot(folder)
    code = main(argv)
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if not line.startswith("carbonrisk: warning:")]
    assert code == 2, err
    assert len(errors) == 1 and match in errors[0], err
    assert "Traceback" not in err and "internal error" not in err
    assert snapshot(folder) == before
    return errors[0]


@pytest.fixture
def portfolio(tmp_path: Path) -> Path:
    path = tmp_path / "book.toml"
    path.write_text(SMALL, encoding="utf-8")
    return path


def _demo(out: Path, paths: int = 200) -> list[str]:
    return ["demo", "--cea-holding", "--out", str(out), "--paths", str(paths)]


# --- refused before anything is written --------------------------------------------------------------------------


def test_out_dot_beside_the_portfolio_file_deletes_nothing(
    tmp_path: Path, portfolio: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "minutes.docx").write_bytes(b"board minutes")
    monkeypatch.chdir(tmp_path)
    refused(["report", str(portfolio), "--out", "."], capsys, tmp_path, "is the current folder")
    refused(["report", str(portfolio), "--out", str(tmp_path)], capsys, tmp_path, "is the current folder")


def test_existing_folder_with_other_files_is_refused(
    tmp_path: Path, portfolio: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "docs"
    (out / "sub").mkdir(parents=True)
    (out / "plan.xlsx").write_bytes(b"mine")
    (out / "sub" / "a.txt").write_text("mine")
    line = refused(["report", str(portfolio), "--out", str(out)], capsys, tmp_path, "holds files carbonrisk did not")
    assert "plan.xlsx" in line


def test_a_forged_or_extended_carbonrisk_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(_demo(out)) == 0
    capsys.readouterr()
    (out / "my-notes.txt").write_text("keep me")
    refused(_demo(out), capsys, tmp_path, "'my-notes.txt'")
    (out / "my-notes.txt").unlink()
    with (out / "report.html").open("a") as handle:
        handle.write("<!-- my annotation -->")
    refused(_demo(out), capsys, tmp_path, "changed since carbonrisk wrote it")
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / MARKER).write_text(json.dumps({"files": {"thesis.pdf": "0" * 64}}))
    (fake / "thesis.pdf").write_bytes(b"years of work")
    refused(_demo(fake), capsys, tmp_path, "changed since carbonrisk wrote it")


@pytest.mark.parametrize("kind", ["file", "symlink", "parent-is-file"])
def test_unusable_targets_are_refused_before_the_run(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "run_portfolio", lambda *_, **__: pytest.fail("the run started"))
    (tmp_path / "data.csv").write_text("a,b\n")
    (tmp_path / "real").mkdir()
    target = {
        "file": tmp_path / "data.csv",
        "symlink": tmp_path / "link",
        "parent-is-file": tmp_path / "data.csv" / "out",
    }[kind]
    if kind == "symlink":
        target.symlink_to(tmp_path / "real")
    refused(_demo(target), capsys, tmp_path, "" if kind != "parent-is-file" else "is a file, not a folder")


def test_concurrent_run_on_the_same_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    with OutputFolder(out):  # another run holds the target
        line = refused(_demo(out), capsys, tmp_path, "is being written by another carbonrisk run")
        assert f"process {os.getpid()}" in line
    assert main(_demo(out)) == 0  # the lock is gone with its holder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_simulate_refuses_an_existing_file_without_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "paths.parquet"
    target.write_bytes(b"someone's parquet")
    argv = ["simulate", "cea", "--model", "garch", "--dist", "normal", "--horizon", "10d", "--paths", "100"]
    refused([*argv, "--out", str(target)], capsys, tmp_path, "pass --overwrite to replace it")
    refused([*argv, "--out", str(tmp_path)], capsys, tmp_path, "is a directory")
    assert main([*argv, "--out", str(target), "--overwrite", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["out"] == str(target)
    assert target.read_bytes()[:4] == b"PAR1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paths.parquet"]


# --- replaced as a whole, atomically -------------------------------------------------------------------------------


def test_carbonrisk_folder_is_replaced_as_a_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(_demo(out, 200)) == 0
    first = json.loads((out / MARKER).read_text())
    written = {p.name for p in out.iterdir() if p.name != MARKER}
    assert {"report.html", "summary.json", "report.xlsx", "paths_summary.parquet"} <= written
    assert set(first["files"]) == written  # the marker lists every file it wrote, and only those
    assert foreign_entries(out) == []
    assert main(_demo(out, 300)) == 0
    second = json.loads((out / MARKER).read_text())
    assert second["run_id"] != first["run_id"]
    assert json.loads((out / "summary.json").read_text())["run_id"] == second["run_id"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]  # no staging, no lock, no old copy
    capsys.readouterr()


def test_report_is_written_with_its_ledger_record_or_not_at_all(
    tmp_path: Path, portfolio: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "report"
    assert main(["report", str(portfolio), "--out", str(out), "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    assert Ledger().get(run_id).output_dir == str(out)

    def failing(*_: object, **__: object) -> None:
        raise CarbonRiskError("ledger '/x/ledger.sqlite' is read-only")

    monkeypatch.setattr(Ledger, "record", failing)
    refused(["report", str(portfolio), "--out", str(out), "--paths", "200"], capsys, tmp_path, "read-only")
    assert json.loads((out / "summary.json").read_text())["run_id"] == run_id  # the recorded report stays


def test_interrupted_run_leaves_the_old_report_and_no_staging(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "demo"
    assert main(_demo(out)) == 0
    before = snapshot(tmp_path)
    real = runner.run_portfolio

    def interrupted(*args: object, **kwargs: object) -> object:
        real(*args, **kwargs)  # type: ignore[arg-type]
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "run_portfolio", interrupted)
    assert main(_demo(out, 300)) == 130
    assert "interrupted; nothing was written" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


def test_new_nested_folder_is_removed_again_when_the_run_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "run_portfolio", lambda *_, **__: (_ for _ in ()).throw(CarbonRiskError("bad")))
    assert main(_demo(tmp_path / "a" / "b" / "c")) == 2
    capsys.readouterr()
    assert list(tmp_path.iterdir()) == []


def test_stale_staging_of_dead_runs_is_cleaned_and_nothing_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    host = io_module._HOST
    stale_dir = tmp_path / f".demo.carbonrisk-staging-{host}-{dead_pid}-0123abcd"
    stale_dir.mkdir()
    (stale_dir / "report.html").write_text("half")
    stale_file = tmp_path / f".demo.carbonrisk-staging-{host}-{dead_pid}-89abcdef"
    stale_file.write_text("half")
    alive = tmp_path / f".demo.carbonrisk-staging-{host}-{os.getpid()}-00000000"  # a running process's
    alive.mkdir()
    other_host = tmp_path / f".demo.carbonrisk-staging-otherhost-{dead_pid}-00000000"
    other_host.mkdir()
    users = tmp_path / ".demo.backup"
    users.mkdir()
    assert main(_demo(out)) == 0
    capsys.readouterr()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["demo", alive.name, other_host.name, users.name])


@pytest.mark.slow
def test_sigterm_leaves_no_staging_folder(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    exe = Path(sys.executable).with_name("carbonrisk")
    proc = subprocess.Popen(
        [str(exe), "demo", "--out", str(out), "--paths", "40000"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not any(".carbonrisk-staging-" in p.name for p in tmp_path.iterdir()):
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, err
    assert "terminated; nothing was written" in err
    assert list(tmp_path.iterdir()) == []
