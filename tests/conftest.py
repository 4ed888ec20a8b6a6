"""Shared fixtures: small price files written on the fly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def price_csv(tmp_path: Path) -> Callable[..., Path]:
    """Factory writing a CSV of ``n`` business-day prices (a random walk) with optional edits."""

    def make(n: int = 120, name: str = "prices.csv", seed: int = 1, **columns: list[object]) -> Path:
        rng = np.random.default_rng(seed)
        dates = pd.bdate_range("2022-01-03", periods=n)
        close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, n)))
        frame = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "close": [f"{x:.4f}" for x in close]})
        for key, values in columns.items():
            frame[key] = values
        path = tmp_path / name
        frame.to_csv(path, index=False)
        return path

    return make


@pytest.fixture(autouse=True)
def _isolated_ledger(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test records runs in its own ledger, never in the user's data directory."""
    home = tmp_path_factory.mktemp("carbonrisk-home")
    monkeypatch.setenv("CARBONRISK_HOME", str(home))
    return home
