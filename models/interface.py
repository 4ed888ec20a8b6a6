"""The interface of a fitted price model: what finance/ and portfolios/ hold, and what a model hands the engine.

finance/ and portfolios/ call any fitted model the same way (no ``isinstance`` chains), through
:class:`PriceModelResult`::

    result.simulate(grid, n_paths, rng, *, scenario=None, chunk_paths=None, record_variance=False,
                    anchor=None) -> PathSet
    result.simulate_summary(grid, n_paths, rng, *, scenario=None, quantiles=..., chunk_paths=None,
                            anchor=None) -> PathSummary
    result.expected_average_variance(variance_now, n_days) -> ndarray     (daily variance, decimal)
    result.plan(grid, scenario=None, anchor=None) -> SimulationPlan       (for workers of a distributed run)
    result.summary() -> dict                                               (JSON-ready parameters, diagnostics)

``record_variance=True`` fills ``PathSet.variance["CEA"]`` with the model's conditional daily variance of the next
log-return at every grid date (the kernel's variance state after each recorded step; the prices are bit-identical
either way). ``anchor`` (:class:`carbonrisk.models.drift.MarketAnchor`) makes the mean follow the market forward up to
its ``anchor_years`` before the median glides onto the scenario (:mod:`carbonrisk.models.drift`).

A model implements the protocol by describing its dynamics on a grid as a :class:`SimulationPlan` (per-step arrays
for the fused kernel of :mod:`carbonrisk.models.sampler`) and inheriting
:class:`carbonrisk.models.simulation.SimulatesPaths`, which runs the plan (blocks of paths, threads, the CCER basis, the
streaming summaries: :mod:`carbonrisk.models.simulation`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from carbonrisk.models.grid import SimulationGrid
from carbonrisk.models.paths import DEFAULT_QUANTILES, PathSet
from carbonrisk.models.random import RngLike
from carbonrisk.models.sampler import VOL_CONSTANT, VOL_EGARCH
from carbonrisk.models.scenarios import ScenarioCurve

if TYPE_CHECKING:
    from carbonrisk.models.drift import MarketAnchor

__all__ = ["BasisPlan", "PathSummary", "PriceModelResult", "SimulationPlan"]


@dataclass(frozen=True)
class BasisPlan:
    """Per-step arrays of the CEA/CCER basis ``b`` (``CCER = CEA exp(-b)``), see :mod:`carbonrisk.models.sampler`."""

    b0: float
    mean: np.ndarray
    decay: np.ndarray
    sd: np.ndarray
    rho: float


@dataclass(frozen=True)
class SimulationPlan:
    """Everything the fused kernel needs to simulate one model on one grid.

    Steps are trading days for daily models and grid steps for models with an exact multi-day transition;
    ``record[i]`` is the grid row (1..n_steps) step ``i`` ends on, or -1.
    """

    x0: float
    h0: float
    dist: int
    nu: float
    lam: float
    vol: int
    omega: float
    alpha: float
    gamma: float
    beta: float
    c: np.ndarray
    phi: np.ndarray
    sd: np.ndarray
    record: np.ndarray
    step_days: np.ndarray
    basis: BasisPlan | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    z_max: float = math.inf
    """Innovations are clipped to ``[-z_max, z_max]`` (inf: no guard)."""
    h_max: float = math.inf
    """Ceiling of the kernel's variance state (``ln`` of it for EGARCH; inf: no guard)."""
    price0: float = math.nan
    """Observed starting price written in row 0 (default ``exp(x0)``)."""
    innovations: np.ndarray | None = None
    """Residual sample of filtered historical simulation (``dist`` = ``DIST_EMPIRICAL``), else None."""
    daily_variance: float = math.nan
    """Constant-volatility models: the daily variance of the log-return (decimal), recorded as the path set's
    conditional variance."""

    def variance_of_state(self, h: np.ndarray) -> np.ndarray:
        """Daily conditional variance (decimal) of the kernel's variance state ``h`` (in place when possible)."""
        if self.vol == VOL_EGARCH:
            np.exp(h, out=h)
        h *= 1e-4
        return h

    @property
    def start_prices(self) -> tuple[float, float]:
        """Row-0 values of CEA and CCER."""
        cea = self.price0 if math.isfinite(self.price0) else math.exp(self.x0)
        return cea, cea * math.exp(-(self.basis.b0 if self.basis is not None else 0.0))

    @property
    def n_steps(self) -> int:
        """Number of kernel steps."""
        return len(self.c)

    @property
    def initial_variance(self) -> float:
        """Conditional daily variance (decimal) of the first simulated log-return."""
        if self.vol == VOL_CONSTANT:
            return self.daily_variance
        return float(self.variance_of_state(np.array([self.h0]))[0])


@dataclass(frozen=True)
class PathSummary:
    """Streaming summary of a simulation: quantiles and mean per date per factor, terminal value per path.

    Attributes
    ----------
    dates : pandas.DatetimeIndex
        Grid dates (first row = valuation date).
    quantiles : dict of str to pandas.DataFrame
        Per factor, one row per date and one column ``q0.05``... per level (CNY/t).
    mean : dict of str to pandas.Series
        Per factor, the mean across paths per date.
    terminal : dict of str to numpy.ndarray
        Per factor, the value of every path on the last date.
    n_paths : int
        Number of paths.
    n_nonfinite : int
        Values that were NaN, infinite or <= 0 (0 for a sane run).
    seed_entropy : int or None
        Root seed entropy.
    meta : dict
        Model, parameters, policy, warnings.
    """

    dates: pd.DatetimeIndex
    quantiles: dict[str, pd.DataFrame]
    mean: dict[str, pd.Series]
    terminal: dict[str, np.ndarray]
    n_paths: int
    n_nonfinite: int
    seed_entropy: int | None
    meta: Mapping[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """Quantiles and means of every factor side by side, columns ``<factor>_q0.50``, ``<factor>_mean``."""
        parts = []
        for name, frame in self.quantiles.items():
            parts.append(frame.add_prefix(f"{name}_"))
            parts.append(self.mean[name].rename(f"{name}_mean").to_frame())
        return pd.concat(parts, axis=1)


@runtime_checkable
class PriceModelResult(Protocol):
    """A fitted price model that can produce path sets (the interface finance/ and portfolios/ rely on).

    Implemented by :class:`carbonrisk.models.garch.GarchResult`, :class:`carbonrisk.models.meanrev.OUResult`,
    :class:`carbonrisk.models.meanrev.OUGarchResult` and :class:`carbonrisk.models.joint.JointCeaCcer`;
    :func:`carbonrisk.models.catalog.fit_model` returns one.
    """

    @property
    def name(self) -> str:
        """Model label, for example ``GARCH(1,1)-t``."""
        ...

    @property
    def last_date(self) -> pd.Timestamp:
        """Date of the last observation (default valuation date)."""
        ...

    def plan(
        self, grid: SimulationGrid, scenario: ScenarioCurve | None = None, anchor: MarketAnchor | None = None
    ) -> SimulationPlan:
        """The model's dynamics on ``grid`` as kernel arrays (what a worker of a distributed run simulates)."""
        ...

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
        """Simulate a path set on ``grid`` (with ``record_variance``, its ``variance`` too)."""
        ...

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
        """Simulate and keep only the summaries."""
        ...

    def expected_average_variance(self, variance_now: np.ndarray, n_days: int | np.ndarray) -> np.ndarray:
        """Mean of ``E[sigma^2_{t+k} | sigma^2_{t+1} = variance_now]`` over ``k = 1..n_days`` (daily, decimal)."""
        ...

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: model, data, parameters, diagnostics, policy, warnings."""
        ...
