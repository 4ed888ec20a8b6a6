"""A GBM path source whose 4096-path blocks are generated on a Dask cluster (``carbonrisk value --workers``).

:class:`ClusterGBMSource` is :class:`carbonrisk.finance.valuation.GBMSource` with the block loop on the workers: the
driver builds the picklable :class:`carbonrisk.models.gbm.GBMRun` of the market (forwards, volatilities, correlation on
the grid), each task returns the prices of its blocks (:meth:`~carbonrisk.models.gbm.GBMRun.simulate_blocks`), and the
columns are written in block order, so the path set, every price and every sensitivity equal those of the in-process run
number for number. The engines then price on the driver: a control variate and the bump-and-revalue
sensitivities need all paths at once.

The same module dispatches the other commands' work in process or on a cluster, so the CLI only parses and
prints: :func:`value_contracts` (``carbonrisk value``) and :func:`simulate_paths` (``carbonrisk simulate``: the
fitted model's 4096-path blocks on the workers, integer histogram counts added and per-block sums concatenated in
block order, so the quantiles and means equal the in-process run's bit for bit).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from carbonrisk.finance.instruments import Instrument
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.valuation import GBMSource, Valuation, value_all
from carbonrisk.models.base import PathSummary, SimulationPlan, simulate_blocks, summarise_blocks, summary_from_parts
from carbonrisk.models.gbm import GBMRun
from carbonrisk.models.grid import SimulationGrid
from carbonrisk.models.paths import DEFAULT_QUANTILES, PathSet
from carbonrisk.models.random import RngLike, root_seed_sequence, seed_entropy
from carbonrisk.models.scenarios import ScenarioCurve
from carbonrisk.portfolios.executor import BlockTask, dask_client, map_blocks

__all__ = ["ClusterGBMSource", "path_summary", "simulate_paths", "value_contracts"]


def _gbm_task(task: BlockTask, run: GBMRun) -> dict[str, np.ndarray]:
    return {"prices": run.simulate_blocks(task.n_paths, task.seed, task.first_block, task.last_block)}


@dataclass(frozen=True)
class ClusterGBMSource:
    """Correlated GBM calibrated to the market, its blocks generated on the cluster of ``client``.

    Parameters
    ----------
    client : distributed.Client
        From :func:`carbonrisk.portfolios.executor.dask_client`; one cluster serves the base run and every bumped
        market.
    blocks_per_task : int
        4096-path blocks per task (never changes a number).
    """

    client: Any
    blocks_per_task: int = 1
    supports_vol_bump: bool = True

    def simulate(self, market: MarketEnv, dates: pd.DatetimeIndex, n_paths: int, rng: RngLike) -> PathSet:
        """The path set :meth:`GBMSource.simulate` gives for the same arguments."""
        run = GBMSource().run(market, dates)
        root = root_seed_sequence(rng)
        merged = map_blocks(
            functools.partial(_gbm_task, run=run),
            n_paths,
            root,
            blocks_per_task=self.blocks_per_task,
            client=self.client,
        )
        return run.path_set(merged["prices"], root)


def value_contracts(
    instruments: Sequence[Instrument],
    market: MarketEnv,
    *,
    n_paths: int,
    seed: int,
    sensitivities: bool = True,
    workers: int | None = None,
    scheduler: str | None = None,
    blocks_per_task: int = 1,
) -> list[Valuation]:
    """:func:`carbonrisk.finance.valuation.value_all` in process, or with its GBM blocks on a local Dask cluster of
    ``workers`` processes / the cluster at ``scheduler`` (:class:`ClusterGBMSource`: the same numbers)."""
    if workers is None and scheduler is None:
        return value_all(instruments, market, n_paths=n_paths, rng=seed, sensitivities=sensitivities)
    with dask_client(workers, scheduler) as client:
        return value_all(
            instruments,
            market,
            n_paths=n_paths,
            rng=seed,
            sensitivities=sensitivities,
            source=ClusterGBMSource(client, blocks_per_task),
        )


def _summary_task(task: BlockTask, plan: SimulationPlan, n_dates: int) -> dict[str, np.ndarray]:
    return summarise_blocks(plan, n_dates, task.n_paths, task.seed, task.first_block, task.last_block)


def _paths_task(task: BlockTask, plan: SimulationPlan, n_dates: int) -> dict[str, np.ndarray]:
    return simulate_blocks(plan, n_dates, task.n_paths, task.seed, task.first_block, task.last_block)


def simulate_paths(
    model: Any,
    grid: SimulationGrid,
    n_paths: int,
    seed: int,
    *,
    scenario: ScenarioCurve | None = None,
    full: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    blocks_per_task: int = 1,
) -> tuple[PathSet | None, PathSummary]:
    """Simulate ``n_paths`` paths of a fitted ``model`` on ``grid``: the full path set (``full``) and its summary,
    or only the summary, streamed (memory independent of ``n_paths``).

    In process without ``workers`` / ``scheduler``; otherwise the model's blocks run on a Dask cluster
    (:func:`carbonrisk.portfolios.executor.map_blocks`): each 4096-path block draws from its own seed stream, histogram
    counts add exactly and per-block sums are concatenated in block order, so every number equals the in-process run's.
    """
    if workers is None and scheduler is None:
        if not full:
            return None, model.simulate_summary(grid, n_paths, seed, scenario=scenario)
        paths = model.simulate(grid, n_paths, seed, scenario=scenario)
        return paths, path_summary(paths)
    plan = model.plan(grid, scenario)
    task = functools.partial(_paths_task if full else _summary_task, plan=plan, n_dates=len(grid.dates))
    merged = map_blocks(
        task,
        n_paths,
        seed,
        blocks_per_task=blocks_per_task,
        workers=workers,
        scheduler=scheduler,
        sum_keys=() if full else ("CEA_counts", "CCER_counts"),
        block_keys=() if full else [f"{f}_{k}" for f in ("CEA", "CCER") for k in ("sums", "bad")],
    )
    if not full:
        return None, summary_from_parts(plan, grid.dates, n_paths, seed, merged)
    paths = PathSet(
        dates=grid.dates, factors=merged, seed_entropy=seed_entropy(root_seed_sequence(seed)), meta=dict(plan.meta)
    )
    return paths, path_summary(paths)


def path_summary(paths: PathSet) -> PathSummary:
    """Quantiles, means and terminal values per factor of a full path set, and its count of non-finite or
    non-positive prices (the summary :meth:`simulate_summary` streams)."""
    return PathSummary(
        dates=paths.dates,
        quantiles={n: paths.quantiles(n, DEFAULT_QUANTILES) for n in paths.names},
        mean={n: paths.mean(n) for n in paths.names},
        terminal={n: paths[n][-1] for n in paths.names},
        n_paths=paths.n_paths,
        n_nonfinite=int(sum((~(paths[n] > 0) | ~(paths[n] < float("inf"))).sum() for n in paths.names)),
        seed_entropy=paths.seed_entropy,
        meta=paths.meta,
    )
