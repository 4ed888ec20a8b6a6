"""Counterparty exposure of derivatives on a path set: EE / PFE profiles and CVA from full revaluation.

On each chosen date :math:`t_i` of a path set the derivative is revalued per path with the closed form of
:mod:`carbonrisk.finance.revaluation` (the state known on that path at :math:`t_i`: price, past fixings, remaining time
and, when the path set carries it, the conditional variance); the values, in CNY at :math:`t_i`, give the exposure
profile (:func:`carbonrisk.finance.credit.exposure_profile`: EE, ENE, PFE, no netting or collateral) and, discounted
with the market curve, the unilateral CVA (:func:`carbonrisk.finance.credit.cva_from_values`,
:math:`CVA = LGD \\sum_i E[\\max(V_{t_i}, 0)]\\, DF(t_i)\\, [PD(t_i) - PD(t_{i-1})]`, exposure independent of the
counterparty's default: no wrong-way term). Dates on or after the instrument's last fixing or delivery date are
dropped (the contract has settled: no exposure left).

Checked against the closed form of a forward (``tests/finance/test_exposure.py``): with GBM paths the forward's
value at :math:`t` is :math:`q P(t,T)(F_t(T) - K)` with :math:`F_t(T)` lognormal of variance :math:`\\sigma^2 t`, so
:math:`EE(t) = q\\, P(0,T)/P(0,t)\\, \\mathrm{Black}(F(0,T), K, \\sigma\\sqrt t)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from carbonrisk.finance.credit import ExposureProfile, cva_from_values, exposure_profile
from carbonrisk.finance.exceptions import PathSetError
from carbonrisk.finance.instruments import Derivative, Instrument
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.revaluation import FlatVolatility, HorizonState, VolatilitySource, horizon_value
from carbonrisk.finance.schedules import trading_days
from carbonrisk.models.paths import PathSet

__all__ = [
    "PROFILE_POINTS",
    "DerivativeExposure",
    "derivative_exposure",
    "evenly_spaced_rows",
    "exposure_dates",
    "exposure_from_values",
    "exposure_values",
    "instrument_exposure",
    "profile_rows",
]

PROFILE_POINTS: int = 24
"""Dates of an exposure profile: about 24 SSE trading days spread evenly over the contract's remaining life."""


@dataclass(frozen=True)
class DerivativeExposure:
    """Exposure profile and CVA of one derivative on a path set.

    Attributes
    ----------
    dates : pandas.DatetimeIndex
        Profile dates (after the valuation date, before settlement).
    times_years : numpy.ndarray
        Their times from the valuation date (the market curve's day count).
    profile : carbonrisk.finance.credit.ExposureProfile
        EE (``epe``), its s.e., ENE and PFE per date.
    cva_cny, cva_se_cny : float or None
        Unilateral CVA and its Monte Carlo s.e. (None without a counterparty PD).
    """

    dates: pd.DatetimeIndex
    times_years: np.ndarray
    profile: ExposureProfile
    cva_cny: float | None
    cva_se_cny: float | None

    counterparty_pd_1y: float | None = None
    counterparty_lgd: float | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per date: ``epe_cny``, ``epe_se_cny``, ``ene_cny``, ``pfe_cny``."""
        p = self.profile
        return pd.DataFrame(
            {"epe_cny": p.epe, "epe_se_cny": p.epe_se, "ene_cny": p.ene, "pfe_cny": p.pfe}, index=self.dates
        )

    def summary(self) -> dict[str, float | None]:
        """Scalars of the profile: peak EE and PFE, Basel effective EPE (first year), CVA and its s.e."""
        p = self.profile
        return {
            "peak_epe_cny": float(p.epe.max()),
            "peak_pfe_cny": float(p.pfe.max()),
            "effective_epe_cny": p.effective_epe(self.times_years),
            "pfe_level": p.level,
            "cva_cny": self.cva_cny,
            "cva_se_cny": self.cva_se_cny,
            "counterparty_pd_1y": self.counterparty_pd_1y,
            "counterparty_lgd": self.counterparty_lgd if self.cva_cny is not None else None,
        }

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: :meth:`summary` and the profile (``dates``, ``epe_cny``, ``epe_se_cny``, ``ene_cny``,
        ``pfe_cny``)."""
        frame = self.to_frame()
        return {
            **self.summary(),
            "dates": [str(d.date()) for d in self.dates],
            **{col: [float(x) for x in frame[col]] for col in frame.columns},
        }


def derivative_exposure(
    instrument: Instrument,
    market: MarketEnv,
    paths: PathSet,
    rows: Sequence[int],
    *,
    vol: VolatilitySource | None = None,
    counterparty_pd_1y: float | None = None,
    counterparty_lgd: float = 0.6,
    level: float = 0.95,
) -> DerivativeExposure:
    """EE / PFE profile of ``instrument`` on the rows ``rows`` of ``paths`` and, with a PD, its CVA.

    Parameters
    ----------
    instrument : Instrument
        A type with a closed-form revaluation (forwards, options, swaps, swaptions, exchange options, guaranteed
        contracts).
    rows : sequence of int
        Path-set rows of the profile (> 0); rows on or after the instrument's last fixing date are dropped.
    vol : VolatilitySource, optional
        Revaluation volatility; default the market's (:class:`~carbonrisk.finance.revaluation.FlatVolatility`).
    counterparty_pd_1y, counterparty_lgd :
        The counterparty's one-year PD (constant hazard) and LGD (default 60 %, the Basel foundation value for
        subordinated claims is 75 %, senior unsecured 45 %; state yours).
    level : float
        PFE quantile.
    """
    keep = profile_rows(instrument, market.valuation_date, paths.dates, rows)
    values = exposure_values(instrument, market, paths, keep, vol=vol)
    return exposure_from_values(
        market,
        pd.DatetimeIndex(paths.dates[keep]),
        values,
        counterparty_pd_1y=counterparty_pd_1y,
        counterparty_lgd=counterparty_lgd,
        level=level,
    )


def profile_rows(
    instrument: Instrument, valuation_date: pd.Timestamp, dates: pd.DatetimeIndex, rows: Sequence[int]
) -> list[int]:
    """The rows of ``rows`` after the valuation date (row 0) and before the instrument's last fixing date."""
    last = max(instrument.fixing_dates(valuation_date))
    keep = [int(r) for r in rows if 0 < int(r) < len(dates) and dates[int(r)] < last]
    if len(keep) < 1:
        raise PathSetError(f"rows {list(rows)!r}: none lies after the valuation date and before {last.date()}")
    return keep


def exposure_values(
    instrument: Instrument,
    market: MarketEnv,
    paths: PathSet,
    rows: Sequence[int],
    *,
    vol: VolatilitySource | None = None,
) -> np.ndarray:
    """``(len(rows), n_paths)`` values of ``instrument`` to us on ``rows`` of ``paths`` (CNY at each date; the
    closed-form revaluation of :func:`carbonrisk.finance.revaluation.horizon_value`)."""
    source = vol or FlatVolatility(dict(market.vols))
    return np.vstack([horizon_value(instrument, HorizonState(market, paths, int(r), source)) for r in rows])


def exposure_from_values(
    market: MarketEnv,
    dates: pd.DatetimeIndex,
    values: np.ndarray,
    *,
    counterparty_pd_1y: float | None = None,
    counterparty_lgd: float = 0.6,
    level: float = 0.95,
) -> DerivativeExposure:
    """Profile (:func:`carbonrisk.finance.credit.exposure_profile`) and CVA
    (:func:`carbonrisk.finance.credit.cva_from_values`) of values ``(len(dates), n_paths)`` in CNY at each of ``dates``
    (after the valuation date, increasing)."""
    t = np.asarray(market.discount.times(dates), dtype=float)
    profile = exposure_profile(values, level=level)
    cva = se = None
    if counterparty_pd_1y is not None:
        cva, se = cva_from_values(values, t, market.df(dates), lgd=counterparty_lgd, pd_1y=counterparty_pd_1y)
    return DerivativeExposure(dates, t, profile, cva, se, counterparty_pd_1y, counterparty_lgd)


def exposure_dates(
    instrument: Instrument, valuation_date: pd.Timestamp, n_points: int = PROFILE_POINTS
) -> pd.DatetimeIndex:
    """About ``n_points`` SSE trading days evenly spread over ``(valuation_date, last fixing)`` (the last one the
    trading day before the last fixing or delivery date); empty when the contract settles on the next day."""
    last = max(instrument.fixing_dates(valuation_date))
    days = trading_days(valuation_date, last, include_start=False)
    days = days[days < last]
    if len(days) == 0:
        return days
    step = max(1, -(-len(days) // int(n_points)))
    return days[len(days) - 1 :: -step][::-1]


def evenly_spaced_rows(instrument: Instrument, dates: pd.DatetimeIndex, n_points: int = PROFILE_POINTS) -> list[int]:
    """About ``n_points`` rows of a path-set grid ``dates`` (row 0 the valuation date) spread evenly over the
    instrument's remaining life (after row 0, before its last fixing date; the last one kept); empty when none."""
    last = max(instrument.fixing_dates(pd.Timestamp(dates[0])))
    inside = [r for r in range(1, len(dates)) if dates[r] < last]
    if not inside:
        return []
    step = max(1, -(-len(inside) // int(n_points)))
    return inside[len(inside) - 1 :: -step][::-1]


def instrument_exposure(
    instrument: Derivative,
    market: MarketEnv,
    paths: PathSet,
    *,
    vol: VolatilitySource | None = None,
    level: float = 0.95,
) -> DerivativeExposure | None:
    """:func:`derivative_exposure` of ``instrument`` on the rows of ``paths`` that fall on
    :func:`exposure_dates`, with the counterparty's PD (``counterparty_pd_1y`` or ``counterparty_rating``) and
    ``counterparty_lgd``; None when no profile date lies before settlement (or none is in the path set)."""
    dates = exposure_dates(instrument, market.valuation_date)
    rows = [int(r) for r in pd.DatetimeIndex(paths.dates).get_indexer(dates) if r > 0]
    if not rows:
        return None
    return derivative_exposure(
        instrument,
        market,
        paths,
        rows,
        vol=vol,
        counterparty_pd_1y=instrument.counterparty_pd(),
        counterparty_lgd=float(instrument.counterparty_lgd),
        level=level,
    )
