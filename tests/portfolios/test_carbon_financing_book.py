"""Issue 18: repo, lending, custody and overdraft as contracts of a portfolio file, revalued at the risk horizons.

They have no closed form at a horizon, so the portfolio engine regresses their engine's per-path present value on
the price at the horizon (:class:`carbonrisk.finance.revaluation.RegressionRevaluation`, as for pledge loans). Checks:

* a contract whose present value is the same on every path (lending to a risk-free borrower for a cash fee, a
  repo whose seller never fails and always meets its calls) has the P&L of a deterministic claim,
  :math:`V_0 (1/P(0,h) - 1)`, on every path at both horizons;
* with defaulting counterparties the horizon value is a martingale under the run's measure: the mean over the
  run's paths of :math:`P(0,h) (V_h + CF)` equals today's value within 4 standard errors (the pilot regression's
  value today is an independent estimate from its own seed stream);
* the contracts table reports them as regressions and the book's VaR is finite.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbonrisk.finance.instruments import CarbonCustody, CarbonLending, CarbonRepo, QuotaOverdraft
from carbonrisk.models.random import BLOCK_PATHS
from carbonrisk.portfolios.analysis import analyse
from carbonrisk.portfolios.engine import PortfolioRun, run_portfolio
from carbonrisk.portfolios.portfolio import load_portfolio

BOOK = """
[portfolio]
name = "carbon financing"
horizon_years = 2
n_paths = {n}
seed = 20241031
valuation_date = "2024-10-31"

[market]
prices = "cea"
model = "garch"
discount_rate = 0.02

[[contracts]]
type = "carbon_lending"
name = "risk-free lending"
asset = "CEA"
quantity_t = 200000
tenor_years = 0.5
fee_rate = 0.03

[[contracts]]
type = "carbon_repo"
name = "safe repo"
asset = "CEA"
quantity_t = 500000
haircut = 0.2
repo_rate = 0.04
tenor_years = 1.0
maintenance_ratio = 1.1
top_up = "always"

[[contracts]]
type = "carbon_repo"
name = "risky repo"
asset = "CEA"
quantity_t = 1000000
haircut = 0.1
repo_rate = 0.045
tenor_years = 1.0
maintenance_ratio = 1.05
top_up = "wrong_way"
borrower_pd_1y = 0.05
pd_price_elasticity = -1.0
sale_discount = 0.05
max_liquidation_days = 30

[[contracts]]
type = "carbon_lending"
name = "risky lending"
asset = "CEA"
quantity_t = 500000
tenor_years = 1.5
fee_rate = 0.03
collateral_ratio = 0.5
rating = "B"
pd_price_elasticity = 1.0

[[contracts]]
type = "carbon_custody"
name = "custody"
asset = "CEA"
quantity_t = 1000000
tenor_years = 1.0
lending_fee_rate = 0.03
guaranteed_return_cny_per_t = 1.5
rating = "BB"
manager_pd_1y = 0.02
side = "manager"

[[contracts]]
type = "quota_overdraft"
name = "overdraft"
credit_line_t = 300000
drawn_t = 200000
draw_date = "2024-11-15"
true_up_date = "2024-12-31"
repay_date = "2025-06-30"
overdraft_rate = 0.05
rating = "BBB"
pd_price_elasticity = 1.0
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> PortfolioRun:
    path = tmp_path_factory.mktemp("cfin") / "book.toml"
    path.write_text(BOOK.format(n=BLOCK_PATHS), encoding="utf-8")
    return run_portfolio(load_portfolio(path))


def test_the_contracts_are_read_from_the_portfolio_file(run: PortfolioRun) -> None:
    kinds = [type(c.instrument) for c in run.portfolio.contracts]
    assert kinds == [CarbonLending, CarbonRepo, CarbonRepo, CarbonLending, CarbonCustody, QuotaOverdraft]


def test_deterministic_contracts_have_the_pnl_of_a_riskless_claim(run: PortfolioRun) -> None:
    ctx = run.context
    market = ctx.market.build()
    for c in (0, 1):
        v0 = ctx.value_today[c]
        assert v0 > 0
        for key, row in (("pnl_10d", ctx.row_10d), ("pnl_1y", ctx.row_1y)):
            df_h = float(market.df(pd.DatetimeIndex([ctx.dates[row]]))[0])
            np.testing.assert_allclose(run.arrays[key][c], v0 * (1.0 / df_h - 1.0), rtol=1e-6, atol=1e-6 * v0)


def test_risky_contracts_horizon_values_are_martingales(run: PortfolioRun) -> None:
    ctx = run.context
    market = ctx.market.build()
    for c in (2, 3, 4, 5):
        v0 = ctx.value_today[c]
        reg = ctx.regressions[c]
        assert reg is not None
        for i, (key, row) in enumerate((("pnl_10d", ctx.row_10d), ("pnl_1y", ctx.row_1y))):
            df_h = float(market.df(pd.DatetimeIndex([ctx.dates[row]]))[0])
            discounted = (run.arrays[key][c] + v0) * df_h
            se = float(discounted.std(ddof=1)) / np.sqrt(discounted.size)
            pilot_se = reg[i].value_today_se
            assert abs(float(discounted.mean()) - v0) <= 4.0 * np.hypot(se, pilot_se) + 1e-9 * abs(v0)


def test_analysis_reports_them_as_regressions(run: PortfolioRun) -> None:
    analysis = analyse(run)
    table = analysis.tables["contracts"]
    assert len(table) == 6
    assert set(table["revaluation"]) <= {"regression on pilot set", "pathwise (settled by 1y)"}
    assert np.isfinite(analysis.metrics["var_99_10d_cny"]) and np.isfinite(analysis.metrics["es_99_1y_cny"])


def test_portfolio_error_names_the_contract_line(tmp_path: Path) -> None:
    from carbonrisk.models.exceptions import InputError

    path = tmp_path / "bad.toml"
    path.write_text(BOOK.format(n=BLOCK_PATHS).replace("haircut = 0.2", "haircut = 1.5"), encoding="utf-8")
    with pytest.raises(InputError, match=r"contracts\[1\] 'safe repo' \(carbon_repo\): haircut = 1\.5 is not in"):
        load_portfolio(path)


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("carbon_repo", ("financier_npv_cny", "seller_npv_cny", "break_even_repo_rate", "expected_margin_t")),
        ("carbon_lending", ("lender_npv_cny", "pv_fee_cny", "break_even_fee_rate", "fee_rate_for_target")),
        ("carbon_custody", ("owner_npv_cny", "manager_npv_cny", "total_npv_cny", "break_even_guarantee_cny")),
        ("quota_overdraft", ("entity_cost_cny", "commitment_fee_cny", "interest_t", "break_even_overdraft_rate")),
    ],
)
def test_value_command_json(name: str, keys: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from carbonrisk.portfolios.cli import main

    code = main(["value", "--example", name, "--paths", "2000", "--seed", "4", "--json", "--no-sensitivities"])
    out, _ = capsys.readouterr()
    assert code == 0
    (item,) = json.loads(out)["instruments"]
    assert item["type"] == name and np.isfinite(item["value"])
    for key in (*keys, "p_default", "expected_loss_cny", "exposure_at_default_cny"):
        assert key in item["extras"], key
