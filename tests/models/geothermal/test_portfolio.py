"""Basin portfolios: one project per Table-1 basin, scaling to a stated project size."""

from __future__ import annotations

import pytest

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.geothermal.methodology import load_table1
from carbonrisk.models.geothermal.portfolio import basin_portfolio


def test_one_project_per_basin_with_staggered_starts() -> None:
    projects = basin_portfolio(start_years={"Sichuan Basin": 2030})
    assert [p.name for p in projects] == load_table1()["basin"].tolist()
    sichuan = next(p for p in projects if p.name == "Sichuan Basin")
    assert sichuan.start_year == 2030 and sichuan.issuance.registration.year == 2034
    assert {p.start_year for p in projects if p.name != "Sichuan Basin"} == {2026}
    assert len({(p.latitude, p.longitude) for p in projects}) == 12


def test_scaled_project_size() -> None:
    (p,) = basin_portfolio(basins=["Ordos Basin"], area_m2=1.15e6)
    assert p.plant.area_m2 == 1.15e6 and p.plant.production_wells == 8
    assert p.plant.annual_demand_mwh == pytest.approx(0.5 * 1.7e5, rel=1e-5)
    with pytest.raises(InputError, match=r"area_m2=-1.0 must be > 0"):
        basin_portfolio(area_m2=-1.0)
    with pytest.raises(InputError, match=r"basins=\['Atlantis'\] unknown"):
        basin_portfolio(basins=["Atlantis"])
