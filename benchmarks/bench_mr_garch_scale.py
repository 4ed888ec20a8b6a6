"""Scale: 1 000 000 paths x 240 monthly steps (20 years) of the mean-reversion-GARCH model, summaries only.

Fits OU-GARCH(1,1)-t on the embedded CEA history, streams the simulation (daily SSE sub-steps, 20-year monthly
grid, mid scenario) through :meth:`simulate_summary` and prints the wall time, the path-step rate and the peak
resident memory of the process (target: within 3 GiB). ``--paths`` runs a smaller case.
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings

from carbonrisk.models.data import load_prices
from carbonrisk.models.grid import SimulationGrid
from carbonrisk.models.meanrev import OUGarch
from carbonrisk.models.scenarios import load_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--paths", type=int, default=1_000_000)
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = OUGarch().fit(load_prices("cea"))
    grid = SimulationGrid.build(result.last_date, "20y", "M")
    result.simulate_summary(grid, 4096, rng=0)  # compile or load the numba cache
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    start = time.perf_counter()
    summary = result.simulate_summary(grid, args.paths, rng=2026, scenario=load_scenario("mid"))
    elapsed = time.perf_counter() - start
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    steps = args.paths * grid.n_days
    print(f"{result.name} on CEA: {args.paths:,} paths x {grid.n_steps} monthly dates ({grid.n_days} daily sub-steps)")
    print(f"  wall time {elapsed:.1f} s, {steps / elapsed / 1e6:.1f} M path-steps/s")
    print(f"  peak resident memory {peak_gib:.2f} GiB (before the run {rss_before:.2f} GiB; target <= 3 GiB)")
    print(f"  non-finite or non-positive values: {summary.n_nonfinite}")
    end = summary.quantiles["CEA"].iloc[-1]
    print("  CEA on " + str(summary.dates[-1].date()) + ": " + ", ".join(f"{k} {v:.1f}" for k, v in end.items()))


if __name__ == "__main__":
    main()
