"""GBM path sources: moments from standard errors, correlation, reproducibility across block boundaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.gbm import GBM, CorrelatedGBM
from carbonrisk.models.random import BLOCK_PATHS

DATES = pd.bdate_range("2025-01-02", periods=60)


def test_mean_matches_forward_within_4se() -> None:
    n = 20_000
    paths = GBM(100.0, 0.3, drift=0.05).simulate(DATES, n, 7)
    t = (DATES[-1] - DATES[0]).days / 365.0
    last = paths["CEA"][-1]
    assert abs(last.mean() - 100.0 * np.exp(0.05 * t)) < 4 * last.std(ddof=1) / np.sqrt(n)
    assert paths.meta["lognormal"] is True and paths.meta["vols"] == {"CEA": 0.3}


def test_forward_curve_is_respected() -> None:
    fwd = np.linspace(100.0, 120.0, len(DATES))
    paths = GBM(100.0, 0.2).simulate(DATES, 20_000, 3, forward_cny_per_t=fwd)
    se = paths["CEA"].std(axis=1, ddof=1) / np.sqrt(20_000)
    assert np.all(np.abs(paths["CEA"].mean(axis=1) - fwd) < 4 * se + 1e-12)


def test_correlation_of_increments() -> None:
    n = 10_000
    p = CorrelatedGBM({"CEA": 100.0, "CCER": 70.0}, {"CEA": 0.3, "CCER": 0.4}, 0.6).simulate(DATES, n, 1)
    x = np.diff(np.log(p["CEA"]), axis=0).ravel()
    y = np.diff(np.log(p["CCER"]), axis=0).ravel()
    z = np.arctanh(np.corrcoef(x, y)[0, 1])
    assert abs(z - np.arctanh(0.6)) < 4 / np.sqrt(x.size - 3)  # Fisher z standard error


def test_block_reproducibility() -> None:
    # the first block of a larger run is the same numbers as a run of one block (SeedSequence child per block)
    model = CorrelatedGBM({"CEA": 100.0, "CCER": 70.0}, {"CEA": 0.3, "CCER": 0.4}, 0.6)
    big = model.simulate(DATES, BLOCK_PATHS + 100, 42)
    small = model.simulate(DATES, BLOCK_PATHS, 42)
    np.testing.assert_array_equal(big["CCER"][:, :BLOCK_PATHS], small["CCER"])
    again = model.simulate(DATES, BLOCK_PATHS + 100, 42)
    np.testing.assert_array_equal(big["CEA"], again["CEA"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(spot_cny_per_t=-1.0, vol=0.2), "spot_cny_per_t = -1 is not > 0"),
        (dict(spot_cny_per_t=100.0, vol=0.0), "vol = 0 is not > 0"),
    ],
)
def test_bad_gbm_inputs(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(InputError, match=message):
        GBM(**kwargs)


def test_bad_correlation() -> None:
    with pytest.raises(InputError, match=r"correlation=1.0 must lie in \(-1, 1\)"):
        CorrelatedGBM({"CEA": 1.0, "CCER": 1.0}, {"CEA": 0.1, "CCER": 0.1}, 1.0)


def test_log_price_variance_within_4se() -> None:
    # ln S_T is normal with variance sigma^2 T; the sample variance has standard error sigma^2 T sqrt(2 / (n - 1))
    n = 50_000
    paths = GBM(100.0, 0.3).simulate(DATES, n, 11)
    t = (DATES[-1] - DATES[0]).days / 365.0
    v = np.log(paths["CEA"][-1]).var(ddof=1)
    assert abs(v - 0.09 * t) < 4 * 0.09 * t * np.sqrt(2.0 / (n - 1))


def test_thread_count_does_not_change_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    # enough path-steps for the thread pool; every block's numbers come from its own seed
    model = CorrelatedGBM({"CEA": 100.0, "CCER": 70.0}, {"CEA": 0.3, "CCER": 0.4}, 0.6)
    n = 5 * BLOCK_PATHS + 17
    monkeypatch.setenv("CARBONRISK_THREADS", "1")
    one = model.simulate(DATES, n, 5)
    monkeypatch.setenv("CARBONRISK_THREADS", "2")
    two = model.simulate(DATES, n, 5)
    for name in ("CEA", "CCER"):
        np.testing.assert_array_equal(one[name], two[name])
    np.testing.assert_array_equal(one["CEA"][0], 100.0)
