"""Project TOML files: defaults, overrides, relative paths, bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.geothermal.project import load_project, run_project
from carbonrisk.models.geothermal.weather import typical_year


def test_default_is_the_hebei_case() -> None:
    p = load_project(None)
    assert p.plant.area_m2 == 2.3e6 and p.start_year == 2021 and p.life_years == 20
    assert p.issuance.registration == pd.Timestamp("2025-01-01") and p.finance.capex_cny == 279e6


def test_user_file_with_overrides_and_weather_csv(tmp_path: Path) -> None:
    p = load_project(None)
    temps = typical_year(p.plant.season) - 1.0
    temps.rename("temperature_c").to_frame().to_csv(tmp_path / "w.csv", index=False)
    (tmp_path / "p.toml").write_text(
        'name = "small"\nstart_year = 2026\nlife_years = 10\nscenario = "low"\n'
        "[plant]\narea_m2 = 1.0e6\nproduction_wells = 8\n"
        '[weather]\ncsv = "w.csv"\n'
        "[issuance]\ncrediting_years = 7\n",
        encoding="utf-8",
    )
    user = load_project(tmp_path / "p.toml")
    assert user.name == "small" and user.plant.area_m2 == 1.0e6 and user.issuance.crediting_years == 7
    assert user.weather_csv == tmp_path / "w.csv"
    result = run_project(user)
    assert result.annual.index.tolist() == list(range(2026, 2036))
    assert result.season.summary["heat_mwh"] == pytest.approx(1.0e6 * p.plant.specific_heat_demand_mwh_per_m2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[issuance]\ncrediting_years = 12\n", r"crediting_years = 12 is not in \[7, 10\] \(years\)"),
        ("[plant]\narea_m2 = -5.0\n", r"area_m2=-5.0 must be > 0"),
        ("[plant]\ndistribution_loss = 1.5\n", r"distribution_loss=1.5 must be in \[0, 1\)"),
        ("colour = 1\n", r"unknown key\(s\) \['colour'\]"),
        ('scenario = "extreme"\n', "scenario='extreme' must be one of low, mid, high"),
        ("[risk]\nwell_failure_probability = 2.0\n", r"well_failure_probability = 2 is not in \[0, 1\] \(fraction\)"),
        ("name = \n", "project file"),
    ],
)
def test_bad_project_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        load_project(path)


def test_am0072_view_of_the_hebei_season() -> None:
    r = run_project(load_project(None))
    m = r.am0072()
    heat_tj = r.season.summary["heat_mwh"] / 277.7777777777778  # 1 TJ = 277.78 MWh
    assert m.be_t == pytest.approx(heat_tj * 87.3 / 0.85)
    assert m.pe_t == pytest.approx(r.season.summary["electricity_mwh"] * r.annual.at[2021, "power_ef_t_per_mwh"])
    assert m.pe_method == "metered" and r.summary()["am0072"]["er_t"] == pytest.approx(m.er_t)


def test_weather_parameter_file_changes_the_climate(tmp_path: Path) -> None:
    base = load_project(None)
    text = "\n".join(f"{k} = {v!r}" for k, v in base.weather_params.to_dict().items()).replace("'", '"')
    (tmp_path / "cold.toml").write_text(text.replace("mean_c = 13.0", "mean_c = 10.0"), encoding="utf-8")
    (tmp_path / "p.toml").write_text('[weather]\nparameters = "cold.toml"\n', encoding="utf-8")
    cold = run_project(load_project(tmp_path / "p.toml"))
    assert cold.project.weather_params.mean_c == 10.0
    assert cold.season.summary["hp_hours"] > run_project(base).season.summary["hp_hours"]
    (tmp_path / "bad.toml").write_text(text.replace("daily_ar = 0.7", "daily_ar = 1.2"), encoding="utf-8")
    (tmp_path / "q.toml").write_text('[weather]\nparameters = "bad.toml"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"daily_ar=1.2 must be in \(-1, 1\)"):
        load_project(tmp_path / "q.toml")
