"""The path set: simulated values of each risk factor on a date grid, dates x paths.

Every later valuation and risk number is computed on a :class:`PathSet`; ``finance`` may use this container but
never a fitted model's internals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from carbonrisk.models.exceptions import InputError

__all__ = ["DEFAULT_QUANTILES", "PathSet"]

DEFAULT_QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.50, 0.75, 0.95)


@dataclass(frozen=True)
class PathSet:
    """Simulated risk-factor values, one ``(n_dates, n_paths)`` array per factor.

    Attributes
    ----------
    dates : pandas.DatetimeIndex
        Date grid; the first row is the valuation date (the observed starting value).
    factors : mapping of str to numpy.ndarray
        Factor name (``"CEA"``, ``"CCER"``...) to a float64 array of shape ``(n_dates, n_paths)``.
    seed_entropy : int or None
        Entropy of the root ``SeedSequence`` that generated the paths (reproduces them).
    meta : dict
        Model name, parameters, policies applied, warnings: whatever explains how the paths were made.
    variance : mapping of str to numpy.ndarray, optional
        Per factor (a subset of ``factors``), the model's conditional daily variance of the next log-return
        (decimal, ``(ln S_{t+1} / S_t)^2`` units) at each date, same ``(n_dates, n_paths)`` shape; None when not
        recorded (``simulate(..., record_variance=True)``).
    """

    dates: pd.DatetimeIndex
    factors: Mapping[str, np.ndarray]
    seed_entropy: int | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    variance: Mapping[str, np.ndarray] | None = None

    def __post_init__(self) -> None:
        if not self.factors:
            raise InputError("factors must hold at least one risk factor")
        for name, values in self.factors.items():
            if values.ndim != 2 or values.shape[0] != len(self.dates):
                raise InputError(f"factor '{name}' has shape {values.shape}; expected ({len(self.dates)}, n_paths)")
        widths = {v.shape[1] for v in self.factors.values()}
        if len(widths) != 1:
            raise InputError(f"factors have different path counts {sorted(widths)}")
        for name, values in (self.variance or {}).items():
            if name not in self.factors:
                raise InputError(f"variance of '{name}' given but '{name}' is not a factor ({list(self.factors)})")
            expected = self.factors[name].shape
            if values.shape != expected:
                raise InputError(f"variance of '{name}' has shape {values.shape}; expected {expected}")

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the risk factors."""
        return tuple(self.factors)

    @property
    def n_paths(self) -> int:
        """Number of paths."""
        return int(next(iter(self.factors.values())).shape[1])

    @property
    def n_dates(self) -> int:
        """Number of dates, including the valuation date."""
        return len(self.dates)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.factors[name]
        except KeyError:
            raise InputError(f"risk factor '{name}' not in path set; available: {list(self.factors)}") from None

    def quantiles(self, name: str, q: Sequence[float] = DEFAULT_QUANTILES) -> pd.DataFrame:
        """Quantiles of factor ``name`` across paths, one row per date and one column per level."""
        levels = np.asarray(q, dtype=float)
        if np.any((levels < 0) | (levels > 1)):
            raise InputError(f"quantile levels {list(q)} must lie in [0, 1]")
        values = np.quantile(self[name], levels, axis=1).T
        return pd.DataFrame(values, index=self.dates, columns=[f"q{lv:.2f}" for lv in levels])

    def mean(self, name: str) -> pd.Series:
        """Mean of factor ``name`` across paths, per date."""
        return pd.Series(self[name].mean(axis=1), index=self.dates, name=f"{name}_mean")

    def to_frame(self, names: Sequence[str] | None = None) -> pd.DataFrame:
        """Long frame with columns ``date, path, <factor>...`` (one row per date and path)."""
        chosen = list(names) if names is not None else list(self.factors)
        n_dates, n_paths = self.n_dates, self.n_paths
        data: dict[str, Any] = {
            "date": np.repeat(self.dates.to_numpy(), n_paths),
            "path": np.tile(np.arange(n_paths, dtype=np.int64), n_dates),
        }
        for name in chosen:
            data[name] = self[name].reshape(-1)
        return pd.DataFrame(data)

    def to_parquet(self, path: str | Path) -> Path:
        """Write :meth:`to_frame` to a Parquet file and return its path."""
        target = Path(path)
        self.to_frame().to_parquet(target, index=False)
        return target
