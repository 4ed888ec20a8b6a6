"""Vectorised season totals (all weather paths at once) vs the per-path hourly simulation, same temperatures.

The peer is the engine's own reference path: ``simulate_season`` run once per weather path (a pandas frame per
season), which is what a straightforward per-path Monte Carlo would do. Both give the same heat (checked).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from models.geothermal.cascade import load_plant, season_totals, simulate_season
from models.geothermal.weather import load_weather_parameters, simulate_temperatures

N_PATHS = 256


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


if __name__ == "__main__":
    main()
