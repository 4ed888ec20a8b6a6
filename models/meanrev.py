"""Mean-reverting log price: Ornstein-Uhlenbeck (Schwartz one-factor) and OU with GARCH innovations.

Ornstein-Uhlenbeck
------------------
::

    d ln S = kappa (theta(t) - ln S) dt + sigma dW

Exact transition over ``Delta`` (no Euler error)::

    x_{t+Delta} = theta + (x_t - theta) e^{-kappa Delta} + sigma sqrt((1 - e^{-2 kappa Delta}) / (2 kappa)) N(0, 1)

Log-likelihood, AIC and BIC are those of the daily changes in percent (``llf - n ln 100``), so they compare
directly with the GARCH-family fits on percent returns.

On daily data (``Delta`` = one trading day, 1/245 year) this is the AR(1) ``x_t = c + phi x_{t-1} + e_t`` with
``phi = e^{-kappa Delta}``, ``c = theta (1 - phi)``, ``Var e = sigma^2 (1 - phi^2) / (2 kappa)``. It is fitted by
conditional maximum likelihood of that exact discretisation (``statsmodels`` ``AutoReg``; Gaussian conditional ML
equals OLS), and the OU parameters follow with delta-method standard errors: ``kappa = -245 ln phi`` per year,
long-run level ``exp(theta)`` CNY/t, ``sigma`` per sqrt(year), half-life ``ln 2 / kappa`` years. Time is counted
in trading days throughout (the grid's trading days per step), consistently with the estimation.

With a scenario curve, theta(t) follows it so that the median log price follows the glide path of
:func:`carbonrisk.models.simulation.glide_path` (short-term behaviour from the data, long-run level from the scenario).

OU with GARCH innovations (two documented steps)
------------------------------------------------
1. the AR(1)/OU fit above on the log prices;
2. a GARCH-family model (zero mean, default GARCH(1,1)-t) fitted by ``arch`` on the AR(1) residuals in percent.

Simulation steps through every SSE trading day: ``x <- c_d + phi x + sigma_d z_d / 100`` with the GARCH recursion
for ``sigma_d`` and the persistence policy of :mod:`carbonrisk.models.garch`. (A joint ``arch`` ARX-GARCH fit was tried:
on CEA it puts the AR coefficient at 1.0009, i.e. no reversion, so the two-step estimator is the documented choice.)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.tsa.ar_model import AutoReg

from carbonrisk.models.data import PriceHistory
from carbonrisk.models.drift import MarketAnchor
from carbonrisk.models.exceptions import InputError
from carbonrisk.models.garch import MIN_FIT_OBS, Garch, GarchResult, ljung_box
from carbonrisk.models.grid import SimulationGrid
from carbonrisk.models.interface import SimulationPlan
from carbonrisk.models.sampler import DIST_CODES, VOL_CONSTANT
from carbonrisk.models.scenarios import ScenarioCurve
from carbonrisk.models.simulation import SimulatesPaths, median_target
from carbonrisk.models.units import PERCENT, TRADING_DAYS_PER_YEAR

__all__ = ["ArFit", "OUGarch", "OUGarchResult", "OUResult", "OrnsteinUhlenbeck", "fit_ar1"]


@dataclass(frozen=True)
class ArFit:
    """Conditional ML fit of ``x_t = c + phi x_{t-1} + e_t`` (per trading day) and its OU parameters."""

    c: float
    phi: float
    sigma_e: float
    cov: np.ndarray
    """Covariance of ``(c, phi)``."""
    n_obs: int
    loglikelihood: float
    residuals: np.ndarray

    @property
    def theta(self) -> float:
        """Long-run mean of the log price."""
        return self.c / (1.0 - self.phi)

    def ou_params(self) -> pd.Series:
        """``kappa`` (1/year), ``theta`` (log), ``long_run_cny_per_t``, ``sigma`` (1/sqrt(year)), half-life (years)."""
        return pd.Series(_ou_from_ar(self.c, self.phi, self.sigma_e))

    def ou_std_err(self) -> pd.Series:
        """Delta-method standard errors of :meth:`ou_params`."""
        base = np.array([self.c, self.phi, self.sigma_e])
        cov = np.zeros((3, 3))
        cov[:2, :2] = self.cov
        cov[2, 2] = self.sigma_e**2 / (2.0 * self.n_obs)
        names = list(_ou_from_ar(*base))
        jac = np.zeros((len(names), 3))
        for j in range(3):
            step = 1e-6 * max(abs(base[j]), 1e-4)
            up, dn = base.copy(), base.copy()
            up[j] += step
            dn[j] -= step
            f_up, f_dn = _ou_from_ar(*up), _ou_from_ar(*dn)
            jac[:, j] = [(f_up[k] - f_dn[k]) / (2 * step) for k in names]
        var = np.einsum("ij,jk,ik->i", jac, cov, jac)
        return pd.Series(np.sqrt(np.maximum(var, 0.0)), index=names)


def _ou_from_ar(c: float, phi: float, sigma_e: float) -> dict[str, float]:
    kappa_d = -math.log(phi)
    theta = c / (1.0 - phi)
    sigma_d = sigma_e * math.sqrt(2.0 * kappa_d / (1.0 - phi * phi))
    kappa = kappa_d * TRADING_DAYS_PER_YEAR
    return {
        "kappa": kappa,
        "theta": theta,
        "long_run_cny_per_t": math.exp(theta),
        "sigma": sigma_d * math.sqrt(TRADING_DAYS_PER_YEAR),
        "half_life_years": math.log(2.0) / kappa,
    }


def fit_ar1(log_prices: np.ndarray, label: str, *, require_reversion: bool = True) -> ArFit:
    """Fit the exact AR(1) discretisation of the OU process to ``log_prices`` (conditional ML, statsmodels).

    Raises
    ------
    carbonrisk.models.exceptions.InputError
        Too few observations, constant prices, or (with ``require_reversion``) an AR coefficient outside (0, 1),
        i.e. no mean reversion. Backtests pass ``require_reversion=False``: a window without reversion still gives
        a one-day forecast.
    """
    x = np.asarray(log_prices, dtype=float)
    if len(x) - 1 < MIN_FIT_OBS:
        raise InputError(f"'{label}' has {len(x) - 1} returns; a mean-reverting fit needs at least {MIN_FIT_OBS}")
    if float(np.std(np.diff(x))) == 0.0:
        raise InputError(f"prices of '{label}' are constant; a mean-reverting model cannot be fitted")
    res = AutoReg(x, lags=1, trend="c").fit()
    c, phi = (float(v) for v in res.params)
    if require_reversion and not 0.0 < phi < 1.0:
        raise InputError(
            f"AR(1) coefficient of ln price of '{label}' is phi={phi:.5f}; mean reversion needs 0 < phi < 1"
        )
    resid = np.asarray(res.resid, dtype=float)
    sigma_e = float(np.sqrt(np.mean(resid**2)))
    return ArFit(
        c=c,
        phi=phi,
        sigma_e=sigma_e,
        cov=np.asarray(res.cov_params(), dtype=float),
        n_obs=len(resid),
        loglikelihood=float(res.llf),
        residuals=resid,
    )


def _reversion_drift(
    x0: float,
    phi: np.ndarray,
    theta: float,
    start: pd.Timestamp,
    dates: pd.DatetimeIndex,
    scenario: ScenarioCurve | None,
    anchor: MarketAnchor | None = None,
    log_variance: Callable[[], np.ndarray] | None = None,
) -> np.ndarray:
    """Per-step constants ``c_i`` of ``x <- c_i + phi_i x`` (constant theta, the scenario glide path, or the
    anchor / glide target of :mod:`carbonrisk.models.drift`)."""
    if scenario is None:
        if anchor is not None:
            raise InputError("anchor needs a scenario to glide to; give scenario= as well")
        return (1.0 - phi) * theta
    target_path = median_target(
        x0, start, dates, scenario, anchor, log_variance if log_variance is not None else lambda: np.zeros(len(dates))
    )
    target = np.concatenate([[x0], target_path])
    return np.asarray(target[1:] - phi * target[:-1], dtype=float)


@dataclass(frozen=True)
class OrnsteinUhlenbeck:
    """Specification of the Ornstein-Uhlenbeck log-price model (Gaussian; see the module docstring)."""

    @property
    def name(self) -> str:
        """Model label."""
        return "OU"

    def fit(self, history: PriceHistory) -> OUResult:
        """Fit kappa, theta, sigma by conditional ML of the exact AR(1) discretisation."""
        ar = fit_ar1(np.log(history.prices.to_numpy()), history.name)
        n_params = 3
        diag = ljung_box(ar.residuals / ar.sigma_e)
        # the Gaussian log-likelihood of the daily changes measured in percent, like the GARCH-family fits
        ll_pct = ar.loglikelihood - ar.n_obs * math.log(PERCENT)
        return OUResult(
            spec=self,
            ar=ar,
            params=ar.ou_params(),
            std_err=ar.ou_std_err(),
            loglikelihood=ll_pct,
            aic=2 * n_params - 2 * ll_pct,
            bic=n_params * math.log(ar.n_obs) - 2 * ll_pct,
            n_obs=ar.n_obs,
            last_price=history.last_price,
            last_date=history.last_date,
            data_name=history.name,
            diagnostics=diag,
        )


@dataclass(frozen=True)
class OUResult(SimulatesPaths):
    """Fitted :class:`OrnsteinUhlenbeck`: ``params`` kappa (1/y), theta, long_run_cny_per_t, sigma, half_life_years.

    Frozen once built."""

    spec: OrnsteinUhlenbeck
    ar: ArFit
    params: pd.Series
    std_err: pd.Series
    loglikelihood: float
    aic: float
    bic: float
    n_obs: int
    last_price: float
    last_date: pd.Timestamp
    data_name: str
    diagnostics: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    policy_applied: str = "none (constant volatility)"

    @property
    def name(self) -> str:
        """Model label."""
        return "OU"

    @property
    def half_life_days(self) -> float:
        """Half-life of a deviation from the long-run level, trading days."""
        return math.log(0.5) / math.log(self.ar.phi)

    @property
    def persistence(self) -> float:
        """Daily AR(1) coefficient phi."""
        return self.ar.phi

    def to_frame(self) -> pd.DataFrame:
        """Parameters and standard errors."""
        return pd.DataFrame({"estimate": self.params, "std_err": self.std_err})

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "model": self.name,
            "data": self.data_name,
            "n_obs": self.n_obs,
            "params": {k: float(v) for k, v in self.params.items()},
            "std_err": {k: float(v) for k, v in self.std_err.items()},
            "ar1": {"c": self.ar.c, "phi": self.ar.phi, "sigma_e": self.ar.sigma_e},
            "loglikelihood": self.loglikelihood,
            "aic": self.aic,
            "bic": self.bic,
            "persistence": self.persistence,
            "half_life_days": self.half_life_days,
            "policy_applied": self.policy_applied,
            "diagnostics": self.diagnostics,
            "warnings": list(self.warnings),
        }

    def transition_moments(self, x0: float, days: int, theta: float | None = None) -> tuple[float, float]:
        """Mean and standard deviation of ``ln S`` after ``days`` trading days from ``x0`` (closed form)."""
        th = self.ar.theta if theta is None else theta
        phi_m = self.ar.phi**days
        sd = self.ar.sigma_e * math.sqrt((1.0 - phi_m * phi_m) / (1.0 - self.ar.phi**2))
        return th + (x0 - th) * phi_m, sd

    def expected_average_variance(self, variance_now: np.ndarray, n_days: int | np.ndarray) -> np.ndarray:
        """The constant daily variance ``sigma_e^2`` of the log-return innovations, broadcast to the inputs.

        Notes
        -----
        Constant volatility: ``E[sigma^2_{t+k}] = sigma_e^2`` for every ``k``, whatever ``variance_now``.
        """
        v, n = np.broadcast_arrays(np.asarray(variance_now, dtype=float), np.asarray(n_days))
        if not np.issubdtype(n.dtype, np.integer) or np.any(n < 1):
            raise InputError(f"n_days={n_days!r} must be integers >= 1")
        return np.full(v.shape, self.ar.sigma_e**2)

    def plan(
        self, grid: SimulationGrid, scenario: ScenarioCurve | None = None, anchor: MarketAnchor | None = None
    ) -> SimulationPlan:
        """Exact transitions from grid date to grid date."""
        m = grid.trading_days.astype(float)
        phi = self.ar.phi**m
        sd = self.ar.sigma_e * np.sqrt((1.0 - phi * phi) / (1.0 - self.ar.phi**2))
        x0 = math.log(self.last_price)

        def log_variance() -> np.ndarray:
            days = np.cumsum(grid.trading_days).astype(float)
            return np.asarray(self.ar.sigma_e**2 * (1.0 - self.ar.phi ** (2 * days)) / (1.0 - self.ar.phi**2))

        c = _reversion_drift(x0, phi, self.ar.theta, grid.start, grid.dates[1:], scenario, anchor, log_variance)
        n = grid.n_steps
        return SimulationPlan(
            x0=x0,
            h0=0.0,
            dist=DIST_CODES["normal"],
            nu=0.0,
            lam=0.0,
            vol=VOL_CONSTANT,
            omega=0.0,
            alpha=0.0,
            gamma=0.0,
            beta=0.0,
            c=c,
            phi=phi,
            sd=sd,
            record=np.arange(1, n + 1, dtype=np.int64),
            step_days=grid.trading_days,
            price0=self.last_price,
            daily_variance=self.ar.sigma_e**2,
            meta={
                "model": self.name,
                "data": self.data_name,
                "params": {k: float(v) for k, v in self.params.items()},
                "policy_applied": self.policy_applied,
                "scenario": scenario.name if scenario is not None else None,
                "warnings": list(self.warnings),
            },
        )


@dataclass(frozen=True)
class OUGarch:
    """Specification of the mean-reverting log price with GARCH-family innovations (two-step fit).

    Parameters
    ----------
    garch : Garch
        Innovation model (its mean is forced to zero); default GARCH(1,1)-t with the variance-target policy.
    """

    garch: Garch = field(default_factory=lambda: Garch(dist="t", mean="zero"))

    @property
    def name(self) -> str:
        """Model label such as ``OU-GARCH(1,1)-t``."""
        return f"OU-{self.garch.name}"

    def fit(self, history: PriceHistory) -> OUGarchResult:
        """Step 1: AR(1) on ln price; step 2: GARCH on its residuals (percent)."""
        ar = fit_ar1(np.log(history.prices.to_numpy()), history.name)
        spec = replace(self.garch, mean="zero")
        resid_pct = pd.Series(ar.residuals * PERCENT, index=history.prices.index[1:], name="ar1_residual_pct")
        res = spec.fit_arch(resid_pct, history.name)
        resid_history = PriceHistory(
            name=history.name, prices=history.prices, source=history.source, column=history.column
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            inner = GarchResult.from_arch(spec, res, resid_pct, resid_history)
        for w in caught:
            warnings.warn(f"OU-{w.message}", w.category, stacklevel=2)
        n_params = 2 + len(inner.params)
        ll = inner.loglikelihood
        return OUGarchResult(
            spec=self,
            ar=ar,
            garch=inner,
            loglikelihood=ll,
            aic=2 * n_params - 2 * ll,
            bic=n_params * math.log(ar.n_obs) - 2 * ll,
            n_obs=ar.n_obs,
            last_price=history.last_price,
            last_date=history.last_date,
            data_name=history.name,
        )


@dataclass(frozen=True)
class OUGarchResult(SimulatesPaths):
    """Fitted :class:`OUGarch`: AR(1)/OU part (``ar``, ``ou_params``) and the residual GARCH (``garch``); frozen."""

    spec: OUGarch
    ar: ArFit
    garch: GarchResult
    loglikelihood: float
    aic: float
    bic: float
    n_obs: int
    last_price: float
    last_date: pd.Timestamp
    data_name: str

    @property
    def name(self) -> str:
        """Model label."""
        return self.spec.name

    @property
    def params(self) -> pd.Series:
        """OU parameters (kappa, theta, long-run level, half-life) then the GARCH parameters."""
        ou = self.ar.ou_params().drop("sigma")
        return pd.concat([ou, self.garch.params])

    @property
    def std_err(self) -> pd.Series:
        """Standard errors aligned with :attr:`params` (step-1 errors for the OU part)."""
        return pd.concat([self.ar.ou_std_err().drop("sigma"), self.garch.std_err])

    @property
    def persistence(self) -> float:
        """Persistence of the residual variance process."""
        return self.garch.persistence

    @property
    def half_life_days(self) -> float:
        """Half-life of a price deviation from the reversion level, trading days."""
        return math.log(0.5) / math.log(self.ar.phi)

    @property
    def warnings(self) -> list[str]:
        """Warnings of the residual GARCH fit (non-stationarity and the policy applied)."""
        return [f"OU-{w}" for w in self.garch.warnings]

    @property
    def policy_applied(self) -> str:
        """Persistence policy applied to the residual GARCH."""
        return self.garch.policy_applied

    def to_frame(self) -> pd.DataFrame:
        """Parameters and standard errors."""
        return pd.DataFrame({"estimate": self.params, "std_err": self.std_err})

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary."""
        g = self.garch.summary()
        return {
            "model": self.name,
            "data": self.data_name,
            "n_obs": self.n_obs,
            "params": {k: float(v) for k, v in self.params.items()},
            "std_err": {k: float(v) for k, v in self.std_err.items()},
            "sim_params": g["sim_params"],
            "ar1": {"c": self.ar.c, "phi": self.ar.phi, "sigma_e": self.ar.sigma_e},
            "loglikelihood": self.loglikelihood,
            "aic": self.aic,
            "bic": self.bic,
            "persistence": self.persistence,
            "half_life_days": self.half_life_days,
            "variance_half_life_days": g["half_life_days"],
            "persistence_policy": g["persistence_policy"],
            "policy_applied": self.policy_applied,
            "guards": g["guards"],
            "diagnostics": self.garch.diagnostics,
            "warnings": self.warnings,
        }

    def plan(
        self, grid: SimulationGrid, scenario: ScenarioCurve | None = None, anchor: MarketAnchor | None = None
    ) -> SimulationPlan:
        """Daily steps: AR(1) reversion with the residual GARCH's innovations."""
        inner = self.garch.plan(grid, None)
        n = grid.n_days
        phi = np.full(n, self.ar.phi)
        x0 = math.log(self.last_price)

        def log_variance() -> np.ndarray:
            # V_k = phi^2 V_{k-1} + E sigma^2_{t+k}
            per_day = np.diff(np.concatenate([[0.0], self.garch.log_variance_days(n)]))
            out = np.empty(n)
            acc = 0.0
            for k in range(n):
                acc = self.ar.phi**2 * acc + per_day[k]
                out[k] = acc
            return out

        c = _reversion_drift(x0, phi, self.ar.theta, grid.start, grid.day_dates, scenario, anchor, log_variance)
        meta = dict(inner.meta) | {
            "model": self.name,
            "ou_params": {k: float(v) for k, v in self.ar.ou_params().items()},
            "scenario": scenario.name if scenario is not None else None,
            "warnings": self.warnings,
        }
        return SimulationPlan(
            x0=x0,
            h0=inner.h0,
            dist=inner.dist,
            nu=inner.nu,
            lam=inner.lam,
            vol=inner.vol,
            omega=inner.omega,
            alpha=inner.alpha,
            gamma=inner.gamma,
            beta=inner.beta,
            c=c,
            phi=phi,
            sd=np.zeros(n),
            record=grid.record_day,
            step_days=np.ones(n, dtype=np.int64),
            price0=self.last_price,
            meta=meta,
            z_max=inner.z_max,
            h_max=inner.h_max,
            innovations=inner.innovations,
        )

    def expected_average_variance(self, variance_now: np.ndarray, n_days: int | np.ndarray) -> np.ndarray:
        """Average expected daily variance of the residual GARCH (see
        :meth:`carbonrisk.models.garch.GarchResult.expected_average_variance`); the reversion adds nothing to it."""
        return self.garch.expected_average_variance(variance_now, n_days)
