"""CCER issuance pipeline: from yearly reductions to credits in hand, with dates and vintages.

Life cycle (DOMAIN.md section 1; doc 000 section 3): project start -> validation -> registration -> crediting
period (7-10 years) cut into monitoring periods -> verification -> issuance. Each operating year ``y`` is the heating
season that starts in year ``y``; its reductions accrue over the season's days uniformly or with given daily weights
(a project uses the daily heat of its reference season, so the cold middle weighs more). Reductions outside the
crediting period are never credited and are reported separately, as is the uncertainty deduction.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.geothermal.quantities import GEOTHERMAL_QUANTITIES
from carbonrisk.models.validation import check

__all__ = ["CREDITING_YEARS_RANGE", "IssuanceParameters", "IssuanceResult", "IssuanceSchedule", "issue_credits"]

CREDITING_YEARS_RANGE: tuple[int, int] = (7, 10)
"""Minimum and maximum crediting period of a CCER project, years (DOMAIN.md section 1)."""


def _declared(key: str, value: Any) -> Any:
    """``value`` checked against its declaration (:mod:`carbonrisk.models.geothermal.quantities`)."""
    return check(GEOTHERMAL_QUANTITIES["issuance"][key], value, name=key)


@dataclass(frozen=True)
class IssuanceParameters:
    """Dates and lags of the CCER pipeline.

    Attributes
    ----------
    project_start : pandas.Timestamp
        Start of operation (first heating season).
    validation_months, registration_months : int
        Delays from project start to validation, then to registration (used when ``registration_date`` is None).
    registration_date : pandas.Timestamp or None
        Explicit registration date (overrides the two delays).
    crediting_years : int
        Crediting period, 7-10 years, starting at registration.
    monitoring_months : int
        Length of a monitoring period (> 0).
    verification_months, issuance_months : int
        Lags from the end of a monitoring period to verification, then to issuance.
    uncertainty_deduction : float
        Share in [0, 1] of verified reductions withheld for monitoring uncertainty.
    """

    project_start: pd.Timestamp
    validation_months: int = 6
    registration_months: int = 6
    registration_date: pd.Timestamp | None = None
    crediting_years: int = 10
    monitoring_months: int = 12
    verification_months: int = 4
    issuance_months: int = 2
    uncertainty_deduction: float = 0.05

    def __post_init__(self) -> None:
        object.__setattr__(self, "project_start", pd.Timestamp(self.project_start))
        if self.registration_date is not None:
            object.__setattr__(self, "registration_date", pd.Timestamp(self.registration_date))
        for name in (
            "crediting_years",
            "validation_months",
            "registration_months",
            "monitoring_months",
            "verification_months",
            "issuance_months",
            "uncertainty_deduction",
        ):
            _declared(name, getattr(self, name))  # fmt: skip

    @property
    def registration(self) -> pd.Timestamp:
        """Registration date: explicit, else project start + validation + registration delays."""
        if self.registration_date is not None:
            return pd.Timestamp(self.registration_date)
        return pd.Timestamp(self.project_start) + pd.DateOffset(
            months=self.validation_months + self.registration_months
        )

    @property
    def crediting_end(self) -> pd.Timestamp:
        """End (exclusive) of the crediting period."""
        return self.registration + pd.DateOffset(years=self.crediting_years)

    def to_dict(self) -> dict[str, Any]:
        """Parameters and derived dates as plain values."""
        return {
            "project_start": self.project_start.date().isoformat(),
            "registration": self.registration.date().isoformat(),
            "crediting_years": self.crediting_years,
            "crediting_end": self.crediting_end.date().isoformat(),
            "monitoring_months": self.monitoring_months,
            "verification_months": self.verification_months,
            "issuance_months": self.issuance_months,
            "uncertainty_deduction": float(self.uncertainty_deduction),
        }


def _days(ts: pd.Timestamp) -> int:
    return int(np.datetime64(pd.Timestamp(ts).date(), "D").astype(np.int64))


@dataclass(frozen=True)
class IssuanceSchedule:
    """The linear map from yearly reductions to issued credits (independent of the volumes).

    Attributes
    ----------
    periods : pandas.DataFrame
        One row per monitoring period: ``period``, ``start``, ``end`` (exclusive), ``issue_date``.
    season_years : numpy.ndarray
        Operating years (season start years) of the reductions vector.
    vintages : numpy.ndarray
        Calendar years in which credited reductions accrue.
    weights : numpy.ndarray
        ``(n_periods, n_season_years, n_vintages)``: share of season y's reductions accruing in period p and year v.
    before_share, after_share : numpy.ndarray
        Share of each season before the crediting period starts / after it ends.
    """

    params: IssuanceParameters
    season_start_month_day: tuple[int, int]
    season_days: int
    periods: pd.DataFrame
    season_years: np.ndarray
    vintages: np.ndarray
    weights: np.ndarray
    before_share: np.ndarray
    after_share: np.ndarray

    @classmethod
    def build(
        cls,
        params: IssuanceParameters,
        season_years: np.ndarray,
        season_start: tuple[int, int],
        season_days: int,
        daily_weights: np.ndarray | None = None,
    ) -> IssuanceSchedule:
        """Schedule for seasons starting on ``season_start`` = (month, day) of each of ``season_years``.

        ``daily_weights`` (length ``season_days``, >= 0) is the share of a season's reductions accruing on each day,
        e.g. the daily heat of the reference season; default uniform.
        """
        if daily_weights is None:
            w = np.full(int(season_days), 1.0 / season_days)
        else:
            w = np.asarray(daily_weights, dtype=float)
            if w.shape != (int(season_days),) or np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
                raise InputError(f"daily_weights must be {season_days} finite values >= 0 with a positive sum")
            w = w / w.sum()
        cum = np.concatenate([[0.0], np.cumsum(w)])

        def share(lo: np.ndarray, hi: np.ndarray, start: np.ndarray) -> np.ndarray:
            a = np.clip(lo - start, 0, season_days).astype(int)
            b = np.clip(hi - start, 0, season_days).astype(int)
            return np.asarray(np.where(b > a, cum[b] - cum[np.minimum(a, b)], 0.0), dtype=float)

        years = np.asarray(season_years, dtype=int)
        starts = [pd.Timestamp(year=int(y), month=season_start[0], day=season_start[1]) for y in years]
        s0 = np.array([_days(s) for s in starts])
        s1 = s0 + int(season_days)
        reg, end = params.registration, params.crediting_end
        bounds: list[pd.Timestamp] = []
        current = reg
        while current < end:
            bounds.append(current)
            current = current + pd.DateOffset(months=params.monitoring_months)
        bounds.append(end)
        lag = pd.DateOffset(months=params.verification_months + params.issuance_months)
        periods = pd.DataFrame(
            {
                "period": np.arange(1, len(bounds)),
                "start": bounds[:-1],
                "end": bounds[1:],
                "issue_date": [b + lag for b in bounds[1:]],
            }
        )
        last_day = pd.Timestamp(int(s1.max()), unit="D")
        vintages = np.arange(int(years.min()), int(last_day.year) + 1)
        v_bounds = np.array([_days(pd.Timestamp(year=int(v), month=1, day=1)) for v in [*vintages, vintages[-1] + 1]])
        weights = np.zeros((len(periods), years.size, vintages.size))
        for p, (a, b) in enumerate(itertools.pairwise(bounds)):
            pa, pb = _days(a), _days(b)
            for v in range(vintages.size):
                lo = np.maximum(np.maximum(s0, pa), v_bounds[v])
                hi = np.minimum(np.minimum(s1, pb), v_bounds[v + 1])
                weights[p, :, v] = share(lo, hi, s0)
        before = share(s0, np.minimum(s1, _days(reg)), s0)
        after = share(np.maximum(s0, _days(end)), s1, s0)
        return cls(params, season_start, int(season_days), periods, years, vintages, weights, before, after)

    def credits_by_issue_year(self, reductions_t: np.ndarray, issue_years: np.ndarray) -> np.ndarray:
        """Credits issued per calendar year: ``(len(issue_years), ...)`` for reductions ``(n_season_years, ...)``."""
        red = np.asarray(reductions_t, dtype=float)
        # einsum's own loops, not BLAS: a multithreaded BLAS sums in a thread-dependent order, and per-path credits
        # must be bit-identical in every process (a Dask worker runs BLAS single-threaded).
        per_period = np.einsum("ps,s...->p...", self.weights.sum(axis=2), red) * (
            1.0 - self.params.uncertainty_deduction
        )
        out = np.zeros((len(issue_years), *red.shape[1:]))
        index = {int(y): i for i, y in enumerate(issue_years)}
        for p, date in enumerate(self.periods["issue_date"]):
            i = index.get(int(pd.Timestamp(date).year))
            if i is not None:
                out[i] += per_period[p]
        return out

    def credits_by_issue_and_vintage(self, reductions_t: np.ndarray, issue_years: np.ndarray) -> np.ndarray:
        """Credits ``(len(issue_years), n_vintages, ...)`` for reductions ``(n_season_years, ...)``."""
        red = np.asarray(reductions_t, dtype=float)
        per_pv = np.einsum("psv,s...->pv...", self.weights, red) * (1.0 - self.params.uncertainty_deduction)
        out = np.zeros((len(issue_years), self.vintages.size, *red.shape[1:]))
        index = {int(y): i for i, y in enumerate(issue_years)}
        for p, date in enumerate(self.periods["issue_date"]):
            i = index.get(int(pd.Timestamp(date).year))
            if i is not None:
                out[i] += per_pv[p]
        return out


@dataclass(frozen=True)
class IssuanceResult:
    """Credits issued for one project and the reductions that were never credited.

    Attributes
    ----------
    issuances : pandas.DataFrame
        One row per (monitoring period, vintage) with credits: ``period``, ``period_start``, ``period_end``,
        ``issue_date``, ``vintage``, ``verified_t``, ``deducted_t``, ``credits_t``.
    by_season : pandas.DataFrame
        Index = operating year: ``reductions_t``, ``before_crediting_t``, ``after_crediting_t``, ``verified_t``,
        ``deducted_t``, ``credits_t``.
    credits_by_year : pandas.Series
        Credits issued per calendar year of issuance.
    params : IssuanceParameters
    """

    issuances: pd.DataFrame
    by_season: pd.DataFrame
    credits_by_year: pd.Series
    params: IssuanceParameters

    @property
    def never_credited_t(self) -> float:
        """Reductions before registration or after the crediting period (tCO2)."""
        return float(self.by_season["before_crediting_t"].sum() + self.by_season["after_crediting_t"].sum())

    def summary(self) -> dict[str, Any]:
        """Totals and dates as plain values."""
        b = self.by_season
        return {
            **self.params.to_dict(),
            "reductions_t": float(b["reductions_t"].sum()),
            "before_crediting_t": float(b["before_crediting_t"].sum()),
            "after_crediting_t": float(b["after_crediting_t"].sum()),
            "deducted_t": float(b["deducted_t"].sum()),
            "credits_t": float(b["credits_t"].sum()),
            "first_issue": str(self.issuances["issue_date"].min().date()) if len(self.issuances) else None,
            "last_issue": str(self.issuances["issue_date"].max().date()) if len(self.issuances) else None,
        }


def issue_credits(
    reductions_t: pd.Series,
    params: IssuanceParameters,
    *,
    season_start: tuple[int, int] = (11, 13),
    season_days: int = 124,
    daily_weights: np.ndarray | None = None,
) -> IssuanceResult:
    """Run the pipeline on yearly reductions (index = operating year = the year its heating season starts).

    Notes
    -----
    For monitoring period :math:`p = [a_p, b_p)` inside the crediting period and season :math:`y = [s_y, s_y + D)`,
    verified reductions :math:`V_{p,v} = \\sum_y ER_y\\,|[a_p, b_p) \\cap [s_y, s_y + D) \\cap \\text{year } v| / D`,
    credits :math:`C_{p,v} = (1 - u) V_{p,v}`, issued on :math:`b_p` + verification + issuance lags.
    """
    red = pd.Series(reductions_t, dtype=float)
    if red.isna().any():
        raise InputError("reductions_t has missing values")
    years = np.asarray(red.index, dtype=int)
    schedule = IssuanceSchedule.build(params, years, season_start, season_days, daily_weights)
    values = red.to_numpy()
    per_pv = np.einsum("psv,s->pv", schedule.weights, values)  # (periods, vintages)
    u = float(params.uncertainty_deduction)
    rows: list[dict[str, Any]] = []
    for p, period in schedule.periods.iterrows():
        for v, vintage in enumerate(schedule.vintages):
            verified = float(per_pv[p, v])
            if verified <= 0:
                continue
            rows.append(
                {
                    "period": int(period["period"]),
                    "period_start": period["start"],
                    "period_end": period["end"],
                    "issue_date": period["issue_date"],
                    "vintage": int(vintage),
                    "verified_t": verified,
                    "deducted_t": verified * u,
                    "credits_t": verified * (1.0 - u),
                }
            )
    issuances = pd.DataFrame(
        rows,
        columns=[
            "period",
            "period_start",
            "period_end",
            "issue_date",
            "vintage",
            "verified_t",
            "deducted_t",
            "credits_t",
        ],
    )
    verified_by_season = schedule.weights.sum(axis=(0, 2)) * values
    by_season = pd.DataFrame(
        {
            "reductions_t": values,
            "before_crediting_t": schedule.before_share * values,
            "after_crediting_t": schedule.after_share * values,
            "verified_t": verified_by_season,
            "deducted_t": verified_by_season * u,
            "credits_t": verified_by_season * (1.0 - u),
        },
        index=pd.Index(years, name="year"),
    )
    if len(issuances):
        credits_by_year = issuances.groupby(issuances["issue_date"].dt.year)["credits_t"].sum()
    else:
        credits_by_year = pd.Series(dtype=float)
    credits_by_year.index.name = "issue_year"
    credits_by_year.name = "credits_t"
    return IssuanceResult(issuances=issuances, by_season=by_season, credits_by_year=credits_by_year, params=params)
