"""GARCH family: estimates equal arch's own fit, persistence policy, reproducible and well-behaved paths."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from arch import arch_model
from hypothesis import given, settings
from hypothesis import strategies as st

from carbonrisk.models.catalog import make_spec
from carbonrisk.models.data import PriceHistory, load_prices
from carbonrisk.models.exceptions import ConvergenceError, InputError, NonStationaryWarning
from carbonrisk.models.garch import VARIANCE_CEILING, Z_MAX, Garch, GarchResult, persistence_of
from carbonrisk.models.grid import SimulationGrid


@pytest.fixture(scope="module")
def cea() -> PriceHistory:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_prices("cea")


@pytest.fixture(scope="module")
def garch_t(cea: PriceHistory) -> GarchResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Garch(dist="t").fit(cea)


@pytest.mark.parametrize(
    ("vol", "o", "arch_vol", "dist"),
    [("garch", 0, "GARCH", "t"), ("gjr", 1, "GARCH", "normal"), ("egarch", 1, "EGARCH", "skewt")],
)
def test_estimates_equal_arch_fit(cea: PriceHistory, vol: str, o: int, arch_vol: str, dist: str) -> None:
    # reference: arch's own fit of the same model on the same percent log-returns
    ref = arch_model(cea.log_returns * 100, mean="Constant", vol=arch_vol, p=1, o=o, q=1, dist=dist).fit(disp="off")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = Garch(dist=dist, vol=vol).fit(cea)  # type: ignore[arg-type]
    np.testing.assert_allclose(ours.params.to_numpy(), ref.params.to_numpy(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.std_err.to_numpy(), ref.std_err.to_numpy(), rtol=1e-6, atol=1e-8)
    assert ours.loglikelihood == pytest.approx(ref.loglikelihood, rel=1e-10)
    assert ours.aic == pytest.approx(ref.aic) and ours.bic == pytest.approx(ref.bic)
    assert set(ours.diagnostics) >= {"q", "pvalue", "q_squared", "pvalue_squared"}


def test_cea_garch_t_is_non_stationary_and_policy_recorded(cea: PriceHistory) -> None:
    with pytest.warns(NonStationaryWarning, match=r"persistence 1\.0000.*variance-target"):
        res = Garch(dist="t").fit(cea)
    assert res.persistence >= 0.999
    assert persistence_of(res.spec, res.sim_params) == pytest.approx(0.99)
    assert res.sim_params["omega"] == pytest.approx(res.sample_variance_pct2 * 0.01)
    assert res.params["alpha"] == pytest.approx(0.25, abs=0.01)  # the fit itself is not changed
    assert res.policy_applied.startswith("variance-target")
    assert res.summary()["warnings"] and res.half_life_days > 1000
    # the fitted nu (about 2.95) leaves the fourth moment infinite: floored for simulation, and recorded
    assert res.params["nu"] < 3.0 and res.sim_params["nu"] == 5.0 and "nu floored" in res.policy_applied


@pytest.mark.parametrize("policy", ["cap", "none"])
def test_other_policies(cea: PriceHistory, policy: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = Garch(dist="normal", persistence_policy=policy).fit(cea)  # type: ignore[arg-type]
    if policy == "cap":
        assert persistence_of(res.spec, res.sim_params) == pytest.approx(0.99)
        assert res.sim_params["omega"] == res.params["omega"]
        assert res.guards == f"|z| <= {Z_MAX:g}, variance <= {VARIANCE_CEILING:g} x sample variance"
    else:
        assert res.sim_params.equals(res.params) and res.guards == "none"


def test_gjr_persistence_uses_half_gamma_for_symmetric_laws(cea: PriceHistory) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = Garch(dist="t", vol="gjr").fit(cea)
    p = res.params
    assert res.persistence == pytest.approx(p["alpha"] + 0.5 * p["gamma"] + p["beta"])


def test_simulation_identical_under_different_chunkings(garch_t: GarchResult) -> None:
    a = garch_t.simulate(30, 10_000, rng=42)
    b = garch_t.simulate(30, 10_000, rng=42, chunk_paths=4096)
    c = garch_t.simulate(30, 10_000, rng=42, chunk_paths=10_000)
    assert np.array_equal(a["CEA"], b["CEA"]) and np.array_equal(a["CEA"], c["CEA"])
    # the first 4096 paths do not depend on the total number of paths either (block convention)
    d = garch_t.simulate(30, 4096, rng=42)
    assert np.array_equal(a["CEA"][:, :4096], d["CEA"])
    assert not np.array_equal(a["CEA"], garch_t.simulate(30, 10_000, rng=43)["CEA"])


def test_summary_matches_full_path_set(garch_t: GarchResult) -> None:
    grid = SimulationGrid.build(garch_t.last_date, "2y", "M")
    full = garch_t.simulate(grid, 8192, rng=5)
    summ = garch_t.simulate_summary(grid, 8192, rng=5, chunk_paths=4096)
    exact = full.quantiles("CEA")
    # histogram bins are 0.05 % of the price wide, so the streamed quantiles agree within that resolution
    np.testing.assert_allclose(summ.quantiles["CEA"].to_numpy(), exact.to_numpy(), rtol=1e-3)
    np.testing.assert_allclose(summ.mean["CEA"].to_numpy(), full.mean("CEA").to_numpy(), rtol=1e-12)
    assert np.array_equal(summ.terminal["CEA"], full["CEA"][-1])
    assert summ.n_nonfinite == 0 and summ.to_frame().columns[0] == "CEA_q0.05"


def test_demo_interface_still_works(garch_t: GarchResult) -> None:
    paths = garch_t.simulate(250, 200, rng=1)
    assert paths.n_dates == 251 and paths["CEA"][0, 0] == garch_t.last_price
    assert paths.meta["policy_applied"].startswith("variance-target")


@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    spec=st.sampled_from([("garch", "t"), ("gjr", "skewt"), ("garch", "empirical"), ("egarch", "normal")]),
)
def test_paths_are_finite_and_positive(cea: PriceHistory, seed: int, spec: tuple[str, str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = make_spec(*spec).fit(cea)
    grid = SimulationGrid.build(res.last_date, "10y", "Y")
    values = res.simulate(grid, 300, rng=seed)["CEA"]
    assert np.all(np.isfinite(values)) and np.all(values > 0)


def test_too_few_observations(price_csv: Callable[..., Path]) -> None:
    history = load_prices(price_csv(n=80))
    with pytest.raises(InputError, match=r"'prices' has 79 returns; GARCH\(1,1\)-t needs at least 100"):
        Garch().fit(history)


def test_constant_prices(price_csv: Callable[..., Path]) -> None:
    history = load_prices(price_csv(n=150, close=["50.0"] * 150))
    with pytest.raises(InputError, match="prices of 'prices' are constant"):
        Garch().fit(history)


def test_non_convergence_is_our_error_with_the_optimiser_message(cea: PriceHistory) -> None:
    with pytest.raises(ConvergenceError, match=r"GARCH\(1,1\)-t fit on 'cea' did not converge: Iteration limit"):
        Garch(max_iter=2).fit(cea)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dist": "cauchy"}, "dist='cauchy' is not supported"),
        ({"vol": "figarch"}, "vol='figarch' is not supported"),
        ({"persistence_policy": "ignore"}, "persistence_policy='ignore'"),
        ({"persistence_cap": 1.0}, "persistence_cap=1.0"),
    ],
)
def test_bad_specifications(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        Garch(**kwargs)  # type: ignore[arg-type]


def test_bad_simulation_arguments(garch_t: GarchResult) -> None:
    with pytest.raises(InputError, match="n_paths = -5 is not >= 1"):
        garch_t.simulate(10, -5, rng=1)
    with pytest.raises(InputError, match="n_steps=-3 must be a positive integer"):
        garch_t.simulate(-3, 10, rng=1)
    with pytest.raises(InputError, match="chunk_paths=0 must be a positive integer"):
        garch_t.simulate(10, 10, rng=1, chunk_paths=0)


def test_unknown_model_name() -> None:
    with pytest.raises(InputError, match="model='arima' is unknown; choose one of garch, gjr, egarch, ou, ou-garch"):
        make_spec("arima")
    with pytest.raises(InputError, match="not available for model 'ou'"):
        make_spec("ou", "t")


def test_result_frame(garch_t: GarchResult) -> None:
    frame = garch_t.to_frame()
    assert list(frame.columns) == ["estimate", "std_err", "simulated"]
    assert isinstance(frame, pd.DataFrame) and "nu" in frame.index


def test_simulation_identical_whatever_the_number_of_threads(
    garch_t: GarchResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = SimulationGrid.build(garch_t.last_date, "3m", "W")
    many = garch_t.simulate(grid, 40_000, rng=11)  # 10 blocks: a thread pool over blocks
    few = garch_t.simulate(grid, 6_000, rng=11)  # 2 blocks: each block's paths split over threads
    monkeypatch.setenv("CARBONRISK_THREADS", "1")
    assert np.array_equal(garch_t.simulate(grid, 40_000, rng=11)["CEA"], many["CEA"])
    assert np.array_equal(garch_t.simulate(grid, 6_000, rng=11)["CEA"], few["CEA"])
    assert np.array_equal(many["CEA"][:, :6_000][:, :4096], few["CEA"][:, :4096])
