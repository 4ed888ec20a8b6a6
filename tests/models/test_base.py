"""The uniform simulation interface: every fitted model satisfies PriceModelResult and behaves alike."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from carbonrisk.models.base import PriceModelResult, glide_path
from carbonrisk.models.catalog import MODEL_NAMES, make_spec
from carbonrisk.models.data import load_prices
from carbonrisk.models.grid import SimulationGrid
from carbonrisk.models.joint import BasisParams, JointCeaCcer
from carbonrisk.models.scenarios import load_scenario


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_every_fitted_model_offers_the_same_interface(model: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = make_spec(model, "normal").fit(load_prices("cea"))
    for candidate in (result, JointCeaCcer(result, BasisParams())):
        assert isinstance(candidate, PriceModelResult)
        grid = SimulationGrid.build(candidate.last_date, "6m", "M")
        paths = candidate.simulate(grid, 500, rng=1)
        summary = candidate.simulate_summary(grid, 500, rng=1)
        assert paths.dates.equals(grid.dates) and set(summary.quantiles) == set(paths.names)
        assert np.array_equal(summary.terminal["CEA"], paths["CEA"][-1])
        assert paths.meta["model"] == candidate.name


def test_glide_path_starts_at_the_last_price_and_joins_the_curve() -> None:
    curve = load_scenario("mid")
    grid = SimulationGrid.build("2024-10-31", "5y", "Y")
    path = glide_path(np.log(104.01), grid.start, grid.dates, curve)
    assert path[0] == pytest.approx(np.log(104.01))
    late = grid.dates >= grid.start + np.timedelta64(731, "D")
    np.testing.assert_allclose(path[late], np.log(curve.price_at(grid.dates[late])))


def test_block_shares_merge_into_the_same_summary_and_paths() -> None:
    """Worker shares (``summarise_blocks`` / ``simulate_blocks``) merged in block order reproduce the in-process
    ``simulate_summary`` and ``simulate`` exactly, whatever the grouping of blocks."""
    from carbonrisk.models.base import simulate_blocks, summarise_blocks, summary_from_parts
    from carbonrisk.models.random import BLOCK_PATHS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = JointCeaCcer(make_spec("ou-garch", "t").fit(load_prices("cea")), BasisParams())
    grid = SimulationGrid.build(result.last_date, "3y", "M")
    n_paths, n_dates = 4 * BLOCK_PATHS + 77, len(grid.dates)
    plan = result.plan(grid)
    expected = result.simulate_summary(grid, n_paths, 7)
    paths = result.simulate(grid, n_paths, 7)
    for group in (1, 2, 5):
        shares = [summarise_blocks(plan, n_dates, n_paths, 7, b, min(b + group, 5)) for b in range(0, 5, group)]
        merged = {
            k: np.sum([s[k] for s in shares], axis=0, dtype=np.int64)
            if k.endswith("_counts")
            else np.concatenate([s[k] for s in shares], axis=-1)
            for k in shares[0]
        }
        got = summary_from_parts(plan, grid.dates, n_paths, 7, merged)
        for name in ("CEA", "CCER"):
            assert got.quantiles[name].equals(expected.quantiles[name])
            assert got.mean[name].equals(expected.mean[name])
            np.testing.assert_array_equal(got.terminal[name], expected.terminal[name])
        blocks = [simulate_blocks(plan, n_dates, n_paths, 7, b, min(b + group, 5)) for b in range(0, 5, group)]
        np.testing.assert_array_equal(np.concatenate([b["CCER"] for b in blocks], axis=1), paths["CCER"])
