"""Atomic output: a run writes into a temporary sibling directory that is renamed into place only on success."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from portfolios.exceptions import OutputError

__all__ = ["atomic_output_dir", "write_json"]


@contextmanager
def atomic_output_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary directory next to ``target``; on success replace ``target`` with it.

    On any exception the temporary directory is removed and ``target`` is left exactly as it was (absent if it
    was absent), so a failed or interrupted run never leaves a half-written report.
    """
    final = Path(target).resolve()
    if final.exists() and not final.is_dir():
        raise OutputError(f"output directory '{target}' exists and is a file")
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes it 0700; the final directory gets the usual permissions
    try:
        yield staging
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
            os.replace(final, old / final.name)
            os.replace(staging, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_json(path: Path, payload: Any) -> None:
    """Write ``payload`` as indented UTF-8 JSON (non-ASCII kept readable)."""
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
