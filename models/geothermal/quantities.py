"""The geothermal catalogue: every plant, risk, finance, issuance and project parameter, declared once.

Names are ``geothermal.<family>.<field>`` (``geothermal.risk.availability_mean``), one per field of
:class:`~carbonrisk.models.geothermal.cascade.PlantParameters`,
:class:`~carbonrisk.models.geothermal.project.RiskParameters`,
:class:`~carbonrisk.models.geothermal.project.FinanceParameters`,
:class:`~carbonrisk.models.geothermal.issuance.IssuanceParameters` and
:class:`~carbonrisk.models.geothermal.project.Project` (the keys of a project file and of ``hebei_plant.toml``). The
ranges are today's checks in those classes (which still check inline); a range of ``(-inf, inf)`` means any finite
value.
"""

from __future__ import annotations

from typing import Any

from carbonrisk.models.scenarios import SCENARIOS
from carbonrisk.models.validation import Quantity

__all__ = ["GEOTHERMAL_QUANTITIES", "declared_geothermal_quantities"]


def _q(kind: str, unit: str, default: Any, text: str, low: float | None = None, high: float | None = None,
       **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {"type": kind, "unit": unit, "default": default, "low": low, "high": high, "description": text, **extra}


_PROB = {"low": 0.0, "high": 1.0}
_FIELDS: dict[str, dict[str, dict[str, Any]]] = {
    "plant": {
        "name": _q("str", "-", None, "name of the plant", free_text="any text"),
        "area_m2": _q("float", "m2", None, "heated floor area", 0.0, low_inclusive=False),
        "specific_heat_demand_mwh_per_m2": _q(
            "float", "MWh/m2", None, "heat demand per m2 and season", 0.0, low_inclusive=False
        ),
        "indoor_temperature_c": _q("float", "degC", None, "indoor design temperature"),
        "season_start": _q("str", "-", None, "first day of the heating season", free_text="a date MM-DD"),
        "season_days": _q("int", "days", None, "length of the heating season", 1, 366),
        "production_wells": _q("int", "wells", None, "production wells", 1),
        "well_flow_m3_per_h": _q("float", "m3/h", None, "flow of one well", 0.0, low_inclusive=False),
        "wellhead_temperature_c": _q("float", "degC", None, "wellhead temperature (above stage1_min_outlet_c)"),
        "stage1_min_outlet_c": _q("float", "degC", None, "lowest outlet temperature of the direct stage"),
        "distribution_loss": _q("float", "fraction", None, "heat lost in distribution", 0.0, 1.0, high_inclusive=False),
        "hp_threshold_c": _q("float", "degC", None, "outdoor temperature below which the heat pump runs"),
        "hp_electric_mw": _q("float", "MW", None, "electric capacity of the heat pump", 0.0),
        "hp_cop": _q("float", "-", None, "coefficient of performance of the heat pump", 0.0, low_inclusive=False),
        "production_kwh_per_m3": _q("float", "kWh/m3", None, "pumping energy of production", 0.0),
        "reinjection_kwh_per_m3": _q("float", "kWh/m3", None, "pumping energy of reinjection", 0.0),
        "aux_base_mw": _q("float", "MW", None, "auxiliary load of the base plant", 0.0),
        "aux_hp_mw": _q("float", "MW", None, "auxiliary load of the heat pump", 0.0),
    },
    "risk": {
        "well_failure_probability": _q("float", "fraction", 0.10, "probability a production well is dry", **_PROB),
        "redrill_cost_cny": _q("float", "CNY", 8.0e6, "cost of one replacement well", 0.0),
        "redrill_months": _q("float", "months", 4, "start-up delay of a round of re-drilling", 0.0),
        "schedule_slack_months": _q("float", "months", 3.0, "slack before the first heating season", 0.0),
        "failed_well_capacity": _q("float", "fraction", 0.5, "flow kept when a re-drill fails too", **_PROB),
        "capex_overrun_median": _q(
            "float", "-", 1.05, "median of the lognormal capex multiplier", 0.0, low_inclusive=False
        ),
        "capex_overrun_sigma": _q("float", "-", 0.10, "log-sd of the capex multiplier", 0.0),
        "availability_mean": _q(
            "float", "fraction", 0.98, "mean yearly availability (Beta)", 0.0, 1.0, low_inclusive=False
        ),
        "availability_sd": _q("float", "fraction", 0.01, "sd of the yearly availability, below sqrt(m (1 - m))", 0.0),
    },
    "finance": {
        "capex_cny": _q("float", "CNY", 279e6, "capital expenditure", 0.0),
        "electricity_price_cny_per_mwh": _q("float", "CNY/MWh", 600.0, "electricity price", 0.0),
        "fixed_opex_cny_per_mwh_heat": _q("float", "CNY/MWh", 50.0, "fixed opex per MWh of heat", 0.0),
    },
    "issuance": {
        "project_start": _q("date", "-", None, "start of operation (first heating season)"),
        "validation_months": _q("int", "months", 6, "delay from project start to validation", 0),
        "registration_months": _q("int", "months", 6, "delay from validation to registration", 0),
        "registration_date": _q("date", "-", None, "explicit registration date (overrides the delays)"),
        "crediting_years": _q("int", "years", 10, "crediting period from registration", 7, 10),
        "monitoring_months": _q("int", "months", 12, "length of a monitoring period", 1),
        "verification_months": _q("int", "months", 4, "lag from a monitoring period's end to verification", 0),
        "issuance_months": _q("int", "months", 2, "lag from verification to issuance", 0),
        "uncertainty_deduction": _q("float", "fraction", 0.05, "share withheld for monitoring uncertainty", **_PROB),
    },
    "project": {
        "name": _q("str", "-", None, "name of the project", free_text="any text"),
        "plant": _q("table", "-", None, "plant parameters", free_text="a [plant] table or hebei_plant.toml"),
        "start_year": _q("int", "year", None, "first heating season (also projects.start_year)", 2021, 2060),
        "life_years": _q("int", "years", None, "heating seasons (also projects.life_years)", 1, 50),
        "scenario": _q("str", "-", "mid", "emission-factor / price scenario", choices=SCENARIOS),
        "ef_form": _q(
            "str", "-", None, "form of the emission-factor trajectory", choices=("static", "linear", "dynamic")
        ),
        "issuance": _q("table", "-", None, "CCER pipeline parameters", free_text="an [issuance] table"),
        "finance": _q("table", "-", None, "capex and opex", free_text="a [finance] table"),
        "risk": _q("table", "-", None, "project risks", free_text="a [risk] table"),
        "weather_params": _q("table", "-", None, "weather model parameters", free_text="a [weather] table"),
        "weather_csv": _q(
            "str", "-", None, "hourly temperature CSV instead of the weather model", free_text="a CSV path"
        ),
        "ef_csv": _q("str", "-", None, "emission-factor CSV instead of the trajectory", free_text="a CSV path"),
        "latitude": _q("float", "deg", 38.0, "latitude of the site", -90.0, 90.0),
        "longitude": _q("float", "deg", 115.5, "longitude of the site", -180.0, 180.0),
    },
}

GEOTHERMAL_QUANTITIES: dict[str, dict[str, Quantity]] = {
    family: {key: Quantity(f"geothermal.{family}.{key}", **spec) for key, spec in fields.items()}
    for family, fields in _FIELDS.items()
}
"""``GEOTHERMAL_QUANTITIES[family][field]`` with family plant, risk, finance, issuance or project."""


def declared_geothermal_quantities() -> list[Quantity]:
    """Every declared geothermal parameter (for generated reference documentation)."""
    return [q for fields in GEOTHERMAL_QUANTITIES.values() for q in fields.values()]
