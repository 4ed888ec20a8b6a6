"""One heating season of every project on every path of a block, streamed path by path.

For each path the kernel draws the hourly weather shocks of all projects, mixes them across projects, turns them
into hourly temperatures and dispatches the cascade plant, keeping only the season sums. Nothing of size
``hours x paths`` is ever stored: the working set is one path's hours of every project (about 70 kB per project),
which stays in the core's cache. The numbers are bit for bit those of drawing the whole block's hourly shocks
``(P, n, hours_max)`` with :func:`carbonrisk.models.sampler.standard_normal`, mixing them with the Cholesky factor,
:func:`carbonrisk.models.geothermal.weather.temperatures_from_shocks` and
:func:`carbonrisk.models.geothermal.cascade.season_totals`:

* project ``i``'s shocks of path ``p`` are the raw words ``(i n + p) hours_max / 2`` onwards of the block-year's
  stream (two normals per word), reached with the PCG64 jump-ahead :func:`carbonrisk.models.pcg64.pcg64_advance`;
* the per-hour mix, the temperature recursion (:func:`carbonrisk.models.geothermal.weather.path_temperatures`) and the
  dispatch (:func:`carbonrisk.models.geothermal.cascade.path_totals`) are the same compiled functions, in the same
  order.

Paths are processed in chunks of :data:`CHUNK_PATHS` across threads; each chunk jumps to its own stream position,
so the result does not depend on the thread count.
"""

from __future__ import annotations

import numba
import numpy as np

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.geothermal.cascade import path_totals
from carbonrisk.models.geothermal.weather import path_temperatures
from carbonrisk.models.pcg64 import pcg64_advance, state_words
from carbonrisk.models.sampler import normals_from_pcg64, quantile_tables

__all__ = ["CHUNK_PATHS", "PLANT_FIELDS", "WEATHER_FIELDS", "season_sums"]

CHUNK_PATHS: int = 64
"""Paths per chunk (one thread's unit of work)."""

WEATHER_FIELDS = ("daily_ar", "daily_sd_c", "hourly_ar", "hourly_sd_c")
PLANT_FIELDS = (
    "indoor_temperature_c",
    "annual_demand_mwh",
    "reference_degree_hours",
    "distribution_loss",
    "hp_threshold_c",
    "hp_heat_mw",
    "stage1_capacity_mw",
)


def season_sums(
    generator: np.random.Generator,
    chol: np.ndarray,
    daily_shocks: np.ndarray,
    base_c: np.ndarray,
    hours: np.ndarray,
    weather: np.ndarray,
    plant: np.ndarray,
    capacity_factor: np.ndarray,
) -> np.ndarray:
    """Season dispatch sums of ``P`` projects on ``n`` paths, drawing the hourly shocks from ``generator``.

    Parameters
    ----------
    generator : numpy.random.Generator
        The block's ``PCG64`` generator, positioned at the hourly shocks; advanced past all ``P n hours_max``
        of them (``hours_max = base_c.shape[1]``) whichever projects are active.
    chol : numpy.ndarray
        ``(P, P)`` lower Cholesky factor of the shocks' correlation.
    daily_shocks : numpy.ndarray
        ``(P, n, days_max)`` daily shocks, already mixed.
    base_c : numpy.ndarray
        ``(P, hours_max)`` deterministic part of the temperature (C), seasonal and diurnal cycle.
    hours : numpy.ndarray
        ``(P,)`` season hours per project this year; 0 for a project that does not operate (its shocks are still
        drawn and mixed).
    weather : numpy.ndarray
        ``(P, 4)`` in the order of :data:`WEATHER_FIELDS`.
    plant : numpy.ndarray
        ``(P, 7)`` in the order of :data:`PLANT_FIELDS`.
    capacity_factor : numpy.ndarray
        ``(P, n)`` share of the rated well flow per path.

    Returns
    -------
    numpy.ndarray
        ``(P, 6, n)``: degree-hours (K h), demand, stage 1, stage 2, unmet (MWh), heat-pump hours; zeros for
        inactive projects. Feed a project's ``(6, n)`` to :func:`carbonrisk.models.geothermal.cascade.totals_from_sums`.
    """
    bit_gen = generator.bit_generator
    if not isinstance(bit_gen, np.random.PCG64):
        raise InputError(f"generator uses {type(bit_gen).__name__}; the season kernel needs numpy's PCG64")
    n_proj, n, _ = daily_shocks.shape
    hours_max = base_c.shape[1]
    if hours_max % 2 or np.any(hours > hours_max) or np.any(hours % 24):
        raise InputError(f"season hours {hours.tolist()} must be whole days within hours_max={hours_max}")
    out = np.zeros((n_proj, 6, n))
    _season_kernel(
        state_words(bit_gen),
        quantile_tables(0),
        np.ascontiguousarray(chol, dtype=float),
        np.ascontiguousarray(daily_shocks, dtype=float),
        np.ascontiguousarray(base_c, dtype=float),
        np.asarray(hours, dtype=np.int64),
        np.ascontiguousarray(weather, dtype=float),
        np.ascontiguousarray(plant, dtype=float),
        np.ascontiguousarray(capacity_factor, dtype=float),
        out,
    )
    bit_gen.advance(n_proj * n * hours_max // 2)
    return out


@numba.njit(cache=True, parallel=True)
def _season_kernel(  # pragma: no cover - compiled
    state: np.ndarray,
    table: np.ndarray,
    chol: np.ndarray,
    daily: np.ndarray,
    base: np.ndarray,
    hours: np.ndarray,
    weather: np.ndarray,
    plant: np.ndarray,
    cf: np.ndarray,
    out: np.ndarray,
) -> None:
    n_proj, n, _ = daily.shape
    hours_max = base.shape[1]
    words_per_path = hours_max // 2
    n_chunks = (n + CHUNK_PATHS - 1) // CHUNK_PATHS
    for c in numba.prange(n_chunks):
        p0 = c * CHUNK_PATHS
        p1 = min(p0 + CHUNK_PATHS, n)
        states = np.empty((n_proj, 4), dtype=np.uint64)
        for i in range(n_proj):
            states[i] = state
            pcg64_advance(states[i], (i * n + p0) * words_per_path)
        z = np.empty((n_proj, hours_max))
        temps = np.empty(hours_max)
        row = np.empty(hours_max)
        for p in range(p0, p1):
            for i in range(n_proj):
                normals_from_pcg64(states[i], table, z[i])
            if n_proj > 1:
                for i in range(n_proj - 1, -1, -1):  # z_i <- sum_{j <= i} L_ij z_j, summed over j in order
                    row[:] = 0.0
                    for j in range(i + 1):
                        c_ij = chol[i, j]
                        for t in range(hours_max):
                            row[t] += c_ij * z[j, t]
                    z[i] = row
            for i in range(n_proj):
                h = hours[i]
                if h == 0:
                    continue
                w = weather[i]
                path_temperatures(base[i, :h], daily[i, p], z[i, :h], w[0], w[1], w[2], w[3], temps[:h])
                q = plant[i]
                path_totals(temps[:h], cf[i, p], q[0], q[1], q[2], q[3], q[4], q[5], q[6], out[i], p)
