"""``carbonrisk reductions``: JSON outputs, documented keys, one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbonrisk.models.geothermal.project import load_project
from carbonrisk.models.geothermal.weather import typical_year
from carbonrisk.portfolios.cli import main


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_table1_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["reductions", "table1", "--json", "--price", "70"], capsys)
    assert code == 0
    data = json.loads(out)
    assert len(data["rows"]) == 12 and data["price_cny_per_t"] == 70
    assert data["totals"]["revenue_cny_per_a"] == pytest.approx(data["totals"]["er_t_per_a"] * 70)
    assert [r["basin"] for r in data["rows"] if not r["consistent"]] == ["Songliao Basin"]
    assert any("Songliao" in f for f in data["flags"])


def test_table1_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["reductions", "table1"], capsys)
    assert code == 0 and "flag: Songliao Basin" in out and "revenue at 60 CNY/t" in out


def test_hebei_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["reductions", "hebei", "--scenario", "high", "--ef", "static", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["scenario"] == "high" and data["ef_form"] == "static"
    assert set(data["reductions_t"]) == {str(y) for y in range(2021, 2041)}
    assert data["cumulative_reductions_t"] == pytest.approx(sum(data["reductions_t"].values()))
    assert data["season"]["season_days"] == 124 and data["season"]["hp_hours"] > 0
    assert set(data["season"]["electricity_components_mwh"]) == {"pumping", "reinjection", "heat_pump", "aux"}
    assert data["income_years"] == [2025, 2040]
    assert data["issuance"]["credits_t"] == pytest.approx(sum(data["credits_issued_t"].values()))
    assert any("contradicts" in n for n in data["notes"])


def test_hebei_text_and_help_documents_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["reductions", "hebei"], capsys)
    assert code == 0 and "carbon income 2025-2040" in out and "heat-pump hours" in out
    with pytest.raises(SystemExit):
        main(["reductions", "hebei", "--help"])
    help_text = capsys.readouterr().out
    for key in ("cumulative_reductions_t", "credits_issued_t", "income_total_cny", "electricity_components_mwh"):
        assert key in help_text


def test_hebei_with_weather_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plant = load_project(None).plant
    path = tmp_path / "w.csv"
    (typical_year(plant.season) - 3.0).to_frame().to_csv(path, index_label="time")
    code, out, _ = _run(["reductions", "hebei", "--weather", str(path), "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["season"]["hp_hours"] > 738  # 3 C colder: the heat pump runs more


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("kelvin", "looks like kelvin"),
        ("fahrenheit", "looks like Fahrenheit"),
        ("short", "hourly rows, expected 2976"),
        ("gap", "gaps"),
    ],
)
def test_bad_weather_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, message: str) -> None:
    values = typical_year(load_project(None).plant.season).to_numpy()
    if kind == "kelvin":
        values = values + 273.15
    elif kind == "fahrenheit":
        values = values * 1.8 + 32
    elif kind == "short":
        values = values[:-24]
    else:
        values = values.copy()
        values[100] = np.nan
    path = tmp_path / "w.csv"
    pd.DataFrame({"temperature_c": values}).to_csv(path, index=False)
    code, out, err = _run(["reductions", "hebei", "--weather", str(path)], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("carbonrisk reductions: error:") and message in err


def test_project_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "p.toml"
    path.write_text('name = "mine"\nstart_year = 2027\nlife_years = 8\n[issuance]\ncrediting_years = 7\n')
    code, out, _ = _run(["reductions", "project", str(path), "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["name"] == "mine" and data["years"] == [2027, 2034]
    assert data["issuance"]["crediting_years"] == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[issuance]\ncrediting_years = 11\n", "crediting_years = 11 is not in [7, 10] (years)"),
        ("[plant]\narea_m2 = 0\n", "area_m2=0 must be > 0"),
        ("[plant]\ndistribution_loss = -0.1\n", "distribution_loss=-0.1 must be in [0, 1)"),
        ("[issuance]\nuncertainty_deduction = 2.0\n", "uncertainty_deduction = 2 is not in [0, 1] (fraction)"),
    ],
)
def test_bad_project_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(text)
    code, out, err = _run(["reductions", "project", str(path)], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err


def test_missing_project_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["reductions", "project", str(tmp_path / "none.toml")], capsys)
    assert code == 2 and "does not exist" in err


def test_hebei_with_user_emission_factor_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ef.csv"
    years = range(2021, 2041)
    path.write_text("year,power_ef_t_per_mwh,heat_ef_t_per_mwh\n" + "".join(f"{y},0.5,0.4\n" for y in years))
    code, out, _ = _run(["reductions", "hebei", "--ef", str(path), "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    heat, elec = data["season"]["heat_mwh"], data["season"]["electricity_mwh"]
    assert data["ef_form"] == "csv"
    assert data["reductions_t"]["2030"] == pytest.approx(heat * 0.4 - elec * 0.5)
    path.write_text("year,power_ef_t_per_mwh,heat_ef_t_per_mwh\n2021,0.5,0.4\n2021,0.5,0.4\n")
    code, _, err = _run(["reductions", "hebei", "--ef", str(path)], capsys)
    assert code == 2 and "repeated years [2021]" in err


def test_risk_json_is_reproducible(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("life_years = 3\n")
    argv = ["reductions", "risk", str(path), "--paths", "300", "--seed", "4", "--json"]
    code, out, _ = _run(argv, capsys)
    assert code == 0
    data = json.loads(out)
    assert data["n_paths"] == 300 and data["years"][0] == 2020
    assert len(data["quantiles"]["reductions_t"]["p50"]) == len(data["years"])
    t = data["totals"]["capex_cny"]
    assert t["p5"] <= t["p50"] <= t["p95"] and t["se"] > 0
    assert data["deterministic_totals"]["capex_cny"] == 279e6
    assert json.loads(_run(argv, capsys)[1]) == data
    with pytest.raises(SystemExit) as exc:
        main(["reductions", "risk", "--paths", "0"])
    assert exc.value.code == 2 and "argument --paths: 0 is not in [1, 1000000000] (paths)" in capsys.readouterr().err
