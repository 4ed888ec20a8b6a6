"""Weather: CSV validation (length, gaps, units), generator statistics and reproducibility."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.geothermal.weather import (
    HeatingSeason,
    load_temperature_csv,
    load_weather_parameters,
    simulate_temperatures,
    typical_year,
)

SEASON = HeatingSeason(pd.Timestamp("2023-11-13"), 124)


def _write(tmp_path: Path, values: np.ndarray, with_time: bool = True) -> Path:
    frame = pd.DataFrame({"temperature_c": values})
    if with_time:
        frame.insert(0, "time", pd.date_range("2023-11-13", periods=len(values), freq="h").strftime("%Y-%m-%d %H:%M"))
    path = tmp_path / "w.csv"
    frame.to_csv(path, index=False)
    return path


def test_csv_round_trip(tmp_path: Path) -> None:
    values = typical_year(SEASON).to_numpy()
    series = load_temperature_csv(_write(tmp_path, values), 124)
    np.testing.assert_allclose(series.to_numpy(), values)
    assert series.index[0] == pd.Timestamp("2023-11-13")


def test_csv_wrong_length(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"2975 hourly rows, expected 2976 \(124 days x 24 h\)"):
        load_temperature_csv(_write(tmp_path, np.zeros(2975)), 124)


def test_csv_gap(tmp_path: Path) -> None:
    values = np.zeros(2976)
    values[10] = np.nan
    with pytest.raises(InputError, match=r"1 gaps \(first at row 12\)"):
        load_temperature_csv(_write(tmp_path, values), 124)


def test_csv_time_gap(tmp_path: Path) -> None:
    path = _write(tmp_path, np.zeros(2976))
    frame = pd.read_csv(path)
    frame.loc[5, "time"] = "2023-11-13 07:00"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match="must be 1 hour"):
        load_temperature_csv(path, 124)


@pytest.mark.parametrize(("offset", "unit"), [(273.15, "kelvin"), (32.0, "Fahrenheit")])
def test_csv_units(tmp_path: Path, offset: float, unit: str) -> None:
    celsius = typical_year(SEASON).to_numpy()
    values = celsius + offset if unit == "kelvin" else celsius * 1.8 + offset
    with pytest.raises(InputError, match=unit):
        load_temperature_csv(_write(tmp_path, values), 124)


def test_generator_is_reproducible_and_has_its_stationary_spread() -> None:
    params = load_weather_parameters()
    a = simulate_temperatures(SEASON, params, 400, np.random.default_rng(7))
    b = simulate_temperatures(SEASON, params, 400, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    # Residual after removing the deterministic part: daily AR(1) + hourly AR(1), both stationary, so the variance is
    # daily_sd^2 + hourly_sd^2 at every hour. Test hour 0 across 400 independent paths: SE of a variance estimate is
    # about var * sqrt(2 / n); tolerance 4 SE.
    var = a[0].var(ddof=1)
    target = params.daily_sd_c**2 + params.hourly_sd_c**2
    assert abs(var - target) < 4 * target * np.sqrt(2 / 400)


def test_typical_year_is_cold_enough() -> None:
    t = typical_year(SEASON)
    assert len(t) == 2976 and -3 < t.mean() < 5
