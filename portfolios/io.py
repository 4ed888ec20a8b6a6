"""Safe output: carbonrisk deletes or replaces only what it wrote itself.

The rule (README, "Failures and output files"):

* An output **folder** (``report --out``, ``demo --out``) may be new, empty, or a *carbonrisk output folder*: one
  that holds the marker file :data:`MARKER` and nothing but the files that marker lists, unchanged since carbonrisk
  wrote them (same SHA-256). Anything else is refused before the Monte Carlo starts (:class:`OutputError`, one
  line, nothing touched). A carbonrisk folder is replaced as a whole: the run writes into a staging folder beside
  the target and swaps it into place with one ``renameat2(RENAME_EXCHANGE)`` system call (two renames where the
  kernel lacks it), so a killed run leaves the old report or the new one, never a mix.
* An output **file** (``simulate --out paths.parquet``) that exists is replaced only with ``--overwrite``; it is
  written to a staging file beside it and renamed into place.
* Staging names are recognisable (``.NAME.carbonrisk-staging-HOST-PID-XXXX``); a run removes them on any error,
  including SIGINT and SIGTERM (the CLI turns SIGTERM into an exception), and the next run into the same parent
  folder removes those of this host whose process is gone (killed with SIGKILL, power loss).
* While a run writes a target it holds an exclusive lock (``.NAME.carbonrisk-lock`` beside it, removed at the
  end); a second run for the same target is refused, so the ledger entry of each run describes the report that is
  on disk.

Every check that can fail (target is a file, foreign files, parent not writable, locked) runs in
:meth:`OutputFolder.__enter__`, before the expensive work.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from carbonrisk.portfolios.exceptions import OutputError

__all__ = ["MARKER", "OutputFile", "OutputFolder", "atomic_output_dir", "write_json"]

MARKER = ".carbonrisk-output.json"
"""Name of the manifest carbonrisk writes into every output folder: the files it wrote, with their SHA-256."""

_STAGING = "carbonrisk-staging"
_LOCK = "carbonrisk-lock"
_HOST = re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "host"

T = TypeVar("T")


# --- helpers -----------------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _staging_name(final: Path) -> str:
    return f".{final.name}.{_STAGING}-{_HOST}-{os.getpid()}-{secrets.token_hex(4)}"


def _staging_pattern(final: Path) -> re.Pattern[str]:
    return re.compile(rf"^\.{re.escape(final.name)}\.{_STAGING}-{re.escape(_HOST)}-(\d+)-[0-9a-f]{{8}}$")


def clean_stale_staging(final: Path) -> list[Path]:
    """Remove staging folders and files of ``final`` left by runs of this host whose process is gone.

    Only entries named by :func:`_staging_name` for this target and this host are considered, so nothing a user
    wrote is ever touched. Returns what was removed.
    """
    removed: list[Path] = []
    pattern = _staging_pattern(final)
    try:
        entries = list(final.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None or _pid_alive(int(match.group(1))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _load_renameat2() -> Callable[..., int] | None:
    name = ctypes.util.find_library("c")
    if name is None:  # pragma: no cover - every Linux has a libc
        return None
    try:
        func = ctypes.CDLL(name, use_errno=True).renameat2
    except (OSError, AttributeError):  # pragma: no cover - glibc < 2.28, or not Linux
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    return func


_renameat2 = _load_renameat2()


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically; ``False`` when the system cannot (the caller falls back)."""
    if _renameat2 is None:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OutputError(f"cannot replace '{b}': {os.strerror(err)}")


def _oserror(action: str, path: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or type(exc).__name__
    return OutputError(f"cannot {action} '{path}': {reason}")


class _TargetLock:
    """Exclusive, non-blocking lock of one output target: ``.NAME.carbonrisk-lock`` beside it."""

    def __init__(self, final: Path) -> None:
        self.path = final.parent / f".{final.name}.{_LOCK}"
        self._fd: int | None = None

    def acquire(self, target_label: str) -> None:
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise _oserror("write into the folder of", self.path.parent / target_label, exc) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                raise OutputError(
                    f"output '{target_label}' is being written by another carbonrisk run (process {holder}); "
                    "wait for it to finish or choose another --out"
                ) from None
            # the holder before us may have removed the file between our open and our lock: retry on a new inode
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
                self._fd = fd
                return
            os.close(fd)

    def release(self) -> None:
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)  # removed while still held, so no other run can lock a stale inode
        os.close(self._fd)
        self._fd = None


def _check_parent(final: Path, label: str) -> list[Path]:
    """Create the missing parents of ``final`` (returned, deepest first) after checking the path is usable."""
    created: list[Path] = []
    for ancestor in reversed(final.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                raise OutputError(f"output '{label}' cannot be created: '{ancestor}' is a file, not a folder")
            continue
        try:
            ancestor.mkdir()
        except OSError as exc:
            _remove_created(created)
            raise _oserror("create the folder", ancestor, exc) from None
        created.insert(0, ancestor)
    return created


def _remove_created(created: list[Path]) -> None:
    for folder in created:  # deepest first; only folders that are still empty
        try:
            folder.rmdir()
        except OSError:
            return


def foreign_entries(folder: Path) -> list[str]:
    """Entries of ``folder`` that carbonrisk did not write (relative paths; empty for a carbonrisk folder).

    A folder is carbonrisk's when it holds :data:`MARKER` and every other entry is a file listed there with the
    same SHA-256 (or a folder on the way to one). An empty folder has no foreign entries.
    """
    entries = sorted(p for p in folder.rglob("*"))
    if not entries:
        return []
    marker = folder / MARKER
    listed: dict[str, str] = {}
    if marker.is_file():
        try:
            manifest = json.loads(marker.read_text(encoding="utf-8"))
            listed = {str(k): str(v) for k, v in manifest.get("files", {}).items()}
        except (OSError, ValueError, AttributeError):
            listed = {}
    dirs = {str(Path(name).parent) for name in listed} | {str(p) for name in listed for p in Path(name).parents}
    foreign: list[str] = []
    for entry in entries:
        rel = entry.relative_to(folder).as_posix()
        if rel == MARKER and listed:
            continue
        if entry.is_dir() and not entry.is_symlink() and rel in dirs:
            continue
        if rel in listed and entry.is_file() and not entry.is_symlink():
            if _sha256(entry) == listed[rel]:
                continue
            foreign.append(f"{rel} (changed since carbonrisk wrote it)")
            continue
        foreign.append(rel)
    return foreign


def _refuse_foreign(final: Path, label: str) -> None:
    if final.is_symlink() or (final.exists() and not final.is_dir()):
        kind = "a symbolic link" if final.is_symlink() else "a file"
        raise OutputError(f"output folder '{label}' exists and is {kind}; choose a new or empty folder")
    if not final.exists():
        return
    cwd, real = Path.cwd().resolve(), final.resolve()
    if real == cwd or real in cwd.parents:
        raise OutputError(
            f"output folder '{label}' is the current folder or contains it; choose a new folder such as "
            f"'{label.rstrip('/')}/carbonrisk-report'"
        )
    try:
        foreign = foreign_entries(final)
    except OSError as exc:
        raise _oserror("read the output folder", final, exc) from None
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        shown = ", ".join(f"'{name}'" for name in foreign[:3]) + more
        raise OutputError(
            f"output folder '{label}' holds files carbonrisk did not write ({shown}); nothing was changed: "
            "choose a new or empty folder"
        )


# --- folders -----------------------------------------------------------------------------------------------------


class _StagedTarget:
    """What an output folder and an output file share: the lock, the created parents, the staging entry.

    Subclasses check the target (:meth:`_refuse`) and create the staging entry (:meth:`_make_staging`); entering
    creates missing parents, takes the lock, refuses, cleans stale staging and stages, undoing each step on error;
    leaving removes the staging entry, releases the lock and, without a commit, the parents the run created.
    """

    def __init__(self, target: str | Path) -> None:
        self.label = str(target)
        self.final = Path(os.path.abspath(target))
        self._lock = _TargetLock(self.final)
        self._created: list[Path] = []
        self._staging: Path | None = None
        self.committed = False

    @property
    def staging(self) -> Path:
        """The staging folder or file to write (exists between entering and leaving)."""
        if self._staging is None:
            raise OutputError(f"{type(self).__name__} is used outside its 'with' block")
        return self._staging

    def _refuse(self) -> None:
        """Raise :class:`OutputError` when the target must not be written (called while holding the lock)."""

    def _make_staging(self, staging: Path) -> None:
        raise NotImplementedError

    def _enter(self) -> None:
        self._created = _check_parent(self.final, self.label)
        try:
            self._lock.acquire(self.label)
        except BaseException:
            _remove_created(self._created)
            raise
        try:
            self._refuse()
            clean_stale_staging(self.final)
            staging = self.final.parent / _staging_name(self.final)
            try:
                self._make_staging(staging)
            except OSError as exc:
                raise _oserror("write into the folder", self.final.parent, exc) from None
            self._staging = staging
        except BaseException:
            self._lock.release()
            _remove_created(self._created)
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            if self._staging is not None and (self._staging.exists() or self._staging.is_symlink()):
                if self._staging.is_dir() and not self._staging.is_symlink():
                    shutil.rmtree(self._staging, ignore_errors=True)
                else:
                    self._staging.unlink(missing_ok=True)
        finally:
            self._staging = None
            self._lock.release()
        if not self.committed:
            _remove_created(self._created)


class OutputFolder(_StagedTarget):
    """An output folder written atomically; see the module docstring for the rules.

    Use as a context manager: entering checks the target, takes the lock and creates :attr:`staging`; the caller
    writes its files there and calls :meth:`commit`; leaving without a commit (an error, SIGINT, SIGTERM) removes
    the staging folder and any parent folder the run created, so nothing is left.

    Examples
    --------
    >>> with OutputFolder("out") as out:  # doctest: +SKIP
    ...     (out.staging / "report.html").write_text("...")
    ...     final = out.commit()
    """

    def _refuse(self) -> None:
        _refuse_foreign(self.final, self.label)

    def _make_staging(self, staging: Path) -> None:
        staging.mkdir()

    def __enter__(self) -> OutputFolder:
        self._enter()
        return self

    def _write_marker(self, run_id: str) -> None:
        files = {
            p.relative_to(self.staging).as_posix(): _sha256(p)
            for p in sorted(self.staging.rglob("*"))
            if p.is_file() and p.name != MARKER
        }
        payload = {"written_by": "carbonrisk", "run_id": run_id, "files": files}
        (self.staging / MARKER).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")

    def commit(self, run_id: str, record: Callable[[Path], T]) -> T:
        """Move the staged files into place, then call ``record(final)`` (e.g. the ledger entry).

        If ``record`` raises, the previous content of the target is put back and the error propagates, so a
        report is on disk only when its record exists.
        """
        self._write_marker(run_id)
        self.staging.chmod(0o777 & ~_umask())
        swapped = self.final.exists() and _exchange(self.staging, self.final)
        if not swapped:
            self._replace_by_renames()
        try:
            result = record(self.final)
        except BaseException:
            self._undo(swapped)
            raise
        self.committed = True
        if self._staging is not None and self._staging.exists():
            shutil.rmtree(self._staging, ignore_errors=True)  # after a swap: the previous report
        return result

    def _replace_by_renames(self) -> None:
        if self.final.exists():  # only an empty folder or a carbonrisk folder reaches this point
            old = self.final.parent / _staging_name(self.final)
            os.replace(self.final, old)
            os.replace(self.staging, self.final)
            self._staging = old
        else:
            os.replace(self.staging, self.final)
            self._staging = None

    def _undo(self, swapped: bool) -> None:
        if swapped:
            _exchange(self.staging, self.final)  # the previous report back in place; the new one in staging
        elif self._staging is not None and self._staging.exists():
            new = self.final.parent / _staging_name(self.final)
            os.replace(self.final, new)
            os.replace(self._staging, self.final)
            self._staging = new
        else:
            self._staging = self.final.parent / _staging_name(self.final)
            os.replace(self.final, self._staging)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


@contextmanager
def atomic_output_dir(target: str | Path, run_id: str = "") -> Iterator[Path]:
    """Yield a staging folder for ``target``; on success it replaces ``target`` (see :class:`OutputFolder`)."""
    with OutputFolder(target) as out:
        yield out.staging
        out.commit(run_id, lambda final: final)


# --- files -------------------------------------------------------------------------------------------------------


class OutputFile(_StagedTarget):
    """One output file written atomically; an existing file is replaced only when ``overwrite`` is true.

    Entering checks the target and creates the staging file :attr:`staging` beside it (so an unwritable folder is
    found before the work); :meth:`commit` renames it into place; leaving without a commit removes it.
    """

    def __init__(self, target: str | Path, *, overwrite: bool = False, flag: str = "--out") -> None:
        super().__init__(target)
        self.overwrite = overwrite
        self.flag = flag

    def __enter__(self) -> OutputFile:
        if self.final.is_dir():
            raise OutputError(f"{self.flag} '{self.label}' is a directory; expected a file path")
        if (self.final.exists() or self.final.is_symlink()) and not self.overwrite:
            raise OutputError(
                f"{self.flag} '{self.label}' exists; pass --overwrite to replace it, or choose another file"
            )
        self._enter()
        return self

    def _make_staging(self, staging: Path) -> None:
        staging.touch(exist_ok=False)

    def commit(self) -> Path:
        """Rename the staging file into place and return the final path."""
        self.staging.chmod(0o666 & ~_umask())
        os.replace(self.staging, self.final)
        self._staging = None
        self.committed = True
        return self.final


def write_json(path: Path, payload: Any) -> None:
    """Write ``payload`` as indented UTF-8 JSON (non-ASCII kept readable)."""
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
