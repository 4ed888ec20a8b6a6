"""The path set records the model's conditional variance; ``expected_average_variance`` matches the simulation."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest

from carbonrisk.models.base import PriceModelResult
from carbonrisk.models.catalog import make_spec
from carbonrisk.models.data import PriceHistory, load_prices
from carbonrisk.models.exceptions import InputError
from carbonrisk.models.grid import SimulationGrid
from carbonrisk.models.joint import BasisParams, JointCeaCcer
from carbonrisk.models.paths import PathSet


@pytest.fixture(scope="module")
def cea() -> PriceHistory:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_prices("cea")


def _fit(history: PriceHistory, model: str, dist: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_spec(model, dist).fit(history)


@pytest.mark.parametrize(
    ("model", "dist"),
    [("garch", "normal"), ("gjr", "t"), ("egarch", "normal"), ("garch", "empirical"), ("ou", "normal")],
)
def test_recording_the_variance_leaves_prices_bit_identical(cea: PriceHistory, model: str, dist: str) -> None:
    res = _fit(cea, model, dist)
    assert isinstance(res, PriceModelResult)
    grid = SimulationGrid.build(res.last_date, "1y", "W")
    plain = res.simulate(grid, 5000, rng=11)
    rec = res.simulate(grid, 5000, rng=11, record_variance=True)
    chunked = res.simulate(grid, 5000, rng=11, record_variance=True, chunk_paths=4096)
    assert plain.variance is None and rec.variance is not None and chunked.variance is not None
    assert np.array_equal(plain["CEA"], rec["CEA"])
    v = rec.variance["CEA"]
    assert v.shape == rec["CEA"].shape and np.all(np.isfinite(v)) and np.all(v > 0)
    assert np.array_equal(v, chunked.variance["CEA"])
    if model == "ou":
        assert np.all(v == res.ar.sigma_e**2)
    else:
        assert np.all(v[0] == pytest.approx(res.next_variance_pct2 / 1e4, rel=1e-12))


def test_recorded_variance_follows_the_garch_recursion(cea: PriceHistory) -> None:
    """Daily grid: v_{t+1} = (omega + alpha (100 e_t)^2 + beta 1e4 v_t) / 1e4 with e_t the simulated return - mu."""
    res = _fit(cea, "garch", "normal")
    paths = res.simulate(30, 300, rng=5, record_variance=True)
    assert paths.variance is not None
    v = paths.variance["CEA"]
    sp = res.sim_params
    e_pct = 100.0 * (np.diff(np.log(paths["CEA"]), axis=0) - float(sp["mu"]) / 100.0)
    expected = (float(sp["omega"]) + float(sp["alpha"]) * e_pct**2 + float(sp["beta"]) * 1e4 * v[:-1]) / 1e4
    np.testing.assert_allclose(v[1:], expected, rtol=1e-9)


@pytest.mark.parametrize(("model", "dist"), [("garch", "normal"), ("gjr", "empirical"), ("ou-garch", "t")])
def test_expected_average_variance_matches_the_simulated_mean(cea: PriceHistory, model: str, dist: str) -> None:
    """Mean over k = 1..n of the simulated h_{t+k} from h_{t+1} = v0 equals the closed form within 4 s.e."""
    res = _fit(cea, model, dist)
    n_days, n_paths = 120, 20_000
    paths = res.simulate(n_days, n_paths, rng=8, record_variance=True)
    assert paths.variance is not None
    v = paths.variance["CEA"]
    v0 = float(v[0, 0])
    per_path = v[:n_days].mean(axis=0)  # rows 0..n-1 hold h_{t+1}..h_{t+n}
    se = per_path.std(ddof=1) / math.sqrt(n_paths)
    closed = float(res.expected_average_variance(np.array([v0]), n_days)[0])
    assert abs(per_path.mean() - closed) < 4 * se, (per_path.mean(), closed, se)
    # the far horizon tends to the long-run variance, one day is the variance now
    far = res.expected_average_variance(np.array([v0, 3 * v0]), np.array([1, 10**7]))
    assert far[0] == pytest.approx(v0, rel=1e-12)
    long_run = res.garch.long_run_variance if model == "ou-garch" else res.long_run_variance
    assert far[1] == pytest.approx(long_run, rel=1e-4)


def test_constant_and_joint_models(cea: PriceHistory) -> None:
    ou = _fit(cea, "ou", "normal")
    out = ou.expected_average_variance(np.array([1e-3, 2e-3]), 10)
    assert np.all(out == ou.ar.sigma_e**2)
    joint = JointCeaCcer(_fit(cea, "garch", "normal"), BasisParams())
    paths = joint.simulate(5, 100, rng=1, record_variance=True)
    assert paths.variance is not None and set(paths.variance) == {"CEA"}
    assert joint.expected_average_variance(np.array([4e-4]), 5).shape == (1,)
    with pytest.raises(InputError, match="n_days"):
        ou.expected_average_variance(np.array([1e-4]), 0)


def test_path_set_checks_the_variance_shape() -> None:
    dates = SimulationGrid.daily("2024-10-31", 2).dates
    values = np.ones((3, 4))
    with pytest.raises(InputError, match="variance of 'CEA' has shape"):
        PathSet(dates=dates, factors={"CEA": values}, variance={"CEA": np.ones((3, 5))})
    with pytest.raises(InputError, match="'CCER' is not a factor"):
        PathSet(dates=dates, factors={"CEA": values}, variance={"CCER": values})


def test_simulate_blocks_records_the_same_variance_as_run_plan(cea: PriceHistory) -> None:
    # the Dask block path: a worker's share of the blocks carries exactly run_plan's prices and variance
    from carbonrisk.models.base import simulate_blocks

    joint = JointCeaCcer(_fit(cea, "garch", "empirical"), BasisParams())
    grid = SimulationGrid.build(joint.last_date, "1y", "W")
    n = 4096 + 300
    full = joint.simulate(grid, n, rng=5, record_variance=True)
    plan = joint.plan(grid)
    first = simulate_blocks(plan, len(grid.dates), n, 5, 0, 1, record_variance=True)
    second = simulate_blocks(plan, len(grid.dates), n, 5, 1, 2, record_variance=True)
    assert full.variance is not None
    for key, values in (("CEA", full["CEA"]), ("CCER", full["CCER"]), ("CEA_variance", full.variance["CEA"])):
        np.testing.assert_array_equal(np.concatenate([first[key], second[key]], axis=1), values, err_msg=key)
    assert "CEA_variance" not in simulate_blocks(plan, len(grid.dates), n, 5, 0, 1)
