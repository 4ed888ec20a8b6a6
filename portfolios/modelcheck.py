"""The model in use, validated where it is used (issue 13, item 4): its VaR backtest on its own price history.

Every portfolio report shows the walk-forward one-day VaR backtest of the run's model (violations, Kupiec and
Christoffersen conditional-coverage p-values at 95 % and 99 %; :func:`carbonrisk.models.backtest.backtest_var`):

* on an embedded series (``cea``, ``hbea``) the stored table ``models/data/backtests/backtests.csv`` (rolling
  500-return window, refit every 20 trading days, the README's settings) is read: the same numbers, at no cost;
* on any other history the backtest is run with the same settings (refit every :data:`REPORT_REFIT` = 20 trading
  days; measured: 1.2-1.3 s for GARCH-FHS and OU-GARCH-FHS on CEA's 800 closes on the 2-core machine, so no
  cheaper refit is needed; a history of fewer than 600 returns uses half of them as the window).

A model that either test rejects at 5 % at either level raises a
:class:`~carbonrisk.models.exceptions.CarbonRiskWarning`, shown at the top of the report.
"""

from __future__ import annotations

import warnings
from importlib import resources
from typing import Any

import pandas as pd

from carbonrisk.models.backtest import backtest_var
from carbonrisk.models.catalog import make_spec
from carbonrisk.models.data import PriceHistory
from carbonrisk.models.exceptions import CarbonRiskWarning
from carbonrisk.portfolios.portfolio import Portfolio

__all__ = ["BACKTEST_LEVELS", "BACKTEST_SIZE", "REPORT_REFIT", "STORED_REFIT", "model_backtest"]

BACKTEST_LEVELS: tuple[float, float] = (0.95, 0.99)
"""VaR levels of the report's backtest."""
BACKTEST_SIZE: float = 0.05
"""Size of the Kupiec and conditional-coverage tests."""
STORED_REFIT: int = 20
"""Refit interval (trading days) of the stored table."""
REPORT_REFIT: int = 20
"""Refit interval (trading days) when the backtest is computed for a report (a history that is not embedded)."""
WINDOW: int = 500
"""Rolling estimation window (returns) of the stored table and of the report's backtest."""
MIN_TEST_DAYS: int = 100
"""Fewest out-of-sample days with the full window; a shorter history uses half its returns as the window."""
EMBEDDED = ("cea", "hbea")


def _stored(data: str, key: str) -> pd.DataFrame:
    path = resources.files("carbonrisk.models").joinpath("data/backtests/backtests.csv")
    with resources.as_file(path) as file:
        table = pd.read_csv(file)
    return table[(table["data"] == data) & (table["model_key"] == key)]


def model_backtest(portfolio: Portfolio, history: PriceHistory) -> dict[str, Any]:
    """Backtest of the portfolio's model on its own history (see the module docstring).

    Returns
    -------
    dict
        ``levels``: one ``{"level", "n_obs", "violations", "expected", "kupiec_pvalue", "cc_pvalue", "passes"}``
        per level; ``source`` (one sentence: stored table or computed, with the window and refit); ``refit``;
        ``passes`` (neither test rejects at :data:`BACKTEST_SIZE` at any level).
    """
    spec = portfolio.market
    key = f"{spec.model}-{spec.dist}"
    rows: list[dict[str, Any]] = []
    stored = _stored(spec.prices, key) if spec.prices in EMBEDDED else pd.DataFrame()
    if len(stored) == len(BACKTEST_LEVELS):
        refit = STORED_REFIT
        source = (
            f"stored table models/data/backtests/backtests.csv ({spec.prices}, rolling {WINDOW}-return window, "
            f"refit every {refit} trading days)"
        )
        for rec in stored.sort_values("level").to_dict("records"):
            rows.append(
                {
                    "level": float(rec["level"]),
                    "n_obs": int(rec["n_obs"]),
                    "violations": int(rec["violations"]),
                    "expected": float(rec["expected"]),
                    "kupiec_pvalue": float(rec["kupiec_pvalue"]),
                    "cc_pvalue": float(rec["cc_pvalue"]),
                }
            )
    else:
        refit = REPORT_REFIT
        n_returns = len(history.log_returns)
        window = WINDOW if n_returns >= WINDOW + MIN_TEST_DAYS else max(100, n_returns // 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = backtest_var(
                history, make_spec(spec.model, spec.dist), levels=BACKTEST_LEVELS, window=window, refit=refit
            )
        source = (
            f"computed for this report on {history.name} (rolling {window}-return window, refit every {refit} "
            "trading days)"
        )
        for lv in res.levels:
            rows.append(
                {
                    "level": lv.level,
                    "n_obs": lv.n_obs,
                    "violations": lv.violations,
                    "expected": lv.expected,
                    "kupiec_pvalue": lv.kupiec_pvalue,
                    "cc_pvalue": lv.christoffersen_cc_pvalue,
                }
            )
    for row in rows:
        row["passes"] = bool(row["kupiec_pvalue"] >= BACKTEST_SIZE and row["cc_pvalue"] >= BACKTEST_SIZE)
    passes = all(r["passes"] for r in rows)
    if not passes:
        failed = ", ".join(
            f"{r['level']:.0%} ({r['violations']} violations vs {r['expected']:.1f} expected, Kupiec p "
            f"{r['kupiec_pvalue']:.3f}, CC p {r['cc_pvalue']:.3f})"
            for r in rows
            if not r["passes"]
        )
        warnings.warn(
            f"model {key} is rejected by its VaR backtest on {history.name} at 5 %: {failed}; "
            f"see the model section (the README's backtest table names models that pass)",
            CarbonRiskWarning,
            stacklevel=2,
        )
    return {"model_key": key, "levels": rows, "source": source, "refit": refit, "passes": passes}
