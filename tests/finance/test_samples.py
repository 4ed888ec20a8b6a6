"""Monte Carlo engines expose per-path values whose mean is the reported value (what the portfolio engine reads)."""

from __future__ import annotations

import numpy as np
import pytest

from carbonrisk.finance.contracts import example_names, load_example
from carbonrisk.finance.valuation import GBMSource, engines_for, path_dates


@pytest.mark.parametrize("name", example_names())
def test_pv_samples_average_to_the_value(name: str) -> None:
    contract = load_example(name)
    market = contract.market
    checked = 0
    for instrument in contract.instruments:
        for engine in engines_for(instrument):
            if not engine.needs_paths:
                continue
            dates = path_dates([instrument], market.valuation_date)
            paths = GBMSource().simulate(market, dates, 2000, 7)
            result = engine.calculate(instrument, market=market, paths=paths)
            pv = result.samples["pv_cny"]
            assert pv.shape == (2000,)
            assert float(np.mean(pv)) == pytest.approx(result.value, rel=1e-9, abs=1e-6)
            # an exact estimate (a bond whose linked coupon has known volumes) has a s.e. of rounding noise only
            noise = 1e-12 * max(1.0, abs(result.value))
            assert result.std_error == pytest.approx(float(np.std(pv, ddof=1)) / np.sqrt(2000), rel=1e-6, abs=noise)
            checked += 1
    assert checked >= 1
