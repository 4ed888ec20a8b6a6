"""Geothermal heating projects: AM0072 reductions, hourly cascade plant, emission-factor trajectories, CCER
issuance, project risk per Monte Carlo path and portfolios of projects (issue 4).

Sources: document 000 (AM0072 / CM-022-V01, Table 1) and document 001 (Hebei cascade case, dynamic emission
factors), digested in DOMAIN.md sections 2-3. Data files: ``models/data/geothermal/`` (README there).
"""

from carbonrisk.models.geothermal.cascade import (
    PlantParameters,
    SeasonResult,
    SeasonTotals,
    load_plant,
    season_totals,
    simulate_season,
)
from carbonrisk.models.geothermal.emission_factors import (
    EF_FORMS,
    EmissionFactorTrajectory,
    annual_reductions,
    emission_factor_trajectory,
    load_ef_csv,
)
from carbonrisk.models.geothermal.issuance import IssuanceParameters, IssuanceResult, IssuanceSchedule, issue_credits
from carbonrisk.models.geothermal.methodology import (
    HeatingTechnology,
    MethodologyResult,
    Table1Result,
    compute_reductions,
    table1,
)
from carbonrisk.models.geothermal.portfolio import basin_portfolio, load_basin_sites
from carbonrisk.models.geothermal.project import (
    FinanceParameters,
    Project,
    ProjectResult,
    RiskParameters,
    hebei_project,
    load_project,
    run_project,
)
from carbonrisk.models.geothermal.risk import (
    PortfolioPaths,
    ProjectPaths,
    distance_correlation,
    simulate_portfolio,
    simulate_project,
)
from carbonrisk.models.geothermal.weather import (
    HeatingSeason,
    WeatherParameters,
    load_temperature_csv,
    load_weather_parameters,
    simulate_temperatures,
    temperatures_from_shocks,
    typical_year,
)

__all__ = [
    "EF_FORMS",
    "EmissionFactorTrajectory",
    "FinanceParameters",
    "HeatingSeason",
    "HeatingTechnology",
    "IssuanceParameters",
    "IssuanceResult",
    "IssuanceSchedule",
    "MethodologyResult",
    "PlantParameters",
    "PortfolioPaths",
    "Project",
    "ProjectPaths",
    "ProjectResult",
    "RiskParameters",
    "SeasonResult",
    "SeasonTotals",
    "Table1Result",
    "WeatherParameters",
    "annual_reductions",
    "basin_portfolio",
    "compute_reductions",
    "distance_correlation",
    "emission_factor_trajectory",
    "hebei_project",
    "issue_credits",
    "load_basin_sites",
    "load_ef_csv",
    "load_plant",
    "load_project",
    "load_temperature_csv",
    "load_weather_parameters",
    "run_project",
    "season_totals",
    "simulate_portfolio",
    "simulate_project",
    "simulate_season",
    "simulate_temperatures",
    "table1",
    "temperatures_from_shocks",
    "typical_year",
]
