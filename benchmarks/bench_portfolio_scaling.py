"""Benchmark 3 of issue 7: wall time per path and peak resident memory of a portfolio run, 10 000 to 1 000 000 paths.

The book is ``benchmarks/data/bank_book.toml``: five geothermal projects, 20 years on a daily-then-monthly grid
(496 dates), a pledge loan, a CCER-linked project loan, a forward, two inventories and an obligation. Each size runs
in a fresh child process (``run_report``: Monte Carlo, analysis and the full report written to a temporary
directory, ledger in a temporary CARBONRISK_HOME), so the child's peak resident set (``ru_maxrss`` from ``wait4``)
is that size's own. Printed per size: the phases (prepare = fit, grid, deterministic plan, pilot set of the
regression revaluation, today's values and deltas;
blocks = Monte Carlo and merge; analysis + report), the block time per path and the peak memory; the flatness
criterion compares each size's block time per path with the largest size's (target: within 20 %).

Run: ``.venv/bin/python benchmarks/bench_portfolio_scaling.py [--sizes 10000,100000,1000000] [--workers N]``
(``--workers``: the blocks run on a local Dask cluster and the peak is the driver's alone).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

BOOK = Path(__file__).with_name("data") / "bank_book.toml"
SEED = 20241031


def child(n_paths: int, workers: int | None) -> None:
    """One run of the book; prints its timings as JSON on stdout."""
    from carbonrisk.portfolios.portfolio import load_portfolio
    from carbonrisk.portfolios.runner import run_report

    warnings.simplefilter("ignore")
    portfolio = load_portfolio(BOOK).with_run(n_paths=n_paths, seed=SEED)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        result = run_report(portfolio, Path(out) / "report", workers=workers)
        total = time.perf_counter() - start
        metrics = result.analysis.metrics
    print(
        json.dumps(
            {
                "n_paths": n_paths,
                "total_s": total,
                "prepare_s": result.run.timings_s["prepare"],
                "blocks_s": result.run.timings_s["blocks"],
                "var_99_1y_cny": metrics.get("var_99_1y_cny"),
                "es_99_1y_cny": metrics.get("es_99_1y_cny"),
                "driver_peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
            }
        )
    )


def measure(n_paths: int, workers: int | None) -> dict[str, float]:
    """Run :func:`child` in a fresh process; its JSON plus ``peak_rss_gib``."""
    with tempfile.TemporaryDirectory() as home:
        cmd = [sys.executable, __file__, "--child", str(n_paths)] + (["--workers", str(workers)] if workers else [])
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=os.environ | {"CARBONRISK_HOME": home}, text=True)
        assert proc.stdout is not None
        output = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"child run of {n_paths} paths failed with exit code {proc.returncode}")
    row: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    row["peak_rss_gib"] = usage.ru_maxrss / 2**20  # KiB on Linux; the largest of the child and its descendants
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.workers)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    where = f"local Dask cluster of {args.workers} workers" if args.workers else "one process"
    print(f"{BOOK.name}: 5 projects, 20 years; {where}, {os.cpu_count()} cores")
    print(f"{'paths':>10} {'prepare s':>10} {'blocks s':>9} {'total s':>8} {'ms/path':>8} {'peak GiB':>9}  VaR 99% 1y")
    print("  (peak GiB: the run's process; with --workers the driver alone, the largest worker in brackets)")
    rows = []
    for n in sizes:
        row = measure(n, args.workers)
        rows.append(row)
        per_path = row["blocks_s"] / n * 1e3
        print(
            f"{n:>10,} {row['prepare_s']:>10.1f} {row['blocks_s']:>9.1f} {row['total_s']:>8.1f} {per_path:>8.3f} "
            f"{row['driver_peak_gib']:>9.2f}"
            + (f" ({row['peak_rss_gib']:.2f})" if args.workers else "")
            + f"  {row['var_99_1y_cny']:,.0f}",
            flush=True,
        )
    largest = int(rows[-1]["n_paths"])
    ref = rows[-1]["blocks_s"] / largest
    for row in rows:
        ratio = row["blocks_s"] / row["n_paths"] / ref
        print(f"{int(row['n_paths']):>10,} paths: block time per path {ratio:.2f}x the {largest:,}-path figure")
    worst = max(abs(r["blocks_s"] / r["n_paths"] / ref - 1.0) for r in rows)
    peak = max(r["driver_peak_gib"] for r in rows)
    print(f"largest deviation from flat: {worst:.0%} (target <= 20 %); peak memory {peak:.2f} GiB (limit 4)")


if __name__ == "__main__":
    main()
