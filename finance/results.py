"""What every engine returns, and the helpers engines share to read a path set."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from carbonrisk.finance.exceptions import PathSetError
from carbonrisk.models.calendar import as_datetime_index
from carbonrisk.models.paths import PathSet

__all__ = ["PricingResult", "date_rows", "fixing_sums", "jsonable", "mc_estimate", "prices_on"]


@dataclass(frozen=True)
class PricingResult:
    """Value of one instrument by one engine.

    Attributes
    ----------
    instrument : str
        Instrument label.
    value : float
        Present value in CNY (for loans: the lender's net present value).
    std_error : float
        Monte Carlo standard error of ``value`` (0 for closed forms).
    method : str
        Engine and method, e.g. ``"Black-76 (QuantLib blackFormula)"``.
    extras : mapping
        Engine-specific numbers (JSON-ready scalars, lists or dicts), e.g. loan probabilities.
    cashflows : pandas.DataFrame or None
        Expected cash flows by date (``expected_cny``, ``df``, ``pv_cny``) where the engine computes them.
    n_paths : int
        Paths used (0 for closed forms).
    """

    instrument: str
    value: float
    std_error: float
    method: str
    extras: Mapping[str, Any] = field(default_factory=dict)
    cashflows: pd.DataFrame | None = None
    n_paths: int = 0
    samples: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)
    """Per-path arrays of Monte Carlo engines (never serialised): ``pv_cny`` is the discounted value of each path
    (its mean is ``value``); loans add their per-path outcomes. The portfolio engine reads these."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (cash flows as a list of records with ISO dates)."""
        out: dict[str, Any] = {
            "instrument": self.instrument,
            "value": float(self.value),
            "std_error": float(self.std_error),
            "method": self.method,
            "n_paths": int(self.n_paths),
            "extras": jsonable(self.extras),
        }
        if self.cashflows is not None:
            frame = self.cashflows.copy()
            for c in frame.columns:
                if pd.api.types.is_datetime64_any_dtype(frame[c]):
                    frame[c] = frame[c].dt.strftime("%Y-%m-%d")
            out["cashflows"] = jsonable(frame.to_dict(orient="records"))
        return out

    def to_frame(self) -> pd.DataFrame:
        """One-row frame: value, std_error, method and scalar extras."""
        row: dict[str, Any] = {"value": self.value, "std_error": self.std_error, "method": self.method}
        row.update({k: v for k, v in self.extras.items() if isinstance(v, (int, float, str))})
        return pd.DataFrame([row], index=pd.Index([self.instrument], name="instrument"))


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy scalars and arrays, timestamps and non-finite floats (-> None) made JSON-ready."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if np.isfinite(v) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, pd.Timestamp):
        return str(obj.date())
    return obj


def date_rows(paths: PathSet, factor: str, dates: pd.DatetimeIndex) -> np.ndarray:
    """Row positions of ``dates`` in the path set (checked: the factor and every date are present).

    Raises
    ------
    carbonrisk.finance.exceptions.PathSetError
        The factor or one of the dates is missing from the path set.
    """
    if factor not in paths.factors:
        raise PathSetError(f"path set has no factor '{factor}'; it holds {list(paths.factors)}")
    wanted = as_datetime_index(dates)
    pos = as_datetime_index(paths.dates).get_indexer(wanted)
    if np.any(pos < 0):
        missing = wanted[pos < 0]
        raise PathSetError(f"path set lacks date {missing[0].date()} ({len(missing)} dates missing) for '{factor}'")
    return np.asarray(pos, dtype=np.intp)


def prices_on(paths: PathSet, factor: str, dates: pd.DatetimeIndex) -> np.ndarray:
    """Rows of factor ``factor`` on ``dates``, shape ``(len(dates), n_paths)`` (a copy).

    Raises
    ------
    carbonrisk.finance.exceptions.PathSetError
        The factor or one of the dates is missing from the path set.
    """
    return np.asarray(paths[factor][date_rows(paths, factor, dates)])


def fixing_sums(
    paths: PathSet, factor: str, dates: pd.DatetimeIndex, *, logs: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-path sums of the prices of ``factor`` on ``dates``, and of their logarithms.

    Returns
    -------
    total : numpy.ndarray
        :math:`\\sum_i S_{t_i}` per path, shape ``(n_paths,)``.
    log_total : numpy.ndarray or None
        :math:`\\sum_i \\ln S_{t_i}` per path (``None`` when ``logs`` is false).

    Notes
    -----
    Reads the rows in place, one at a time, and adds them in date order (as numpy's ``sum(axis=0)`` does on a
    C-ordered array of many paths): no ``(n_dates, n_paths)`` copy, and the logarithms come from numpy's
    vectorised ``log`` on one row at a time.
    """
    values = paths[factor]
    rows = date_rows(paths, factor, dates)
    total = np.zeros(values.shape[1])
    log_total = np.zeros(values.shape[1]) if logs else None
    buf = np.empty(values.shape[1]) if logs else total
    for r in rows:
        row = values[r]
        total += row
        if log_total is not None:
            np.log(row, out=buf)
            log_total += buf
    return total, log_total


def mc_estimate(samples: np.ndarray) -> tuple[float, float]:
    """Mean and standard error of i.i.d. samples.

    The operations of ``x.mean()`` and ``x.std(ddof=1)`` (pairwise sums, the same numbers) without their second
    pass for the mean and their temporaries.
    """
    x = np.asarray(samples, dtype=float)
    n = x.size
    mean = x.sum() / n
    d = x - mean
    np.multiply(d, d, out=d)
    return float(mean), float(np.sqrt(d.sum() / (n - 1)) / np.sqrt(n))
