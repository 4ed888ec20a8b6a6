"""Our Monte Carlo European and arithmetic-Asian engines against QuantLib's MC engines, in one run.

Same process (GBM on the market forward curve), same number of paths, same time steps (one step for the European,
one per fixing for the Asian), the geometric control variate on both sides for the Asian. Printed per case: value
and standard error of each, agreement in units of the combined standard error (must be < 4), wall time of each
(ours includes building the path set: dates, forward curve, path generation, pricing) and the ratios QuantLib
time / our time (target >= 10) and, at equal accuracy, (time x variance) QuantLib / ours.

Timing: a warm-up call each (numba cache load, QuantLib set-up), then interleaved rounds of the contenders, best
time of each, so that load from other jobs on the machine affects them alike. Ours runs with its default threads
(``CARBONRISK_THREADS``, else the CPU count; only runs of 2^20 path-steps or more use them) and, for reference,
with one thread; QuantLib's engines are single-threaded. Run: ``.venv/bin/python benchmarks/bench_option_mc.py``.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable

import QuantLib as ql

from carbonrisk.finance.engines import MCAsianEngine, MCEuropeanEngine, bsm_process
from carbonrisk.finance.instruments import AsianOption, EuropeanOption
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.results import PricingResult
from carbonrisk.finance.valuation import GBMSource, path_dates
from carbonrisk.models.calendar import to_ql

N_PATHS = 100_000
ROUNDS = 3
REPEATS = {"european": 10, "asian": 2}
"""Calls per round and contender (the same for both; more for the millisecond European, whose best time is noisier)."""
MARKET = MarketEnv.simple("2024-10-31", 0.018, {"CEA": 104.01}, {"CEA": 0.30})


def _best(fn: Callable[[], tuple[float, float]], repeats: int) -> tuple[float, float, float]:
    """Value, standard error and the smallest wall time (seconds) of ``repeats`` calls."""
    best = math.inf
    out = (0.0, 0.0)
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out[0], out[1], best


def _one_thread(fn: Callable[[], tuple[float, float]]) -> Callable[[], tuple[float, float]]:
    def run() -> tuple[float, float]:
        before = os.environ.get("CARBONRISK_THREADS")
        os.environ["CARBONRISK_THREADS"] = "1"
        try:
            return fn()
        finally:
            if before is None:
                del os.environ["CARBONRISK_THREADS"]
            else:
                os.environ["CARBONRISK_THREADS"] = before

    return run


def _ours(inst: EuropeanOption | AsianOption) -> tuple[float, float]:
    paths = GBMSource().simulate(MARKET, path_dates([inst], MARKET.valuation_date), N_PATHS, 2024)
    res: PricingResult
    if isinstance(inst, EuropeanOption):
        res = MCEuropeanEngine().calculate(inst, market=MARKET, paths=paths)
    else:
        res = MCAsianEngine().calculate(inst, market=MARKET, paths=paths)
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
    calls = ", ".join(f"{n} {k}" for k, n in REPEATS.items())
    print(f"Monte Carlo engines, {N_PATHS:,} paths; best of {ROUNDS} interleaved rounds x calls per round: {calls}")
    for label, inst in cases:

        def ours(inst: EuropeanOption | AsianOption = inst) -> tuple[float, float]:
            return _ours(inst)

        def quantlib(inst: EuropeanOption | AsianOption = inst) -> tuple[float, float]:
            return _quantlib(inst)

        ours_1 = _one_thread(ours)
        repeats = REPEATS["european" if isinstance(inst, EuropeanOption) else "asian"]
        ours(), ours_1(), quantlib()  # warm-up
        t1 = t1s = t2 = math.inf
        for _ in range(ROUNDS):
            v1, s1, t = _best(ours, repeats)
            t1 = min(t1, t)
            v1s, s1s, t = _best(ours_1, repeats)
            t1s = min(t1s, t)
            v2, s2, t = _best(quantlib, repeats)
            t2 = min(t2, t)
        assert (v1, s1) == (v1s, s1s), "thread count changed our numbers"
        z = abs(v1 - v2) / math.hypot(s1, s2)
        ratio = t2 / t1
        ok &= z < 4 and ratio >= 10
        eff = (t2 * s2**2) / (t1 * s1**2)
        threads = os.environ.get("CARBONRISK_THREADS") or str(min(os.cpu_count() or 1, 8))
        print(f"{label}")
        print(f"  carbonrisk {v1:10.5f} +- {s1:.5f}  {t1 * 1e3:8.2f} ms  ({threads} threads allowed)")
        print(f"  carbonrisk {'':10} {'':10}  {t1s * 1e3:8.2f} ms  (1 thread)")
        print(f"  QuantLib   {v2:10.5f} +- {s2:.5f}  {t2 * 1e3:8.2f} ms")
        print(
            f"  |diff| = {z:.2f} SE (must be < 4); time ratio QuantLib/ours = {ratio:.2f} (target >= 10; "
            f"one thread {t2 / t1s:.2f}); efficiency ratio (time x variance) QuantLib/ours = {eff:.2f}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
