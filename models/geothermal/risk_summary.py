"""Summary of a project's per-path risk (``carbonrisk reductions risk``): yearly quantiles and life totals.

The command only parses and prints; the statistics live here. For each life total ``T`` (reductions, credits
issued, capex, opex) over ``n`` paths: the mean, its standard error ``sd(T) / sqrt(n)`` (sample sd, ``ddof = 1``)
and the 5th, 50th and 95th percentiles (numpy's linear interpolation), beside the deterministic plan's total.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from carbonrisk.models.geothermal.project import Project
from carbonrisk.models.geothermal.risk import ProjectPaths, simulate_project
from carbonrisk.models.random import RngLike

__all__ = ["QUANTILE_FIELDS", "TOTAL_FIELDS", "ProjectRiskSummary", "summarise_project_risk"]

QUANTILE_FIELDS: tuple[str, ...] = ("heat_mwh", "reductions_t", "credits_issued_t", "opex_cny")
"""Per-year arrays whose P5 / P50 / P95 are reported."""
TOTAL_FIELDS: tuple[str, ...] = ("reductions_t", "credits_issued_t", "capex_cny", "opex_cny")
"""Arrays whose life totals are reported."""
_PERCENTILES: tuple[tuple[str, float], ...] = (("p5", 5.0), ("p50", 50.0), ("p95", 95.0))


@dataclass(frozen=True)
class ProjectRiskSummary:
    """Yearly quantiles, life totals and risk-driver shares of a project's Monte Carlo paths."""

    years: list[int]
    quantiles: dict[str, dict[str, list[float]]]
    """``field -> {"p5", "p50", "p95"} -> one value per year``."""
    totals: dict[str, dict[str, float]]
    """``field -> {"mean", "se", "p5", "p50", "p95"}`` of the life total."""
    deterministic_totals: dict[str, float]
    """Life totals of the deterministic plan."""
    startup_delay_share: float
    """Share of paths whose start-up is delayed."""
    mean_failed_wells: float
    capacity_factor_p5: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "years": self.years,
            "quantiles": self.quantiles,
            "totals": self.totals,
            "deterministic_totals": self.deterministic_totals,
            "startup_delay_share": self.startup_delay_share,
            "mean_failed_wells": self.mean_failed_wells,
            "capacity_factor_p5": self.capacity_factor_p5,
        }


def summarise_project_risk(
    project: Project, n_paths: int, rng: RngLike = None, *, deterministic: ProjectPaths | None = None
) -> ProjectRiskSummary:
    """Simulate ``n_paths`` paths of ``project`` and summarise them (see the module docstring);
    ``deterministic``: the plan (``simulate_project(project, 1, deterministic=True)``) if already computed."""
    det = deterministic if deterministic is not None else simulate_project(project, 1, deterministic=True)
    paths = simulate_project(project, n_paths, rng=rng)
    quantiles = {
        f: {name: np.percentile(getattr(paths, f), q, axis=1).tolist() for name, q in _PERCENTILES}
        for f in QUANTILE_FIELDS
    }
    totals: dict[str, dict[str, float]] = {}
    for f in TOTAL_FIELDS:
        total = getattr(paths, f).sum(axis=0)
        totals[f] = {
            "mean": float(total.mean()),
            "se": float(total.std(ddof=1) / np.sqrt(total.size)) if total.size > 1 else 0.0,
        } | {name: float(np.percentile(total, q)) for name, q in _PERCENTILES}
    return ProjectRiskSummary(
        years=[int(y) for y in paths.years],
        quantiles=quantiles,
        totals=totals,
        deterministic_totals={f: float(getattr(det, f).sum()) for f in TOTAL_FIELDS},
        startup_delay_share=float((paths.startup_delay_months > 0).mean()),
        mean_failed_wells=float(paths.failed_wells.mean()),
        capacity_factor_p5=float(np.percentile(paths.capacity_factor, 5)),
    )
