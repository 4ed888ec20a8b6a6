"""Joint CEA/CCER path sets: basis level, correlation, fitted basis, determinism."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from carbonrisk.models.data import PriceHistory, load_prices
from carbonrisk.models.exceptions import InputError
from carbonrisk.models.grid import SimulationGrid
from carbonrisk.models.joint import DEFAULT_CCER_DISCOUNT, BasisParams, JointCeaCcer, fit_basis
from carbonrisk.models.meanrev import OrnsteinUhlenbeck
from carbonrisk.models.units import TRADING_DAYS_PER_YEAR


@pytest.fixture(scope="module")
def cea() -> PriceHistory:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_prices("cea")


def test_joint_paths_have_both_factors_and_the_basis_law(cea: PriceHistory) -> None:
    basis = BasisParams(b0=0.5)
    joint = JointCeaCcer(OrnsteinUhlenbeck().fit(cea), basis)
    grid = SimulationGrid.build(cea.last_date, "2y", "Y")
    n = 20_000
    paths = joint.simulate(grid, n, rng=8)
    assert paths.names == ("CEA", "CCER")
    b = np.log(paths["CEA"] / paths["CCER"])
    assert b[0] == pytest.approx(0.5)
    t = grid.trading_days.sum() / TRADING_DAYS_PER_YEAR
    # exact OU moments of the basis after t years
    mean = basis.mean_basis + (0.5 - basis.mean_basis) * math.exp(-basis.kappa * t)
    var = basis.sigma**2 * (1 - math.exp(-2 * basis.kappa * t)) / (2 * basis.kappa)
    assert abs(b[-1].mean() - mean) < 4 * math.sqrt(var / n)
    assert abs(b[-1].var() - var) < 4 * var * math.sqrt(2 / (n - 1))
    assert math.exp(-basis.mean_basis) == pytest.approx(DEFAULT_CCER_DISCOUNT)


def test_basis_shocks_correlate_with_cea_shocks(cea: PriceHistory) -> None:
    rho = 0.6
    joint = JointCeaCcer(OrnsteinUhlenbeck().fit(cea), BasisParams(rho=rho, sigma=0.3))
    grid = SimulationGrid.build(cea.last_date, "1m", "M")
    paths = joint.simulate(grid, 50_000, rng=4)
    d_cea = np.log(paths["CEA"][1] / paths["CEA"][0])
    d_b = np.log(paths["CEA"][1] / paths["CCER"][1]) - np.log(paths["CEA"][0] / paths["CCER"][0])
    r = float(np.corrcoef(d_cea, d_b)[0, 1])
    assert abs(r - rho) < 4 * (1 - rho**2) / math.sqrt(50_000)  # SE of a sample correlation


def test_fit_basis_recovers_parameters(cea: PriceHistory) -> None:
    rng = np.random.default_rng(3)
    n = len(cea.prices)
    kappa, mean, sigma = 20.0, 0.3, 0.4
    phi = math.exp(-kappa / TRADING_DAYS_PER_YEAR)
    sd = sigma * math.sqrt((1 - phi**2) / (2 * kappa))
    b = np.empty(n)
    b[0] = mean
    for i in range(1, n):
        b[i] = mean + (b[i - 1] - mean) * phi + sd * rng.standard_normal()
    ccer = PriceHistory(name="ccer", prices=pd.Series(cea.prices.to_numpy() * np.exp(-b), index=cea.prices.index),
                        source="synthetic", column="close")  # fmt: skip
    fitted = fit_basis(cea, ccer)
    assert fitted.mean_basis == pytest.approx(mean, abs=0.02)
    assert fitted.sigma == pytest.approx(sigma, rel=0.1)
    assert abs(fitted.rho) < 0.15 and fitted.b0 == pytest.approx(b[-1])


def test_joint_determinism_under_chunking(cea: PriceHistory) -> None:
    joint = JointCeaCcer(OrnsteinUhlenbeck().fit(cea), BasisParams())
    grid = SimulationGrid.build(cea.last_date, "1y", "M")
    a = joint.simulate(grid, 9000, rng=1)
    b = joint.simulate(grid, 9000, rng=1, chunk_paths=8192)
    assert np.array_equal(a["CCER"], b["CCER"])
    s = joint.simulate_summary(grid, 9000, rng=1)
    assert np.array_equal(s.terminal["CCER"], a["CCER"][-1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"kappa": 0.0}, "basis kappa=0.0 must be"), ({"rho": 1.5}, "basis rho=1.5 must lie in"),
     ({"sigma": -1.0}, "basis sigma=-1.0")],
)  # fmt: skip
def test_bad_basis(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(InputError, match=message):
        BasisParams(**kwargs)
