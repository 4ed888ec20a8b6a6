"""Project risk per path: chunking invariance, deterministic mode = sections 2-4, Monte Carlo moments, portfolios."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.geothermal.portfolio import basin_portfolio
from carbonrisk.models.geothermal.project import hebei_project, run_project
from carbonrisk.models.geothermal.risk import distance_correlation, simulate_portfolio, simulate_project
from carbonrisk.models.random import BLOCK_PATHS

SHORT = hebei_project("mid").with_changes(life_years=2)


def test_same_seed_same_numbers_whatever_the_chunking() -> None:
    n = BLOCK_PATHS + 37
    full = simulate_project(SHORT, n, rng=11)
    first = simulate_project(SHORT, n, rng=11, blocks=(0, 1))
    second = simulate_project(SHORT, n, rng=11, blocks=(1, 2))
    for field in ("heat_mwh", "reductions_t", "credits_issued_t", "capex_cny", "opex_cny", "credits_by_vintage_t"):
        joined = np.concatenate([getattr(first, field), getattr(second, field)], axis=-1)
        np.testing.assert_array_equal(getattr(full, field), joined)
    np.testing.assert_array_equal(
        full.startup_delay_months, np.concatenate([first.startup_delay_months, second.startup_delay_months])
    )
    again = simulate_project(SHORT, n, rng=11)
    np.testing.assert_array_equal(full.reductions_t, again.reductions_t)
    other = simulate_project(SHORT, 50, rng=12)
    assert not np.array_equal(full.reductions_t[:, :50], other.reductions_t)


def test_deterministic_mode_reproduces_sections_2_to_4() -> None:
    project = hebei_project("high", "dynamic")
    det = simulate_project(project, 1, deterministic=True)
    ref = run_project(project)
    rows = slice(1, 1 + project.life_years)
    assert det.years[0] == 2020 and det.operating_years.tolist() == list(range(2021, 2041))
    np.testing.assert_allclose(det.heat_mwh[rows, 0], ref.annual["heat_mwh"], rtol=1e-12)
    np.testing.assert_allclose(det.electricity_mwh[rows, 0], ref.annual["electricity_mwh"], rtol=1e-12)
    np.testing.assert_allclose(det.reductions_t[rows, 0], ref.annual["reductions_t"], rtol=1e-12)
    np.testing.assert_allclose(det.opex_cny[rows, 0], ref.annual["opex_cny"], rtol=1e-12)
    credits = pd.Series(det.credits_issued_t[:, 0], index=det.years)
    np.testing.assert_allclose(credits[credits > 0], ref.issuance.credits_by_year, rtol=1e-12)
    assert det.capex_cny[0, 0] == project.finance.capex_cny and det.capex_cny[1:].sum() == 0
    assert det.startup_delay_months[0] == 0 and det.capacity_factor[0] == 1


def test_drilling_and_capex_moments_within_four_standard_errors() -> None:
    n = 3000
    paths = simulate_project(SHORT, n, rng=5)
    r, w = SHORT.risk, SHORT.plant.production_wells
    q = r.well_failure_probability
    # Failed wells ~ Binomial(w, q): mean w q, SE sqrt(w q (1 - q) / n).
    assert abs(paths.failed_wells.mean() - w * q) < 4 * np.sqrt(w * q * (1 - q) / n)
    # Capacity: a well keeps failed_well_capacity when both drills fail (prob q^2).
    loss = q**2 * (1 - r.failed_well_capacity)
    se = np.sqrt(w * q**2 * (1 - q**2)) * (1 - r.failed_well_capacity) / w / np.sqrt(n)
    assert abs(paths.capacity_factor.mean() - (1 - loss)) < 4 * se
    # Lognormal capex multiplier: mean median exp(sigma^2 / 2), SE = sd / sqrt(n).
    m, s = r.capex_overrun_median, r.capex_overrun_sigma
    mean = m * np.exp(s**2 / 2)
    sd = mean * np.sqrt(np.exp(s**2) - 1)
    assert abs(paths.capex_multiplier.mean() - mean) < 4 * sd / np.sqrt(n)
    # Delay only when a well failed; capex includes re-drills.
    assert ((paths.startup_delay_months > 0) == (paths.failed_wells > 0)).all()
    np.testing.assert_allclose(
        paths.capex_cny[0], SHORT.finance.capex_cny * paths.capex_multiplier + paths.failed_wells * r.redrill_cost_cny
    )
    # A delay beyond the schedule slack costs part of the first season only.
    late = paths.startup_delay_months > r.schedule_slack_months
    assert paths.heat_mwh[1, late].mean() < paths.heat_mwh[1, ~late].mean()


def test_portfolio_totals_and_correlation() -> None:
    projects = [p.with_changes(life_years=2) for p in basin_portfolio(basins=["North China Plain", "Ordos Basin"])]
    strong = simulate_portfolio(projects, 400, rng=3, correlation=np.array([[1.0, 0.95], [0.95, 1.0]]))
    none = simulate_portfolio(projects, 400, rng=3, correlation=np.eye(2))
    np.testing.assert_allclose(strong.totals["heat_mwh"], sum(p.heat_mwh for p in strong.projects))
    year = 2  # the second season: the first one also carries the start-up delay
    rho_strong = np.corrcoef(strong.projects[0].heat_mwh[year], strong.projects[1].heat_mwh[year])[0, 1]
    rho_none = np.corrcoef(none.projects[0].heat_mwh[year], none.projects[1].heat_mwh[year])[0, 1]
    assert rho_strong > 0.5
    assert abs(rho_none) < 4 / np.sqrt(400)  # SE of a zero correlation ~ 1/sqrt(n)


def test_distance_correlation_and_bad_matrices() -> None:
    c = distance_correlation([38.0, 38.0, 45.5], [116.0, 116.0, 125.0])
    assert c[0, 1] == pytest.approx(1.0) and 0 < c[0, 2] < 0.5
    projects = [SHORT, SHORT]
    with pytest.raises(InputError, match=r"correlation matrix shape \(3, 3\) must be \(2, 2\)"):
        simulate_portfolio(projects, 10, rng=1, correlation=np.eye(3))
    with pytest.raises(InputError, match="positive definite"):
        simulate_portfolio(projects, 10, rng=1, correlation=np.array([[1.0, 1.0], [1.0, 1.0]]))
    with pytest.raises(InputError, match="symmetric with unit diagonal"):
        simulate_portfolio(projects, 10, rng=1, correlation=np.array([[1.0, 0.2], [0.3, 1.0]]))


@settings(max_examples=3, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_any_seed_gives_block_aligned_results(seed: int) -> None:
    one_year = SHORT.with_changes(life_years=1)
    n = BLOCK_PATHS + 5
    full = simulate_project(one_year, n, rng=seed)
    tail = simulate_project(one_year, n, rng=seed, blocks=(1, 2))
    np.testing.assert_array_equal(full.reductions_t[:, BLOCK_PATHS:], tail.reductions_t)
    np.testing.assert_array_equal(full.capex_cny[:, BLOCK_PATHS:], tail.capex_cny)
