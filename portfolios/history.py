"""Operating projects' past years: the seasons before the valuation year, shown as history (never simulated).

A project whose first heating season lies before the valuation year (the Hebei reference case starts in 2021) is
valued from the valuation date on; its earlier seasons are reported here from the deterministic plan
(:func:`carbonrisk.models.geothermal.run_project`: the reference season every year, the project's emission factors and
its CCER pipeline), so a reader sees what the project has already delivered and what is left out of the risk figures.
"""

from __future__ import annotations

import pandas as pd

from carbonrisk.models.geothermal import run_project
from carbonrisk.portfolios.portfolio import Portfolio

__all__ = ["project_history"]


def project_history(portfolio: Portfolio, valuation_year: int) -> pd.DataFrame:
    """Per operating project and past season: heat, reductions and credits issued by the plan (empty if none).

    Columns ``project``, ``year``, ``heat_mwh``, ``reductions_t``, ``credits_issued_t``; one row per season that
    started before ``valuation_year``.
    """
    rows: list[dict[str, object]] = []
    for spec in portfolio.projects:
        if spec.project.start_year >= valuation_year:
            continue
        result = run_project(spec.project)
        issued = result.issuance.credits_by_year
        annual = result.annual
        for year in (int(y) for y in annual.index if int(y) < valuation_year):
            rows.append(
                {
                    "project": spec.name,
                    "year": year,
                    "heat_mwh": float(annual.at[year, "heat_mwh"]),
                    "reductions_t": float(annual.at[year, "reductions_t"]),
                    "credits_issued_t": float(issued.get(year, 0.0)),
                }
            )
    frame = pd.DataFrame(rows, columns=["project", "year", "heat_mwh", "reductions_t", "credits_issued_t"])
    frame.attrs["units"] = {"heat_mwh": "number", "reductions_t": "t", "credits_issued_t": "t"}
    return frame
