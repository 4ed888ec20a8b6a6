"""Volatility processes of the GARCH family as small component objects (GARCH, GJR-GARCH, EGARCH).

Each process owns what depends on it: its ``arch`` counterpart and label, its parameters, its persistence, the
persistence policies (``variance-target`` and ``cap``, see :mod:`carbonrisk.models.garch`), its long-run and expected
average variance, and its kernel code and variance state (:mod:`carbonrisk.models.sampler`: ``sigma^2`` for GARCH/GJR,
``ln sigma^2`` for EGARCH). The innovation law it is combined with is a
:class:`carbonrisk.models.innovations.InnovationLaw`.
:data:`PROCESSES` maps the names of :data:`carbonrisk.models.garch.VOLATILITIES` to them.

Notes
-----
Returns in percent, ``eps_t = sigma_t z_t``::

    GARCH(1,1)        sigma_t^2 = omega + alpha eps_{t-1}^2 + beta sigma_{t-1}^2
    GJR-GARCH(1,1,1)  sigma_t^2 = omega + (alpha + gamma 1[eps_{t-1} < 0]) eps_{t-1}^2 + beta sigma_{t-1}^2
    EGARCH(1,1,1)     ln sigma_t^2 = omega + alpha (|z_{t-1}| - sqrt(2/pi)) + gamma z_{t-1} + beta ln sigma_{t-1}^2

Persistence ``p = alpha + kappa gamma + beta`` with ``kappa = E[z^2 1(z<0)]`` (GARCH/GJR), ``beta`` (EGARCH).
Long-run variance ``omega / (1 - p)`` (GARCH/GJR); EGARCH with normal ``z``: ``E sigma^2 = exp(omega / (1 - beta))
prod_k E exp(beta^k g(z))`` (:func:`egarch_moments`), otherwise ``exp(E ln sigma^2)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
from scipy import special

from carbonrisk.models.innovations import InnovationLaw
from carbonrisk.models.sampler import VOL_EGARCH, VOL_GARCH
from carbonrisk.models.units import PERCENT

__all__ = [
    "EGARCH",
    "GARCH",
    "GJR",
    "PROCESSES",
    "VARIANCE_RATIO_MAX",
    "EgarchProcess",
    "GarchProcess",
    "VolatilityProcess",
    "egarch_moments",
]

VARIANCE_RATIO_MAX: float = 4.0
"""Under ``variance-target`` the simulated ``E sigma^4 / (E sigma^2)^2`` is at most this."""
SQRT_2_OVER_PI: float = math.sqrt(2.0 / math.pi)


def _scale(sim: pd.Series, scale: float, keys: tuple[str, ...] = ("alpha", "gamma", "beta")) -> None:
    for key in keys:
        if key in sim.index:
            sim[key] = float(sim[key]) * scale


@dataclass(frozen=True)
class VolatilityProcess:
    """Base of the volatility processes (see the module docstring)."""

    name: ClassVar[str]
    """Name in :data:`carbonrisk.models.garch.VOLATILITIES`."""
    label: ClassVar[str]
    """Label such as ``GARCH(1,1)``."""
    arch_vol: ClassVar[Literal["GARCH", "EGARCH"]]
    """``vol=`` of ``arch.arch_model``."""
    arch_o: ClassVar[int]
    """Asymmetric order ``o`` of ``arch.arch_model``."""
    code: ClassVar[int]
    """Kernel code (:mod:`carbonrisk.models.sampler`)."""
    offers_bootstrap: ClassVar[bool] = True
    """Filtered historical simulation is available (the Gaussian QMLE variance has a finite target)."""
    parameter_names: ClassVar[tuple[str, ...]]
    """The process's parameters in the fitted parameter vector (after renaming ``alpha[1]`` to ``alpha``...)."""

    def persistence(self, params: pd.Series, law: InnovationLaw) -> float:
        """Persistence of the fitted ``params`` under the fitted law."""
        raise NotImplementedError

    def simulated_persistence(self, sim: pd.Series, law: InnovationLaw, sample: np.ndarray | None) -> float:
        """Persistence of the simulation parameters under the simulated law."""
        raise NotImplementedError

    def variance_target(
        self,
        sim: pd.Series,
        sample_variance: float,
        cap: float,
        law: InnovationLaw,
        sample: np.ndarray | None,
        model: str,
        data_name: str,
    ) -> tuple[list[str], str]:
        """Apply the ``variance-target`` policy to ``sim`` in place; return what changed and a refusal (or "")."""
        raise NotImplementedError

    def cap_persistence(self, sim: pd.Series, params: pd.Series, cap: float, p: float, law: InnovationLaw) -> str:
        """Apply the ``cap`` policy (fitted persistence ``p`` >= the warning level) in place; describe it."""
        raise NotImplementedError

    def long_run_variance(self, sim: pd.Series, law: InnovationLaw, sample: np.ndarray | None) -> float:
        """Mean daily variance of the simulation parameters (decimal; inf when not finite)."""
        raise NotImplementedError

    def average_variance_terms(
        self, sim: pd.Series, law: InnovationLaw, sample: np.ndarray | None
    ) -> tuple[float, float]:
        """``(omega, phi)`` (decimal) of the expected variance recursion ``E h_{t+1} = omega + phi E h_t``."""
        raise NotImplementedError

    def unconditional_variance(self, params: pd.Series, law: InnovationLaw) -> float:
        """Unconditional daily variance of the fitted ``params`` (percent squared; inf when persistence >= 1)."""
        raise NotImplementedError

    def state(self, variance_pct2: float) -> float:
        """Kernel variance state of a conditional variance in percent squared."""
        return variance_pct2

    def state_ceiling(self, variance_pct2: float) -> float:
        """Kernel state ceiling of a variance ceiling in percent squared (inf stays inf)."""
        return variance_pct2

    def kernel_coefficients(self, sim: pd.Series) -> tuple[float, float, float, float]:
        """``(omega, alpha, gamma, beta)`` of the kernel recursion."""
        return float(sim["omega"]), float(sim["alpha"]), float(sim.get("gamma", 0.0)), float(sim["beta"])


@dataclass(frozen=True)
class GarchProcess(VolatilityProcess):
    """GARCH(1,1) (``arch_o = 0``) and GJR-GARCH(1,1,1) (``arch_o = 1``, subclass :class:`GjrProcess`)."""

    name: ClassVar[str] = "garch"
    label: ClassVar[str] = "GARCH(1,1)"
    arch_vol: ClassVar[Literal["GARCH", "EGARCH"]] = "GARCH"
    arch_o: ClassVar[int] = 0
    code: ClassVar[int] = VOL_GARCH
    parameter_names: ClassVar[tuple[str, ...]] = ("omega", "alpha", "beta")

    def persistence(self, params: pd.Series, law: InnovationLaw) -> float:
        """``alpha + kappa gamma + beta``."""
        gamma = float(params.get("gamma", 0.0))
        return float(params["alpha"] + law.kappa(params) * gamma + params["beta"])

    def simulated_persistence(self, sim: pd.Series, law: InnovationLaw, sample: np.ndarray | None) -> float:
        """``alpha + kappa gamma + beta`` with ``kappa`` of the simulated law."""
        kappa = law.simulated_kappa(sim, sample)
        return float(sim["alpha"]) + kappa * float(sim.get("gamma", 0.0)) + float(sim["beta"])

    def variance_target(
        self,
        sim: pd.Series,
        sample_variance: float,
        cap: float,
        law: InnovationLaw,
        sample: np.ndarray | None,
        model: str,
        data_name: str,
    ) -> tuple[list[str], str]:
        """Persistence capped, the variance of the variance bounded, omega targeted (:mod:`carbonrisk.models.garch`)."""
        changes: list[str] = []
        law.variance_target(sim, changes)
        kappa, m4, m4_neg = law.moments(sim, sample)
        alpha, gamma, beta = float(sim["alpha"]), float(sim.get("gamma", 0.0)), float(sim["beta"])
        arch_mean = alpha + kappa * gamma
        p = arch_mean + beta
        if p > cap:
            _scale(sim, cap / p)
            alpha, gamma, beta, arch_mean, p = (
                float(sim["alpha"]),
                float(sim.get("gamma", 0.0)),
                float(sim["beta"]),
                arch_mean * cap / p,
                cap,
            )
            changes.append(f"alpha, gamma, beta scaled to persistence {cap}")
        # E[(a(z) z^2 + beta)^2] = p^2 + excess with a(z) = alpha + gamma 1(z < 0); E h^2 / (E h)^2 = (1-p^2)/(1-m)
        excess = alpha * alpha * m4 + (2.0 * alpha * gamma + gamma * gamma) * m4_neg - arch_mean * arch_mean
        m1_max = 1.0 - (1.0 - p * p) / VARIANCE_RATIO_MAX
        if p * p + excess > m1_max and excess > 0.0:
            scale = math.sqrt(max(m1_max - p * p, 0.0) / excess)
            _scale(sim, scale, ("alpha", "gamma"))
            sim["beta"] = p - scale * arch_mean
            ratio = (1.0 - p * p) / (1.0 - p * p - excess) if p * p + excess < 1.0 else math.inf
            changes.append(
                f"alpha, gamma scaled by {scale:.3g} and beta raised to {float(sim['beta']):.4g} (persistence kept) "
                f"so E sigma^4 / (E sigma^2)^2 = {VARIANCE_RATIO_MAX:g} (was {ratio:.3g})"
            )
        sim["omega"] = sample_variance * (1.0 - p)
        changes.append(f"omega set to the sample variance {sample_variance:.4g} %^2 x (1 - {p:.4g})")
        return changes, ""

    def cap_persistence(self, sim: pd.Series, params: pd.Series, cap: float, p: float, law: InnovationLaw) -> str:
        """alpha, gamma and beta scaled by ``cap / p``; the fitted omega kept."""
        _scale(sim, cap / p)
        return f"coefficients scaled to persistence {cap}, fitted omega kept"

    def long_run_variance(self, sim: pd.Series, law: InnovationLaw, sample: np.ndarray | None) -> float:
        """``omega / (1 - p)`` (decimal)."""
        p = self.simulated_persistence(sim, law, sample)
        return float(sim["omega"]) / (1.0 - p) / PERCENT**2 if p < 1.0 else math.inf

    def average_variance_terms(
        self, sim: pd.Series, law: InnovationLaw, sample: np.ndarray | None
    ) -> tuple[float, float]:
        """``(omega, p)`` of the simulation parameters (decimal)."""
        return float(sim["omega"]) / PERCENT**2, self.simulated_persistence(sim, law, sample)

    def unconditional_variance(self, params: pd.Series, law: InnovationLaw) -> float:
        """``omega / (1 - p)``."""
        p = self.persistence(params, law)
        return float(params["omega"]) / (1.0 - p) if p < 1.0 else math.inf


@dataclass(frozen=True)
class GjrProcess(GarchProcess):
    """GJR-GARCH(1,1,1): the GARCH recursion with the leverage term ``gamma 1[eps < 0] eps^2``."""

    name: ClassVar[str] = "gjr"
    label: ClassVar[str] = "GJR-GARCH(1,1,1)"
    arch_o: ClassVar[int] = 1
    parameter_names: ClassVar[tuple[str, ...]] = ("omega", "alpha", "gamma", "beta")


@dataclass(frozen=True)
class EgarchProcess(VolatilityProcess):
    """EGARCH(1,1,1) on ``ln sigma^2`` (the kernel state is ``ln sigma^2``)."""

    name: ClassVar[str] = "egarch"
    label: ClassVar[str] = "EGARCH(1,1,1)"
    arch_vol: ClassVar[Literal["GARCH", "EGARCH"]] = "EGARCH"
    arch_o: ClassVar[int] = 1
    code: ClassVar[int] = VOL_EGARCH
    offers_bootstrap: ClassVar[bool] = False
    parameter_names: ClassVar[tuple[str, ...]] = ("omega", "alpha", "gamma", "beta")

    def persistence(self, params: pd.Series, law: InnovationLaw) -> float:
        """``beta``."""
        return float(params["beta"])

    def simulated_persistence(self, sim: pd.Series, law: InnovationLaw, sample: np.ndarray | None) -> float:
        """``beta``."""
        return float(sim["beta"])

    def variance_target(
        self,
        sim: pd.Series,
        sample_variance: float,
        cap: float,
        law: InnovationLaw,
        sample: np.ndarray | None,
        model: str,
        data_name: str,
    ) -> tuple[list[str], str]:
        """beta capped, the variance of the variance bounded, omega set so ``E sigma^2`` is the sample variance
        (exact for normal ``z``); t / skewed-t innovations are refused (``E exp(alpha |z|)`` is infinite)."""
        changes: list[str] = []
        law.variance_target(sim, changes)
        beta = float(sim["beta"])
        if beta > cap:
            changes.append(f"beta scaled to persistence {cap}")
            beta = cap
            sim["beta"] = cap
        if law.name != "normal":
            refused = (
                f"{model} fitted on '{data_name}' is not simulated: with {law.name} innovations "
                f"E exp(alpha |z|) is infinite, so EGARCH has no finite variance to target; "
                f"simulate egarch with dist='normal' or garch/gjr with dist='{law.name}'"
            )
            sim["omega"] = (1.0 - beta) * math.log(sample_variance)
            return changes, refused
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
        return changes, ""

    def cap_persistence(self, sim: pd.Series, params: pd.Series, cap: float, p: float, law: InnovationLaw) -> str:
        """beta set to ``cap``; omega moved by ``alpha (E|z| - sqrt(2/pi))`` so the fitted omega is kept in arch's
        centring."""
        sim["beta"] = cap
        sim["omega"] = float(params["omega"]) - float(sim["alpha"]) * (law.abs_mean(sim) - SQRT_2_OVER_PI)
        return f"coefficients scaled to persistence {cap}, fitted omega kept"

    def _mean_log_variance(self, params: pd.Series, law: InnovationLaw, beta: float) -> float:
        return (float(params["omega"]) + float(params["alpha"]) * (law.abs_mean(params) - SQRT_2_OVER_PI)) / (
            1.0 - beta
        )

    def long_run_variance(self, sim: pd.Series, law: InnovationLaw, sample: np.ndarray | None) -> float:
        """Exact :func:`egarch_moments` mean for normal ``z``, otherwise ``exp(E ln sigma^2)`` (decimal)."""
        beta = float(sim["beta"])
        if not abs(beta) < 1.0:
            return math.inf
        if law.name == "normal":
            return egarch_moments(float(sim["omega"]), float(sim["alpha"]), float(sim["gamma"]), beta)[0] / PERCENT**2
        return math.exp(self._mean_log_variance(sim, law, beta)) / PERCENT**2

    def average_variance_terms(
        self, sim: pd.Series, law: InnovationLaw, sample: np.ndarray | None
    ) -> tuple[float, float]:
        """``(bar (1 - beta), beta)`` with ``bar`` the long-run variance (first-order approximation)."""
        phi = self.simulated_persistence(sim, law, sample)
        return self.long_run_variance(sim, law, sample) * (1.0 - phi), phi

    def unconditional_variance(self, params: pd.Series, law: InnovationLaw) -> float:
        """``exp(E ln sigma^2)``."""
        p = self.persistence(params, law)
        return math.exp(self._mean_log_variance(params, law, p)) if p < 1.0 else math.inf

    def state(self, variance_pct2: float) -> float:
        """``ln sigma^2``."""
        return math.log(variance_pct2)

    def state_ceiling(self, variance_pct2: float) -> float:
        """``ln`` of the ceiling (inf stays inf)."""
        return math.log(variance_pct2) if math.isfinite(variance_pct2) else math.inf


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


GARCH = GarchProcess()
GJR = GjrProcess()
EGARCH = EgarchProcess()
PROCESSES: dict[str, VolatilityProcess] = {p.name: p for p in (GARCH, GJR, EGARCH)}
"""The volatility processes by name."""
