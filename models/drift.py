"""Anchor / glide drift: the market forward sets the short horizon, the scenario the long one (issue 13, item 3).

A long-run income scenario must not set short-horizon risk. With a :class:`MarketAnchor` the simulation's trend
is, per date ``t`` (years from the valuation date, Actual/365 Fixed)::

    t <= T_a                 E S_t = F(t)                          (the asset's market forward)
                             i.e. median ln S_t = ln F(t) - v(t) / 2
    T_a < t < T_a + T_g      median ln S_t = ln S*(t) + (m(T_a) - ln S*(T_a)) (1 - (t - T_a) / T_g)
    t >= T_a + T_g           median ln S_t = ln S*(t)              (the scenario curve)

with ``T_a = anchor_years`` (default 1), ``T_g = glide_years`` (default 2), ``S*`` the scenario curve,
``v(t) = Var ln S_t`` the model's variance of the log price at ``t`` from the valuation date and ``m(T_a)`` the
median at the end of the anchor. ``F(t) = S_0 exp((financing_rate - convenience_yield) t)`` (cost of carry,
:func:`carry_forward`) or any quoted forward curve evaluated on the dates. The mean-median relation
``E S = exp(m + v / 2)`` is exact for Gaussian log prices (GBM, OU) and a second-order approximation for
GARCH-family paths (their log price is a variance mixture of normals).

Without a scenario the trend after the anchor continues the last anchored median at the scenario-free model's
own drift (the random walk's ``mu``, the OU reversion level), which is what the models do already; this module
covers the case with a scenario.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from carbonrisk.models.calendar import year_fractions
from carbonrisk.models.exceptions import InputError
from carbonrisk.models.scenarios import ScenarioCurve

__all__ = ["MarketAnchor", "anchor_glide_target", "carry_forward"]


def carry_forward(
    spot_cny_per_t: float,
    start: pd.Timestamp,
    dates: pd.DatetimeIndex,
    *,
    financing_rate: float,
    convenience_yield: float = 0.0,
) -> np.ndarray:
    """Cost-of-carry forward ``S_0 exp((financing_rate - convenience_yield) t)`` on ``dates`` (CNY/t).

    ``t`` is the Actual/365 Fixed year fraction from ``start`` (:func:`carbonrisk.models.calendar.year_fractions`);
    rates are continuously compounded per year.
    """
    if not (spot_cny_per_t > 0 and math.isfinite(spot_cny_per_t)):
        raise InputError(f"spot_cny_per_t={spot_cny_per_t!r} must be a finite number > 0")
    t = year_fractions(start, pd.DatetimeIndex(dates))
    return np.asarray(spot_cny_per_t * np.exp((financing_rate - convenience_yield) * t), dtype=float)


@dataclass(frozen=True)
class MarketAnchor:
    """Market forward that sets the expected price up to ``anchor_years``; then a glide onto the scenario.

    Parameters
    ----------
    financing_rate, convenience_yield : float
        Cost of carry (continuously compounded, per year), as in a contract file's ``[market.CEA]`` table.
    anchor_years : float
        Horizon (years, >= 0) up to which the mean follows the forward.
    glide_years : float
        Years (> 0) over which the median then moves linearly in log onto the scenario curve.
    forwards : pandas.Series, optional
        Quoted forwards (CNY/t) by date; when given they replace the carry forward, log-linear in time between
        quotes and flat beyond the last (the spot is the quote at the valuation date).
    """

    financing_rate: float = 0.0
    convenience_yield: float = 0.0
    anchor_years: float = 1.0
    glide_years: float = 2.0
    forwards: pd.Series | None = None

    def __post_init__(self) -> None:
        if not (self.anchor_years >= 0 and math.isfinite(self.anchor_years)):
            raise InputError(f"anchor_years={self.anchor_years!r} must be a finite number >= 0")
        if not (self.glide_years > 0 and math.isfinite(self.glide_years)):
            raise InputError(f"glide_years={self.glide_years!r} must be a finite number > 0")
        for name in ("financing_rate", "convenience_yield"):
            if not math.isfinite(getattr(self, name)):
                raise InputError(f"{name}={getattr(self, name)!r} must be finite")

    def forward(self, spot_cny_per_t: float, start: pd.Timestamp, dates: pd.DatetimeIndex) -> np.ndarray:
        """Forward price on ``dates`` (CNY/t): quoted forwards if given, else the carry forward."""
        if self.forwards is None:
            return carry_forward(
                spot_cny_per_t,
                start,
                dates,
                financing_rate=self.financing_rate,
                convenience_yield=self.convenience_yield,
            )
        quotes = self.forwards.sort_index()
        if np.any(~(quotes.to_numpy(dtype=float) > 0)):
            raise InputError("forwards must all be > 0 CNY/t")
        t_q = np.concatenate([[0.0], year_fractions(start, pd.DatetimeIndex(quotes.index))])
        ln_q = np.log(np.concatenate([[spot_cny_per_t], quotes.to_numpy(dtype=float)]))
        t = year_fractions(start, pd.DatetimeIndex(dates))
        return np.asarray(np.exp(np.interp(t, t_q, ln_q)), dtype=float)


def anchor_glide_target(
    x0: float,
    start: pd.Timestamp,
    dates: pd.DatetimeIndex,
    scenario: ScenarioCurve,
    anchor: MarketAnchor,
    log_variance: np.ndarray,
) -> np.ndarray:
    """Target median of ``ln S`` on ``dates`` under the anchor / glide rule (see the module docstring).

    Parameters
    ----------
    x0 : float
        Log of the spot price on ``start`` (CNY/t).
    start : pandas.Timestamp
        Valuation date.
    dates : pandas.DatetimeIndex
        Dates after ``start`` (the kernel's steps).
    scenario : ScenarioCurve
        Long-run curve the median follows after ``anchor_years + glide_years``.
    anchor : MarketAnchor
        Forward, anchor and glide horizons.
    log_variance : numpy.ndarray
        ``Var ln S_t`` of the model on each of ``dates`` (same length), from the valuation date.

    Returns
    -------
    numpy.ndarray
        Median log price per date.
    """
    dates = pd.DatetimeIndex(dates)
    v = np.asarray(log_variance, dtype=float)
    if v.shape != (len(dates),) or np.any(~np.isfinite(v)) or np.any(v < 0):
        raise InputError(f"log_variance must hold {len(dates)} finite values >= 0; got shape {v.shape}")
    t = year_fractions(start, dates)
    fwd = anchor.forward(math.exp(x0), start, dates)
    anchored = np.log(fwd) - 0.5 * v
    log_curve = np.log(scenario.price_at(dates))
    t_a, t_g = anchor.anchor_years, anchor.glide_years
    # median and scenario at the end of the anchor, by interpolation on the dates (the start when t_a = 0)
    t_full = np.concatenate([[0.0], t])
    m_a = float(np.interp(t_a, t_full, np.concatenate([[x0], anchored])))
    s_a = float(np.log(scenario.price_at(pd.DatetimeIndex([start + pd.Timedelta(days=round(t_a * 365))]))[0]))
    weight = np.clip(1.0 - (t - t_a) / t_g, 0.0, 1.0)
    glide = log_curve + (m_a - s_a) * weight
    return np.asarray(np.where(t <= t_a, anchored, glide), dtype=float)
