"""TOML contract files and the shipped examples; valuation orchestration and sensitivities."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from carbonrisk.finance.contracts import example_names, example_text, load_contract_file, load_example
from carbonrisk.finance.engines import MCAsianEngine
from carbonrisk.finance.exceptions import ContractError, MarketDataError
from carbonrisk.finance.instruments import AsianOption, CarbonSwaption, EuropeanOption
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.valuation import FixedPaths, GBMSource, path_dates, value_all

EXPECTED_EXAMPLES = {
    "asian_option",
    "carbon_custody",
    "carbon_lending",
    "carbon_repo",
    "carbon_swap",
    "carbon_swaption",
    "early_monetisation",
    "european_option",
    "exchange_option",
    "forward",
    "guaranteed_purchase",
    "guaranteed_sale",
    "pledge_loan",
    "project_loan",
    "quota_overdraft",
}
EXPECTED_EXAMPLES |= {"structured_deposit", "carbon_linked_bond"}  # structured products (issue 18)


def test_every_instrument_has_an_example() -> None:
    assert set(example_names()) == EXPECTED_EXAMPLES


@pytest.mark.parametrize("name", sorted(EXPECTED_EXAMPLES))
def test_examples_value(name: str) -> None:
    contract = load_example(name)
    results = value_all(contract.instruments, contract.market, n_paths=2048, rng=1, sensitivities=False)
    for inst in contract.instruments:
        flows = inst.cashflows()
        assert isinstance(flows, pd.DataFrame) and len(flows) > 0
    for r in results:
        d = r.to_dict()
        assert math.isfinite(d["value"]) and d["std_error"] >= 0
        for check in d["checks"]:  # analytic vs MC on the same market
            assert abs(check["difference"]) < 4 * check["std_error"] + 1e-9 * abs(d["value"])


def test_swaption_example_has_inline_swap() -> None:
    contract = load_example("carbon_swaption")
    assert isinstance(contract.instruments[0], CarbonSwaption)
    assert "discount_quotes" in example_text("carbon_swap")


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "c.toml"
    market = '[market]\nvaluation_date = "2024-10-31"\ndiscount_rate = 0.02\n[market.CEA]\nspot = 100.0\nvol = 0.3\n'
    path.write_text(market + body, encoding="utf-8")
    return path


def test_unknown_field_and_type(tmp_path: Path) -> None:
    bad = _write(tmp_path, '[[instrument]]\ntype = "forward"\nunderlying = "CEA"\nquantity = 1\n')
    with pytest.raises(
        ContractError, match=r"^instrument 1 \(forward\) \(forward\): unknown field 'quantity'; allowed: "
    ):
        load_contract_file(bad)
    bad = _write(tmp_path, '[[instrument]]\ntype = "bond"\n')
    with pytest.raises(ContractError, match=r"type='bond' must be one of forward, european_option"):
        load_contract_file(bad)
    bad = _write(tmp_path, '[[instrument]]\ntype = "forward"\nunderlying = "CEA"\n')
    with pytest.raises(ContractError, match=r"missing field 'quantity_t'$"):
        load_contract_file(bad)


def test_market_needs_one_discount(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[market]\nvaluation_date = "2024-10-31"\n[[instrument]]\ntype = "forward"\n', encoding="utf-8")
    with pytest.raises(MarketDataError, match="give exactly one of 'discount_rate'"):
        load_contract_file(path)


def test_sensitivities_match_black76_greeks(market: MarketEnv) -> None:
    # bump-and-revalue on the analytic engine against the Black-76 delta and vega (carry curve: F = S e^{bT})
    opt = EuropeanOption(
        underlying="CEA", option_type="call", strike_cny_per_t=105.0, expiry="2025-10-31", quantity_t=10
    )
    (v,) = value_all([opt], market, n_paths=1024, rng=0)
    t = (opt.expiry - market.valuation_date).days / 365.0
    f = market.forward("CEA", pd.DatetimeIndex([opt.expiry]))[0]
    df = market.df(opt.expiry)[0]
    sig = market.vol("CEA")
    d1 = (math.log(f / 105.0) + 0.5 * sig**2 * t) / (sig * math.sqrt(t))
    delta = 10 * df * norm.cdf(d1) * f / market.spot("CEA")
    vega = 10 * df * f * norm.pdf(d1) * math.sqrt(t) * 0.01
    assert v.sensitivities["delta"]["CEA"] == pytest.approx(delta, rel=1e-3)
    assert v.sensitivities["vega"]["CEA"] == pytest.approx(vega, rel=1e-3)
    assert v.checks and abs(v.checks[0].value - v.result.value) < 4 * v.checks[0].std_error
    row = v.to_frame().iloc[0]
    assert row["delta_CEA"] == v.sensitivities["delta"]["CEA"] and row["method"] == v.result.method


def test_fixed_paths_source_plugs_in_without_touching_instruments(market: MarketEnv) -> None:
    # a path set from another model: engines only see the PathSet; spot bumps rescale it, vega is not offered
    opt = EuropeanOption(underlying="CEA", option_type="call", strike_cny_per_t=100.0, expiry="2025-06-30")
    paths = GBMSource().simulate(market, path_dates([opt], market.valuation_date), 4096, 3)
    (v,) = value_all([opt], market, n_paths=4096, rng=3, source=FixedPaths(paths))
    assert "vega" not in v.sensitivities and v.sensitivities["delta"]["CEA"] > 0
    (g,) = value_all([opt], market, n_paths=4096, rng=3)
    assert v.checks[0].value == pytest.approx(g.checks[0].value, rel=1e-12)


def test_quoted_forwards_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "f.toml"
    path.write_text(
        '[market]\nvaluation_date = "2024-10-31"\ndiscount_rate = 0.02\n'
        '[market.CCER]\nspot = 70.0\nvol = 0.3\nforwards = { "2025-06-30" = 72.5, "2025-12-31" = 74.0 }\n'
        '[[instrument]]\ntype = "forward"\nunderlying = "CCER"\nquantity_t = 1000\nstrike_cny_per_t = 71.0\n'
        'delivery_date = "2025-06-30"\n',
        encoding="utf-8",
    )
    contract = load_contract_file(path)
    (v,) = value_all(contract.instruments, contract.market, n_paths=1024, rng=0, sensitivities=False)
    df = contract.market.df(pd.Timestamp("2025-06-30"))[0]
    assert v.result.value == pytest.approx(1000 * df * (72.5 - 71.0), rel=1e-12)


def test_quote_file_is_read_relative_to_the_contract(tmp_path: Path) -> None:
    (tmp_path / "q.csv").write_text("instrument,tenor,rate\ndeposit,3M,0.018\nirs,2Y,0.017\n", encoding="utf-8")
    path = tmp_path / "c.toml"
    path.write_text(
        example_text("forward").replace("discount_rate = 0.018", 'discount_quotes = "q.csv"'), encoding="utf-8"
    )
    contract = load_contract_file(path)
    assert contract.market.discount.description.startswith("bootstrap of 2 quotes from q.csv")


def test_crn_monte_carlo_delta_matches_analytic(market: MarketEnv) -> None:
    # Geometric Asian call: the MC delta by bump-and-revalue on common random numbers against the delta of
    # QuantLib's analytic engine (same bumps); tolerance 4 s.e. of the pathwise delta estimator
    # df * 1{G > K} * G / S0 (Broadie & Glasserman 1996), which the CRN finite difference approximates.
    opt = AsianOption(
        underlying="CEA",
        option_type="call",
        strike_cny_per_t=100.0,
        averaging_start="2025-01-02",
        averaging_end="2025-06-30",
        average="geometric",
    )
    n = 20_000
    (mc,) = value_all([opt], market, n_paths=n, rng=4, engines=lambda i: (MCAsianEngine(),))
    (an,) = value_all([opt], market, n_paths=n, rng=4)
    paths = GBMSource().simulate(market, path_dates([opt], market.valuation_date), n, 4)
    g = np.exp(np.log(paths["CEA"][paths.dates.get_indexer(opt.fixing_dates(market.valuation_date))]).mean(axis=0))
    pathwise = market.df(opt.payment_date)[0] * (g > 100.0) * g / market.spot("CEA")
    se = pathwise.std(ddof=1) / np.sqrt(n)
    assert abs(mc.sensitivities["delta"]["CEA"] - an.sensitivities["delta"]["CEA"]) < 4 * se
