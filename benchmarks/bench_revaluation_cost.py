"""Cost of the issue-14 revaluation work, before and after in one run, and the memory of a 1 000 000-path run.

Time: the demo portfolio's Monte Carlo (``prepare`` + blocks of :func:`carbonrisk.portfolios.engine.run_portfolio`) and
the bank book's (``benchmarks/data/bank_book.toml``) time per path, on the current code and on the commit before the
issue-14 revaluation work (:data:`BASELINE`, the parent of the full-revaluation commit ``cc57bc2``). The old code
runs from a temporary ``git worktree`` of that commit (``PYTHONPATH`` pointing at it), in the same script run,
each measurement in a fresh child process, single-threaded (:data:`SINGLE_THREAD_ENV`), after a warm-up run in
the same child (numba compilation and caches excluded), old and new alternating, ``--repeats`` times; the
minimum of each is kept (the machine is shared: the minimum is the least-disturbed run). Reported: CPU time (user +
system of the child during the run) and wall time, and the ratios new / old. Targets (issue 14): demo Monte Carlo
time +30 % at most, bank book time per path +25 % at most.

"The demo" is each commit's own embedded demo portfolio (the figure a user sees: the current one runs GARCH(1,1) with
filtered historical simulation and the anchor drift, the old one OU-GARCH-t); the old demo file is also run on
both codes (same inputs, the engine alone).

Memory: one run of ``--memory-paths`` paths (default 1 000 000) of the bank book (``run_report``: Monte Carlo
streamed in blocks, analysis and the full report into a temporary folder, ledger in a temporary CARBONRISK_HOME) in
a child process; its peak resident set (``ru_maxrss`` from ``wait4``) against the limit (4 GiB) and against the
estimate of :func:`carbonrisk.portfolios.budget.estimate_portfolio` (the figure ``carbonrisk report`` refuses with).

Run: ``.venv/bin/python benchmarks/bench_revaluation_cost.py [--repeats 2] [--demo-paths 4000]
[--book-paths 8192] [--memory-paths 1000000] [--skip-time] [--skip-memory] [--memory-book FILE]``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BOOK = Path(__file__).resolve().with_name("data") / "bank_book.toml"
BASELINE = "715a374"
"""The commit before the issue-14 revaluation work (parent of cc57bc2, 'Full revaluation at each horizon')."""
SEED = 20241031
WARMUP_PATHS = 200
GIB = 2**30
MEMORY_LIMIT_GIB = 4.0
SINGLE_THREAD_ENV = {
    "CARBONRISK_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _portfolios(module: str) -> Any:
    """``carbonrisk.portfolios.MODULE`` of the tree under test (the child's ``PYTHONPATH``); trees from before the
    one import name (issue 17) have it as ``portfolios.MODULE``."""
    tree = Path(os.environ.get("PYTHONPATH", str(ROOT)).split(os.pathsep)[0])
    prefix = "carbonrisk.portfolios" if (tree / "carbonrisk" / "__init__.py").is_file() else "portfolios"
    return importlib.import_module(f"{prefix}.{module}")


def child_time(book: str, n_paths: int) -> None:
    """One timed Monte Carlo run after a warm-up (``book``: ``demo`` or a file); JSON on stdout."""
    run_portfolio = _portfolios("engine").run_portfolio
    load_portfolio = _portfolios("portfolio").load_portfolio

    warnings.simplefilter("ignore")
    base = load_portfolio(None if book == "demo" else book)
    run_portfolio(base.with_run(n_paths=WARMUP_PATHS, seed=SEED))
    portfolio = base.with_run(n_paths=n_paths, seed=SEED)
    cpu0, wall0 = _cpu_s(), time.perf_counter()
    run = run_portfolio(portfolio)
    cpu, wall = _cpu_s() - cpu0, time.perf_counter() - wall0
    print(json.dumps({"cpu_s": cpu, "wall_s": wall, "n_paths": n_paths} | dict(run.timings_s)))


def child_memory(book: str, n_paths: int) -> None:
    """One full report run of ``book`` (MC, analysis, report files); JSON on stdout."""
    load_portfolio = _portfolios("portfolio").load_portfolio
    run_report = _portfolios("runner").run_report

    warnings.simplefilter("ignore")
    portfolio = load_portfolio(book).with_run(n_paths=n_paths, seed=SEED)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        result = run_report(portfolio, Path(out) / "report")
        print(
            json.dumps(
                {
                    "n_paths": n_paths,
                    "total_s": time.perf_counter() - start,
                    "blocks_s": result.run.timings_s["blocks"],
                    "var_99_1y_cny": result.analysis.metrics.get("var_99_1y_cny"),
                }
            )
        )


def _spawn(pythonpath: Path, argv: list[str], env: dict[str, str] | None = None) -> tuple[dict[str, float], float]:
    """Run this script as a child with ``pythonpath``; its JSON and its peak resident set, GiB."""
    environ = os.environ | SINGLE_THREAD_ENV | {"PYTHONPATH": str(pythonpath)} | (env or {})
    # the script's own folder (benchmarks/) holds no package: the child imports the code under test from PYTHONPATH
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), *argv],
        stdout=subprocess.PIPE,
        env=environ,
        cwd=str(pythonpath),
        text=True,
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"child {argv} with PYTHONPATH={pythonpath} failed")
    return json.loads(output.strip().splitlines()[-1]), usage.ru_maxrss * 1024 / GIB


def _old_tree(tmp: Path, commit: str) -> Path:
    tree = tmp / f"carbonrisk-{commit}"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), commit],
        check=True,
        capture_output=True,
    )
    return tree


def _time_all(old: Path, repeats: int, demo_paths: int, book_paths: int, old_demo: Path) -> None:
    cases = [
        ("demo (each commit's own)", "demo", demo_paths, "cpu"),
        ("old demo file on both", str(old_demo), demo_paths, "cpu"),
        ("bank book, per path", str(BOOK), book_paths, "cpu"),
    ]
    print(f"time: {repeats} repeat(s), minimum kept; single-threaded children; {os.cpu_count()} cores (shared)")
    print(f"{'case':<28} {'paths':>6} {'old CPU s':>10} {'new CPU s':>10} {'ratio':>6} {'old wall':>9} {'new wall':>9}")
    for label, book, n, _ in cases:
        best: dict[str, dict[str, float]] = {}
        for _ in range(repeats):
            for name, tree in (("old", old), ("new", ROOT)):
                row, _rss = _spawn(tree, ["--child-time", book, str(n)])
                if name not in best or row["cpu_s"] < best[name]["cpu_s"]:
                    best[name] = row
        o, w = best["old"], best["new"]
        scale = 1e3 / n if "per path" in label else 1.0
        unit = " ms/path" if "per path" in label else ""
        print(
            f"{label:<28} {n:>6} {o['cpu_s'] * scale:>10.3f} {w['cpu_s'] * scale:>10.3f} "
            f"{w['cpu_s'] / o['cpu_s']:>6.2f} {o['wall_s'] * scale:>9.3f} {w['wall_s'] * scale:>9.3f}{unit}",
            flush=True,
        )
    print("targets: demo ratio <= 1.30, bank book ratio <= 1.25 (CPU time; wall time for reference)")


def _memory(book: Path, n_paths: int) -> None:
    from carbonrisk.portfolios.budget import estimate_portfolio
    from carbonrisk.portfolios.portfolio import load_portfolio, market_history

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        portfolio = load_portfolio(book).with_run(n_paths=n_paths)
        _, vd = market_history(portfolio)
    estimate = estimate_portfolio(portfolio, f"{book.name} with {n_paths:,} paths", valuation_date=vd)
    with tempfile.TemporaryDirectory() as home:
        row, peak = _spawn(ROOT, ["--child-memory", str(book), str(n_paths)], env={"CARBONRISK_HOME": home})
    print(
        f"memory: {book.name}, {n_paths:,} paths in one process: peak resident {peak:.2f} GiB "
        f"(limit {MEMORY_LIMIT_GIB:g}: {'met' if peak < MEMORY_LIMIT_GIB else 'MISSED'}); estimate "
        f"{estimate.total_bytes / GIB:.2f} GiB ({estimate.total_bytes / GIB / peak:.2f}x the measurement); "
        f"Monte Carlo {row['blocks_s']:.0f} s ({row['blocks_s'] / n_paths * 1e3:.2f} ms/path), whole run "
        f"{row['total_s']:.0f} s; VaR 99 % 1 y {row['var_99_1y_cny']:,.0f} CNY",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--demo-paths", type=int, default=4000)
    parser.add_argument("--book-paths", type=int, default=8192)
    parser.add_argument("--memory-paths", type=int, default=1_000_000)
    parser.add_argument("--memory-book", type=Path, default=BOOK)
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--skip-time", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--child-time", nargs=2, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-memory", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_time is not None:
        child_time(args.child_time[0], int(args.child_time[1]))
        return
    if args.child_memory is not None:
        child_memory(args.child_memory[0], int(args.child_memory[1]))
        return
    if not args.skip_time:
        with tempfile.TemporaryDirectory(prefix="carbonrisk-bench-") as tmp:
            old = _old_tree(Path(tmp), args.baseline)
            try:
                old_demo = Path(tmp) / "old_demo_portfolio.toml"
                old_demo.write_text((old / "portfolios" / "data" / "demo_portfolio.toml").read_text())
                _time_all(old, args.repeats, args.demo_paths, args.book_paths, old_demo)
            finally:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)
    if not args.skip_memory:
        _memory(args.memory_book, args.memory_paths)


if __name__ == "__main__":
    main()
