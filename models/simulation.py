"""The simulation machinery behind :class:`carbonrisk.models.interface.PriceModelResult`: plans run as blocks of paths.

A model describes its dynamics as a :class:`carbonrisk.models.interface.SimulationPlan` and inherits
:class:`SimulatesPaths`;
:func:`run_plan` (full path sets) and :func:`run_plan_summary` (streaming summaries) then handle blocks of paths,
threads, the CCER basis and the reductions, with numbers independent of the chunking and the number of threads.
:func:`simulate_blocks`, :func:`summarise_blocks` and :func:`summary_from_parts` are the same work split over the
workers of a distributed run.

Scenario trends (median tracking)
---------------------------------
With ``scenario`` set, the median log price follows a glide path ``m*(t)``: from the last observed price it moves
linearly in log to the scenario curve over :data:`CONVERGENCE_YEARS`, then follows ``ln S*(t)`` of the curve
(:meth:`carbonrisk.models.scenarios.ScenarioCurve.price_at`). For a mean-reverting model the reversion level of each
step is chosen so the mean of the log price hits the glide path exactly,
``theta_i = (m*_{i+1} - phi_i m*_i) / (1 - phi_i)`` (exact discrete solution, not a derivative); for a random walk
the drift is ``m*_{i+1} - m*_i``. Symmetric innovations keep the median on the same path.

Streaming summaries
-------------------
:meth:`SimulatesPaths.simulate_summary` never holds the paths: each block's values go into per-date histograms of
the log price (bins of :data:`HIST_BIN_WIDTH`, i.e. 0.05 % of the price, over 0.01 to 100 000 CNY/t; wider when the
grid has more than ~620 dates so that a factor never needs more than :data:`HIST_MAX_COUNTERS` counters per thread)
and running sums; quantiles are read from the cumulative counts with linear interpolation inside a bin. Memory is
independent of the number of paths apart from one terminal value per path (1 000 000 paths x 240 monthly steps:
about 0.5 GiB resident).
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from carbonrisk.models.drift import MarketAnchor, anchor_glide_target
from carbonrisk.models.exceptions import InputError
from carbonrisk.models.grid import SimulationGrid
from carbonrisk.models.interface import PathSummary, SimulationPlan
from carbonrisk.models.paths import DEFAULT_QUANTILES, PathSet
from carbonrisk.models.random import BLOCK_PATHS, Block, RngLike, iter_blocks, root_seed_sequence, seed_entropy
from carbonrisk.models.sampler import (
    DIST_EMPIRICAL,
    VOL_CONSTANT,
    histogram_update,
    quantile_tables,
    simulate_block,
    uniforms_per_step,
)
from carbonrisk.models.scenarios import ScenarioCurve
from carbonrisk.models.validation import check_number

__all__ = [
    "CONVERGENCE_YEARS",
    "HIST_BIN_WIDTH",
    "HIST_HI",
    "HIST_LO",
    "SimulatesPaths",
    "check_paths",
    "glide_path",
    "median_target",
    "run_plan",
    "run_plan_summary",
    "simulate_blocks",
    "simulation_threads",
    "summarise_blocks",
    "summary_bin_width",
    "summary_from_parts",
    "with_meta",
]

CONVERGENCE_YEARS: float = 2.0
"""Years over which a scenario's median glide path moves from the last price onto the scenario curve."""
HIST_LO: float = math.log(1e-2)
HIST_HI: float = math.log(1e5)
HIST_BIN_WIDTH: float = 5e-4
"""Narrowest log-price histogram bin of the streaming summaries (0.05 % of the price)."""
HIST_MAX_COUNTERS: int = 20_000_000
"""Counters per factor and thread; grids with many dates get proportionally wider bins."""
STEP_CHUNK: int = 128
"""Steps whose random words are drawn at once (does not change the numbers)."""


def glide_path(x0: float, start: pd.Timestamp, dates: pd.DatetimeIndex, scenario: ScenarioCurve) -> np.ndarray:
    """Target median log price on ``dates``: linear in log from ``x0`` to the scenario over CONVERGENCE_YEARS."""
    years = (pd.DatetimeIndex(dates) - start).days.to_numpy() / 365.25
    log_curve = np.log(scenario.price_at(dates))
    gap = x0 - float(np.log(scenario.price_at(pd.DatetimeIndex([start]))[0]))
    weight = np.clip(1.0 - years / CONVERGENCE_YEARS, 0.0, 1.0)
    return np.asarray(log_curve + gap * weight, dtype=float)


def median_target(
    x0: float,
    start: pd.Timestamp,
    dates: pd.DatetimeIndex,
    scenario: ScenarioCurve,
    anchor: MarketAnchor | None,
    log_variance: Callable[[], np.ndarray],
) -> np.ndarray:
    """Target median ``ln S`` on ``dates``: :func:`glide_path`, or the anchor / glide rule of
    :mod:`carbonrisk.models.drift` (``log_variance()`` gives the model's ``Var ln S`` on ``dates``; only called with an
    anchor)."""
    if anchor is None:
        return glide_path(x0, start, dates, scenario)
    return anchor_glide_target(x0, start, dates, scenario, anchor, log_variance())


def check_paths(n_paths: int) -> int:
    """``n_paths`` as an ``int``; anything but a positive integer raises :class:`InputError`."""
    if isinstance(n_paths, float):  # 1e4 from Python code is not a path count
        raise InputError(f"n_paths = {n_paths!r} is not an integer")
    return int(check_number("n_paths", n_paths, low=1, kind="int"))


def _tasks(n_paths: int, chunk_paths: int | None) -> list[tuple[int, int]]:
    n_blocks = -(-n_paths // BLOCK_PATHS)
    if chunk_paths is None:
        per_task = 1
    else:
        if isinstance(chunk_paths, bool) or not isinstance(chunk_paths, (int, np.integer)) or chunk_paths <= 0:
            raise InputError(f"chunk_paths={chunk_paths!r} must be a positive integer")
        per_task = max(1, -(-int(chunk_paths) // BLOCK_PATHS))
    return [(b, min(b + per_task, n_blocks)) for b in range(0, n_blocks, per_task)]


def _run_block(
    plan: SimulationPlan,
    block_rng: np.random.Generator,
    size: int,
    out: np.ndarray,
    outb: np.ndarray,
    parallel: bool = False,
    outh: np.ndarray | None = None,
) -> None:
    """Simulate one block; ``out`` / ``outb`` are ``(n_dates, size)`` views, row 0 already set.

    ``parallel`` spreads the block's paths over numba's threads (never used from a thread pool). ``outh``
    (``(n_dates, size)``, optional) receives the conditional daily variance (decimal), row 0 included.
    """
    splits = _SPLITS if parallel else 1
    basis_on = plan.basis is not None
    x = np.full(size, plan.x0)
    h = np.full(size, plan.h0)
    b = np.full(size, plan.basis.b0 if plan.basis is not None else 0.0)
    empty = np.zeros(0)
    mb, eb, sb = (plan.basis.mean, plan.basis.decay, plan.basis.sd) if plan.basis is not None else (empty,) * 3
    rho = plan.basis.rho if plan.basis is not None else 0.0
    empirical = plan.dist == DIST_EMPIRICAL
    tab = quantile_tables(0) if empirical else quantile_tables(plan.dist, plan.nu, plan.lam)
    ntab = quantile_tables(0)
    emp = np.asarray(plan.innovations, dtype=float) if empirical and plan.innovations is not None else empty
    if empirical and emp.size == 0:
        raise InputError("filtered historical simulation needs a non-empty residual sample (plan.innovations)")
    record_h = outh is not None and plan.vol != VOL_CONSTANT
    oh = outh if outh is not None and record_h else np.zeros((0, 0))
    width = uniforms_per_step(size, basis_on)

    def draw(s0: int) -> np.ndarray:
        return block_rng.bit_generator.random_raw((min(s0 + STEP_CHUNK, plan.n_steps) - s0, width)).view(np.uint32)

    def advance(lo: int, hi: int, raw32: np.ndarray, s0: int) -> None:
        rb = raw32[:, size + lo : size + hi] if basis_on else raw32[:, :0]
        ob = outb[:, lo:hi] if basis_on else outb
        simulate_block(
            raw32[:, lo:hi], rb, s0, x[lo:hi], h[lo:hi], b[lo:hi], tab, ntab, plan.vol, plan.omega, plan.alpha,
            plan.gamma, plan.beta, plan.c, plan.phi, plan.sd, basis_on, mb, eb, sb, rho, plan.record,
            out[:, lo:hi], ob, plan.z_max, plan.h_max, emp, record_h, oh[:, lo:hi] if record_h else oh,
        )  # fmt: skip

    def finish(lo: int, hi: int) -> None:
        np.exp(out[1:, lo:hi], out=out[1:, lo:hi])
        if basis_on:
            np.exp(outb[1:, lo:hi], out=outb[1:, lo:hi])
        if outh is not None:
            if record_h:
                plan.variance_of_state(outh[1:, lo:hi])
            else:
                outh[1:, lo:hi] = plan.daily_variance

    starts = list(range(0, plan.n_steps, STEP_CHUNK))
    if splits == 1:
        for s0 in starts:
            advance(0, size, draw(s0), s0)
        finish(0, size)
        return
    # column ranges on the pool while this thread draws the next chunk's random words (same stream order)
    edges = np.linspace(0, size, splits + 1).astype(int)
    pool = _split_pool()
    raw32 = draw(starts[0])
    for k, s0 in enumerate(starts):
        futures = [pool.submit(advance, int(lo), int(hi), raw32, s0) for lo, hi in itertools.pairwise(edges)]
        if k + 1 < len(starts):
            raw32 = draw(starts[k + 1])
        for f in futures:
            f.result()
    for f in [pool.submit(finish, int(lo), int(hi)) for lo, hi in itertools.pairwise(edges)]:
        f.result()


def simulation_threads() -> int:
    """Threads used for simulation: ``CARBONRISK_THREADS`` if set, else the CPU count (at most 8)."""
    env = os.environ.get("CARBONRISK_THREADS", "")
    if env.strip():
        try:
            return max(1, int(env))
        except ValueError:
            raise InputError(f"CARBONRISK_THREADS='{env}' must be a positive integer") from None
    return max(1, min(os.cpu_count() or 1, 8))


_SPLITS = 2
_SPLIT_POOL: list[ThreadPoolExecutor] = []


def _split_pool() -> ThreadPoolExecutor:
    """Persistent pool that advances the column ranges of one block concurrently."""
    if not _SPLIT_POOL:
        _SPLIT_POOL.append(ThreadPoolExecutor(max_workers=_SPLITS, thread_name_prefix="carbonrisk-split"))
    return _SPLIT_POOL[0]


def _schedule(n_paths: int) -> tuple[int, bool]:
    """Threads for a pool over blocks, and whether each block's paths are split over threads instead.

    As many blocks as threads or more: a thread pool over blocks (each thread draws its block's random words,
    advances and exponentiates them; this measured faster than splitting blocks even for 3 blocks on 2 threads).
    A single block: its random words drawn once and its paths advanced in column ranges on several threads, so a
    small run uses every core too. The numbers are identical either way.
    """
    threads = simulation_threads()
    n_blocks = -(-n_paths // BLOCK_PATHS)
    if threads > 1 and n_blocks < threads:
        return 1, True
    return threads, False


def run_plan(
    plan: SimulationPlan,
    dates: pd.DatetimeIndex,
    n_paths: int,
    rng: RngLike,
    *,
    chunk_paths: int | None = None,
    record_variance: bool = False,
) -> PathSet:
    """Simulate the full path set of ``plan`` (threads over blocks; numbers independent of ``chunk_paths``).

    With ``record_variance`` the path set's ``variance`` holds the conditional daily variance of CEA's next
    log-return at every date (the prices are the same bit for bit either way).
    """
    n_paths = check_paths(n_paths)
    root = root_seed_sequence(rng)
    n_dates = len(dates)
    cea = np.empty((n_dates, n_paths))
    cea[0] = plan.start_prices[0]
    var = np.empty((n_dates, n_paths)) if record_variance else None
    if var is not None:
        var[0] = plan.initial_variance
    ccer = np.empty((n_dates, n_paths)) if plan.basis is not None else np.zeros((0, 0))
    if plan.basis is not None:
        ccer[0] = plan.start_prices[1]

    pool_threads, parallel = _schedule(n_paths)

    def task(bounds: tuple[int, int]) -> None:
        for block in iter_blocks(n_paths, root, first_block=bounds[0], last_block=bounds[1]):
            outb = ccer[:, block.start : block.stop] if plan.basis is not None else ccer
            vb = var[:, block.start : block.stop] if var is not None else None
            _run_block(plan, block.rng, block.size, cea[:, block.start : block.stop], outb, parallel, vb)

    tasks = _tasks(n_paths, chunk_paths)
    if pool_threads == 1:
        for bounds in tasks:
            task(bounds)
    else:
        with ThreadPoolExecutor(max_workers=pool_threads) as pool:
            list(pool.map(task, tasks))
    factors = {"CEA": cea} | ({"CCER": ccer} if plan.basis is not None else {})
    return PathSet(
        dates=dates,
        factors=factors,
        seed_entropy=seed_entropy(root),
        meta=dict(plan.meta),
        variance={"CEA": var} if var is not None else None,
    )


def summary_bin_width(n_dates: int) -> float:
    """Log-price bin width of the streaming histograms for a grid of ``n_dates`` dates."""
    return max(HIST_BIN_WIDTH, n_dates * (HIST_HI - HIST_LO) / HIST_MAX_COUNTERS)


def _factor_names(plan: SimulationPlan) -> list[str]:
    return ["CEA"] + (["CCER"] if plan.basis is not None else [])


def _block_values(
    plan: SimulationPlan, block: Block, n_dates: int, parallel: bool, record_variance: bool = False
) -> dict[str, np.ndarray]:
    """Prices of one block, ``(n_dates, block.size)`` per factor (and ``"CEA_variance"`` with ``record_variance``)."""
    names = _factor_names(plan)
    vals = {n: np.empty((n_dates, block.size)) for n in names}
    vals["CEA"][0] = plan.start_prices[0]
    if plan.basis is not None:
        vals["CCER"][0] = plan.start_prices[1]
    var = None
    if record_variance:
        var = vals["CEA_variance"] = np.empty((n_dates, block.size))
        var[0] = plan.initial_variance
    _run_block(plan, block.rng, block.size, vals["CEA"], vals.get("CCER", np.zeros((0, 0))), parallel, var)
    return vals


def simulate_blocks(
    plan: SimulationPlan,
    n_dates: int,
    n_paths: int,
    rng: RngLike,
    first_block: int,
    last_block: int,
    *,
    record_variance: bool = False,
) -> dict[str, np.ndarray]:
    """Prices of blocks ``first_block:last_block`` of a run of ``n_paths`` paths: ``(n_dates, paths)`` per factor.

    The columns are exactly those :func:`run_plan` gives for the same paths; a worker of a distributed run calls
    this for its share of the blocks. With ``record_variance`` the result also holds ``"CEA_variance"``, the
    conditional daily variance (decimal) of CEA's next log-return, exactly as :func:`run_plan`'s
    ``PathSet.variance["CEA"]``.
    """
    blocks = _block_range(n_paths, rng, first_block, last_block)
    parts = [_block_values(plan, blk, n_dates, False, record_variance) for blk in blocks]
    names = _factor_names(plan) + (["CEA_variance"] if record_variance else [])
    return {n: np.concatenate([p[n] for p in parts], axis=1) for n in names}


def summarise_blocks(
    plan: SimulationPlan, n_dates: int, n_paths: int, rng: RngLike, first_block: int, last_block: int
) -> dict[str, np.ndarray]:
    """Streaming statistics of blocks ``first_block:last_block`` (a worker's share of a summary run).

    Returns, per factor ``F``: ``F_counts`` ``(n_dates, n_bins)`` histogram counts (``int32`` integers: shares add
    up exactly in any order; add them in ``int64``), ``F_sums`` ``(n_dates, n_blocks)`` sums of the finite
    positive values per block and date, ``F_bad`` ``(n_blocks,)`` the number of other values, and ``F_terminal``
    the last-date value of every path.
    :func:`summary_from_parts` turns the merged shares into a :class:`PathSummary`.
    """
    width = summary_bin_width(n_dates)
    n_bins = math.ceil((HIST_HI - HIST_LO) / width)
    names = _factor_names(plan)
    out: dict[str, Any] = {n + "_counts": np.zeros((n_dates, n_bins), dtype=np.int32) for n in names}
    per_block: dict[str, list[Any]] = {k: [] for n in names for k in (n + "_sums", n + "_bad", n + "_terminal")}
    for block in _block_range(n_paths, rng, first_block, last_block):
        vals = _block_values(plan, block, n_dates, False)
        for n in names:
            sums, bad = _accumulate(vals[n], out[n + "_counts"], width)
            per_block[n + "_sums"].append(sums[:, None])
            per_block[n + "_bad"].append(np.array([bad]))
            per_block[n + "_terminal"].append(vals[n][-1])
    return out | {k: np.concatenate(v, axis=-1) for k, v in per_block.items()}


def _block_range(n_paths: int, rng: RngLike, first_block: int, last_block: int) -> Iterator[Block]:
    return iter_blocks(check_paths(n_paths), rng, first_block=first_block, last_block=last_block)


def _accumulate(values: np.ndarray, counts: np.ndarray, width: float) -> tuple[np.ndarray, int]:
    """Add a block's values to ``counts``; return its per-date sums of finite positive values and the bad count."""
    histogram_update(values, counts, HIST_LO, 1.0 / width)
    finite = np.isfinite(values) & (values > 0)
    return np.where(finite, values, 0.0).sum(axis=1), int(values.size - np.count_nonzero(finite))


def summary_from_parts(
    plan: SimulationPlan,
    dates: pd.DatetimeIndex,
    n_paths: int,
    rng: RngLike,
    parts: Mapping[str, np.ndarray],
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
) -> PathSummary:
    """The :class:`PathSummary` of merged :func:`summarise_blocks` shares (counts added, the rest in block order).

    Means are the per-block sums added in block order, so they do not depend on how blocks were grouped.
    """
    levels = _levels(quantiles)
    width = summary_bin_width(len(dates))
    q_frames: dict[str, pd.DataFrame] = {}
    means: dict[str, pd.Series] = {}
    bad = 0
    for n in _factor_names(plan):
        qv = _hist_quantiles(np.asarray(parts[n + "_counts"], dtype=np.int64), levels, width)
        qv[0] = plan.start_prices[0] if n == "CEA" else plan.start_prices[1]
        q_frames[n] = pd.DataFrame(qv, index=dates, columns=[f"q{lv:.2f}" for lv in levels])
        total = np.zeros(len(dates))
        for column in np.asarray(parts[n + "_sums"]).T:
            total += column
        means[n] = pd.Series(total / n_paths, index=dates, name=f"{n}_mean")
        bad += int(np.asarray(parts[n + "_bad"]).sum())
    return PathSummary(
        dates=dates,
        quantiles=q_frames,
        mean=means,
        terminal={n: np.asarray(parts[n + "_terminal"]) for n in _factor_names(plan)},
        n_paths=n_paths,
        n_nonfinite=bad,
        seed_entropy=seed_entropy(root_seed_sequence(rng)),
        meta=dict(plan.meta),
    )


def _levels(quantiles: Sequence[float]) -> np.ndarray:
    levels = np.asarray(quantiles, dtype=float)
    if levels.ndim != 1 or np.any((levels < 0) | (levels > 1)):
        raise InputError(f"quantile levels {list(quantiles)} must lie in [0, 1]")
    return levels


def run_plan_summary(
    plan: SimulationPlan,
    dates: pd.DatetimeIndex,
    n_paths: int,
    rng: RngLike,
    *,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    chunk_paths: int | None = None,
) -> PathSummary:
    """Simulate ``plan`` keeping only histograms, sums and terminal values (see the module docstring)."""
    n_paths = check_paths(n_paths)
    _levels(quantiles)
    root = root_seed_sequence(rng)
    n_dates = len(dates)
    names = _factor_names(plan)
    width = summary_bin_width(n_dates)
    n_bins = math.ceil((HIST_HI - HIST_LO) / width)
    tasks = _tasks(n_paths, chunk_paths)
    pool_threads, parallel = _schedule(n_paths)
    n_workers = min(pool_threads, len(tasks))
    n_blocks = -(-n_paths // BLOCK_PATHS)
    counts = [{n: np.zeros((n_dates, n_bins), dtype=np.int32) for n in names} for _ in range(n_workers)]
    parts: dict[str, np.ndarray] = {}
    for n in names:
        parts[n + "_sums"] = np.zeros((n_dates, n_blocks))
        parts[n + "_bad"] = np.zeros(n_blocks, dtype=np.int64)
        parts[n + "_terminal"] = np.empty(n_paths)

    def task(arg: tuple[int, tuple[int, int]]) -> None:
        slot, bounds = arg
        for block in iter_blocks(n_paths, root, first_block=bounds[0], last_block=bounds[1]):
            vals = _block_values(plan, block, n_dates, parallel)
            for n in names:
                sums, bad = _accumulate(vals[n], counts[slot][n], width)
                parts[n + "_sums"][:, block.index] = sums
                parts[n + "_bad"][block.index] = bad
                parts[n + "_terminal"][block.start : block.stop] = vals[n][-1]

    assigned = [(i % n_workers, t) for i, t in enumerate(tasks)]
    groups = [[a for a in assigned if a[0] == w] for w in range(n_workers)]

    def run_group(group: list[tuple[int, tuple[int, int]]]) -> int:
        for item in group:
            task(item)
        return len(group)

    if n_workers == 1:
        for group in groups:
            run_group(group)
    else:
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            list(pool.map(run_group, groups))
    for n in names:
        parts[n + "_counts"] = np.asarray(np.sum([c[n] for c in counts], axis=0, dtype=np.int64))
    return summary_from_parts(plan, dates, n_paths, root, parts, quantiles)


def _hist_quantiles(counts: np.ndarray, levels: np.ndarray, width: float) -> np.ndarray:
    """Quantiles (in price) from per-row log-price histograms, linear inside a bin."""
    out = np.empty((counts.shape[0], len(levels)))
    for r in range(counts.shape[0]):
        cum = np.cumsum(counts[r])
        total = cum[-1]
        for j, lv in enumerate(levels):
            target = lv * total
            k = int(np.searchsorted(cum, target, side="left"))
            k = min(k, len(cum) - 1)
            below = cum[k - 1] if k > 0 else 0
            inside = counts[r, k]
            frac = (target - below) / inside if inside > 0 else 0.5
            out[r, j] = math.exp(HIST_LO + (k + min(max(frac, 0.0), 1.0)) * width)
    return out


class SimulatesPaths:
    """Mixin: :meth:`simulate` and :meth:`simulate_summary` from the model's :meth:`plan`."""

    last_date: pd.Timestamp

    def plan(
        self, grid: SimulationGrid, scenario: ScenarioCurve | None = None, anchor: MarketAnchor | None = None
    ) -> SimulationPlan:
        """The model's dynamics on ``grid`` as kernel arrays (``anchor``: :mod:`carbonrisk.models.drift`)."""
        raise NotImplementedError

    def _grid(self, grid: SimulationGrid | int) -> SimulationGrid:
        if isinstance(grid, SimulationGrid):
            return grid
        return SimulationGrid.daily(self.last_date, grid)

    def simulate(
        self,
        grid: SimulationGrid | int,
        n_paths: int,
        rng: RngLike = None,
        *,
        scenario: ScenarioCurve | None = None,
        chunk_paths: int | None = None,
        record_variance: bool = False,
        anchor: MarketAnchor | None = None,
    ) -> PathSet:
        """Simulate price paths on ``grid`` from the last observed price.

        Parameters
        ----------
        grid : SimulationGrid or int
            Simulation dates (an int ``n`` means ``n`` SSE trading days after the last observation).
        n_paths : int
            Number of paths.
        rng : int, numpy.random.Generator or None
            Seed; blocks of 4096 paths each use their own ``SeedSequence`` child, so the numbers do not depend on
            ``chunk_paths`` or on the number of threads.
        scenario : ScenarioCurve, optional
            Trend the median follows (see the module docstring).
        chunk_paths : int, optional
            Paths per work unit (rounded up to whole blocks); a scheduling choice only.
        record_variance : bool
            Also record the model's conditional daily variance of CEA's next log-return at every grid date
            (``PathSet.variance["CEA"]``, decimal); opt-in because it doubles the memory. Prices are identical
            either way.
        anchor : MarketAnchor, optional
            With ``scenario``: the mean follows the market forward up to ``anchor.anchor_years``, then the median
            glides onto the scenario (:mod:`carbonrisk.models.drift`); without it the median glides from the last price.

        Returns
        -------
        PathSet
            Factor ``"CEA"`` (and ``"CCER"`` for the joint model), CNY/t, one row per grid date.
        """
        g = self._grid(grid)
        plan = self.plan(g, scenario, anchor)
        return run_plan(plan, g.dates, n_paths, rng, chunk_paths=chunk_paths, record_variance=record_variance)

    def simulate_summary(
        self,
        grid: SimulationGrid | int,
        n_paths: int,
        rng: RngLike = None,
        *,
        scenario: ScenarioCurve | None = None,
        quantiles: Sequence[float] = DEFAULT_QUANTILES,
        chunk_paths: int | None = None,
        anchor: MarketAnchor | None = None,
    ) -> PathSummary:
        """Like :meth:`simulate` but streaming: keeps quantiles, means and terminal values only."""
        g = self._grid(grid)
        plan = self.plan(g, scenario, anchor)
        return run_plan_summary(plan, g.dates, n_paths, rng, quantiles=quantiles, chunk_paths=chunk_paths)


def with_meta(plan: SimulationPlan, **extra: Any) -> SimulationPlan:
    """Copy of ``plan`` with ``extra`` merged into its meta."""
    return replace(plan, meta=dict(plan.meta) | extra)
