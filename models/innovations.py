"""Innovation laws of the GARCH family as small component objects (normal, Student-t, skewed t, empirical / FHS).

Each law owns what depends on it: its name and ``arch`` counterpart, its shape parameters, the moments the
volatility processes need (``E[z^2 1(z<0)]``, ``E|z|``, ``E z^4``, ``E[z^4 1(z<0)]``), what the ``variance-target``
policy changes in it (Student-t / skewed-t ``nu`` floored at :data:`NU_SIM_MIN`), its kernel code and shape
arguments (:mod:`carbonrisk.models.sampler`), and, for filtered historical simulation, the residual sample the
simulation bootstraps. :data:`LAWS` maps the names of :data:`carbonrisk.models.garch.DISTRIBUTIONS` to them.

Notes
-----
The standardised laws are those of ``arch`` (``E z = 0``, ``Var z = 1``):

* normal: ``z ~ N(0, 1)``, ``E|z| = sqrt(2/pi)``, ``E z^4 = 3``;
* Student-t (``nu > 2``): ``z = t_nu sqrt((nu - 2) / nu)``, ``E|z| = sqrt(nu - 2) Gamma((nu - 1)/2) /
  (sqrt(pi) Gamma(nu/2))``, ``E z^4 = 3 (nu - 2) / (nu - 4)`` (``nu > 4``);
* Hansen's skewed t (``nu``, ``lambda``): partial moments from ``arch``'s ``SkewStudent.partial_moment``;
* empirical (filtered historical simulation, Barone-Adesi et al. 1999): the volatility is fitted by Gaussian
  quasi-maximum likelihood, so the fitted law is the normal one; the simulation draws ``z`` from the fit's
  standardised residuals (centred and scaled to unit variance unless the policy is ``"none"``), and the moments
  the simulation needs are those of that sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import pandas as pd

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.sampler import DIST_CODES

__all__ = [
    "EMPIRICAL",
    "LAWS",
    "NORMAL",
    "NU_SIM_MIN",
    "SKEWT",
    "STUDENT_T",
    "Empirical",
    "InnovationLaw",
    "Normal",
    "SkewStudentT",
    "StudentT",
    "fhs_innovations",
]

NU_SIM_MIN: float = 5.0
"""Under ``variance-target`` a Student-t / skewed-t ``nu`` below this is raised to it for simulation."""
SQRT_2_OVER_PI: float = math.sqrt(2.0 / math.pi)


@dataclass(frozen=True)
class InnovationLaw:
    """Base of the standardised innovation laws (see the module docstring)."""

    name: ClassVar[str]
    """Name in :data:`carbonrisk.models.garch.DISTRIBUTIONS`."""
    arch_name: ClassVar[Literal["normal", "t", "skewt"]]
    """``dist=`` of ``arch.arch_model`` the law is fitted with."""
    shape_names: ClassVar[tuple[str, ...]] = ()
    """Shape parameters in the fitted parameter vector (after renaming ``eta`` to ``nu``)."""
    bootstraps: ClassVar[bool] = False
    """Filtered historical simulation: the kernel draws from a residual sample."""

    @property
    def code(self) -> int:
        """Kernel code (:data:`carbonrisk.models.sampler.DIST_CODES`)."""
        return DIST_CODES[self.name]

    def kappa(self, params: pd.Series) -> float:
        """``E[z^2 1(z < 0)]`` of the fitted law (0.5 for symmetric laws and the Gaussian QMLE)."""
        return 0.5

    def abs_mean(self, params: pd.Series) -> float:
        """``E|z|`` of the fitted law."""
        return SQRT_2_OVER_PI

    def moments(self, params: pd.Series, sample: np.ndarray | None = None) -> tuple[float, float, float]:
        """``(E[z^2 1(z<0)], E z^4, E[z^4 1(z<0)])`` of the simulated law (inf when not finite)."""
        raise NotImplementedError

    def simulated_kappa(self, params: pd.Series, sample: np.ndarray | None = None) -> float:
        """``E[z^2 1(z < 0)]`` of the law the simulation draws from."""
        return self.kappa(params)

    def variance_target(self, sim: pd.Series, changes: list[str]) -> None:
        """What the ``variance-target`` policy changes in the law's shape (in place, noted in ``changes``)."""

    def kernel_shape(self, sim: pd.Series) -> tuple[float, float]:
        """``(nu, lambda)`` arguments of the kernel's quantile tables."""
        return 0.0, float(sim.get("lambda", 0.0))

    def sample(self, std_resid: np.ndarray, policy: str) -> np.ndarray | None:
        """The residual sample the simulation bootstraps (None for a parametric law)."""
        return None


@dataclass(frozen=True)
class Normal(InnovationLaw):
    """Standard normal innovations."""

    name: ClassVar[str] = "normal"
    arch_name: ClassVar[Literal["normal", "t", "skewt"]] = "normal"

    def moments(self, params: pd.Series, sample: np.ndarray | None = None) -> tuple[float, float, float]:
        """``(0.5, 3, 1.5)``."""
        return 0.5, 3.0, 1.5


@dataclass(frozen=True)
class StudentT(InnovationLaw):
    """Standardised Student-t innovations (shape ``nu > 2``)."""

    name: ClassVar[str] = "t"
    arch_name: ClassVar[Literal["normal", "t", "skewt"]] = "t"
    shape_names: ClassVar[tuple[str, ...]] = ("nu",)

    def abs_mean(self, params: pd.Series) -> float:
        """``sqrt(nu - 2) Gamma((nu - 1) / 2) / (sqrt(pi) Gamma(nu / 2))``."""
        nu = float(params["nu"])
        return math.sqrt(nu - 2.0) * math.exp(math.lgamma((nu - 1) / 2) - math.lgamma(nu / 2)) / math.sqrt(math.pi)

    def moments(self, params: pd.Series, sample: np.ndarray | None = None) -> tuple[float, float, float]:
        """``E z^4 = 3 (nu - 2) / (nu - 4)``, half of it below zero; infinite for ``nu <= 4``."""
        nu = float(params["nu"])
        if nu <= 4.0:
            return self.kappa(params), math.inf, math.inf
        k4 = 3.0 * (nu - 2.0) / (nu - 4.0)
        return 0.5, k4, k4 / 2.0

    def variance_target(self, sim: pd.Series, changes: list[str]) -> None:
        """``nu`` floored at :data:`NU_SIM_MIN` (finite fourth moment)."""
        if float(sim["nu"]) < NU_SIM_MIN:
            changes.append(f"nu floored from {float(sim['nu']):.3g} to {NU_SIM_MIN:g} (finite fourth moment)")
            sim["nu"] = NU_SIM_MIN

    def kernel_shape(self, sim: pd.Series) -> tuple[float, float]:
        """``(nu, lambda)`` (lambda 0 for the symmetric law)."""
        return float(sim.get("nu", math.inf)), float(sim.get("lambda", 0.0))


@dataclass(frozen=True)
class SkewStudentT(StudentT):
    """Hansen's skewed t (shape ``nu``, ``lambda``)."""

    name: ClassVar[str] = "skewt"
    arch_name: ClassVar[Literal["normal", "t", "skewt"]] = "skewt"
    shape_names: ClassVar[tuple[str, ...]] = ("nu", "lambda")

    @staticmethod
    def _partial(order: int, nu: float, lam: float) -> float:
        from arch.univariate.distribution import SkewStudent

        return float(SkewStudent().partial_moment(order, 0.0, np.array([nu, lam])))

    def kappa(self, params: pd.Series) -> float:
        """``E[z^2 1(z < 0)]`` (``arch``'s partial moment)."""
        return self._partial(2, float(params["nu"]), float(params["lambda"]))

    def abs_mean(self, params: pd.Series) -> float:
        """``-2 E[z 1(z < 0)]``."""
        return -2.0 * self._partial(1, float(params["nu"]), float(params["lambda"]))

    def moments(self, params: pd.Series, sample: np.ndarray | None = None) -> tuple[float, float, float]:
        """Partial moments of order 2 and 4 on both sides of zero; infinite fourth moment for ``nu <= 4``."""
        nu = float(params["nu"])
        if nu <= 4.0:
            return self.kappa(params), math.inf, math.inf
        lam = float(params["lambda"])
        neg4 = self._partial(4, nu, lam)
        pos4 = self._partial(4, nu, -lam)
        return self.kappa(params), neg4 + pos4, neg4


@dataclass(frozen=True)
class Empirical(InnovationLaw):
    """Filtered historical simulation: Gaussian QMLE fit, ``z`` bootstrapped from the standardised residuals."""

    name: ClassVar[str] = "empirical"
    arch_name: ClassVar[Literal["normal", "t", "skewt"]] = "normal"
    bootstraps: ClassVar[bool] = True

    def moments(self, params: pd.Series, sample: np.ndarray | None = None) -> tuple[float, float, float]:
        """Sample moments of the residuals the simulation draws from."""
        if sample is None:
            raise InputError("dist='empirical' needs the standardised residuals of the fit")
        z = np.asarray(sample, dtype=float)
        neg = z < 0.0
        return float(np.mean(z * z * neg)), float(np.mean(z**4)), float(np.mean(z**4 * neg))

    def simulated_kappa(self, params: pd.Series, sample: np.ndarray | None = None) -> float:
        """``E[z^2 1(z < 0)]`` of the residual sample."""
        return self.moments(params, sample)[0]

    def sample(self, std_resid: np.ndarray, policy: str) -> np.ndarray | None:
        """:func:`fhs_innovations` of the fit's standardised residuals."""
        return fhs_innovations(std_resid, policy)


def fhs_innovations(std_resid: np.ndarray, policy: str) -> np.ndarray:
    """Residuals filtered historical simulation draws from: the fit's standardised residuals, centred and scaled
    to unit variance unless the policy is ``"none"`` (then exactly the fit's, as ``arch``'s bootstrap uses them)."""
    z = np.asarray(std_resid, dtype=float)
    if policy != "none":
        z = (z - z.mean()) / z.std()
    out = np.ascontiguousarray(z)
    out.setflags(write=False)
    return out


NORMAL = Normal()
STUDENT_T = StudentT()
SKEWT = SkewStudentT()
EMPIRICAL = Empirical()
LAWS: dict[str, InnovationLaw] = {law.name: law for law in (NORMAL, STUDENT_T, SKEWT, EMPIRICAL)}
"""The innovation laws by name."""
