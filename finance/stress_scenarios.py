"""Historical, policy and user stress scenarios: relative shock paths per factor, plus non-price policy flags.

A scenario is data: for each price factor (``CEA``, ``CCER``) a relative change from the valuation-date level
on a few business-day offsets, interpolated in between, plus three flags for the shocks that are not prices
(``offset_cap``, ``issuance_delay_years``, ``heat_ef_multiplier``). The engine applies it from the valuation
date: the level of factor ``f`` on the ``d``-th SSE trading day after the valuation date is
:math:`S_f(0)\\,(1 + r_f(d))`.

Embedded scenarios (``finance/data/scenarios/``)
------------------------------------------------
``historical.toml``
    ``cea_launch_drawdown`` (CEA 2021-08-04 peak 58.70 to 2021-12-08 trough 41.46 CNY/t, -29.37 %, the real
    daily path), ``cea_worst_1y`` (worst change over 365 calendar days in the shipped CEA history: 2022-04-06 to
    2023-04-06, 60.00 to 50.52, -15.80 %), ``hbea_worst_1y`` (Hubei: 2015-07-21 to 2016-07-20, 27.36 to 10.59,
    -61.29 %), all three generated from ``models/data/*.csv`` by :func:`write_historical_files` into
    ``cea_launch_drawdown.csv`` etc. (the test suite regenerates and compares them); ``eua_2008_crisis`` and
    ``eua_2020_covid``, stylised log-linear declines defined by their published peak-to-trough move and duration
    (sources and precision in the file). No CCER history ships, so in every historical scenario CCER moves by the
    same relative amount as the allowance (the CCER/CEA ratio is held).
``policy.toml``
    ``offset_cap_0``, ``offset_cap_10``, ``allocation_tightened``, ``ccer_supply_flood``,
    ``issuance_delay_1y``, ``heat_ef_revised_down``, from documents 000 and 002 (reasoning and the judgemental
    sizes in the file).

File format (embedded files and user files alike)
-------------------------------------------------
A TOML file holds an array of ``[[scenario]]`` tables. Keys of each:

``name`` (required, unique), ``description``, ``source``, ``kind`` (``historical``, ``policy`` or ``user``,
default ``user``); at most one price-path block:

- ``[scenario.shocks]``: ``days = [0, 20, 60]`` (SSE trading days after the valuation date, strictly increasing,
  >= 0) or ``dates = ["2025-01-31", ...]`` (ISO dates after the valuation date), and one array per factor of
  relative changes, e.g. ``CEA = [0.0, -0.2, -0.3]`` (each > -1);
- ``[scenario.ramp]``: ``over_days = 245`` and one number per factor, e.g. ``CEA = 0.5``: the change accrues
  log-linearly from 0 on the valuation date to its full size after ``over_days`` trading days (``over_days = 0``:
  an instantaneous shock);
- ``csv = "path.csv"``: columns ``day`` (or ``date``) and one column per factor of relative changes; a relative
  path is resolved against the TOML file's folder.

and the optional flags ``offset_cap`` (the CCER offset limit as a share of the obligation, in [0, 1]; 0.05 is
today's rule), ``issuance_delay_years`` (>= 0, added to every project's CCER issuance dates) and
``heat_ef_multiplier`` (> 0, multiplies the heat emission factor). Between given points the relative level
:math:`1 + r` is interpolated log-linearly in trading days; after the last point it is held; before the first
point (when the first day is not 0) the change is 0. A factor not named is not shocked. Example::

    [[scenario]]
    name = "my_crash"
    description = "CEA -30 % in two months, CCER -40 %, no CCER use allowed"
    source = "credit committee, 2025-01"
    offset_cap = 0.0
    [scenario.shocks]
    days = [0, 20, 40]
    CEA = [0.0, -0.15, -0.30]
    CCER = [0.0, -0.20, -0.40]

Every error is a :class:`ScenarioError` with one line naming the file, the scenario and the key.
"""

from __future__ import annotations

import math
import tomllib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from io import StringIO
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from carbonrisk.finance.schedules import trading_days
from carbonrisk.models.data import load_prices
from carbonrisk.models.exceptions import DataGapWarning, InputError
from carbonrisk.models.paths import PathSet

__all__ = [
    "EMBEDDED_FILES",
    "FACTORS",
    "HISTORICAL_WINDOWS",
    "ScenarioError",
    "StressScenario",
    "embedded_scenarios",
    "historical_paths",
    "load_scenarios",
    "scenario_path_set",
    "shock_path_set",
    "uniform_shock",
    "worst_change",
    "write_historical_files",
]

FACTORS: tuple[str, ...] = ("CEA", "CCER")
"""Price factors a scenario may shock (the path-set factor names)."""
EMBEDDED_FILES: tuple[str, ...] = ("historical.toml", "policy.toml")
"""The scenario files shipped in ``finance/data/scenarios``."""
KINDS: tuple[str, ...] = ("historical", "policy", "user")
_FLAGS = ("offset_cap", "issuance_delay_years", "heat_ef_multiplier")
_TOP_KEYS = {"name", "description", "source", "kind", "shocks", "ramp", "csv", *_FLAGS}


class ScenarioError(InputError):
    """A scenario file or definition breaks a documented rule (the message names file, scenario and key)."""


@dataclass(frozen=True)
class StressScenario:
    """One stress scenario: relative shock points per factor and the non-price flags.

    Attributes
    ----------
    name, kind, description, source : str
    days : numpy.ndarray or None
        Trading-day offsets of the shock points (int, strictly increasing, >= 0); None when ``dates`` are given.
    dates : pandas.DatetimeIndex or None
        Calendar dates of the shock points (resolved against the valuation date by :meth:`days_for`).
    shocks : dict of str to numpy.ndarray
        Relative change :math:`r_f` at each point per factor (> -1).
    offset_cap : float or None
        CCER offset limit (share of the obligation); None = unchanged.
    issuance_delay_years : float
        Delay added to CCER issuance (0 = none).
    heat_ef_multiplier : float
        Multiplier of the heat emission factor (1 = none).
    """

    name: str
    kind: str
    description: str
    source: str
    days: np.ndarray | None
    dates: pd.DatetimeIndex | None
    shocks: Mapping[str, np.ndarray] = field(default_factory=dict)
    offset_cap: float | None = None
    issuance_delay_years: float = 0.0
    heat_ef_multiplier: float = 1.0

    @property
    def factors(self) -> tuple[str, ...]:
        """Factors the scenario shocks."""
        return tuple(self.shocks)

    @property
    def has_price_shock(self) -> bool:
        """True when some factor moves."""
        return any(np.any(v != 0.0) for v in self.shocks.values())

    def days_for(self, valuation_date: pd.Timestamp | str) -> np.ndarray:
        """Trading-day offsets of the shock points for a valuation date (``dates`` counted on the SSE calendar)."""
        if self.days is not None:
            return self.days
        assert self.dates is not None
        vd = pd.Timestamp(valuation_date)
        if self.dates[0] <= vd:
            raise ScenarioError(
                f"scenario {self.name!r}: dates[0]={self.dates[0].date()} must be after the valuation date {vd.date()}"
            )
        return _trading_day_offsets(vd, self.dates)

    def relative_level(
        self, factor: str, days: npt.ArrayLike, valuation_date: pd.Timestamp | str | None = None
    ) -> np.ndarray:
        """:math:`1 + r_f(d)` at trading-day offsets ``days`` (log-linear between points, held after the last).

        ``valuation_date`` is needed only for a scenario defined by ``dates``.
        """
        d = np.asarray(days, dtype=float)
        if factor not in self.shocks:
            return np.ones(d.shape)
        if self.days is None and valuation_date is None:
            raise ScenarioError(f"scenario {self.name!r} is defined by dates: pass valuation_date")
        pts = self.days_for(valuation_date if valuation_date is not None else pd.Timestamp(0)).astype(float)
        logs = np.log1p(self.shocks[factor])
        if pts[0] > 0:
            pts = np.concatenate([[0.0], pts])
            logs = np.concatenate([[0.0], logs])
        return np.asarray(np.exp(np.interp(d, pts, logs)))

    def levels_on(
        self, valuation_date: pd.Timestamp | str, dates: Sequence[pd.Timestamp] | pd.DatetimeIndex
    ) -> pd.DataFrame:
        """Relative levels :math:`1 + r_f` on calendar ``dates`` (on or after the valuation date), one column per
        factor in :data:`FACTORS`; multiply by the valuation-date spots to get prices."""
        vd = pd.Timestamp(valuation_date)
        idx = pd.DatetimeIndex(dates)
        if len(idx) and idx.min() < vd:
            raise ScenarioError(f"scenario {self.name!r}: date {idx.min().date()} is before the valuation date")
        offs = _trading_day_offsets(vd, idx) if len(idx) else np.zeros(0, dtype=int)
        return pd.DataFrame({f: self.relative_level(f, offs, vd) for f in FACTORS}, index=idx)

    def path(self, n_days: int | None = None) -> pd.DataFrame:
        """Relative levels on trading days 0 .. ``n_days`` (default: the last shock point), one column per factor
        (for ``days``-defined scenarios)."""
        if self.days is None:
            raise ScenarioError(f"scenario {self.name!r} is defined by dates: use levels_on(valuation_date, dates)")
        last = int(self.days[-1]) if n_days is None else int(n_days)
        d = np.arange(last + 1)
        return pd.DataFrame({f: self.relative_level(f, d) for f in FACTORS}, index=pd.Index(d, name="day"))

    def move(self, factor: str) -> float:
        """Relative change at the last shock point (the scenario's total move), 0 when the factor is not shocked."""
        return float(self.shocks[factor][-1]) if factor in self.shocks else 0.0

    def worst(self, factor: str) -> float:
        """Lowest relative change along the points."""
        return float(np.min(self.shocks[factor])) if factor in self.shocks else 0.0

    def flags(self) -> dict[str, float | None]:
        """The non-price flags."""
        return {
            "offset_cap": self.offset_cap,
            "issuance_delay_years": self.issuance_delay_years,
            "heat_ef_multiplier": self.heat_ef_multiplier,
        }


def _trading_day_offsets(vd: pd.Timestamp, dates: pd.DatetimeIndex) -> np.ndarray:
    """Number of SSE trading days in ``(vd, date]`` for each date."""
    days = trading_days(vd, dates.max(), include_start=False)
    return np.asarray(days.searchsorted(dates, side="right"), dtype=int)


def uniform_shock(shock: float, factors: Sequence[str] = FACTORS, *, name: str | None = None) -> StressScenario:
    """An instantaneous relative shock of every factor in ``factors`` (sensitivity ladders, reverse stress).

    ``uniform_shock(-0.3)`` moves CEA and CCER by -30 % on the valuation date and holds them there; use it inside
    the ``f`` of :func:`carbonrisk.finance.reverse_stress.find_threshold` to find the smallest breaching shock.
    """
    if isinstance(shock, bool) or not isinstance(shock, int | float) or not math.isfinite(shock) or shock <= -1.0:
        raise ScenarioError(f"shock={shock!r} must be a finite relative change > -1")
    for f in factors:
        if f not in FACTORS:
            raise ScenarioError(f"factors: {f!r} is not a factor; factors are {', '.join(FACTORS)}")
    label = name or f"uniform_{shock:+.4g}"
    return StressScenario(
        name=label,
        kind="user",
        description=f"instantaneous {shock:+.2%} of {', '.join(factors)}",
        source="generated",
        days=np.array([0]),
        dates=None,
        shocks={f: np.array([float(shock)]) for f in factors},
    )


def scenario_path_set(
    scenario: StressScenario,
    valuation_date: pd.Timestamp | str,
    spots: Mapping[str, float],
    dates: Sequence[pd.Timestamp] | pd.DatetimeIndex,
    *,
    n_paths: int = 1,
) -> PathSet:
    """The deterministic stressed path set: :math:`S_f(0)(1 + r_f(d))` on ``dates`` for every factor in ``spots``,
    repeated over ``n_paths`` identical columns (factors the scenario does not shock stay at their spot)."""
    if int(n_paths) < 1:
        raise ScenarioError(f"n_paths={n_paths!r} must be >= 1")
    lv = scenario.levels_on(valuation_date, dates)
    idx = pd.DatetimeIndex(dates)
    factors: dict[str, np.ndarray] = {}
    for name, spot in spots.items():
        if not float(spot) > 0:
            raise ScenarioError(f"spots[{name!r}]={spot!r} must be > 0")
        rel = lv[name].to_numpy() if name in lv.columns else np.ones(len(idx))
        factors[name] = np.repeat((float(spot) * rel)[:, None], int(n_paths), axis=1)
    return PathSet(idx, factors, None, {"stress_scenario": scenario.name, "deterministic": True})


def shock_path_set(paths: PathSet, scenario: StressScenario, valuation_date: pd.Timestamp | str) -> PathSet:
    """Monte Carlo around a scenario: every path of each shocked factor multiplied by :math:`1 + r_f(d)` on its
    date (the scenario's move compounded with each path's own move from the valuation date; same random numbers,
    so a run with and without the scenario is a common-random-number comparison)."""
    lv = scenario.levels_on(valuation_date, paths.dates)
    factors = {
        name: (values * lv[name].to_numpy()[:, None] if name in scenario.shocks else values)
        for name, values in paths.factors.items()
    }
    meta = {**dict(paths.meta), "stress_scenario": scenario.name}
    return PathSet(paths.dates, factors, paths.seed_entropy, meta)


# ---------------------------------------------------------------------------------------------------------------
# parsing and validation
# ---------------------------------------------------------------------------------------------------------------


def _err(file: str, scen: str, key: str, msg: str) -> ScenarioError:
    sep = "" if msg.startswith("=") else " "
    return ScenarioError(f"{file}: scenario {scen!r}: {key}{sep}{msg}")


def _number(file: str, scen: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
        raise _err(file, scen, key, f"={value!r} must be a finite number")
    return float(value)


def _changes(file: str, scen: str, key: str, values: Any, n: int | None) -> np.ndarray:
    if not isinstance(values, list) or not values:
        raise _err(file, scen, key, f"={values!r} must be a non-empty array of relative changes")
    arr = np.array([_number(file, scen, key, v) for v in values])
    if n is not None and arr.size != n:
        raise _err(file, scen, key, f"has {arr.size} values; must have {n}, one per day/date")
    if np.any(arr <= -1.0):
        raise _err(file, scen, key, f"={float(arr[arr <= -1][0])!r} must be > -1 (a relative change)")
    return arr


def _days(file: str, scen: str, key: str, values: Any) -> np.ndarray:
    if not isinstance(values, list) or not values:
        raise _err(file, scen, key, f"={values!r} must be a non-empty array of trading-day offsets")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise _err(file, scen, key, f"={v!r} must be an integer >= 0")
    arr = np.asarray(values, dtype=int)
    if np.any(np.diff(arr) <= 0):
        raise _err(file, scen, key, f"={values!r} must be strictly increasing")
    return arr


def _dates(file: str, scen: str, key: str, values: Any) -> pd.DatetimeIndex:
    if not isinstance(values, list) or not values:
        raise _err(file, scen, key, f"={values!r} must be a non-empty array of ISO dates")
    try:
        idx = pd.DatetimeIndex([pd.Timestamp(str(v)) for v in values])
    except (ValueError, TypeError):
        raise _err(file, scen, key, f"={values!r} must hold ISO dates (YYYY-MM-DD)") from None
    if not idx.is_monotonic_increasing or idx.has_duplicates:
        raise _err(file, scen, key, f"={values!r} must be strictly increasing")
    return idx


def _factor_keys(file: str, scen: str, block: str, table: Mapping[str, Any], skip: set[str]) -> list[str]:
    names = [k for k in table if k not in skip]
    for k in names:
        if k not in FACTORS:
            raise _err(file, scen, f"{block}.{k}", f"is not a factor; factors are {', '.join(FACTORS)}")
    if not names:
        raise _err(file, scen, block, f"names no factor; give at least one of {', '.join(FACTORS)}")
    return names


def _parse_shocks(file: str, scen: str, table: Any) -> tuple[np.ndarray | None, pd.DatetimeIndex | None, dict]:
    if not isinstance(table, dict):
        raise _err(file, scen, "shocks", "must be a table")
    has_days, has_dates = "days" in table, "dates" in table
    if has_days == has_dates:
        raise _err(file, scen, "shocks", "must have exactly one of days, dates")
    days = _days(file, scen, "shocks.days", table["days"]) if has_days else None
    dates = _dates(file, scen, "shocks.dates", table["dates"]) if has_dates else None
    n = days.size if days is not None else len(dates) if dates is not None else 0
    names = _factor_keys(file, scen, "shocks", table, {"days", "dates"})
    return days, dates, {k: _changes(file, scen, f"shocks.{k}", table[k], n) for k in names}


def _parse_ramp(file: str, scen: str, table: Any) -> tuple[np.ndarray, dict]:
    if not isinstance(table, dict):
        raise _err(file, scen, "ramp", "must be a table")
    if "over_days" not in table:
        raise _err(file, scen, "ramp.over_days", "is missing")
    over = table["over_days"]
    if isinstance(over, bool) or not isinstance(over, int) or over < 0:
        raise _err(file, scen, "ramp.over_days", f"={over!r} must be an integer >= 0")
    names = _factor_keys(file, scen, "ramp", table, {"over_days"})
    moves = {k: _number(file, scen, f"ramp.{k}", table[k]) for k in names}
    for k, v in moves.items():
        if v <= -1.0:
            raise _err(file, scen, f"ramp.{k}", f"={v!r} must be > -1 (a relative change)")
    if over == 0:
        return np.array([0]), {k: np.array([v]) for k, v in moves.items()}
    return np.array([0, over]), {k: np.array([0.0, v]) for k, v in moves.items()}


def _parse_csv(
    file: str, scen: str, value: Any, base: Path | None
) -> tuple[np.ndarray | None, pd.DatetimeIndex | None, dict]:
    if not isinstance(value, str) or not value:
        raise _err(file, scen, "csv", f"={value!r} must be a file path")
    path = Path(value)
    if not path.is_absolute() and base is not None:
        path = base / path
    try:
        if base is None:  # embedded: read the package resource
            text = (
                resources.files("carbonrisk.finance").joinpath("data", "scenarios", value).read_text(encoding="utf-8")
            )
            frame = pd.read_csv(StringIO(text))
        else:
            frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise _err(file, scen, "csv", f"={value!r} cannot be read ({type(exc).__name__})") from None
    cols = list(frame.columns)
    table: dict[str, Any] = {}
    if "day" in cols:
        table["days"] = [int(v) if float(v).is_integer() else v for v in frame["day"].tolist()]
    elif "date" in cols:
        table["dates"] = frame["date"].astype(str).tolist()
    else:
        raise _err(file, scen, "csv", f"={value!r} must have a 'day' or 'date' column")
    for c in cols:
        if c in ("day", "date") or c.startswith("source_"):
            continue
        table[c] = frame[c].tolist()
    return _parse_shocks(file, scen, table)


def _parse_one(file: str, raw: Any, i: int, base: Path | None) -> StressScenario:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{file}: scenario #{i + 1} must be a table")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(f"{file}: scenario #{i + 1}: name={name!r} must be a non-empty string")
    for key in raw:
        if key not in _TOP_KEYS:
            raise _err(file, name, key, f"is not a scenario key; keys are {', '.join(sorted(_TOP_KEYS))}")
    kind = raw.get("kind", "user")
    if kind not in KINDS:
        raise _err(file, name, "kind", f"={kind!r} must be one of {', '.join(KINDS)}")
    for key in ("description", "source"):
        if key in raw and not isinstance(raw[key], str):
            raise _err(file, name, key, f"={raw[key]!r} must be a string")
    blocks = [k for k in ("shocks", "ramp", "csv") if k in raw]
    if len(blocks) > 1:
        raise _err(file, name, "/".join(blocks), "are alternatives; give at most one")
    days: np.ndarray | None = np.array([0])
    dates: pd.DatetimeIndex | None = None
    shocks: dict[str, np.ndarray] = {}
    if blocks == ["shocks"]:
        days, dates, shocks = _parse_shocks(file, name, raw["shocks"])
    elif blocks == ["ramp"]:
        days, shocks = _parse_ramp(file, name, raw["ramp"])
    elif blocks == ["csv"]:
        days, dates, shocks = _parse_csv(file, name, raw["csv"], base)
    cap = None
    if "offset_cap" in raw:
        cap = _number(file, name, "offset_cap", raw["offset_cap"])
        if not 0.0 <= cap <= 1.0:
            raise _err(file, name, "offset_cap", f"={cap!r} must lie in [0, 1]")
    delay = _number(file, name, "issuance_delay_years", raw.get("issuance_delay_years", 0.0))
    if delay < 0:
        raise _err(file, name, "issuance_delay_years", f"={delay!r} must be >= 0")
    ef = _number(file, name, "heat_ef_multiplier", raw.get("heat_ef_multiplier", 1.0))
    if ef <= 0:
        raise _err(file, name, "heat_ef_multiplier", f"={ef!r} must be > 0")
    if not shocks and cap is None and delay == 0.0 and ef == 1.0:
        raise _err(file, name, "shocks/ramp/csv", "missing: the scenario shocks nothing")
    return StressScenario(
        name=name,
        kind=kind,
        description=str(raw.get("description", "")),
        source=str(raw.get("source", "")),
        days=days if dates is None else None,
        dates=dates,
        shocks=shocks,
        offset_cap=cap,
        issuance_delay_years=delay,
        heat_ef_multiplier=ef,
    )


def _parse_document(file: str, data: Mapping[str, Any], base: Path | None) -> dict[str, StressScenario]:
    extra = [k for k in data if k != "scenario"]
    if extra:
        raise ScenarioError(f"{file}: top-level key {extra[0]!r} is not allowed; use [[scenario]] tables")
    raws = data.get("scenario")
    if not isinstance(raws, list) or not raws:
        raise ScenarioError(f"{file}: must hold at least one [[scenario]] table")
    out: dict[str, StressScenario] = {}
    for i, raw in enumerate(raws):
        sc = _parse_one(file, raw, i, base)
        if sc.name in out:
            raise _err(file, sc.name, "name", "is used twice")
        out[sc.name] = sc
    return out


def embedded_scenarios(kind: Literal["historical", "policy"] | None = None) -> dict[str, StressScenario]:
    """The shipped scenarios by name (``kind`` selects the historical or the policy file)."""
    out: dict[str, StressScenario] = {}
    for fname in EMBEDDED_FILES:
        if kind is not None and not fname.startswith(kind):
            continue
        text = resources.files("carbonrisk.finance").joinpath("data", "scenarios", fname).read_text(encoding="utf-8")
        out.update(_parse_document(fname, tomllib.loads(text), None))
    return out


def load_scenarios(path: str | Path | None = None) -> dict[str, StressScenario]:
    """Scenarios by name: the embedded ones (``path=None``) or those of a user TOML file.

    Raises
    ------
    ScenarioError
        Unreadable file, bad TOML, or a scenario breaking a rule of the module's file format (one line naming
        file, scenario and key).
    """
    if path is None:
        return embedded_scenarios()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{p}: cannot be read ({type(exc).__name__})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{p}: not valid TOML ({exc})") from None
    return _parse_document(str(p), data, p.parent)


# ---------------------------------------------------------------------------------------------------------------
# historical scenarios from the shipped price histories (generator of the checked-in CSV files)
# ---------------------------------------------------------------------------------------------------------------

HISTORICAL_WINDOWS: dict[str, tuple[str, str | None, str | None]] = {
    "cea_launch_drawdown": ("cea", "2021-08-04", "2021-12-08"),
    "cea_worst_1y": ("cea", None, None),
    "hbea_worst_1y": ("hbea", None, None),
}
"""Historical scenarios generated from ``carbonrisk.models.data.load_prices``: dataset, window start and end (None = the
worst 365-calendar-day change, :func:`worst_change`). The CEA launch window runs from the highest close of the first
five months of trading (58.70 CNY/t, 2021-08-04) to the lowest (41.46 CNY/t, 2021-12-08)."""


def _history(name: str) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataGapWarning)
        return load_prices(name).prices


def worst_change(prices: pd.Series, calendar_days: int = 365) -> tuple[pd.Timestamp, pd.Timestamp, float]:
    """Start, end and size of the worst relative change over ``calendar_days`` in a daily price series.

    For every observation date :math:`t` with :math:`t + \\text{calendar\\_days}` inside the series, the end is the
    last observation on or before :math:`t + \\text{calendar\\_days}`; the worst change is
    :math:`\\min_t S_{end(t)}/S_t - 1` (the first such window on ties).
    """
    idx = pd.DatetimeIndex(prices.index)
    target = idx + pd.Timedelta(days=calendar_days)
    ok = np.asarray(target <= idx[-1])
    if not ok.any():
        raise InputError(f"prices span {(idx[-1] - idx[0]).days} days; must span more than {calendar_days}")
    end = idx.searchsorted(target, side="right") - 1
    vals = prices.to_numpy(dtype=float)
    change = np.where(ok, vals[end] / vals - 1.0, np.inf)
    i = int(np.argmin(change))
    return idx[i], idx[end[i]], float(change[i])


def historical_paths() -> dict[str, pd.DataFrame]:
    """The generated historical scenario paths: per scenario a frame with ``day`` (trading-day offset),
    ``source_date``, ``source_close``, ``CEA`` and ``CCER`` (relative change from the window's first close)."""
    out: dict[str, pd.DataFrame] = {}
    for name, (dataset, start, end) in HISTORICAL_WINDOWS.items():
        s = _history(dataset)
        if start is None or end is None:
            t0, t1, _ = worst_change(s)
        else:
            t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
        window = s.loc[t0:t1]
        rel = window.to_numpy() / float(window.iloc[0]) - 1.0
        out[name] = pd.DataFrame(
            {
                "day": np.arange(len(window)),
                "source_date": window.index.strftime("%Y-%m-%d"),
                "source_close": window.to_numpy(),
                "CEA": rel,
                "CCER": rel,
            }
        )
    return out


def write_historical_files(folder: str | Path | None = None) -> list[Path]:
    """Write :func:`historical_paths` as ``<name>.csv`` into ``folder`` (default: the package's scenario folder).

    Run ``python -m carbonrisk.finance.stress_scenarios`` after changing a shipped price history; the tests fail until
    the checked-in files match.
    """
    target = Path(folder) if folder is not None else Path(__file__).parent / "data" / "scenarios"
    written = []
    for name, frame in historical_paths().items():
        path = target / f"{name}.csv"
        frame.to_csv(path, index=False, float_format="%.12g", lineterminator="\n")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    write_historical_files()
