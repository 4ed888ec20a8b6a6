"""Daily carbon-price histories: loading, validation, log-returns.

Two real histories ship inside the package and load by name:

``cea``
    China national ETS allowance (CEA) daily close, 2021-07-16 to 2024-10-31, with OHLC, volume (t) and
    turnover (CNY).
``hbea``
    Hubei pilot ETS allowance daily close, 2014-04-28 to 2025, with VWAP, volume (t) and turnover (CNY).

Any other CSV or Excel (``.xlsx``) file with a date column and a price column loads the same way. The price
column is ``close`` when present, else the only numeric column, else the one the caller names.

Validation (each a :class:`~models.exceptions.DataError` with a one-line message naming the rows):
unparseable dates, duplicate dates, non-numeric or non-finite prices, non-positive prices, fewer than
:data:`MIN_OBSERVATIONS` observations. Unsorted input is sorted, with an
:class:`~models.exceptions.UnsortedInputWarning`; gaps longer than :data:`MAX_GAP_DAYS` calendar days raise a
:class:`~models.exceptions.DataGapWarning` listing them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from models.exceptions import DataError, DataGapWarning, UnsortedInputWarning
from models.units import TRADING_DAYS_PER_YEAR

__all__ = [
    "EMBEDDED_DATASETS",
    "MAX_GAP_DAYS",
    "MIN_OBSERVATIONS",
    "Gap",
    "PriceHistory",
    "load_prices",
]

MIN_OBSERVATIONS: int = 60
"""Fewest price observations accepted (a GARCH fit on fewer is meaningless)."""
MAX_GAP_DAYS: int = 10
"""Gaps between consecutive observations longer than this many calendar days are reported."""
EMBEDDED_DATASETS: dict[str, str] = {"cea": "cea_daily.csv", "hbea": "hbea_daily.csv"}
"""Names of the embedded histories and their files in ``models/data``."""
_MAX_LISTED = 5
_DATE_CANDIDATES = ("date", "trade_date", "day", "time", "datetime")


@dataclass(frozen=True)
class Gap:
    """A run of more than :data:`MAX_GAP_DAYS` calendar days between two consecutive observations."""

    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def days(self) -> int:
        """Calendar days from the last observation before the gap to the first one after it."""
        return int((self.end - self.start).days)

    def __str__(self) -> str:
        return f"{self.start.date()} -> {self.end.date()} ({self.days} d)"


@dataclass(frozen=True)
class PriceHistory:
    """A validated daily price history.

    Attributes
    ----------
    name : str
        Short name (``cea``, ``hbea`` or the file stem).
    prices : pandas.Series
        Prices in CNY/t indexed by a sorted, unique ``DatetimeIndex`` named ``date``.
    source : str
        Where the data came from (embedded file name or path).
    column : str
        Name of the price column that was read.
    volume_t : pandas.Series or None
        Traded volume in tonnes per day when the file has a ``volume_t`` column.
    gaps : tuple of Gap
        Gaps longer than :data:`MAX_GAP_DAYS` calendar days.
    notes : tuple of str
        What the loader did to the input (for example sorting it).
    """

    name: str
    prices: pd.Series
    source: str
    column: str
    volume_t: pd.Series | None = None
    gaps: tuple[Gap, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def log_returns(self) -> pd.Series:
        """Daily log-returns ``ln(S_t / S_{t-1})``, indexed by the later date."""
        r = np.log(self.prices).diff().dropna()
        r.name = f"{self.name}_log_return"
        return r

    @property
    def n_obs(self) -> int:
        """Number of price observations."""
        return len(self.prices)

    @property
    def last_price(self) -> float:
        """The last observed price in CNY/t."""
        return float(self.prices.iloc[-1])

    @property
    def last_date(self) -> pd.Timestamp:
        """Date of the last observation."""
        return pd.Timestamp(self.prices.index[-1])

    def to_frame(self) -> pd.DataFrame:
        """Prices, log-returns and (when present) volume as one frame."""
        frame = pd.DataFrame({"price_cny_per_t": self.prices, "log_return": np.log(self.prices).diff()})
        if self.volume_t is not None:
            frame["volume_t"] = self.volume_t
        return frame

    def summary(self) -> dict[str, Any]:
        """Rows, date range, price range, gaps and return statistics as plain JSON-ready values."""
        p = self.prices
        r = self.log_returns
        daily_std = float(r.std(ddof=1))
        return {
            "name": self.name,
            "source": self.source,
            "column": self.column,
            "rows": self.n_obs,
            "start": str(p.index[0].date()),
            "end": str(p.index[-1].date()),
            "price_min_cny_per_t": float(p.min()),
            "price_min_date": str(p.idxmin().date()),
            "price_max_cny_per_t": float(p.max()),
            "price_max_date": str(p.idxmax().date()),
            "price_last_cny_per_t": self.last_price,
            "gaps": [{"start": str(g.start.date()), "end": str(g.end.date()), "days": g.days} for g in self.gaps],
            "notes": list(self.notes),
            "returns": {
                "n": len(r),
                "mean_daily": float(r.mean()),
                "std_daily": daily_std,
                "vol_annualised": daily_std * float(np.sqrt(TRADING_DAYS_PER_YEAR)),
                "skewness": float(stats.skew(r.to_numpy())),
                "excess_kurtosis": float(stats.kurtosis(r.to_numpy())),
                "min": float(r.min()),
                "max": float(r.max()),
                "zero_share": float((r == 0.0).mean()),
            },
        }


def _listing(items: Sequence[str]) -> str:
    """Comma-separated listing of at most ``_MAX_LISTED`` items, with a count of the rest."""
    shown = ", ".join(items[:_MAX_LISTED])
    rest = len(items) - _MAX_LISTED
    return shown + (f" and {rest} more" if rest > 0 else "")


def _read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if not path.exists():
        raise DataError(f"price file '{path}' does not exist")
    if path.is_dir():
        raise DataError(f"price file '{path}' is a directory, expected a .csv or .xlsx file")
    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        if suffix == ".xlsx":
            return pd.read_excel(path, dtype=object, engine="openpyxl")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read price file '{path}': {first_line}") from exc
    raise DataError(f"price file '{path}' has suffix '{path.suffix}'; supported: .csv, .xlsx")


def _pick_date_column(frame: pd.DataFrame, date_column: str | None, where: str) -> str:
    if date_column is not None:
        if date_column not in frame.columns:
            raise DataError(f"date column '{date_column}' not in {where}; columns: {list(frame.columns)}")
        return date_column
    lowered = {str(c).strip().lower(): c for c in frame.columns}
    for candidate in _DATE_CANDIDATES:
        if candidate in lowered:
            return str(lowered[candidate])
    if len(frame.columns) == 0:
        raise DataError(f"{where} has no columns")
    return str(frame.columns[0])


def _is_numeric_column(values: pd.Series) -> bool:
    present = values[values.astype(str).str.strip() != ""]
    if present.empty:
        return False
    return bool(pd.to_numeric(present, errors="coerce").notna().mean() >= 0.9)


def _pick_price_column(frame: pd.DataFrame, column: str | None, date_col: str, where: str) -> str:
    if column is not None:
        if column not in frame.columns:
            raise DataError(f"price column '{column}' not in {where}; columns: {list(frame.columns)}")
        return column
    lowered = {str(c).strip().lower(): c for c in frame.columns}
    if "close" in lowered:
        return str(lowered["close"])
    numeric = [str(c) for c in frame.columns if c != date_col and _is_numeric_column(frame[c])]
    if len(numeric) == 1:
        return numeric[0]
    if not numeric:
        raise DataError(f"{where} has no numeric price column besides '{date_col}'")
    raise DataError(f"{where} has several numeric columns {numeric} and none named 'close'; choose one with column=")


def _parse_dates(raw: pd.Series, date_col: str, where: str) -> pd.DatetimeIndex:
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = pd.to_datetime(raw, errors="coerce")
    else:
        text = raw.astype(str).str.strip()
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    bad = parsed.isna()
    if bad.any():
        rows = [f"row {i + 2} ({str(raw.iloc[i])!r})" for i in np.flatnonzero(bad.to_numpy())]
        raise DataError(f"unparseable dates in column '{date_col}' of {where}: {_listing(rows)}")
    return pd.DatetimeIndex(parsed).normalize()


def _parse_prices(raw: pd.Series, dates: pd.DatetimeIndex, column: str, where: str) -> np.ndarray:
    text = raw.astype(str).str.strip()
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    lowered = text.str.lower()
    looks_missing = lowered.isin(["", "nan", "none", "null", "na", "n/a", "inf", "-inf", "+inf", "infinity"])
    non_numeric = np.isnan(values) & ~looks_missing.to_numpy()
    if non_numeric.any():
        rows = [f"{dates[i].date()} ({text.iloc[i]!r})" for i in np.flatnonzero(non_numeric)]
        raise DataError(f"non-numeric prices in column '{column}' of {where}: {_listing(rows)}")
    non_finite = ~np.isfinite(values)
    if non_finite.any():
        rows = [f"{dates[i].date()} ({text.iloc[i] or 'empty'!s})" for i in np.flatnonzero(non_finite)]
        raise DataError(f"non-finite or missing prices in column '{column}' of {where}: {_listing(rows)}")
    non_positive = values <= 0.0
    if non_positive.any():
        rows = [f"{dates[i].date()} ({values[i]:g})" for i in np.flatnonzero(non_positive)]
        raise DataError(f"non-positive prices in column '{column}' of {where} (must be > 0): {_listing(rows)}")
    return values


def find_gaps(index: pd.DatetimeIndex, max_gap_days: int = MAX_GAP_DAYS) -> tuple[Gap, ...]:
    """Return the gaps of more than ``max_gap_days`` calendar days between consecutive dates."""
    if len(index) < 2:
        return ()
    steps = np.diff(index.to_numpy()).astype("timedelta64[D]").astype(int)
    return tuple(Gap(index[i], index[i + 1]) for i in np.flatnonzero(steps > max_gap_days))


def load_prices(
    source: str | Path,
    column: str | None = None,
    *,
    date_column: str | None = None,
    name: str | None = None,
) -> PriceHistory:
    """Load and validate a daily price history.

    Parameters
    ----------
    source : str or pathlib.Path
        ``"cea"`` or ``"hbea"`` for the embedded histories, or the path of a ``.csv`` / ``.xlsx`` file.
    column : str, optional
        Price column; default ``close`` when present, else the only numeric column.
    date_column : str, optional
        Date column; default the first of ``date``, ``trade_date``, ``day``... present, else the first column.
    name : str, optional
        Name of the history; default the dataset name or the file stem.

    Returns
    -------
    PriceHistory
        Sorted, unique, positive prices with their log-returns.

    Raises
    ------
    models.exceptions.DataError
        On unreadable files, unparseable or duplicate dates, non-numeric, non-finite or non-positive prices, or
        fewer than :data:`MIN_OBSERVATIONS` observations.

    Warns
    -----
    models.exceptions.UnsortedInputWarning
        When the input was not in date order (it is sorted).
    models.exceptions.DataGapWarning
        When consecutive observations are more than :data:`MAX_GAP_DAYS` calendar days apart.
    """
    key = str(source).strip().lower() if isinstance(source, str) else ""
    if key in EMBEDDED_DATASETS:
        resource = resources.files("models").joinpath("data").joinpath(EMBEDDED_DATASETS[key])
        with resources.as_file(resource) as embedded_path:
            frame = _read_table(Path(embedded_path))
        where, hist_name = f"embedded dataset '{key}'", name or key
        source_label = f"embedded:{EMBEDDED_DATASETS[key]}"
    else:
        path = Path(source)
        if path.suffix == "" and not path.exists():
            known = ", ".join(sorted(EMBEDDED_DATASETS))
            raise DataError(f"unknown dataset '{source}': not a file and not an embedded dataset ({known})")
        frame = _read_table(path)
        where, hist_name, source_label = f"'{path}'", name or path.stem, str(path)

    frame = frame.dropna(how="all")
    date_col = _pick_date_column(frame, date_column, where)
    price_col = _pick_price_column(frame, column, date_col, where)
    dates = _parse_dates(frame[date_col], date_col, where)
    values = _parse_prices(frame[price_col], dates, price_col, where)

    duplicated = dates.duplicated(keep=False)
    if duplicated.any():
        counts = pd.Series(dates[duplicated]).value_counts().sort_index()
        listed = [f"{d.date()} ({n} rows)" for d, n in counts.items()]
        raise DataError(f"duplicate dates in {where}: {_listing(listed)}")

    index = pd.DatetimeIndex(dates, name="date", freq=None)
    prices = pd.Series(values, index=index, name=f"{hist_name}_price_cny_per_t")
    volume: pd.Series | None = None
    if "volume_t" in frame.columns:
        vol_values = pd.to_numeric(frame["volume_t"].astype(str).str.strip(), errors="coerce").to_numpy(float)
        volume = pd.Series(vol_values, index=prices.index, name=f"{hist_name}_volume_t")

    notes: list[str] = []
    if not prices.index.is_monotonic_increasing:
        order = np.argsort(prices.index.to_numpy(), kind="stable")
        prices = prices.iloc[order]
        volume = volume.iloc[order] if volume is not None else None
        message = f"{where} was not in date order; sorted {len(prices)} rows by date"
        notes.append(message)
        warnings.warn(message, UnsortedInputWarning, stacklevel=2)

    if len(prices) < MIN_OBSERVATIONS:
        raise DataError(f"{where} has {len(prices)} price observations; at least {MIN_OBSERVATIONS} are needed")

    gaps = find_gaps(pd.DatetimeIndex(prices.index))
    if gaps:
        message = f"{where} has {len(gaps)} gap(s) longer than {MAX_GAP_DAYS} calendar days: " + _listing(
            [str(g) for g in gaps]
        )
        notes.append(message)
        warnings.warn(message, DataGapWarning, stacklevel=2)

    return PriceHistory(
        name=hist_name,
        prices=prices,
        source=source_label,
        column=price_col,
        volume_t=volume,
        gaps=gaps,
        notes=tuple(notes),
    )
