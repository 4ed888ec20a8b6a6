"""Memory estimates checked before a run allocates: refuse in one line instead of being killed by the kernel.

A command estimates the memory its run will allocate (bytes per path x paths + a fixed part, from what the code
actually keeps; see each estimator) and calls :func:`check_memory` before the Monte Carlo starts. The estimate is
compared with the memory the machine can give: ``MemAvailable`` of ``/proc/meminfo`` (else ``psutil``, else
``os.sysconf``), lowered to what a cgroup (container) memory limit leaves. ``CARBONRISK_MEMORY_LIMIT`` (bytes, or
with a ``K``/``M``/``G`` suffix) overrides the detected value, e.g. to keep a run within a share of a shared
machine.

Estimates are deliberately conservative (they count every array a run may hold at once) but not absurd: the
documented runs (1 000 000-path summaries of ``simulate``, the demo portfolio at 200 000 paths, the 1 000 000-path
bank book with its measured 3.6 GiB peak) pass on a 24 GiB machine.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from carbonrisk.models.exceptions import InputError

__all__ = [
    "BYTES_PER_VALUE",
    "MemoryEstimate",
    "available_memory_bytes",
    "check_memory",
    "format_bytes",
]

BYTES_PER_VALUE: int = 8
"""float64."""
GIB: float = float(1 << 30)
_SUFFIX = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def format_bytes(n: float) -> str:
    """``n`` bytes as ``1.23 GiB`` (``MiB`` below 1 GiB)."""
    if n >= GIB:
        return f"{n / GIB:,.2f} GiB"
    return f"{n / (1 << 20):,.0f} MiB"


def _meminfo_available() -> int | None:
    try:
        text = Path("/proc/meminfo").read_text(encoding="ascii")
    except OSError:
        return None
    match = re.search(r"^MemAvailable:\s+(\d+)\s*kB", text, flags=re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None


def _cgroup_headroom() -> int | None:
    """Bytes a cgroup v2 / v1 memory limit still leaves to this process's group (``None``: no limit found)."""
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        try:
            limit_text = Path(limit_file).read_text(encoding="ascii").strip()
            usage = int(Path(usage_file).read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            continue
        if limit_text == "max" or not limit_text.isdigit() or int(limit_text) >= 1 << 60:
            return None
        return max(int(limit_text) - usage, 0)
    return None


def _override() -> int | None:
    text = os.environ.get("CARBONRISK_MEMORY_LIMIT", "").strip()
    if not text:
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?", text, flags=re.IGNORECASE)
    if match is None:
        raise InputError(f"CARBONRISK_MEMORY_LIMIT = {text!r} is not a byte count (such as 8G, 512M or 1000000)")
    return int(float(match.group(1)) * _SUFFIX[match.group(2).upper()])


def available_memory_bytes() -> int:
    """Memory this process may still allocate, bytes (see the module docstring)."""
    override = _override()
    if override is not None:
        return override
    available = _meminfo_available()
    if available is None:
        try:
            import psutil

            available = int(psutil.virtual_memory().available)
        except Exception:
            try:
                available = int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
            except (ValueError, OSError, AttributeError):
                return 1 << 62  # cannot tell: do not refuse
    headroom = _cgroup_headroom()
    return available if headroom is None else min(available, headroom)


class MemoryEstimate:
    """Bytes a run needs: ``per_path`` x ``n_paths`` + ``fixed``, with a note on what dominates.

    Parameters
    ----------
    what : str
        The run, as named in the message (``simulate --paths 1000000000000``).
    n_paths : int
        Paths of the run.
    per_path_bytes : float
        Bytes held per path at the run's peak.
    fixed_bytes : float
        Bytes that do not grow with the path count (per-block working arrays, histograms, worker processes).
    detail : str
        What the per-path bytes are (``24 500 float64 per path: the full path set``).
    """

    def __init__(self, what: str, n_paths: int, per_path_bytes: float, fixed_bytes: float, detail: str) -> None:
        self.what = what
        self.n_paths = int(n_paths)
        self.per_path_bytes = float(per_path_bytes)
        self.fixed_bytes = float(fixed_bytes)
        self.detail = detail

    @property
    def total_bytes(self) -> float:
        """Estimated bytes of the run."""
        return self.per_path_bytes * self.n_paths + self.fixed_bytes

    def __repr__(self) -> str:
        return f"MemoryEstimate({self.what!r}, {format_bytes(self.total_bytes)}: {self.detail})"


def check_memory(estimate: MemoryEstimate) -> MemoryEstimate:
    """Refuse a run whose estimate exceeds the available memory (one-line :class:`InputError`).

    Returns
    -------
    MemoryEstimate
        ``estimate`` when the run fits.
    """
    available = available_memory_bytes()
    if estimate.total_bytes > available:
        fitting = int(max(available - estimate.fixed_bytes, 0) // max(estimate.per_path_bytes, 1.0))
        raise InputError(
            f"{estimate.what} needs about {format_bytes(estimate.total_bytes)} of memory "
            f"({estimate.detail}); this machine has {format_bytes(available)} available; "
            f"use at most about {fitting:,} paths"
        )
    return estimate


WORKER_PROCESS_BYTES: float = 512.0 * (1 << 20)
"""Resident memory of one extra Dask worker process (Python, numpy, numba, arch imported), bytes."""
SLACK_BYTES: float = 256.0 * (1 << 20)
"""Temporaries a run allocates besides its arrays (random words of a step chunk, pandas and pyarrow buffers)."""


def estimate_price_paths(
    what: str,
    n_paths: int,
    n_dates: int,
    n_factors: int,
    *,
    full: bool,
    threads: int = 2,
    workers: int | None = None,
) -> MemoryEstimate:
    """Memory of ``simulate`` (and the CEA-holding demo): a full path set, or streaming summaries.

    Full path set (``--out``): ``n_dates x n_factors`` float64 per path, plus the long Parquet frame built from
    it (:meth:`carbonrisk.models.paths.PathSet.to_frame`: date and path columns, 8 bytes each, and one column per
    factor) and pyarrow's copy of that frame: ``8 f + 2 (16 + 8 f)`` bytes per path and date.

    Summaries: per path only the terminal value of each factor and its block's share of the per-date sums
    (``n_dates x 8 / 4096``); fixed: per thread one block of values (``n_dates x 4096``) and the int32 histogram
    counters of each factor (:func:`carbonrisk.models.simulation.summary_bin_width`), plus their int64 sum.
    """
    from carbonrisk.models.random import BLOCK_PATHS
    from carbonrisk.models.simulation import HIST_HI, HIST_LO, summary_bin_width

    lanes = max(int(threads), 1) + (int(workers) if workers else 0)
    block = float(n_dates * BLOCK_PATHS * BYTES_PER_VALUE * n_factors)
    extra_processes = WORKER_PROCESS_BYTES * (int(workers) if workers else 0)
    if full:
        per_date = BYTES_PER_VALUE * n_factors + 2 * (16 + BYTES_PER_VALUE * n_factors)
        return MemoryEstimate(
            what,
            n_paths,
            per_date * n_dates,
            lanes * block + extra_processes + SLACK_BYTES,
            f"{n_dates:,} dates x {n_factors} factor(s) per path, held in full for the Parquet file",
        )
    n_bins = int(-(-(HIST_HI - HIST_LO) // summary_bin_width(n_dates)))
    counters = float(n_dates * n_bins * n_factors)
    fixed = lanes * (block + 4 * counters) + 8 * counters + extra_processes + SLACK_BYTES
    per_path = BYTES_PER_VALUE * n_factors * (1 + n_dates / BLOCK_PATHS)
    return MemoryEstimate(
        what, n_paths, per_path, fixed, f"terminal values and streaming summaries of {n_factors} factor(s)"
    )


def estimate_project_paths(what: str, years_and_vintages: list[tuple[int, int]], n_paths: int) -> MemoryEstimate:
    """Memory of ``reductions risk``: the per-path arrays of :func:`carbonrisk.models.geothermal.simulate_project`.

    Per project with ``ny`` calendar years (construction to the last issuance) and ``nv`` vintages: six
    ``(ny, n_paths)`` arrays (heat, electricity, reductions, credits, capex, opex), credits by vintage
    ``(ny, nv, n_paths)`` and three per-path scalars, plus one ``(ny, n_paths)`` copy per project (the percentiles
    of the command sort a copy of one array at a time).
    """
    values = sum(ny * (7 + nv) + 3 for ny, nv in years_and_vintages)
    return MemoryEstimate(what, n_paths, BYTES_PER_VALUE * values, SLACK_BYTES, f"{values:,} values per path")
