"""The summary behind ``carbonrisk reductions risk`` (moved out of the CLI): same numbers as the paths give."""

from __future__ import annotations

import numpy as np

from carbonrisk.models.geothermal import hebei_project
from carbonrisk.models.geothermal.risk import simulate_project
from carbonrisk.models.geothermal.risk_summary import TOTAL_FIELDS, summarise_project_risk


def test_summary_matches_the_paths_of_the_same_seed() -> None:
    project = hebei_project("mid")
    summary = summarise_project_risk(project, 400, 7)
    paths = simulate_project(project, 400, rng=7)
    plan = simulate_project(project, 1, deterministic=True)
    for field in TOTAL_FIELDS:
        total = getattr(paths, field).sum(axis=0)
        got = summary.totals[field]
        assert got["mean"] == float(total.mean())
        assert got["se"] == float(total.std(ddof=1) / np.sqrt(400))
        assert got["p5"] <= got["p50"] <= got["p95"]
        assert summary.deterministic_totals[field] == float(getattr(plan, field).sum())
    assert summary.years == [int(y) for y in paths.years]
    assert len(summary.quantiles["credits_issued_t"]["p50"]) == len(summary.years)
    assert 0.0 <= summary.startup_delay_share <= 1.0
    assert summary.to_dict()["totals"] == summary.totals
