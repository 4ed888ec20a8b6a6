"""Issue 15: repos, carbon lending and quota overdrafts share the day's depth with pledge loans of the same asset
(carbonrisk.finance.depth_sharing, on the one allocation rule of carbonrisk.finance.liquidity.allocate_depth).

Properties checked (no published reference exists for a shared-depth liquidation; the references are the
contracts' own standalone engines on the same paths and the allocation rule's definition):

* (a) a contract whose group has no other active trader, or whose depth is not binding, keeps its standalone
  engine's numbers;
* (b) adding a second contract trading the same asset on the same side can only increase the first one's expected
  loss: path by path on falling paths, and in expectation on martingale paths (zero rate: the mean of the paired
  difference at least -4 standard errors);
* (c) with the shared depth set huge (at least the sum of the capacities), shared == standalone exactly;
* the allocation never lets a contract trade faster than alone (cumulative tonnes), for any demands (hypothesis).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbonrisk.finance.carbon_financing import MCLendingEngine, MCOverdraftEngine, MCRepoEngine
from carbonrisk.finance.depth_sharing import BUY, RULE, SELL, share_depth, trade_side
from carbonrisk.finance.instruments import CarbonLending, CarbonRepo, PledgeLoan, QuotaOverdraft
from carbonrisk.finance.liquidity import LiquidationDemand, allocate_depth
from carbonrisk.finance.loans import MCPledgeLoanEngine
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.valuation import value_all
from carbonrisk.models.paths import PathSet
from tests.finance.conftest import gbm_paths

VD = pd.Timestamp("2025-01-02")


def _market(rate: float = 0.02, vol: float = 0.3) -> MarketEnv:
    return MarketEnv.simple(VD, rate, {"CEA": 100.0, "CCER": 70.0}, {"CEA": vol, "CCER": 0.35})


def _repo(**kw: object) -> CarbonRepo:
    """A repo closed out when its coverage falls below 1.1 (the seller never tops up): thin market, 2 000 t a day
    for 30 days (ADV 20 000 t, 10 %)."""
    terms: dict[str, object] = {
        "asset": "CEA", "quantity_t": 100_000.0, "haircut": 0.2, "repo_rate": 0.04, "tenor_years": 1.0,
        "maintenance_ratio": 1.1, "top_up": "never", "adv_t": 20_000.0, "liquidation_share_of_adv": 0.1,
        "max_liquidation_days": 30, "sale_discount": 0.02, "name": "repo",
    }  # fmt: skip
    terms.update(kw)
    return CarbonRepo(**terms)  # type: ignore[arg-type]


def _pledge(**kw: object) -> PledgeLoan:
    terms: dict[str, object] = {
        "collateral": "CEA", "quantity_t": 200_000, "ltv": 0.6, "rate": 0.05, "tenor_years": 1.0,
        "maintenance_ratio": 1.3, "liquidation_ratio": 1.15, "top_up": "never", "liquidation_share_of_adv": 0.1,
        "max_liquidation_days": 30, "haircut": 0.05, "adv_t": 20_000.0, "name": "pledge",
    }  # fmt: skip
    terms.update(kw)
    return PledgeLoan(**terms)  # type: ignore[arg-type]


def _lending(**kw: object) -> CarbonLending:
    """Lending of 100 000 t to a wrong-way borrower (PD 20 %, hazard up with the price), 20 % cash collateral."""
    terms: dict[str, object] = {
        "asset": "CEA", "quantity_t": 100_000.0, "tenor_years": 1.0, "fee_rate": 0.03, "collateral_ratio": 0.2,
        "borrower_pd_1y": 0.2, "pd_price_elasticity": 1.0, "adv_t": 20_000.0, "liquidation_share_of_adv": 0.1,
        "max_liquidation_days": 30, "name": "lending",
    }  # fmt: skip
    terms.update(kw)
    return CarbonLending(**terms)  # type: ignore[arg-type]


def _falling(days: pd.DatetimeIndex, slopes: tuple[float, ...]) -> PathSet:
    """One path per slope: flat at 100 for 30 trading days, a gap down to 85 (a repo's coverage 85 / 80.x is below
    1.1; a pledge loan's 85 / 60 is above its liquidation ratio), then falling by ``slope`` a trading day."""
    steps = np.arange(len(days) + 1)[:, None]
    prices = np.where(steps <= 30, 100.0, 85.0 * (1.0 - np.array(slopes)[None, :]) ** np.maximum(steps - 31, 0))
    return PathSet(pd.DatetimeIndex([VD, *days]), {"CEA": prices, "CCER": 0.7 * prices}, seed_entropy=7)


def _loss(result: object) -> np.ndarray:
    return np.asarray(result.samples["loss_cny"], dtype=float)  # type: ignore[attr-defined]


def test_sides_and_the_rule_name() -> None:
    assert trade_side(_repo()) == ("CEA", SELL) and trade_side(_pledge(collateral="CCER")) == ("CCER", SELL)
    assert trade_side(_lending()) == ("CEA", BUY)
    od = QuotaOverdraft(
        credit_line_t=30_000.0, drawn_t=20_000.0, draw_date="2025-01-15", true_up_date="2025-03-31",
        repay_date="2025-06-30", overdraft_rate=0.05,
    )  # fmt: skip
    assert trade_side(od) == ("CEA", BUY)


def test_two_repos_on_falling_paths_lose_more_together() -> None:
    """Two identical repos closed out on the same day: each sells 1 000 t a day instead of 2 000 (pro rata, depth
    2 000 t), more goes on the 30th, lowest day, so each loses more than alone on every falling path (property b,
    pathwise); the JSON record names the rule and the other contract."""
    a, b = _repo(), _repo(name="repo b")
    market = _market()
    paths = _falling(a.fixing_dates(VD), (0.005, 0.01, 0.02))
    alone = MCRepoEngine().calculate(a, market=market, paths=paths)
    assert np.all(np.asarray(alone.samples["default"], dtype=bool))
    shared = share_depth([a, b], market, paths)
    assert set(shared.results) == {0, 1}
    assert np.all(_loss(shared.results[0]) > _loss(alone) * (1 + 1e-3))
    assert np.array_equal(_loss(shared.results[0]), _loss(shared.results[1]))
    info = shared.results[0].extras["depth_sharing"]
    assert info["rule"] == RULE and info["side"] == SELL and info["shared_with"] == ["repo b"]
    assert info["depth_t_per_day"] == 2_000.0 and info["expected_loss_alone_cny"] == pytest.approx(_loss(alone).mean())
    assert shared.results[0].extras["expected_loss_cny"] == pytest.approx(_loss(shared.results[0]).mean())
    assert shared.results[0].value < alone.value


def test_a_repo_next_to_a_quiet_pledge_keeps_its_standalone_numbers() -> None:
    """Property (a): the pledge loan never liquidates on these paths (85 / 60 stays above 1.15 until late), so the
    repo's schedule is its own and its loss, value and credit figures equal the engine's."""
    repo = _repo(borrower_pd_1y=0.05)
    quiet = _pledge(tenor_years=0.1)
    market = _market()
    paths = _falling(repo.fixing_dates(VD), (0.005, 0.01))
    alone = MCRepoEngine().calculate(repo, market=market, paths=paths)
    shared = share_depth([quiet, repo], market, paths).results[1]
    np.testing.assert_allclose(_loss(shared), _loss(alone), rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(shared.samples["pv_cny"], alone.samples["pv_cny"], rtol=1e-12, atol=1e-6)
    assert shared.extras["ecl_lifetime_cny"] == pytest.approx(alone.extras["ecl_lifetime_cny"], rel=1e-12)


@pytest.mark.parametrize("where", ["adv", "shared depth"])
def test_huge_depth_gives_exactly_the_standalone_numbers(where: str) -> None:
    """Property (c): a repo, a pledge loan and two lending contracts on CEA, GBM paths. Huge market depth (every
    contract trades all on its first day) or a huge shared depth (each keeps its own 2 000 t a day): every
    contract's per-path loss, EAD and value equal its standalone engine's, bit for bit."""
    kw = {"adv_t": 1e12} if where == "adv" else {}
    insts = [_repo(**kw), _pledge(ltv=0.75, **kw), _lending(**kw), _lending(name="lending b", **kw)]
    market = _market()
    paths = gbm_paths(market, insts, 1000, 11)
    depth = {"CEA": math.inf} if where == "shared depth" else None
    shared = share_depth(insts, market, paths, depth_t_per_day=depth)
    assert set(shared.results) == {0, 1, 2, 3} and [g.side for g in shared.groups] == [BUY, SELL]
    engines = [MCRepoEngine(), MCPledgeLoanEngine(), MCLendingEngine(), MCLendingEngine()]
    for i, (inst, engine) in enumerate(zip(insts, engines, strict=True)):
        alone = engine.calculate(inst, market=market, paths=paths, quick=True)
        assert _loss(alone).sum() > 0, inst.label()
        for key in ("loss_cny", "ead_cny", "pv_cny"):
            assert np.array_equal(shared.results[i].samples[key], alone.samples[key]), (inst.label(), key)
        assert shared.results[i].value == alone.value


@pytest.mark.parametrize("second", ["repo", "pledge", "lending"])
def test_a_second_trader_never_lowers_the_first_ones_expected_loss(second: str) -> None:
    """Property (b) in expectation: martingale GBM paths (zero rate, vol 40 %), 4 000 paths, common random numbers.
    The first contract (a repo, or a lending contract for the buy side) alone and next to a second contract on the
    same asset and side: the mean paired difference of its loss is at least -4 standard errors of the paired
    difference (property (b) holds path by path on falling paths, tested above; in expectation it is not a theorem,
    see the module docstring)."""
    market = _market(rate=0.0, vol=0.4)
    first = _lending() if second == "lending" else _repo()
    other = {"repo": _repo(name="repo b", quantity_t=300_000.0), "pledge": _pledge(ltv=0.7),
             "lending": _lending(name="lending b", quantity_t=300_000.0)}[second]  # fmt: skip
    paths = gbm_paths(market, [first, other], 4000, 5)
    engine = MCLendingEngine() if second == "lending" else MCRepoEngine()
    alone = _loss(engine.calculate(first, market=market, paths=paths, quick=True))
    together = _loss(share_depth([first, other], market, paths).results[0])
    diff = together - alone
    se = float(diff.std(ddof=1)) / math.sqrt(diff.size)
    assert alone.mean() > 0
    assert diff.mean() >= -4.0 * se


def test_the_overdraft_and_a_lone_contract() -> None:
    """An overdraft's buy-in shares with a lending contract's (buy side); a contract alone on its asset and side
    (the repo: the only seller) is not redone; a CCER contract does not share with CEA ones."""
    od = QuotaOverdraft(
        credit_line_t=300_000.0, drawn_t=200_000.0, draw_date="2025-01-15", true_up_date="2025-03-31",
        repay_date="2025-12-30", overdraft_rate=0.05, borrower_pd_1y=0.3, adv_t=20_000.0, name="od",
    )  # fmt: skip
    insts = [_lending(), od, _repo(), _lending(asset="CCER", name="ccer lending")]
    market = _market()
    paths = gbm_paths(market, insts, 1000, 3)
    shared = share_depth(insts, market, paths)
    assert set(shared.results) == {0, 1}
    alone = MCOverdraftEngine().calculate(od, market=market, paths=paths)
    diff = _loss(shared.results[1]) - _loss(alone)
    assert np.any(diff != 0) and diff.mean() >= -4.0 * float(diff.std(ddof=1)) / math.sqrt(diff.size)
    assert shared.results[1].extras["depth_sharing"]["side"] == BUY


def test_value_all_shares_the_depth_of_one_contract_file() -> None:
    """``carbonrisk value`` (:func:`carbonrisk.finance.valuation.value_all`): a repo and a pledge loan on CEA in one
    file are valued with shared depth (their extras carry the record); alone in a file the repo has none."""
    market = _market()
    both = value_all([_repo(borrower_pd_1y=0.1), _pledge(ltv=0.75)], market, n_paths=2000, rng=9,
                     sensitivities=False)  # fmt: skip
    solo = value_all([_repo(borrower_pd_1y=0.1)], market, n_paths=2000, rng=9, sensitivities=False)
    info = both[0].result.extras["depth_sharing"]
    assert info["rule"] == RULE and info["shared_with"] == ["pledge"]
    assert "depth_sharing" not in solo[0].result.extras
    # the same paths (same dates and seed): the file's repo alone has the standalone expected loss of the record
    assert solo[0].result.extras["expected_loss_cny"] == pytest.approx(info["expected_loss_alone_cny"], rel=1e-12)
    assert both[0].result.extras["expected_loss_cny"] != info["expected_loss_alone_cny"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-1, 6), st.floats(0, 5_000), st.sampled_from([100.0, 250.0, 400.0]), st.integers(1, 6)),
        min_size=2,
        max_size=4,
    ),
    st.sampled_from([None, 150.0, 1e9]),
)
def test_nobody_trades_faster_than_alone(spec: list[tuple[int, float, float, int]], depth: float | None) -> None:
    """For any demands: each trader's cumulative tonnes by every day is at most what it trades alone
    (``min(q, d c)`` before its last day), and it trades all of its quantity by its last day."""
    demands = [LiquidationDemand(np.array([s]), np.array([q]), c, m) for s, q, c, m in spec]
    shared = allocate_depth(demands, 14, depth_t_per_day=depth)
    for d, x in zip(demands, shared, strict=True):
        alone = allocate_depth([d], 14)[0]
        assert np.all(np.cumsum(x[:, 0]) <= np.cumsum(alone[:, 0]) + 1e-9)
        assert x[:, 0].sum() == pytest.approx(d.quantity_t[0] if d.start_day[0] >= 0 else 0.0, abs=1e-9)


def test_depth_a_capped_trader_leaves_is_passed_on_to_the_others() -> None:
    """Water-filling: capacities 10 and 100 t/day, depth 100 t/day, both with 1 000 t to sell: pro rata alone would
    give each 50 t (the first capped at 10, 40 t of depth unused); the rule trades 10 + 90 = 100 t, the whole depth."""
    demands = [LiquidationDemand(np.array([0]), np.array([1_000.0]), c, 30) for c in (10.0, 100.0)]
    small, large = allocate_depth(demands, 30, depth_t_per_day=100.0)
    assert small[0, 0] == pytest.approx(10.0) and large[0, 0] == pytest.approx(90.0)


def test_every_trader_keeps_its_standalone_schedule_when_depth_covers_all_capacities() -> None:
    """D = sum of the capacities (100 + 100 t/day) with 1 000 t and 10 t to sell: each trades exactly what it
    trades alone (the small one its 10 t on day 0, not its 1 % pro-rata share of the depth)."""
    demands = [LiquidationDemand(np.array([0]), np.array([q]), 100.0, 30) for q in (1_000.0, 10.0)]
    shared = allocate_depth(demands, 30, depth_t_per_day=200.0)
    for d, x in zip(demands, shared, strict=True):
        assert np.array_equal(x, allocate_depth([d], 30)[0])


def test_the_allocation_in_chunks_of_paths_gives_the_same_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The allocation is per path: chunks of 7 paths give bit for bit the numbers of one chunk of all 500."""
    import carbonrisk.finance.depth_sharing as sharing

    insts = [_repo(), _pledge(ltv=0.75), _repo(name="repo b", quantity_t=300_000.0)]
    market = _market()
    paths = gbm_paths(market, insts, 500, 2)
    whole = share_depth(insts, market, paths)
    monkeypatch.setattr(sharing, "CHUNK_PATHS", 7)
    chunked = share_depth(insts, market, paths)
    for i in range(3):
        assert np.array_equal(whole.results[i].samples["loss_cny"], chunked.results[i].samples["loss_cny"])
        assert np.array_equal(whole.results[i].samples["pv_cny"], chunked.results[i].samples["pv_cny"])


def test_a_given_depth_applies_to_a_contract_alone_on_its_asset() -> None:
    """A day's depth given for an asset binds a contract that is alone on it too: a quarter of its own 2 000 t a
    day raises its expected loss by more than 4 standard errors of the paired difference (selling four times more
    slowly on GBM paths; not path by path: a slower sale can meet a recovering price); its own capacity as the depth
    gives its engine's numbers exactly."""
    market = _market(vol=0.5)
    repo = _repo()
    paths = gbm_paths(market, [repo], 400, 3)
    alone = _loss(MCRepoEngine().calculate(repo, market=market, paths=paths, quick=True))
    assert (alone > 0).any()
    thin = share_depth([repo], market, paths, depth_t_per_day={"CEA": 500.0}).results
    diff = _loss(thin[0]) - alone
    assert set(thin) == {0} and diff.mean() > 4.0 * float(diff.std(ddof=1)) / math.sqrt(diff.size)
    own = share_depth([repo], market, paths, depth_t_per_day={"CEA": 2_000.0}).results
    assert np.array_equal(_loss(own[0]), alone)
