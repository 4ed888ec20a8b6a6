"""Model names used by the command line and notebooks, and the default model chosen by the VaR backtests.

``garch``, ``gjr``, ``egarch`` (random walk in log price with GARCH-family returns, :mod:`models.garch`), ``ou``
(Ornstein-Uhlenbeck, :mod:`models.meanrev`) and ``ou-garch`` (OU with GARCH(1,1) innovations), each with
``normal``, ``t`` or ``skewt`` innovations (``ou`` is Gaussian only).

Default model
-------------
Walk-forward 1-day VaR backtests (rolling 500-return window, refit every 20 days, 95 % and 99 %) on CEA and HBEA:
no model passes both Kupiec and Christoffersen conditional coverage at 5 % at both levels on both series (table in
README.md and notebooks/01). CEA's illiquidity (23 % zero returns) makes every fat-tailed fit too narrow at 95 %,
while HBEA rejects every Gaussian model at 99 %. Following the issue's rule, the default is the best by conditional
coverage: the model whose smallest conditional-coverage p-value over the two series and two levels is largest,
GARCH(1,1) with normal innovations (see :func:`models.backtest.rank_by_coverage`, checked by a slow test).
"""

from __future__ import annotations

from typing import Any

from models.data import PriceHistory
from models.exceptions import InputError
from models.garch import DISTRIBUTIONS, PERSISTENCE_POLICIES, Garch
from models.meanrev import OrnsteinUhlenbeck, OUGarch

__all__ = ["DEFAULT_DIST", "DEFAULT_MODEL", "MODEL_NAMES", "fit_model", "make_spec"]

MODEL_NAMES: tuple[str, ...] = ("garch", "gjr", "egarch", "ou", "ou-garch")
DEFAULT_MODEL: str = "garch"
DEFAULT_DIST: str = "normal"

Spec = Garch | OrnsteinUhlenbeck | OUGarch


def make_spec(
    model: str | None = None,
    dist: str | None = None,
    *,
    persistence_policy: str = "variance-target",
    persistence_cap: float = 0.99,
) -> Spec:
    """Specification for a model name (default :data:`DEFAULT_MODEL`) and innovation law (default normal).

    Raises
    ------
    models.exceptions.InputError
        Unknown model or distribution, or a non-normal law for ``ou``.
    """
    name = DEFAULT_MODEL if model is None else str(model).strip().lower()
    law = DEFAULT_DIST if dist is None else str(dist).strip().lower()
    if name not in MODEL_NAMES:
        raise InputError(f"model='{model}' is unknown; choose one of {', '.join(MODEL_NAMES)}")
    if law not in DISTRIBUTIONS:
        raise InputError(f"dist='{dist}' is unknown; choose one of {', '.join(DISTRIBUTIONS)}")
    if persistence_policy not in PERSISTENCE_POLICIES:
        raise InputError(
            f"persistence_policy='{persistence_policy}' is unknown; choose one of {', '.join(PERSISTENCE_POLICIES)}"
        )
    if name == "ou":
        if law != "normal":
            raise InputError(f"dist='{law}' is not available for model 'ou' (Gaussian by construction); use normal")
        return OrnsteinUhlenbeck()
    kwargs: dict[str, Any] = {
        "dist": law,
        "persistence_policy": persistence_policy,
        "persistence_cap": persistence_cap,
    }
    if name == "ou-garch":
        return OUGarch(Garch(mean="zero", **kwargs))
    return Garch(vol=name, **kwargs)  # type: ignore[arg-type]


def fit_model(history: PriceHistory, model: str | None = None, dist: str | None = None, **policy: Any) -> Any:
    """Fit ``make_spec(model, dist, **policy)`` to ``history`` and return the fitted result."""
    return make_spec(model, dist, **policy).fit(history)
