"""The streamed season kernel gives bit for bit the numbers of the whole-block array pipeline it replaces."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pytest

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.geothermal.cascade import load_plant, season_totals, totals_from_sums
from carbonrisk.models.geothermal.risk import _mix_in_place
from carbonrisk.models.geothermal.season_paths import CHUNK_PATHS, PLANT_FIELDS, WEATHER_FIELDS, season_sums
from carbonrisk.models.geothermal.weather import (
    HeatingSeason,
    load_weather_parameters,
    temperature_cycle_c,
    temperatures_from_shocks,
)
from carbonrisk.models.sampler import standard_normal

N_PATHS = 2 * CHUNK_PATHS + 13  # a partial last chunk
DAYS = (101, 0, 124)  # project 1 does not operate this year (its shocks are still drawn and mixed)
CHOL = np.linalg.cholesky(np.array([[1.0, 0.6, 0.3], [0.6, 1.0, 0.5], [0.3, 0.5, 1.0]]))
REFERENCE_DH = 55_000.0


def _season(days: int) -> HeatingSeason:
    return HeatingSeason(load_plant().season.shifted_to(2030).start, days)


def _inputs() -> tuple[np.ndarray, ...]:
    plant, weather = load_plant(), load_weather_parameters()
    base = np.zeros((3, 24 * max(DAYS)))
    for i, d in enumerate(DAYS):
        if d:
            base[i, : 24 * d] = temperature_cycle_c(_season(d), weather)
    hours = np.array([24 * d for d in DAYS], dtype=np.int64)
    w = np.tile([getattr(weather, f) for f in WEATHER_FIELDS], (3, 1))
    p = np.tile([REFERENCE_DH if f == "reference_degree_hours" else getattr(plant, f) for f in PLANT_FIELDS], (3, 1))
    cf = np.random.default_rng(1).uniform(0.6, 1.0, (3, N_PATHS))
    return base, hours, w, p, cf


def _array_pipeline(gen: np.random.Generator, daily: np.ndarray, base: np.ndarray, cf: np.ndarray) -> list[Any]:
    """The pre-kernel code path: all hourly shocks of the block, mixed, then temperatures and totals per project."""
    plant, weather = load_plant(), load_weather_parameters()
    z = standard_normal(gen, (3, N_PATHS, base.shape[1]))
    _mix_in_place(CHOL, z)
    out = []
    for i, d in enumerate(DAYS):
        if not d:
            out.append(None)
            continue
        temps = temperatures_from_shocks(_season(d), weather, daily[i, :, :d], z[i, :, : 24 * d])
        out.append(season_totals(plant, temps.T, reference_degree_hours=REFERENCE_DH, capacity_factor=cf[i]))
    return out


def test_kernel_matches_the_array_pipeline_bit_for_bit() -> None:
    base, hours, weather, plant_values, cf = _inputs()
    daily = np.random.default_rng(2).standard_normal((3, N_PATHS, max(DAYS)))
    fused_gen, array_gen = np.random.default_rng(9), np.random.default_rng(9)
    sums = season_sums(fused_gen, CHOL, daily, base, hours, weather, plant_values, cf)
    expected = _array_pipeline(array_gen, daily, base, cf)
    assert fused_gen.bit_generator.state == array_gen.bit_generator.state  # same stream consumed
    plant = load_plant()
    for i, exp in enumerate(expected):
        if exp is None:
            assert not sums[i].any()
            continue
        got = totals_from_sums(plant, 24 * DAYS[i], cf[i], sums[i])
        for field in ("heat_mwh", "electricity_mwh", "degree_hours", "unmet_mwh", "hp_hours", "demand_mwh"):
            np.testing.assert_array_equal(getattr(got, field), getattr(exp, field), err_msg=field)


def test_thread_count_does_not_change_a_number() -> None:
    base, hours, weather, plant_values, cf = _inputs()
    daily = np.random.default_rng(2).standard_normal((3, N_PATHS, max(DAYS)))
    runs = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        try:
            runs.append(season_sums(np.random.default_rng(4), CHOL, daily, base, hours, weather, plant_values, cf))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    np.testing.assert_array_equal(runs[0], runs[1])


def test_bad_inputs() -> None:
    base, hours, weather, plant_values, cf = _inputs()
    daily = np.zeros((3, N_PATHS, max(DAYS)))
    with pytest.raises(InputError, match="needs numpy's PCG64"):
        season_sums(np.random.Generator(np.random.MT19937(1)), CHOL, daily, base, hours, weather, plant_values, cf)
    longer = hours + np.array([0, 0, 24])
    with pytest.raises(InputError, match=r"season hours \[2424, 0, 3000\] must be whole days"):
        season_sums(np.random.default_rng(1), CHOL, daily, base, longer, weather, plant_values, cf)
