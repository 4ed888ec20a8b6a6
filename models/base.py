"""Compatibility module: the model interface and the simulation machinery under their historical import path.

The interface lives in :mod:`carbonrisk.models.interface` (:class:`PriceModelResult`, :class:`SimulationPlan`,
:class:`BasisPlan`, :class:`PathSummary`), the machinery that runs a plan in :mod:`carbonrisk.models.simulation`
(:class:`SimulatesPaths`, :func:`run_plan`, the streaming summaries, the scenario glide path). Every name this
module offered is re-exported here unchanged, so ``from carbonrisk.models.base import ...`` keeps working.
"""

from __future__ import annotations

from carbonrisk.models.interface import BasisPlan, PathSummary, PriceModelResult, SimulationPlan
from carbonrisk.models.simulation import (
    CONVERGENCE_YEARS,
    HIST_BIN_WIDTH,
    HIST_HI,
    HIST_LO,
    HIST_MAX_COUNTERS,
    STEP_CHUNK,
    SimulatesPaths,
    check_paths,
    glide_path,
    median_target,
    run_plan,
    run_plan_summary,
    simulate_blocks,
    simulation_threads,
    summarise_blocks,
    summary_bin_width,
    summary_from_parts,
    with_meta,
)

__all__ = [
    "CONVERGENCE_YEARS",
    "HIST_BIN_WIDTH",
    "HIST_HI",
    "HIST_LO",
    "HIST_MAX_COUNTERS",
    "STEP_CHUNK",
    "BasisPlan",
    "PathSummary",
    "PriceModelResult",
    "SimulatesPaths",
    "SimulationPlan",
    "check_paths",
    "glide_path",
    "median_target",
    "run_plan",
    "run_plan_summary",
    "simulate_blocks",
    "simulation_threads",
    "summarise_blocks",
    "summary_bin_width",
    "summary_from_parts",
    "with_meta",
]
