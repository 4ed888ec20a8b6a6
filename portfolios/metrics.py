"""Portfolio risk metrics on per-path arrays (years or dates x paths); pure functions, no model knowledge.

Conventions: arrays are ``(n_periods, n_paths)``; cash flows are signed (positive = money in); losses are positive.

Component contributions (Euler allocation of expected shortfall; Tasche 1999, *Risk contributions and performance
measurement*)::

    L = sum_i L_i,   ES_c(L) = E[L | L >= VaR_c(L)] = sum_i E[L_i | L >= VaR_c(L)]

Early-risk / late-income mismatch of a project (all per calendar year y, t_y = years from valuation):

* income profile ``I_y = E[carbon income_y]`` (sales of credits, floor payoffs, prepayments; loan proceeds are
  financing, kept apart in ``F_y = E[financing_y]``: proceeds positive, debt service negative);
* downside profile ``D_y = E[L_y | L >= VaR_0.95(L)]``, the ES contribution of year y, where
  ``L_y = (costs_y - E costs_y) + (E income_y - income_y)`` holds capex, drilling, volume **and carbon price** risk
  (so a sold floor, which pays in the low-price paths, lowers it; financing flows are not in it);
* mismatch gap ``sum t_y I_y / sum I_y - sum t_y D_y+ / sum D_y+`` (years; positive = income arrives after risk);
* peak funding gap: per path ``-min_k sum_{y<=k} (income_y + other_y + financing_y - costs_y)`` (floored at 0),
  reported at P50 and P95 with the median year in which the trough occurs;
* coverage probability by year k: ``P(sum_{y<=k} income_y >= sum_{y<=k} early loss_y)`` with the early loss
  measured against the plan (the deterministic project): ``early loss_y = (costs_y - planned costs_y) +
  (planned credits_y - credits_y) * E price_y`` (capex overrun, re-drilling, delay and volume shortfall): the share
  of paths on which carbon income has paid for what the early risks cost by year k. It is counted from the first
  year in which some path has an early loss (``early loss_y > 0``); the years before are NaN (before, they showed
  1.0 because 0 >= 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from carbonrisk.portfolios.exceptions import InputError

__all__ = [
    "PATHS_PER_CHUNK",
    "MismatchMetrics",
    "cash_flow_at_risk",
    "es_contributions",
    "exposure_profile",
    "irr",
    "mismatch_metrics",
    "npv",
    "payback_year",
    "present_value",
]


def _as_2d(values: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 2:
        raise InputError(f"{name} must be a 2-D (periods x paths) array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} contains non-finite values")
    return arr


def es_contributions(losses_by_component: Mapping[str, np.ndarray], level: float) -> pd.DataFrame:
    """Euler ES contributions of components with per-path losses (each a 1-D array of equal length).

    Returns a frame indexed by component with ``standalone_es``, ``contribution`` (summing to the total ES) and
    ``share``; the row ``total`` holds the portfolio ES and the diversification benefit is
    ``sum(standalone_es) - ES(total)``.
    """
    if not losses_by_component:
        raise InputError("losses_by_component must hold at least one component")
    names = list(losses_by_component)
    matrix = np.vstack([np.asarray(losses_by_component[n], dtype=float).ravel() for n in names])
    total = matrix.sum(axis=0)
    var = np.quantile(total, level)
    tail = total >= var
    contrib = matrix[:, tail].mean(axis=1)
    standalone = np.array([row[row >= np.quantile(row, level)].mean() for row in matrix])
    es_total = float(total[tail].mean())
    frame = pd.DataFrame(
        {
            "standalone_es": standalone,
            "contribution": contrib,
            "share": contrib / es_total if es_total != 0 else np.nan,
        },
        index=pd.Index(names, name="component"),
    )
    frame.loc["total"] = [float(standalone.sum()), es_total, 1.0]
    frame.attrs["diversification_benefit"] = float(standalone.sum() - es_total)
    return frame


def cash_flow_at_risk(cash_flows: np.ndarray, periods: Sequence[object], level: float = 0.95) -> pd.DataFrame:
    """Per period: expected cash flow, the (1 - level) quantile and CFaR = expected - quantile."""
    cf = _as_2d(cash_flows, "cash_flows")
    if len(periods) != cf.shape[0]:
        raise InputError(f"periods has {len(periods)} entries; cash_flows has {cf.shape[0]} rows")
    expected = cf.mean(axis=1)
    low = np.quantile(cf, 1.0 - level, axis=1)
    return pd.DataFrame(
        {"expected": expected, f"q{1 - level:.2f}": low, "cfar": expected - low},
        index=pd.Index(list(periods), name="period"),
    )


def exposure_profile(exposure: np.ndarray, dates: Sequence[object], level: float = 0.95) -> pd.DataFrame:
    """Potential future exposure (``level`` quantile of max(E, 0)) and expected positive exposure per date."""
    e = np.maximum(_as_2d(exposure, "exposure"), 0.0)
    return pd.DataFrame(
        {"epe": e.mean(axis=1), f"pfe_{level:.2f}": np.quantile(e, level, axis=1)},
        index=pd.Index(list(dates), name="date"),
    )


def npv(cash_flows: np.ndarray, times_years: np.ndarray, rate: float) -> np.ndarray:
    """Per-path net present value ``sum_y CF_y / (1 + rate)^t_y`` (annual compounding)."""
    cf = _as_2d(cash_flows, "cash_flows")
    t = np.asarray(times_years, dtype=float)
    return np.asarray((cf / (1.0 + rate) ** t[:, None]).sum(axis=0))


def present_value(cash_flows: np.ndarray, discount_factors: np.ndarray) -> np.ndarray:
    """Per-path present value ``sum_y CF_y P(0, t_y)`` with the market curve's discount factors ``P(0, t_y)``."""
    cf = _as_2d(cash_flows, "cash_flows")
    df = np.asarray(discount_factors, dtype=float)
    return np.asarray((cf * df[:, None]).sum(axis=0))


def irr(cash_flows: np.ndarray, times_years: np.ndarray, low: float = -0.99, high: float = 10.0) -> np.ndarray:
    """Per-path internal rate of return by vectorised bisection on ``[low, high]``; NaN where NPV has no sign change.

    The NPV of a conventional project (costs first, income later) decreases monotonically in the rate, so bisection
    finds its unique root to 1e-10 in 60 halvings.
    """
    cf = _as_2d(cash_flows, "cash_flows")
    t = np.asarray(times_years, dtype=float)[:, None]

    def value(rate: np.ndarray) -> np.ndarray:
        return np.asarray((cf / (1.0 + rate[None, :]) ** t).sum(axis=0))

    lo = np.full(cf.shape[1], low)
    hi = np.full(cf.shape[1], high)
    v_lo, v_hi = value(lo), value(hi)
    valid = np.sign(v_lo) * np.sign(v_hi) < 0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        v_mid = value(mid)
        same = np.sign(v_mid) == np.sign(v_lo)
        lo = np.where(same, mid, lo)
        v_lo = np.where(same, v_mid, v_lo)
        hi = np.where(same, hi, mid)
    out = 0.5 * (lo + hi)
    out[~valid] = np.nan
    return out


def payback_year(cash_flows: np.ndarray, years: Sequence[int]) -> np.ndarray:
    """Per path, the first year in which cumulative cash flow is >= 0 after having been negative; NaN if never."""
    cf = _as_2d(cash_flows, "cash_flows")
    cum = np.cumsum(cf, axis=0)
    was_negative = np.maximum.accumulate(cum < 0, axis=0)
    paid = (cum >= 0) & was_negative
    first = np.argmax(paid, axis=0)
    out = np.asarray(years, dtype=float)[first]
    out[~paid.any(axis=0)] = np.nan
    return out


@dataclass(frozen=True)
class MismatchMetrics:
    """Early-risk / late-income mismatch of one project or the portfolio (see the module docstring)."""

    profile: pd.DataFrame
    """Per year: ``expected_income_cny`` (carbon income), ``expected_financing_cny`` (loan proceeds less debt
    service), ``downside_es_contribution_cny``, ``coverage_probability`` (NaN before the first year with a loss)."""
    gap_years: float
    income_mean_time_years: float
    risk_mean_time_years: float
    peak_funding_gap_p50_cny: float
    peak_funding_gap_p95_cny: float
    peak_funding_gap_year_p50: float
    downside_es_cny: float

    def summary(self) -> dict[str, float]:
        """Scalar metrics as a dictionary."""
        return {
            "gap_years": self.gap_years,
            "income_mean_time_years": self.income_mean_time_years,
            "risk_mean_time_years": self.risk_mean_time_years,
            "peak_funding_gap_p50_cny": self.peak_funding_gap_p50_cny,
            "peak_funding_gap_p95_cny": self.peak_funding_gap_p95_cny,
            "peak_funding_gap_year_p50": self.peak_funding_gap_year_p50,
            "downside_es_cny": self.downside_es_cny,
        }


PATHS_PER_CHUNK: int = 65_536
"""Paths per slice in :func:`mismatch_metrics`: its per-path temporaries (losses, cumulative cash flows, early
losses) exist for one slice at a time, 11 MB each at 21 years, whatever the run's path count."""


def _column_slices(n_paths: int, paths_per_chunk: int) -> list[slice]:
    if paths_per_chunk < 1:
        raise InputError(f"paths_per_chunk = {paths_per_chunk} must be at least 1")
    return [slice(a, min(a + paths_per_chunk, n_paths)) for a in range(0, n_paths, paths_per_chunk)]


def _row_means(values: np.ndarray, slices: list[slice]) -> np.ndarray:
    """Mean over paths of each row, summed slice by slice (one slice: exactly ``values.mean(axis=1)``)."""
    total = values[:, slices[0]].sum(axis=1)
    for s in slices[1:]:
        total = total + values[:, s].sum(axis=1)
    return np.asarray(total / values.shape[1])


def mismatch_metrics(
    years: Sequence[int],
    times_years: np.ndarray,
    carbon_income_cny: np.ndarray,
    costs_cny: np.ndarray,
    credits_t: np.ndarray,
    expected_price_cny_per_t: np.ndarray,
    other_revenue_cny: np.ndarray | None = None,
    level: float = 0.95,
    planned_costs_cny: np.ndarray | None = None,
    planned_credits_t: np.ndarray | None = None,
    financing_cny: np.ndarray | None = None,
    *,
    paths_per_chunk: int = PATHS_PER_CHUNK,
) -> MismatchMetrics:
    """Mismatch metrics from per-year, per-path arrays (see the module docstring for every definition).

    The per-path work runs over slices of ``paths_per_chunk`` paths in three passes (expectations; per-path losses,
    troughs and coverage counts; the tail's losses by year), so memory beyond the inputs is a few values per path:
    at 1 000 000 paths and 21 years the inputs are 168 MB each and the temporaries 11 MB each (issue 14). With one
    slice the figures are those of whole-array arithmetic bit for bit; with several they agree to rounding.

    Parameters
    ----------
    years : sequence of int
        Calendar years of the rows.
    times_years : numpy.ndarray
        Time of each row from the valuation date, years (mid-year convention is the caller's choice).
    carbon_income_cny, costs_cny, credits_t : numpy.ndarray
        ``(n_years, n_paths)``: carbon income received, costs paid (capex + opex + drilling, positive), credits
        issued.
    expected_price_cny_per_t : numpy.ndarray
        ``(n_years,)`` expected carbon price used to value volume shortfalls.
    other_revenue_cny : numpy.ndarray, optional
        ``(n_years, n_paths)`` non-carbon revenue (heat sales), default zero.
    planned_costs_cny, planned_credits_t : numpy.ndarray, optional
        ``(n_years,)`` costs and credits of the plan (deterministic project); default their expectations.
    financing_cny : numpy.ndarray, optional
        ``(n_years, n_paths)`` loan proceeds (positive) and debt service (negative), default zero: they enter the
        funding gap, never the carbon income, the downside or the coverage.
    paths_per_chunk : int
        Paths per slice (:data:`PATHS_PER_CHUNK`).
    """
    income = _as_2d(carbon_income_cny, "carbon_income_cny")
    costs = _as_2d(costs_cny, "costs_cny")
    credits = _as_2d(credits_t, "credits_t")
    other = None if other_revenue_cny is None else _as_2d(other_revenue_cny, "other_revenue_cny")
    financing = None if financing_cny is None else _as_2d(financing_cny, "financing_cny")
    other_shape = income.shape if other is None else other.shape
    financing_shape = income.shape if financing is None else financing.shape
    if not (income.shape == costs.shape == credits.shape == other_shape == financing_shape):
        raise InputError(
            f"income {income.shape}, costs {costs.shape}, credits {credits.shape}, other revenue {other_shape} "
            f"and financing {financing_shape} must have the same (years, paths) shape"
        )
    n_years, n_paths = income.shape
    slices = _column_slices(n_paths, paths_per_chunk)
    t = np.asarray(times_years, dtype=float)
    price = np.asarray(expected_price_cny_per_t, dtype=float)
    # pass 1: expectations by year
    expected_income = _row_means(income, slices)
    expected_costs = _row_means(costs, slices)
    expected_financing = np.zeros(n_years) if financing is None else _row_means(financing, slices)
    plan_costs = expected_costs if planned_costs_cny is None else np.asarray(planned_costs_cny, dtype=float)
    plan_credits = (
        _row_means(credits, slices) if planned_credits_t is None else np.asarray(planned_credits_t, dtype=float)
    )

    def losses(s: slice) -> np.ndarray:
        return np.asarray((costs[:, s] - expected_costs[:, None]) + (expected_income[:, None] - income[:, s]))

    # pass 2: per-path total loss and funding trough, coverage counts by year
    total_loss = np.empty(n_paths)
    deficit = np.empty(n_paths)
    trough_year = np.empty(n_paths)
    covered = np.zeros(n_years, dtype=np.int64)
    has_loss = np.zeros(n_years, dtype=bool)
    year_values = np.asarray(years, dtype=float)
    for s in slices:
        total_loss[s] = losses(s).sum(axis=0)
        net = income[:, s] if other is None else income[:, s] + other[:, s]
        if financing is not None:
            net = net + financing[:, s]
        cumulative = np.cumsum(net - costs[:, s], axis=0)
        deficit[s] = -np.minimum(cumulative.min(axis=0), 0.0)
        trough_year[s] = year_values[np.argmin(cumulative, axis=0)]
        del net, cumulative
        early_loss = (costs[:, s] - plan_costs[:, None]) + (plan_credits[:, None] - credits[:, s]) * price[:, None]
        covered += (np.cumsum(income[:, s], axis=0) >= np.cumsum(early_loss, axis=0)).sum(axis=1)
        has_loss |= (early_loss > 0).any(axis=1)
        del early_loss
    tail = total_loss >= np.quantile(total_loss, level)
    # pass 3: the tail's losses by year
    tail_sum = np.zeros(n_years)
    for s in slices:
        tail_sum = tail_sum + losses(s)[:, tail[s]].sum(axis=1)
    downside = tail_sum / int(tail.sum())
    positive_downside = np.maximum(downside, 0.0)
    income_time = float((t * expected_income).sum() / expected_income.sum()) if expected_income.sum() > 0 else np.nan
    risk_time = (
        float((t * positive_downside).sum() / positive_downside.sum()) if positive_downside.sum() > 0 else np.nan
    )
    coverage = covered / n_paths
    first_loss = int(np.argmax(has_loss)) if has_loss.any() else len(coverage)
    coverage[:first_loss] = np.nan

    profile = pd.DataFrame(
        {
            "expected_income_cny": expected_income,
            "expected_financing_cny": expected_financing,
            "downside_es_contribution_cny": downside,
            "coverage_probability": coverage,
        },
        index=pd.Index(list(years), name="year"),
    )
    return MismatchMetrics(
        profile=profile,
        gap_years=income_time - risk_time,
        income_mean_time_years=income_time,
        risk_mean_time_years=risk_time,
        peak_funding_gap_p50_cny=float(np.quantile(deficit, 0.50)),
        peak_funding_gap_p95_cny=float(np.quantile(deficit, 0.95)),
        peak_funding_gap_year_p50=float(np.median(trough_year[deficit > 0])) if (deficit > 0).any() else np.nan,
        downside_es_cny=float(total_loss[tail].mean()),
    )
