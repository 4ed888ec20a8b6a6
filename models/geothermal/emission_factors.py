"""Power and heat emission-factor trajectories 2021-2060 (static, linear, dynamic or a user CSV).

Source: document 001, section 3.2 (2060 values and declines vs 2022 for low / mid / high carbon price); anchors
and half-lives in ``models/data/geothermal/ef_hebei.toml``. Annual reduction of a heating project (doc 001, 3.3):

    reduction_y = heat_y x EF_heat,y - electricity_y x EF_power,y.

Scenario labels. Doc 001's mechanism (3.2-3.3) says a higher carbon price decarbonises power and heat faster, so
the project's reduction is *smallest* under the high price: low / mid / high -> 0.9573 / 0.8891 / 0.8441 Mt
(2021-2040). One sentence of section 3.3 lists the totals the other way round ("low, mid, high: 84.41, 88.91,
95.73"), contradicting that mechanism and its own 2060 factors (the high scenario has the lowest 2060 factors, so
it cannot give the largest total); the engine follows the mechanism (see :data:`SCENARIO_LABEL_NOTE`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from carbonrisk.models.csvfile import read_user_csv
from carbonrisk.models.exceptions import InputError
from carbonrisk.models.files import read_toml

__all__ = [
    "EF_FORMS",
    "PUBLISHED_DYNAMIC_TOTALS_T",
    "SCENARIO_LABEL_NOTE",
    "EmissionFactorTrajectory",
    "annual_reductions",
    "emission_factor_trajectory",
    "load_ef_anchors",
    "load_ef_csv",
]

EF_FORMS: tuple[str, ...] = ("static", "linear", "dynamic")
PUBLISHED_DYNAMIC_TOTALS_T: dict[str, float] = {"low": 0.9573e6, "mid": 0.8891e6, "high": 0.8441e6}
"""2021-2040 cumulative reductions with dynamic factors (doc 001, 3.3), mapped by the document's mechanism."""
PUBLISHED_OVERSTATEMENT_RANGES: dict[str, tuple[float, float]] = {
    "static": (0.3049, 0.4798),
    "linear": (0.0831, 0.2118),
}
"""Static and linear over-statement versus dynamic factors, 2021-2040 (doc 001, 3.2)."""
SCENARIO_LABEL_NOTE: str = (
    "doc 001 section 3.3 labels the cumulative totals 'low, mid, high = 84.41, 88.91, 95.73 (10^4 t)', which "
    "contradicts its own mechanism (a higher carbon price decarbonises heat faster, hence a smaller reduction) and "
    "its 2060 factors; the engine maps low/mid/high to 95.73/88.91/84.41 (10^4 t)"
)
DEFAULT_YEARS: tuple[int, int] = (2021, 2060)


def load_ef_anchors(path: str | Path | None = None) -> dict[str, Any]:
    """Anchors of the trajectories (2022 bases, 2060 values and half-lives per scenario) from TOML."""
    if path is None:
        resource = (
            resources.files("carbonrisk.models").joinpath("data").joinpath("geothermal").joinpath("ef_hebei.toml")
        )
        with resources.as_file(resource) as p:
            return tomllib.loads(p.read_text(encoding="utf-8"))
    return read_toml(path, "emission-factor anchor file")[0]


@dataclass(frozen=True)
class EmissionFactorTrajectory:
    """Yearly power and heat emission factors.

    Attributes
    ----------
    scenario : str
        ``low``, ``mid``, ``high`` or the user file stem.
    form : str
        ``static``, ``linear``, ``dynamic`` or ``csv``.
    years : numpy.ndarray
        Consecutive years (int).
    power_ef_t_per_mwh, heat_ef_t_per_mwh : numpy.ndarray
        Factors per year (tCO2/MWh).
    """

    scenario: str
    form: str
    years: np.ndarray
    power_ef_t_per_mwh: np.ndarray
    heat_ef_t_per_mwh: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """Frame indexed by year with ``power_ef_t_per_mwh`` and ``heat_ef_t_per_mwh``."""
        return pd.DataFrame(
            {"power_ef_t_per_mwh": self.power_ef_t_per_mwh, "heat_ef_t_per_mwh": self.heat_ef_t_per_mwh},
            index=pd.Index(self.years, name="year"),
        )

    def at(self, years: np.ndarray | list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(power, heat) factors for ``years``; a year outside the trajectory is an error."""
        y = np.asarray(years, dtype=int)
        outside = y[(y < self.years[0]) | (y > self.years[-1])]
        if outside.size:
            raise InputError(
                f"year {int(outside[0])} outside the emission-factor trajectory {self.years[0]}-{self.years[-1]}"
            )
        i = y - self.years[0]
        return self.power_ef_t_per_mwh[i], self.heat_ef_t_per_mwh[i]


def _dynamic_shape(years: np.ndarray, base_year: int, end_year: int, half_life_years: float) -> np.ndarray:
    """1 at ``base_year``, 0 at ``end_year``, exponential (front-loaded) in between and extrapolated outside."""
    if not np.isfinite(half_life_years) or half_life_years <= 0:
        raise InputError(f"half_life_years={half_life_years!r} must be > 0")
    tau = half_life_years / np.log(2.0)
    span = end_year - base_year
    floor = np.exp(-span / tau)
    return np.asarray((np.exp(-(years - base_year) / tau) - floor) / (1.0 - floor), dtype=float)


def emission_factor_trajectory(
    scenario: str = "mid",
    form: str = "dynamic",
    *,
    years: tuple[int, int] = DEFAULT_YEARS,
    anchors: dict[str, Any] | None = None,
    half_life_years: float | None = None,
) -> EmissionFactorTrajectory:
    """Power and heat emission factors per year for a carbon-price scenario.

    Parameters
    ----------
    scenario : {"low", "mid", "high"}
    form : {"static", "linear", "dynamic"}
        ``static``: the 2022 values held; ``linear``: the straight line through the 2022 and 2060 values
        (extended to 2021); ``dynamic``: the front-loaded decline below.
    years : (int, int)
        First and last year (inclusive).
    anchors : dict, optional
        Output of :func:`load_ef_anchors` (default: the embedded Hebei anchors).
    half_life_years : float, optional
        Override of the scenario's half-life (dynamic form).

    Notes
    -----
    .. math::

        EF_y = EF_{2060} + (EF_{2022} - EF_{2060})
        \\frac{e^{-(y - 2022)/\\tau} - e^{-38/\\tau}}{1 - e^{-38/\\tau}},\\qquad \\tau = t_{1/2}/\\ln 2

    anchored at the 2022 bases and the 2060 values of doc 001; a shorter half-life front-loads the decline.
    """
    a = anchors if anchors is not None else load_ef_anchors()
    if form not in EF_FORMS:
        raise InputError(f"form={form!r} must be one of {', '.join(EF_FORMS)}")
    scenarios = a.get("scenarios", {})
    if scenario not in scenarios:
        raise InputError(f"scenario={scenario!r} must be one of {', '.join(scenarios)}")
    first, last = int(years[0]), int(years[1])
    if last < first:
        raise InputError(f"years=({first}, {last}) must be increasing")
    y = np.arange(first, last + 1)
    s = scenarios[scenario]
    base, end = int(a["base_year"]), int(a["end_year"])
    p0, h0 = float(a["power_base_t_per_mwh"]), float(a["heat_base_t_per_mwh"])
    p1, h1 = float(s["power_2060_t_per_mwh"]), float(s["heat_2060_t_per_mwh"])
    if form == "static":
        shape = np.ones(y.size)
    elif form == "linear":
        shape = 1.0 - (y - base) / (end - base)
    else:
        shape = _dynamic_shape(y, base, end, float(half_life_years or s["half_life_years"]))
    return EmissionFactorTrajectory(
        scenario=scenario,
        form=form,
        years=y,
        power_ef_t_per_mwh=p1 + (p0 - p1) * shape,
        heat_ef_t_per_mwh=h1 + (h0 - h1) * shape,
    )


def load_ef_csv(path: str | Path) -> EmissionFactorTrajectory:
    """A user trajectory: CSV with ``year``, ``power_ef_t_per_mwh``, ``heat_ef_t_per_mwh``, consecutive years.

    Raises
    ------
    carbonrisk.models.exceptions.InputError
        Missing file or columns, repeated or missing years, negative or non-finite factors.
    """
    frame = read_user_csv(path, "emission-factor file")
    need = {"year", "power_ef_t_per_mwh", "heat_ef_t_per_mwh"}
    missing_cols = sorted(need - set(frame.columns))
    if missing_cols:
        raise InputError(f"emission-factor file '{path}' lacks column(s) {missing_cols}")
    years = pd.to_numeric(frame["year"], errors="coerce")
    if years.isna().any() or (years != years.round()).any():
        raise InputError(f"emission-factor file '{path}': column 'year' must hold whole years")
    y = years.to_numpy(dtype=int)
    repeated = sorted({int(v) for v in y[pd.Series(y).duplicated().to_numpy()]})
    if repeated:
        raise InputError(f"emission-factor file '{path}': repeated years {repeated}")
    order = np.argsort(y)
    y = y[order]
    absent = sorted(set(range(int(y[0]), int(y[-1]) + 1)) - set(y.tolist()))
    if absent:
        raise InputError(f"emission-factor file '{path}': missing years {absent[:10]}")
    values = {}
    for col in ("power_ef_t_per_mwh", "heat_ef_t_per_mwh"):
        v = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)[order]
        bad = ~np.isfinite(v) | (v < 0)
        if bad.any():
            raise InputError(
                f"emission-factor file '{path}': {col} must be finite and >= 0; bad in {y[bad][:10].tolist()}"
            )
        values[col] = v
    name = Path(path).stem
    return EmissionFactorTrajectory(name, "csv", y, values["power_ef_t_per_mwh"], values["heat_ef_t_per_mwh"])


def annual_reductions(
    heat_mwh: np.ndarray | float,
    electricity_mwh: np.ndarray | float,
    trajectory: EmissionFactorTrajectory,
    years: np.ndarray | list[int],
) -> np.ndarray:
    """Reduction per year (tCO2): heat x heat EF - electricity x power EF (doc 001, 3.3).

    ``heat_mwh`` and ``electricity_mwh`` broadcast against ``years`` along the first axis (scalars, shape
    ``(n_years,)`` or ``(n_years, n_paths)``).
    """
    power, heat = trajectory.at(years)
    h = np.asarray(heat_mwh, dtype=float)
    e = np.asarray(electricity_mwh, dtype=float)
    if h.ndim == 2 or e.ndim == 2:
        power, heat = power[:, None], heat[:, None]
    return np.asarray(h * heat - e * power, dtype=float)
