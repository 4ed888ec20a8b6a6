"""The harness itself: it must fail when a command succeeds, writes, prints two lines or crashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.harness import assert_refused, snapshot


def test_refusal_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = assert_refused(["data", "show", str(tmp_path / "missing.csv")], tmp_path, capsys, match="missing.csv")
    assert line.startswith("carbonrisk data: error:")


def test_usage_error_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert_refused(["fit", "cea", "--model", "nope"], tmp_path, capsys, match="invalid choice")


def test_success_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(AssertionError, match="exit code 0"):
        assert_refused(["reductions", "table1", "--json"], tmp_path, capsys)


def test_wrong_message_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(AssertionError, match="not found"):
        assert_refused(["data", "show", str(tmp_path / "missing.csv")], tmp_path, capsys, match="some other text")


def test_snapshot_sees_new_changed_and_deleted_files(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("1")
    before = snapshot(tmp_path)
    (tmp_path / "a").write_text("22")
    assert snapshot(tmp_path) != before
    (tmp_path / "a").unlink()
    assert snapshot(tmp_path) != before
    (tmp_path / "sub").mkdir()
    assert "sub" in snapshot(tmp_path)


def test_subprocess_refusal_passes(tmp_path: Path) -> None:
    from tests.hostile.harness import assert_refused_subprocess

    assert_refused_subprocess(["data", "show", str(tmp_path / "missing.csv")], tmp_path, match="missing.csv")
