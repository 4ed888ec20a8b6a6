"""VaR/ES estimators against closed forms, with tolerances from their own standard errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from carbonrisk.portfolios.risk import var_es


@pytest.mark.parametrize("level", [0.95, 0.99])
def test_normal_var_es_within_four_standard_errors(level: float) -> None:
    # Closed form for L ~ N(0, 1): VaR = z_c, ES = phi(z_c) / (1 - c) (Jorion, Value at Risk, 3rd ed., ch. 5).
    rng = np.random.default_rng(11)
    pnl = rng.standard_normal(200_000)
    fig = var_es(pnl, level)
    z = stats.norm.ppf(level)
    assert abs(fig.var - z) < 4 * fig.var_se
    assert abs(fig.es - stats.norm.pdf(z) / (1 - level)) < 4 * fig.es_se
    # The asymptotic VaR standard error for the normal: sqrt(c(1-c)/n) / phi(z_c).
    assert fig.var_se == pytest.approx(np.sqrt(level * (1 - level) / pnl.size) / stats.norm.pdf(z), rel=0.15)


def test_standard_errors_match_replication_spread() -> None:
    rng = np.random.default_rng(3)
    samples = rng.standard_t(4, size=(400, 5_000))
    figures = [var_es(s, 0.99) for s in samples]
    spread_var = np.std([f.var for f in figures], ddof=1)
    spread_es = np.std([f.es for f in figures], ddof=1)
    assert np.mean([f.var_se for f in figures]) == pytest.approx(spread_var, rel=0.25)
    assert np.mean([f.es_se for f in figures]) == pytest.approx(spread_es, rel=0.35)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match=r"level=1.2 must lie in \(0.5, 1\)"):
        var_es(np.zeros(1000), 1.2)
    with pytest.raises(ValueError, match="at least 100"):
        var_es(np.zeros(10), 0.95)
    with pytest.raises(ValueError, match="non-finite"):
        var_es(np.r_[np.zeros(200), np.inf], 0.95)
