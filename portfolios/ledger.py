"""Run ledger: an embedded SQLite audit trail of every run, so every reported number can be reproduced.

Each run stores its id, UTC time, kind (``demo``, ``report``), the inputs needed to recompute it (portfolio file
text and path, parameters), hashes of every input file, seed, path count, package and dependency versions, and the
summary metrics. ``rerun`` recomputes a stored run from its stored inputs and compares every metric.

Location: ``$CARBONRISK_HOME/ledger.sqlite`` when ``CARBONRISK_HOME`` is set, else
``$XDG_DATA_HOME/carbonrisk/ledger.sqlite``, else ``~/.local/share/carbonrisk/ledger.sqlite``.

Failures: a ledger that cannot be used (its folder cannot be created, the file is a directory, random bytes, a
truncated database, or read-only when a run must be recorded) raises
:class:`~carbonrisk.portfolios.exceptions.LedgerError`, one line naming the file and what to do; carbonrisk never
deletes or repairs the file. Reading commands open the ledger with ``readonly=True`` (an SQLite ``mode=ro`` URI), so
they work on a read-only ledger and never create one; a run that records calls :meth:`Ledger.check_writable` before its
Monte Carlo.

Concurrency: SQLite in WAL mode with a busy timeout; each record is one short ``BEGIN IMMEDIATE`` transaction, so
concurrent processes serialise their writes instead of corrupting the file.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from carbonrisk.portfolios.exceptions import InputError, LedgerError

__all__ = [
    "ENVIRONMENT_KEYS",
    "RERUN_RTOL",
    "Ledger",
    "RunRecord",
    "compare_metrics",
    "default_ledger_path",
    "environment_versions",
    "file_sha256",
    "flatten_metrics",
    "installed_distributions",
    "lock_requirements",
    "new_run_id",
    "same_environment",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    created_utc TEXT NOT NULL,
    kind TEXT NOT NULL,
    seed INTEGER,
    n_paths INTEGER,
    inputs_json TEXT NOT NULL,
    input_hashes_json TEXT NOT NULL,
    versions_json TEXT NOT NULL,
    metrics_json TEXT NOT NULL,
    output_dir TEXT
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created_utc);
"""
_DEPENDENCIES = ("numpy", "pandas", "scipy", "statsmodels", "arch", "QuantLib", "numba", "matplotlib", "openpyxl")


def default_ledger_path() -> Path:
    """Ledger file location (see the module docstring)."""
    home = os.environ.get("CARBONRISK_HOME")
    if home:
        return Path(home).expanduser() / "ledger.sqlite"
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "carbonrisk" / "ledger.sqlite"


def new_run_id() -> str:
    """A new run id: UTC time to the second plus 8 random hex digits (sorts by time, unique across processes)."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def file_sha256(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


LOCK_FILE: Path = Path(__file__).resolve().parents[1] / "requirements.lock"
"""The pinned dependency set ``make`` installs from (absent when carbonrisk is installed from a wheel)."""
RERUN_RTOL: float = 1e-5
"""Relative tolerance of ``runs rerun`` when the recorded environment differs from the current one (the same commit
on another machine moved the demo's 10-day 99 % VaR by 3.6e-6 relative before the lock file; numbers within this
tolerance are reported as equal, and the tolerance is printed)."""
ENVIRONMENT_KEYS: tuple[str, ...] = ("python", "machine", "cpu", "installed_sha256")
"""The entries of :func:`environment_versions` that must all agree for ``runs rerun`` to compare exactly."""


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def installed_distributions() -> dict[str, str]:
    """``{name: version}`` of every installed distribution but carbonrisk itself (what ``pip freeze`` lists)."""
    out: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and _normalise(name) != "carbonrisk":
            out[_normalise(name)] = dist.version
    return dict(sorted(out.items()))


def lock_requirements(path: Path = LOCK_FILE) -> dict[str, str] | None:
    """``{name: version}`` pinned by the lock file (``name==version`` lines), ``None`` when it is absent."""
    if not path.exists():
        return None
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[_normalise(name)] = version.strip()
    return pins


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment_versions() -> dict[str, str]:
    """carbonrisk, Python and dependency versions of this process, and the environment's fingerprint.

    Besides the versions: ``machine`` and ``cpu`` (architecture, CPU model), ``installed_sha256`` (SHA-256 of the
    sorted ``name==version`` list of every installed distribution, the ``pip freeze`` of the environment),
    ``lock_sha256`` (of the lock file's pins) and ``matches_lock`` (``"yes"`` when every pin of
    ``requirements.lock`` is installed at its version, ``"no: ..."`` naming the first mismatches, or
    ``"no lock file"``).
    """
    versions = {"python": platform.python_version(), "platform": platform.platform()}
    for name in ("carbonrisk", *_DEPENDENCIES):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    installed = installed_distributions()
    freeze = "\n".join(f"{k}=={v}" for k, v in installed.items())
    versions["machine"] = platform.machine()
    versions["cpu"] = _cpu()
    versions["installed_sha256"] = hashlib.sha256(freeze.encode()).hexdigest()
    pins = lock_requirements()
    if pins is None:
        versions["lock_sha256"] = ""
        versions["matches_lock"] = "no lock file"
    else:
        versions["lock_sha256"] = hashlib.sha256(
            "\n".join(f"{k}=={v}" for k, v in sorted(pins.items())).encode()
        ).hexdigest()
        bad = [f"{k} {installed.get(k, 'missing')} != {v}" for k, v in pins.items() if installed.get(k) != v]
        versions["matches_lock"] = "yes" if not bad else "no: " + ", ".join(bad[:3]) + (" ..." if len(bad) > 3 else "")
    return versions


def same_environment(recorded: Mapping[str, str], current: Mapping[str, str]) -> bool:
    """Whether two :func:`environment_versions` agree on every :data:`ENVIRONMENT_KEYS` entry (a record made
    before these were stored never matches)."""
    return all(k in recorded and recorded[k] == current.get(k) for k in ENVIRONMENT_KEYS)


def flatten_metrics(payload: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts / lists of metrics to ``{"a.b[0].c": value}`` (leaves only)."""
    flat: dict[str, Any] = {}
    if isinstance(payload, Mapping):
        for key, value in payload.items():
            flat.update(flatten_metrics(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(payload, (list, tuple)):
        for i, value in enumerate(payload):
            flat.update(flatten_metrics(value, f"{prefix}[{i}]"))
    else:
        flat[prefix] = payload
    return flat


def compare_metrics(old: Mapping[str, Any], new: Mapping[str, Any], rtol: float = 0.0) -> list[dict[str, Any]]:
    """Differences between two metric trees: one row per leaf that is not bit-identical (or present in one only);
    with ``rtol > 0`` numbers within ``rtol`` relative of each other count as equal."""
    a, b = flatten_metrics(old), flatten_metrics(new)
    rows = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key, "<absent>"), b.get(key, "<absent>")
        same = va == vb or (isinstance(va, float) and isinstance(vb, float) and math.isnan(va) and math.isnan(vb))
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (va, vb))
        if not same and rtol > 0 and numbers:
            same = math.isclose(float(va), float(vb), rel_tol=rtol, abs_tol=0.0)
        if not same:
            row: dict[str, Any] = {"metric": key, "a": va, "b": vb}
            if isinstance(va, (int, float)) and isinstance(vb, (int, float)) and not isinstance(va, bool):
                row["difference"] = float(vb) - float(va)
            rows.append(row)
    return rows


@dataclass(frozen=True)
class RunRecord:
    """One row of the ledger."""

    id: str
    created_utc: str
    kind: str
    seed: int | None
    n_paths: int | None
    inputs: dict[str, Any]
    input_hashes: dict[str, str]
    versions: dict[str, str]
    metrics: dict[str, Any]
    output_dir: str | None

    def to_dict(self, *, full: bool = True) -> dict[str, Any]:
        """JSON-ready view (``full=False`` drops inputs and metrics, for listings)."""
        base: dict[str, Any] = {
            "id": self.id,
            "created_utc": self.created_utc,
            "kind": self.kind,
            "seed": self.seed,
            "n_paths": self.n_paths,
            "output_dir": self.output_dir,
        }
        if full:
            base |= {
                "inputs": self.inputs,
                "input_hashes": self.input_hashes,
                "versions": self.versions,
                "metrics": self.metrics,
            }
        return base


Rerunner = Callable[[Mapping[str, Any]], Mapping[str, Any]]
"""Recomputes a run from its stored inputs and returns its metrics."""


_ADVICE = "move the file aside (carbonrisk never deletes it) or set CARBONRISK_HOME to another folder"


def _sqlite_connect(path: Path, *, readonly: bool, immutable: bool = False) -> sqlite3.Connection:
    """Open the SQLite file ``path`` (``readonly``: a ``mode=ro`` URI, which never creates the ledger or writes to it;
    SQLite may still create its empty ``-wal`` / ``-shm`` files beside a WAL ledger in a writable folder)."""
    if not readonly:
        return sqlite3.connect(path, timeout=60.0, isolation_level=None)
    uri = f"{path.resolve().as_uri()}?mode=ro" + ("&immutable=1" if immutable else "")
    return sqlite3.connect(uri, timeout=60.0, isolation_level=None, uri=True)


class Ledger:
    """The SQLite run ledger at ``path`` (default :func:`default_ledger_path`).

    Parameters
    ----------
    path : str or Path, optional
        The ledger file.
    readonly : bool
        Open for reading only (``runs list``, ``show``, ``rerun``, ``diff``): nothing is created or written, so a
        read-only ledger or folder works and a missing ledger reads as empty.

    Raises
    ------
    carbonrisk.portfolios.exceptions.LedgerError
        One line naming the ledger file and what to do, when its folder cannot be created, or the file is a
        directory, not an SQLite database (random bytes), truncated, or (for writing) read-only.
    """

    def __init__(self, path: str | Path | None = None, *, readonly: bool = False) -> None:
        self.path = Path(path) if path is not None else default_ledger_path()
        self.readonly = readonly
        if self.path.is_dir():
            raise LedgerError(f"ledger path '{self.path}' is a directory; set CARBONRISK_HOME to a writable folder")
        if readonly:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(
                f"cannot create ledger folder '{self.path.parent}' ({exc.strerror or exc}); "
                "set CARBONRISK_HOME to a writable folder"
            ) from None
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    def _error(self, exc: sqlite3.Error | OSError, doing: str) -> LedgerError:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, sqlite3.OperationalError) and "readonly" in reason:
            advice = "make it writable or set CARBONRISK_HOME to a writable folder"
        elif isinstance(exc, sqlite3.OperationalError) and "unable to open" in reason:
            advice = "check the folder's permissions or set CARBONRISK_HOME to a writable folder"
        else:
            advice = _ADVICE
        return LedgerError(f"ledger '{self.path}' cannot be {doing} ({reason}); {advice}")

    def _sidecars(self) -> list[Path]:
        return [self.path.with_name(self.path.name + suffix) for suffix in ("-wal", "-shm")]

    def _remove_new_sidecars(self, existed: list[bool]) -> None:
        """Remove the ``-wal`` / ``-shm`` files SQLite created for a connection that failed (a corrupt, truncated or
        read-only ledger), so a refused command leaves the folder as it found it. Only when neither existed before
        and the ``-wal`` is still empty: never a file another process may be using."""
        wal, shm = self._sidecars()
        if any(existed) or (wal.exists() and wal.stat().st_size > 0):
            return
        for sidecar in (wal, shm):
            sidecar.unlink(missing_ok=True)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        doing = "read" if self.readonly else "opened for writing"
        existed = [p.exists() for p in self._sidecars()]
        try:
            conn = _sqlite_connect(self.path, readonly=self.readonly)
            conn.execute("PRAGMA busy_timeout=60000")
            if self.readonly:
                try:
                    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                except sqlite3.OperationalError:
                    # a WAL ledger in a read-only folder without its -shm file: read the file as it is
                    conn.close()
                    conn = _sqlite_connect(self.path, readonly=True, immutable=True)
            if not self.readonly:
                conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as exc:
            self._remove_new_sidecars(existed)
            raise self._error(exc, doing) from None
        try:
            yield conn
        except sqlite3.Error as exc:
            conn.close()
            self._remove_new_sidecars(existed)
            raise self._error(exc, doing) from None
        finally:
            conn.close()

    def _has_runs(self) -> bool:
        """Whether the file exists and holds the runs table (a read-only ledger may be missing or empty)."""
        if not self.path.exists():
            return False
        with self._connect() as conn:
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'").fetchone()
        return found is not None

    def check_writable(self) -> None:
        """Raise :class:`~carbonrisk.portfolios.exceptions.LedgerError` now if a record could not be written.

        Takes the write lock, runs a write statement that changes nothing and rolls back: call it before a long run so
        that a read-only, corrupt or locked ledger is reported before any work (and before any output exists).
        """
        if self.readonly:
            raise LedgerError(f"ledger '{self.path}' was opened read-only; open it with readonly=False to record")
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("DELETE FROM runs WHERE 0")  # a write statement: refused on a read-only file
            finally:
                conn.execute("ROLLBACK")

    def record(
        self,
        *,
        kind: str,
        inputs: Mapping[str, Any],
        metrics: Mapping[str, Any],
        seed: int | None = None,
        n_paths: int | None = None,
        input_files: Mapping[str, str | Path] | None = None,
        output_dir: str | Path | None = None,
        run_id: str | None = None,
    ) -> RunRecord:
        """Store one run and return its record (``run_id`` defaults to a new time-ordered id).

        Raises
        ------
        carbonrisk.portfolios.exceptions.LedgerError
            When the ledger cannot be written (read-only, corrupt, locked past the busy timeout, disk full).
        """
        now = datetime.now(UTC)
        rid = run_id or new_run_id()
        hashes = {name: file_sha256(path) for name, path in (input_files or {}).items()}
        versions = environment_versions()
        row = (
            rid,
            now.isoformat(timespec="seconds"),
            kind,
            seed,
            n_paths,
            json.dumps(inputs, sort_keys=True, allow_nan=False),
            json.dumps(hashes, sort_keys=True),
            json.dumps(versions, sort_keys=True),
            json.dumps(metrics, sort_keys=True, allow_nan=False),
            str(output_dir) if output_dir is not None else None,
        )
        if self.readonly:
            raise LedgerError(f"ledger '{self.path}' was opened read-only; open it with readonly=False to record")
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return self.get(rid)

    def list(self, limit: int | None = None) -> list[RunRecord]:
        """Runs, newest first."""
        query = "SELECT * FROM runs ORDER BY created_utc DESC, id DESC"
        params: tuple[int, ...] = ()
        if limit is not None:
            query += " LIMIT ?"
            params = (limit,)
        if self.readonly and not self._has_runs():
            return []
        with self._connect() as conn:
            return [self._to_record(r) for r in conn.execute(query, params).fetchall()]

    def get(self, run_id: str) -> RunRecord:
        """The run ``run_id`` (a unique prefix of the id is enough)."""
        rows = []
        if not self.readonly or self._has_runs():
            with self._connect() as conn:
                rows = conn.execute("SELECT * FROM runs WHERE id LIKE ? ORDER BY id", (f"{run_id}%",)).fetchall()
        if not rows:
            raise InputError(f"run id '{run_id}' is not in the ledger {self.path}")
        if len(rows) > 1 and rows[0][0] != run_id:
            raise InputError(f"run id prefix '{run_id}' is ambiguous: {len(rows)} runs match")
        return self._to_record(rows[0])

    @staticmethod
    def _to_record(row: tuple[Any, ...]) -> RunRecord:
        return RunRecord(
            id=row[0],
            created_utc=row[1],
            kind=row[2],
            seed=row[3],
            n_paths=row[4],
            inputs=json.loads(row[5]),
            input_hashes=json.loads(row[6]),
            versions=json.loads(row[7]),
            metrics=json.loads(row[8]),
            output_dir=row[9],
        )
