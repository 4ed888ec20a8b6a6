"""One book's forced trades of an asset share each day's market depth: pledge loans, repos, lending, overdrafts.

A contract valued alone assumes that its forced trade (a pledge loan's collateral sale, a repo financier's
close-out, a lender's buy-in) has the market's depth for itself: at most ``liquidation_share_of_adv`` x its market
depth a day for ``max_liquidation_days`` days, the rest in a block on the last day. When several contracts of one
book (one portfolio, or one contract file) trade the same asset on the same path and day, this module shares that
depth between them with the one allocation rule of :func:`carbonrisk.finance.liquidity.allocate_depth`.

Scope and rule
    **Who shares.** The contracts whose engine sells or buys tonnes in a thin market on a default:

    =======================================================  ============  =========================================
    contract                                                 side          first trade day (of its ``fixing_dates``)
    =======================================================  ============  =========================================
    :class:`~carbonrisk.finance.instruments.PledgeLoan`      sell          the day after the trigger
    :class:`~carbonrisk.finance.instruments.CarbonRepo`      sell          the default day (from its close)
    :class:`~carbonrisk.finance.instruments.CarbonLending`   buy (buy-in)  the default day
    :class:`~carbonrisk.finance.instruments.QuotaOverdraft`  buy (buy-in)  the default day
    =======================================================  ============  =========================================

    grouped by asset (``collateral`` / ``asset``: CEA or CCER) **and side**. Forced sellers share the depth of the
    bid side, forced buyers that of the offer side; a forced sale and a buy-in on the same day do not compete (they
    are on opposite sides of the order book; netting them, a buy-in absorbing a sale, is not modelled, which errs on
    the side of a larger loss). A custody contract's lending to its borrowers is not included (its outcome is nested
    in the custody decomposition), nor are contracts linked to a project.

    **The rule** (:func:`~carbonrisk.finance.liquidity.allocate_depth`): on each day and path the day's depth
    :math:`D` is split pro rata to the tonnes each active trader still has to trade, capped at its own capacity
    :math:`c_i = \\text{share}_i \\times \\text{depth}_i`, the depth a capped trader leaves passed on to the others
    (water-filling); on its last allowed day a trader trades all it still holds.
    :math:`D` is ``depth_t_per_day[asset]`` when given, else the largest :math:`c_i` of the group. A contract alone
    in its group is not redone; with :math:`D \\ge \\sum_i c_i` every contract keeps its standalone schedule.

    **What changes.** The triggers (defaults, margin calls, top-ups) do not depend on the sale, so each contract is
    simulated alone, its demand (first trade day and tonnes per path) is taken from that outcome, the group's
    demands are allocated, and only the proceeds (or the buy-in cost) and what follows from them are redone: the
    recovery, loss, exposure at default of a buy-in, present value, expected cash flows and the credit figures. A
    path on which a contract's shared schedule is its standalone one (nobody else trading in its window, or the
    depth not binding) keeps the engine's own numbers bit for bit.
    The engine's searches (``max_ltv_for_target``, ``break_even_repo_rate``, ``repo_rate_for_target``) re-simulate
    the contract alone. Per path, deterministic: the same path set gives the same numbers whatever the block split.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from carbonrisk.finance.carbon_financing import (
    lending_result,
    lent_demand,
    market_depth_t,
    overdraft_result,
    rebought,
    repo_demand,
    repo_result,
    resold_repo,
    simulate_lending,
    simulate_overdraft,
    simulate_repo,
)
from carbonrisk.finance.exceptions import ContractError
from carbonrisk.finance.instruments import CarbonLending, CarbonRepo, Instrument, PledgeLoan, QuotaOverdraft
from carbonrisk.finance.liquidity import LiquidationDemand, allocate_depth
from carbonrisk.finance.loans import market_depth_t as pledge_depth_t
from carbonrisk.finance.loans import pledge_demand, pledge_result, resold_pledge, simulate_pledge_loan
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.results import PricingResult, prices_on
from carbonrisk.models.paths import PathSet

__all__ = [
    "BUY",
    "CHUNK_PATHS",
    "RULE",
    "RULE_TEXT",
    "SELL",
    "DepthGroup",
    "SharedDepth",
    "share_depth",
    "trade_side",
]

SELL: str = "sell"
BUY: str = "buy"
RULE: str = "pro_rata_remaining_water_filled"
"""Name of the allocation rule in the outputs (``depth_sharing.rule``)."""
RULE_TEXT: str = (
    "each day's depth of an asset is shared by the book's forced trades on the same side (sales: pledge loans and "
    "repos; buy-ins: carbon lending and quota overdrafts) pro rata to the tonnes each still has to trade, capped at "
    "its own capacity, the depth a capped trade leaves passed on to the others; on its last allowed day a contract "
    "trades the rest (carbonrisk.finance.liquidity.allocate_depth)"
)


def trade_side(instrument: Instrument) -> tuple[str, str] | None:
    """``(asset, side)`` of a contract's forced trade (module table), None for contracts without one."""
    if isinstance(instrument, PledgeLoan):
        return instrument.collateral, SELL
    if isinstance(instrument, CarbonRepo):
        return instrument.asset, SELL
    if isinstance(instrument, CarbonLending | QuotaOverdraft):
        return instrument.asset, BUY
    return None


@dataclass(frozen=True)
class DepthGroup:
    """Contracts of one book that share one asset's depth on one side.

    Attributes
    ----------
    asset, side : str
    members : tuple of int
        Positions of the contracts in the sequence given to :func:`share_depth`.
    depth_t_per_day : float
        The day's depth :math:`D` they share.
    capacities_t_per_day : tuple of float
        Each member's own capacity :math:`c_i` (what it would trade a day alone).
    """

    asset: str
    side: str
    members: tuple[int, ...]
    depth_t_per_day: float
    capacities_t_per_day: tuple[float, ...]

    def to_dict(self, labels: Sequence[str]) -> dict[str, Any]:
        """JSON record: rule, asset, side, depth, contracts and their capacities."""
        return {
            "rule": RULE,
            "asset": self.asset,
            "side": self.side,
            "depth_t_per_day": self.depth_t_per_day,
            "contracts": [labels[i] for i in self.members],
            "capacities_t_per_day": list(self.capacities_t_per_day),
        }


@dataclass(frozen=True)
class SharedDepth:
    """The contracts redone with shared depth: ``results[i]`` replaces contract ``i``'s own engine result."""

    results: Mapping[int, PricingResult]
    groups: tuple[DepthGroup, ...]

    def to_dict(self, labels: Sequence[str]) -> dict[str, Any]:
        """JSON record: the rule, its text and one record per group (empty list when nothing is shared)."""
        return {"rule": RULE, "description": RULE_TEXT, "groups": [g.to_dict(labels) for g in self.groups]}


@dataclass(frozen=True)
class _Kind:
    """How one contract type takes part: simulate alone, its demand, the outcome redone, the engine's result."""

    simulate: Callable[[Any, MarketEnv, PathSet], Any]
    demand: Callable[[Any, Any, MarketEnv], LiquidationDemand]
    redo: Callable[[Any, Any, np.ndarray, MarketEnv, np.ndarray], Any]
    result: Callable[[Any, MarketEnv, PathSet, Any, bool], PricingResult]
    capacity: Callable[[Any, MarketEnv], float]


def _kind(instrument: Instrument) -> _Kind:
    if isinstance(instrument, PledgeLoan):
        return _Kind(
            lambda i, m, p: simulate_pledge_loan(i, m, p, adv_t=pledge_depth_t(i, m)),
            pledge_demand,
            lambda i, o, g, m, c: resold_pledge(i, o, g, c),
            lambda i, m, p, o, q: pledge_result(i, m, p, o, quick=q),
            lambda i, m: i.liquidation_share_of_adv * pledge_depth_t(i, m),
        )
    if isinstance(instrument, CarbonRepo):
        return _Kind(
            lambda i, m, p: simulate_repo(i, m, p, depth_t_per_day=market_depth_t(i, m)),
            repo_demand,
            lambda i, o, g, m, c: resold_repo(i, o, g, c),
            lambda i, m, p, o, q: repo_result(i, m, p, o, rng=None, quick=q),
            lambda i, m: i.liquidation_share_of_adv * market_depth_t(i, m),
        )
    if isinstance(instrument, CarbonLending):
        return _Kind(
            lambda i, m, p: simulate_lending(i, m, p, depth_t_per_day=market_depth_t(i, m)),
            lent_demand,
            rebought,
            lambda i, m, p, o, q: lending_result(i, m, p, o),
            lambda i, m: i.liquidation_share_of_adv * market_depth_t(i, m),
        )
    if isinstance(instrument, QuotaOverdraft):
        return _Kind(
            lambda i, m, p: simulate_overdraft(i, m, p, depth_t_per_day=market_depth_t(i, m)),
            lent_demand,
            rebought,
            lambda i, m, p, o, q: overdraft_result(i, m, p, o),
            lambda i, m: i.liquidation_share_of_adv * market_depth_t(i, m),
        )
    raise ContractError(f"'{instrument.label()}' ({type(instrument).__name__}) makes no forced trade")


CHUNK_PATHS: int = 8192
"""Paths allocated at a time (the allocation is per path: chunks only bound the memory of the day-by-path
schedules, ``n_days x CHUNK_PATHS`` per contract)."""


def _traded_value(
    demands: Sequence[LiquidationDemand], prices: np.ndarray, depth: float
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    r"""Per contract: the value of its shared schedule :math:`\sum_d x_d S_d` per path, and the paths where that
    schedule differs from its standalone one (elsewhere the contract keeps its engine's numbers bit for bit)."""
    n_days, n = prices.shape
    gross = [np.zeros(n) for _ in demands]
    changed = [np.zeros(n, dtype=bool) for _ in demands]
    for lo in range(0, n, CHUNK_PATHS):
        cols = slice(lo, min(lo + CHUNK_PATHS, n))
        part = [
            LiquidationDemand(d.start_day[cols], d.quantity_t[cols], d.capacity_t_per_day, d.max_days) for d in demands
        ]
        traded = allocate_depth(part, n_days, depth_t_per_day=depth)
        for j, (d, x) in enumerate(zip(part, traded, strict=True)):
            gross[j][cols] = (x * prices[:, cols]).sum(axis=0)
            changed[j][cols] = np.any(x != allocate_depth([d], n_days)[0], axis=0)
    return gross, changed


def share_depth(
    instruments: Sequence[Instrument | None],
    market: MarketEnv,
    paths: PathSet,
    *,
    depth_t_per_day: Mapping[str, float] | None = None,
    quick: bool = True,
) -> SharedDepth:
    """The contracts of a book whose forced trades share an asset's depth with another's, redone (module rule).

    Parameters
    ----------
    instruments : sequence of Instrument or None
        The book's contracts (``None`` = a position that does not take part, e.g. a project-linked contract).
    market : MarketEnv
    paths : PathSet
        Prices on every contract's ``fixing_dates``; its ``seed_entropy`` drives the contracts' own randomness
        (defaults, top-ups) as when their engines run on it without ``rng``.
    depth_t_per_day : mapping of str to float, optional
        The day's depth :math:`D` per asset (> 0, ``inf`` allowed); default the largest capacity of the group.
    quick : bool, default True
        Passed to the engines' result (True skips their searches, as in the portfolio's blocks).

    Returns
    -------
    SharedDepth
        ``results``: per position of a contract sharing its group with another, the engine's result on the
        shared outcome, with ``extras["depth_sharing"]`` (rule, asset, side, depth, the other contracts, its
        standalone expected loss); ``groups``: the groups of two or more.
    """
    vd = market.valuation_date
    members: dict[tuple[str, str], list[int]] = {}
    for i, inst in enumerate(instruments):
        key = None if inst is None else trade_side(inst)
        if key is not None:
            members.setdefault(key, []).append(i)
    results: dict[int, PricingResult] = {}
    groups: list[DepthGroup] = []
    labels = [inst.label() if inst is not None else "" for inst in instruments]
    for (asset, side), idx in sorted(members.items()):
        if len(idx) < 2 and (depth_t_per_day is None or asset not in depth_t_per_day):
            continue  # a contract alone on its asset and side, at its own depth: its engine's numbers
        insts = [instruments[i] for i in idx]
        assert all(inst is not None for inst in insts)
        kinds = [_kind(inst) for inst in insts if inst is not None]
        days = [inst.fixing_dates(vd) for inst in insts if inst is not None]
        axis = max(days, key=len)
        for i, own in zip(idx, days, strict=True):
            if not axis[: len(own)].equals(own):  # pragma: no cover - every contract's days start at the valuation date
                raise ContractError(f"'{labels[i]}': its trading days are not a prefix of the shared axis")
        alone = [k.simulate(inst, market, paths) for k, inst in zip(kinds, insts, strict=True)]
        demands = [k.demand(inst, o, market) for k, inst, o in zip(kinds, insts, alone, strict=True)]
        caps = tuple(float(d.capacity_t_per_day) for d in demands)
        given = None if depth_t_per_day is None else depth_t_per_day.get(asset)
        depth = max(caps) if given is None else float(given)
        gross, changed = _traded_value(demands, prices_on(paths, asset, axis), depth)
        group = DepthGroup(asset, side, tuple(idx), depth, caps)
        groups.append(group)
        for i, k, inst, out, g, c in zip(idx, kinds, insts, alone, gross, changed, strict=True):
            redone = k.redo(inst, out, g, market, c)
            shared = k.result(inst, market, paths, redone, quick)
            info = group.to_dict(labels) | {
                "shared_with": [labels[j] for j in idx if j != i],
                "expected_loss_alone_cny": float(np.mean(out.loss_cny)),
            }
            results[i] = replace(shared, extras={**shared.extras, "depth_sharing": info})
    return SharedDepth(results, tuple(groups))
