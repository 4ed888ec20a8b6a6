"""Issue 14 proof: one P&L definition with full revaluation at each horizon; hedges hedge.

A long CEA forward alone must carry the risk of an inventory of the same size (the forward's P&L is the
inventory's times the carry and discount factors, plus a deterministic term); inventory plus the opposite forward
must be nearly riskless; Euler contributions add up to the total ES and the hedge's is negative. Before issue 14
the forward alone reported a 1-year VaR of 0 and the hedged book the full unhedged 1-year VaR.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbonrisk.models.random import BLOCK_PATHS
from carbonrisk.portfolios.analysis import Analysis, analyse
from carbonrisk.portfolios.engine import PortfolioRun, run_portfolio
from carbonrisk.portfolios.portfolio import load_portfolio

HEAD = """
[portfolio]
name = "hedge test"
horizon_years = 2
n_paths = {n}
seed = 20241031

[market]
prices = "cea"
model = "ou-garch"
dist = "t"
scenario = "mid"
discount_rate = 0.02
"""
INVENTORY = """
[[positions]]
name = "CEA inventory"
asset = "CEA"
quantity_t = 300000
cost_cny_per_t = 92.0
"""
FORWARD = """
[[contracts]]
type = "forward"
name = "CEA Dec-25 forward"
underlying = "CEA"
position = "{position}"
quantity_t = 300000
strike_cny_per_t = 100.0
delivery_date = "2025-12-31"
"""
N = BLOCK_PATHS


def _run(tmp: Path, name: str, body: str, n: int = N, **kwargs: int) -> PortfolioRun:
    path = tmp / f"{name}.toml"
    path.write_text(HEAD.format(n=n) + body)
    return run_portfolio(load_portfolio(path), **kwargs)


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[PortfolioRun, Analysis]]:
    tmp = tmp_path_factory.mktemp("hedge")
    out = {}
    for name, body in (
        ("inventory", INVENTORY),
        ("forward", FORWARD.format(position="long")),
        ("hedged", INVENTORY + FORWARD.format(position="short")),
    ):
        run = _run(tmp, name, body)
        out[name] = (run, analyse(run))
    return out


def _var(analysis: Analysis, horizon: str, level: float) -> float:
    return float(analysis.tables["var_es"].set_index(["horizon", "level"]).loc[(horizon, level), "var_cny"])


@pytest.mark.parametrize("horizon", ["10d", "1y"])
@pytest.mark.parametrize("level", [0.95, 0.99])
def test_long_forward_alone_has_the_risk_of_the_inventory(
    books: dict[str, tuple[PortfolioRun, Analysis]], horizon: str, level: float
) -> None:
    run, fwd = books["forward"]
    _, inv = books["inventory"]
    ctx = run.context
    row = ctx.row_10d if horizon == "10d" else ctx.row_1y
    df = float(ctx.market.build().df(pd.DatetimeIndex([ctx.dates[row]]))[0])
    var_inv, var_fwd = _var(inv, horizon, level), _var(fwd, horizon, level)
    assert var_inv > 0
    assert var_fwd == pytest.approx(var_inv * df, rel=0.10)


@pytest.mark.parametrize("horizon", ["10d", "1y"])
def test_inventory_plus_opposite_forward_is_hedged(
    books: dict[str, tuple[PortfolioRun, Analysis]], horizon: str
) -> None:
    _, hedged = books["hedged"]
    _, inv = books["inventory"]
    for level in (0.95, 0.99):
        assert _var(hedged, horizon, level) < 0.10 * _var(inv, horizon, level)
    # the forward's P&L offsets the inventory's path by path (up to a deterministic carry term)
    run = books["hedged"][0]
    total = run.arrays[f"pnl_{horizon}"].sum(axis=0)
    assert np.std(total) < 0.01 * np.std(run.arrays[f"pnl_{horizon}"][0])


def test_forward_pnl_is_its_revaluation_on_the_path(books: dict[str, tuple[PortfolioRun, Analysis]]) -> None:
    # P&L(1y) = +Q [P(h,T) (S_h F(0,T)/F(0,h) - K)] - Q P(0,T) (F(0,T) - K), with the run's carry curve at 2 %
    run, _ = books["forward"]
    ctx = run.context
    market = ctx.market.build()
    h, t = ctx.dates[ctx.row_1y], pd.Timestamp("2025-12-31")
    f0 = market.forward("CEA", pd.DatetimeIndex([h, t]))
    df = market.df(pd.DatetimeIndex([h, t]))
    s_h = run.arrays["cea_fan"][list(ctx.fan_rows).index(ctx.row_1y)]
    expected = 300000.0 * (df[1] / df[0] * (s_h * f0[1] / f0[0] - 100.0)) - 300000.0 * df[1] * (f0[1] - 100.0)
    np.testing.assert_allclose(run.arrays["pnl_1y"][0], expected, rtol=1e-10)


def test_euler_contributions_add_up_and_the_hedge_contributes_negatively(
    books: dict[str, tuple[PortfolioRun, Analysis]],
) -> None:
    _, hedged = books["hedged"]
    _, inv = books["inventory"]
    contrib = hedged.tables["es_contributions_1y_99"]
    parts = contrib.drop(index="total")["contribution"]
    assert parts.sum() == pytest.approx(contrib.loc["total", "contribution"], rel=1e-9)
    assert hedged.metrics["es_99_1y_cny"] == pytest.approx(contrib.loc["total", "contribution"], rel=1e-9)
    assert parts["contract: CEA Dec-25 forward"] < 0 < parts["position: CEA inventory"]
    # the forward removes more than 90 % of the inventory's ES
    assert contrib.loc["total", "contribution"] < 0.10 * inv.metrics["es_99_1y_cny"]


def test_contract_delta_is_bump_and_revalue_of_the_runs_revaluation(
    books: dict[str, tuple[PortfolioRun, Analysis]],
) -> None:
    # forward delta: Q P(0,T) F(0,T) / S_0 (CNY per CNY/t), from the same revaluation as the P&L, not a GBM run
    run, analysis = books["forward"]
    market = run.context.market.build()
    t = pd.DatetimeIndex(["2025-12-31"])
    expected = 300000.0 * float(market.df(t)[0] * market.forward("CEA", t)[0]) / market.spot("CEA")
    row = analysis.tables["contracts"].iloc[0]
    assert row["delta_CEA"] == pytest.approx(expected, rel=1e-9)
    assert row["revaluation"] == "closed form per path"


def test_revaluation_is_bit_identical_across_task_sizes(tmp_path: Path) -> None:
    # two blocks, one or two per task: every per-path array (P&L of each horizon included) is the same
    body = INVENTORY + FORWARD.format(position="short")
    one = _run(tmp_path, "a", body, n=BLOCK_PATHS + 100)
    two = _run(tmp_path, "b", body, n=BLOCK_PATHS + 100, blocks_per_task=2)
    for key in ("pnl_10d", "pnl_1y"):
        np.testing.assert_array_equal(one.arrays[key], two.arrays[key])


OBLIGATION = """
[[obligations]]
name = "Plant 2025"
year = 2025
emissions_t = 1000000
free_allocation_t = 700000
ccer_share = 0.0
"""


def test_obligation_is_a_short_position_in_the_years_average_price(tmp_path: Path) -> None:
    # all of 2025's fixings lie after the 10-day date: P&L(10d) = -a (S_10d - S_0) mean_i P(t_i, T) on every path
    # (carry curve at the discount rate), a = 300 000 t; value today = -a P(0, T) mean_i F(0, t_i)
    run = _run(tmp_path, "obligation", OBLIGATION)
    ctx = run.context
    fan = list(ctx.fan_rows)
    s0 = run.arrays["cea_fan"][0]
    s10 = run.arrays["cea_fan"][fan.index(ctx.row_10d)]
    ratio = run.arrays["pnl_10d"][0] / (s10 - s0)
    market = ctx.market.build()
    year = ctx.dates[(ctx.dates.year == 2025)]
    factor = float(np.mean(market.df(year[-1:])[0] / market.df(year)))  # mean_i P(t_i, T)
    np.testing.assert_allclose(ratio, -300000.0 * factor, rtol=1e-9)
    value_today = ctx.value_today[0]
    ref = -300000.0 * float(market.df(year[-1:])[0]) * float(market.forward("CEA", year).mean())
    assert value_today == pytest.approx(ref, rel=1e-12)
    assert "obligation: Plant 2025" in analyse(run).tables["es_contributions_1y_99"].index


def test_volatility_comes_from_the_model_when_it_offers_expected_variance(
    books: dict[str, tuple[PortfolioRun, Analysis]],
) -> None:
    import dataclasses

    from carbonrisk.finance.revaluation import FlatVolatility, ModelVariance
    from carbonrisk.portfolios.engine import volatility_source

    ctx = books["forward"][0].context

    class Stub:
        def expected_average_variance(self, variance_now: np.ndarray, n_days: int) -> np.ndarray:
            return variance_now

    chosen = volatility_source(dataclasses.replace(ctx, model=Stub()))
    assert isinstance(chosen, ModelVariance)
    bare = volatility_source(dataclasses.replace(ctx, model=object()))
    assert isinstance(bare, FlatVolatility) and bare.vols == dict(ctx.market.vols)
