"""Scenario price curves: embedded files, interpolation, user CSV validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.scenarios import SCENARIOS, load_scenario


@pytest.mark.parametrize("name", SCENARIOS)
def test_embedded_curves_cover_2025_2060(name: str) -> None:
    curve = load_scenario(name)
    assert curve.years[0] == 2025 and curve.years[-1] == 2060
    assert np.all(curve.price_cny_per_t > 0)


def test_scenarios_are_ordered_low_mid_high() -> None:
    low, mid, high = (load_scenario(n).price_cny_per_t for n in SCENARIOS)
    assert np.all(low <= mid) and np.all(mid <= high)


def test_interpolation_hits_anchors_and_is_flat_outside() -> None:
    curve = load_scenario("mid")
    anchors = pd.to_datetime([f"{y}-07-01" for y in (2025, 2030, 2060)])
    np.testing.assert_allclose(curve.price_at(anchors), curve.annual([2025, 2030, 2060]), rtol=1e-12)
    early, late = curve.price_at(pd.to_datetime(["2020-01-01", "2070-01-01"]))
    np.testing.assert_allclose([early, late], curve.price_cny_per_t[[0, -1]], rtol=1e-12)
    mid_year = curve.price_at(pd.to_datetime(["2031-01-01"]))[0]
    assert min(curve.annual([2030, 2031])) < mid_year < max(curve.annual([2030, 2031]))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("year,price\n2025,50\n", r"lacks column\(s\) \['price_cny_per_t'\]"),
        ("year,price_cny_per_t\n2025,50\n2025,60\n", r"repeated years \[2025\]"),
        ("year,price_cny_per_t\n2025,50\n2027,60\n", r"missing years \[2026\]"),
        ("year,price_cny_per_t\n2025,50\n2026,-1\n", r"row 3 \(year 2026\) price_cny_per_t = -1 must be a finite"),
        ("year,price_cny_per_t\n2026,1e300\n2025,50\n", r"row 2 \(year 2026\) price_cny_per_t = 1e\+300 .*100,000"),
        ("year,price_cny_per_t\n", r"has no rows"),
    ],
)
def test_user_csv_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_scenario(_write(tmp_path, text))


def test_user_csv_and_unknown_name(tmp_path: Path) -> None:
    curve = load_scenario(_write(tmp_path, "year,price_cny_per_t\n2026,60\n2025,50\n"))
    assert curve.years.tolist() == [2025, 2026] and curve.name == "s"
    with pytest.raises(InputError, match="neither low, mid, high nor an existing CSV"):
        load_scenario("extreme")
