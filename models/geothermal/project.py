"""A geothermal heating project end to end (deterministic): plant season -> yearly reductions -> CCER credits -> income.

A project is described by a TOML file (``tomllib``); the embedded ``models/data/geothermal/hebei_project.toml`` is
the Hebei case of document 001 and the defaults of every key a user file leaves out.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.files import read_toml
from carbonrisk.models.geothermal.cascade import PlantParameters, SeasonResult, load_plant, simulate_season
from carbonrisk.models.geothermal.emission_factors import (
    EF_FORMS,
    EmissionFactorTrajectory,
    annual_reductions,
    emission_factor_trajectory,
    load_ef_csv,
)
from carbonrisk.models.geothermal.issuance import IssuanceParameters, IssuanceResult, issue_credits
from carbonrisk.models.geothermal.methodology import HeatingTechnology, MethodologyResult, compute_reductions
from carbonrisk.models.geothermal.quantities import GEOTHERMAL_QUANTITIES
from carbonrisk.models.geothermal.weather import (
    HOURS_PER_DAY,
    WeatherParameters,
    load_temperature_csv,
    load_weather_parameters,
    typical_year,
)
from carbonrisk.models.quantities import PROJECT_LAST_YEAR, PROJECT_LIFE_YEARS, PROJECT_START_YEAR
from carbonrisk.models.scenarios import SCENARIOS, ScenarioCurve, load_scenario
from carbonrisk.models.units import TJ_PER_MWH
from carbonrisk.models.validation import check

__all__ = [
    "FinanceParameters",
    "Project",
    "ProjectResult",
    "RiskParameters",
    "daily_heat_weights",
    "hebei_project",
    "load_project",
    "run_project",
]

INCOME_YEARS: tuple[int, int] = (2025, 2040)
"""Carbon-income window of doc 001 (3.3)."""


def _declared(family: str, key: str, value: Any) -> Any:
    """``value`` checked against its declaration (:mod:`carbonrisk.models.geothermal.quantities`)."""
    return check(GEOTHERMAL_QUANTITIES[family][key], value, name=key)


@dataclass(frozen=True)
class FinanceParameters:
    """Capex and opex of a project (CNY)."""

    capex_cny: float = 279e6
    electricity_price_cny_per_mwh: float = 600.0
    fixed_opex_cny_per_mwh_heat: float = 50.0

    def __post_init__(self) -> None:
        for f in fields(self):
            _declared("finance", f.name, getattr(self, f.name))


@dataclass(frozen=True)
class RiskParameters:
    """Early, concentrated project risks (doc 000, section 3) and operating risks; all values are assumptions.

    Attributes
    ----------
    well_failure_probability : probability that a drilled production well is dry or under-performing.
    redrill_cost_cny : cost of one replacement well.
    redrill_months : start-up delay added by a round of re-drilling.
    schedule_slack_months : float between planned well completion and the first heating season.
    failed_well_capacity : share of a well's flow kept when its re-drill fails too.
    capex_overrun_median, capex_overrun_sigma : lognormal capex multiplier.
    availability_mean, availability_sd : Beta-distributed yearly availability of the plant.
    """

    well_failure_probability: float = 0.10
    redrill_cost_cny: float = 8.0e6
    redrill_months: int = 4
    schedule_slack_months: float = 3.0
    failed_well_capacity: float = 0.5
    capex_overrun_median: float = 1.05
    capex_overrun_sigma: float = 0.10
    availability_mean: float = 0.98
    availability_sd: float = 0.01

    def __post_init__(self) -> None:
        for key in (
            "well_failure_probability",
            "failed_well_capacity",
            "redrill_cost_cny",
            "redrill_months",
            "schedule_slack_months",
            "capex_overrun_sigma",
            "capex_overrun_median",
            "availability_mean",
        ):
            _declared("risk", key, getattr(self, key))  # fmt: skip
        m, s = float(self.availability_mean), float(_declared("risk", "availability_sd", self.availability_sd))
        if s > 0 and s**2 >= m * (1.0 - m):
            raise InputError(f"availability_sd={s!r} must be >= 0 and below sqrt(mean (1 - mean))")


@dataclass(frozen=True)
class Project:
    """One geothermal heating project: plant, life, scenario, weather, pipeline, finance and risk parameters."""

    name: str
    plant: PlantParameters
    start_year: int
    life_years: int
    scenario: str
    ef_form: str
    issuance: IssuanceParameters
    finance: FinanceParameters = field(default_factory=FinanceParameters)
    risk: RiskParameters = field(default_factory=RiskParameters)
    weather_params: WeatherParameters = field(default_factory=load_weather_parameters)
    weather_csv: Path | None = None
    ef_csv: Path | None = None
    latitude: float = 38.0
    longitude: float = 115.5

    def __post_init__(self) -> None:
        # declared ranges (carbonrisk.models.quantities): emission factors are anchored at 2022 and 2060 and
        # extrapolated outside them, so a start in 1850 or a 2000-year life would give absurd factors
        check(PROJECT_LIFE_YEARS, self.life_years, name="life_years")
        check(PROJECT_START_YEAR, self.start_year, name="start_year")
        last = int(self.start_year) + int(self.life_years) - 1
        check(PROJECT_LAST_YEAR, last, name=f"start_year + life_years - 1 ({self.start_year} + {self.life_years} - 1)")
        if self.scenario not in SCENARIOS:
            raise InputError(f"scenario={self.scenario!r} must be one of {', '.join(SCENARIOS)}")
        if self.ef_csv is None and self.ef_form not in EF_FORMS:
            raise InputError(f"ef_form={self.ef_form!r} must be one of {', '.join(EF_FORMS)}")
        _declared("project", "latitude", self.latitude)
        _declared("project", "longitude", self.longitude)

    @property
    def years(self) -> np.ndarray:
        """Operating years (the year each heating season starts)."""
        return np.arange(int(self.start_year), int(self.start_year) + int(self.life_years))

    @property
    def season_start(self) -> tuple[int, int]:
        """(month, day) of the first day of each heating season."""
        s = self.plant.season.start
        return (int(s.month), int(s.day))

    def trajectory(self) -> EmissionFactorTrajectory:
        """Emission factors of the project's scenario and form (or its CSV)."""
        if self.ef_csv is not None:
            return load_ef_csv(self.ef_csv)
        first = min(int(self.years[0]), 2021)
        last = max(int(self.years[-1]), 2060)
        return emission_factor_trajectory(self.scenario, self.ef_form, years=(first, last))

    def weather(self) -> pd.Series:
        """Hourly temperatures of the reference season: the project's CSV, else the generator's typical year."""
        if self.weather_csv is not None:
            return load_temperature_csv(self.weather_csv, self.plant.season_days)
        return typical_year(self.plant.season, self.weather_params)

    def with_changes(self, **changes: Any) -> Project:
        """A copy with some fields replaced."""
        from dataclasses import replace

        return replace(self, **changes)


def _embedded_project_toml() -> dict[str, Any]:
    resource = (
        resources.files("carbonrisk.models").joinpath("data").joinpath("geothermal").joinpath("hebei_project.toml")
    )
    with resources.as_file(resource) as p:
        return tomllib.loads(p.read_text(encoding="utf-8"))


def _section(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise InputError(f"project file: [{name}] must be a table")
    return dict(value)


def _build(raw: dict[str, Any], base_dir: Path | None, defaults: dict[str, Any]) -> Project:
    known_top = {"name", "start_year", "life_years", "scenario", "ef_form", "ef_csv", "latitude", "longitude",
                 "plant", "weather", "issuance", "finance", "risk"}  # fmt: skip
    unknown = sorted(set(raw) - known_top)
    if unknown:
        raise InputError(f"project file: unknown key(s) {unknown}; known: {sorted(known_top)}")

    def get(key: str) -> Any:
        return raw.get(key, defaults.get(key))

    def resolve(value: str | None) -> Path | None:
        if value is None:
            return None
        p = Path(value)
        return p if p.is_absolute() or base_dir is None else base_dir / p

    plant_cfg = _section(raw, "plant")
    plant_file = plant_cfg.pop("file", None)
    plant = load_plant(resolve(plant_file), **plant_cfg)
    weather_cfg = _section(raw, "weather")
    unknown_w = sorted(set(weather_cfg) - {"parameters", "csv"})
    if unknown_w:
        raise InputError(f"project file: unknown [weather] key(s) {unknown_w}; known: ['csv', 'parameters']")
    weather_params = load_weather_parameters(resolve(weather_cfg.get("parameters")))
    issuance_cfg = {**_section(defaults, "issuance"), **_section(raw, "issuance")}
    start_year = get("start_year")
    if isinstance(start_year, bool) or not isinstance(start_year, int):
        raise InputError(f"start_year={start_year!r} must be a whole year")
    season_start = plant.season.start
    issuance_cfg.setdefault(
        "project_start", pd.Timestamp(year=start_year, month=season_start.month, day=season_start.day)
    )
    if "registration_date" in issuance_cfg and issuance_cfg["registration_date"] is not None:
        issuance_cfg["registration_date"] = pd.Timestamp(str(issuance_cfg["registration_date"]))
    try:
        issuance = IssuanceParameters(**issuance_cfg)
        finance = FinanceParameters(**{**_section(defaults, "finance"), **_section(raw, "finance")})
        risk = RiskParameters(**{**_section(defaults, "risk"), **_section(raw, "risk")})
    except TypeError as exc:
        raise InputError(f"project file: {exc}") from exc
    return Project(
        name=str(get("name")),
        plant=plant,
        start_year=int(start_year),
        life_years=get("life_years"),
        scenario=str(get("scenario")),
        ef_form=str(get("ef_form")),
        issuance=issuance,
        finance=finance,
        risk=risk,
        weather_params=weather_params,
        weather_csv=resolve(weather_cfg.get("csv")),
        ef_csv=resolve(raw.get("ef_csv")),
        latitude=float(get("latitude")),
        longitude=float(get("longitude")),
    )


def load_project(path: str | Path | None = None) -> Project:
    """Load a project TOML file (keys left out take the Hebei defaults); ``None`` gives the Hebei case itself."""
    defaults = _embedded_project_toml()
    if path is None:
        return _build(defaults, None, defaults)
    p = Path(path)
    raw, _ = read_toml(p, "project file")
    try:
        return _build(raw, p.resolve().parent, defaults)
    except InputError as exc:
        message = " ".join(str(exc).split())
        raise InputError(message if str(path) in message else f"project file '{path}': {message}") from exc


def hebei_project(
    scenario: str = "mid",
    ef_form: str = "dynamic",
    *,
    weather_csv: str | Path | None = None,
    ef_csv: str | Path | None = None,
) -> Project:
    """The Hebei case of doc 001 with a carbon-price scenario, an emission-factor form (or a user EF CSV) and an
    optional hourly weather CSV."""
    return load_project(None).with_changes(
        scenario=scenario,
        ef_form=ef_form,
        weather_csv=None if weather_csv is None else Path(weather_csv),
        ef_csv=None if ef_csv is None else Path(ef_csv),
    )


@dataclass(frozen=True)
class ProjectResult:
    """Deterministic outputs of one project (sections 2-4 of issue 4).

    Attributes
    ----------
    project : Project
    season : SeasonResult
        The reference season hour by hour (same every operating year).
    trajectory : EmissionFactorTrajectory
    annual : pandas.DataFrame
        Index = operating year: ``heat_mwh``, ``electricity_mwh``, ``power_ef_t_per_mwh``, ``heat_ef_t_per_mwh``,
        ``reductions_t``, ``cumulative_t``, ``price_cny_per_t`` (NaN outside the curve's years), ``income_cny``
        (reductions x price, doc 001's method; NaN outside the curve's years), ``opex_cny``.
    issuance : IssuanceResult
    price_curve : ScenarioCurve
    """

    project: Project
    season: SeasonResult
    trajectory: EmissionFactorTrajectory
    annual: pd.DataFrame
    issuance: IssuanceResult
    price_curve: ScenarioCurve

    def income(self, first: int = INCOME_YEARS[0], last: int = INCOME_YEARS[1]) -> float:
        """Carbon income (CNY) over operating years ``first..last`` at the scenario price."""
        a = self.annual
        return float(a.loc[(a.index >= first) & (a.index <= last), "income_cny"].sum())

    def credits_income_by_year(self) -> pd.Series:
        """Credits issued per year x the scenario price of the issuance year (CNY)."""
        c = self.issuance.credits_by_year
        return pd.Series(c.to_numpy() * self.price_curve.annual(c.index.to_numpy()), index=c.index, name="cny")

    def to_frame(self) -> pd.DataFrame:
        """The yearly frame."""
        return self.annual.copy()

    def summary(self) -> dict[str, Any]:
        """Headline numbers as plain values (JSON-ready)."""
        a = self.annual
        income = a.loc[(a.index >= INCOME_YEARS[0]) & (a.index <= INCOME_YEARS[1]), "income_cny"]
        am = self.am0072()
        return {
            "name": self.project.name,
            "scenario": self.project.scenario,
            "ef_form": self.trajectory.form,
            "years": [int(a.index[0]), int(a.index[-1])],
            "season": self.season.summary,
            "reductions_t": {str(int(y)): float(v) for y, v in a["reductions_t"].items()},
            "cumulative_reductions_t": float(a["reductions_t"].sum()),
            "credits_issued_t": {str(int(y)): float(v) for y, v in self.issuance.credits_by_year.items()},
            "issuance": self.issuance.summary(),
            "income_cny": {str(int(y)): float(v) for y, v in income.items()},
            "income_total_cny": float(income.sum()),
            "income_years": list(INCOME_YEARS),
            "income_peak_year": int(income.idxmax()) if len(income) else None,
            "price_source": self.price_curve.source,
            "am0072": {"be_t": am.be_t, "pe_t": am.pe_t, "er_t": am.er_t, "first_year": int(a.index[0])}
            | am.assumptions,
        }

    def am0072(self, year: int | None = None) -> MethodologyResult:
        """The same season under AM0072 / CM-022-V01 (doc 000): BE = heat x 87.3 tCO2/TJ / 0.85 (coal boiler),
        PE = metered electricity x the project's power EF of ``year`` (default the first operating year)."""
        y = int(self.annual.index[0]) if year is None else int(year)
        power, _ = self.trajectory.at([y])
        heat_tj = self.season.summary["heat_mwh"] * TJ_PER_MWH
        return compute_reductions(
            [HeatingTechnology("coal boiler", heat_tj)],
            electricity_mwh=self.season.summary["electricity_mwh"],
            grid_ef_t_per_mwh=float(power[0]),
        )


def daily_heat_weights(season: SeasonResult) -> np.ndarray:
    """Share of the season's heat delivered on each day (reductions are taken to accrue in that proportion)."""
    heat = season.hourly["heat_mwh"].to_numpy()
    daily = heat.reshape(-1, HOURS_PER_DAY).sum(axis=1)
    return np.asarray(daily / daily.sum(), dtype=float)


def run_project(project: Project, *, price_curve: ScenarioCurve | None = None) -> ProjectResult:
    """Deterministic run: reference season every year, reductions under the project's factors, CCER pipeline.

    Notes
    -----
    :math:`ER_y = Q^{heat} EF^{heat}_y - E\\, EF^{power}_y` (doc 001, 3.3) with the season totals of
    :func:`carbonrisk.models.geothermal.cascade.simulate_season`; credits from
    :func:`carbonrisk.models.geothermal.issuance.issue_credits`; income :math:`= ER_y \\times p_y` with the scenario's
    annual price.
    """
    season = simulate_season(project.plant, project.weather())
    trajectory = project.trajectory()
    years = project.years
    heat = np.full(years.size, season.summary["heat_mwh"])
    electricity = np.full(years.size, season.summary["electricity_mwh"])
    reductions = annual_reductions(heat, electricity, trajectory, years)
    power, heat_ef = trajectory.at(years)
    curve = price_curve if price_curve is not None else load_scenario(project.scenario)
    price = np.where((years >= curve.years[0]) & (years <= curve.years[-1]), curve.annual(years), np.nan)
    f = project.finance
    annual = pd.DataFrame(
        {
            "heat_mwh": heat,
            "electricity_mwh": electricity,
            "power_ef_t_per_mwh": power,
            "heat_ef_t_per_mwh": heat_ef,
            "reductions_t": reductions,
            "cumulative_t": np.cumsum(reductions),
            "price_cny_per_t": price,
            "income_cny": reductions * price,
            "opex_cny": electricity * f.electricity_price_cny_per_mwh + heat * f.fixed_opex_cny_per_mwh_heat,
        },
        index=pd.Index(years, name="year"),
    )
    issuance = issue_credits(
        annual["reductions_t"],
        project.issuance,
        season_start=project.season_start,
        season_days=project.plant.season_days,
        daily_weights=daily_heat_weights(season),
    )
    return ProjectResult(project, season, trajectory, annual, issuance, curve)
