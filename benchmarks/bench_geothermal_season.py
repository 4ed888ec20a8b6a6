"""Season totals of the cascade plant: the compiled kernels against the straightforward ways, same numbers.

1. Vectorised season totals (all weather paths at once) vs the per-path hourly simulation, same temperatures. The
   peer is the engine's own reference path: ``simulate_season`` run once per weather path (a pandas frame per
   season), which is what a straightforward per-path Monte Carlo would do. Both give the same heat (checked).
2. One block-year of a three-project portfolio (4096 paths, 124-day seasons, correlated weather): the streamed
   kernel :func:`carbonrisk.models.geothermal.season_paths.season_sums` (path by path, in cache) vs the array pipeline
   it replaced (all ``3 x 4096 x 2976`` hourly shocks drawn, mixed, turned into temperatures and dispatched, about
   0.6 GB of arrays). Both consume the same random words and give bit-identical sums (checked); timed on one thread.

Run: ``NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/bench_geothermal_season.py``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from carbonrisk.models.geothermal.cascade import load_plant, season_totals, simulate_season, totals_from_sums
from carbonrisk.models.geothermal.risk import _mix_in_place
from carbonrisk.models.geothermal.season_paths import PLANT_FIELDS, WEATHER_FIELDS, season_sums
from carbonrisk.models.geothermal.weather import (
    load_weather_parameters,
    simulate_temperatures,
    temperature_cycle_c,
    temperatures_from_shocks,
)
from carbonrisk.models.sampler import standard_normal

N_PATHS = 256
BLOCK_PATHS = 4096
N_PROJECTS = 3
CORRELATION = np.array([[1.0, 0.6, 0.4], [0.6, 1.0, 0.5], [0.4, 0.5, 1.0]])


def main() -> None:
    plant = load_plant()
    temps = simulate_temperatures(plant.season, load_weather_parameters(), N_PATHS, np.random.default_rng(1))
    index = plant.season.index()
    season_totals(plant, temps[:, :2])  # compile the numba kernel outside the timing
    t0 = time.perf_counter()
    loop = [simulate_season(plant, pd.Series(temps[:, j], index=index)).summary["heat_mwh"] for j in range(N_PATHS)]
    t_loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    vec = season_totals(plant, temps).heat_mwh
    t_vec = time.perf_counter() - t0
    np.testing.assert_allclose(vec, loop, rtol=1e-10)
    print(
        f"season totals, {N_PATHS} paths x {temps.shape[0]} h: per-path {t_loop:.3f} s, vectorised {t_vec:.3f} s, "
        f"speed-up x{t_loop / t_vec:.1f}"
    )

    block_year()


def block_year() -> None:
    """Benchmark 2 of the module docstring."""
    plant, weather = load_plant(), load_weather_parameters()
    season = plant.season
    chol = np.linalg.cholesky(CORRELATION)
    days, hours = season.days, season.hours
    daily = np.random.default_rng(2).standard_normal((N_PROJECTS, BLOCK_PATHS, days))
    cf = np.ones((N_PROJECTS, BLOCK_PATHS))
    reference_dh = 60_000.0
    base = np.tile(temperature_cycle_c(season, weather), (N_PROJECTS, 1))
    w = np.tile([getattr(weather, f) for f in WEATHER_FIELDS], (N_PROJECTS, 1))
    values = [reference_dh if f == "reference_degree_hours" else getattr(plant, f) for f in PLANT_FIELDS]
    p = np.tile(values, (N_PROJECTS, 1))
    h = np.full(N_PROJECTS, hours)

    def streamed(seed: int) -> list[np.ndarray]:
        sums = season_sums(np.random.default_rng(seed), chol, daily, base, h, w, p, cf)
        return [totals_from_sums(plant, hours, cf[i], sums[i]).heat_mwh for i in range(N_PROJECTS)]

    def arrays(seed: int) -> list[np.ndarray]:
        z = standard_normal(np.random.default_rng(seed), (N_PROJECTS, BLOCK_PATHS, hours))
        _mix_in_place(chol, z)
        out = []
        for i in range(N_PROJECTS):
            temps = temperatures_from_shocks(season, weather, daily[i], z[i])
            out.append(
                season_totals(plant, temps.T, reference_degree_hours=reference_dh, capacity_factor=cf[i]).heat_mwh
            )
        return out

    streamed(0), arrays(0)  # compile outside the timing
    times = {"streamed": [], "arrays": []}
    for r in range(3):
        for name, fn in (("streamed", streamed), ("arrays", arrays)):
            t0 = time.perf_counter()
            result = fn(r + 1)
            times[name].append(time.perf_counter() - t0)
            if name == "streamed":
                first = result
            else:
                assert all(np.array_equal(a, b) for a, b in zip(first, result, strict=True)), "streamed != arrays"
    t_s, t_a = min(times["streamed"]), min(times["arrays"])
    print(
        f"one block-year, {N_PROJECTS} projects x {BLOCK_PATHS} paths x {hours} h: array pipeline {t_a:.3f} s, "
        f"streamed kernel {t_s:.3f} s, speed-up x{t_a / t_s:.2f} (best of 3, bit-identical heat)"
    )


if __name__ == "__main__":
    main()
