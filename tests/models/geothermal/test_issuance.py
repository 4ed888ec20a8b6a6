"""CCER issuance: conservation of reductions, dates and lags, vintages, crediting-period rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.geothermal.issuance import IssuanceParameters, IssuanceSchedule, issue_credits

YEARS = np.arange(2021, 2041)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(7, 10),
    st.integers(0, 48),
    st.sampled_from([3, 6, 12, 24]),
    st.floats(0.0, 0.3),
    st.lists(st.floats(0.0, 1e5), min_size=20, max_size=20),
)
def test_every_tonne_is_credited_deducted_or_reported_uncredited(
    crediting: int, delay: int, monitoring: int, deduction: float, volumes: list[float]
) -> None:
    params = IssuanceParameters(
        pd.Timestamp("2021-11-13"),
        validation_months=delay,
        registration_months=0,
        crediting_years=crediting,
        monitoring_months=monitoring,
        uncertainty_deduction=deduction,
    )
    red = pd.Series(volumes, index=YEARS)
    r = issue_credits(red, params)
    b = r.by_season
    np.testing.assert_allclose(
        b["before_crediting_t"] + b["after_crediting_t"] + b["verified_t"], b["reductions_t"], rtol=1e-9, atol=1e-6
    )
    assert r.issuances["credits_t"].sum() == pytest.approx(b["credits_t"].sum(), rel=1e-9, abs=1e-6)
    assert r.credits_by_year.sum() == pytest.approx((1 - deduction) * b["verified_t"].sum(), rel=1e-9, abs=1e-6)
    if len(r.issuances):
        lag = pd.DateOffset(months=params.verification_months + params.issuance_months)
        assert (r.issuances["issue_date"] == r.issuances["period_end"] + lag).all()
        assert (r.issuances["period_end"] <= params.crediting_end).all()
        assert (r.issuances["period_start"] >= params.registration).all()


def test_vintages_split_a_season_across_calendar_years() -> None:
    params = IssuanceParameters(pd.Timestamp("2021-11-13"), registration_date=pd.Timestamp("2021-01-01"),
                                crediting_years=7, uncertainty_deduction=0.0)  # fmt: skip
    r = issue_credits(pd.Series([124.0], index=[2021]), params)
    # Season 2021-11-13 .. 2022-03-15 (124 days): 49 days in 2021, 75 days in 2022; 1 t per day.
    by_vintage = r.issuances.groupby("vintage")["credits_t"].sum()
    assert by_vintage.to_dict() == pytest.approx({2021: 49.0, 2022: 75.0})


def test_schedule_matches_pipeline() -> None:
    params = IssuanceParameters(pd.Timestamp("2021-11-13"), registration_date=pd.Timestamp("2025-01-01"))
    red = np.linspace(60000, 30000, 20)
    schedule = IssuanceSchedule.build(params, YEARS, (11, 13), 124)
    issue_years = np.arange(2020, 2042)
    by_year = schedule.credits_by_issue_year(red, issue_years)
    r = issue_credits(pd.Series(red, index=YEARS), params)
    expected = r.credits_by_year.reindex(issue_years, fill_value=0.0).to_numpy()
    np.testing.assert_allclose(by_year, expected)
    np.testing.assert_allclose(schedule.credits_by_issue_and_vintage(red, issue_years).sum(axis=1), by_year)


@pytest.mark.parametrize("years", [6, 11, 12])
def test_crediting_period_outside_7_10(years: int) -> None:
    with pytest.raises(InputError, match=rf"crediting_years = {years} is not in \[7, 10\] \(years\)"):
        IssuanceParameters(pd.Timestamp("2021-11-13"), crediting_years=years)


def test_bad_lags() -> None:
    with pytest.raises(InputError, match=r"uncertainty_deduction = 1.5 is not in \[0, 1\] \(fraction\)"):
        IssuanceParameters(pd.Timestamp("2021-11-13"), uncertainty_deduction=1.5)
    with pytest.raises(InputError, match=r"monitoring_months = 0 is not >= 1 \(months\)"):
        IssuanceParameters(pd.Timestamp("2021-11-13"), monitoring_months=0)


def test_daily_weights_shift_vintages_and_are_validated() -> None:
    params = IssuanceParameters(pd.Timestamp("2021-11-13"), registration_date=pd.Timestamp("2021-01-01"),
                                crediting_years=7, uncertainty_deduction=0.0)  # fmt: skip
    weights = np.zeros(124)
    weights[49:] = 1.0  # everything after 31 December
    r = issue_credits(pd.Series([100.0], index=[2021]), params, daily_weights=weights)
    assert r.issuances.groupby("vintage")["credits_t"].sum().to_dict() == pytest.approx({2022: 100.0})
    with pytest.raises(InputError, match="daily_weights must be 124 finite values >= 0"):
        issue_credits(pd.Series([100.0], index=[2021]), params, daily_weights=np.ones(10))
