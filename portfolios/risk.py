"""Value-at-risk and expected shortfall of simulated profit and loss, with Monte Carlo standard errors.

For losses ``L = -PnL`` and confidence level ``c`` (0.95, 0.99)::

    VaR_c = q_c(L)                         (empirical quantile, linear interpolation)
    ES_c  = E[L | L >= VaR_c]              (mean of the worst (1 - c) share of outcomes)

Standard errors (asymptotic, n paths):

* VaR: ``sqrt(c (1 - c) / n) / f(VaR_c)`` with the loss density ``f`` estimated by a symmetric difference of
  empirical quantiles (Kendall & Stuart; Jorion, *Value at Risk*, 3rd ed., 5.2.3);
* ES: ``sqrt((Var(L | L >= VaR) + c (ES - VaR)^2) / (n (1 - c)))`` (Manistre & Hancock 2005, *North American
  Actuarial Journal* 9(2), eq. 7; Yamai & Yoshiba 2002).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from carbonrisk.portfolios.exceptions import InputError

__all__ = ["RiskFigure", "var_es"]


@dataclass(frozen=True)
class RiskFigure:
    """VaR and ES of one P&L distribution at one confidence level, in the P&L's currency (positive = loss)."""

    level: float
    horizon_days: int
    var: float
    var_se: float
    es: float
    es_se: float
    n_paths: int

    def to_dict(self) -> dict[str, float]:
        """Plain dictionary (JSON-ready)."""
        return {k: float(v) for k, v in asdict(self).items()}


def var_es(pnl: np.ndarray, level: float, horizon_days: int = 1) -> RiskFigure:
    """VaR and ES of profit-and-loss samples ``pnl`` at confidence ``level`` (see the module docstring)."""
    if not 0.5 < level < 1.0:
        raise InputError(f"level={level} must lie in (0.5, 1)")
    losses = -np.asarray(pnl, dtype=float).ravel()
    n = losses.size
    if n < 100:
        raise InputError(f"pnl has {n} samples; at least 100 are needed for VaR/ES")
    if not np.all(np.isfinite(losses)):
        raise InputError("pnl contains non-finite values")
    var = float(np.quantile(losses, level))
    tail = losses[losses >= var]
    es = float(tail.mean())
    h = min(0.5 * (1.0 - level), max(0.1 * (1.0 - level), 20.0 / n))  # density bandwidth in probability
    lo, hi = np.quantile(losses, [level - h, level + h])
    density = 2.0 * h / (hi - lo) if hi > lo else math.inf
    var_se = math.sqrt(level * (1.0 - level) / n) / density if math.isfinite(density) else 0.0
    tail_var = float(tail.var(ddof=1)) if tail.size > 1 else 0.0
    es_se = math.sqrt((tail_var + level * (es - var) ** 2) / (n * (1.0 - level)))
    return RiskFigure(level, horizon_days, var, var_se, es, es_se, n)
