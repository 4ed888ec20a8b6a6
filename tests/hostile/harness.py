"""One assertion for every hostile-input test: refused with one line, exit 2, and the folder left untouched.

Use::

    from tests.hostile.harness import assert_refused

    def test_bad_file(tmp_path, capsys):
        bad = tmp_path / "prices.csv"
        bad.write_bytes(b"\\xff\\xfe")
        assert_refused(["data", "show", str(bad)], tmp_path, capsys, match="UTF-8")

:func:`assert_refused` runs :func:`carbonrisk.portfolios.cli.main` in-process with the working directory set to ``cwd``
(default ``tmp_path``), so relative outputs land there. It snapshots every file under ``tmp_path`` (path, size,
mtime; folders by path) before and after and asserts they are identical, that the exit code is 2, that stderr is
exactly one line with no ``Traceback`` and no ``internal error``, and that the line matches ``match`` (a regular
expression searched with :func:`re.search`). It returns the stderr line for further checks.
:func:`assert_refused_subprocess` does the same through the console script (what the ``carbonrisk`` script runs) in a
fresh interpreter, for cases that need a clean process (environment variables read at import time, numba).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from carbonrisk.portfolios.cli import main

__all__ = ["assert_refused", "assert_refused_subprocess", "snapshot"]

Snapshot = dict[str, tuple[str, int, int]]

_CONSOLE_SCRIPT = "import sys; from carbonrisk.portfolios.cli import main; sys.exit(main(sys.argv[1:]))"


def snapshot(root: Path) -> Snapshot:
    """Every path under ``root`` (relative) -> (kind, size in bytes, mtime in ns); symlinks are not followed.

    Folders are recorded by path only (size and mtime 0): a folder's mtime changes when a temporary file is made
    and removed in it (SQLite's ``-wal`` of a ledger it failed to open), which writes nothing that stays.
    """
    result: Snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            stat = path.lstat()
            kind = "dir" if path.is_dir() and not path.is_symlink() else "file"
            if kind == "dir":
                result[str(path.relative_to(root))] = (kind, 0, 0)
            else:
                result[str(path.relative_to(root))] = (kind, stat.st_size, stat.st_mtime_ns)
    return result


@contextlib.contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def _check(code: int, err: str, *, match: str | None, before: Snapshot, after: Snapshot) -> str:
    assert "Traceback" not in err, err
    assert "internal error" not in err, err
    assert code == 2, f"exit code {code}, stderr: {err!r}"
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}: {err!r}"
    line = lines[0]
    if match is not None:
        assert re.search(match, line), f"{match!r} not found in {line!r}"
    assert after == before, f"the folder changed: {sorted(set(after.items()) ^ set(before.items()))}"
    return line


def assert_refused(
    argv: Sequence[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    *,
    cwd: Path | None = None,
    match: str | None = None,
) -> str:
    """Run ``carbonrisk argv`` in-process; assert exit 2, one stderr line matching ``match``, nothing changed.

    Parameters
    ----------
    argv
        Arguments after ``carbonrisk``.
    tmp_path
        The folder whose snapshot must not change (pytest's ``tmp_path``; put the hostile files in it).
    capsys
        pytest's ``capsys`` fixture.
    cwd
        Working directory of the run (default ``tmp_path``).
    match
        Regular expression the stderr line must contain (``re.search``); ``None`` skips the check.

    Returns
    -------
    str
        The stderr line.
    """
    capsys.readouterr()
    before = snapshot(tmp_path)
    with _working_directory(cwd or tmp_path):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse usage errors
            code = exc.code if isinstance(exc.code, int) else 1
    _, err = capsys.readouterr()
    return _check(code, err, match=match, before=before, after=snapshot(tmp_path))


def assert_refused_subprocess(
    argv: Sequence[str],
    tmp_path: Path,
    *,
    cwd: Path | None = None,
    match: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """As :func:`assert_refused`, in a fresh interpreter (``carbonrisk argv``) with ``env`` added."""
    before = snapshot(tmp_path)
    full_env = {**os.environ, **(env or {})}
    full_env.pop("CARBONRISK_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-c", _CONSOLE_SCRIPT, *argv],
        cwd=cwd or tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )
    return _check(proc.returncode, proc.stderr, match=match, before=before, after=snapshot(tmp_path))
