"""Portfolios of geothermal projects: one project per basin of Table 1 (doc 000), or any list of projects.

The per-path engine is :func:`carbonrisk.models.geothermal.risk.simulate_portfolio`; this module builds the projects.
Basin sites (``models/data/geothermal/basin_sites.csv``) are assumptions: an approximate centre of each basin and
a rounded annual mean temperature of a representative city; the rest of the weather model (seasonal and diurnal
amplitudes, noise) is the north-China one, a stated simplification.
"""

from __future__ import annotations

from dataclasses import replace
from importlib import resources

import pandas as pd

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.geothermal.project import Project, load_project

__all__ = ["basin_portfolio", "load_basin_sites"]


def load_basin_sites() -> pd.DataFrame:
    """Basin, latitude, longitude and mean temperature (C) of the 12 basins of Table 1."""
    resource = resources.files("carbonrisk.models").joinpath("data").joinpath("geothermal").joinpath("basin_sites.csv")
    with resources.as_file(resource) as path:
        return pd.read_csv(path)


def basin_portfolio(
    *,
    base: Project | None = None,
    start_years: dict[str, int] | int = 2026,
    basins: list[str] | None = None,
    area_m2: float | None = None,
) -> list[Project]:
    """One project per basin, each the ``base`` project (default: the Hebei case) moved to the basin's site.

    Parameters
    ----------
    base : Project, optional
        Template project (plant, finance, risk, pipeline); default :func:`load_project` (Hebei case).
    start_years : int or dict
        First operating year of every project, or per basin name.
    basins : list of str, optional
        Subset of basin names (default all 12).
    area_m2 : float, optional
        Heated area of each project (scales demand; the well field is scaled in proportion, rounded up).
    """
    template = base if base is not None else load_project(None)
    sites = load_basin_sites()
    if basins is not None:
        unknown = sorted(set(basins) - set(sites["basin"]))
        if unknown:
            raise InputError(f"basins={unknown} unknown; known: {sites['basin'].tolist()}")
        sites = sites[sites["basin"].isin(basins)]
    projects = []
    for row in sites.itertuples(index=False):
        start = start_years if isinstance(start_years, int) else int(start_years.get(str(row.basin), 2026))
        plant = template.plant
        if area_m2 is not None:
            if area_m2 <= 0:
                raise InputError(f"area_m2={area_m2!r} must be > 0")
            ratio = float(area_m2) / plant.area_m2
            wells = max(1, int(-(-plant.production_wells * ratio // 1)))
            plant = plant.with_overrides(
                area_m2=float(area_m2),
                production_wells=wells,
                hp_electric_mw=plant.hp_electric_mw * ratio,
                aux_base_mw=plant.aux_base_mw * ratio,
                aux_hp_mw=plant.aux_hp_mw * ratio,
            )
        shift = pd.DateOffset(years=start - template.start_year)
        issuance = replace(
            template.issuance,
            project_start=template.issuance.project_start + shift,
            registration_date=(
                None if template.issuance.registration_date is None else template.issuance.registration_date + shift
            ),
        )
        projects.append(
            replace(
                template,
                name=str(row.basin),
                plant=plant,
                start_year=start,
                issuance=issuance,
                weather_params=replace(template.weather_params, mean_c=float(row.mean_c)),
                weather_csv=None,
                latitude=float(row.latitude),
                longitude=float(row.longitude),
            )
        )
    return projects
