"""The fast Student-t sampler and the fused kernel's innovation laws (Kolmogorov-Smirnov, moments, quantiles)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from arch.univariate.distribution import SkewStudent
from scipy import stats

from carbonrisk.models.base import SimulationPlan, run_plan
from carbonrisk.models.exceptions import InputError
from carbonrisk.models.sampler import DIST_CODES, VOL_GARCH, standard_t

N = 200_000


@pytest.mark.parametrize("nu", [2.5, 3.0, 5.0, 30.0])
def test_standard_t_matches_t_law_ks(nu: float) -> None:
    draws = standard_t(nu, N, rng=11)
    # KS test against scipy's t(nu) CDF; a correct sampler gives a uniform p-value, we require p > 0.001
    assert stats.kstest(draws, stats.t(nu).cdf).pvalue > 1e-3


def test_standard_t_moments_within_four_standard_errors() -> None:
    nu = 10.0
    draws = standard_t(nu, N, rng=3)
    var = nu / (nu - 2.0)  # variance of t(nu)
    mu4 = 3.0 * nu**2 / ((nu - 2.0) * (nu - 4.0))  # fourth moment of t(nu), finite for nu > 4
    assert abs(draws.mean()) < 4.0 * math.sqrt(var / N)
    assert abs(draws.var() - var) < 4.0 * math.sqrt((mu4 - var**2) / N)


@pytest.mark.parametrize("q", [0.01, 0.05, 0.5, 0.95, 0.99])
def test_standard_t_quantiles_within_four_standard_errors(q: float) -> None:
    nu = 4.0
    draws = standard_t(nu, N, rng=5)
    law = stats.t(nu)
    se = math.sqrt(q * (1 - q) / N) / law.pdf(law.ppf(q))  # asymptotic SE of a sample quantile
    assert abs(np.quantile(draws, q) - law.ppf(q)) < 4.0 * se


def test_standard_t_is_reproducible_and_rejects_bad_nu() -> None:
    assert np.array_equal(standard_t(3.0, 5000, rng=1), standard_t(3.0, 5000, rng=1))
    with pytest.raises(InputError, match="nu=-1"):
        standard_t(-1.0, 10, rng=1)


def _one_step_innovations(dist: str, nu: float = 0.0, lam: float = 0.0, n: int = 100_000) -> np.ndarray:
    """Standardised one-day innovations produced by the kernel (GARCH with unit variance, zero drift)."""
    plan = SimulationPlan(
        x0=0.0, h0=1.0, dist=DIST_CODES[dist], nu=nu, lam=lam, vol=VOL_GARCH, omega=1.0, alpha=0.0, gamma=0.0,
        beta=0.0, c=np.zeros(1), phi=np.ones(1), sd=np.zeros(1), record=np.array([1]), step_days=np.ones(1, int),
    )  # fmt: skip
    dates = pd.DatetimeIndex(["2024-01-02", "2024-01-03"])
    paths = run_plan(plan, dates, n, rng=9)
    return np.log(paths["CEA"][1]) * 100.0  # returns in percent with sigma = 1 percent


def test_kernel_normal_innovations_ks() -> None:
    assert stats.kstest(_one_step_innovations("normal"), stats.norm.cdf).pvalue > 1e-3


def test_kernel_standardised_t_innovations_ks() -> None:
    nu = 3.5
    z = _one_step_innovations("t", nu=nu)
    assert stats.kstest(z, stats.t(nu, scale=math.sqrt((nu - 2) / nu)).cdf).pvalue > 1e-3


def test_kernel_skewed_t_innovations_ks_against_arch() -> None:
    nu, lam = 5.0, -0.3
    z = _one_step_innovations("skewt", nu=nu, lam=lam)
    dist = SkewStudent()
    assert stats.kstest(z, lambda v: dist.cdf(np.asarray(v), np.array([nu, lam]))).pvalue > 1e-3


def test_standard_normal_matches_the_normal_law() -> None:
    """``standard_normal`` (weather shocks): KS against N(0, 1), mean and variance within 4 standard errors, and
    the same numbers from the same generator state."""
    from carbonrisk.models.sampler import standard_normal

    z = standard_normal(np.random.default_rng(3), (200, 1000))
    assert z.shape == (200, 1000)
    flat = z.ravel()
    assert stats.kstest(flat, "norm").pvalue > 0.001
    n = flat.size
    assert abs(flat.mean()) < 4 / math.sqrt(n)
    assert abs(flat.var() - 1.0) < 4 * math.sqrt(2.0 / n)
    np.testing.assert_array_equal(z, standard_normal(np.random.default_rng(3), (200, 1000)))
