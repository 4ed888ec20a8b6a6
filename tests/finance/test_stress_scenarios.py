"""Stress scenarios: each historical scenario reproduces its source move; policy scenarios carry the issue's
shocks and flags; the user format and its one-line errors."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbonrisk.finance.stress_scenarios import (
    ScenarioError,
    embedded_scenarios,
    historical_paths,
    load_scenarios,
    scenario_path_set,
    shock_path_set,
    uniform_shock,
    worst_change,
    write_historical_files,
)
from carbonrisk.models.data import load_prices
from carbonrisk.models.exceptions import DataGapWarning
from carbonrisk.models.paths import PathSet

# The CSV files are written with 12 significant digits, so a path read back differs from the data's ratios by at
# most ~5e-12 relative; 1e-11 absolute on relative changes of order 0.1-1 is that rounding and nothing else.
CSV_TOL = 1e-11


def _closes(name: str) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataGapWarning)
        return load_prices(name).prices


def _brute_worst_1y(s: pd.Series) -> tuple[pd.Timestamp, pd.Timestamp, float]:
    best = (s.index[0], s.index[0], math.inf)
    for t, v in s.items():
        horizon = t + pd.Timedelta(days=365)
        if horizon > s.index[-1]:
            break
        end = s.loc[:horizon].index[-1]
        change = float(s.loc[end]) / float(v) - 1.0
        if change < best[2]:
            best = (t, end, change)
    return best


def test_checked_in_paths_match_the_generator(tmp_path: Path) -> None:
    written = write_historical_files(tmp_path)
    shipped = Path(__file__).parents[2] / "finance" / "data" / "scenarios"
    for path in written:
        assert path.read_text() == (shipped / path.name).read_text(), f"regenerate {path.name}"


def test_cea_launch_drawdown_is_the_real_move() -> None:
    s = _closes("cea")
    first5 = s.loc["2021-07-16":"2021-12-31"]
    # the window is the highest to the lowest close of the first five months of trading
    assert first5.idxmax() == pd.Timestamp("2021-08-04") and first5.max() == 58.70
    assert first5.idxmin() == pd.Timestamp("2021-12-08") and first5.min() == 41.46
    sc = embedded_scenarios("historical")["cea_launch_drawdown"]
    assert sc.move("CEA") == pytest.approx(41.46 / 58.70 - 1.0, abs=CSV_TOL)
    assert sc.move("CEA") == pytest.approx(-0.29, abs=0.005)  # the issue's "about -29 %"
    window = s.loc["2021-08-04":"2021-12-08"]
    np.testing.assert_allclose(sc.path()["CEA"].to_numpy(), window.to_numpy() / 58.70, atol=CSV_TOL)
    np.testing.assert_allclose(sc.path()["CCER"].to_numpy(), sc.path()["CEA"].to_numpy(), atol=0)


@pytest.mark.parametrize(("scenario", "dataset"), [("cea_worst_1y", "cea"), ("hbea_worst_1y", "hbea")])
def test_worst_one_year_change_matches_brute_force(scenario: str, dataset: str) -> None:
    s = _closes(dataset)
    t0, t1, change = _brute_worst_1y(s)
    assert worst_change(s) == (t0, t1, pytest.approx(change, abs=1e-15))
    sc = embedded_scenarios("historical")[scenario]
    assert sc.move("CEA") == pytest.approx(change, abs=CSV_TOL)
    window = s.loc[t0:t1]
    np.testing.assert_allclose(sc.path()["CEA"].to_numpy(), window.to_numpy() / window.iloc[0], atol=CSV_TOL)
    gen = historical_paths()[scenario]
    assert (gen["source_date"].iloc[0], gen["source_date"].iloc[-1]) == (str(t0.date()), str(t1.date()))


def test_worst_one_year_figures_quoted_in_the_files() -> None:
    sc = embedded_scenarios("historical")
    assert sc["cea_worst_1y"].move("CEA") == pytest.approx(50.52 / 60.00 - 1, abs=CSV_TOL)  # -15.80 %
    assert sc["hbea_worst_1y"].move("CEA") == pytest.approx(10.59 / 27.36 - 1, abs=CSV_TOL)  # -61.29 %


def test_eu_episodes_from_the_cited_numbers() -> None:
    sc = embedded_scenarios("historical")
    gfc, covid = sc["eua_2008_crisis"], sc["eua_2020_covid"]
    # 2008-09: 30 -> 8 EUR/t, 1 July 2008 to 12 February 2009 (Mon-Fri days)
    assert gfc.move("CEA") == pytest.approx(8 / 30 - 1, abs=1e-15)
    assert int(gfc.days[-1]) == np.busday_count("2008-07-01", "2009-02-12") == 162
    # log-linear: halfway the level is the geometric mean sqrt(8/30); held at the trough afterwards
    assert float(gfc.relative_level("CEA", 81)) == pytest.approx(math.sqrt(8 / 30), rel=1e-12)
    assert float(gfc.relative_level("CCER", 400)) == pytest.approx(8 / 30, rel=1e-12)
    # 2020: 25 -> 15 EUR/t, 24 February to 23 March 2020
    assert covid.move("CEA") == pytest.approx(15 / 25 - 1, abs=1e-15)
    assert int(covid.days[-1]) == np.busday_count("2020-02-24", "2020-03-23") == 20


def test_policy_scenarios_carry_the_issue_shocks() -> None:
    pol = embedded_scenarios("policy")
    assert pol["offset_cap_0"].offset_cap == 0.0 and pol["offset_cap_10"].offset_cap == 0.1
    tight = pol["allocation_tightened"]
    assert tight.move("CEA") == 0.5 and int(tight.days[-1]) == 245  # +50 % over a year of trading days
    assert float(tight.relative_level("CEA", 0)) == 1.0
    flood = pol["ccer_supply_flood"]
    assert float(flood.relative_level("CCER", 0)) == pytest.approx(0.6) and flood.move("CEA") == 0.0
    assert pol["issuance_delay_1y"].issuance_delay_years == 1.0 and not pol["issuance_delay_1y"].has_price_shock
    assert pol["heat_ef_revised_down"].heat_ef_multiplier == 0.8
    assert len(load_scenarios()) == 11
    assert all(s.source for s in load_scenarios().values())


def test_levels_on_calendar_dates() -> None:
    sc = embedded_scenarios("policy")["allocation_tightened"]
    vd = pd.Timestamp("2024-10-31")  # a Thursday; 2024-11-01 is the first SSE trading day after it
    lv = sc.levels_on(vd, pd.DatetimeIndex(["2024-10-31", "2024-11-01", "2024-11-04"]))
    np.testing.assert_allclose(lv["CEA"].to_numpy(), 1.5 ** (np.array([0, 1, 2]) / 245), rtol=1e-12)
    np.testing.assert_allclose(lv["CEA"].to_numpy(), lv["CCER"].to_numpy(), rtol=0)


def _write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_user_scenarios_days_dates_csv(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("day,CEA\n0,0.0\n10,-0.1\n20,-0.2\n", encoding="utf-8")
    path = _write(
        tmp_path,
        """
[[scenario]]
name = "by_days"
offset_cap = 0.0
[scenario.shocks]
days = [0, 20, 40]
CEA = [0.0, -0.15, -0.30]
CCER = [0.0, -0.20, -0.40]

[[scenario]]
name = "by_dates"
[scenario.shocks]
dates = ["2024-11-04", "2024-11-29"]
CEA = [-0.1, -0.2]

[[scenario]]
name = "by_csv"
csv = "p.csv"
""",
    )
    sc = load_scenarios(path)
    assert sc["by_days"].kind == "user" and sc["by_days"].offset_cap == 0.0
    assert float(sc["by_days"].relative_level("CEA", 30)) == pytest.approx(math.sqrt(0.85 * 0.70), rel=1e-12)
    assert float(sc["by_days"].relative_level("CEA", 99)) == pytest.approx(0.70, rel=1e-12)
    vd = pd.Timestamp("2024-10-31")
    lv = sc["by_dates"].levels_on(vd, pd.DatetimeIndex(["2024-11-01", "2024-11-04", "2024-12-31"]))
    # before the first point the change ramps from 0 on the valuation date: day 1 of 2 -> sqrt(0.9)
    np.testing.assert_allclose(lv["CEA"].to_numpy(), [math.sqrt(0.9), 0.9, 0.8], rtol=1e-12)
    assert lv["CCER"].tolist() == [1.0, 1.0, 1.0]
    assert sc["by_csv"].move("CEA") == -0.2 and "CCER" not in sc["by_csv"].shocks


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[[scenario]]\nname = "a"\n[scenario.shocks]\ndays = [0, 5]\ncea = [0.0, -0.1]\n',
            "scenario 'a': shocks.cea is not a factor; factors are CEA, CCER",
        ),
        (
            '[[scenario]]\nname = "a"\n[scenario.shocks]\ndays = [0, 5]\nCEA = [0.0]\n',
            "scenario 'a': shocks.CEA has 1 values; must have 2, one per day/date",
        ),
        (
            '[[scenario]]\nname = "a"\n[scenario.shocks]\ndays = [5, 5]\nCEA = [0.0, 0.1]\n',
            "scenario 'a': shocks.days=[5, 5] must be strictly increasing",
        ),
        (
            '[[scenario]]\nname = "a"\n[scenario.shocks]\ndays = [0, 5]\nCEA = [0.0, -1.0]\n',
            "scenario 'a': shocks.CEA=-1.0 must be > -1 (a relative change)",
        ),
        ('[[scenario]]\nname = "a"\noffset_cap = 1.5\n', "scenario 'a': offset_cap=1.5 must lie in [0, 1]"),
        ('[[scenario]]\nname = "a"\nheat_ef_multiplier = 0\n', "scenario 'a': heat_ef_multiplier=0.0 must be > 0"),
        ('[[scenario]]\nname = "a"\n', "scenario 'a': shocks/ramp/csv missing: the scenario shocks nothing"),
        ('[[scenario]]\nname = "a"\nshock = 1\n', "scenario 'a': shock is not a scenario key"),
        (
            '[[scenario]]\nname = "a"\nkind = "crash"\noffset_cap = 0.0\n',
            "scenario 'a': kind='crash' must be one of historical, policy, user",
        ),
        (
            '[[scenario]]\nname = "a"\noffset_cap = 0.0\n[[scenario]]\nname = "a"\noffset_cap = 0.1\n',
            "scenario 'a': name is used twice",
        ),
        ('[[scenario]]\nname = "a"\ncsv = "missing.csv"\n', "scenario 'a': csv='missing.csv' cannot be read"),
        ('[[scenario]]\nname = "a"\n[scenario.ramp]\nCEA = 0.1\n', "scenario 'a': ramp.over_days is missing"),
        ("name = 'a'\n", "top-level key 'name' is not allowed; use [[scenario]] tables"),
        ("[[scenario\n", "not valid TOML"),
    ],
)
def test_user_scenario_errors_name_file_scenario_key(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(ScenarioError) as exc:
        load_scenarios(path)
    text = str(exc.value)
    assert text.startswith(str(path)) and message in text and "\n" not in text


def test_scenario_applied_to_path_sets() -> None:
    vd = pd.Timestamp("2024-10-31")
    dates = pd.DatetimeIndex(["2024-10-31", "2024-11-01", "2024-11-04"])
    sc = embedded_scenarios("policy")["ccer_supply_flood"]
    det = scenario_path_set(sc, vd, {"CEA": 100.0, "CCER": 70.0}, dates, n_paths=2)
    np.testing.assert_allclose(det["CCER"], np.full((3, 2), 42.0))  # 70 x (1 - 0.4), instantaneous
    np.testing.assert_allclose(det["CEA"], np.full((3, 2), 100.0))
    base = PathSet(dates, {"CEA": np.array([[100.0, 100.0], [101.0, 99.0], [102.0, 98.0]]), "CCER": det["CEA"].copy()})
    tight = embedded_scenarios("policy")["allocation_tightened"]
    shocked = shock_path_set(base, tight, vd)
    np.testing.assert_allclose(shocked["CEA"], base["CEA"] * (1.5 ** (np.array([0, 1, 2]) / 245))[:, None], rtol=1e-12)
    assert shocked.meta["stress_scenario"] == "allocation_tightened"


def test_uniform_shock_ladder_point() -> None:
    sc = uniform_shock(-0.3)
    # exp(log1p(r)) round trip: equal to r within a few ulps
    assert float(sc.relative_level("CEA", 0)) == pytest.approx(0.7, rel=1e-14)
    assert float(sc.relative_level("CCER", 50)) == pytest.approx(0.7, rel=1e-14)
    only = uniform_shock(0.1, ("CEA",))
    assert float(only.relative_level("CCER", 3)) == 1.0
    assert float(only.relative_level("CEA", 3)) == pytest.approx(1.1, rel=1e-14)
    with pytest.raises(ScenarioError, match=r"^shock=-1.0 must be a finite relative change > -1$"):
        uniform_shock(-1.0)
    with pytest.raises(ScenarioError, match=r"^factors: 'EUA' is not a factor"):
        uniform_shock(0.1, ("EUA",))
