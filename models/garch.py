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
:class:`~models.exceptions.NonStationaryWarning`. The simulation parameters follow the spec's
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
to a stationary fit are reported as :class:`~models.exceptions.SimulationPolicyWarning`.

Simulation guards
-----------------
Two bounds keep multi-decade simulations finite under every policy except ``"none"``: standardised innovations
are clipped to ``+-`` :data:`Z_MAX` (20 standard deviations) and the conditional variance to at most
:data:`VARIANCE_CEILING` (100) times the sample variance, i.e. a daily volatility of at most 10 times the sample
one. Under ``variance-target`` they practically never bind (nu >= 5: ``P(|z| > 20) < 1e-6``; the bounded
variance of the variance keeps ``sigma^2 > 100 s^2`` rare); under ``"cap"`` they keep EGARCH-t (CEA: nu = 2.05)
finite, which without them overflows to inf/NaN in 6 % of the values of a 20-year, 100 000-path simulation.

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
from scipy import special
from statsmodels.stats.diagnostic import acorr_ljungbox

from models.base import SimulatesPaths, SimulationPlan, median_target
from models.data import PriceHistory
from models.drift import MarketAnchor
from models.exceptions import ConvergenceError, InputError, NonStationaryWarning, SimulationPolicyWarning
from models.grid import SimulationGrid
from models.sampler import DIST_CODES, VOL_EGARCH, VOL_GARCH
from models.scenarios import ScenarioCurve
from models.units import PERCENT, TRADING_DAYS_PER_YEAR

__all__ = [
    "DISTRIBUTIONS",
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
    "law_moments",
    "ljung_box",
]

PERSISTENCE_WARN: float = 0.999
"""Persistence at or above which a fit is reported as non-stationary and the policy applies."""
MIN_FIT_OBS: int = 100
"""Fewest returns a volatility model is fitted on."""
DISTRIBUTIONS: tuple[str, ...] = ("normal", "t", "skewt", "empirical")
"""Innovation laws; ``empirical`` is filtered historical simulation (Gaussian QMLE, bootstrapped residuals)."""
NU_SIM_MIN: float = 5.0
"""Under ``variance-target`` a Student-t / skewed-t ``nu`` below this is raised to it for simulation."""
VARIANCE_RATIO_MAX: float = 4.0
"""Under ``variance-target`` the simulated ``E sigma^4 / (E sigma^2)^2`` is at most this."""
VOLATILITIES: tuple[str, ...] = ("garch", "gjr", "egarch")
PERSISTENCE_POLICIES: tuple[str, ...] = ("variance-target", "cap", "none")
LJUNG_BOX_LAGS: int = 10
Z_MAX: float = 20.0
"""Standardised innovations are clipped to +-Z_MAX in simulation (not under policy "none")."""
VARIANCE_CEILING: float = 100.0
"""Simulated conditional variance is capped at this multiple of the sample variance (not under policy "none")."""

Distribution = Literal["normal", "t", "skewt", "empirical"]
Volatility = Literal["garch", "gjr", "egarch"]
PersistencePolicy = Literal["variance-target", "cap", "none"]
_RENAME = {"alpha[1]": "alpha", "gamma[1]": "gamma", "beta[1]": "beta", "eta": "nu"}
_LABEL = {"garch": "GARCH(1,1)", "gjr": "GJR-GARCH(1,1,1)", "egarch": "EGARCH(1,1,1)"}


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


@dataclass(frozen=True)
class Garch:
    """Specification of a GARCH-family model on daily log-returns (see the module docstring).

    Parameters
    ----------
    dist : {"t", "normal", "skewt"}
        Distribution of the standardised innovations.
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
        if self.dist == "empirical" and self.vol == "egarch":
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
    def name(self) -> str:
        """Short label such as ``GARCH(1,1)-t``."""
        return f"{_LABEL[self.vol]}-{self.dist}"

    def arch_model(self, returns_pct: pd.Series | np.ndarray) -> Any:
        """The equivalent ``arch`` model on ``returns_pct`` (percent log-returns)."""
        o = 0 if self.vol == "garch" else 1
        vol: Literal["EGARCH", "GARCH"] = "EGARCH" if self.vol == "egarch" else "GARCH"
        mean: Literal["Constant", "Zero"] = "Constant" if self.mean == "constant" else "Zero"
        dist: Literal["normal", "t", "skewt"] = "normal" if self.dist == "empirical" else self.dist
        return arch_model(returns_pct, mean=mean, vol=vol, p=1, o=o, q=1, dist=dist, rescale=False)

    def fit_arch(
        self,
        returns_pct: pd.Series,
        label: str,
        *,
        first_obs: int | None = None,
        last_obs: int | None = None,
        starting_values: np.ndarray | None = None,
    ) -> ARCHModelResult:
        """Fit through ``arch`` and check the outcome (too few observations, constant data, non-convergence)."""
        window = returns_pct.iloc[first_obs:last_obs]
        if len(window) < MIN_FIT_OBS:
            raise InputError(f"'{label}' has {len(window)} returns; {self.name} needs at least {MIN_FIT_OBS}")
        if float(window.std()) == 0.0:
            raise InputError(f"prices of '{label}' are constant; a volatility model cannot be fitted")
        model = self.arch_model(returns_pct)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.fit(
                disp="off",
                show_warning=False,
                first_obs=first_obs,
                last_obs=last_obs,
                starting_values=starting_values,
                options={"maxiter": self.max_iter},
            )
        if res.convergence_flag != 0:
            raise ConvergenceError(f"{self.name} fit on '{label}' did not converge: {res.optimization_result.message}")
        return res

    def fit(self, history: PriceHistory) -> GarchResult:
        """Fit by maximum likelihood (``arch``) to the daily log-returns of ``history``.

        Raises
        ------
        models.exceptions.InputError
            Fewer than :data:`MIN_FIT_OBS` returns, or constant prices.
        models.exceptions.ConvergenceError
            When the optimiser does not converge (its message is included).

        Warns
        -----
        models.exceptions.NonStationaryWarning
            When persistence >= :data:`PERSISTENCE_WARN` (the policy applied is named).
        """
        returns_pct = history.log_returns * PERCENT
        res = self.fit_arch(returns_pct, history.name)
        return GarchResult.from_arch(self, res, returns_pct, history)


def _kappa(spec: Garch, params: pd.Series) -> float:
    """``E[z^2 1(z < 0)]`` of the fitted innovation law (0.5 for symmetric laws and the Gaussian QMLE)."""
    if spec.dist != "skewt":
        return 0.5
    from arch.univariate.distribution import SkewStudent

    shape = np.array([float(params["nu"]), float(params["lambda"])])
    return float(SkewStudent().partial_moment(2, 0.0, shape))


def _abs_mean(spec: Garch, params: pd.Series) -> float:
    """``E|z|`` of the standardised innovation law."""
    if spec.dist == "normal":
        return math.sqrt(2.0 / math.pi)
    nu = float(params["nu"])
    if spec.dist == "t":
        return math.sqrt(nu - 2.0) * math.exp(math.lgamma((nu - 1) / 2) - math.lgamma(nu / 2)) / math.sqrt(math.pi)
    from arch.univariate.distribution import SkewStudent

    return float(-2.0 * SkewStudent().partial_moment(1, 0.0, np.array([nu, float(params["lambda"])])))


def _scale_arch(sim: pd.Series, scale: float, keys: tuple[str, ...] = ("alpha", "gamma", "beta")) -> None:
    for key in keys:
        if key in sim.index:
            sim[key] = float(sim[key]) * scale


def law_moments(spec: Garch, params: pd.Series, innovations: np.ndarray | None = None) -> tuple[float, float, float]:
    """``(E[z^2 1(z<0)], E z^4, E[z^4 1(z<0)])`` of the innovation law of ``params`` (inf when not finite).

    ``innovations`` is the standardised-residual sample of filtered historical simulation (``dist="empirical"``).
    """
    if spec.dist == "normal":
        return 0.5, 3.0, 1.5
    if spec.dist == "empirical":
        if innovations is None:
            raise InputError("dist='empirical' needs the standardised residuals of the fit")
        z = np.asarray(innovations, dtype=float)
        neg = z < 0.0
        return float(np.mean(z * z * neg)), float(np.mean(z**4)), float(np.mean(z**4 * neg))
    nu = float(params["nu"])
    if nu <= 4.0:
        return _kappa(spec, params), math.inf, math.inf
    if spec.dist == "t":
        k4 = 3.0 * (nu - 2.0) / (nu - 4.0)
        return 0.5, k4, k4 / 2.0
    from arch.univariate.distribution import SkewStudent

    lam = float(params["lambda"])
    sk = SkewStudent()
    neg4 = float(sk.partial_moment(4, 0.0, np.array([nu, lam])))
    pos4 = float(sk.partial_moment(4, 0.0, np.array([nu, -lam])))
    return _kappa(spec, params), neg4 + pos4, neg4


def _egarch_log_mgf(c: np.ndarray, alpha: float, gamma: float) -> np.ndarray:
    """``ln E exp(c g(z))``, ``g(z) = alpha (|z| - sqrt(2/pi)) + gamma z``, ``z ~ N(0, 1)`` (closed form).

    ``E[exp(u z) 1(z > 0)] = exp(u^2 / 2) Phi(u)``, so ``E exp(c g) = exp(-c alpha sqrt(2/pi))
    [exp((c alpha + c gamma)^2 / 2) Phi(c alpha + c gamma) + exp((c alpha - c gamma)^2 / 2) Phi(c alpha - c gamma)]``.
    """
    up = c * (alpha + gamma)
    dn = c * (alpha - gamma)
    both = np.logaddexp(0.5 * up * up + special.log_ndtr(up), 0.5 * dn * dn + special.log_ndtr(dn))
    return np.asarray(-c * alpha * math.sqrt(2.0 / math.pi) + both, dtype=float)


def _egarch_powers(beta: float) -> np.ndarray:
    n = max(1, math.ceil(math.log(1e-16) / math.log(max(abs(beta), 1e-300)))) if abs(beta) > 0 else 1
    return np.asarray(np.abs(beta) ** np.arange(n) * np.sign(beta) ** np.arange(n), dtype=float)


def egarch_moments(omega: float, alpha: float, gamma: float, beta: float) -> tuple[float, float]:
    """``E sigma^2`` and ``E sigma^4 / (E sigma^2)^2`` of a stationary EGARCH(1,1,1) with normal innovations.

    ``ln sigma_t^2 = omega / (1 - beta) + sum_k beta^k g(z_{t-1-k})`` with independent ``z``, so
    ``E sigma^2 = exp(omega / (1 - beta)) prod_k E exp(beta^k g(z))`` (:func:`_egarch_log_mgf`).
    """
    c = _egarch_powers(beta)
    ln_m1 = float(np.sum(_egarch_log_mgf(c, alpha, gamma)))
    ln_m2 = float(np.sum(_egarch_log_mgf(2.0 * c, alpha, gamma)))
    return math.exp(omega / (1.0 - beta) + ln_m1), math.exp(ln_m2 - 2.0 * ln_m1)


def _variance_target(
    spec: Garch,
    sim: pd.Series,
    sample_variance: float,
    cap: float,
    innovations: np.ndarray | None,
    data_name: str,
) -> tuple[pd.Series, list[str], str]:
    """Simulation parameters of the ``variance-target`` policy, what it changed, and a refusal message (or "").

    See the module docstring: persistence capped, Student-t ``nu`` floored at :data:`NU_SIM_MIN`, the variance of
    the conditional variance bounded by :data:`VARIANCE_RATIO_MAX`, omega set so the mean simulated variance is
    the sample variance.
    """
    changes: list[str] = []
    refused = ""
    if spec.dist in ("t", "skewt") and float(sim["nu"]) < NU_SIM_MIN:
        changes.append(f"nu floored from {float(sim['nu']):.3g} to {NU_SIM_MIN:g} (finite fourth moment)")
        sim["nu"] = NU_SIM_MIN
    if spec.vol == "egarch":
        beta = float(sim["beta"])
        if beta > cap:
            changes.append(f"beta scaled to persistence {cap}")
            beta = cap
            sim["beta"] = cap
        if spec.dist != "normal":
            refused = (
                f"{spec.name} fitted on '{data_name}' is not simulated: with {spec.dist} innovations "
                f"E exp(alpha |z|) is infinite, so EGARCH has no finite variance to target; "
                f"simulate egarch with dist='normal' or garch/gjr with dist='{spec.dist}'"
            )
            sim["omega"] = (1.0 - beta) * math.log(sample_variance)
            return sim, changes, refused
        alpha, gamma = float(sim["alpha"]), float(sim["gamma"])
        ratio = egarch_moments(0.0, alpha, gamma, beta)[1]
        if ratio > VARIANCE_RATIO_MAX:
            lo, hi = 0.0, 1.0
            for _ in range(80):
                mid = 0.5 * (lo + hi)
                if egarch_moments(0.0, mid * alpha, mid * gamma, beta)[1] > VARIANCE_RATIO_MAX:
                    hi = mid
                else:
                    lo = mid
            alpha, gamma = lo * alpha, lo * gamma
            sim["alpha"], sim["gamma"] = alpha, gamma
            changes.append(
                f"alpha, gamma scaled by {lo:.3g} so E sigma^4 / (E sigma^2)^2 = {VARIANCE_RATIO_MAX:g} "
                f"(was {ratio:.3g})"
            )
        ln_mean = float(np.sum(_egarch_log_mgf(_egarch_powers(beta), alpha, gamma)))
        sim["omega"] = (1.0 - beta) * (math.log(sample_variance) - ln_mean)
        changes.append(f"omega set so E sigma^2 = sample variance {sample_variance:.4g} %^2")
        return sim, changes, refused
    kappa, m4, m4_neg = law_moments(spec, sim, innovations)
    alpha, gamma, beta = float(sim["alpha"]), float(sim.get("gamma", 0.0)), float(sim["beta"])
    arch_mean = alpha + kappa * gamma
    p = arch_mean + beta
    if p > cap:
        _scale_arch(sim, cap / p)
        alpha, gamma, beta, arch_mean, p = (
            float(sim["alpha"]),
            float(sim.get("gamma", 0.0)),
            float(sim["beta"]),
            arch_mean * cap / p,
            cap,
        )
        changes.append(f"alpha, gamma, beta scaled to persistence {cap}")
    # E[(a(z) z^2 + beta)^2] = p^2 + excess with a(z) = alpha + gamma 1(z < 0); E h^2 / (E h)^2 = (1 - p^2) / (1 - m)
    excess = alpha * alpha * m4 + (2.0 * alpha * gamma + gamma * gamma) * m4_neg - arch_mean * arch_mean
    m1_max = 1.0 - (1.0 - p * p) / VARIANCE_RATIO_MAX
    if p * p + excess > m1_max and excess > 0.0:
        scale = math.sqrt(max(m1_max - p * p, 0.0) / excess)
        _scale_arch(sim, scale, ("alpha", "gamma"))
        sim["beta"] = p - scale * arch_mean
        ratio = (1.0 - p * p) / (1.0 - p * p - excess) if p * p + excess < 1.0 else math.inf
        changes.append(
            f"alpha, gamma scaled by {scale:.3g} and beta raised to {float(sim['beta']):.4g} (persistence kept) so "
            f"E sigma^4 / (E sigma^2)^2 = {VARIANCE_RATIO_MAX:g} (was {ratio:.3g})"
        )
    sim["omega"] = sample_variance * (1.0 - p)
    changes.append(f"omega set to the sample variance {sample_variance:.4g} %^2 x (1 - {p:.4g})")
    return sim, changes, refused


def fhs_innovations(std_resid: np.ndarray, policy: str) -> np.ndarray:
    """Residuals filtered historical simulation draws from: the fit's standardised residuals, centred and scaled
    to unit variance unless the policy is ``"none"`` (then exactly the fit's, as ``arch``'s bootstrap uses them)."""
    z = np.asarray(std_resid, dtype=float)
    if policy != "none":
        z = (z - z.mean()) / z.std()
    out = np.ascontiguousarray(z)
    out.setflags(write=False)
    return out


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


def persistence_of(spec: Garch, params: pd.Series) -> float:
    """Persistence of ``params`` under ``spec`` (see the module docstring)."""
    if spec.vol == "egarch":
        return float(params["beta"])
    gamma = float(params.get("gamma", 0.0))
    return float(params["alpha"] + _kappa(spec, params) * gamma + params["beta"])


@dataclass
class GarchResult(SimulatesPaths):
    """A fitted :class:`Garch`: labelled parameters (returns in percent), standard errors, diagnostics.

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
    warnings: list[str] = field(default_factory=list)
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
        result = cls(
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
            sample_variance_pct2=float(np.var(returns_pct.to_numpy(), ddof=1)),
            diagnostics=ljung_box(np.asarray(res.std_resid)),
            std_resid=std_resid,
            innovations=fhs_innovations(std_resid, spec.persistence_policy) if spec.dist == "empirical" else None,
        )
        result._apply_policy()
        return result

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
        return _uncond_vol_annual(self.spec, self.params)

    def _apply_policy(self) -> None:
        p = self.persistence
        policy, cap = self.spec.persistence_policy, self.spec.persistence_cap
        sim = self.params.copy()
        changes: list[str] = []
        if policy == "variance-target":
            sim, changes, self.simulation_refused = _variance_target(
                self.spec, sim, self.sample_variance_pct2, cap, self.innovations, self.data_name
            )
        elif policy == "cap" and p >= PERSISTENCE_WARN:
            if self.spec.vol == "egarch":
                sim["beta"] = cap
                sim["omega"] = float(self.params["omega"]) - float(sim["alpha"]) * (
                    _abs_mean(self.spec, sim) - math.sqrt(2.0 / math.pi)
                )
            else:
                _scale_arch(sim, cap / p)
            changes.append(f"coefficients scaled to persistence {cap}, fitted omega kept")
        self.sim_params = sim
        if policy == "none":
            stationary = p < PERSISTENCE_WARN
            self.policy_applied = (
                "none (stationary fit)"
                if stationary
                else "none: fitted parameters simulated as they are (long horizons may explode)"
            )
        else:
            self.policy_applied = f"{policy}: {'; '.join(changes) if changes else 'fitted parameters kept'}"
        if p >= PERSISTENCE_WARN:
            message = (
                f"{self.name} fitted on '{self.data_name}' has persistence {p:.5f} >= {PERSISTENCE_WARN} "
                f"(non-stationary); persistence policy {self.policy_applied}"
            )
            self.warnings.append(message)
            warnings.warn(message, NonStationaryWarning, stacklevel=4)
        elif any(not c.startswith("omega set") for c in changes):  # targeting omega alone is the plain default
            message = f"{self.name} fitted on '{self.data_name}': simulation policy {self.policy_applied}"
            self.warnings.append(message)
            warnings.warn(message, SimulationPolicyWarning, stacklevel=4)

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
        sp = self.sim_params
        if self.spec.vol == "egarch":
            beta = float(sp["beta"])
            if not abs(beta) < 1.0:
                return math.inf
            if self.spec.dist == "normal":
                return egarch_moments(float(sp["omega"]), float(sp["alpha"]), float(sp["gamma"]), beta)[0] / PERCENT**2
            ln_var = (float(sp["omega"]) + float(sp["alpha"]) * (_abs_mean(self.spec, sp) - math.sqrt(2 / math.pi))) / (
                1.0 - beta
            )
            return math.exp(ln_var) / PERCENT**2
        p = self.sim_persistence
        return float(sp["omega"]) / (1.0 - p) / PERCENT**2 if p < 1.0 else math.inf

    @property
    def sim_persistence(self) -> float:
        """Persistence of the simulation parameters (under the simulated innovation law)."""
        sp = self.sim_params
        if self.spec.vol == "egarch":
            return float(sp["beta"])
        kappa = (
            law_moments(self.spec, sp, self.innovations)[0] if self.spec.dist == "empirical" else _kappa(self.spec, sp)
        )
        return float(sp["alpha"]) + kappa * float(sp.get("gamma", 0.0)) + float(sp["beta"])

    def expected_average_variance(self, variance_now: np.ndarray, n_days: int | np.ndarray) -> np.ndarray:
        """Mean of ``E[sigma^2_{t+k} | sigma^2_{t+1} = variance_now]`` over ``k = 1..n_days`` (daily, decimal).

        Parameters
        ----------
        variance_now : numpy.ndarray
            Conditional variance of the next daily log-return (as in :attr:`models.paths.PathSet.variance`).
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
        phi = self.sim_persistence
        omega = float(self.sim_params["omega"]) / PERCENT**2
        if self.spec.vol == "egarch":
            bar = self.long_run_variance
            omega = bar * (1.0 - phi)
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
        models.exceptions.InputError
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
        sp = self.sim_params
        h0 = math.log(self.next_variance_pct2) if self.spec.vol == "egarch" else self.next_variance_pct2
        guarded = self.spec.persistence_policy != "none"
        h_cap = VARIANCE_CEILING * self.sample_variance_pct2 if guarded else math.inf
        h_max = (math.log(h_cap) if math.isfinite(h_cap) else math.inf) if self.spec.vol == "egarch" else h_cap
        return SimulationPlan(
            x0=x0,
            h0=h0,
            dist=DIST_CODES[self.spec.dist],
            nu=float(sp.get("nu", math.inf)) if self.spec.dist in ("t", "skewt") else 0.0,
            lam=float(sp.get("lambda", 0.0)),
            vol=VOL_EGARCH if self.spec.vol == "egarch" else VOL_GARCH,
            omega=float(sp["omega"]),
            alpha=float(sp["alpha"]),
            gamma=float(sp.get("gamma", 0.0)),
            beta=float(sp["beta"]),
            c=c,
            phi=np.ones(n),
            sd=np.zeros(n),
            record=grid.record_day,
            step_days=np.ones(n, dtype=np.int64),
            price0=self.last_price,
            meta=self._meta(scenario),
            z_max=Z_MAX if guarded else math.inf,
            h_max=max(h_max, h0),
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


def _uncond_vol_annual(spec: Garch, params: pd.Series) -> float:
    p = persistence_of(spec, params)
    if p >= 1.0:
        return math.inf
    if spec.vol == "egarch":
        ln_var = (
            float(params["omega"]) + float(params["alpha"]) * (_abs_mean(spec, params) - math.sqrt(2 / math.pi))
        ) / (1.0 - p)
        daily_var = math.exp(ln_var)
    else:
        daily_var = float(params["omega"]) / (1.0 - p)
    return math.sqrt(daily_var * TRADING_DAYS_PER_YEAR) / PERCENT


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
