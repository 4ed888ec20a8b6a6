"""Emission-factor trajectories: forms, front-loading, user CSV validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.geothermal.emission_factors import annual_reductions, emission_factor_trajectory, load_ef_csv

YEARS = np.arange(2021, 2041)


@pytest.mark.parametrize("scenario", ["low", "mid", "high"])
def test_dynamic_is_front_loaded_and_between_static_and_2060(scenario: str) -> None:
    dyn = emission_factor_trajectory(scenario, "dynamic").to_frame()
    lin = emission_factor_trajectory(scenario, "linear").to_frame()
    inner = dyn.loc[2023:2059]
    assert (inner["heat_ef_t_per_mwh"] < lin.loc[2023:2059, "heat_ef_t_per_mwh"]).all()
    assert (np.diff(dyn["heat_ef_t_per_mwh"].to_numpy()) < 0).all()
    static = emission_factor_trajectory(scenario, "static").to_frame()
    assert (static["heat_ef_t_per_mwh"] == 0.3972).all()


@given(st.floats(2.0, 30.0), st.floats(0.5, 10.0))
def test_shorter_half_life_gives_smaller_reduction(half_life: float, extra: float) -> None:
    fast = emission_factor_trajectory("mid", "dynamic", half_life_years=half_life)
    slow = emission_factor_trajectory("mid", "dynamic", half_life_years=half_life + extra)
    assert (
        annual_reductions(170000.0, 10330.0, fast, YEARS).sum()
        < annual_reductions(170000.0, 10330.0, slow, YEARS).sum()
    )


def test_reductions_broadcast_over_paths() -> None:
    traj = emission_factor_trajectory("low", "dynamic")
    heat = np.full((20, 3), 170000.0)
    out = annual_reductions(heat, 10330.0, traj, YEARS)
    assert out.shape == (20, 3)
    np.testing.assert_allclose(out[:, 0], annual_reductions(170000.0, 10330.0, traj, YEARS))


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ef.csv"
    path.write_text(text)
    return path


def test_user_csv(tmp_path: Path) -> None:
    traj = load_ef_csv(_csv(tmp_path, "year,power_ef_t_per_mwh,heat_ef_t_per_mwh\n2022,0.5,0.4\n2021,0.5,0.41\n"))
    assert traj.years.tolist() == [2021, 2022] and traj.form == "csv"
    assert traj.heat_ef_t_per_mwh.tolist() == [0.41, 0.4]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("year,power_ef_t_per_mwh\n2021,0.5\n", r"lacks column\(s\) \['heat_ef_t_per_mwh'\]"),
        ("year,power_ef_t_per_mwh,heat_ef_t_per_mwh\n2021,0.5,0.4\n2021,0.5,0.4\n", r"repeated years \[2021\]"),
        ("year,power_ef_t_per_mwh,heat_ef_t_per_mwh\n2021,0.5,0.4\n2024,0.5,0.4\n", r"missing years \[2022, 2023\]"),
        ("year,power_ef_t_per_mwh,heat_ef_t_per_mwh\n2021,-0.5,0.4\n", r"power_ef_t_per_mwh must be finite and >= 0"),
    ],
)
def test_bad_user_csv(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_ef_csv(_csv(tmp_path, text))


def test_bad_arguments() -> None:
    with pytest.raises(InputError, match="form='cubic' must be one of static, linear, dynamic"):
        emission_factor_trajectory("mid", "cubic")
    with pytest.raises(InputError, match="scenario='extreme'"):
        emission_factor_trajectory("extreme", "dynamic")
    with pytest.raises(InputError, match="year 2070 outside the emission-factor trajectory 2021-2060"):
        emission_factor_trajectory("mid").at([2070])
