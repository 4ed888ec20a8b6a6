"""Geometric Brownian motion path sources: one factor, and correlated CEA / CCER.

Each factor follows, under the measure whose forward curve is supplied,

.. math::  S_t = F(t) \\exp\\left(\\sigma W_t - \\tfrac12 \\sigma^2 t\\right),
           \\qquad d\\langle W^{CEA}, W^{CCER} \\rangle_t = \\rho\\, dt,

so :math:`E[S_t] = F(t)`. Without a forward curve :math:`F(t) = S_0 e^{\\mu t}` (constant drift ``mu``). The
increments are exact (no discretisation bias) on any date grid; time is Actual/365 Fixed from the first date.

Paths are generated in the fixed blocks of :mod:`carbonrisk.models.random` by the numba kernel
:func:`carbonrisk.models.sampler.gbm_blocks`: per step, block ``b`` takes ``n_factors x block_size`` 32-bit uniforms
from the raw 64-bit words of its own generator (factor-major; the generator is numpy's ``PCG64`` of the block's
``SeedSequence`` child, reproduced bit for bit in numba by :mod:`carbonrisk.models.pcg64`, so no numpy generator object
is built per block) and maps them to standard normals with the exact inverse-CDF octave table of
:mod:`carbonrisk.models.sampler`; the log price is accumulated in the kernel and exponentiated by numpy in one
vectorised pass. Runs of 2^20 path-steps or more share their blocks among threads (``CARBONRISK_THREADS``, default the
CPU count); each block's numbers depend only on the seed and the block index, so they are the same whatever the
chunking or the thread count.

(Until issue 7 the increments were numpy ``standard_normal`` draws combined by ``einsum`` and ``cumsum``, about
23 ns per path-step; the same seed now gives different, equally distributed numbers, about 2 ns per path-step on
one thread.)
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from carbonrisk.models.calendar import as_datetime_index, year_fractions
from carbonrisk.models.exceptions import InputError
from carbonrisk.models.paths import PathSet
from carbonrisk.models.pcg64 import block_states
from carbonrisk.models.random import BLOCK_PATHS, RngLike, root_seed_sequence, seed_entropy
from carbonrisk.models.sampler import gbm_blocks, quantile_tables
from carbonrisk.models.simulation import check_paths, simulation_threads
from carbonrisk.models.validation import check_number

__all__ = ["GBM", "CorrelatedGBM", "GBMRun"]


def _check_positive(field_name: str, value: float) -> float:
    return float(check_number(field_name, value, low=0.0, low_inclusive=False))


def _check_dates(dates: Sequence[pd.Timestamp] | pd.DatetimeIndex) -> pd.DatetimeIndex:
    idx = as_datetime_index(dates)
    if len(idx) < 2:
        raise InputError(f"dates has {len(idx)} entries; a path set needs the valuation date and at least one more")
    if not idx.is_monotonic_increasing or not idx.is_unique:
        raise InputError("dates must be strictly increasing (first date = valuation date)")
    return idx


_THREAD_MIN_WORK = 1 << 20
"""Path-steps from which the blocks are shared among threads (below it thread start-up costs more than it saves)."""


@dataclass(frozen=True)
class GBMRun:
    """One GBM simulation set up on a date grid: what :func:`carbonrisk.models.sampler.gbm_blocks` needs (picklable).

    :meth:`simulate` gives the whole path set; :meth:`simulate_blocks` the columns of blocks ``first:last`` only
    (a worker's share of a distributed run), the same numbers column for column.
    """

    names: tuple[str, ...]
    dates: pd.DatetimeIndex
    forwards: np.ndarray
    """``(k, n_dates)`` forward prices, CNY/t."""
    vols: np.ndarray
    correlation: np.ndarray
    meta: Mapping[str, object]

    def _kernel_inputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        dt = np.diff(year_fractions(self.dates[0], self.dates))
        chol = np.ascontiguousarray(np.linalg.cholesky(self.correlation))
        drift = np.ascontiguousarray(-0.5 * (self.vols**2)[:, None] * dt[None, :])  # (k, n_steps)
        scale = np.ascontiguousarray(self.vols[:, None] * np.sqrt(dt)[None, :])
        return quantile_tables(0).ravel(), chol, drift, scale, np.log(self.forwards)

    def _fill(self, out: np.ndarray, seeds: np.ndarray, inputs: tuple[np.ndarray, ...]) -> None:
        """Blocks of ``seeds`` into ``out`` (their columns from 0), then ``exp`` in place."""
        tab, chol, drift, scale, log_fwd = inputs
        out[:, 0, :] = self.forwards[:, :1]
        gbm_blocks(seeds, 0, tab, chol, drift, scale, log_fwd, out)
        np.exp(out[:, 1:], out=out[:, 1:])

    def simulate_blocks(self, n_paths: int, rng: RngLike, first_block: int, last_block: int) -> np.ndarray:
        """Prices ``(k, n_dates, paths)`` of blocks ``first_block:last_block`` of a run of ``n_paths`` paths."""
        n_paths = check_paths(n_paths)
        start, stop = first_block * BLOCK_PATHS, min(last_block * BLOCK_PATHS, n_paths)
        out = np.empty((len(self.names), len(self.dates), stop - start))
        self._fill(out, block_states(root_seed_sequence(rng), first_block, last_block), self._kernel_inputs())
        return out

    def path_set(self, prices: np.ndarray, rng: RngLike) -> PathSet:
        """The :class:`PathSet` of prices ``(k, n_dates, n_paths)`` simulated with seed ``rng``."""
        factors = {n: prices[i] for i, n in enumerate(self.names)}
        entropy = seed_entropy(root_seed_sequence(rng))
        return PathSet(dates=self.dates, factors=factors, seed_entropy=entropy, meta=dict(self.meta))

    def simulate(self, n_paths: int, rng: RngLike) -> PathSet:
        """All ``n_paths`` paths; large runs share their blocks among threads (same numbers)."""
        n_paths = check_paths(n_paths)
        inputs = self._kernel_inputs()
        out = np.empty((len(self.names), len(self.dates), n_paths))
        root = root_seed_sequence(rng)
        n_blocks = -(-n_paths // BLOCK_PATHS)
        seeds = block_states(root, 0, n_blocks)
        work = n_paths * (len(self.dates) - 1)
        threads = min(simulation_threads(), n_blocks) if work >= _THREAD_MIN_WORK else 1

        def task(bounds: tuple[int, int]) -> None:
            cols = out[:, :, bounds[0] * BLOCK_PATHS : min(bounds[1] * BLOCK_PATHS, n_paths)]
            self._fill(cols, seeds[bounds[0] : bounds[1]], inputs)

        if threads == 1:
            task((0, n_blocks))
        else:
            # contiguous block ranges, one per thread (each block's numbers depend on its seed only)
            edges = np.linspace(0, n_blocks, threads + 1).round().astype(int)
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(task, [(int(a), int(b)) for a, b in itertools.pairwise(edges)]))
        return self.path_set(out, root)


def _run(
    names: Sequence[str],
    forwards: Mapping[str, np.ndarray],
    vols: Mapping[str, float],
    correlation: np.ndarray,
    dates: pd.DatetimeIndex,
    meta: dict[str, object],
) -> GBMRun:
    return GBMRun(
        names=tuple(names),
        dates=dates,
        forwards=np.stack([np.asarray(forwards[n], dtype=float) for n in names]),
        vols=np.array([vols[n] for n in names], dtype=float),
        correlation=np.asarray(correlation, dtype=float),
        meta=meta,
    )


def _forward_on(
    name: str, spot: float, drift: float, t: np.ndarray, forward: np.ndarray | Sequence[float] | None
) -> np.ndarray:
    if forward is None:
        return spot * np.exp(drift * t)
    f = np.asarray(forward, dtype=float)
    if f.shape != t.shape or np.any(~np.isfinite(f)) or np.any(f <= 0):
        raise InputError(f"forward for '{name}' must hold {t.size} finite prices > 0 (one per date)")
    return f


@dataclass(frozen=True)
class GBM:
    """One-factor GBM path source.

    Parameters
    ----------
    spot_cny_per_t : float
        Price on the first date.
    vol : float
        Annual lognormal volatility.
    drift : float
        Constant drift ``mu`` (used when no forward curve is given to :meth:`simulate`).
    name : str
        Factor name in the path set (``"CEA"`` by default).

    Notes
    -----
    :math:`S_t = F(t) \\exp(\\sigma W_t - \\sigma^2 t / 2)` with :math:`F(t) = S_0 e^{\\mu t}` or the given forward.
    """

    spot_cny_per_t: float
    vol: float
    drift: float = 0.0
    name: str = "CEA"

    def __post_init__(self) -> None:
        _check_positive("spot_cny_per_t", self.spot_cny_per_t)
        _check_positive("vol", self.vol)

    def simulate(
        self,
        dates: Sequence[pd.Timestamp] | pd.DatetimeIndex,
        n_paths: int,
        rng: RngLike = None,
        *,
        forward_cny_per_t: np.ndarray | Sequence[float] | None = None,
    ) -> PathSet:
        """Simulate ``n_paths`` paths on ``dates`` (first date = valuation date); see the class Notes."""
        return self.run(dates, forward_cny_per_t=forward_cny_per_t).simulate(n_paths, rng)

    def run(
        self,
        dates: Sequence[pd.Timestamp] | pd.DatetimeIndex,
        *,
        forward_cny_per_t: np.ndarray | Sequence[float] | None = None,
    ) -> GBMRun:
        """The simulation set up on ``dates`` (for a run split by blocks)."""
        idx = _check_dates(dates)
        t = year_fractions(idx[0], idx)
        fwd = _forward_on(self.name, self.spot_cny_per_t, self.drift, t, forward_cny_per_t)
        meta: dict[str, object] = {"model": "GBM", "lognormal": True, "vols": {self.name: self.vol}}
        return _run([self.name], {self.name: fwd}, {self.name: self.vol}, np.eye(1), idx, meta)


@dataclass(frozen=True)
class CorrelatedGBM:
    """Correlated multi-factor GBM (CEA and CCER by default).

    Parameters
    ----------
    spots_cny_per_t : mapping of str to float
        Price of each factor on the first date.
    vols : mapping of str to float
        Annual lognormal volatility of each factor.
    correlation : float
        Correlation of the Brownian increments (two factors; a matrix is built for more, equicorrelated).
    drifts : mapping of str to float
        Constant drifts, used when no forward curve is given.

    Notes
    -----
    :math:`S^i_t = F_i(t) \\exp(\\sigma_i W^i_t - \\sigma_i^2 t/2)`, :math:`W = L Z` with :math:`L L^T = C`.
    """

    spots_cny_per_t: Mapping[str, float]
    vols: Mapping[str, float]
    correlation: float = 0.0
    drifts: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if set(self.spots_cny_per_t) != set(self.vols) or not self.vols:
            raise InputError(f"vols keys {sorted(self.vols)} must match spots keys {sorted(self.spots_cny_per_t)}")
        for n in self.vols:
            _check_positive(f"spot_cny_per_t[{n}]", self.spots_cny_per_t[n])
            _check_positive(f"vol[{n}]", self.vols[n])
        rho = float(self.correlation)
        k = len(self.vols)
        if not np.isfinite(rho) or not (-1.0 < rho < 1.0) or (k > 2 and rho <= -1.0 / (k - 1)):
            raise InputError(f"correlation={self.correlation!r} must lie in (-1, 1) (positive definite)")

    @property
    def names(self) -> tuple[str, ...]:
        """Factor names, in the order of the spots mapping."""
        return tuple(self.spots_cny_per_t)

    def correlation_matrix(self) -> np.ndarray:
        """The (equi)correlation matrix of the Brownian motions."""
        k = len(self.names)
        c = np.full((k, k), float(self.correlation))
        np.fill_diagonal(c, 1.0)
        return c

    def simulate(
        self,
        dates: Sequence[pd.Timestamp] | pd.DatetimeIndex,
        n_paths: int,
        rng: RngLike = None,
        *,
        forwards_cny_per_t: Mapping[str, np.ndarray | Sequence[float]] | None = None,
    ) -> PathSet:
        """Simulate ``n_paths`` joint paths on ``dates``; see the class Notes."""
        return self.run(dates, forwards_cny_per_t=forwards_cny_per_t).simulate(n_paths, rng)

    def run(
        self,
        dates: Sequence[pd.Timestamp] | pd.DatetimeIndex,
        *,
        forwards_cny_per_t: Mapping[str, np.ndarray | Sequence[float]] | None = None,
    ) -> GBMRun:
        """The joint simulation set up on ``dates`` (for a run split by blocks)."""
        idx = _check_dates(dates)
        t = year_fractions(idx[0], idx)
        given = forwards_cny_per_t or {}
        fwd = {n: _forward_on(n, self.spots_cny_per_t[n], self.drifts.get(n, 0.0), t, given.get(n)) for n in self.names}
        meta: dict[str, object] = {
            "model": "CorrelatedGBM",
            "lognormal": True,
            "vols": dict(self.vols),
            "correlation": float(self.correlation),
        }
        return _run(self.names, fwd, self.vols, self.correlation_matrix(), idx, meta)
