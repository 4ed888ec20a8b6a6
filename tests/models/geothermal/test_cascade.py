"""Cascade plant: energy balance, capacity limit, degree-hour scaling, parameter validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.geothermal.cascade import load_plant, season_totals, simulate_season
from carbonrisk.models.geothermal.weather import typical_year

PLANT = load_plant()
TEMPS = typical_year(PLANT.season)


def test_hourly_balance_and_outlet_temperature() -> None:
    r = simulate_season(PLANT, TEMPS)
    h = r.hourly
    loss = 1 - PLANT.distribution_loss
    np.testing.assert_allclose((h["stage1_mwh"] + h["stage2_mwh"]) * loss + h["unmet_mwh"], h["load_mwh"], atol=1e-9)
    assert h["load_mwh"].sum() == pytest.approx(PLANT.annual_demand_mwh)
    assert (h["stage1_mwh"] <= PLANT.stage1_capacity_mw + 1e-9).all()
    assert (h["stage1_outlet_c"] >= PLANT.stage1_min_outlet_c - 1e-9).all()
    assert (h.loc[~h["hp_on"], "stage2_mwh"] == 0).all()
    # hp_on is a whole-day decision
    assert h["hp_on"].to_numpy().reshape(-1, 24).std(axis=1).max() == 0


def test_small_well_field_leaves_demand_unmet() -> None:
    small = PLANT.with_overrides(production_wells=10)
    r = simulate_season(small, TEMPS)
    assert r.summary["unmet_mwh"] > 1000
    assert r.summary["heat_mwh"] + r.summary["unmet_mwh"] == pytest.approx(PLANT.annual_demand_mwh)


def test_vectorised_totals_equal_hourly_simulation() -> None:
    r = simulate_season(PLANT, TEMPS)
    t = season_totals(PLANT, np.column_stack([TEMPS.to_numpy(), TEMPS.to_numpy() - 2.0]))
    assert t.heat_mwh[0] == pytest.approx(r.summary["heat_mwh"])
    assert t.electricity_mwh[0] == pytest.approx(r.summary["electricity_mwh"])
    assert t.hp_hours[1] >= t.hp_hours[0]  # a colder season switches the heat pump on more often


@settings(max_examples=25, deadline=None)
@given(st.floats(-6.0, 6.0))
def test_demand_scales_with_degree_hours(shift: float) -> None:
    ref = season_totals(PLANT, TEMPS.to_numpy()[:, None]).degree_hours[0]
    t = season_totals(PLANT, TEMPS.to_numpy()[:, None] + shift, reference_degree_hours=ref)
    assert t.demand_mwh[0] == pytest.approx(PLANT.annual_demand_mwh * t.degree_hours[0] / ref)
    if shift < -0.1:
        assert t.demand_mwh[0] > PLANT.annual_demand_mwh


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("area_m2", 0.0, r"area_m2=0.0 must be > 0"),
        ("area_m2", -1.0, r"area_m2=-1.0 must be > 0"),
        ("specific_heat_demand_mwh_per_m2", 0.0, r"specific_heat_demand_mwh_per_m2=0.0 must be > 0"),
        ("distribution_loss", 1.2, r"distribution_loss=1.2 must be in \[0, 1\)"),
        ("production_wells", 0, r"production_wells=0 must be >= 1"),
        ("stage1_min_outlet_c", 80.0, r"wellhead_temperature_c=75.0 must exceed stage1_min_outlet_c=80.0"),
        ("season_days", 400, r"season days=400 must be an integer in \[1, 366\]"),
    ],
)
def test_bad_plant_parameters(field: str, value: float, message: str) -> None:
    with pytest.raises(InputError, match=message):
        PLANT.with_overrides(**{field: value})


def test_wrong_length_series() -> None:
    with pytest.raises(InputError, match=r"temperature series has 100 values, expected 2976"):
        simulate_season(PLANT, TEMPS.iloc[:100])
    with pytest.raises(InputError, match="unknown plant parameter"):
        PLANT.with_overrides(colour="red")
