"""Project risk per Monte Carlo path, for one project or a portfolio with correlated weather.

Per path (all draws from :func:`carbonrisk.models.random.iter_blocks`, so a seed gives the same numbers whatever the
chunking):

* drilling (doc 000, section 3: exploration failure and insufficient well capacity are the early, concentrated
  risks): each production well fails (dry or under-performing) with probability ``q``; every failed well is
  re-drilled once at ``redrill_cost_cny`` and the round adds ``redrill_months`` of start-up delay (of which the
  first ``schedule_slack_months`` are absorbed before the first heating season); a re-drill that
  fails too leaves ``failed_well_capacity`` of that well's flow;
* capex overrun: lognormal multiplier (median, log-sd);
* plant availability: Beta per year;
* weather: one synthetic season per path and year (:mod:`carbonrisk.models.geothermal.weather`), correlated across the
  projects of a portfolio; the season's demand scales with its heating degree-hours relative to the project's reference
  (typical) season.

Heat, electricity and reductions per operating year follow :mod:`carbonrisk.models.geothermal.cascade` and
:mod:`carbonrisk.models.geothermal.emission_factors`; credits by issuance year follow the project's
:class:`~carbonrisk.models.geothermal.issuance.IssuanceSchedule`. ``deterministic=True`` switches every risk off (no
failure, no overrun, availability 1, the reference season every year) and reproduces :func:`run_project` exactly.

Block draw order (part of the reproducibility contract): first-round well uniforms ``(P, n, W)``, re-drill
uniforms ``(P, n, W)``, capex normals ``(P, n)``, then for each year: availability ``(P, n)``, daily weather
shocks ``(P, n, D)``, hourly shocks ``(P, n, 24 D)`` (P projects, W the most wells, D the longest season).
The weather shocks, most of a block's random numbers, come from :func:`carbonrisk.models.sampler.standard_normal` (raw
words through the normal quantile table, 3.5x numpy's normal sampler).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
from scipy.stats import beta

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.geothermal.cascade import season_totals, simulate_season, totals_from_sums
from carbonrisk.models.geothermal.issuance import IssuanceSchedule
from carbonrisk.models.geothermal.project import Project, daily_heat_weights
from carbonrisk.models.geothermal.season_paths import PLANT_FIELDS, WEATHER_FIELDS, season_sums
from carbonrisk.models.geothermal.weather import HOURS_PER_DAY, temperature_cycle_c
from carbonrisk.models.random import RngLike, iter_blocks, root_seed_sequence
from carbonrisk.models.sampler import standard_normal

__all__ = [
    "EARTH_RADIUS_KM",
    "PortfolioPaths",
    "ProjectPaths",
    "distance_correlation",
    "simulate_portfolio",
    "simulate_project",
]

EARTH_RADIUS_KM: float = 6371.0
DAYS_PER_MONTH: float = 365.25 / 12.0
DEFAULT_CORRELATION_LENGTH_KM: float = 800.0
"""Assumption: daily temperature anomalies decorrelate over ~800 km (synoptic scale of winter cold waves)."""


@dataclass(frozen=True)
class ProjectPaths:
    """Per-path outputs of one project (the object the portfolio engine consumes).

    Attributes
    ----------
    name : str
    years : numpy.ndarray
        Calendar years of the rows: ``start_year - 1`` (construction, capex) to the last operating or issuance year.
    operating_years : numpy.ndarray
        Years with a heating season (``years[1:1 + life]``).
    heat_mwh, electricity_mwh, reductions_t : numpy.ndarray
        ``(n_years, n_paths)``; zero outside operating years; reductions may be negative only if EF data make them.
    credits_issued_t : numpy.ndarray
        ``(n_years, n_paths)``: credits issued in each calendar year.
    credits_by_vintage_t : numpy.ndarray
        ``(n_years, n_vintages, n_paths)``: the same split by vintage (``vintages``).
    vintages : numpy.ndarray
    capex_cny, opex_cny : numpy.ndarray
        ``(n_years, n_paths)`` cash outflows (capex incl. re-drills in the construction year).
    startup_delay_months : numpy.ndarray
        ``(n_paths,)``.
    failed_wells, capacity_factor, capex_multiplier : numpy.ndarray
        ``(n_paths,)``: first-round failed wells, share of rated flow available, capex overrun multiplier.
    deterministic : bool
    seed_entropy : int or None
        Entropy of the root seed (to repeat the run).
    """

    name: str
    years: np.ndarray
    operating_years: np.ndarray
    heat_mwh: np.ndarray
    electricity_mwh: np.ndarray
    reductions_t: np.ndarray
    credits_issued_t: np.ndarray
    credits_by_vintage_t: np.ndarray
    vintages: np.ndarray
    capex_cny: np.ndarray
    opex_cny: np.ndarray
    startup_delay_months: np.ndarray
    failed_wells: np.ndarray
    capacity_factor: np.ndarray
    capex_multiplier: np.ndarray
    deterministic: bool
    seed_entropy: int | None

    @property
    def n_paths(self) -> int:
        """Number of paths."""
        return int(self.heat_mwh.shape[1])

    def quantiles(self, field: str, q: tuple[float, ...] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
        """Quantiles per year of one ``(n_years, n_paths)`` field."""
        values = np.asarray(getattr(self, field))
        if values.ndim != 2:
            raise InputError(f"field={field!r} is not a (years, paths) array")
        return pd.DataFrame(
            np.quantile(values, q, axis=1).T, index=pd.Index(self.years, name="year"), columns=[f"q{x:g}" for x in q]
        )

    def to_frame(self) -> pd.DataFrame:
        """Mean per year of every yearly field."""
        data = {
            f: np.asarray(getattr(self, f)).mean(axis=1)
            for f in ("heat_mwh", "electricity_mwh", "reductions_t", "credits_issued_t", "capex_cny", "opex_cny")
        }
        return pd.DataFrame(data, index=pd.Index(self.years, name="year"))


@dataclass(frozen=True)
class PortfolioPaths:
    """Per-project paths and their totals on a common calendar.

    Attributes
    ----------
    projects : list of ProjectPaths
    years : numpy.ndarray
        Union of the projects' years.
    totals : dict of str to numpy.ndarray
        ``heat_mwh``, ``electricity_mwh``, ``reductions_t``, ``credits_issued_t``, ``capex_cny``, ``opex_cny``,
        each ``(n_years, n_paths)``, summed over projects.
    correlation : numpy.ndarray
        Weather-shock correlation matrix used.
    """

    projects: list[ProjectPaths]
    years: np.ndarray
    totals: dict[str, np.ndarray]
    correlation: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """Mean per year of the totals."""
        return pd.DataFrame(
            {k: v.mean(axis=1) for k, v in self.totals.items()}, index=pd.Index(self.years, name="year")
        )


def distance_correlation(
    latitudes: list[float] | np.ndarray,
    longitudes: list[float] | np.ndarray,
    length_km: float = DEFAULT_CORRELATION_LENGTH_KM,
) -> np.ndarray:
    """Weather correlation ``exp(-d_ij / L)`` from great-circle distances (positive definite for any sites)."""
    if not np.isfinite(length_km) or length_km <= 0:
        raise InputError(f"length_km={length_km!r} must be > 0")
    lat = np.radians(np.asarray(latitudes, dtype=float))
    lon = np.radians(np.asarray(longitudes, dtype=float))
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
    d = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return np.asarray(np.exp(-d / length_km), dtype=float)


def _cholesky(correlation: np.ndarray, n: int) -> np.ndarray:
    c = np.asarray(correlation, dtype=float)
    if c.shape != (n, n):
        raise InputError(f"correlation matrix shape {c.shape} must be ({n}, {n}) for {n} projects")
    if not np.allclose(c, c.T) or not np.allclose(np.diag(c), 1.0) or np.any(np.abs(c) > 1.0):
        raise InputError("correlation matrix must be symmetric with unit diagonal and entries in [-1, 1]")
    try:
        return np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        raise InputError("correlation matrix must be positive definite") from None


def _calendar(project: Project, schedule: IssuanceSchedule) -> np.ndarray:
    last_issue = int(pd.Timestamp(schedule.periods["issue_date"].max()).year) if len(schedule.periods) else 0
    last = max(int(project.years[-1]), last_issue)
    return np.arange(int(project.start_year) - 1, last + 1)


def simulate_portfolio(
    projects: list[Project],
    n_paths: int,
    rng: RngLike = None,
    *,
    correlation: np.ndarray | None = None,
    deterministic: bool = False,
    blocks: tuple[int, int] | None = None,
) -> PortfolioPaths:
    """Simulate several projects path by path with weather correlated across projects.

    Parameters
    ----------
    projects : list of Project
    n_paths : int
        Paths of the whole run.
    rng : int, numpy.random.Generator or None
        Seed of the run (see :mod:`carbonrisk.models.random`).
    correlation : numpy.ndarray, optional
        Correlation of the weather shocks between projects; default :func:`distance_correlation` of their sites.
    deterministic : bool
        Switch every risk off (see the module docstring).
    blocks : (int, int), optional
        Compute only random blocks ``first:last`` (a worker's share); the arrays then hold those blocks' paths.

    Notes
    -----
    Weather shocks :math:`Z` of the projects are mixed as :math:`L Z` with :math:`LL^T = C`.
    """
    if not projects:
        raise InputError("projects=[] must hold at least one project")
    n_proj = len(projects)
    corr = (
        distance_correlation([p.latitude for p in projects], [p.longitude for p in projects])
        if correlation is None
        else np.asarray(correlation, dtype=float)
    )
    chol = _cholesky(corr, n_proj)
    root = root_seed_sequence(rng if not deterministic else 0)
    entropy = None if deterministic else int(root.entropy) if isinstance(root.entropy, int) else None
    block_list = list(
        iter_blocks(n_paths, root, **({} if blocks is None else {"first_block": blocks[0], "last_block": blocks[1]}))
    )
    if not block_list:
        raise InputError(f"blocks={blocks!r} select no block of a run of {n_paths} paths")
    col0 = block_list[0].start
    width = block_list[-1].stop - col0

    schedules, calendars, refs, trajectories, reference_temps = [], [], [], [], []
    for p in projects:
        ref = p.weather()
        reference = simulate_season(p.plant, ref)
        sched = IssuanceSchedule.build(
            p.issuance, p.years, p.season_start, p.plant.season_days, daily_heat_weights(reference)
        )
        schedules.append(sched)
        calendars.append(_calendar(p, sched))
        reference_temps.append(ref.to_numpy(dtype=float))
        refs.append(float(reference.summary["degree_hours"]))
        trajectories.append(p.trajectory())
    max_wells = max(int(p.plant.production_wells) for p in projects)
    max_days = max(int(p.plant.season_days) for p in projects)
    max_life = max(int(p.life_years) for p in projects)

    out: list[dict[str, np.ndarray]] = []
    for sched, cal in zip(schedules, calendars, strict=True):
        ny = cal.size
        out.append(
            {
                "heat_mwh": np.zeros((ny, width)),
                "electricity_mwh": np.zeros((ny, width)),
                "reductions_t": np.zeros((ny, width)),
                "credits_issued_t": np.zeros((ny, width)),
                "credits_by_vintage_t": np.zeros((ny, sched.vintages.size, width)),
                "capex_cny": np.zeros((ny, width)),
                "opex_cny": np.zeros((ny, width)),
                "startup_delay_months": np.zeros(width),
                "failed_wells": np.zeros(width),
                "capacity_factor": np.ones(width),
                "capex_multiplier": np.ones(width),
            }
        )

    for block in block_list:
        g, n = block.rng, block.size
        cols = slice(block.start - col0, block.stop - col0)
        u1 = g.random((n_proj, n, max_wells))
        u2 = g.random((n_proj, n, max_wells))
        z_capex = g.standard_normal((n_proj, n))
        op_heat = [np.zeros((p.life_years, n)) for p in projects]
        op_elec = [np.zeros((p.life_years, n)) for p in projects]
        cfs = []
        delays = []
        for i, p in enumerate(projects):
            r = p.risk
            w = int(p.plant.production_wells)
            if deterministic:
                f1 = np.zeros((n, w), dtype=bool)
                f2 = np.zeros((n, w), dtype=bool)
                mult = np.ones(n)
            else:
                f1 = u1[i, :, :w] < r.well_failure_probability
                f2 = f1 & (u2[i, :, :w] < r.well_failure_probability)
                mult = r.capex_overrun_median * np.exp(r.capex_overrun_sigma * z_capex[i])
            n_fail = f1.sum(axis=1)
            cf = 1.0 - f2.sum(axis=1) * (1.0 - r.failed_well_capacity) / w
            delay = np.where(n_fail > 0, float(r.redrill_months), 0.0)
            cfs.append(cf)
            delays.append(delay)
            o = out[i]
            o["startup_delay_months"][cols] = delay
            o["failed_wells"][cols] = n_fail
            o["capacity_factor"][cols] = cf
            o["capex_multiplier"][cols] = mult
            o["capex_cny"][0, cols] = p.finance.capex_cny * mult + n_fail * r.redrill_cost_cny
        z_day = np.empty((n_proj, n, max_days))
        cf_paths = np.stack(cfs)
        for k in range(max_life):
            u_avail = g.random((n_proj, n))
            if not deterministic:
                standard_normal(g, z_day.shape, out=z_day)
                if n_proj > 1:
                    _mix_in_place(chol, z_day)
                sums = season_sums(g, chol, z_day, *_year_inputs(projects, k, max_days, refs), cf_paths)
            for i, p in enumerate(projects):
                if k >= p.life_years:
                    continue
                if deterministic:
                    temps = np.broadcast_to(reference_temps[i][:, None], (reference_temps[i].size, n))
                    season_out = season_totals(p.plant, temps, capacity_factor=cfs[i])
                    avail = np.ones(n)
                else:
                    season_out = totals_from_sums(p.plant, int(p.plant.season_days) * HOURS_PER_DAY, cfs[i], sums[i])
                    avail = _availability(u_avail[i], p.risk.availability_mean, p.risk.availability_sd)
                frac = _operated_fraction(p, k, delays[i])
                op_heat[i][k] = season_out.heat_mwh * avail * frac
                op_elec[i][k] = season_out.electricity_mwh * avail * frac
        for i, p in enumerate(projects):
            o, cal, sched = out[i], calendars[i], schedules[i]
            rows = slice(1, 1 + p.life_years)
            power, heat_ef = trajectories[i].at(p.years)
            red = op_heat[i] * heat_ef[:, None] - op_elec[i] * power[:, None]
            o["heat_mwh"][rows, cols] = op_heat[i]
            o["electricity_mwh"][rows, cols] = op_elec[i]
            o["reductions_t"][rows, cols] = red
            f = p.finance
            o["opex_cny"][rows, cols] = (
                op_elec[i] * f.electricity_price_cny_per_mwh + op_heat[i] * f.fixed_opex_cny_per_mwh_heat
            )
            o["credits_issued_t"][:, cols] = sched.credits_by_issue_year(red, cal)
            o["credits_by_vintage_t"][:, :, cols] = sched.credits_by_issue_and_vintage(red, cal)

    results = [
        ProjectPaths(
            name=p.name,
            years=cal,
            operating_years=p.years,
            vintages=sched.vintages,
            deterministic=deterministic,
            seed_entropy=entropy,
            **o,
        )
        for p, cal, sched, o in zip(projects, calendars, schedules, out, strict=True)
    ]
    all_years = np.arange(min(int(c[0]) for c in calendars), max(int(c[-1]) for c in calendars) + 1)
    totals: dict[str, np.ndarray] = {}
    for key in ("heat_mwh", "electricity_mwh", "reductions_t", "credits_issued_t", "capex_cny", "opex_cny"):
        total = np.zeros((all_years.size, width))
        for res in results:
            offset = int(res.years[0] - all_years[0])
            total[offset : offset + res.years.size] += getattr(res, key)
        totals[key] = total
    return PortfolioPaths(projects=results, years=all_years, totals=totals, correlation=corr)


def _year_inputs(
    projects: list[Project], k: int, max_days: int, reference_degree_hours: list[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-project inputs of :func:`~carbonrisk.models.geothermal.season_paths.season_sums` for operating year ``k``:
    temperature cycle ``(P, 24 max_days)``, season hours (0 when the project no longer operates), weather and
    plant parameters."""
    n_proj = len(projects)
    base = np.zeros((n_proj, max_days * HOURS_PER_DAY))
    hours = np.zeros(n_proj, dtype=np.int64)
    weather = np.zeros((n_proj, len(WEATHER_FIELDS)))
    plant = np.zeros((n_proj, len(PLANT_FIELDS)))
    for i, p in enumerate(projects):
        if k >= p.life_years:
            continue
        season = p.plant.season.shifted_to(int(p.years[k]))
        hours[i] = season.hours
        base[i, : season.hours] = temperature_cycle_c(season, p.weather_params)
        weather[i] = [getattr(p.weather_params, f) for f in WEATHER_FIELDS]
        plant[i] = [
            reference_degree_hours[i] if f == "reference_degree_hours" else getattr(p.plant, f) for f in PLANT_FIELDS
        ]
    return base, hours, weather, plant


@numba.njit(cache=True, parallel=True)
def _mix_in_place(chol: np.ndarray, z: np.ndarray) -> None:  # pragma: no cover - compiled
    """``z[i] <- sum_{j <= i} L[i, j] z[j]`` for the lower-triangular Cholesky factor ``L`` (in place, last row
    first); each element's sum runs over ``j`` in order, so the result does not depend on the thread count."""
    n_proj, n, m = z.shape
    for p in numba.prange(n):
        for d in range(m):
            for i in range(n_proj - 1, -1, -1):
                acc = 0.0
                for j in range(i + 1):
                    acc += chol[i, j] * z[j, p, d]
                z[i, p, d] = acc


def _operated_fraction(project: Project, k: int, delay_months: np.ndarray) -> np.ndarray:
    """Share of season ``k`` operated when start-up is delayed (a long delay eats into later seasons too)."""
    days = int(project.plant.season_days)
    s_first = project.plant.season.shifted_to(int(project.years[0])).start
    s_k = project.plant.season.shifted_to(int(project.years[k])).start
    offset_days = (s_k - s_first).days
    late = np.maximum(delay_months - project.risk.schedule_slack_months, 0.0)
    lost = np.clip(late * DAYS_PER_MONTH - offset_days, 0.0, days)
    return np.asarray(1.0 - lost / days, dtype=float)


def _availability(u: np.ndarray, mean: float, sd: float) -> np.ndarray:
    """Availability from uniforms ``u``: quantiles of the Beta with this mean and sd (the mean when sd = 0)."""
    if sd == 0.0:
        return np.full(u.shape, float(mean))
    common = mean * (1.0 - mean) / sd**2 - 1.0
    return np.asarray(beta.ppf(u, mean * common, (1.0 - mean) * common), dtype=float)


def simulate_project(
    project: Project,
    n_paths: int,
    rng: RngLike = None,
    *,
    deterministic: bool = False,
    blocks: tuple[int, int] | None = None,
) -> ProjectPaths:
    """Per-path outputs of one project (a portfolio of one); see :func:`simulate_portfolio`."""
    return simulate_portfolio(
        [project], n_paths, rng, correlation=np.ones((1, 1)), deterministic=deterministic, blocks=blocks
    ).projects[0]
