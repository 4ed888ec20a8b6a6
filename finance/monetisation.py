"""Early monetisation of future CCER vintages: prepaid forward sale, sold floor, pledge (one engine, three levers).

All three levers are valued on the same path set and the same issuance draws, against a baseline in which every
vintage is sold at the market price on its delivery date. Income is the project's (seller's) nominal cash
flow; "early" means paid before ``valuation_date + early_years``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from finance.engines import Engine
from finance.exceptions import ContractError
from finance.instruments import FutureCreditMonetisation
from finance.market import MarketEnv
from finance.results import PricingResult, mc_estimate, prices_on
from models.paths import PathSet

__all__ = ["MCMonetisationEngine"]

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
        market: MarketEnv,
        paths: PathSet | None = None,
        *,
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
        rng = np.random.default_rng(np.random.SeedSequence(p.seed_entropy or 0, spawn_key=(_ISSUANCE_STREAM,)))
        issued = vol * (rng.random((ny, n)) >= inst.issuance_failure_probability)
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
