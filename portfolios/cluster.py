"""A GBM path source whose 4096-path blocks are generated on a Dask cluster (``carbonrisk value --workers``).

:class:`ClusterGBMSource` is :class:`finance.valuation.GBMSource` with the block loop on the workers: the driver
builds the picklable :class:`models.gbm.GBMRun` of the market (forwards, volatilities, correlation on the grid),
each task returns the prices of its blocks (:meth:`~models.gbm.GBMRun.simulate_blocks`), and the columns are
written in block order, so the path set, every price and every sensitivity equal those of the in-process run
number for number. The engines then price on the driver: a control variate and the bump-and-revalue
sensitivities need all paths at once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from finance.market import MarketEnv
from finance.valuation import GBMSource
from models.gbm import GBMRun
from models.paths import PathSet
from models.random import RngLike, root_seed_sequence
from portfolios.executor import BlockTask, map_blocks

__all__ = ["ClusterGBMSource"]


def _gbm_task(task: BlockTask, run: GBMRun) -> dict[str, np.ndarray]:
    return {"prices": run.simulate_blocks(task.n_paths, task.seed, task.first_block, task.last_block)}


@dataclass(frozen=True)
class ClusterGBMSource:
    """Correlated GBM calibrated to the market, its blocks generated on the cluster of ``client``.

    Parameters
    ----------
    client : distributed.Client
        From :func:`portfolios.executor.dask_client`; one cluster serves the base run and every bumped market.
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
