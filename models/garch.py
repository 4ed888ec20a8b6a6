"""GARCH family on daily log-returns (GARCH, GJR-GARCH, EGARCH), fitted through ``arch``, simulated as path sets.

Model (returns in percent, ``r_t = 100 ln(S_t / S_{t-1})``)::

    r_t = mu + eps_t,    eps_t = sigma_t z_t,    z_t iid, E z = 0, Var z = 1   (mu = 0 with mean="zero")

    GARCH(1,1)        sigma_t^2 = omega + alpha eps_{t-1}^2 + beta sigma_{t-1}^2
    GJR-GARCH(1,1,1)  sigma_t^2 = omega + (alpha + gamma 1[eps_{t-1} < 0]) eps_{t-1}^2 + beta sigma_{t-1}^2
    EGARCH(1,1,1)     ln sigma_t^2 = omega + alpha (|z_{t-1}| - sqrt(2/pi)) + gamma z_{t-1} + beta ln sigma_{t-1}^2

with ``z`` standard normal, standardised Student-t (``nu > 2``) or Hansen's skewed t (``nu``, ``lambda``), exactly
as ``arch`` defines them (EGARCH keeps arch's constant ``sqrt(2/pi)`` for every distribution), or, with
``dist="empirical"``, **filtered historical simulation** (Barone-Adesi, Giannopoulos and Vosper 1999): GARCH/GJR
fitted by Gaussian quasi-maximum likelihood and ``z`` drawn with replacement from the fit's standardised residuals
(centred and scaled to unit variance unless the policy is ``"none"``, in which case they are exactly the residuals
``arch``'s ``forecast(method="bootstrap")`` draws). Illiquid days: about 23 % of CEA's returns are exactly zero.
FHS keeps those days in the residual sample, so the simulated return is (near) zero with the observed frequency
and the volatility is estimated on every day; the parametric t, by contrast, lowers ``nu`` to about 3 to fit the
spike at zero (see the variance-target policy below).

Persistence is ``alpha + beta`` (GARCH), ``alpha + kappa gamma + beta`` with ``kappa = E[z^2 1(z<0)]`` (GJR) and
``beta`` (EGARCH); the half-life of a volatility shock is ``ln 0.5 / ln(persistence)`` trading days.

Persistence policy
------------------
Daily carbon-price fits sit on the stationarity boundary (CEA GARCH(1,1)-t: alpha 0.25 + beta 0.75 = 1.0000; HBEA:
0.66 + 0.34). When persistence >= :data:`PERSISTENCE_WARN` the fit raises
:class:`~carbonrisk.models.exceptions.NonStationaryWarning`. The simulation parameters follow the spec's
``persistence_policy`` (recorded in the result as ``policy_applied`` and in every path set's meta):

``"variance-target"`` (default; applied to every fit, stationary or not)
    the long-run mean of the simulated daily variance equals the sample variance of the returns (of the AR(1)
    residuals for OU-GARCH), and the simulated variance is a quantity a finite simulation can estimate:

    1. persistence above ``persistence_cap`` (default 0.99) is scaled down to it (alpha, gamma, beta; beta alone
       for EGARCH);
    2. a Student-t / skewed-t ``nu`` below :data:`NU_SIM_MIN` (5) is raised to it: with ``nu <= 4`` the fourth
       moment is infinite, the sample variance of simulated returns does not settle, and with the 20-sd guard
       about half the variance went missing (measured on main: ratio 0.32-0.50 of the target);
    3. the variance of the conditional variance is bounded, ``E sigma^4 / (E sigma^2)^2 <=``
       :data:`VARIANCE_RATIO_MAX` (4): for GARCH/GJR ``E[(a(z) z^2 + beta)^2] = p^2 + s^2 (B - A^2)`` with
       ``a(z) = alpha + gamma 1(z < 0)``, ``A = E[a(z) z^2]``, ``B = E[a(z)^2 z^4]``, and
       ``E sigma^4 / (E sigma^2)^2 = (1 - p^2) / (1 - E[(a(z) z^2 + beta)^2])``; alpha and gamma are scaled by
       ``s`` and beta raised to keep the persistence ``p``. Without this bound (CEA: alpha 0.25 at persistence
       0.99) the mean variance is carried by rare explosions a simulation clips or misses (ratio 0.87);
    4. omega is set so the mean variance is the sample variance: ``omega = s^2 (1 - p)`` (GARCH/GJR), and for
       EGARCH, whose ``ln sigma^2 = omega / (1 - beta) + sum_k beta^k g(z_{t-1-k})``, ``E sigma^2 =
       exp(omega / (1 - beta)) prod_k E exp(beta^k g(z))`` in closed form for normal ``z``
       (:func:`egarch_moments`; targeting ``E ln sigma^2`` instead gave 1.38 times the variance);
    5. EGARCH with t / skewed-t innovations is refused for simulation (``E exp(alpha |z|)`` is infinite: there is
       no variance to target); the message names EGARCH-normal and GARCH/GJR with the same law.
``"cap"``
    scale the coefficients to ``persistence_cap`` and keep the fitted omega (non-stationary fits only);
``"none"``
    simulate the fitted parameters as they are (variance paths may explode over long horizons).

The fitted (reported) parameters never change; only the simulation parameters (``sim_params``) do. Changes made
to a stationary fit are reported as :class:`~carbonrisk.models.exceptions.SimulationPolicyWarning`.

Simulation guards
-----------------
Two bounds keep multi-decade simulations finite under every policy except ``"none"``: standardised innovations
are clipped to ``+-`` :data:`Z_MAX` (20 standard deviations) and the conditional variance to at most
:data:`VARIANCE_CEILING` (100) times the sample variance, i.e. a daily volatility of at most 10 times the sample
one. Under ``variance-target`` they practically never bind (nu >= 5: ``P(|z| > 20) < 1e-6``; the bounded
variance of the variance keeps ``sigma^2 > 100 s^2`` rare); under ``"cap"`` they keep EGARCH-t (CEA: nu = 2.05)
finite, which without them overflows to inf/NaN in 6 % of the values of a 20-year, 100 000-path simulation.

Components
----------
A :class:`Garch` specification names two component objects, :attr:`Garch.process` (a
:class:`carbonrisk.models.volatility.VolatilityProcess`: GARCH, GJR, EGARCH) and :attr:`Garch.law` (a
:class:`carbonrisk.models.innovations.InnovationLaw`: normal, t, skewed t, empirical), as ``arch`` composes a
``VolatilityProcess`` and a ``Distribution``. The process owns the persistence, the policies above, the long-run
variance and its kernel code and state; the law owns its moments, its part of the policy (the ``nu`` floor), its
kernel code and shape and, for FHS, the residual sample. :class:`GarchResult` is frozen once built.

Determinism of the fits
-----------------------
A fit is a pure function of the data: SLSQP (``arch``'s optimiser) starts from :func:`starting_values`, computed
explicitly from the estimation window by ``arch``'s data-based rule (no random starts), and runs with the stated
tolerances :data:`FIT_FTOL` and :data:`FIT_EPS` (scipy's defaults, so stating them changed no number) and
``max_iter``. Fitting twice, or on a copy of the data in another memory layout, gives the same parameters bit for
bit (``tests/models/test_fit_determinism.py``). What remains environment-dependent: the floating-point results of
the libraries themselves, i.e. the versions of ``arch``, ``scipy`` (SLSQP, whose implementation changed in 1.16),
``numpy`` (reductions, ``log``/``exp`` of the platform's math library), ``statsmodels`` (the AR(1) fit of the OU
models) and the BLAS/LAPACK numpy links (the AR(1) least squares and arch's covariance); the CPU's instruction set
can change the last bits of vectorised reductions. ``requirements.lock`` pins the versions and the run ledger
records the environment, so ``runs rerun`` compares exactly in the same environment and with a stated tolerance
otherwise.

Conditional variance of a path set
----------------------------------
``simulate(..., record_variance=True)`` also stores, at every grid date, the conditional daily variance of the
next log-return (decimal; ``PathSet.variance["CEA"]``), and :meth:`GarchResult.expected_average_variance` gives
the average expected daily variance over a horizon from any current variance (used to revalue options at a
horizon with the model's own volatility state).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from arch import arch_model
from arch.univariate.base import ARCHModelResult
from statsmodels.stats.diagnostic import acorr_ljungbox

from carbonrisk.models.data import PriceHistory
from carbonrisk.models.drift import MarketAnchor
from carbonrisk.models.exceptions import ConvergenceError, InputError, NonStationaryWarning, SimulationPolicyWarning
from carbonrisk.models.grid import SimulationGrid
from carbonrisk.models.innovations import LAWS, NU_SIM_MIN, InnovationLaw, fhs_innovations
from carbonrisk.models.interface import SimulationPlan
from carbonrisk.models.scenarios import ScenarioCurve
from carbonrisk.models.simulation import SimulatesPaths, median_target
from carbonrisk.models.units import PERCENT, TRADING_DAYS_PER_YEAR
from carbonrisk.models.volatility import PROCESSES, VARIANCE_RATIO_MAX, VolatilityProcess, egarch_moments

__all__ = [
    "DISTRIBUTIONS",
    "FIT_EPS",
    "FIT_FTOL",
    "MIN_FIT_OBS",
    "NU_SIM_MIN",
    "PERSISTENCE_POLICIES",
    "PERSISTENCE_WARN",
    "VARIANCE_CEILING",
    "VARIANCE_RATIO_MAX",
    "VOLATILITIES",
    "Z_MAX",
    "Garch",
    "GarchResult",
    "egarch_moments",
    "fhs_innovations",
    "law_moments",
    "ljung_box",
    "persistence_of",
    "starting_values",
]

PERSISTENCE_WARN: float = 0.999
"""Persistence at or above which a fit is reported as non-stationary and the policy applies."""
MIN_FIT_OBS: int = 100
"""Fewest returns a volatility model is fitted on."""
DISTRIBUTIONS: tuple[str, ...] = tuple(LAWS)
"""Innovation laws (:data:`carbonrisk.models.innovations.LAWS`); ``empirical`` is filtered historical simulation
(Gaussian QMLE, bootstrapped residuals)."""
VOLATILITIES: tuple[str, ...] = tuple(PROCESSES)
"""Volatility processes (:data:`carbonrisk.models.volatility.PROCESSES`)."""
PERSISTENCE_POLICIES: tuple[str, ...] = ("variance-target", "cap", "none")
LJUNG_BOX_LAGS: int = 10
Z_MAX: float = 20.0
"""Standardised innovations are clipped to +-Z_MAX in simulation (not under policy "none")."""
VARIANCE_CEILING: float = 100.0
"""Simulated conditional variance is capped at this multiple of the sample variance (not under policy "none")."""
FIT_FTOL: float = 1e-6
"""SLSQP stopping tolerance on the change of the negative log-likelihood (scipy's default, stated explicitly)."""
FIT_EPS: float = float(np.sqrt(np.finfo(float).eps))
"""SLSQP finite-difference step of the numerical gradient (scipy's default ``sqrt(machine eps)``, stated)."""

Distribution = Literal["normal", "t", "skewt", "empirical"]
Volatility = Literal["garch", "gjr", "egarch"]
PersistencePolicy = Literal["variance-target", "cap", "none"]
_RENAME = {"alpha[1]": "alpha", "gamma[1]": "gamma", "beta[1]": "beta", "eta": "nu"}


def ljung_box(values: np.ndarray | pd.Series, lags: int = LJUNG_BOX_LAGS) -> dict[str, float]:
    """Ljung-Box Q statistic and p-value at ``lags`` for ``values`` and for their squares."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    lb = acorr_ljungbox(v, lags=[lags])
    lb2 = acorr_ljungbox(v * v, lags=[lags])
    return {
        "lags": float(lags),
        "q": float(lb["lb_stat"].iloc[0]),
        "pvalue": float(lb["lb_pvalue"].iloc[0]),
        "q_squared": float(lb2["lb_stat"].iloc[0]),
        "pvalue_squared": float(lb2["lb_pvalue"].iloc[0]),
    }


def starting_values(model: Any) -> np.ndarray:
    """Starting values of an ``arch`` fit of ``model`` on all of its data, computed explicitly.

    The rule is ``arch``'s own and a pure function of the data (no random starts): mean parameters from the
    sample (``mu`` = mean return for a constant mean), volatility parameters from the process's grid search over
    its coefficients at a variance-targeted ``omega`` (``VolatilityProcess.starting_values`` of ``arch``), shape
    parameters from the standardised residuals at those values (``Distribution.starting_values``: ``nu`` from the
    residuals' kurtosis, ``lambda = 0``). Passing them to the fit gives the same optimisation bit for bit as
    ``arch``'s default (tested); computing them here makes them part of the recorded fit.
    """
    model._adjust_sample(None, None)  # what arch's fit does first: the estimation sample is all of the data
    mean_sv = np.asarray(model.starting_values(), dtype=float)
    resids = np.asarray(model.resids(mean_sv), dtype=float)
    vol = model.volatility
    backcast = vol.backcast(resids)
    vol_sv = np.asarray(vol.starting_values(resids), dtype=float)
    sigma2 = np.zeros(resids.shape[0], dtype=float)
    vol.compute_variance(vol_sv, resids, sigma2, backcast, vol.variance_bounds(resids))
    dist_sv = np.asarray(model.distribution.starting_values(resids / np.sqrt(sigma2)), dtype=float)
    return np.ascontiguousarray(np.hstack([mean_sv, vol_sv, dist_sv]))


@dataclass(frozen=True)
class Garch:
    """Specification of a GARCH-family model on daily log-returns (see the module docstring).

    The names select two component objects: :attr:`law` (:mod:`carbonrisk.models.innovations`) and :attr:`process`
    (:mod:`carbonrisk.models.volatility`), which own the parameters, persistence, policies and kernel codes.

    Parameters
    ----------
    dist : {"t", "normal", "skewt", "empirical"}
        Distribution of the standardised innovations (``empirical``: filtered historical simulation).
    vol : {"garch", "gjr", "egarch"}
        Volatility process.
    mean : {"constant", "zero"}
        Mean of the returns.
    persistence_policy : {"variance-target", "cap", "none"}
        What the simulation does when persistence >= :data:`PERSISTENCE_WARN`.
    persistence_cap : float
        Persistence the simulation parameters are scaled to by the policy, in (0, 1).
    max_iter : int
        Optimiser iteration limit (a fit that hits it raises ConvergenceError).
    """

    dist: Distribution = "t"
    vol: Volatility = "garch"
    mean: Literal["constant", "zero"] = "constant"
    persistence_policy: PersistencePolicy = "variance-target"
    persistence_cap: float = 0.99
    max_iter: int = 1000

    def __post_init__(self) -> None:
        if self.dist not in DISTRIBUTIONS:
            raise InputError(f"dist='{self.dist}' is not supported; choose one of {', '.join(DISTRIBUTIONS)}")
        if self.vol not in VOLATILITIES:
            raise InputError(f"vol='{self.vol}' is not supported; choose one of {', '.join(VOLATILITIES)}")
        if self.law.bootstraps and not self.process.offers_bootstrap:
            raise InputError(
                "dist='empirical' (filtered historical simulation) is available for garch and gjr, not egarch"
            )
        if self.mean not in ("constant", "zero"):
            raise InputError(f"mean='{self.mean}' is not supported; choose 'constant' or 'zero'")
        if self.persistence_policy not in PERSISTENCE_POLICIES:
            raise InputError(
                f"persistence_policy='{self.persistence_policy}' is not supported; "
                f"choose one of {', '.join(PERSISTENCE_POLICIES)}"
            )
        if not 0.0 < self.persistence_cap < 1.0:
            raise InputError(f"persistence_cap={self.persistence_cap} must lie in (0, 1)")
        if self.max_iter <= 0:
            raise InputError(f"max_iter={self.max_iter} must be > 0")

    @property
    def law(self) -> InnovationLaw:
        """The innovation law component of :attr:`dist`."""
        return LAWS[self.dist]

    @property
    def process(self) -> VolatilityProcess:
        """The volatility process component of :attr:`vol`."""
        return PROCESSES[self.vol]

    @property
    def name(self) -> str:
        """Short label such as ``GARCH(1,1)-t``."""
        return f"{self.process.label}-{self.law.name}"

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Labels of the fitted parameters: the mean's (``mu``), the process's, then the law's shape."""
        return (("mu",) if self.mean == "constant" else ()) + self.process.parameter_names + self.law.shape_names

    def arch_model(self, returns_pct: pd.Series | np.ndarray) -> Any:
        """The equivalent ``arch`` model on ``returns_pct`` (percent log-returns)."""
        mean: Literal["Constant", "Zero"] = "Constant" if self.mean == "constant" else "Zero"
        proc = self.process
        return arch_model(
            returns_pct, mean=mean, vol=proc.arch_vol, p=1, o=proc.arch_o, q=1, dist=self.law.arch_name, rescale=False
        )

    def fit_arch(
        self,
        returns_pct: pd.Series,
        label: str,
        *,
        first_obs: int | None = None,
        last_obs: int | None = None,
        starting_values: np.ndarray | None = None,
    ) -> ARCHModelResult:
        """Fit through ``arch`` and check the outcome (too few observations, constant data, non-convergence).

        SLSQP runs with the stated :data:`FIT_FTOL`, :data:`FIT_EPS` and ``max_iter``, from ``starting_values`` or,
        when none are given, from :func:`starting_values` of the estimation window (module docstring,
        "Determinism of the fits").
        """
        window = returns_pct.iloc[first_obs:last_obs]
        if len(window) < MIN_FIT_OBS:
            raise InputError(f"'{label}' has {len(window)} returns; {self.name} needs at least {MIN_FIT_OBS}")
        if float(window.std()) == 0.0:
            raise InputError(f"prices of '{label}' are constant; a volatility model cannot be fitted")
        model = self.arch_model(returns_pct)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = _starting_values(self, window) if starting_values is None else starting_values
            res = model.fit(
                disp="off",
                show_warning=False,
                first_obs=first_obs,
                last_obs=last_obs,
                starting_values=start,
                options={"maxiter": self.max_iter, "ftol": FIT_FTOL, "eps": FIT_EPS},
            )
        if res.convergence_flag != 0:
            raise ConvergenceError(f"{self.name} fit on '{label}' did not converge: {res.optimization_result.message}")
        return res

    def fit(self, history: PriceHistory) -> GarchResult:
        """Fit by maximum likelihood (``arch``) to the daily log-returns of ``history``.

        Raises
        ------
        carbonrisk.models.exceptions.InputError
            Fewer than :data:`MIN_FIT_OBS` returns, or constant prices.
        carbonrisk.models.exceptions.ConvergenceError
            When the optimiser does not converge (its message is included).

        Warns
        -----
        carbonrisk.models.exceptions.NonStationaryWarning
            When persistence >= :data:`PERSISTENCE_WARN` (the policy applied is named).
        """
        returns_pct = history.log_returns * PERCENT
        res = self.fit_arch(returns_pct, history.name)
        return GarchResult.from_arch(self, res, returns_pct, history)


def _starting_values(spec: Garch, window: pd.Series) -> np.ndarray:
    """:func:`starting_values` of ``spec``'s ``arch`` model on the estimation window (contiguous copy)."""
    return starting_values(spec.arch_model(np.ascontiguousarray(window.to_numpy(dtype=float))))


def law_moments(spec: Garch, params: pd.Series, innovations: np.ndarray | None = None) -> tuple[float, float, float]:
    """``(E[z^2 1(z<0)], E z^4, E[z^4 1(z<0)])`` of the simulated innovation law of ``params`` (inf when not finite).

    ``innovations`` is the standardised-residual sample of filtered historical simulation (``dist="empirical"``).
    """
    return spec.law.moments(params, innovations)


def persistence_of(spec: Garch, params: pd.Series) -> float:
    """Persistence of ``params`` under ``spec`` (see the module docstring)."""
    return spec.process.persistence(params, spec.law)


@dataclass(frozen=True)
class SimulationParameters:
    """What a persistence policy makes of a fit: the simulation parameters and the record of it."""

    sim_params: pd.Series
    policy_applied: str
    simulation_refused: str
    warnings: tuple[str, ...]


def simulation_parameters(
    spec: Garch,
    params: pd.Series,
    sample_variance_pct2: float,
    innovations: np.ndarray | None,
    data_name: str,
    stacklevel: int = 2,
) -> SimulationParameters:
    """Apply ``spec``'s persistence policy to the fitted ``params`` (see the module docstring) and warn.

    Warns
    -----
    carbonrisk.models.exceptions.NonStationaryWarning
        When the fitted persistence is >= :data:`PERSISTENCE_WARN`.
    carbonrisk.models.exceptions.SimulationPolicyWarning
        When the policy changes a stationary fit beyond targeting omega.
    """
    law, proc = spec.law, spec.process
    p = proc.persistence(params, law)
    policy, cap = spec.persistence_policy, spec.persistence_cap
    sim = params.copy()
    changes: list[str] = []
    refused = ""
    if policy == "variance-target":
        changes, refused = proc.variance_target(sim, sample_variance_pct2, cap, law, innovations, spec.name, data_name)
    elif policy == "cap" and p >= PERSISTENCE_WARN:
        changes.append(proc.cap_persistence(sim, params, cap, p, law))
    if policy == "none":
        applied = (
            "none (stationary fit)"
            if p < PERSISTENCE_WARN
            else "none: fitted parameters simulated as they are (long horizons may explode)"
        )
    else:
        applied = f"{policy}: {'; '.join(changes) if changes else 'fitted parameters kept'}"
    messages: list[str] = []
    if p >= PERSISTENCE_WARN:
        message = (
            f"{spec.name} fitted on '{data_name}' has persistence {p:.5f} >= {PERSISTENCE_WARN} "
            f"(non-stationary); persistence policy {applied}"
        )
        messages.append(message)
        warnings.warn(message, NonStationaryWarning, stacklevel=stacklevel + 1)
    elif any(not c.startswith("omega set") for c in changes):  # targeting omega alone is the plain default
        message = f"{spec.name} fitted on '{data_name}': simulation policy {applied}"
        messages.append(message)
        warnings.warn(message, SimulationPolicyWarning, stacklevel=stacklevel + 1)
    return SimulationParameters(sim, applied, refused, tuple(messages))


@dataclass(frozen=True)
class GarchResult(SimulatesPaths):
    """A fitted :class:`Garch`: labelled parameters (returns in percent), standard errors, diagnostics.

    Frozen once built (:meth:`from_arch` applies the persistence policy before construction).

    Attributes
    ----------
    params, std_err : pandas.Series
        Estimates and standard errors, labels ``mu``, ``omega``, ``alpha``, ``gamma``, ``beta``, ``nu``, ``lambda``
        (those the model has).
    sim_params : pandas.Series
        Parameters the simulation uses after the persistence policy.
    policy_applied : str
        ``"none"`` when the fit is stationary, else the policy and what it did.
    next_variance_pct2 : float
        Conditional variance of the first out-of-sample day, percent squared.
    sample_variance_pct2 : float
        Sample variance of the returns, percent squared.
    diagnostics : dict
        Ljung-Box on standardised residuals and their squares (lag 10).
    """

    spec: Garch
    params: pd.Series
    std_err: pd.Series
    loglikelihood: float
    aic: float
    bic: float
    n_obs: int
    next_variance_pct2: float
    last_price: float
    last_date: pd.Timestamp
    data_name: str
    sample_variance_pct2: float = math.nan
    sim_params: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    policy_applied: str = "none"
    diagnostics: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    std_resid: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Standardised residuals ``(r_t - mu) / sigma_t`` of the fit."""
    innovations: np.ndarray | None = None
    """Filtered historical simulation (``dist="empirical"``): the residuals the simulation bootstraps."""
    simulation_refused: str = ""
    """Why this fit is not simulated (one line naming a combination that is), or empty."""

    @classmethod
    def from_arch(cls, spec: Garch, res: ARCHModelResult, returns_pct: pd.Series, history: PriceHistory) -> GarchResult:
        """Build the result from an ``arch`` fit (applies the persistence policy, warns)."""
        params = res.params.rename(_RENAME)
        std_err = res.std_err.rename(_RENAME)
        next_var = float(res.forecast(horizon=1, reindex=False).variance.iloc[-1, 0])
        std_resid = np.asarray(res.std_resid, dtype=float)
        std_resid = std_resid[np.isfinite(std_resid)]
        std_resid.setflags(write=False)
        sample_variance = float(np.var(returns_pct.to_numpy(), ddof=1))
        innovations = spec.law.sample(std_resid, spec.persistence_policy)
        policy = simulation_parameters(spec, params, sample_variance, innovations, history.name, stacklevel=3)
        return cls(
            spec=spec,
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
            sample_variance_pct2=sample_variance,
            sim_params=policy.sim_params,
            policy_applied=policy.policy_applied,
            diagnostics=ljung_box(np.asarray(res.std_resid)),
            warnings=policy.warnings,
            std_resid=std_resid,
            innovations=innovations,
            simulation_refused=policy.simulation_refused,
        )

    @property
    def name(self) -> str:
        """Model label."""
        return self.spec.name

    @property
    def persistence(self) -> float:
        """Persistence of the fitted parameters."""
        return persistence_of(self.spec, self.params)

    @property
    def half_life_days(self) -> float:
        """Trading days for a variance shock to halve, ``ln 0.5 / ln(persistence)``; infinite at >= 1."""
        p = self.persistence
        return math.log(0.5) / math.log(p) if 0.0 < p < 1.0 else math.inf

    @property
    def unconditional_vol_annual(self) -> float:
        """Annualised unconditional volatility of the fitted parameters (inf when persistence >= 1).

        GARCH/GJR: ``sqrt(omega / (1 - persistence) * 245) / 100``; EGARCH: ``exp(E ln sigma^2 / 2)``.
        """
        daily_var = self.spec.process.unconditional_variance(self.params, self.spec.law)
        return math.sqrt(daily_var * TRADING_DAYS_PER_YEAR) / PERCENT if math.isfinite(daily_var) else math.inf

    @property
    def guards(self) -> str:
        """Simulation guards in force (see the module docstring)."""
        if self.spec.persistence_policy == "none":
            return "none"
        return f"|z| <= {Z_MAX:g}, variance <= {VARIANCE_CEILING:g} x sample variance"

    @property
    def long_run_variance(self) -> float:
        """Mean daily variance of the simulation parameters (decimal log-return squared; inf if not finite).

        GARCH/GJR: ``omega / (1 - persistence)``; EGARCH with normal innovations: the exact
        :func:`egarch_moments` mean, otherwise ``exp(E ln sigma^2)``.
        """
        return self.spec.process.long_run_variance(self.sim_params, self.spec.law, self.innovations)

    @property
    def sim_persistence(self) -> float:
        """Persistence of the simulation parameters (under the simulated innovation law)."""
        return self.spec.process.simulated_persistence(self.sim_params, self.spec.law, self.innovations)

    def expected_average_variance(self, variance_now: np.ndarray, n_days: int | np.ndarray) -> np.ndarray:
        """Mean of ``E[sigma^2_{t+k} | sigma^2_{t+1} = variance_now]`` over ``k = 1..n_days`` (daily, decimal).

        Parameters
        ----------
        variance_now : numpy.ndarray
            Conditional variance of the next daily log-return (as in :attr:`carbonrisk.models.paths.PathSet.variance`).
        n_days : int or numpy.ndarray
            Horizon in trading days (>= 1), broadcast against ``variance_now``.

        Returns
        -------
        numpy.ndarray
            Average expected daily variance over the horizon (decimal log-return squared).

        Notes
        -----
        GARCH/GJR: ``E sigma^2_{t+k} = bar + (v - bar) phi^(k-1)`` with ``phi`` the persistence and ``bar =
        omega / (1 - phi)`` (simulation parameters), so the average is
        ``bar + (v - bar) (1 - phi^n) / (n (1 - phi))`` (``v + omega (n - 1) / 2`` at ``phi = 1``).
        EGARCH: the same formula with ``phi = beta`` and ``bar`` = :attr:`long_run_variance`, an approximation
        (exact for ``ln sigma^2`` in the mean, not for ``sigma^2``; the level decays at rate ``beta`` only to first
        order). The simulation's variance ceiling is ignored.
        """
        omega, phi = self.spec.process.average_variance_terms(self.sim_params, self.spec.law, self.innovations)
        return _average_variance(variance_now, n_days, omega, phi)

    def log_variance_days(self, n_days: int) -> np.ndarray:
        """Expected ``Var ln S`` after ``k = 1..n_days`` trading days: ``sum_j E sigma^2_{t+j}`` (decimal)."""
        k = np.arange(1, n_days + 1)
        avg = self.expected_average_variance(np.full(n_days, self.next_variance_pct2 / PERCENT**2), k)
        return np.asarray(k * avg, dtype=float)

    def to_frame(self) -> pd.DataFrame:
        """Parameters, standard errors and simulation parameters as a frame."""
        return pd.DataFrame({"estimate": self.params, "std_err": self.std_err, "simulated": self.sim_params})

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: parameters, errors, information criteria, persistence, diagnostics, warnings."""
        return {
            "model": self.name,
            "data": self.data_name,
            "n_obs": self.n_obs,
            "returns_unit": "percent log-return per trading day",
            "params": {k: float(v) for k, v in self.params.items()},
            "std_err": {k: float(v) for k, v in self.std_err.items()},
            "sim_params": {k: float(v) for k, v in self.sim_params.items()},
            "loglikelihood": self.loglikelihood,
            "aic": self.aic,
            "bic": self.bic,
            "persistence": self.persistence,
            "half_life_days": _finite_or_none(self.half_life_days),
            "unconditional_vol_annual": _finite_or_none(self.unconditional_vol_annual),
            "persistence_policy": self.spec.persistence_policy,
            "policy_applied": self.policy_applied,
            "guards": self.guards,
            "simulation_refused": self.simulation_refused or None,
            "diagnostics": self.diagnostics,
            "warnings": list(self.warnings),
        }

    def plan(
        self, grid: SimulationGrid, scenario: ScenarioCurve | None = None, anchor: MarketAnchor | None = None
    ) -> SimulationPlan:
        """Daily kernel steps: random walk in log price with GARCH-family innovations (see the module docstring).

        Raises
        ------
        carbonrisk.models.exceptions.InputError
            When the fit is refused for simulation (:attr:`simulation_refused`, e.g. EGARCH-t).
        """
        if self.simulation_refused:
            raise InputError(self.simulation_refused)
        n = grid.n_days
        x0 = math.log(self.last_price)
        if scenario is None:
            if anchor is not None:
                raise InputError("anchor needs a scenario to glide to; give scenario= as well")
            mu = float(self.sim_params.get("mu", 0.0)) / PERCENT
            c = np.full(n, mu)
        else:
            target = median_target(
                x0, grid.start, grid.day_dates, scenario, anchor, lambda: self.log_variance_days(grid.n_days)
            )
            c = np.diff(np.concatenate([[x0], target]))
        law, proc = self.spec.law, self.spec.process
        sp = self.sim_params
        h0 = proc.state(self.next_variance_pct2)
        guarded = self.spec.persistence_policy != "none"
        h_cap = VARIANCE_CEILING * self.sample_variance_pct2 if guarded else math.inf
        omega, alpha, gamma, beta = proc.kernel_coefficients(sp)
        nu, lam = law.kernel_shape(sp)
        return SimulationPlan(
            x0=x0,
            h0=h0,
            dist=law.code,
            nu=nu,
            lam=lam,
            vol=proc.code,
            omega=omega,
            alpha=alpha,
            gamma=gamma,
            beta=beta,
            c=c,
            phi=np.ones(n),
            sd=np.zeros(n),
            record=grid.record_day,
            step_days=np.ones(n, dtype=np.int64),
            price0=self.last_price,
            meta=self._meta(scenario),
            z_max=Z_MAX if guarded else math.inf,
            h_max=max(proc.state_ceiling(h_cap), h0),
            innovations=self.innovations,
        )

    def _meta(self, scenario: ScenarioCurve | None) -> dict[str, Any]:
        return {
            "model": self.name,
            "data": self.data_name,
            "params": {k: float(v) for k, v in self.params.items()},
            "sim_params": {k: float(v) for k, v in self.sim_params.items()},
            "policy_applied": self.policy_applied,
            "guards": self.guards,
            "scenario": scenario.name if scenario is not None else None,
            "warnings": list(self.warnings),
        }


def _average_variance(variance_now: np.ndarray, n_days: int | np.ndarray, omega: float, phi: float) -> np.ndarray:
    """``mean_{k=1..n} E[h_{t+k} | h_{t+1} = v]`` for ``h_{t+1} = omega + phi h_t`` in expectation."""
    v = np.asarray(variance_now, dtype=float)
    n = np.asarray(n_days)
    if not np.issubdtype(n.dtype, np.integer) or np.any(n < 1):
        raise InputError(f"n_days={n_days!r} must be integers >= 1")
    nf = n.astype(float)
    if abs(1.0 - phi) < 1e-12:
        return np.asarray(v + omega * (nf - 1.0) / 2.0, dtype=float)
    bar = omega / (1.0 - phi)
    weight = (1.0 - phi**nf) / (nf * (1.0 - phi))
    return np.asarray(bar + (v - bar) * weight, dtype=float)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
