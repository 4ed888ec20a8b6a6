"""Portfolio ``[market]`` anchor / glide, CCER start and basis, the model's backtest and the historical VaR
(issue 13, items 3-5)."""

from __future__ import annotations

import dataclasses
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbonrisk.models.backtest import backtest_var
from carbonrisk.models.catalog import make_spec
from carbonrisk.models.data import PriceHistory, load_prices
from carbonrisk.models.exceptions import CarbonRiskWarning
from carbonrisk.portfolios.analysis import analyse, historical_exposure
from carbonrisk.portfolios.engine import _basis, market_anchor, run_portfolio
from carbonrisk.portfolios.exceptions import InputError
from carbonrisk.portfolios.modelcheck import model_backtest
from carbonrisk.portfolios.portfolio import DEFAULT_CCER_SPOT, Portfolio, load_portfolio, portfolio_from_text
from carbonrisk.portfolios.report import render_html

BOOK = """
[portfolio]
name = "anchor test"
horizon_years = 3
n_paths = 1000
seed = 3

[market]
prices = "cea"
model = "garch"
dist = "empirical"
scenario = "mid"
{market}

[[positions]]
name = "inventory"
asset = "CEA"
quantity_t = 100000
"""


def _book(market: str = "", base: Path | str = ".") -> Portfolio:
    return portfolio_from_text(BOOK.format(market=market), "test.toml", base)


@pytest.fixture(scope="module")
def cea() -> PriceHistory:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_prices("cea")


def test_market_keys_defaults_and_values() -> None:
    spec = _book().market
    assert (spec.anchor_years, spec.glide_years, spec.financing_rate, spec.convenience_yield) == (1.0, 2.0, None, 0.0)
    assert spec.forwards == () and spec.ccer_spot is None and spec.ccer_prices is None
    anchor = market_anchor(_book())
    assert anchor.financing_rate == spec.discount_rate and anchor.forwards is None
    text = "anchor_years = 0.5\nglide_years = 3\nfinancing_rate = 0.03\nconvenience_yield = 0.01\nccer_spot = 65\n"
    text += '[market.forwards]\n"2025-12-31" = 110.0\n"2025-06-30" = 107.0\n'
    spec = _book(text).market
    assert (spec.anchor_years, spec.glide_years, spec.financing_rate, spec.convenience_yield) == (0.5, 3.0, 0.03, 0.01)
    assert spec.ccer_spot == 65.0 and spec.forwards == (("2025-06-30", 107.0), ("2025-12-31", 110.0))
    anchor = market_anchor(_book(text))
    assert anchor.forwards is not None and list(anchor.forwards) == [107.0, 110.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ccer_spot = 70\nccer_discount = 0.8", "cannot be given with ccer_spot"),
        ("ccer_spot = 0", "ccer_spot"),
        ("glide_years = 0", "glide_years"),
        ("anchor_years = -1", "anchor_years"),
        ('[market.forwards]\n"soon" = 100.0', "must be a date"),
        ('[market.forwards]\n"2025-12-31" = -1.0', "2025-12-31"),
        ('ccer_prices = "missing.csv"', "missing file"),
    ],
)
def test_bad_market_keys_are_refused_in_one_line(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        _book(text)
    assert "\n" not in str(err.value)


def test_ccer_starts_at_its_quote(cea: PriceHistory) -> None:
    basis, source = _basis(_book(), cea)
    assert source == "assumed"
    assert cea.last_price * math.exp(-basis.b0) == pytest.approx(DEFAULT_CCER_SPOT, rel=1e-12)
    basis, _ = _basis(_book("ccer_spot = 62.5"), cea)
    assert cea.last_price * math.exp(-basis.b0) == pytest.approx(62.5, rel=1e-12)
    # the assumed parameters stay the documented ones
    assert (basis.kappa, basis.sigma, basis.rho) == (2.0, 0.2, 0.3)


def test_basis_is_fitted_on_a_ccer_history(cea: PriceHistory, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = len(cea.prices)
    b = np.empty(n)
    b[0] = 0.25
    for i in range(1, n):  # AR(1) with a half-life of about 35 trading days around 0.25
        b[i] = 0.25 + 0.98 * (b[i - 1] - 0.25) + 0.01 * rng.standard_normal()
    ccer = cea.prices.to_numpy() * np.exp(-b)
    pd.DataFrame({"date": cea.prices.index.strftime("%Y-%m-%d"), "close": ccer}).to_csv(
        tmp_path / "ccer.csv", index=False
    )
    pf = _book('ccer_prices = "ccer.csv"', tmp_path)
    basis, source = _basis(pf, cea)
    assert source == "fitted on ccer.csv"
    assert basis.b0 == pytest.approx(b[-1], rel=1e-9)  # starts at the last CCER close
    assert basis.mean_basis == pytest.approx(0.25, abs=0.05)
    assert basis.kappa == pytest.approx(-math.log(0.98) * 245, rel=0.6)
    assert abs(basis.rho) < 0.2


def _median_1y(pf: Portfolio) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = run_portfolio(pf)
    fan = analyse(run).tables["fan_CEA"]
    row = list(run.context.fan_rows).index(run.context.row_1y)
    return float(fan["p50"].iloc[row] / fan["p50"].iloc[0])


def test_one_year_median_follows_the_forward_not_the_scenario() -> None:
    anchored = _median_1y(_book())
    assert abs(anchored - 1.0) < 0.10
    # without the anchor the mid scenario (65.87 CNY/t for 2025) pulls the 1-year median far below the spot
    scenario_only = _median_1y(_book("anchor_years = 0\nglide_years = 0.01"))
    assert scenario_only < 0.85


def test_demo_one_year_median_lies_within_ten_percent_of_the_spot() -> None:
    assert abs(_median_1y(load_portfolio(None).with_run(n_paths=1000, seed=5)) - 1.0) < 0.10


STORED_BACKTESTS = Path(__file__).resolve().parents[2] / "models" / "data" / "backtests" / "backtests.csv"


def test_demo_runs_the_backtest_rules_first_choice_among_the_variance_faithful_models(cea: PriceHistory) -> None:
    """Issue 13, item 4: the demo's model meets item 1 and is, among those, the best by the backtest rule.

    The rule (docs/models/price_models.md, "Backtests and the default model"), recomputed here from the stored table
    ``models/data/backtests/backtests.csv``: among the models that neither Kupiec nor Christoffersen conditional
    coverage rejects at 5 % at 95 % and 99 % on CEA and HBEA, the one with the largest smallest conditional-coverage
    p-value. Item 1 (long-run simulated variance within 10 % of the target) is tested per model x dist by
    ``tests/models/test_variance_fidelity.py``; the candidates are the combinations that test covers (EGARCH with
    t or skewed-t innovations is refused for simulation and is not one).
    """
    from tests.models.test_variance_fidelity import COMBOS

    stored = pd.read_csv(STORED_BACKTESTS)
    faithful = {f"{m}-{d}" for m, d in COMBOS}
    rows = stored[stored["model_key"].isin(faithful)]
    ok = (rows["kupiec_pvalue"] >= 0.05) & (rows["cc_pvalue"] >= 0.05)
    per_model = pd.DataFrame(
        {
            "passes_all": ok.groupby(rows["model_key"]).all(),
            "n_rows": rows.groupby("model_key").size(),
            "min_cc": rows.groupby("model_key")["cc_pvalue"].min(),
        }
    )
    assert (per_model["n_rows"] == 4).all()  # two series x two levels for every candidate
    ranked = per_model.sort_values(["passes_all", "min_cc"], ascending=[False, False])
    best, second = ranked.index[0], ranked.index[1]
    assert bool(ranked.loc[best, "passes_all"]), "no model passes both tests at both levels on both series"
    assert ranked.loc[best, "min_cc"] > ranked.loc[second, "min_cc"]  # the rule's choice is not a tie
    demo = load_portfolio(None)
    spec = demo.market
    assert (spec.model, spec.dist) in COMBOS
    assert f"{spec.model}-{spec.dist}" == best, f"the demo runs {spec.model}-{spec.dist}; the rule chooses {best}"
    # ... and the report's model section shows that model's own backtest, which passes
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shown = model_backtest(demo, cea)
    mine = stored[(stored["model_key"] == best) & (stored["data"] == spec.prices)].sort_values("level")
    assert [r["violations"] for r in shown["levels"]] == mine["violations"].tolist()
    assert shown["passes"] and all(r["passes"] for r in shown["levels"])


def test_stored_backtest_is_used_and_a_rejected_model_warns(cea: PriceHistory) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ok = model_backtest(_book(), cea)
    assert ok["passes"] and "stored table" in ok["source"]
    assert [r["level"] for r in ok["levels"]] == [0.95, 0.99]
    assert ok["levels"][0]["violations"] == 20 and ok["levels"][1]["violations"] == 6
    pf = _book()
    pf = dataclasses.replace(pf, market=dataclasses.replace(pf.market, model="garch", dist="t"))
    with pytest.warns(CarbonRiskWarning, match="rejected by its VaR backtest"):
        rejected = model_backtest(pf, cea)
    assert not rejected["passes"] and not rejected["levels"][0]["passes"]


def test_backtest_on_a_file_history_is_computed_with_the_stored_settings(cea: PriceHistory, tmp_path: Path) -> None:
    frame = pd.DataFrame({"date": cea.prices.index.strftime("%Y-%m-%d"), "close": cea.prices.to_numpy()})
    frame.to_csv(tmp_path / "cea.csv", index=False)
    pf = _book(base=tmp_path)
    pf = dataclasses.replace(pf, market=dataclasses.replace(pf.market, prices=str(tmp_path / "cea.csv")))
    history = load_prices(str(tmp_path / "cea.csv"))
    computed = model_backtest(pf, history)
    assert "computed for this report" in computed["source"]
    stored = model_backtest(_book(), cea)
    for a, b in zip(computed["levels"], stored["levels"], strict=True):
        assert a["violations"] == b["violations"]
        assert a["kupiec_pvalue"] == pytest.approx(b["kupiec_pvalue"], rel=1e-6)
        assert a["cc_pvalue"] == pytest.approx(b["cc_pvalue"], rel=1e-6)
    direct = backtest_var(history, make_spec("garch", "empirical"))
    assert computed["levels"][1]["violations"] == direct.levels[1].violations


def test_historical_var_of_an_inventory_and_the_model_section() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = run_portfolio(_book().with_run(n_paths=1000, seed=2))
    exposure, hs = historical_exposure(run)
    s0 = float(run.history.last_price)
    # an inventory's 10-day P&L is q (S_10 - S_0): its CEA-equivalent exposure is q S_0 exactly
    assert exposure == pytest.approx(100_000 * s0, rel=1e-9)
    log_p = np.log(run.history.prices.to_numpy())
    expected = 100_000 * s0 * np.expm1(log_p[10:] - log_p[:-10])
    np.testing.assert_allclose(hs, expected, rtol=1e-9)
    analysis = analyse(run)
    risk = analysis.tables["var_es"].set_index(["horizon", "level"])
    assert risk.loc[("10d", 0.99), "hs_var_cny"] == pytest.approx(-np.quantile(expected, 0.01), rel=1e-9)
    assert np.isnan(risk.loc[("1y", 0.99), "hs_var_cny"])
    page = render_html(run, analysis, "t")
    assert "Price model" in page and "Drift: up to 1 year(s) the expected CEA price follows the carry forward" in page
    assert "kappa 2.00/year, sigma 0.20/sqrt(year), rho 0.30" in page and "CCER starts at 70.00 CNY/t" in page
    assert 'id="model_backtest"' in page and "Model warning" not in page
