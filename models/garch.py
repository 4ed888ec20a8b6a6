"""GARCH(1,1) on daily log-returns, fitted through ``arch``, simulated as reproducible path sets.

Model (returns in percent, ``r_t = 100 ln(S_t / S_{t-1})``)::

    r_t        = mu + eps_t,            eps_t = sigma_t z_t,   z_t ~ iid, E z = 0, Var z = 1
    sigma_t^2  = omega + alpha eps_{t-1}^2 + beta sigma_{t-1}^2

with ``z`` standard normal or standardised Student-t with ``nu > 2`` degrees of freedom. Persistence is
``alpha + beta``; the unconditional variance ``omega / (1 - alpha - beta)`` exists only below 1, and the half-life
of a volatility shock is ``ln 0.5 / ln(alpha + beta)`` days.

The specification (:class:`Garch`) is separate from the fitted result (:class:`GarchResult`), as in ``arch``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from arch import arch_model

from models.calendar import business_days_after
from models.data import PriceHistory
from models.exceptions import ConvergenceError, InputError, NonStationaryWarning
from models.paths import PathSet
from models.random import RngLike, iter_blocks, root_seed_sequence
from models.units import PERCENT, TRADING_DAYS_PER_YEAR

__all__ = ["PERSISTENCE_WARN", "Garch", "GarchResult"]

PERSISTENCE_WARN: float = 0.999
"""Persistence at or above which a fit is reported as non-stationary."""

Distribution = Literal["normal", "t"]


@dataclass(frozen=True)
class Garch:
    """GARCH(1,1) specification with a constant mean.

    Parameters
    ----------
    dist : {"normal", "t"}
        Distribution of the standardised innovations.
    """

    dist: Distribution = "t"

    def __post_init__(self) -> None:
        if self.dist not in ("normal", "t"):
            raise InputError(f"dist='{self.dist}' is not supported; choose 'normal' or 't'")

    @property
    def name(self) -> str:
        """Short label such as ``GARCH(1,1)-t``."""
        return f"GARCH(1,1)-{self.dist}"

    def fit(self, history: PriceHistory) -> GarchResult:
        """Fit by maximum likelihood (``arch``) to the daily log-returns of ``history``.

        Raises
        ------
        models.exceptions.ConvergenceError
            When the optimiser does not converge (its message is included).

        Warns
        -----
        models.exceptions.NonStationaryWarning
            When ``alpha + beta >= PERSISTENCE_WARN``.
        """
        returns_pct = history.log_returns * PERCENT
        if float(returns_pct.std()) == 0.0:
            raise InputError(f"prices of '{history.name}' are constant; a volatility model cannot be fitted")
        spec = arch_model(returns_pct, mean="Constant", vol="GARCH", p=1, q=1, dist=self.dist, rescale=False)
        res = spec.fit(disp="off", show_warning=False)
        if res.convergence_flag != 0:
            raise ConvergenceError(
                f"{self.name} fit on '{history.name}' did not converge: {res.optimization_result.message}"
            )
        params = res.params.rename({"alpha[1]": "alpha", "beta[1]": "beta"})
        std_err = res.std_err.rename({"alpha[1]": "alpha", "beta[1]": "beta"})
        next_var = float(res.forecast(horizon=1, reindex=False).variance.iloc[-1, 0])
        result = GarchResult(
            spec=self,
            params=params,
            std_err=std_err,
            loglikelihood=float(res.loglikelihood),
            aic=float(res.aic),
            bic=float(res.bic),
            n_obs=int(res.nobs),
            next_variance_pct2=next_var,
            last_price=history.last_price,
            last_date=history.last_date,
            data_name=history.name,
        )
        if result.persistence >= PERSISTENCE_WARN:
            message = (
                f"{self.name} fitted on '{history.name}' has persistence alpha+beta={result.persistence:.5f} "
                f">= {PERSISTENCE_WARN}: the variance process is not stationary and long simulations explode"
            )
            result.warnings.append(message)
            warnings.warn(message, NonStationaryWarning, stacklevel=2)
        return result


@dataclass
class GarchResult:
    """A fitted :class:`Garch`: labelled parameters (returns in percent), their standard errors, diagnostics."""

    spec: Garch
    params: pd.Series
    std_err: pd.Series
    loglikelihood: float
    aic: float
    bic: float
    n_obs: int
    next_variance_pct2: float
    """Conditional variance of the first out-of-sample day, in percent squared."""
    last_price: float
    last_date: pd.Timestamp
    data_name: str
    warnings: list[str] = field(default_factory=list)

    @property
    def persistence(self) -> float:
        """``alpha + beta``."""
        return float(self.params["alpha"] + self.params["beta"])

    @property
    def half_life_days(self) -> float:
        """Days for a variance shock to halve, ``ln 0.5 / ln(alpha + beta)``; infinite at persistence >= 1."""
        p = self.persistence
        return math.log(0.5) / math.log(p) if 0.0 < p < 1.0 else math.inf

    @property
    def unconditional_vol_annual(self) -> float:
        """Annualised unconditional volatility ``sqrt(omega / (1 - persistence) * 245) / 100``; inf if none."""
        p = self.persistence
        if p >= 1.0:
            return math.inf
        daily_var = float(self.params["omega"]) / (1.0 - p)
        return math.sqrt(daily_var * TRADING_DAYS_PER_YEAR) / PERCENT

    def to_frame(self) -> pd.DataFrame:
        """Parameters and standard errors as a frame."""
        return pd.DataFrame({"estimate": self.params, "std_err": self.std_err})

    def simulate(self, n_steps: int, n_paths: int, rng: RngLike = None) -> PathSet:
        """Simulate daily price paths from the last observed price.

        Parameters
        ----------
        n_steps : int
            Number of SSE business days after the last observation.
        n_paths : int
            Number of paths.
        rng : int, numpy.random.Generator or None
            Seed; blocks of paths follow :mod:`models.random`, so results do not depend on chunking.

        Returns
        -------
        PathSet
            Factor ``"CEA"`` (the fitted history) in CNY/t, ``n_steps + 1`` dates including the start.
        """
        if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps <= 0:
            raise InputError(f"n_steps={n_steps!r} must be a positive integer")
        root = root_seed_sequence(rng)
        mu = float(self.params["mu"])
        omega, alpha, beta = (float(self.params[k]) for k in ("omega", "alpha", "beta"))
        nu = float(self.params["nu"]) if self.spec.dist == "t" else math.inf
        prices = np.empty((n_steps + 1, n_paths))
        prices[0] = self.last_price
        for block in iter_blocks(n_paths, root):
            if self.spec.dist == "t":
                z = block.rng.standard_t(nu, size=(n_steps, block.size)) * math.sqrt((nu - 2.0) / nu)
            else:
                z = block.rng.standard_normal(size=(n_steps, block.size))
            var = np.full(block.size, self.next_variance_pct2)
            log_price = np.full(block.size, math.log(self.last_price))
            for t in range(n_steps):
                eps = np.sqrt(var) * z[t]
                log_price += (mu + eps) / PERCENT
                prices[t + 1, block.start : block.stop] = np.exp(log_price)
                var = omega + alpha * eps * eps + beta * var
        dates = pd.DatetimeIndex([self.last_date]).append(business_days_after(self.last_date, n_steps))
        meta = {"model": self.spec.name, "params": self.params.to_dict(), "warnings": list(self.warnings)}
        return PathSet(dates=dates, factors={"CEA": prices}, seed_entropy=_entropy(root), meta=meta)


def _entropy(root: np.random.SeedSequence) -> int | None:
    entropy = root.entropy
    return int(entropy) if isinstance(entropy, (int, np.integer)) else None
