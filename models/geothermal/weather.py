"""Hourly outdoor temperature over a heating season: user CSV loader and a synthetic typical-year generator.

The generator (parameters in ``models/data/geothermal/weather_north_china.toml``) is a seasonal cycle plus a
diurnal cycle plus two autocorrelated noises (day-to-day anomaly and hour-to-hour noise). With the seed stored in
the parameter file it gives the embedded *typical year* of the Hebei case; with a path seed it gives the weather
risk of :mod:`carbonrisk.models.geothermal.risk` (one independent season per path and year, drawn block by block).
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numba
import numpy as np
import pandas as pd

from carbonrisk.models.csvfile import read_user_csv
from carbonrisk.models.exceptions import InputError
from carbonrisk.models.files import read_toml

__all__ = [
    "HOURS_PER_DAY",
    "HeatingSeason",
    "WeatherParameters",
    "load_temperature_csv",
    "load_weather_parameters",
    "path_temperatures",
    "simulate_temperatures",
    "temperature_cycle_c",
    "temperatures_from_shocks",
    "typical_year",
]

HOURS_PER_DAY: int = 24
DAYS_PER_TROPICAL_YEAR: float = 365.25
KELVIN_THRESHOLD: float = 200.0
"""A heating-season mean above this is evidently in kelvin (0 C = 273.15 K)."""
FAHRENHEIT_THRESHOLD: float = 25.0
"""A heating-season mean above this (in 'C') is evidently Fahrenheit: heating seasons are defined by cold weather."""


@dataclass(frozen=True)
class HeatingSeason:
    """First day and length of the heating season (doc 001: 124 days in 2023-2024)."""

    start: pd.Timestamp
    days: int

    def __post_init__(self) -> None:
        if isinstance(self.days, bool) or not isinstance(self.days, (int, np.integer)) or not 1 <= self.days <= 366:
            raise InputError(f"season days={self.days!r} must be an integer in [1, 366]")

    @property
    def hours(self) -> int:
        """Number of hours in the season."""
        return int(self.days) * HOURS_PER_DAY

    def index(self) -> pd.DatetimeIndex:
        """Hourly timestamps of the season."""
        return pd.date_range(pd.Timestamp(self.start).normalize(), periods=self.hours, freq="h", name="time")

    def shifted_to(self, year: int) -> HeatingSeason:
        """The same season starting in ``year`` (same month and day)."""
        s = pd.Timestamp(self.start)
        return HeatingSeason(pd.Timestamp(year=year, month=s.month, day=s.day), self.days)


@dataclass(frozen=True)
class WeatherParameters:
    """Parameters of the synthetic hourly temperature model (see the module and the TOML file)."""

    site: str
    mean_c: float
    seasonal_amplitude_c: float
    coldest_day_of_year: float
    diurnal_amplitude_c: float
    warmest_hour: float
    daily_ar: float
    daily_sd_c: float
    hourly_ar: float
    hourly_sd_c: float
    typical_year_seed: int

    def __post_init__(self) -> None:
        for name in ("daily_ar", "hourly_ar"):
            value = getattr(self, name)
            if not -1.0 < value < 1.0:
                raise InputError(f"{name}={value!r} must be in (-1, 1)")
        for name in ("daily_sd_c", "hourly_sd_c", "seasonal_amplitude_c", "diurnal_amplitude_c"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise InputError(f"{name}={value!r} must be >= 0")

    def to_dict(self) -> dict[str, object]:
        """Plain dictionary of the parameters."""
        return asdict(self)


def load_weather_parameters(path: str | Path | None = None) -> WeatherParameters:
    """Load weather parameters from a TOML file (default: the embedded north-China site)."""
    if path is None:
        resource = resources.files("carbonrisk.models").joinpath("data").joinpath("geothermal")
        with resources.as_file(resource.joinpath("weather_north_china.toml")) as p:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
    else:
        raw, _ = read_toml(path, "weather parameter file")
    try:
        return WeatherParameters(**raw)
    except TypeError as exc:
        raise InputError(f"weather parameters: {exc}") from exc


def temperature_cycle_c(season: HeatingSeason, params: WeatherParameters) -> np.ndarray:
    """The deterministic part of the hourly temperature (C) over ``season``: mean, seasonal and diurnal cycle."""
    index = season.index()
    doy = index.day_of_year.to_numpy(dtype=float)
    hour = index.hour.to_numpy(dtype=float)
    seasonal = -params.seasonal_amplitude_c * np.cos(
        2 * np.pi * (doy - params.coldest_day_of_year) / DAYS_PER_TROPICAL_YEAR
    )
    diurnal = params.diurnal_amplitude_c * np.cos(2 * np.pi * (hour - params.warmest_hour) / HOURS_PER_DAY)
    return np.asarray(params.mean_c + seasonal + diurnal, dtype=float)


@numba.njit(cache=True, parallel=True)
def _temperatures_kernel(  # pragma: no cover - compiled
    base: np.ndarray,
    daily_shocks: np.ndarray,
    hourly_shocks: np.ndarray,
    daily_ar: float,
    daily_sd: float,
    hourly_ar: float,
    hourly_sd: float,
) -> np.ndarray:
    n, hours = hourly_shocks.shape
    out = np.empty((n, hours))
    for j in numba.prange(n):
        path_temperatures(base, daily_shocks[j], hourly_shocks[j], daily_ar, daily_sd, hourly_ar, hourly_sd, out[j])
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def path_temperatures(  # pragma: no cover - compiled
    base: np.ndarray,
    daily_shocks: np.ndarray,
    hourly_shocks: np.ndarray,
    daily_ar: float,
    daily_sd: float,
    hourly_ar: float,
    hourly_sd: float,
    out: np.ndarray,
) -> None:
    """One path's hourly temperatures ``out[t] = base[t] + a_d + e_t`` for ``t < out.size`` (see
    :func:`temperatures_from_shocks`); ``daily_shocks`` needs ``out.size // 24`` values, ``hourly_shocks``
    ``out.size``."""
    days = out.shape[0] // HOURS_PER_DAY
    k_day = daily_sd * np.sqrt(1.0 - daily_ar**2)
    k_hour = hourly_sd * np.sqrt(1.0 - hourly_ar**2)
    a = 0.0
    e = 0.0
    for d in range(days):
        a = daily_shocks[d] * daily_sd if d == 0 else daily_ar * a + k_day * daily_shocks[d]
        for h in range(HOURS_PER_DAY):
            t = d * HOURS_PER_DAY + h
            e = hourly_shocks[t] * hourly_sd if t == 0 else hourly_ar * e + k_hour * hourly_shocks[t]
            out[t] = base[t] + a + e


def temperatures_from_shocks(
    season: HeatingSeason, params: WeatherParameters, daily_shocks: np.ndarray, hourly_shocks: np.ndarray
) -> np.ndarray:
    """Hourly temperatures ``(n_paths, season.hours)`` from standard-normal shocks ``(n_paths, days)`` and
    ``(n_paths, hours)`` (the layout keeps each path's season contiguous in memory).

    The AR(1) recursions start from their stationary distribution:
    :math:`a_0 = \\sigma_d z_0`, :math:`a_d = \\phi_d a_{d-1} + \\sigma_d\\sqrt{1 - \\phi_d^2} z_d` (same hourly).
    """
    daily = np.ascontiguousarray(daily_shocks, dtype=float)
    hourly = np.ascontiguousarray(hourly_shocks, dtype=float)
    if daily.shape != (hourly.shape[0], season.days) or hourly.shape[1] != season.hours:
        raise InputError(f"shock shapes {daily.shape} and {hourly.shape} do not match a season of {season.days} days")
    return np.asarray(
        _temperatures_kernel(
            temperature_cycle_c(season, params),
            daily,
            hourly,
            params.daily_ar,
            params.daily_sd_c,
            params.hourly_ar,
            params.hourly_sd_c,
        ),
        dtype=float,
    )


def simulate_temperatures(
    season: HeatingSeason, params: WeatherParameters, n_paths: int, rng: np.random.Generator
) -> np.ndarray:
    """Hourly outdoor temperatures, shape ``(season.hours, n_paths)`` in C, drawn from ``rng``.

    Draws, in this order, ``(n_paths, season.days)`` daily shocks then ``(n_paths, season.hours)`` hourly shocks,
    so a block of paths consumes its generator identically whatever the other blocks do.

    Notes
    -----
    .. math::

        T_{d,h} = \\bar T - A_s\\cos\\frac{2\\pi(doy_d - d_0)}{365.25} + A_d\\cos\\frac{2\\pi(h - h_0)}{24}
        + a_d + e_{d,h}

    with :math:`a_d` and :math:`e_{d,h}` stationary AR(1) processes (daily and hourly).
    """
    daily = rng.standard_normal((n_paths, season.days))
    hourly = rng.standard_normal((n_paths, season.hours))
    return temperatures_from_shocks(season, params, daily, hourly).T


def typical_year(season: HeatingSeason, params: WeatherParameters | None = None) -> pd.Series:
    """The embedded typical year: :func:`simulate_temperatures` with the parameter file's ``typical_year_seed``.

    The same season days give the same temperatures whatever the calendar year of ``season``.
    """
    p = params if params is not None else load_weather_parameters()
    rng = np.random.default_rng(p.typical_year_seed)
    values = simulate_temperatures(season, p, 1, rng)[:, 0]
    return pd.Series(values, index=season.index(), name="temperature_c")


def load_temperature_csv(path: str | Path, season_days: int) -> pd.Series:
    """Load an hourly outdoor-temperature CSV for one heating season and validate it.

    The file has a ``temperature_c`` column (else the only numeric column) and optionally a ``time`` column of
    consecutive hourly timestamps (whose first value then sets the season start).

    Raises
    ------
    carbonrisk.models.exceptions.InputError
        Missing file, wrong number of rows (must be ``season_days x 24``), gaps (empty values or non-hourly
        timestamps), values evidently in kelvin (mean > 200) or Fahrenheit (season mean > 25).
    """
    frame = read_user_csv(path, "weather file")
    expected = int(season_days) * HOURS_PER_DAY
    if "temperature_c" in frame.columns:
        column = "temperature_c"
    else:
        numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        if len(numeric) != 1:
            raise InputError(f"weather file '{path}': needs a 'temperature_c' column (found {list(frame.columns)})")
        column = numeric[0]
    if len(frame) != expected:
        raise InputError(
            f"weather file '{path}': {len(frame)} hourly rows, expected {expected} ({season_days} days x 24 h)"
        )
    values = pd.to_numeric(frame[column], errors="coerce")
    missing = np.flatnonzero(values.isna().to_numpy())
    if missing.size:
        raise InputError(
            f"weather file '{path}': column '{column}' has {missing.size} gaps (first at row {int(missing[0]) + 2})"
        )
    if "time" in frame.columns:
        times = pd.to_datetime(frame["time"], errors="coerce")
        if times.isna().any():
            raise InputError(f"weather file '{path}': unparseable timestamps in column 'time'")
        steps = times.diff().dropna()
        bad = np.flatnonzero((steps != pd.Timedelta(hours=1)).to_numpy())
        if bad.size:
            raise InputError(
                f"weather file '{path}': time step at row {int(bad[0]) + 3} is {steps.iloc[int(bad[0])]}, "
                "must be 1 hour (gap or repeat)"
            )
        index = pd.DatetimeIndex(times, name="time")
    else:
        index = pd.RangeIndex(expected, name="hour")
    mean = float(values.mean())
    if mean > KELVIN_THRESHOLD:
        raise InputError(f"weather file '{path}': mean temperature {mean:.1f} looks like kelvin; give degrees C")
    if mean > FAHRENHEIT_THRESHOLD:
        raise InputError(
            f"weather file '{path}': heating-season mean {mean:.1f} > {FAHRENHEIT_THRESHOLD:g} looks like "
            "Fahrenheit; give degrees C"
        )
    return pd.Series(values.to_numpy(dtype=float), index=index, name="temperature_c")
