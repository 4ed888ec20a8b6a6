"""The uniform simulation interface: every fitted model satisfies PriceModelResult and behaves alike."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from models.base import PriceModelResult, glide_path
from models.catalog import MODEL_NAMES, make_spec
from models.data import load_prices
from models.grid import SimulationGrid
from models.joint import BasisParams, JointCeaCcer
from models.scenarios import load_scenario


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
