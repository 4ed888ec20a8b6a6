"""AM0072 accounting: metered vs share-of-BE project emissions, recorded assumptions, bad inputs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.geothermal.methodology import HeatingTechnology, compute_reductions


def test_share_of_be_default_and_assumptions() -> None:
    r = compute_reductions([HeatingTechnology("coal boiler", 100.0)])
    assert r.be_t == pytest.approx(100.0 * 87.3 / 0.85)
    assert r.pe_t == pytest.approx(0.08 * r.be_t) and r.le_t == 0.0
    assert r.er_t == pytest.approx(r.be_t - r.pe_t)
    assert r.pe_method == "share_of_be"
    assert "ignored" in r.assumptions["fugitive_gas"] and "150" in r.assumptions["fugitive_gas"]
    assert r.assumptions["technologies"][0]["ef_t_per_tj"] == 87.3


def test_metered_electricity_and_several_technologies() -> None:
    techs = [HeatingTechnology("coal", 50.0), HeatingTechnology("gas", 20.0, ef_t_per_tj=56.1, efficiency=0.9)]
    r = compute_reductions(techs, electricity_mwh=1000.0, grid_ef_t_per_mwh=0.5, le_t=10.0)
    assert r.be_t == pytest.approx(50 * 87.3 / 0.85 + 20 * 56.1 / 0.9)
    assert r.pe_t == pytest.approx(500.0) and r.pe_method == "metered"
    assert r.er_t == pytest.approx(r.be_t - 500.0 - 10.0)


@given(st.floats(1.0, 1e7), st.floats(0.01, 1.0), st.floats(0.0, 1.0))
def test_er_decreases_with_pe_share_and_increases_with_heat(heat: float, eta: float, share: float) -> None:
    base = compute_reductions([HeatingTechnology("x", heat, efficiency=eta)], pe_share_of_be=share)
    more_heat = compute_reductions([HeatingTechnology("x", heat * 2, efficiency=eta)], pe_share_of_be=share)
    assert more_heat.er_t >= base.er_t
    assert base.er_t == pytest.approx(base.be_t * (1 - share), rel=1e-9, abs=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"heat_tj_per_a": 0.0}, r"heat_tj_per_a=0.0 of 'x' must be > 0"),
        ({"heat_tj_per_a": -5.0}, r"heat_tj_per_a=-5.0 of 'x' must be > 0"),
        ({"heat_tj_per_a": 1.0, "efficiency": 1.2}, r"efficiency of 'x'=1.2 must be in \(0, 1\]"),
        ({"heat_tj_per_a": 1.0, "efficiency": 0.0}, r"efficiency of 'x'=0.0 must be in \(0, 1\]"),
    ],
)
def test_bad_technology(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(InputError, match=message):
        HeatingTechnology("x", **kwargs)


def test_bad_share_and_hot_reservoir() -> None:
    tech = [HeatingTechnology("x", 1.0)]
    with pytest.raises(InputError, match=r"pe_share_of_be=1.5 must be in \[0, 1\]"):
        compute_reductions(tech, pe_share_of_be=1.5)
    with pytest.raises(InputError, match=r"reservoir_temperature_c=160.0 must be < 150.0"):
        compute_reductions(tech, reservoir_temperature_c=160.0)
    with pytest.raises(InputError, match="technologies=\\[\\]"):
        compute_reductions([])
