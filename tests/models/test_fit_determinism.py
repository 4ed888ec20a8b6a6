"""Determinism of the fits (issue 13, item 6): same data, same parameters, bit for bit.

The GARCH-family fits run SLSQP from explicitly computed starting values
(:func:`carbonrisk.models.garch.starting_values`, ``arch``'s data-based rule) with stated tolerances
(:data:`carbonrisk.models.garch.FIT_FTOL`,
:data:`carbonrisk.models.garch.FIT_EPS`). Checked here: fitting twice gives identical parameters; fitting on a copy of
the history that was reversed and restored (same values, other memory layout) gives identical parameters; the explicit
starting values and tolerances reproduce ``arch``'s default fit exactly (so stating them changed no number). Exact
equality is the requirement, no tolerance.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from carbonrisk.models.catalog import fit_model
from carbonrisk.models.data import PriceHistory, load_prices
from carbonrisk.models.garch import FIT_EPS, FIT_FTOL, Garch, starting_values
from carbonrisk.models.units import PERCENT

COMBOS = [
    ("garch", "empirical"),
    ("garch", "t"),
    ("gjr", "skewt"),
    ("egarch", "normal"),
    ("ou-garch", "t"),
    ("ou", "normal"),
]


def _fit(history: PriceHistory, model: str, dist: str) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit_model(history, model, dist)
    summary = res.summary()
    return pd.Series(summary["params"] | {f"sim_{k}": v for k, v in summary.get("sim_params", {}).items()})


def _reversed_and_restored(history: PriceHistory) -> PriceHistory:
    """Same dates and values, held in a reversed copy read backwards (a negative-stride view of other memory)."""
    values = np.ascontiguousarray(history.prices.to_numpy()[::-1])[::-1]
    assert values.strides[0] < 0
    index = pd.DatetimeIndex(history.prices.index[::-1][::-1], name=history.prices.index.name)
    prices = pd.Series(values, index=index, name=history.prices.name, copy=False)
    assert prices.equals(history.prices)
    return PriceHistory(name=history.name, prices=prices, source=history.source, column=history.column)


@pytest.fixture(scope="module", params=["cea", "hbea"])
def history(request: pytest.FixtureRequest) -> PriceHistory:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_prices(request.param)


@pytest.mark.parametrize(("model", "dist"), COMBOS, ids=[f"{m}-{d}" for m, d in COMBOS])
def test_fitting_twice_and_on_a_restored_copy_gives_identical_parameters(
    history: PriceHistory, model: str, dist: str
) -> None:
    first = _fit(history, model, dist)
    again = _fit(history, model, dist)
    restored = _fit(_reversed_and_restored(history), model, dist)
    assert np.array_equal(first.to_numpy(), again.to_numpy()), (first - again).abs().max()
    assert list(first.index) == list(restored.index)
    assert np.array_equal(first.to_numpy(), restored.to_numpy()), (first - restored).abs().max()


@pytest.mark.parametrize(("vol", "dist"), [("garch", "normal"), ("gjr", "t"), ("egarch", "skewt")])
def test_explicit_starting_values_and_tolerances_reproduce_arch_default_fit(
    history: PriceHistory, vol: str, dist: str
) -> None:
    spec = Garch(vol=vol, dist=dist)  # type: ignore[arg-type]
    returns_pct = history.log_returns * PERCENT
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = spec.fit_arch(returns_pct, history.name)
        plain = spec.arch_model(returns_pct).fit(disp="off", show_warning=False, options={"maxiter": spec.max_iter})
    sv = starting_values(spec.arch_model(returns_pct))
    assert sv.shape == (len(plain.params),) and np.all(np.isfinite(sv))
    assert np.array_equal(ours.params.to_numpy(), plain.params.to_numpy())
    assert FIT_FTOL == 1e-6 and FIT_EPS == np.sqrt(np.finfo(float).eps)  # scipy's SLSQP defaults, stated


def test_rolling_window_start_uses_the_window_only(history: PriceHistory) -> None:
    """A backtest's window fit (``first_obs``/``last_obs``) starts from the window's own values, as arch does."""
    spec = Garch(dist="normal")
    returns_pct = history.log_returns * PERCENT
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = spec.fit_arch(returns_pct, history.name, first_obs=100, last_obs=600)
        plain = spec.arch_model(returns_pct).fit(
            disp="off", show_warning=False, first_obs=100, last_obs=600, options={"maxiter": spec.max_iter}
        )
    assert np.array_equal(ours.params.to_numpy(), plain.params.to_numpy())
