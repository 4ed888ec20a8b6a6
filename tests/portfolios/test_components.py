"""Issue 14: projects and hedged obligations under the one P&L definition, and the component protocol.

P&L(h) = value at h on the path + cash flows paid up to h carried to h - value today, for a project too: its
value at h is the plan's cash flows at the path's CCER forward curve (``S_h F(0,t)/F(0,h)``) on the market curve,
so its P&L is affine in ``S_h`` with the plan's carbon PV as slope (checked here against a value built directly
from the deterministic plan of ``carbonrisk.models.geothermal`` and the market's curves). An emitter's obligation hedged
with a forward named in ``hedges`` (half its size) shows the forward's risk reduction, and its hedged compliance cost
is the unhedged cost minus the forward's settlement on every path; ``hedged_t`` held outside the book is part of
the obligation's own value (a fully hedged CEA leg has no price risk left).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbonrisk.models.geothermal import simulate_portfolio
from carbonrisk.portfolios.analysis import analyse
from carbonrisk.portfolios.components import ContractComponent, ObligationComponent, ProjectComponent, components
from carbonrisk.portfolios.engine import PortfolioRun, run_portfolio
from carbonrisk.portfolios.exceptions import InputError
from carbonrisk.portfolios.portfolio import load_portfolio

HEAD = """
[portfolio]
name = "components test"
horizon_years = {horizon}
n_paths = {n}
seed = 20241031

[market]
prices = "cea"
model = "ou-garch"
dist = "t"
scenario = "mid"
discount_rate = 0.02
ccer_spot = 70.0
"""
PROJECT = """
[[projects]]
name = "Hebei"
template = "hebei"
start_year = 2027
heat_tariff_cny_per_mwh = 200.0
"""
OBLIGATION = """
[[obligations]]
name = "Plant 2025"
year = 2025
emissions_t = 1000000
free_allocation_t = {free}
ccer_share = 0.0
{hedge}
"""
FORWARD = """
[[contracts]]
type = "forward"
name = "Dec-25 forward"
underlying = "CEA"
position = "long"
quantity_t = 300000
strike_cny_per_t = 100.0
delivery_date = "2025-12-31"
"""
N = 1000


def _run(tmp: Path, name: str, body: str, horizon: int = 2, n: int = N) -> PortfolioRun:
    path = tmp / f"{name}.toml"
    path.write_text(HEAD.format(n=n, horizon=horizon) + body)
    return run_portfolio(load_portfolio(path))


def _var(run: PortfolioRun, horizon: str, level: float) -> float:
    table = analyse(run).tables["var_es"].set_index(["horizon", "level"])
    return float(table.loc[(horizon, level), "var_cny"])


@pytest.fixture(scope="module")
def project_run(tmp_path_factory: pytest.TempPathFactory) -> PortfolioRun:
    return _run(tmp_path_factory.mktemp("project"), "project", PROJECT, horizon=23)


def _plan_value(run: PortfolioRun, horizon_row: int) -> tuple[float, float]:
    """The plan's carbon value per unit ``S_h / S_0`` and its other cash flows, both at ``h``, built directly from
    ``carbonrisk.models.geothermal``'s deterministic plan and the market's curves (no engine code)."""
    ctx = run.context
    market = ctx.market.build()
    h = ctx.dates[horizon_row]
    spec = run.portfolio.projects[0]
    plan = simulate_portfolio([spec.project], 1, 0, deterministic=True).projects[0]
    carbon, other = 0.0, 0.0
    for i, y in enumerate(int(v) for v in plan.years):
        if y > ctx.years[-1]:
            continue
        t_y = max(pd.Timestamp(f"{y}-07-01"), ctx.dates[0])
        disc = float(market.df(pd.DatetimeIndex([t_y]))[0] / market.df(pd.DatetimeIndex([h]))[0])
        fix = ctx.dates[(ctx.dates.year == y) & (ctx.dates > ctx.dates[0])]
        carry = market.curve("CCER")(fix) / market.curve("CCER")(pd.DatetimeIndex([h]))[0]
        s0 = market.spot("CCER")
        carbon += disc * float(plan.credits_issued_t[i, 0]) * s0 * float(np.mean(carry))
        heat = float(plan.heat_mwh[i, 0]) * spec.heat_tariff_cny_per_mwh
        other += disc * (heat - float(plan.capex_cny[i, 0]) - float(plan.opex_cny[i, 0]))
    return carbon, other


@pytest.mark.parametrize("horizon", ["10d", "1y"])
def test_project_pnl_is_its_plan_revalued_on_the_paths_ccer_forward_curve(
    project_run: PortfolioRun, horizon: str
) -> None:
    # before 2026 (its capex year) the project has no cash flow on any path, so nothing is paid by either horizon
    # (1 year ends in 2025) and P&L(h) = carbon(h) S_h / S_0 + other(h) - V_0 exactly, V_0 = carbon(0) + other(0)
    run = project_run
    ctx = run.context
    assert np.all(run.arrays["total_cash_flow_cny"][: 2026 - ctx.years[0]] == 0.0)
    assert ctx.dates[ctx.row_1y] < pd.Timestamp("2026-07-01")
    row = ctx.row_10d if horizon == "10d" else ctx.row_1y
    carbon_h, other_h = _plan_value(run, row)
    carbon_0, other_0 = _plan_value(run, 0)
    assert ctx.project_value_today[0] == pytest.approx(carbon_0 + other_0, rel=1e-10)
    ccer = run.arrays["ccer_fan"]
    s_ratio = ccer[list(ctx.fan_rows).index(row)] / ccer[0]
    expected = carbon_h * s_ratio + other_h - (carbon_0 + other_0)
    pnl = run.arrays[f"pnl_{horizon}"][0]
    np.testing.assert_allclose(pnl, expected, rtol=1e-9, atol=1e-3 * abs(carbon_0))
    assert np.std(pnl) > 0.01 * carbon_0  # real price risk, not a constant


def test_projects_are_components_of_the_var_and_the_contributions(project_run: PortfolioRun) -> None:
    comps = components(project_run.context)
    assert [type(c) for c in comps] == [ProjectComponent]
    analysis = analyse(project_run)
    contrib = analysis.tables["es_contributions_1y_99"]
    assert contrib.loc["project: Hebei", "contribution"] == pytest.approx(analysis.metrics["es_99_1y_cny"], rel=1e-9)
    assert analysis.metrics["var_99_1y_cny"] > 0
    # the projects table is the component's own rows
    assert list(analysis.tables["projects"]["project"]) == ["Hebei"]


@pytest.fixture(scope="module")
def obligation_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, PortfolioRun]:
    tmp = tmp_path_factory.mktemp("obligation")
    bodies = {
        # 600 000 t short, half of it hedged with the forward
        "alone": OBLIGATION.format(free=400000, hedge=""),
        "forward": OBLIGATION.format(free=400000, hedge='hedges = ["Dec-25 forward"]') + FORWARD,
        # 300 000 t short, all of it bought forward outside the book
        "fixed": OBLIGATION.format(free=700000, hedge="hedged_t = 300000\nhedge_price_cny_per_t = 100.0"),
    }
    return {name: _run(tmp, name, body) for name, body in bodies.items()}


@pytest.mark.parametrize("horizon", ["10d", "1y"])
def test_an_obligation_hedged_with_a_forward_shows_the_hedges_risk_reduction(
    obligation_runs: dict[str, PortfolioRun], horizon: str
) -> None:
    alone, hedged = obligation_runs["alone"], obligation_runs["forward"]
    # half the tonnes hedged: about half the VaR (0.5 up to the carry and discount factors and, at 1 year, the
    # basis between the year's average price and the forward's Dec-31 price); unhedged it would be 1.0
    for level in (0.95, 0.99):
        assert _var(hedged, horizon, level) < 0.6 * _var(alone, horizon, level)
    # the hedge (half the obligation's size) contributes negatively to the 1-year ES
    contrib = analyse(hedged).tables["es_contributions_1y_99"]["contribution"]
    assert contrib["contract: Dec-25 forward"] < 0 < contrib["obligation: Plant 2025"]


def test_hedged_compliance_cost_nets_the_forwards_settlement_on_every_path(
    obligation_runs: dict[str, PortfolioRun],
) -> None:
    # cost_hedged = cost_unhedged - Q (S_T - K) with S_T the CEA price on 2025-12-31 (the year's last grid date)
    run = obligation_runs["forward"]
    ctx = run.context
    s_t = run.arrays["cea_fan"][list(ctx.fan_rows).index(int(ctx.dates.get_loc(pd.Timestamp("2025-12-31"))))]
    unhedged = run.arrays["obligation_cost_unhedged"][0]
    np.testing.assert_allclose(run.arrays["obligation_cost_hedged"][0], unhedged - 300000.0 * (s_t - 100.0), rtol=1e-12)
    table = analyse(run).tables["compliance_cost_at_risk"].set_index("case")
    assert table.loc["hedged", "cost_at_risk_95_cny"] < table.loc["unhedged", "cost_at_risk_95_cny"]


def test_hedged_t_outside_the_book_is_in_the_obligations_value(obligation_runs: dict[str, PortfolioRun]) -> None:
    # the whole CEA leg (300 000 t) bought at a fixed price: no price risk left, only the carry of the fixed cost
    fixed, alone = obligation_runs["fixed"], obligation_runs["alone"]
    for key in ("pnl_10d", "pnl_1y"):
        assert np.std(fixed.arrays[key][0]) < 1e-9 * np.std(alone.arrays[key][0])
    market = fixed.context.market.build()
    year = fixed.context.dates[fixed.context.dates.year == 2025]
    assert fixed.context.value_today[0] == pytest.approx(-300000.0 * 100.0 * float(market.df(year[-1:])[0]))
    # the compliance table's hedged case is the same fixed cost on every path
    np.testing.assert_allclose(fixed.arrays["obligation_cost_hedged"][0], 300000.0 * 100.0, rtol=1e-12)


def test_component_kinds_and_order(obligation_runs: dict[str, PortfolioRun]) -> None:
    comps = components(obligation_runs["forward"].context)
    assert [type(c) for c in comps] == [ObligationComponent, ContractComponent]
    assert [c.label for c in comps] == ["obligation: Plant 2025", "contract: Dec-25 forward"]


@pytest.mark.parametrize(
    ("hedge", "extra", "message"),
    [
        (
            'hedges = ["Dec-25 forward"]\nhedged_t = 1000\nhedge_price_cny_per_t = 90.0',
            FORWARD,
            r"obligations\[0\]\.hedges' and hedged_t both describe the hedge",
        ),
        (
            'hedges = ["Dec-26 forward"]',
            FORWARD,
            r"obligations\[0\]\.hedges' = 'Dec-26 forward' names no contract; contracts: Dec-25 forward",
        ),
        ('hedges = "Dec-25 forward"', FORWARD, "must be a list of contract names"),
        (
            'hedges = ["loan"]',
            '[[contracts]]\ntype = "pledge_loan"\nname = "loan"\ncollateral = "CEA"\nquantity_t = 1000\n'
            "ltv = 0.5\nrate = 0.04\ntenor_years = 1.0\nmaintenance_ratio = 1.35\nliquidation_ratio = 1.15\n",
            r"obligations\[0\]\.hedges' = 'loan' is a pledge_loan, not a hedge contract",
        ),
    ],
)
def test_bad_hedges_are_refused_with_the_field(tmp_path: Path, hedge: str, extra: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(HEAD.format(n=N, horizon=2) + OBLIGATION.format(free=700000, hedge=hedge) + extra)
    with pytest.raises(InputError, match=message):
        load_portfolio(path)


def test_any_contract_implementing_with_project_takes_the_projects_paths() -> None:
    # the generic link (carbonrisk.finance.linking): a stand-in for a later carbon-linked instrument receives exactly
    # the project's per-path arrays; a contract without with_project is handed on unchanged
    from dataclasses import dataclass

    from carbonrisk.finance.instruments import Forward
    from carbonrisk.finance.linking import ProjectCashFlows, ProjectLinked
    from carbonrisk.portfolios.components import ProjectPaths

    @dataclass(frozen=True)
    class CouponStepBond:
        flows: ProjectCashFlows | None = None

        def with_project(self, flows: ProjectCashFlows) -> CouponStepBond:
            return CouponStepBond(flows)

    rng = np.random.default_rng(1)
    arrays = [rng.uniform(size=(2, 3, 5)) for _ in range(4)]
    paths = ProjectPaths(("a", "b"), (2025, 2026, 2027), *arrays)
    bond = paths.linked("b", CouponStepBond())  # type: ignore[arg-type]
    assert isinstance(bond, ProjectLinked) and isinstance(bond, CouponStepBond) and bond.flows is not None
    for got, want in zip(
        (bond.flows.credits_t, bond.flows.heat_revenue_cny, bond.flows.capex_cny, bond.flows.opex_cny),
        arrays,
        strict=True,
    ):
        np.testing.assert_array_equal(got, want[1])
    assert bond.flows.years == (2025, 2026, 2027)
    fwd = Forward(underlying="CEA", quantity_t=1.0, strike_cny_per_t=1.0, delivery_date=pd.Timestamp("2025-12-31"))
    assert paths.linked("a", fwd) is fwd


def test_a_contract_that_takes_no_project_flows_cannot_link_one(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(HEAD.format(n=N, horizon=2) + PROJECT + FORWARD + 'project = "Hebei"\n')
    with pytest.raises(InputError, match=r"links a project but a forward takes no project cash flows"):
        load_portfolio(path)
