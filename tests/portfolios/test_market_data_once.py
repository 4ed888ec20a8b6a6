"""Issue 14: the price history (and the scenario curve) read, the valuation date and horizon checked, once per run.

``load_portfolio`` reads the history and checks every date against it; the run (``prepare``), the memory estimate
and the stale-history warning take them from the parsed portfolio without reading the file again."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import carbonrisk.portfolios.engine as engine_module
import carbonrisk.portfolios.portfolio as portfolio_module
from carbonrisk.models.data import PriceHistory, load_prices
from carbonrisk.models.exceptions import CarbonRiskWarning
from carbonrisk.models.scenarios import ScenarioCurve, load_scenario
from carbonrisk.portfolios.budget import check_portfolio_memory
from carbonrisk.portfolios.engine import prepare
from carbonrisk.portfolios.portfolio import load_portfolio, market_history

TOML = """
[portfolio]
name = "once"
horizon_years = 2
n_paths = 200
seed = 3
{valuation}

[market]
prices = "cea"
model = "garch"
scenario = "mid"

[[positions]]
name = "inventory"
asset = "CEA"
quantity_t = 1000
cost_cny_per_t = 90
"""


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every price-history read of carbonrisk.portfolios.portfolio (the only module that reads the run's history)."""
    calls: list[str] = []
    real: Callable[..., PriceHistory] = load_prices

    def counting(source: str, *args: Any, **kwargs: Any) -> PriceHistory:
        calls.append(source)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(portfolio_module, "load_prices", counting)
    return calls


def _file(tmp_path: Path, valuation: str = "") -> Path:
    path = tmp_path / "once.toml"
    path.write_text(TOML.format(valuation=valuation))
    return path


def test_history_is_read_once_per_run(tmp_path: Path, reads: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    curves: list[str] = []

    def counting_scenario(source: str) -> ScenarioCurve:
        curves.append(source)
        return load_scenario(source)

    monkeypatch.setattr(portfolio_module, "load_scenario", counting_scenario)
    monkeypatch.setattr(engine_module, "load_scenario", counting_scenario)
    portfolio = load_portfolio(_file(tmp_path)).with_run(n_paths=300)
    assert reads == ["cea"] and curves == ["mid"]
    check_portfolio_memory(portfolio, "report")
    ctx, history, summary = prepare(portfolio)
    assert reads == ["cea"] and curves == ["mid"]  # neither the memory check nor the run read them again
    assert ctx.scenario is not None and ctx.scenario.name == load_scenario("mid").name
    assert history.last_date == ctx.market.valuation_date and summary["valuation_date"] == "2024-10-31"


def test_stale_history_warns_on_every_run_without_a_second_read(tmp_path: Path, reads: list[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        portfolio = load_portfolio(_file(tmp_path, "valuation_date = 2024-12-31"))
    for _ in range(2):
        with pytest.warns(CarbonRiskWarning, match="ends on 2024-10-31, 61 days before the valuation date"):
            history, vd = market_history(portfolio)
        assert str(vd.date()) == "2024-12-31" and history.last_date.year == 2024
    assert reads == ["cea"]


def test_a_changed_price_source_is_read_again(tmp_path: Path, reads: list[str]) -> None:
    portfolio = load_portfolio(_file(tmp_path))
    other = dataclasses.replace(portfolio, market=dataclasses.replace(portfolio.market, prices="hbea"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the embedded HBEA history's gap warning
        history, vd = market_history(other)
    assert reads == ["cea", "hbea"] and str(vd.date()) == "2025-05-06" and history.last_date == vd
