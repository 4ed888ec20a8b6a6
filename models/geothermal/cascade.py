"""Hourly cascade plant model of document 001 (eqs. (1), (3), (4)): plate exchanger + water-source heat pump.

Source: document 001 (seeds/001_*.txt, sections 2.3 and 3.1), DOMAIN.md section 3. The document gives the outputs
(annual heat, stage shares, heat-pump hours, electricity and its split, 3.07 / 4.69 MW) but not the plant's
internals; the defaults in ``models/data/geothermal/hebei_plant.toml`` mark each value as quoted, derived from
quoted figures, assumed or calibrated (see the README there).

Dispatch, hour t of a season (all in MW, i.e. MWh per hour):

* load, eq. (1): ``L_t = dT_t / sum(dT) * S * Hfactor`` with ``dT = max(T_in - T_out, 0)``;
* gross production needed ``G_t = L_t / (1 - hloss)``;
* heat pump on for the whole day when the day's minimum outdoor temperature is below ``temp*``; it then runs at
  its rated electric power (doc 001: "equipment basically runs at rated power") and gives
  ``W_HP = COP x P_HP`` of the gross heat (capped by ``G_t``);
* stage 1 (plate exchanger) follows the rest of the load up to its capacity
  ``Q x rho x c x (T0 - T1_min)``; whatever exceeds it is reported as unmet;
* electricity, eq. (3): well pumping and reinjection at rated flow (kWh per m3), heat pump when on, auxiliaries
  (a base load plus a part that runs with the heat pump).
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.files import read_toml
from carbonrisk.models.geothermal.weather import HOURS_PER_DAY, HeatingSeason

__all__ = [
    "WATER_DENSITY_KG_PER_M3",
    "WATER_SPECIFIC_HEAT_KJ_PER_KG_K",
    "PlantParameters",
    "SeasonResult",
    "SeasonTotals",
    "load_plant",
    "path_totals",
    "season_totals",
    "simulate_season",
    "totals_from_sums",
]

WATER_SPECIFIC_HEAT_KJ_PER_KG_K: float = 4.186
WATER_DENSITY_KG_PER_M3: float = 1000.0
SECONDS_PER_HOUR: float = 3600.0
KJ_PER_MJ: float = 1000.0
KWH_PER_MWH: float = 1000.0


@dataclass(frozen=True)
class PlantParameters:
    """Parameters of the cascade plant (units in the names; see ``hebei_plant.toml`` for the Hebei values)."""

    name: str
    area_m2: float
    specific_heat_demand_mwh_per_m2: float
    indoor_temperature_c: float
    season_start: str
    season_days: int
    production_wells: int
    well_flow_m3_per_h: float
    wellhead_temperature_c: float
    stage1_min_outlet_c: float
    distribution_loss: float
    hp_threshold_c: float
    hp_electric_mw: float
    hp_cop: float
    production_kwh_per_m3: float
    reinjection_kwh_per_m3: float
    aux_base_mw: float
    aux_hp_mw: float

    def __post_init__(self) -> None:
        for name in ("area_m2", "specific_heat_demand_mwh_per_m2", "well_flow_m3_per_h", "hp_cop"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise InputError(f"{name}={value!r} must be > 0")
        for name in ("hp_electric_mw", "production_kwh_per_m3", "reinjection_kwh_per_m3", "aux_base_mw", "aux_hp_mw"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise InputError(f"{name}={value!r} must be >= 0")
        if not 0.0 <= self.distribution_loss < 1.0:
            raise InputError(f"distribution_loss={self.distribution_loss!r} must be in [0, 1)")
        if isinstance(self.production_wells, bool) or int(self.production_wells) != self.production_wells:
            raise InputError(f"production_wells={self.production_wells!r} must be a whole number")
        if self.production_wells < 1:
            raise InputError(f"production_wells={self.production_wells!r} must be >= 1")
        if self.wellhead_temperature_c <= self.stage1_min_outlet_c:
            raise InputError(
                f"wellhead_temperature_c={self.wellhead_temperature_c!r} must exceed "
                f"stage1_min_outlet_c={self.stage1_min_outlet_c!r}"
            )
        self.season  # noqa: B018  (validates season_start / season_days)

    @property
    def season(self) -> HeatingSeason:
        """Heating season of the reference (typical) year 2023-2024 of doc 001."""
        try:
            start = pd.Timestamp(f"2023-{self.season_start}")
        except ValueError as exc:
            raise InputError(f"season_start={self.season_start!r} must be 'MM-DD'") from exc
        return HeatingSeason(start, int(self.season_days))

    @property
    def annual_demand_mwh(self) -> float:
        """S x Hfactor: heat demand of the reference year (MWh)."""
        return self.area_m2 * self.specific_heat_demand_mwh_per_m2

    @property
    def flow_m3_per_h(self) -> float:
        """Total production flow at rated conditions (m3/h)."""
        return self.production_wells * self.well_flow_m3_per_h

    @property
    def stage1_capacity_mw(self) -> float:
        """Plate-exchanger capacity Q rho c (T0 - T1_min) (MW, gross)."""
        return self._mw_per_kelvin(self.flow_m3_per_h) * (self.wellhead_temperature_c - self.stage1_min_outlet_c)

    @property
    def hp_heat_mw(self) -> float:
        """Heat-pump heat output at rated power, COP x P_HP (MW)."""
        return self.hp_cop * self.hp_electric_mw

    @staticmethod
    def _mw_per_kelvin(flow_m3_per_h: float) -> float:
        return flow_m3_per_h * WATER_DENSITY_KG_PER_M3 * WATER_SPECIFIC_HEAT_KJ_PER_KG_K / SECONDS_PER_HOUR / KJ_PER_MJ

    def with_overrides(self, **changes: Any) -> PlantParameters:
        """A copy with some fields replaced (validated again)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise InputError(f"unknown plant parameter(s) {unknown}; known: {sorted(known)}")
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary of the parameters."""
        return asdict(self)


def load_plant(path: str | Path | None = None, **overrides: Any) -> PlantParameters:
    """Load plant parameters from TOML (default: the embedded Hebei case) and apply ``overrides``."""
    if path is None:
        resource = (
            resources.files("carbonrisk.models").joinpath("data").joinpath("geothermal").joinpath("hebei_plant.toml")
        )
        with resources.as_file(resource) as p:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
    else:
        raw, _ = read_toml(path, "plant file")
    raw.update(overrides)
    known = {f.name for f in fields(PlantParameters)}
    missing = sorted(known - set(raw))
    if missing:
        raise InputError(f"plant parameters: missing {missing}")
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InputError(f"unknown plant parameter(s) {unknown}")
    return PlantParameters(**raw)


@dataclass(frozen=True)
class SeasonTotals:
    """Season totals for many weather paths at once (arrays of shape ``(n_paths,)``).

    Attributes
    ----------
    heat_mwh : delivered heat (net of distribution loss).
    demand_mwh : heat demand (eq. (1)).
    stage1_mwh, stage2_mwh : gross production of each stage.
    unmet_mwh : demand not met (stage-1 capacity exceeded).
    hp_hours : hours with the heat pump on.
    electricity_mwh : total electricity; ``pumping_mwh``, ``reinjection_mwh``, ``heat_pump_mwh``, ``aux_mwh`` its parts.
    degree_hours : sum of max(T_in - T_out, 0) over the season (K h).
    """

    heat_mwh: np.ndarray
    demand_mwh: np.ndarray
    stage1_mwh: np.ndarray
    stage2_mwh: np.ndarray
    unmet_mwh: np.ndarray
    hp_hours: np.ndarray
    electricity_mwh: np.ndarray
    pumping_mwh: np.ndarray
    reinjection_mwh: np.ndarray
    heat_pump_mwh: np.ndarray
    aux_mwh: np.ndarray
    degree_hours: np.ndarray


def _dispatch(
    plant: PlantParameters,
    temperatures_c: np.ndarray,
    *,
    reference_degree_hours: float | None,
    capacity_factor: np.ndarray,
) -> dict[str, np.ndarray]:
    """Hourly dispatch for temperatures of shape (hours, n); returns hourly arrays (hours, n)."""
    hours, n = temperatures_c.shape
    if hours % HOURS_PER_DAY:
        raise InputError(f"temperature series of {hours} hours is not a whole number of days")
    dt = np.maximum(plant.indoor_temperature_c - temperatures_c, 0.0)
    degree_hours = dt.sum(axis=0)
    if np.any(degree_hours <= 0):
        raise InputError("temperatures never fall below the indoor temperature: no heating load")
    annual = plant.annual_demand_mwh
    scale = np.ones(n) if reference_degree_hours is None else degree_hours / reference_degree_hours
    load = dt / degree_hours * (annual * scale)
    gross = load / (1.0 - plant.distribution_loss)
    day_min = temperatures_c.reshape(hours // HOURS_PER_DAY, HOURS_PER_DAY, n).min(axis=1)
    hp_on = np.repeat(day_min < plant.hp_threshold_c, HOURS_PER_DAY, axis=0)
    stage2 = np.where(hp_on, np.minimum(plant.hp_heat_mw, gross), 0.0)
    cap1 = plant.stage1_capacity_mw * capacity_factor
    stage1 = np.minimum(gross - stage2, cap1[None, :])
    unmet = gross - stage1 - stage2
    flow = plant.flow_m3_per_h * capacity_factor
    pumping = np.broadcast_to(flow * plant.production_kwh_per_m3 / KWH_PER_MWH, (hours, n))
    reinjection = np.broadcast_to(flow * plant.reinjection_kwh_per_m3 / KWH_PER_MWH, (hours, n))
    heat_pump = hp_on * plant.hp_electric_mw
    aux = plant.aux_base_mw + hp_on * plant.aux_hp_mw
    return {
        "temperature_c": temperatures_c,
        "load_mwh": load,
        "stage1_mwh": stage1,
        "stage2_mwh": stage2,
        "unmet_mwh": unmet * (1.0 - plant.distribution_loss),
        "heat_mwh": (stage1 + stage2) * (1.0 - plant.distribution_loss),
        "hp_on": hp_on,
        "pumping_mwh": pumping,
        "reinjection_mwh": reinjection,
        "heat_pump_mwh": heat_pump,
        "aux_mwh": aux,
        "degree_hours": degree_hours,
    }


def season_totals(
    plant: PlantParameters,
    temperatures_c: np.ndarray,
    *,
    reference_degree_hours: float | None = None,
    capacity_factor: np.ndarray | None = None,
) -> SeasonTotals:
    """Season totals for temperatures of shape ``(hours, n_paths)``.

    Parameters
    ----------
    plant : PlantParameters
    temperatures_c : numpy.ndarray
        Hourly outdoor temperatures (C), one column per path.
    reference_degree_hours : float, optional
        When given, the season demand is ``S x Hfactor x DH / reference`` (weather risk: a colder season needs more
        heat); when ``None`` it is exactly ``S x Hfactor`` as in eq. (1) of doc 001.
    capacity_factor : numpy.ndarray, optional
        Per-path share (0, 1] of the rated well flow available (dry or under-performing wells).
    """
    temps = np.asarray(temperatures_c, dtype=float)
    if temps.ndim != 2:
        raise InputError(f"temperatures_c must be 2-D (hours, paths), got shape {temps.shape}")
    hours, n = temps.shape
    if hours % HOURS_PER_DAY:
        raise InputError(f"temperature series of {hours} hours is not a whole number of days")
    cf = np.ones(n) if capacity_factor is None else np.asarray(capacity_factor, dtype=float)
    ref = -1.0 if reference_degree_hours is None else float(reference_degree_hours)
    sums = _totals_kernel(
        np.ascontiguousarray(temps.T),
        cf,
        plant.indoor_temperature_c,
        plant.annual_demand_mwh,
        ref,
        plant.distribution_loss,
        plant.hp_threshold_c,
        plant.hp_heat_mw,
        plant.stage1_capacity_mw,
    )
    return totals_from_sums(plant, hours, cf, sums)


def totals_from_sums(plant: PlantParameters, hours: int, capacity_factor: np.ndarray, sums: Any) -> SeasonTotals:
    """:class:`SeasonTotals` from the dispatch sums ``(degree_hours, demand, stage1, stage2, unmet, hp_hours)`` per
    path (the rows :func:`path_totals` returns), for a season of ``hours`` hours."""
    degree_hours, demand, stage1, stage2, unmet, hp_hours = sums
    if np.any(degree_hours <= 0):
        raise InputError("temperatures never fall below the indoor temperature: no heating load")
    flow = plant.flow_m3_per_h * capacity_factor
    parts = {
        "pumping_mwh": flow * plant.production_kwh_per_m3 / KWH_PER_MWH * hours,
        "reinjection_mwh": flow * plant.reinjection_kwh_per_m3 / KWH_PER_MWH * hours,
        "heat_pump_mwh": hp_hours * plant.hp_electric_mw,
        "aux_mwh": plant.aux_base_mw * hours + hp_hours * plant.aux_hp_mw,
    }
    keep = 1.0 - plant.distribution_loss
    return SeasonTotals(
        heat_mwh=(stage1 + stage2) * keep,
        demand_mwh=demand,
        stage1_mwh=stage1,
        stage2_mwh=stage2,
        unmet_mwh=unmet * keep,
        hp_hours=hp_hours,
        electricity_mwh=parts["pumping_mwh"] + parts["reinjection_mwh"] + parts["heat_pump_mwh"] + parts["aux_mwh"],
        degree_hours=degree_hours,
        **parts,
    )


@numba.njit(cache=True, parallel=True)
def _totals_kernel(  # pragma: no cover - compiled
    temps: np.ndarray,
    cf: np.ndarray,
    indoor_c: float,
    annual_mwh: float,
    reference_dh: float,
    loss: float,
    threshold_c: float,
    hp_heat_mw: float,
    cap1_mw: float,
) -> np.ndarray:
    """:func:`path_totals` of every path; ``temps`` is (paths, hours), C-contiguous; returns ``(6, paths)``."""
    n = temps.shape[0]
    out = np.zeros((6, n))
    for j in numba.prange(n):
        path_totals(temps[j], cf[j], indoor_c, annual_mwh, reference_dh, loss, threshold_c, hp_heat_mw, cap1_mw, out, j)
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def path_totals(  # pragma: no cover - compiled
    temps: np.ndarray,
    cf: float,
    indoor_c: float,
    annual_mwh: float,
    reference_dh: float,
    loss: float,
    threshold_c: float,
    hp_heat_mw: float,
    cap1_mw: float,
    out: np.ndarray,
    j: int,
) -> None:
    """Same dispatch as :func:`_dispatch` for one path's hourly ``temps``, summed over the season into
    ``out[:, j]`` = degree-hours (K h), demand, stage 1, stage 2, unmet (MWh), heat-pump hours.

    A path with no degree-hours leaves the other sums at zero (the caller reports it).
    """
    hours = temps.shape[0]
    days = hours // 24
    total_dt = 0.0
    for t in range(hours):
        d = indoor_c - temps[t]
        if d > 0.0:
            total_dt += d
    out[0, j] = total_dt
    if total_dt <= 0.0:
        return
    annual = annual_mwh if reference_dh < 0.0 else annual_mwh * total_dt / reference_dh
    scale = annual / total_dt
    cap = cap1_mw * cf
    a1 = 0.0
    a2 = 0.0
    au = 0.0
    ad = 0.0
    ah = 0.0
    for day in range(days):
        lo = temps[day * 24]
        for h in range(1, 24):
            v = temps[day * 24 + h]
            if v < lo:
                lo = v
        on = lo < threshold_c
        if on:
            ah += 24.0
        for h in range(24):
            d = indoor_c - temps[day * 24 + h]
            load = d * scale if d > 0.0 else 0.0
            gross = load / (1.0 - loss)
            st2 = 0.0
            if on:
                st2 = hp_heat_mw if hp_heat_mw < gross else gross
            st1 = gross - st2
            if st1 > cap:
                st1 = cap
            ad += load
            a1 += st1
            a2 += st2
            au += gross - st1 - st2
    out[1, j] = ad
    out[2, j] = a1
    out[3, j] = a2
    out[4, j] = au
    out[5, j] = ah


@dataclass(frozen=True)
class SeasonResult:
    """One season of the cascade plant, hour by hour, and its totals.

    Attributes
    ----------
    hourly : pandas.DataFrame
        Index = hourly timestamps; columns ``temperature_c``, ``load_mwh``, ``stage1_mwh``, ``stage2_mwh``,
        ``heat_mwh``, ``unmet_mwh``, ``hp_on``, ``stage1_outlet_c`` (xT1 of eq. (4)), ``pumping_mwh``,
        ``reinjection_mwh``, ``heat_pump_mwh``, ``aux_mwh``, ``electricity_mwh``.
    plant : PlantParameters
    summary : dict
        ``season_days``, ``heat_mwh``, ``heat_twh``, ``stage1_share``, ``stage2_share``, ``hp_hours``,
        ``stage2_vs_stage1_in_hp_hours``, ``peak_load_mw``, ``unmet_mwh``, ``electricity_mwh``,
        ``electricity_gwh``, ``electricity_components_mwh`` and ``electricity_shares`` (pumping, reinjection,
        heat_pump, aux), ``power_without_hp_mw``, ``power_with_hp_mw``, ``degree_hours``.
    """

    hourly: pd.DataFrame
    plant: PlantParameters
    summary: dict[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """The hourly frame."""
        return self.hourly.copy()


def simulate_season(
    plant: PlantParameters,
    temperatures_c: pd.Series,
    *,
    reference_degree_hours: float | None = None,
) -> SeasonResult:
    """Simulate one heating season hour by hour (eqs. (1), (3), (4) of doc 001).

    Parameters
    ----------
    plant : PlantParameters
    temperatures_c : pandas.Series
        Hourly outdoor temperature (C) over the season, ``plant.season_days x 24`` values.
    reference_degree_hours : float, optional
        See :func:`season_totals` (``None``: annual demand = S x Hfactor exactly).

    Notes
    -----
    .. math::

        H_t = \\frac{\\Delta T_t}{\\sum_t \\Delta T_t} S\\,H_{factor},\\quad
        H_t = [(T_0 - T_{1,t}) Q c\\rho + W^{HP}_t \\mathbb 1(\\min_d T < T^*)](1 - h_{loss}),\\quad
        E_t = E^{drill} + E^{fill} + E^{HP}_t + E^{aux}_t
    """
    values = np.asarray(temperatures_c, dtype=float)
    expected = plant.season.hours
    if values.ndim != 1 or values.size != expected:
        raise InputError(
            f"temperature series has {values.size} values, expected {expected} ({plant.season_days} days x 24 h)"
        )
    if not np.all(np.isfinite(values)):
        raise InputError(f"temperature series has {int((~np.isfinite(values)).sum())} gaps (NaN)")
    h = _dispatch(plant, values[:, None], reference_degree_hours=reference_degree_hours, capacity_factor=np.ones(1))
    index = temperatures_c.index if isinstance(temperatures_c.index, pd.DatetimeIndex) else plant.season.index()
    hourly = pd.DataFrame({k: np.asarray(v)[:, 0] for k, v in h.items() if k != "degree_hours"}, index=index)
    hourly["hp_on"] = hourly["hp_on"].astype(bool)
    mw_per_k = plant._mw_per_kelvin(plant.flow_m3_per_h)
    hourly["stage1_outlet_c"] = plant.wellhead_temperature_c - hourly["stage1_mwh"] / mw_per_k
    components = ["pumping_mwh", "reinjection_mwh", "heat_pump_mwh", "aux_mwh"]
    hourly["electricity_mwh"] = hourly[components].sum(axis=1)
    stage1, stage2 = float(hourly["stage1_mwh"].sum()), float(hourly["stage2_mwh"].sum())
    on = hourly["hp_on"].to_numpy()
    electricity = float(hourly["electricity_mwh"].sum())
    comp_totals = {k.removesuffix("_mwh"): float(hourly[k].sum()) for k in components}
    heat = float(hourly["heat_mwh"].sum())
    summary: dict[str, Any] = {
        "season_days": int(plant.season_days),
        "heat_mwh": heat,
        "heat_twh": heat / 1.0e6,
        "stage1_share": stage1 / (stage1 + stage2),
        "stage2_share": stage2 / (stage1 + stage2),
        "hp_hours": int(on.sum()),
        "stage2_vs_stage1_in_hp_hours": (
            float(hourly.loc[on, "stage2_mwh"].sum() / hourly.loc[on, "stage1_mwh"].sum()) if on.any() else 0.0
        ),
        "peak_load_mw": float(hourly["load_mwh"].max()),
        "unmet_mwh": float(hourly["unmet_mwh"].sum()),
        "electricity_mwh": electricity,
        "electricity_gwh": electricity / 1.0e3,
        "electricity_components_mwh": comp_totals,
        "electricity_shares": {k: v / electricity for k, v in comp_totals.items()},
        "power_without_hp_mw": float(hourly.loc[~on, "electricity_mwh"].mean()) if (~on).any() else 0.0,
        "power_with_hp_mw": float(hourly.loc[on, "electricity_mwh"].mean()) if on.any() else 0.0,
        "degree_hours": float(np.asarray(h["degree_hours"])[0]),
    }
    return SeasonResult(hourly=hourly, plant=plant, summary=summary)
