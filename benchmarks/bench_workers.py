"""Benchmark 4 of issue 7: the demo portfolio at 200 000 paths on a local Dask cluster of one worker and of two.

Both runs are the same ``run_portfolio`` call with ``workers=1`` and ``workers=2`` (single-threaded worker
processes, see :data:`carbonrisk.portfolios.executor.SINGLE_THREAD_ENV`), timed in one script: printed are the phases
(prepare runs on the driver and is the same in both; blocks = the Monte Carlo on the workers and the merge), the
speed-ups of the block phase and of the whole run (target >= 1.6x), and a check that every per-path array of the
two runs is bit-identical.

Run: ``.venv/bin/python benchmarks/bench_workers.py [--paths 200000]``.
"""

from __future__ import annotations

import argparse
import os
import warnings

import numpy as np

from carbonrisk.portfolios.engine import PortfolioRun, run_portfolio
from carbonrisk.portfolios.portfolio import load_portfolio


def run(n_paths: int, workers: int) -> PortfolioRun:
    """One run of the demo portfolio on ``workers`` local worker processes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_portfolio(load_portfolio(None).with_run(n_paths=n_paths), workers=workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=200_000)
    args = parser.parse_args()
    print(f"demo portfolio, {args.paths:,} paths, {os.cpu_count()} cores")
    runs = {}
    for workers in (1, 2):
        r = run(args.paths, workers)
        runs[workers] = r
        print(
            f"  {workers} worker(s): prepare {r.timings_s['prepare']:6.1f} s  blocks {r.timings_s['blocks']:7.1f} s  "
            f"total {r.elapsed_s:7.1f} s",
            flush=True,
        )
    one, two = runs[1], runs[2]
    identical = all(np.array_equal(one.arrays[k], two.arrays[k], equal_nan=True) for k in one.arrays)
    print(
        f"speed-up of 2 workers over 1: blocks {one.timings_s['blocks'] / two.timings_s['blocks']:.2f}x, "
        f"whole run {one.elapsed_s / two.elapsed_s:.2f}x (target >= 1.6x); per-path arrays identical: {identical}"
    )


if __name__ == "__main__":
    main()
