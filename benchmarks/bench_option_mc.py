"""Our Monte Carlo European and arithmetic-Asian engines against QuantLib's MC engines, in one run.

Same process (GBM on the market forward curve), same number of paths, same time steps (one step for the European,
one per fixing for the Asian), the geometric control variate on both sides for the Asian. Printed per case: value
and standard error of each, agreement in units of the combined standard error (must be < 4), wall time of each
(best of 3; ours includes path generation) and the ratios QuantLib time / our time and, at equal accuracy,
(time x variance) QuantLib / ours. Run: ``.venv/bin/python benchmarks/bench_option_mc.py``.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable

import QuantLib as ql

from finance.engines import MCAsianEngine, MCEuropeanEngine, bsm_process
from finance.instruments import AsianOption, EuropeanOption
from finance.market import MarketEnv
from finance.results import PricingResult
from finance.valuation import GBMSource, path_dates
from models.calendar import to_ql

N_PATHS = 100_000
REPEATS = 3
MARKET = MarketEnv.simple("2024-10-31", 0.018, {"CEA": 104.01}, {"CEA": 0.30})


def _best(fn: Callable[[], tuple[float, float]]) -> tuple[float, float, float]:
    best = math.inf
    out = (0.0, 0.0)
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out[0], out[1], best


def _ours(inst: EuropeanOption | AsianOption) -> tuple[float, float]:
    paths = GBMSource().simulate(MARKET, path_dates([inst], MARKET.valuation_date), N_PATHS, 2024)
    res: PricingResult
    if isinstance(inst, EuropeanOption):
        res = MCEuropeanEngine().calculate(inst, MARKET, paths)
    else:
        res = MCAsianEngine().calculate(inst, MARKET, paths)
    return res.value, res.std_error


def _quantlib(inst: EuropeanOption | AsianOption) -> tuple[float, float]:
    if isinstance(inst, EuropeanOption):
        process = bsm_process(MARKET, "CEA", inst.expiry)
        option = ql.VanillaOption(
            ql.PlainVanillaPayoff(ql.Option.Call, inst.strike_cny_per_t), ql.EuropeanExercise(to_ql(inst.expiry))
        )
        option.setPricingEngine(
            ql.MCEuropeanEngine(process, "pseudorandom", timeSteps=1, requiredSamples=N_PATHS, seed=42)
        )
    else:
        fix = inst.fixing_dates(MARKET.valuation_date)
        process = bsm_process(MARKET, "CEA", fix[-1])
        option = ql.DiscreteAveragingAsianOption(
            ql.Average.Arithmetic,
            0.0,
            0,
            [to_ql(d) for d in fix],
            ql.PlainVanillaPayoff(ql.Option.Call, inst.strike_cny_per_t),
            ql.EuropeanExercise(to_ql(fix[-1])),
        )
        option.setPricingEngine(
            ql.MCDiscreteArithmeticAPEngine(
                process, "pseudorandom", requiredSamples=N_PATHS, seed=42, controlVariate=True
            )
        )
    return float(option.NPV()), float(option.errorEstimate())


def main() -> int:
    cases: list[tuple[str, EuropeanOption | AsianOption]] = [
        (
            "European call, 1 y, K=110",
            EuropeanOption(underlying="CEA", option_type="call", strike_cny_per_t=110.0, expiry="2025-10-31"),
        ),
        (
            "arithmetic Asian call, daily 2025-H1, K=105",
            AsianOption(
                underlying="CEA",
                option_type="call",
                strike_cny_per_t=105.0,
                averaging_start="2025-01-02",
                averaging_end="2025-06-30",
            ),
        ),
    ]
    ok = True
    print(f"Monte Carlo engines, {N_PATHS:,} paths, best of {REPEATS}")
    for label, inst in cases:
        v1, s1, t1 = _best(lambda inst=inst: _ours(inst))
        v2, s2, t2 = _best(lambda inst=inst: _quantlib(inst))
        z = abs(v1 - v2) / math.hypot(s1, s2)
        ok &= z < 4
        eff = (t2 * s2**2) / (t1 * s1**2)
        print(f"{label}")
        print(f"  carbonrisk {v1:10.5f} +- {s1:.5f}  {t1:7.3f} s")
        print(f"  QuantLib   {v2:10.5f} +- {s2:.5f}  {t2:7.3f} s")
        print(
            f"  |diff| = {z:.2f} SE (must be < 4); time ratio QuantLib/ours = {t2 / t1:.2f}; "
            f"efficiency ratio (time x variance) QuantLib/ours = {eff:.2f}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
