"""Anchor / glide drift (issue 13, item 3) on a GBM-like case with a known answer.

Case: a GARCH(1,1)-normal result whose simulation parameters are a constant variance (alpha = beta = 0,
omega = sigma^2), i.e. a discretely sampled GBM: ln S_t = ln S_0 + sum of the per-day drifts + sigma W_t exactly.
Known answer: with a carry forward F(t) = S_0 exp(b t), E S_t = F(t) for t <= anchor_years, and from
anchor_years + glide_years on the median is the scenario curve. Tolerances: the sample mean of S_t has standard
error sd(S_t) / sqrt(N); the sample median has standard error 1 / (2 f(m) sqrt(N)) with f the lognormal density
at the median, ``m sigma_t sqrt(2 pi)`` in relative terms; both tested at 4 standard errors.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from carbonrisk.models.calendar import year_fractions
from carbonrisk.models.catalog import make_spec
from carbonrisk.models.data import load_prices
from carbonrisk.models.drift import MarketAnchor, anchor_glide_target, carry_forward
from carbonrisk.models.exceptions import InputError
from carbonrisk.models.garch import GarchResult
from carbonrisk.models.grid import SimulationGrid
from carbonrisk.models.scenarios import ScenarioCurve, load_scenario

SIGMA_PCT = 1.8  # daily sd, percent
CARRY = 0.018 - 0.003


@pytest.fixture(scope="module")
def gbm_like() -> GarchResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = make_spec("garch", "normal").fit(load_prices("cea"))
    sim = res.sim_params.copy()
    sim["alpha"], sim["beta"], sim["omega"], sim["mu"] = 0.0, 0.0, SIGMA_PCT**2, 0.0
    return dataclasses.replace(res, next_variance_pct2=SIGMA_PCT**2, sim_params=sim)  # results are frozen


def test_carry_forward_and_quoted_forwards() -> None:
    start = pd.Timestamp("2024-10-31")
    dates = pd.DatetimeIndex(["2025-10-31", "2026-10-31"])
    fwd = carry_forward(100.0, start, dates, financing_rate=0.02, convenience_yield=0.005)
    np.testing.assert_allclose(fwd, 100.0 * np.exp(0.015 * year_fractions(start, dates)), rtol=1e-15)
    quoted = MarketAnchor(forwards=pd.Series([110.0], index=pd.DatetimeIndex(["2025-10-31"])))
    mid = quoted.forward(100.0, start, pd.DatetimeIndex(["2025-05-01", "2027-01-01"]))
    t = year_fractions(start, pd.DatetimeIndex(["2025-05-01"]))[0] / year_fractions(start, dates[:1])[0]
    assert mid[0] == pytest.approx(100.0 * 1.1**t, rel=1e-12) and mid[1] == pytest.approx(110.0)


def test_target_is_forward_then_glide_then_scenario() -> None:
    start = pd.Timestamp("2024-10-31")
    dates = pd.date_range("2024-11-30", periods=60, freq="ME")
    curve = load_scenario("mid")
    v = 0.04 * year_fractions(start, dates)
    anchor = MarketAnchor(financing_rate=0.02, anchor_years=1.0, glide_years=2.0)
    m = anchor_glide_target(math.log(100.0), start, dates, curve, anchor, v)
    t = year_fractions(start, dates)
    fwd = carry_forward(100.0, start, dates, financing_rate=0.02)
    early, late = t <= 1.0, t >= 3.0
    np.testing.assert_allclose(m[early], np.log(fwd[early]) - 0.5 * v[early], rtol=1e-14)
    np.testing.assert_allclose(m[late], np.log(curve.price_at(dates[late])), rtol=1e-14)
    gap = m - np.log(curve.price_at(dates))
    inside = (t > 1.0) & (t < 3.0)
    assert np.all(np.diff(np.abs(gap[inside])) <= 1e-12)  # the gap closes monotonically during the glide
    with pytest.raises(InputError, match="glide_years"):
        MarketAnchor(glide_years=0.0)
    with pytest.raises(InputError, match="log_variance"):
        anchor_glide_target(0.0, start, dates, curve, anchor, v[:-1])


def test_gbm_like_mean_follows_the_forward_then_median_the_scenario(gbm_like: GarchResult) -> None:
    start = gbm_like.last_date
    curve = ScenarioCurve(name="flat60", years=np.arange(2020, 2040), price_cny_per_t=np.full(20, 60.0), source="test")
    anchor = MarketAnchor(financing_rate=0.018, convenience_yield=0.003, anchor_years=1.0, glide_years=1.0)
    grid = SimulationGrid.build(start, "4y", "M")
    n = 40_000
    paths = gbm_like.simulate(grid, n, rng=99, scenario=curve, anchor=anchor)
    values = paths["CEA"]
    t = year_fractions(start, grid.dates)
    days = np.cumsum(np.concatenate([[0], grid.trading_days]))
    sd_log = SIGMA_PCT / 100.0 * np.sqrt(days)
    for row in np.flatnonzero((t > 0.2) & (t <= 1.0)):
        mean = values[row].mean()
        se = values[row].std(ddof=1) / math.sqrt(n)
        fwd = gbm_like.last_price * math.exp(CARRY * t[row])
        assert abs(mean - fwd) < 4 * se, (grid.dates[row], mean, fwd, se)
    for row in np.flatnonzero(t >= 2.05):
        median = float(np.median(values[row]))
        rel_se = sd_log[row] * math.sqrt(2.0 * math.pi) / (2.0 * math.sqrt(n))
        assert abs(median / 60.0 - 1.0) < 4 * rel_se, (grid.dates[row], median)
    # without the anchor the same run glides from the last close (no forward): the one-year mean differs
    plain = gbm_like.simulate(grid, n, rng=99, scenario=curve)["CEA"]
    one_year = int(np.argmin(np.abs(t - 1.0)))
    assert abs(plain[one_year].mean() - values[one_year].mean()) > 10 * values[one_year].std() / math.sqrt(n)


def test_anchor_needs_a_scenario_and_reaches_every_model(gbm_like: GarchResult) -> None:
    with pytest.raises(InputError, match="anchor needs a scenario"):
        gbm_like.simulate(10, 10, rng=1, anchor=MarketAnchor())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = load_prices("cea")
        for model, dist in (("ou", "normal"), ("ou-garch", "empirical")):
            res = make_spec(model, dist).fit(history)
            grid = SimulationGrid.build(res.last_date, "3y", "M")
            anchored = res.simulate(grid, 4096, rng=2, scenario=load_scenario("mid"), anchor=MarketAnchor())
            t = year_fractions(res.last_date, grid.dates)
            row = int(np.argmin(np.abs(t - 0.5)))
            # zero carry: the half-year mean stays at the spot (within 4 s.e.)
            v = anchored["CEA"][row]
            assert abs(v.mean() - res.last_price) < 4 * v.std(ddof=1) / math.sqrt(v.size)
