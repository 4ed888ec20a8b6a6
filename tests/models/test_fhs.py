"""Filtered historical simulation (``dist="empirical"``): Gaussian QMLE volatility, bootstrapped residuals.

References: Barone-Adesi, Giannopoulos and Vosper (1999); ``arch``'s ``forecast(method="bootstrap")`` draws the
fit's standardised residuals with replacement, the reference the simulation is checked against.

Tolerances: quantiles are compared through the empirical CDF. For ``N`` draws the fraction below a fixed point
has standard error ``sqrt(p (1 - p) / N)`` (one sample against a known law) or
``sqrt(p (1 - p) (1 / N1 + 1 / N2))`` (two independent samples); the tests allow 4 standard errors.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from carbonrisk.models.data import PriceHistory, load_prices
from carbonrisk.models.garch import Garch, GarchResult, fhs_innovations
from carbonrisk.models.grid import SimulationGrid

LEVELS = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


@pytest.fixture(scope="module")
def cea() -> PriceHistory:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_prices("cea")


def _fit(history: PriceHistory, **kwargs: object) -> GarchResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Garch(dist="empirical", **kwargs).fit(history)  # type: ignore[arg-type]


def test_the_volatility_is_the_gaussian_qmle(cea: PriceHistory) -> None:
    fhs = _fit(cea)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        normal = Garch(dist="normal").fit(cea)
    assert fhs.params.equals(normal.params) and fhs.name == "GARCH(1,1)-empirical"
    assert fhs.innovations is not None and len(fhs.innovations) == fhs.n_obs
    z = fhs.innovations
    assert abs(float(z.mean())) < 1e-12 and float(z.std()) == pytest.approx(1.0, rel=1e-12)
    # the illiquid zero-return days stay in the sample: a point mass near zero at their empirical frequency
    zero_days = float(np.mean(cea.log_returns.to_numpy() == 0.0))
    assert zero_days > 0.2 and float(np.mean(np.abs(fhs.std_resid) < 0.05)) >= zero_days


def test_one_day_innovations_reproduce_the_residual_quantiles(cea: PriceHistory) -> None:
    fhs = _fit(cea)
    n = 200_000
    paths = fhs.simulate(1, n, rng=17)
    mu = float(fhs.sim_params["mu"])
    z = (100.0 * np.log(paths["CEA"][1] / paths["CEA"][0]) - mu) / math.sqrt(fhs.next_variance_pct2)
    assert fhs.innovations is not None
    sample = np.sort(fhs.innovations)
    # every draw is one of the residuals (up to the rounding of exp / log)
    pos = np.clip(np.searchsorted(sample, z), 1, len(sample) - 1)
    nearest = np.minimum(np.abs(sample[pos] - z), np.abs(sample[pos - 1] - z))
    assert float(nearest.max()) < 1e-8
    for p in LEVELS:
        q = float(np.quantile(sample, p, method="inverted_cdf"))
        target = float(np.mean(sample <= q))  # the residuals' own CDF at q (ties at zero-return days included)
        got = float(np.mean(z <= q + 1e-9))
        assert abs(got - target) < 4 * math.sqrt(target * (1 - target) / n), (p, got, target)


def test_ten_day_returns_match_arch_bootstrap_forecast(cea: PriceHistory) -> None:
    """Same parameters and residuals (policy "none": arch's own fit, raw residuals): 10-day return quantiles."""
    spec = Garch(dist="empirical", persistence_policy="none")
    ours = _fit(cea, persistence_policy="none")
    assert ours.innovations is not None and np.array_equal(ours.innovations, fhs_innovations(ours.std_resid, "none"))
    arch_res = spec.arch_model(cea.log_returns * 100).fit(disp="off")
    np.testing.assert_allclose(arch_res.params.to_numpy(), ours.params.to_numpy(), rtol=1e-10)
    n, horizon = 20_000, 10
    fc = arch_res.forecast(
        horizon=horizon, method="bootstrap", simulations=n, reindex=False, random_state=np.random.RandomState(3)
    )
    theirs = fc.simulations.values[-1].sum(axis=1)
    paths = ours.simulate(horizon, n, rng=3)
    mine = 100.0 * np.log(paths["CEA"][-1] / paths["CEA"][0])
    for p in LEVELS:
        q = float(np.quantile(theirs, p))
        a, b = float(np.mean(mine <= q)), float(np.mean(theirs <= q))
        se = math.sqrt(b * (1 - b) * 2.0 / n)
        assert abs(a - b) < 4 * se, (p, a, b, se)


def test_fhs_paths_identical_whatever_the_chunking_or_threads(
    cea: PriceHistory, monkeypatch: pytest.MonkeyPatch
) -> None:
    fhs = _fit(cea)
    grid = SimulationGrid.build(fhs.last_date, "3m", "W")
    many = fhs.simulate(grid, 20_000, rng=11, record_variance=True)
    chunked = fhs.simulate(grid, 20_000, rng=11, chunk_paths=8192, record_variance=True)
    few = fhs.simulate(grid, 6_000, rng=11)
    monkeypatch.setenv("CARBONRISK_THREADS", "1")
    single = fhs.simulate(grid, 20_000, rng=11, record_variance=True)
    assert many.variance is not None and chunked.variance is not None and single.variance is not None
    for other in (chunked, single):
        assert np.array_equal(other["CEA"], many["CEA"])
        assert np.array_equal(other.variance["CEA"], many.variance["CEA"])  # type: ignore[index]
    assert np.array_equal(few["CEA"][:, :4096], many["CEA"][:, :4096])
    assert not np.array_equal(fhs.simulate(grid, 6_000, rng=12)["CEA"], few["CEA"])


def test_gjr_and_ou_garch_offer_fhs(cea: PriceHistory) -> None:
    from carbonrisk.models.catalog import make_spec

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gjr = make_spec("gjr", "empirical").fit(cea)
        ou = make_spec("ou-garch", "empirical").fit(cea)
    assert gjr.name == "GJR-GARCH(1,1,1)-empirical" and ou.name == "OU-GARCH(1,1)-empirical"
    assert ou.garch.innovations is not None
    assert np.all(np.isfinite(ou.simulate(20, 100, rng=1)["CEA"]))


def test_default_law_is_fhs_where_offered() -> None:
    from carbonrisk.models.catalog import default_dist, make_spec
    from carbonrisk.models.meanrev import OrnsteinUhlenbeck

    assert make_spec().name == "GARCH(1,1)-empirical" and default_dist("ou-garch") == "empirical"
    assert make_spec("egarch").name == "EGARCH(1,1,1)-normal" and default_dist("egarch") == "normal"
    assert isinstance(make_spec("ou"), OrnsteinUhlenbeck)


@pytest.mark.parametrize(("series", "vol"), [("hbea", "garch"), ("cea", "gjr"), ("hbea", "gjr")])
def test_ten_day_returns_match_arch_bootstrap_forecast_other_series_and_gjr(series: str, vol: str) -> None:
    """The arch bootstrap comparison above on HBEA and for GJR-GARCH (same parameters and raw residuals).

    Reference: ``arch``'s ``forecast(method="bootstrap")`` of its own fit (Barone-Adesi et al. 1999 FHS). The
    10-day return CDFs are compared at arch's quantiles: two independent samples of N, s.e.
    ``sqrt(p (1 - p) 2 / N)``, 4 s.e. allowed.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = load_prices(series)
    spec = Garch(dist="empirical", vol=vol, persistence_policy="none")  # type: ignore[arg-type]
    ours = _fit(history, vol=vol, persistence_policy="none")
    arch_res = spec.arch_model(history.log_returns * 100).fit(disp="off")
    np.testing.assert_allclose(arch_res.params.to_numpy(), ours.params.to_numpy(), rtol=1e-10)
    n, horizon = 20_000, 10
    fc = arch_res.forecast(
        horizon=horizon, method="bootstrap", simulations=n, reindex=False, random_state=np.random.RandomState(5)
    )
    theirs = fc.simulations.values[-1].sum(axis=1)
    paths = ours.simulate(horizon, n, rng=5)
    mine = 100.0 * np.log(paths["CEA"][-1] / paths["CEA"][0])
    for p in LEVELS:
        q = float(np.quantile(theirs, p))
        a, b = float(np.mean(mine <= q)), float(np.mean(theirs <= q))
        se = math.sqrt(b * (1 - b) * 2.0 / n)
        assert abs(a - b) < 4 * se, (p, a, b, se)
