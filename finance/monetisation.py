r"""Early monetisation and financing of future CCER vintages: the five levers of the portfolio report, and the
engine of the ``future_credit_monetisation`` contract.

Levers (:func:`lever_flows`, one repayment rule each), on a project's per-path credits ``C_y`` and carbon prices
``P_y`` (years x paths, given by the caller: the lever functions draw no randomness of their own), the forward
price ``F_y = E[P_y]`` and the market curve's discount factors ``D_y = P(0, t_y)``; ``y_0`` is the first year with
a cost (the lever's start). Every lever returns its cash flows split by nature (:class:`LeverFlows`):

* **forward sale** of share ``s``: delivered each year at ``F_y`` instead of ``P_y``: carbon income
  ``s C_y (F_y - P_y)``; no financing, no repayment;
* **prepaid forward** of share ``s`` at discount ``d``: in ``y_0`` the buyer pays
  ``(1 - d) sum_y c_y F_y D_y / D_{y_0}`` with ``c_y = s E[C_y]`` (carbon income received early); each year
  ``c_y`` is delivered (income forgone ``min(C_y, c_y) P_y``) and a shortfall bought at ``P_y (1 + penalty)`` (a cost);
* **sold floor** (the project buys the floor the lender sells) at strike ``K`` on share ``s``: the premium
  ``E[sum_y s C_y (K - P_y)^+ D_y] / D_{y_0}`` is a cost in ``y_0`` and the payoff ``s C_y (K - P_y)^+`` carbon
  income (a fair floor costs nothing on average);
* **pledge of future credits** at loan-to-value ``ltv``: proceeds ``ltv sum_y E[C_y] F_y D_y / D_{y_0}`` in ``y_0``
  (financing), debt accruing at the pledge rate and repaid from each year's carbon income ``C_y P_y`` as it
  arrives, the remainder at the last year (financing, negative);
* **CCER-linked loan**: ``share x`` expected capex of ``y_0`` borrowed at ``y_0`` (financing), repaid as a level
  annuity ``A = L r / (1 - (1 + r)^{-n})`` over ``n`` years (financing, negative).

Sign convention: every flow is the project's cash flow (positive = money in). A lever's cost is
:math:`\text{cost} = -E[\sum_y D_y (\Delta I_y + \Delta F_y - \Delta K_y)]` (``I`` carbon income, ``F``
financing, ``K`` costs): **positive = the lever costs the project money on average** (a prepaid forward's
discount, a floor's premium above its expected payoff, a loan's interest above the curve).

The engine (:class:`MCMonetisationEngine`) values three of the levers on one instrument with issuance failures; its
randomness comes from the path set's ``seed_entropy``, which must be set when issuance can fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from carbonrisk.finance.engines import Engine
from carbonrisk.finance.exceptions import ContractError
from carbonrisk.finance.instruments import FutureCreditMonetisation
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.results import PricingResult, mc_estimate, prices_on
from carbonrisk.models.paths import PathSet

__all__ = [
    "LEVERS",
    "LeverFlows",
    "MCMonetisationEngine",
    "ccer_linked_loan",
    "forward_sale",
    "lever_flows",
    "pledge_of_future_credits",
    "prepaid_forward",
    "sold_floor",
]

LEVERS: tuple[str, ...] = (
    "forward sale",
    "prepaid forward",
    "sold floor",
    "pledge of future credits",
    "CCER-linked loan",
)
"""The levers of the report's table, in its order."""


@dataclass(frozen=True)
class LeverFlows:
    """One lever's change to a project's cash flows, ``(n_years, n_paths)`` each, positive = money in.

    ``carbon_income_cny`` changes the carbon income (sales, delivered volumes, floor payoffs, prepayments);
    ``financing_cny`` holds loan proceeds (positive) and debt service (negative), kept apart from carbon income;
    ``costs_cny`` holds what the lever makes the project pay (premiums, shortfall purchases), positive = paid.
    """

    name: str
    carbon_income_cny: np.ndarray
    financing_cny: np.ndarray
    costs_cny: np.ndarray

    @property
    def net_cny(self) -> np.ndarray:
        """Net cash-flow change per year and path: ``income + financing - costs``."""
        return np.asarray(self.carbon_income_cny + self.financing_cny - self.costs_cny)

    def pv_cost_cny(self, discount_factors: np.ndarray) -> float:
        """Expected PV cost on the curve, ``-E[sum_y D_y net_y]`` (positive = the lever costs money)."""
        df = np.asarray(discount_factors, dtype=float)[:, None]
        return float(-(self.net_cny * df).sum(axis=0).mean())

    def pv_financing_proceeds_cny(self, discount_factors: np.ndarray) -> float:
        """PV of the financing proceeds (positive financing flows) on the curve, expected over paths."""
        df = np.asarray(discount_factors, dtype=float)[:, None]
        return float((np.maximum(self.financing_cny, 0.0) * df).sum(axis=0).mean())


def _check(credits_t: np.ndarray, price_cny_per_t: np.ndarray, discount_factors: np.ndarray) -> None:
    if credits_t.ndim != 2 or credits_t.shape != price_cny_per_t.shape:
        raise ContractError(
            f"credits_t {credits_t.shape} and price_cny_per_t {price_cny_per_t.shape} must be equal (years, paths)"
        )
    if discount_factors.shape != (credits_t.shape[0],):
        raise ContractError(
            f"discount_factors has shape {discount_factors.shape}; expected ({credits_t.shape[0]},), one per year"
        )


def _share(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ContractError(f"{name} = {value} must lie in [0, 1]")


def _at(shape: tuple[int, ...], year: int, amount: float) -> np.ndarray:
    out = np.zeros(shape)
    out[year] = amount
    return out


def forward_sale(credits_t: np.ndarray, price_cny_per_t: np.ndarray, share: float) -> LeverFlows:
    """Share ``s`` of each year's credits sold forward at ``F_y = E[P_y]``: income ``s C_y (F_y - P_y)``."""
    _share("forward_share", share)
    forward = price_cny_per_t.mean(axis=1, keepdims=True)
    zero = np.zeros(credits_t.shape)
    return LeverFlows("forward sale", share * credits_t * (forward - price_cny_per_t), zero, zero)


def prepaid_forward(
    credits_t: np.ndarray,
    price_cny_per_t: np.ndarray,
    discount_factors: np.ndarray,
    *,
    share: float,
    discount: float,
    delivery_penalty: float,
    start_year: int,
) -> LeverFlows:
    """Prepayment ``(1 - d) sum_y c_y F_y D_y / D_{start}`` in ``start_year`` for ``c_y = s E[C_y]`` delivered
    each year; the delivered tonnes' income ``min(C_y, c_y) P_y`` is forgone and a shortfall bought at
    ``P_y (1 + penalty)``."""
    _share("prepaid_share", share)
    _share("prepaid_discount", discount)
    forward = price_cny_per_t.mean(axis=1, keepdims=True)
    committed = share * credits_t.mean(axis=1, keepdims=True)
    prepay = (1.0 - discount) * float((committed[:, 0] * forward[:, 0] * discount_factors).sum())
    prepay /= float(discount_factors[start_year])
    delivered = np.minimum(credits_t, committed)
    shortfall = committed - delivered
    income = _at(credits_t.shape, start_year, prepay) - delivered * price_cny_per_t
    costs = shortfall * price_cny_per_t * (1.0 + delivery_penalty)
    return LeverFlows("prepaid forward", income, np.zeros(credits_t.shape), costs)


def sold_floor(
    credits_t: np.ndarray,
    price_cny_per_t: np.ndarray,
    discount_factors: np.ndarray,
    *,
    share: float,
    strike_cny_per_t: float,
    start_year: int,
) -> LeverFlows:
    """A floor at ``K`` on share ``s`` of the credits: payoff ``s C_y (K - P_y)^+`` (income), its fair premium
    ``E[sum_y D_y s C_y (K - P_y)^+] / D_{start}`` paid in ``start_year`` (cost)."""
    _share("floor_share", share)
    payoff = share * credits_t * np.maximum(strike_cny_per_t - price_cny_per_t, 0.0)
    premium = float((payoff * discount_factors[:, None]).sum(axis=0).mean()) / float(discount_factors[start_year])
    return LeverFlows("sold floor", payoff, np.zeros(credits_t.shape), _at(credits_t.shape, start_year, premium))


def pledge_of_future_credits(
    credits_t: np.ndarray,
    price_cny_per_t: np.ndarray,
    discount_factors: np.ndarray,
    *,
    ltv: float,
    rate: float,
    start_year: int,
) -> LeverFlows:
    """Borrow ``ltv sum_y E[C_y] F_y D_y / D_{start}`` in ``start_year``; the debt accrues ``(1 + rate)`` a year
    and each later year repays ``min(debt, C_y P_y)`` from the carbon income, the whole remainder in the last year."""
    _share("pledge_ltv", ltv)
    forward = price_cny_per_t.mean(axis=1)
    borrowed = ltv * float((credits_t.mean(axis=1) * forward * discount_factors).sum())
    borrowed /= float(discount_factors[start_year])
    debt = np.full(credits_t.shape[1], borrowed)
    financing = _at(credits_t.shape, start_year, borrowed)
    last = credits_t.shape[0] - 1
    for y in range(start_year + 1, credits_t.shape[0]):
        debt = debt * (1.0 + rate)
        pay = np.minimum(debt, credits_t[y] * price_cny_per_t[y]) if y < last else debt
        financing[y] -= pay
        debt = debt - pay
    zero = np.zeros(credits_t.shape)
    return LeverFlows("pledge of future credits", zero, financing, zero)


def ccer_linked_loan(
    n_years: int, n_paths: int, *, principal_cny: float, rate: float, tenor_years: int, start_year: int
) -> LeverFlows:
    """Borrow ``principal_cny`` at ``start_year``, repaid as a level annuity over ``tenor_years`` (cut at the last
    year): ``A = L r / (1 - (1 + r)^{-n})``, ``L / n`` at a zero rate."""
    if tenor_years < 1:
        raise ContractError(f"loan_tenor_years = {tenor_years} must be at least 1")
    annuity = principal_cny * rate / (1.0 - (1.0 + rate) ** -tenor_years) if rate else principal_cny / tenor_years
    financing = _at((n_years, n_paths), start_year, principal_cny)
    financing[start_year + 1 : min(start_year + 1 + tenor_years, n_years)] -= annuity
    zero = np.zeros((n_years, n_paths))
    return LeverFlows("CCER-linked loan", zero, financing, zero)


def lever_flows(
    credits_t: np.ndarray,
    price_cny_per_t: np.ndarray,
    discount_factors: np.ndarray,
    capex_cny: np.ndarray,
    *,
    forward_share: float,
    prepaid_share: float,
    prepaid_discount: float,
    delivery_penalty: float,
    floor_strike_cny_per_t: float | None,
    floor_share: float,
    pledge_ltv: float,
    pledge_rate: float,
    loan_share_of_capex: float,
    loan_rate: float,
    loan_tenor_years: int,
) -> Iterator[LeverFlows]:
    """The five levers of :data:`LEVERS` in turn (one lever's arrays alive at a time), on the caller's per-path
    credits, prices and capex ``(n_years, n_paths)``; they start in the first year with expected capex and the
    floor strike defaults to that year's forward price."""
    credits_t = np.asarray(credits_t, dtype=float)
    price_cny_per_t = np.asarray(price_cny_per_t, dtype=float)
    df = np.asarray(discount_factors, dtype=float)
    _check(credits_t, price_cny_per_t, df)
    start = int(np.argmax(capex_cny.sum(axis=1) > 0))
    yield forward_sale(credits_t, price_cny_per_t, forward_share)
    yield prepaid_forward(
        credits_t,
        price_cny_per_t,
        df,
        share=prepaid_share,
        discount=prepaid_discount,
        delivery_penalty=delivery_penalty,
        start_year=start,
    )
    strike = floor_strike_cny_per_t if floor_strike_cny_per_t is not None else float(price_cny_per_t[start].mean())
    yield sold_floor(credits_t, price_cny_per_t, df, share=floor_share, strike_cny_per_t=strike, start_year=start)
    yield pledge_of_future_credits(credits_t, price_cny_per_t, df, ltv=pledge_ltv, rate=pledge_rate, start_year=start)
    _share("loan_share_of_capex", loan_share_of_capex)
    principal = loan_share_of_capex * float(capex_cny[start].mean())
    yield ccer_linked_loan(
        *credits_t.shape, principal_cny=principal, rate=loan_rate, tenor_years=loan_tenor_years, start_year=start
    )


_ISSUANCE_STREAM = 0x15501E  # spawn key of the issuance-failure random stream


@dataclass(frozen=True)
class MCMonetisationEngine(Engine):
    """Fair prepayment price and the income each lever moves into the first years.

    ``value`` is the fair prepayment amount (CNY) for the contracted volumes. ``extras``:
    ``fair_prepayment_price_cny_per_t`` (``_se``), ``discount_to_spot``, ``contracted_t``,
    ``floor_premium_cny``, ``pledge_loan_cny``, ``income_by_year`` (expected nominal income per lever and year,
    year 0 = today), ``early_income_share`` and ``moved_into_early_years_cny`` per lever (PV of expected income
    before ``early_years``, as a share of the lever's total, and its increase over the baseline), and
    ``p_shortfall`` (probability that some contracted vintage is not fully delivered).

    Notes
    -----
    :math:`X = \\sum_y P(0,t_y) e^{-s t_y} E[c_y S_y + \\pi s_y S_y] / \\sum_y c_y`; floor premium
    :math:`\\sum_y P(0,t_y) E[c_y (K - S_y)^+]`; pledge loan :math:`LTV \\sum_y P(0,t_y) E[I_y S_y]` repaid as a
    level annuity at the pledge rate over the vintages.
    """

    name: ClassVar[str] = "Monte Carlo (path set), early monetisation levers"
    needs_paths: ClassVar[bool] = True

    def calculate(
        self,
        instrument: FutureCreditMonetisation,
        *,
        market: MarketEnv,
        paths: PathSet | None = None,
        rng: int | None = None,
        quick: bool = False,
    ) -> PricingResult:
        inst = instrument
        inst.check_dates(market.valuation_date)
        p = self._paths(paths)
        n, ny = p.n_paths, inst.n_years
        dates = inst.delivery_dates()
        s = prices_on(p, inst.underlying, dates)
        t = market.discount.times(dates)
        df = market.df(dates)
        df_buyer = df * np.exp(-inst.buyer_spread * t)
        vol = inst.issued_volumes_t
        if vol.ndim == 1:
            vol = np.repeat(vol[:, None], n, axis=1)
        elif vol.shape[1] != n:
            raise ContractError(f"issued_volumes_t has {vol.shape[1]} path columns; the path set has {n} paths")
        if inst.issuance_failure_probability > 0:
            entropy = rng if rng is not None else p.seed_entropy
            if entropy is None:
                raise ContractError(
                    f"issuance_failure_probability = {inst.issuance_failure_probability} draws issuance failures: "
                    "give rng or a path set with seed_entropy"
                )
            draws = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(_ISSUANCE_STREAM,)))
            issued = vol * (draws.random((ny, n)) >= inst.issuance_failure_probability)
        else:
            issued = vol
        contracted = inst.contract_share * vol.mean(axis=1) * (1.0 - inst.issuance_failure_probability)
        delivered = np.minimum(contracted[:, None], issued)
        shortfall = contracted[:, None] - delivered
        total_c = float(contracted.sum())
        buyer = (df_buyer[:, None] * (contracted[:, None] * s + inst.shortfall_penalty * shortfall * s)).sum(axis=0)
        price_samples = buyer / total_c if total_c > 0 else np.zeros(n)
        x, x_se = mc_estimate(price_samples)
        spot = market.spot(inst.underlying)

        base = issued * s
        prepaid = (issued - delivered) * s - shortfall * s * (1.0 + inst.shortfall_penalty)
        put = contracted[:, None] * np.maximum(inst.floor_cny_per_t - s, 0.0)
        floor_premium = float((df[:, None] * put).sum(axis=0).mean())
        floor = base - put
        pv_base = float((df[:, None] * base).sum(axis=0).mean())
        loan = inst.pledge_ltv * pv_base
        accr = np.diff(np.concatenate([[0.0], t]))
        growth = np.cumprod(1.0 + inst.pledge_rate * accr)
        service = loan / np.sum(1.0 / growth)
        pledge = base - service

        early = t < inst.early_years
        levers = {
            "baseline": (0.0, base),
            "prepaid_forward": (x * total_c, prepaid),
            "sold_floor": (floor_premium, floor),
            "pledge": (loan, pledge),
        }
        income: dict[str, list[float]] = {}
        share: dict[str, float] = {}
        early_pv: dict[str, float] = {}
        for key, (upfront, flows) in levers.items():
            mean_flows = flows.mean(axis=1)
            income[key] = [float(upfront), *map(float, mean_flows)]
            pv_all = upfront + float((df * mean_flows).sum())
            pv_early = upfront + float((df * mean_flows)[early].sum())
            early_pv[key] = pv_early
            share[key] = pv_early / pv_all if pv_all != 0 else float("nan")
        extras: dict[str, Any] = {
            "fair_prepayment_price_cny_per_t": x,
            "fair_prepayment_price_cny_per_t_se": x_se,
            "spot_cny_per_t": spot,
            "discount_to_spot": 1.0 - x / spot,
            "contracted_t": total_c,
            "floor_premium_cny": floor_premium,
            "pledge_loan_cny": loan,
            "pv_baseline_income_cny": pv_base,
            "p_shortfall": float(np.mean(shortfall.sum(axis=0) > 1e-9)),
            "income_years": ["today", *[str(d.date()) for d in dates]],
            "income_by_year": income,
            "early_income_share": share,
            "moved_into_early_years_cny": {k: v - early_pv["baseline"] for k, v in early_pv.items() if k != "baseline"},
        }
        cf = pd.DataFrame({"date": dates, "expected_cny": base.mean(axis=1), "df": df})
        cf["pv_cny"] = cf["expected_cny"] * cf["df"]
        return PricingResult(
            inst.label(), x * total_c, x_se * total_c, self.name, extras, cf, n_paths=n, samples={"pv_cny": buyer}
        )
