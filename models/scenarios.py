"""Deterministic CEA price scenarios 2025-2060 (low / mid / high), yearly CNY/t, replaceable by a user CSV.

A scenario file has two columns, ``year`` and ``price_cny_per_t`` (the annual average price), one row per
consecutive year. The embedded curves live in ``models/data/scenarios/cea_{low,mid,high}.csv``; their reasoning is
documented in ``models/data/scenarios/README.md``. They are assumptions, not forecasts.

Between years the curve is interpolated log-linearly with each annual value placed on 1 July; before the first and
after the last year it is held flat.

A user's file is refused (one line naming the file, the row and the rule) when a price is not a finite number in
``(0, MAX_PRICE_CNY_PER_T]``; a run refuses a curve whose years all lie before its valuation date
(:meth:`ScenarioCurve.require_covers`), since the whole simulation would then be held flat at the last year's price.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from carbonrisk.models.csvfile import read_user_csv
from carbonrisk.models.exceptions import InputError

__all__ = ["MAX_PRICE_CNY_PER_T", "SCENARIOS", "ScenarioCurve", "load_scenario"]

SCENARIOS: tuple[str, ...] = ("low", "mid", "high")
"""Names of the embedded scenarios."""
MAX_PRICE_CNY_PER_T: float = 100_000.0
"""Sanity bound of a scenario price, CNY/t: about 100 times the highest carbon price any market has traded
(EU ETS, about 100 EUR/t); a larger value is a unit or typing error (a price in fen, an exponent)."""


@dataclass(frozen=True)
class ScenarioCurve:
    """A yearly price trajectory.

    Attributes
    ----------
    name : str
        Scenario name (``low``, ``mid``, ``high`` or the file stem).
    years : numpy.ndarray
        Consecutive calendar years (int).
    price_cny_per_t : numpy.ndarray
        Annual average price per year, CNY/t, all > 0.
    source : str
        Embedded file name or user path.
    """

    name: str
    years: np.ndarray
    price_cny_per_t: np.ndarray
    source: str

    def require_covers(self, valuation_date: pd.Timestamp) -> None:
        """Refuse a curve whose years all lie before the year of ``valuation_date``.

        Raises
        ------
        carbonrisk.models.exceptions.InputError
            Naming the source, its years and the valuation date.
        """
        year = pd.Timestamp(valuation_date).year
        if int(self.years[-1]) < year:
            raise InputError(
                f"scenario file {self.source}: its years {int(self.years[0])}-{int(self.years[-1])} all lie before "
                f"the valuation date {pd.Timestamp(valuation_date).date()}; the last year must be {year} or later"
            )

    def to_series(self) -> pd.Series:
        """Annual prices indexed by year."""
        return pd.Series(self.price_cny_per_t, index=pd.Index(self.years, name="year"), name=f"{self.name}_cny_per_t")

    def annual(self, years: np.ndarray | list[int]) -> np.ndarray:
        """Annual price for each of ``years`` (flat outside the curve's range)."""
        y = np.clip(np.asarray(years, dtype=int), self.years[0], self.years[-1])
        return np.asarray(self.price_cny_per_t[y - self.years[0]], dtype=float)

    def price_at(self, dates: pd.DatetimeIndex | list[pd.Timestamp]) -> np.ndarray:
        """Price on each date: log-linear between mid-year anchors, flat before the first and after the last."""
        idx = pd.DatetimeIndex(dates)
        anchors = pd.to_datetime([f"{y}-07-01" for y in self.years]).to_numpy(dtype="datetime64[D]").astype(float)
        x = idx.to_numpy(dtype="datetime64[D]").astype(float)
        return np.exp(np.interp(x, anchors, np.log(self.price_cny_per_t)))


def load_scenario(source: str | Path) -> ScenarioCurve:
    """Load an embedded scenario (``"low"``, ``"mid"``, ``"high"``) or a user CSV (``year,price_cny_per_t``).

    Raises
    ------
    carbonrisk.models.exceptions.InputError
        Unknown name, missing file or columns, no rows, missing or repeated years, prices that are not finite
        numbers in ``(0, MAX_PRICE_CNY_PER_T]``.
    """
    key = str(source).strip().lower() if isinstance(source, str) else ""
    if key in SCENARIOS:
        resource = (
            resources.files("carbonrisk.models").joinpath("data").joinpath("scenarios").joinpath(f"cea_{key}.csv")
        )
        with resources.as_file(resource) as path:
            frame = pd.read_csv(path)
        name, label = key, f"embedded:scenarios/cea_{key}.csv"
    else:
        path = Path(source)
        if not path.exists():
            raise InputError(f"scenario '{source}' is neither {', '.join(SCENARIOS)} nor an existing CSV file")
        frame = read_user_csv(path, "scenario file")
        name, label = path.stem, str(path)
    missing = {"year", "price_cny_per_t"} - set(frame.columns)
    if missing:
        raise InputError(f"scenario file {label} lacks column(s) {sorted(missing)}; needs year, price_cny_per_t")
    if frame.empty:
        raise InputError(f"scenario file {label} has no rows; needs one row per year (year, price_cny_per_t)")
    years = pd.to_numeric(frame["year"], errors="coerce").to_numpy(dtype=float)
    prices = pd.to_numeric(frame["price_cny_per_t"], errors="coerce").to_numpy(dtype=float)
    if np.isnan(years).any() or np.any(years != np.round(years)):
        raise InputError(f"scenario file {label}: column 'year' must hold whole years")
    years_int = years.astype(int)
    repeated = sorted({int(y) for y in years_int[pd.Series(years_int).duplicated().to_numpy()]})
    if repeated:
        raise InputError(f"scenario file {label}: repeated years {repeated}")
    order = np.argsort(years_int)
    years_int, prices = years_int[order], prices[order]
    expected = np.arange(years_int[0], years_int[-1] + 1)
    if len(years_int) != len(expected):
        absent = sorted(set(expected.tolist()) - set(years_int.tolist()))
        raise InputError(f"scenario file {label}: missing years {absent[:10]}")
    bad = ~np.isfinite(prices) | (prices <= 0) | (prices > MAX_PRICE_CNY_PER_T)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        row = int(frame.index[order[i]]) + 2
        text = str(frame["price_cny_per_t"].iloc[order[i]])
        raise InputError(
            f"scenario file {label}: row {row} (year {years_int[i]}) price_cny_per_t = {text} must be a finite "
            f"number in (0, {MAX_PRICE_CNY_PER_T:,.0f}] CNY/t"
            + (f"; {int(bad.sum()) - 1} more bad row(s)" if bad.sum() > 1 else "")
        )
    return ScenarioCurve(name=name, years=years_int, price_cny_per_t=prices, source=label)
