"""Keep the on-disk caches of numba (our ``cache=True`` kernels) and matplotlib from turning into errors or noise.

numba caches a compiled kernel next to its source (``__pycache__``) or, when that folder is not writable, in the
user-wide cache (``$XDG_CACHE_HOME/numba``, else ``~/.cache/numba``). When neither is writable (a read-only install
and a read-only or missing home) decorating a ``cache=True`` function raises ``RuntimeError: cannot cache function
... no locator available`` at import time, and every command fails with a traceback.

:func:`ensure_writable_cache` runs when :mod:`models` is imported, before any kernel is decorated: if the user has
not set ``NUMBA_CACHE_DIR`` and neither default location is writable, it points ``NUMBA_CACHE_DIR`` (and numba's
already-loaded configuration, if any) at a private folder under the system temporary directory. Nothing is
printed: the cache only saves compile time, so a temporary one is a silent fallback. When even that is impossible
the kernels are left as they are (numba then reports its own error).

matplotlib, in the same situation (no writable ``~/.config/matplotlib``), creates a temporary folder itself but
prints two lines about it on stderr; :func:`ensure_writable_caches` sets ``MPLCONFIGDIR`` to the same private
folder first, so a command's stderr holds only what carbonrisk means to say.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

__all__ = ["ensure_writable_cache", "ensure_writable_caches"]

_KERNEL_PACKAGES = (Path(__file__).resolve().parent, Path(__file__).resolve().parent / "geothermal")
"""Folders holding ``cache=True`` kernels (numba's in-tree cache goes to their ``__pycache__``)."""


def _writable(folder: Path) -> bool:
    """Whether ``folder`` exists or can be created and a file can be written in it (numba's own test)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def _user_wide_cache() -> Path:
    """numba's user-wide cache folder on POSIX (``numba.misc.appdirs.user_cache_dir``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "numba"


def _private_folder(name: str) -> Path | None:
    """``$TMPDIR/carbonrisk-{name}-UID`` if it is ours and private (numba loads pickles from it), else a new
    private temporary folder; ``None`` when the temporary directory is not writable either."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    folder = Path(tempfile.gettempdir()) / f"carbonrisk-{name}-{uid}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
        if folder.is_symlink() or info.st_uid != uid or info.st_mode & 0o077:
            folder = Path(tempfile.mkdtemp(prefix=f"carbonrisk-{name}-"))
    except OSError:
        return None
    return folder if _writable(folder) else None


def ensure_writable_cache() -> str | None:
    """Point numba's cache at a temporary folder when neither of its default locations is writable.

    Returns
    -------
    str or None
        The folder now used as ``NUMBA_CACHE_DIR``, or ``None`` when nothing had to change (a user setting, a
        writable source tree or user cache) or nothing could be done.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    if all(_writable(p / "__pycache__") for p in _KERNEL_PACKAGES) or _writable(_user_wide_cache()):
        return None
    fallback = _private_folder("numba-cache")
    if fallback is None:
        return None
    os.environ["NUMBA_CACHE_DIR"] = str(fallback)
    config = sys.modules.get("numba.core.config")
    if config is not None:  # numba already imported: its configuration was read before we set the variable
        config.CACHE_DIR = str(fallback)  # type: ignore[attr-defined]
    return str(fallback)


def ensure_writable_matplotlib_config() -> str | None:
    """Set ``MPLCONFIGDIR`` to a private temporary folder when matplotlib's default one is not writable.

    Returns
    -------
    str or None
        The folder now used, or ``None`` when nothing had to change or nothing could be done.
    """
    if os.environ.get("MPLCONFIGDIR") or "matplotlib" in sys.modules:
        return None
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    if _writable(Path(base) / "matplotlib"):
        return None
    fallback = _private_folder("matplotlib")
    if fallback is None:
        return None
    os.environ["MPLCONFIGDIR"] = str(fallback)
    return str(fallback)


def ensure_writable_caches() -> None:
    """:func:`ensure_writable_cache` (numba) and :func:`ensure_writable_matplotlib_config`."""
    ensure_writable_cache()
    ensure_writable_matplotlib_config()
