"""Ornstein-Uhlenbeck and OU-GARCH: exact transition moments, parameter recovery, scenario median tracking."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbonrisk.models.data import PriceHistory, load_prices
from carbonrisk.models.exceptions import InputError, NonStationaryWarning
from carbonrisk.models.grid import SimulationGrid
from carbonrisk.models.meanrev import OrnsteinUhlenbeck, OUGarch, OUResult, fit_ar1
from carbonrisk.models.scenarios import load_scenario
from carbonrisk.models.units import TRADING_DAYS_PER_YEAR


@pytest.fixture(scope="module")
def cea() -> PriceHistory:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_prices("cea")


@pytest.fixture(scope="module")
def ou(cea: PriceHistory) -> OUResult:
    return OrnsteinUhlenbeck().fit(cea)


def test_exact_transition_moments_match_closed_form(ou: OUResult) -> None:
    grid = SimulationGrid.build(ou.last_date, "3y", "Y")
    n = 40_000
    logs = np.log(ou.simulate(grid, n, rng=17)["CEA"])
    kappa, theta, sigma = (float(ou.params[k]) for k in ("kappa", "theta", "sigma"))
    x0 = math.log(ou.last_price)
    for row, days in zip(range(1, grid.n_steps + 1), np.cumsum(grid.trading_days), strict=True):
        t = days / TRADING_DAYS_PER_YEAR
        # closed form of the OU transition: mean theta + (x0 - theta) e^{-kappa t},
        # variance sigma^2 (1 - e^{-2 kappa t}) / (2 kappa)
        mean = theta + (x0 - theta) * math.exp(-kappa * t)
        var = sigma**2 * (1.0 - math.exp(-2.0 * kappa * t)) / (2.0 * kappa)
        assert abs(logs[row].mean() - mean) < 4.0 * math.sqrt(var / n)
        assert abs(logs[row].var() - var) < 4.0 * var * math.sqrt(2.0 / (n - 1))
        m2, sd2 = ou.transition_moments(x0, int(days))
        assert m2 == pytest.approx(mean, rel=1e-9) and sd2**2 == pytest.approx(var, rel=1e-9)


def test_fit_recovers_known_parameters() -> None:
    rng = np.random.default_rng(2024)
    kappa, theta, sigma, n = 3.0, math.log(80.0), 0.3, 6000
    dt = 1.0 / TRADING_DAYS_PER_YEAR
    phi = math.exp(-kappa * dt)
    sd = sigma * math.sqrt((1 - phi**2) / (2 * kappa))
    x = np.empty(n)
    x[0] = theta
    for i in range(1, n):
        x[i] = theta + (x[i - 1] - theta) * phi + sd * rng.standard_normal()
    ar = fit_ar1(x, "synthetic")
    est, se = ar.ou_params(), ar.ou_std_err()
    for key, true in (("kappa", kappa), ("theta", theta), ("sigma", sigma)):
        assert abs(est[key] - true) < 4.0 * se[key], key


def test_cea_fit_reports_parameters_and_half_life(ou: OUResult) -> None:
    assert set(ou.params.index) == {"kappa", "theta", "long_run_cny_per_t", "sigma", "half_life_years"}
    assert (ou.std_err > 0).all()
    assert ou.params["half_life_years"] == pytest.approx(math.log(2) / ou.params["kappa"])
    assert ou.half_life_days == pytest.approx(ou.params["half_life_years"] * TRADING_DAYS_PER_YEAR, rel=1e-6)


def test_ou_garch_two_steps(cea: PriceHistory) -> None:
    with pytest.warns(NonStationaryWarning, match="OU-GARCH"):
        res = OUGarch().fit(cea)
    assert res.ar.phi == pytest.approx(OrnsteinUhlenbeck().fit(cea).ar.phi)
    assert {"kappa", "omega", "alpha", "beta", "nu"} <= set(res.params.index)
    assert res.summary()["policy_applied"].startswith("variance-target")


@settings(max_examples=6, deadline=None)
@given(scenario=st.sampled_from(["low", "mid", "high"]), seed=st.integers(0, 2**31))
def test_median_tracks_scenario_after_two_years(ou: OUResult, scenario: str, seed: int) -> None:
    curve = load_scenario(scenario)
    grid = SimulationGrid.build(ou.last_date, "20y", "Y")
    summary = ou.simulate_summary(grid, 4096, rng=seed, scenario=curve)
    median = summary.quantiles["CEA"]["q0.50"]
    late = median.index >= ou.last_date + pd.DateOffset(years=2)
    ratio = median[late].to_numpy() / curve.price_at(median.index[late])
    assert np.all(np.abs(ratio - 1.0) < 0.10)


def test_no_mean_reversion_is_reported(price_csv: Callable[..., Path]) -> None:
    dates = pd.bdate_range("2022-01-03", periods=300)
    trend = [f"{50 * math.exp(0.01 * i):.4f}" for i in range(300)]
    history = load_prices(price_csv(n=300, close=trend))
    assert len(dates) == history.n_obs
    with pytest.raises(InputError, match=r"AR\(1\) coefficient of ln price of 'prices' is phi=1\.0"):
        OrnsteinUhlenbeck().fit(history)


def test_too_few_and_constant(price_csv: Callable[..., Path]) -> None:
    with pytest.raises(InputError, match="needs at least 100"):
        OrnsteinUhlenbeck().fit(load_prices(price_csv(n=70)))
    with pytest.raises(InputError, match="constant"):
        OrnsteinUhlenbeck().fit(load_prices(price_csv(n=150, close=["40"] * 150)))
