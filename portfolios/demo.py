"""The walking-skeleton pipeline behind ``carbonrisk demo``.

Real CEA closes -> GARCH(1,1)-t fit (``arch``) -> 10 000 one-year daily price paths from the last close (fixed
seed) -> VaR and ES of a 1 000 000 t CEA holding at 1 and 10 trading days, 95 % and 99 % -> fan of the price path.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from models.data import PriceHistory, load_prices
from models.garch import Garch, GarchResult
from models.paths import DEFAULT_QUANTILES, PathSet
from models.quantities import PORTFOLIO_N_PATHS, PORTFOLIO_SEED
from models.validation import check
from portfolios.exceptions import InputError
from portfolios.risk import RiskFigure, var_es

__all__ = ["DEFAULT_HOLDING_T", "DEFAULT_PATHS", "DEFAULT_SEED", "DemoResult", "run_demo"]

DEFAULT_PATHS: int = 10_000
DEFAULT_SEED: int = 20240131
DEFAULT_HOLDING_T: float = 1_000_000.0
HORIZON_DAYS: int = 250
RISK_HORIZONS_DAYS: tuple[int, ...] = (1, 10)
RISK_LEVELS: tuple[float, ...] = (0.95, 0.99)


@dataclass
class DemoResult:
    """Everything the demo computed, ready for the summary table, the JSON and the HTML report."""

    history: PriceHistory
    fit: GarchResult
    paths: PathSet
    holding_t: float
    risk: list[RiskFigure]
    fan: pd.DataFrame
    seed: int
    elapsed_s: float
    warnings: list[str] = field(default_factory=list)

    def risk_table(self) -> pd.DataFrame:
        """VaR/ES per horizon and level, CNY."""
        rows = [
            {
                "horizon_days": f.horizon_days,
                "level": f.level,
                "var_cny": f.var,
                "var_se_cny": f.var_se,
                "es_cny": f.es,
                "es_se_cny": f.es_se,
            }
            for f in self.risk
        ]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the contents of ``summary.json``)."""
        fit = self.fit
        fan = self.fan
        return {
            "dataset": self.history.summary() | {"returns": None},
            "model": {
                "name": fit.spec.name,
                "params": {k: float(v) for k, v in fit.params.items()},
                "std_err": {k: float(v) for k, v in fit.std_err.items()},
                "loglikelihood": fit.loglikelihood,
                "aic": fit.aic,
                "bic": fit.bic,
                "persistence": fit.persistence,
                "returns_unit": "percent log-return per trading day",
            },
            "simulation": {
                "n_paths": self.paths.n_paths,
                "n_steps": self.paths.n_dates - 1,
                "start_date": str(self.paths.dates[0].date()),
                "end_date": str(self.paths.dates[-1].date()),
                "start_price_cny_per_t": fit.last_price,
                "seed": self.seed,
            },
            "holding_t": self.holding_t,
            "position_value_cny": self.holding_t * fit.last_price,
            "risk": [f.to_dict() for f in self.risk],
            "fan": {
                "dates": [str(d.date()) for d in fan.index],
                "quantiles": {col: [float(x) for x in fan[col]] for col in fan.columns},
            },
            "warnings": list(self.warnings),
            "elapsed_s": self.elapsed_s,
        }


def run_demo(
    n_paths: int = DEFAULT_PATHS,
    seed: int = DEFAULT_SEED,
    holding_t: float = DEFAULT_HOLDING_T,
    dataset: str = "cea",
) -> DemoResult:
    """Run the demo pipeline (see the module docstring); warnings raised on the way are collected, not lost."""
    check(PORTFOLIO_N_PATHS, n_paths, name="n_paths")
    check(PORTFOLIO_SEED, seed, name="seed")
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = load_prices(dataset)
        # a one-year horizon: simulate the fitted parameters as they are (the persistence policy is for long horizons)
        fit = Garch(dist="t", persistence_policy="none").fit(history)
        paths = fit.simulate(HORIZON_DAYS, n_paths, rng=seed)
    prices = paths["CEA"]
    risk = [
        var_es(holding_t * (prices[h] - prices[0]), level, horizon_days=h)
        for h in RISK_HORIZONS_DAYS
        for level in RISK_LEVELS
    ]
    fan = paths.quantiles("CEA", DEFAULT_QUANTILES)
    if not np.all(np.isfinite(prices)):
        raise InputError("simulated prices contain non-finite values")
    messages = list(dict.fromkeys(str(w.message) for w in caught))
    return DemoResult(
        history=history,
        fit=fit,
        paths=paths,
        holding_t=holding_t,
        risk=risk,
        fan=fan,
        seed=seed,
        elapsed_s=time.perf_counter() - start,
        warnings=messages,
    )
