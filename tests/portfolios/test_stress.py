"""Issue 15: stress scenarios, sensitivity ladders and reverse stress on the engine's full revaluation, and the
credit table of the report."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from carbonrisk.finance.stress_scenarios import embedded_scenarios
from carbonrisk.models.data import load_prices
from carbonrisk.models.exceptions import DataGapWarning
from carbonrisk.models.units import TRADING_DAYS_PER_YEAR
from carbonrisk.portfolios.analysis import analyse
from carbonrisk.portfolios.cli import main
from carbonrisk.portfolios.engine import run_portfolio
from carbonrisk.portfolios.portfolio import load_portfolio
from carbonrisk.portfolios.risk import var_es
from carbonrisk.portfolios.stress import (
    REVERSE_STEPS,
    StressBase,
    _npv,
    _subset,
    evaluate,
    prepare_stress,
    run_ladders,
    run_reverse_stress,
    run_scenarios,
    scaled,
)

BOOK = """
[portfolio]
name = "stress test"
horizon_years = 2
n_paths = 4096
seed = 20241031

[market]
prices = "cea"
model = "ou-garch"
dist = "t"
scenario = "mid"
discount_rate = 0.02

[[positions]]
name = "CEA inventory"
asset = "CEA"
quantity_t = 300000
cost_cny_per_t = 92.0

[[obligations]]
name = "Emitter 2025"
year = 2025
emissions_t = 6000000
free_allocation_t = 5400000
ccer_share = 0.05

[[contracts]]
type = "pledge_loan"
name = "CEA pledge loan"
collateral = "CEA"
quantity_t = 1000000
ltv = 0.6
rate = 0.045
tenor_years = 1.0
maintenance_ratio = 1.35
liquidation_ratio = 1.15
top_up = "wrong_way"
rating = "BB"
max_liquidation_days = 30
haircut = 0.08

[[contracts]]
type = "forward"
name = "CEA Dec-25 forward"
underlying = "CEA"
position = "long"
quantity_t = 300000
strike_cny_per_t = 100.0
delivery_date = "2025-12-31"

[limits]
var_99_10d_cny = 4000000
ltv_max = 0.65
"""


@pytest.fixture(scope="module")
def book_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stress") / "book.toml"
    path.write_text(BOOK)
    return path


@pytest.fixture(scope="module")
def base(book_file: Path) -> StressBase:
    return prepare_stress(load_portfolio(book_file), n_paths=1024)


def _row(frame, **keys):  # type: ignore[no-untyped-def]
    sel = np.ones(len(frame), dtype=bool)
    for k, v in keys.items():
        sel &= frame[k].to_numpy() == v
    assert sel.sum() == 1, keys
    return frame[sel].iloc[0]


def test_historical_scenario_moves_the_inventory_by_its_source_move(base: StressBase) -> None:
    """Deterministic scenario: the inventory's 1-year P&L is q x S0 x r(1 year) of the scenario's own levels
    (the CEA launch drawdown is held at -29.37 % after its 83 days)."""
    scen = embedded_scenarios("historical")
    tables = run_scenarios(base, {"cea_launch_drawdown": scen["cea_launch_drawdown"]})
    s0 = base.market.spot("CEA")
    date_1y = base.ctx.dates[base.ctx.row_1y]
    level = float(scen["cea_launch_drawdown"].levels_on(base.ctx.market.valuation_date, [date_1y])["CEA"].iloc[0])
    assert level == pytest.approx(41.46 / 58.70, abs=1e-4)
    inv = _row(tables["scenarios"], scenario="cea_launch_drawdown", component="position: CEA inventory")
    assert inv["pnl_1y_cny"] == pytest.approx(300000 * s0 * (level - 1.0), rel=1e-12)
    base_inv = _row(tables["scenarios"], scenario="base (no shock)", component="position: CEA inventory")
    assert base_inv["pnl_1y_cny"] == 0.0
    loan = _row(tables["scenario_loans"], scenario="cea_launch_drawdown", loan="CEA pledge loan")
    assert loan["min_coverage"] == pytest.approx(level / 0.6, rel=1e-12)  # q S / (ltv q S0)
    assert loan["p_margin_call"] == 1.0  # coverage 1.18 < 1.35
    breach = tables["scenario_breaches"]
    assert (breach["limit"] == "ltv_max (CEA pledge loan)").any()


def test_offset_cap_flag_reaches_the_obligation(base: StressBase) -> None:
    """offset_cap_0: no CCER may be surrendered, so the emitter buys its whole shortfall in CEA (dearer than
    CCER), and its P&L falls although CCER itself falls 30 %."""
    pol = embedded_scenarios("policy")
    tables = run_scenarios(base, {"offset_cap_0": pol["offset_cap_0"]})
    ob = "obligation: Emitter 2025"
    stressed = _row(tables["scenarios"], scenario="offset_cap_0", component=ob)["pnl_1y_cny"]
    unshocked = _row(tables["scenarios"], scenario="base (no shock)", component=ob)["pnl_1y_cny"]
    assert stressed < unshocked


def test_ladders_full_revaluation(base: StressBase) -> None:
    """CEA +10 %: the inventory gains exactly 0.1 q mean(S_1y) on the same paths; the forward is linear, so its
    changes at +10 % and -10 % are opposite; the volatility ladder does not move the inventory's mean."""
    lad = run_ladders(base)
    s1y = base.paths["CEA"][base.ctx.row_1y]
    up = _row(lad, ladder="CEA spot", point=0.1, component="position: CEA inventory")
    assert up["pnl_1y_change_cny"] == pytest.approx(0.1 * 300000 * s1y.mean(), rel=1e-9)
    fwd_up = _row(lad, ladder="CEA spot", point=0.1, component="contract: CEA Dec-25 forward")["pnl_1y_change_cny"]
    fwd_dn = _row(lad, ladder="CEA spot", point=-0.1, component="contract: CEA Dec-25 forward")["pnl_1y_change_cny"]
    assert fwd_up > 0 and fwd_dn == pytest.approx(-fwd_up, rel=1e-9)
    ccer = _row(lad, ladder="CCER spot", point=0.3, component="position: CEA inventory")
    assert ccer["pnl_1y_change_cny"] == 0.0
    rate = _row(lad, ladder="discount rate", point=0.01, component="book")
    assert np.isfinite(rate["pnl_1y_change_cny"])
    assert set(lad["ladder"]) == {"CEA spot", "CCER spot", "volatility", "CCER basis", "discount rate"}


def test_reverse_stress_thresholds_hold_when_re_run(base: StressBase) -> None:
    """The pledge loan's NPV crosses zero within 0.5 CNY/t of the threshold (re-run on the same paths at
    threshold -/+ 0.5); the VaR limit's shock is bracketed the same way; at most 10 bisection steps."""
    results = run_reverse_stress(base)
    by = {(r.target, r.question): r for r in results}
    npv = by[("CEA pledge loan", "lender's NPV turns negative")]
    assert npv.converged and npv.steps <= REVERSE_STEPS and npv.precision < 0.5
    assert npv.threshold is not None
    paths, projects = _subset(base, 1024)
    inst = base.ctx.portfolio.contracts[0].instrument
    s0 = base.market.spot("CEA")

    def value_at(level: float) -> float:
        return _npv(inst, base, scaled(paths, {"CEA": np.full(paths.n_dates, level / s0)}), projects, None)

    assert value_at(npv.threshold - 0.5) < 0.0 < value_at(npv.threshold + 0.5)
    maint = by[("CEA pledge loan", "coverage breaches the maintenance ratio")]
    assert maint.threshold == pytest.approx(1.35 * 0.6 * s0, rel=1e-12)
    ltv = by[("CEA pledge loan", "LTV breaches ltv_max = 0.65")]
    assert ltv.threshold == pytest.approx(0.6 / 0.65 - 1.0, rel=1e-12)
    var = by[("book", "breaches var_99_10d_cny = 4,000,000")]
    assert var.converged and var.threshold is not None

    def var_at(shock: float) -> float:
        lv = {f: np.full(paths.n_dates, 1.0 + shock) for f in ("CEA", "CCER")}
        ten = sum(r.pnl_10d for _, r in evaluate(base, scaled(paths, lv), projects))
        return var_es(ten, 0.99, 10).var

    lo, hi = sorted((var.threshold - 0.005, var.threshold + 0.005))
    assert (var_at(lo) - 4e6) * (var_at(hi) - 4e6) < 0


def test_report_credit_table(book_file: Path) -> None:
    """The report's credit table: PD over the life from the run's paths (liquidation or borrower default by
    maturity) at least the liquidation probability, ECL lifetime >= 12-month, stage, capital."""
    run = run_portfolio(load_portfolio(book_file))
    analysis = analyse(run)
    credit = analysis.tables["credit"].set_index("loan").loc["CEA pledge loan"]
    loans = analysis.tables["loans"].set_index("loan").loc["CEA pledge loan"]
    t = run.arrays["contract0_default_time_years"]
    assert credit["pd_lifetime"] == pytest.approx(float(np.mean(np.isfinite(t))), abs=1e-12)
    assert credit["pd_lifetime"] >= loans["p_liquidation"] - 1e-12
    assert credit["ecl_lifetime_cny"] >= credit["ecl_12m_cny"] > 0
    assert credit["ifrs9_stage"] == 1
    assert credit["irb_capital_cny"] > 0 and credit["standardised_capital_cny"] == pytest.approx(
        0.08 * credit["ead_cny"], rel=0.05
    )
    assert not credit["carbon_collateral_recognised"]


def test_stress_cli(book_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["stress", str(book_file), "--json", "--no-ladders", "--no-reverse"]) == 0
    payload = json.loads(capsys.readouterr().out)
    names = {r["scenario"] for r in payload["scenarios"]}
    assert {"cea_launch_drawdown", "hbea_worst_1y", "offset_cap_0", "issuance_delay_1y"} <= names
    assert {"scenario_loans", "scenario_breaches", "timings_s"} <= set(payload)
    bad = tmp_path / "bad.toml"
    bad.write_text('[[scenario]]\nname = "x"\n[scenario.ramp]\nover_days = 0\nCEA = -1.5\n')
    assert main(["stress", str(book_file), "--scenarios", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.toml" in err[0] and "CEA" in err[0]


def test_stress_report_section(base: StressBase) -> None:
    """The report's stress section: the book rows of the scenarios, the loans, the breaches, the reverse stress."""
    from carbonrisk.portfolios.report import stress_section

    scen = embedded_scenarios("historical")
    tables = run_scenarios(base, {"hbea_worst_1y": scen["hbea_worst_1y"]})
    html = stress_section(tables)
    for ident in ("stress_scenarios", "stress_scenario_loans", "stress_scenario_breaches"):
        assert f'id="{ident}"' in html
    assert "hbea_worst_1y" in html and "position: CEA inventory" not in html
    assert stress_section({}) == ""


SINGLE = """
[portfolio]
name = "one asset"
horizon_years = 2
n_paths = 4096
seed = 20241031

[market]
prices = "cea"
model = "ou-garch"
dist = "t"
scenario = "high"
discount_rate = 0.02

[[positions]]
name = "inventory"
asset = "{asset}"
quantity_t = 100000
cost_cny_per_t = 60.0

[limits]
var_99_10d_cny = {cap}
"""


@pytest.mark.parametrize(("asset", "other", "cap"), [("CCER", "CEA", 600_000), ("CEA", "CCER", 900_000)])
def test_reverse_stress_of_one_asset_alone(tmp_path: Path, asset: str, other: str, cap: float) -> None:
    """Book reverse stress with one price alone moved, on an inventory of ``asset`` (high scenario). When its
    mean 1-year P&L is positive today (CCER here) the level at which it turns negative is the closed form
    :math:`S_0^2 / \\bar S_{1y}` (the P&L is :math:`q (k S_{1y} - S_0)` at the level :math:`k S_0`) within the
    search's precision (< 0.5 CNY/t); when it is negative today (CEA here) no level is reported and the re-run
    at today's price confirms it. The VaR limit's level: re-running at the threshold -/+ 0.5 CNY/t on the same
    paths brackets the sign change of VaR - limit. Moving the other price alone finds no crossing."""
    path = tmp_path / "one.toml"
    path.write_text(SINGLE.format(asset=asset, cap=cap))
    base = prepare_stress(load_portfolio(path), n_paths=1024)
    results = run_reverse_stress(base)
    by = {(r.question, r.variable): r for r in results}
    variable = f"{asset} level (CNY/t), {other} unchanged"
    pnl = by[(f"mean 1-year P&L turns negative ({asset} alone)", variable)]
    var = by[(f"breaches var_99_10d_cny = {cap:,.0f} ({asset} alone)", variable)]
    paths, projects = _subset(base, 1024)
    s0 = base.market.spot(asset)
    mean_1y = float(paths[asset][base.ctx.row_1y].mean())

    def book(level: float) -> tuple[np.ndarray, np.ndarray]:
        lv = {asset: np.full(paths.n_dates, level / s0)}
        results = evaluate(base, scaled(paths, lv), projects)
        return np.asarray(sum(r.pnl_10d for _, r in results)), np.asarray(sum(r.pnl_1y for _, r in results))

    if asset == "CCER":
        assert mean_1y > s0  # the book makes money today
        assert pnl.converged and pnl.threshold is not None and pnl.precision < 0.5 and pnl.steps <= REVERSE_STEPS
        assert abs(pnl.threshold - s0 * s0 / mean_1y) <= pnl.precision
        assert book(pnl.threshold + 0.5)[1].mean() > 0 > book(pnl.threshold - 0.5)[1].mean()
    else:
        assert mean_1y < s0 and book(s0)[1].mean() < 0
        assert pnl.threshold is None and pnl.note == "already the case at today's prices"
    assert var.converged and var.threshold is not None and var.precision < 0.5 and var.steps <= REVERSE_STEPS
    var_lo, var_hi = (var_es(book(var.threshold + d)[0], 0.99, 10).var - cap for d in (-0.5, 0.5))
    assert var_lo * var_hi < 0
    for question in ("mean 1-year P&L turns negative", f"breaches var_99_10d_cny = {cap:,.0f}"):
        moved = by[(f"{question} ({other} alone)", f"{other} level (CNY/t), {asset} unchanged")]
        if moved.note != "already the case at today's prices":
            assert moved.threshold is None and moved.note.startswith(f"no crossing for {other}")


@pytest.mark.slow
def test_user_scenario_file_through_the_cli(
    book_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A user TOML (README, ``--scenarios``): an instantaneous CEA -20 % (ramp over 0 days) and a CSV path
    (CEA -10 % after 10 trading days, held); the CEA inventory's 1-year P&L is q S0 r exactly; only the file's
    scenarios (and the base) are run."""
    (tmp_path / "path.csv").write_text("day,CEA,CCER\n0,0.0,0.0\n10,-0.1,-0.1\n", encoding="utf-8")
    user = tmp_path / "mine.toml"
    user.write_text(
        '[[scenario]]\nname = "cea_minus_20"\n[scenario.ramp]\nover_days = 0\nCEA = -0.2\n\n'
        '[[scenario]]\nname = "from_csv"\ncsv = "path.csv"\n',
        encoding="utf-8",
    )
    assert main(["stress", str(book_file), "--scenarios", str(user), "--json", "--no-ladders", "--no-reverse"]) == 0
    payload = json.loads(capsys.readouterr().out)
    rows = {(r["scenario"], r["component"]): r for r in payload["scenarios"]}
    assert {s for s, _ in rows} == {"base (no shock)", "cea_minus_20", "from_csv"}
    inv = "position: CEA inventory"
    base_pnl = rows[("base (no shock)", inv)]["pnl_1y_cny"]
    assert base_pnl == 0.0
    drop20, drop10 = rows[("cea_minus_20", inv)]["pnl_1y_cny"], rows[("from_csv", inv)]["pnl_1y_cny"]
    assert drop20 == pytest.approx(2.0 * drop10, rel=1e-12)
    with pytest.warns(DataGapWarning):
        s0 = float(load_prices("cea").prices.iloc[-1])  # the run starts from the history's last close
    assert drop20 == pytest.approx(300000 * s0 * -0.2, rel=1e-12)


SHARED_BOOK = """
[portfolio]
name = "shared depth under stress"
horizon_years = 2
n_paths = 1024
seed = 7

[market]
prices = "cea"
model = "garch"
discount_rate = 0.02

[[contracts]]
type = "pledge_loan"
name = "pledge"
collateral = "CEA"
quantity_t = 1000000
ltv = 0.6
rate = 0.045
tenor_years = 1.0
maintenance_ratio = 1.35
liquidation_ratio = 1.15
top_up = "never"
liquidation_share_of_adv = 0.1
max_liquidation_days = 30
adv_t = 20000

[[contracts]]
type = "carbon_repo"
name = "repo"
asset = "CEA"
quantity_t = 1000000
haircut = 0.2
repo_rate = 0.045
tenor_years = 1.0
maintenance_ratio = 1.1
top_up = "never"
liquidation_share_of_adv = 0.1
max_liquidation_days = 30
adv_t = 20000
"""


def test_stress_scenarios_share_the_depth_as_the_run_does(tmp_path: Path) -> None:
    """A CEA crash (-40 % over 20 trading days, held): the repo closes out at about -12 % and sells for 30 days, the
    pledge loan is liquidated at about -31 % and sells into the same days. The scenario's loan rows are the shared
    outcome of :func:`carbonrisk.finance.depth_sharing.share_depth` on the scenario path (the rule of the run's
    blocks), and the repo loses more than its standalone engine says on that path."""
    from carbonrisk.finance.carbon_financing import MCRepoEngine
    from carbonrisk.finance.depth_sharing import share_depth
    from carbonrisk.finance.stress_scenarios import StressScenario
    from carbonrisk.portfolios.stress import _deterministic_paths

    path = tmp_path / "book.toml"
    path.write_text(SHARED_BOOK)
    base = prepare_stress(load_portfolio(path), n_paths=256)
    crash = StressScenario("crash", "user", "CEA -40 % in 20 days", "test", np.array([0, 20]), None,
                           {"CEA": np.array([0.0, -0.4])})  # fmt: skip
    tables = run_scenarios(base, {"crash": crash})
    det = _deterministic_paths(base, crash)
    insts = [c.instrument for c in base.ctx.portfolio.contracts]
    shared = share_depth(insts, base.market, det)
    alone = MCRepoEngine().calculate(insts[1], market=base.market, paths=det)
    repo = _row(tables["scenario_loans"], scenario="crash", loan="repo")
    pledge = _row(tables["scenario_loans"], scenario="crash", loan="pledge")
    assert repo["p_default"] == 1.0 and pledge["p_liquidation"] == 1.0
    assert repo["expected_loss_cny"] == pytest.approx(shared.results[1].extras["expected_loss_cny"], rel=1e-12)
    assert pledge["expected_loss_cny"] == pytest.approx(shared.results[0].extras["expected_loss_cny"], rel=1e-12)
    assert repo["expected_loss_cny"] > alone.extras["expected_loss_cny"]  # 20.45 M against 20.44 M alone


TWO_BOOKS = """
[portfolio]
name = "two books"
horizon_years = 2
n_paths = 2048
seed = 20241031

[market]
prices = "cea"
model = "garch"
dist = "empirical"
discount_rate = 0.02

[[positions]]
name = "CEA desk"
book = "a"
asset = "CEA"
quantity_t = 100000
cost_cny_per_t = 60.0

[[positions]]
name = "CCER desk"
book = "b"
asset = "CCER"
quantity_t = 400000
cost_cny_per_t = 60.0

[books.a.limits]
var_99_10d_cny = 1500000

[books.b.limits]
es_99_1y_cny = 20000000
"""


@pytest.mark.slow
def test_reverse_stress_of_each_books_limits_on_its_own_components(tmp_path: Path) -> None:
    """A file of two books, each with its own limit: each limit's uniform shock is searched on its book's P&L
    only (target ``book a`` / ``book b``), and re-running at the threshold -/+ its precision on the same paths with
    that book's components alone brackets the sign change of figure - limit; no book gets the other's limit."""
    path = tmp_path / "two.toml"
    path.write_text(TWO_BOOKS)
    base = prepare_stress(load_portfolio(path), n_paths=512)
    results = run_reverse_stress(base, n_paths=512)
    uniform = {(r.target, r.question): r for r in results if r.variable == "uniform shock of CEA and CCER"}
    assert set(uniform) == {
        ("book a", "breaches var_99_10d_cny = 1,500,000"),
        ("book b", "breaches es_99_1y_cny = 20,000,000"),
    }
    paths, projects = _subset(base, 512)

    def figure(shock: float, asset: str, fn: Callable[[np.ndarray, np.ndarray], float]) -> float:
        lv = {f: np.full(paths.n_dates, 1.0 + shock) for f in ("CEA", "CCER")}
        mine = [r for c, r in evaluate(base, scaled(paths, lv), projects) if c.position.asset == asset]
        return fn(np.asarray(mine[0].pnl_10d), np.asarray(mine[0].pnl_1y))

    checks = {
        "book a": ("CEA", lambda ten, year: var_es(ten, 0.99, 10).var - 1_500_000),
        "book b": ("CCER", lambda ten, year: var_es(year, 0.99, TRADING_DAYS_PER_YEAR).es - 20_000_000),
    }
    for (target, _), r in uniform.items():
        assert r.converged and r.threshold is not None, r
        asset, fn = checks[target]
        step = max(r.precision, 1e-3)
        lo, hi = figure(r.threshold - step, asset, fn), figure(r.threshold + step, asset, fn)
        assert lo * hi < 0, (target, r.threshold, lo, hi)
