"""Operating projects: their seasons before the valuation year are reported as history from the plan."""

from __future__ import annotations

import warnings
from pathlib import Path

from carbonrisk.models.geothermal import run_project
from carbonrisk.portfolios.history import project_history
from carbonrisk.portfolios.portfolio import load_portfolio

DEMO = Path(__file__).resolve().parents[2] / "portfolios" / "data" / "demo_portfolio.toml"


def test_history_lists_only_operating_projects_and_their_past_seasons(tmp_path: Path) -> None:
    text = DEMO.read_text(encoding="utf-8").replace("start_year = 2026", "start_year = 2021")
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        portfolio = load_portfolio(tmp_path / "p.toml")
    history = project_history(portfolio, 2024)
    hebei = portfolio.projects[0]
    assert set(history["project"]) == {hebei.name}  # the basin schemes start in 2027 and 2028
    assert history["year"].tolist() == [2021, 2022, 2023]
    plan = run_project(hebei.project).annual.loc[2021:2023, "reductions_t"]
    assert history["reductions_t"].tolist() == plan.tolist()
    assert (history["credits_issued_t"] >= 0).all()
    assert project_history(load_portfolio(DEMO), 2024).empty


def test_report_shows_the_history_of_an_operating_project(tmp_path: Path) -> None:
    from carbonrisk.portfolios.cli import main

    text = DEMO.read_text(encoding="utf-8").replace("start_year = 2026", "start_year = 2021")
    (tmp_path / "p.toml").write_text(text, encoding="utf-8")
    assert main(["report", str(tmp_path / "p.toml"), "--out", str(tmp_path / "r"), "--paths", "120"]) == 0
    page = (tmp_path / "r" / "developer" / "report.html").read_text(encoding="utf-8")
    assert 'id="project_history"' in page and "seasons before the valuation date" in page
