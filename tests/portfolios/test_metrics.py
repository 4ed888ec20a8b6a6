"""Portfolio metrics against closed forms and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from carbonrisk.finance.monetisation import ccer_linked_loan, sold_floor
from carbonrisk.portfolios.exceptions import InputError
from carbonrisk.portfolios.metrics import (
    cash_flow_at_risk,
    es_contributions,
    exposure_profile,
    irr,
    mismatch_metrics,
    npv,
    payback_year,
)


def test_es_contributions_match_gaussian_closed_form() -> None:
    # For jointly normal zero-mean losses, E[L_i | L >= VaR_c(L)] = cov(L_i, L) / sd(L) * phi(z_c) / (1 - c)
    # (Tasche 1999; McNeil, Frey & Embrechts, Quantitative Risk Management, 2015, eq. 8.48).
    rng = np.random.default_rng(7)
    n, level = 400_000, 0.95
    cov = np.array([[4.0, 1.2], [1.2, 1.0]])
    losses = rng.multivariate_normal([0.0, 0.0], cov, size=n).T
    frame = es_contributions({"a": losses[0], "b": losses[1]}, level)
    sd_total = np.sqrt(cov.sum())
    factor = stats.norm.pdf(stats.norm.ppf(level)) / (1 - level)
    total = losses.sum(axis=0)
    tail = total >= np.quantile(total, level)
    for i, name in enumerate(("a", "b")):
        expected = cov[i].sum() / sd_total * factor
        se = losses[i][tail].std(ddof=1) / np.sqrt(tail.sum())
        assert abs(frame.loc[name, "contribution"] - expected) < 4 * se
    assert frame.loc[["a", "b"], "contribution"].sum() == pytest.approx(frame.loc["total", "contribution"])
    assert frame.attrs["diversification_benefit"] > 0


def test_npv_irr_payback_hand_computed() -> None:
    # [-100, 110] and [-100, 0, 121] both yield 10 %; [-100, 50, 50, 50] has IRR 23.375 % (solves
    # 50/(1+r) + 50/(1+r)^2 + 50/(1+r)^3 = 100; Brealey-Myers-Allen style textbook annuity, checked with scipy below).
    cf = np.array([[-100.0, -100.0, -100.0], [110.0, 0.0, 50.0], [0.0, 121.0, 50.0], [0.0, 0.0, 50.0]])
    t = np.arange(4.0)
    rates = irr(cf, t)
    annuity_root = float(optimize.brentq(lambda r: 50 / (1 + r) + 50 / (1 + r) ** 2 + 50 / (1 + r) ** 3 - 100, 0, 1))
    np.testing.assert_allclose(rates, [0.10, 0.10, annuity_root], atol=1e-9)
    np.testing.assert_allclose(npv(cf, t, 0.10)[:2], [0.0, 0.0], atol=1e-9)
    assert npv(cf, t, 0.0)[2] == pytest.approx(50.0)
    np.testing.assert_array_equal(payback_year(cf, [2025, 2026, 2027, 2028]), [2026, 2027, 2027])
    assert np.isnan(payback_year(np.array([[-1.0], [0.5]]), [0, 1]))[0]
    assert np.isnan(irr(np.array([[1.0], [1.0]]), np.arange(2.0)))[0]


def test_cfar_and_exposure_profiles() -> None:
    rng = np.random.default_rng(1)
    cf = rng.normal(10.0, 2.0, size=(3, 200_000))
    frame = cash_flow_at_risk(cf, [2025, 2026, 2027], 0.95)
    # CFaR of a normal cash flow is sd * z_0.95 = 2 * 1.645 (within sampling error of the 5 % quantile).
    np.testing.assert_allclose(frame["cfar"], 2.0 * stats.norm.ppf(0.95), rtol=0.02)
    exposure = exposure_profile(rng.normal(0.0, 1.0, size=(2, 200_000)), ["d1", "d2"], 0.95)
    # E[max(Z, 0)] = 1/sqrt(2 pi) and the 95 % quantile of max(Z, 0) is z_0.95 for a standard normal Z.
    np.testing.assert_allclose(exposure["epe"], 1 / np.sqrt(2 * np.pi), rtol=0.01)
    np.testing.assert_allclose(exposure["pfe_0.95"], stats.norm.ppf(0.95), rtol=0.02)
    with pytest.raises(InputError, match="periods has 2 entries; cash_flows has 3 rows"):
        cash_flow_at_risk(cf, [1, 2], 0.95)


def test_mismatch_of_early_risk_late_income_project() -> None:
    rng = np.random.default_rng(3)
    n, years = 50_000, np.arange(2025, 2035)
    t = (years - 2025 + 0.5).astype(float)
    costs = np.zeros((10, n))
    costs[0] = 100.0 + rng.normal(0, 20, n)  # drilling / capex risk in year 1 only
    credits = np.zeros((10, n))
    credits[3:] = 1.0
    price = np.full(10, 30.0)
    income = credits * price[:, None]
    m = mismatch_metrics(years, t, income, costs, credits, price)
    # Income is flat over rows 4-10 at times 3.5 ... 9.5 (mean 6.5 years); all downside sits in year 1 (0.5 years).
    assert m.income_mean_time_years == pytest.approx(6.5)
    assert m.risk_mean_time_years == pytest.approx(0.5)
    assert m.gap_years == pytest.approx(6.0)
    # Peak funding gap = year-1 cost: median 100, P95 = 100 + 1.645 * 20.
    assert m.peak_funding_gap_p50_cny == pytest.approx(100.0, abs=0.5)
    assert m.peak_funding_gap_p95_cny == pytest.approx(100 + 20 * stats.norm.ppf(0.95), abs=1.0)
    assert m.peak_funding_gap_year_p50 == 2025
    coverage = m.profile["coverage_probability"].to_numpy()
    assert np.all(np.diff(coverage) >= 0)
    # Early loss = C - 100 (plan = expectation), C ~ N(100, 20); cumulative income is 30 (k - 2) from row 3 on, so
    # coverage_k = P(C - 100 <= 30 (k - 2)) = Phi(30 (k - 2) / 20) for k >= 3 and Phi(0) = 0.5 before.
    for k in (0, 2, 3, 4):
        expected = stats.norm.cdf(30 * max(k - 2, 0) / 20)
        assert abs(coverage[k] - expected) < 4 * np.sqrt(expected * (1 - expected) / n)
    with pytest.raises(InputError, match="must have the same"):
        mismatch_metrics(years, t, income[:, :10], costs, credits, price)


def _project(n: int = 40_000) -> tuple[np.ndarray, ...]:
    """Capex in year 1 only (nothing in year 0), credits from year 3 at a lognormal price."""
    rng = np.random.default_rng(8)
    years = np.arange(2024, 2034)
    t = (years - 2024 + 0.5).astype(float)
    costs = np.zeros((10, n))
    costs[1] = 100.0 + rng.normal(0, 20, n)
    credits = np.zeros((10, n))
    credits[3:] = 1.0
    price = 30.0 * np.exp(rng.normal(0.0, 0.4, size=(10, n)))
    return years, t, costs, credits, price


def test_coverage_is_counted_from_the_first_year_with_a_loss() -> None:
    years, t, costs, credits, price = _project()
    m = mismatch_metrics(years, t, credits * price, costs, credits, price.mean(axis=1))
    coverage = m.profile["coverage_probability"]
    # Year 0 has no cost and no loss on any path: before, 0 >= 0 made it 1.0; now it is not counted.
    assert np.isnan(coverage.loc[2024])
    # Year 1 holds the capex risk, no income yet: covered where the capex came in under plan, about one half.
    assert abs(coverage.loc[2025] - 0.5) < 4 * np.sqrt(0.25 / costs.shape[1])


def test_downside_includes_carbon_price_risk_so_a_floor_lowers_it() -> None:
    years, t, costs, credits, price = _project()
    income = credits * price
    expected_price = price.mean(axis=1)
    base = mismatch_metrics(years, t, income, costs, credits, expected_price)
    fixed = mismatch_metrics(years, t, credits * expected_price[:, None], costs, credits, expected_price)
    # The same project at a known price has only the capex risk: the price risk is part of the downside.
    assert base.downside_es_cny > fixed.downside_es_cny
    floor = sold_floor(credits, price, np.ones(10), share=1.0, strike_cny_per_t=30.0, start_year=1)
    with_floor = mismatch_metrics(
        years,
        t,
        income + floor.carbon_income_cny,
        costs + floor.costs_cny,
        credits,
        expected_price,
        planned_costs_cny=(costs + floor.costs_cny).mean(axis=1),
    )
    assert with_floor.downside_es_cny < base.downside_es_cny
    # The premium is deterministic: it is planned, so it is no early loss and the coverage is unchanged in year 1.
    assert with_floor.profile["coverage_probability"].loc[2025] == base.profile["coverage_probability"].loc[2025]


def test_loan_proceeds_are_financing_apart_from_carbon_income() -> None:
    years, t, costs, credits, price = _project()
    income = credits * price
    loan = ccer_linked_loan(10, costs.shape[1], principal_cny=80.0, rate=0.04, tenor_years=5, start_year=1)
    base = mismatch_metrics(years, t, income, costs, credits, price.mean(axis=1))
    lent = mismatch_metrics(years, t, income, costs, credits, price.mean(axis=1), financing_cny=loan.financing_cny)
    # Carbon income, its timing, the downside and the coverage are untouched; the proceeds shrink the funding gap.
    pd.testing.assert_series_equal(lent.profile["expected_income_cny"], base.profile["expected_income_cny"])
    assert lent.income_mean_time_years == base.income_mean_time_years
    assert lent.downside_es_cny == base.downside_es_cny
    pd.testing.assert_series_equal(lent.profile["coverage_probability"], base.profile["coverage_probability"])
    assert lent.profile["expected_financing_cny"].loc[2025] == pytest.approx(80.0)
    assert lent.peak_funding_gap_p50_cny < base.peak_funding_gap_p50_cny - 50.0


def _whole_array_mismatch(
    years: np.ndarray,
    t: np.ndarray,
    income: np.ndarray,
    costs: np.ndarray,
    credits: np.ndarray,
    price: np.ndarray,
    other: np.ndarray,
    financing: np.ndarray,
) -> dict[str, object]:
    """The definitions of the module docstring in whole-array arithmetic (the implementation before the slices)."""
    losses = (costs - costs.mean(axis=1, keepdims=True)) + (income.mean(axis=1, keepdims=True) - income)
    total_loss = losses.sum(axis=0)
    tail = total_loss >= np.quantile(total_loss, 0.95)
    downside = losses[:, tail].mean(axis=1)
    cumulative = np.cumsum(income + other + financing - costs, axis=0)
    deficit = -np.minimum(cumulative.min(axis=0), 0.0)
    trough_year = years.astype(float)[np.argmin(cumulative, axis=0)]
    early_loss = (costs - costs.mean(axis=1)[:, None]) + (credits.mean(axis=1)[:, None] - credits) * price[:, None]
    coverage = (np.cumsum(income, axis=0) >= np.cumsum(early_loss, axis=0)).mean(axis=1)
    coverage[: int(np.argmax((early_loss > 0).any(axis=1)))] = np.nan
    return {
        "downside": downside,
        "coverage": coverage,
        "financing": financing.mean(axis=1),
        "p50": float(np.quantile(deficit, 0.5)),
        "p95": float(np.quantile(deficit, 0.95)),
        "year": float(np.median(trough_year[deficit > 0])),
        "es": float(total_loss[tail].mean()),
    }


def test_mismatch_in_path_slices_matches_whole_array_arithmetic() -> None:
    """Issue 14 (memory at 1 000 000 paths): the metrics run over slices of paths. One slice reproduces the
    whole-array definitions bit for bit; several slices (a ragged last one included) agree to rounding."""
    years, t, costs, credits, price = _project(n=20_001)
    rng = np.random.default_rng(3)
    credits = credits * rng.uniform(0.6, 1.1, size=credits.shape)  # a volume risk, so the plan matters
    income, other = credits * price, rng.normal(5.0, 1.0, size=costs.shape)
    financing = ccer_linked_loan(10, costs.shape[1], principal_cny=80.0, rate=0.04, tenor_years=5, start_year=1)
    ref = _whole_array_mismatch(years, t, income, costs, credits, price.mean(axis=1), other, financing.financing_cny)
    args = (years, t, income, costs, credits, price.mean(axis=1), other)
    one = mismatch_metrics(*args, financing_cny=financing.financing_cny, paths_per_chunk=costs.shape[1])
    np.testing.assert_array_equal(one.profile["downside_es_contribution_cny"], ref["downside"])
    np.testing.assert_array_equal(one.profile["coverage_probability"], ref["coverage"])
    np.testing.assert_array_equal(one.profile["expected_financing_cny"], ref["financing"])
    assert (one.peak_funding_gap_p50_cny, one.peak_funding_gap_p95_cny) == (ref["p50"], ref["p95"])
    assert (one.peak_funding_gap_year_p50, one.downside_es_cny) == (ref["year"], ref["es"])
    sliced = mismatch_metrics(*args, financing_cny=financing.financing_cny, paths_per_chunk=997)
    pd.testing.assert_frame_equal(sliced.profile, one.profile, rtol=1e-12)
    assert sliced.summary() == pytest.approx(one.summary(), rel=1e-12)
    with pytest.raises(InputError, match="paths_per_chunk = 0 must be at least 1"):
        mismatch_metrics(*args, paths_per_chunk=0)
