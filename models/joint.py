"""Joint CEA / CCER paths: CCER = CEA x exp(-basis), the basis mean-reverting with correlated shocks.

Model::

    CCER_t = CEA_t exp(-b_t),      d b = kappa_b (m_b - b) dt + sigma_b dW_b,      corr(dW_b, CEA shock) = rho

simulated with the exact OU transition of ``b`` on every step of the CEA model (trading days, 245 per year), its
shock ``rho z + sqrt(1 - rho^2) n`` built from the CEA model's own standardised innovation ``z`` of that step and an
independent normal ``n`` (see :mod:`carbonrisk.models.sampler`).

Default parameters (:class:`BasisParams`), documented assumptions:

* ``mean_basis = ln(89.66 / 70) = 0.2475``: CCER traded around 70 CNY/t (cumulative turnover 650 million CNY over
  9.2194 Mt, DOMAIN.md section 1) while CEA averaged 89.66 CNY/t over its 2024 closes in the embedded history,
  i.e. CCER at a 22 % discount;
* ``kappa = 2.0`` per year (half-life of a basis shock about 4 months: the discount is set by the 5 % offset cap
  and policy, not by a random walk);
* ``sigma = 0.20`` per sqrt(year) and ``rho = 0.3`` (CCER partly follows CEA moves);
* ``b0 = mean_basis`` unless given.

:func:`fit_basis` estimates them instead when a CCER price series is supplied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from carbonrisk.models.data import PriceHistory
from carbonrisk.models.drift import MarketAnchor
from carbonrisk.models.exceptions import InputError
from carbonrisk.models.garch import MIN_FIT_OBS
from carbonrisk.models.grid import SimulationGrid
from carbonrisk.models.interface import BasisPlan, PriceModelResult, SimulationPlan
from carbonrisk.models.meanrev import fit_ar1
from carbonrisk.models.scenarios import ScenarioCurve
from carbonrisk.models.simulation import SimulatesPaths
from carbonrisk.models.units import TRADING_DAYS_PER_YEAR

__all__ = ["DEFAULT_CCER_DISCOUNT", "BasisParams", "JointCeaCcer", "fit_basis"]

DEFAULT_CCER_DISCOUNT: float = 70.0 / 89.66
"""CCER / CEA price ratio of the default basis (see the module docstring)."""


@dataclass(frozen=True)
class BasisParams:
    """Parameters of the CEA/CCER log basis ``b = ln(CEA / CCER)``."""

    mean_basis: float = -math.log(DEFAULT_CCER_DISCOUNT)
    kappa: float = 2.0
    """Mean-reversion speed, 1/year."""
    sigma: float = 0.20
    """Volatility, 1/sqrt(year)."""
    rho: float = 0.3
    """Correlation of basis shocks with the CEA model's innovations."""
    b0: float | None = None
    """Starting basis (default ``mean_basis``)."""

    def __post_init__(self) -> None:
        if not (self.kappa > 0 and math.isfinite(self.kappa)):
            raise InputError(f"basis kappa={self.kappa} must be a finite number > 0")
        if not (self.sigma >= 0 and math.isfinite(self.sigma)):
            raise InputError(f"basis sigma={self.sigma} must be a finite number >= 0")
        if not -1.0 <= self.rho <= 1.0:
            raise InputError(f"basis rho={self.rho} must lie in [-1, 1]")
        if not math.isfinite(self.mean_basis):
            raise InputError(f"mean_basis={self.mean_basis} must be finite")

    def plan(self, step_days: np.ndarray) -> BasisPlan:
        """Exact per-step transition arrays for steps of ``step_days`` trading days."""
        years = np.asarray(step_days, dtype=float) / TRADING_DAYS_PER_YEAR
        decay = np.exp(-self.kappa * years)
        sd = self.sigma * np.sqrt((1.0 - decay * decay) / (2.0 * self.kappa))
        b0 = self.mean_basis if self.b0 is None else self.b0
        return BasisPlan(b0=b0, mean=np.full(len(years), self.mean_basis), decay=decay, sd=sd, rho=self.rho)

    def to_dict(self) -> dict[str, Any]:
        """Plain values."""
        return {
            "mean_basis": self.mean_basis,
            "ccer_cea_ratio": math.exp(-self.mean_basis),
            "kappa": self.kappa,
            "sigma": self.sigma,
            "rho": self.rho,
            "b0": self.mean_basis if self.b0 is None else self.b0,
        }


def fit_basis(cea: PriceHistory, ccer: PriceHistory) -> BasisParams:
    """Fit :class:`BasisParams` on the common dates of a CEA and a CCER history.

    The basis ``ln(CEA / CCER)`` is fitted as an AR(1)/OU process (:func:`carbonrisk.models.meanrev.fit_ar1`); ``rho``
    is the correlation of its residuals with the CEA log-returns of the same days; ``b0`` is the last basis.
    """
    common = cea.prices.index.intersection(ccer.prices.index)
    if len(common) - 1 < MIN_FIT_OBS:
        raise InputError(
            f"CEA '{cea.name}' and CCER '{ccer.name}' share {len(common)} dates; at least {MIN_FIT_OBS + 1} needed"
        )
    basis = np.log(cea.prices.loc[common].to_numpy()) - np.log(ccer.prices.loc[common].to_numpy())
    ar = fit_ar1(basis, f"basis {cea.name}/{ccer.name}")
    ou = ar.ou_params()
    cea_returns = np.diff(np.log(cea.prices.loc[common].to_numpy()))
    rho = float(np.corrcoef(ar.residuals, cea_returns)[0, 1])
    return BasisParams(
        mean_basis=float(ou["theta"]), kappa=float(ou["kappa"]), sigma=float(ou["sigma"]), rho=rho, b0=float(basis[-1])
    )


@dataclass(frozen=True)
class JointCeaCcer(SimulatesPaths):
    """Any fitted CEA model plus a CEA/CCER basis; path sets hold factors ``"CEA"`` and ``"CCER"``.

    Parameters
    ----------
    cea : PriceModelResult
        A fitted CEA model (GarchResult, OUResult, OUGarchResult...).
    basis : BasisParams
        Basis parameters (documented defaults or :func:`fit_basis`).
    """

    cea: PriceModelResult
    basis: BasisParams

    @property
    def name(self) -> str:
        """Model label."""
        return f"{getattr(self.cea, 'name', 'model')}+CCER-basis"

    @property
    def last_date(self) -> pd.Timestamp:
        """Valuation date of the CEA model."""
        return self.cea.last_date

    def expected_average_variance(self, variance_now: np.ndarray, n_days: int | np.ndarray) -> np.ndarray:
        """The CEA model's average expected daily variance (``PathSet.variance`` records CEA only)."""
        fn = getattr(self.cea, "expected_average_variance", None)
        if fn is None:
            raise InputError(f"the CEA model {type(self.cea).__name__} has no expected_average_variance")
        return np.asarray(fn(variance_now, n_days))

    def summary(self) -> dict[str, Any]:
        """The CEA model's summary, labelled with the joint model and its basis parameters."""
        return dict(self.cea.summary()) | {"model": self.name, "basis": self.basis.to_dict()}

    def plan(
        self, grid: SimulationGrid, scenario: ScenarioCurve | None = None, anchor: MarketAnchor | None = None
    ) -> SimulationPlan:
        """The CEA model's plan with the basis arrays added."""
        base = self.cea.plan(grid, scenario, anchor)
        meta = dict(base.meta) | {"model": self.name, "basis": self.basis.to_dict()}
        return replace(base, basis=self.basis.plan(base.step_days), meta=meta)
