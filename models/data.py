"""Daily carbon-price histories: loading, validation, log-returns.

Two real histories ship inside the package and load by name:

``cea``
    China national ETS allowance (CEA) daily close, 2021-07-16 to 2024-10-31, with OHLC, volume (t) and
    turnover (CNY).
``hbea``
    Hubei pilot ETS allowance daily close, 2014-04-28 to 2025, with VWAP, volume (t) and turnover (CNY).

Any other CSV or Excel (``.xlsx``) file with a date column and a price column loads the same way. The price
column is ``close`` when present, else the only numeric column, else the one the caller names.

Validation (each a :class:`~carbonrisk.models.exceptions.DataError` with a one-line message naming the rows):
unparseable dates, duplicate dates, non-numeric or non-finite prices, non-positive prices, fewer than
:data:`MIN_OBSERVATIONS` observations. Unsorted input is sorted, with an
:class:`~carbonrisk.models.exceptions.UnsortedInputWarning`; gaps longer than :data:`MAX_GAP_DAYS` calendar days raise a
:class:`~carbonrisk.models.exceptions.DataGapWarning` listing them; an isolated outlier (a close more than
:data:`OUTLIER_FACTOR` times both neighbours, or below their ``1 / OUTLIER_FACTOR``) raises a
:class:`~carbonrisk.models.exceptions.PriceOutlierWarning` naming its date and value.

File rules (:mod:`carbonrisk.models.files`): the file must exist and not be a directory; a CSV must be UTF-8 and
comma-separated (semicolon, tab or pipe separators are refused, naming the separator); an ``.xlsx`` that is not a
readable workbook (random bytes, a renamed CSV, an empty file) is refused. Dates: ISO ``YYYY-MM-DD`` (and anything
else with the year first) is read as is; ``dd/mm/yyyy`` versus ``mm/dd/yyyy`` (also with ``.`` or ``-``) is decided
from the data (a first field above 12 means day first, a second field above 12 month first) and refused when the
data cannot tell (every field <= 12) or contradicts itself. Days and months are never swapped silently.
"""

from __future__ import annotations

import datetime as _dt
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from carbonrisk.models.exceptions import DataError, DataGapWarning, PriceOutlierWarning, UnsortedInputWarning
from carbonrisk.models.files import read_csv_text, require_file
from carbonrisk.models.units import TRADING_DAYS_PER_YEAR

__all__ = [
    "EMBEDDED_DATASETS",
    "MAX_GAP_DAYS",
    "MIN_OBSERVATIONS",
    "OUTLIER_FACTOR",
    "Gap",
    "PriceHistory",
    "find_gaps",
    "find_outliers",
    "load_prices",
]

MIN_OBSERVATIONS: int = 60
"""Fewest price observations accepted (a GARCH fit on fewer is meaningless)."""
MAX_GAP_DAYS: int = 10
"""Gaps between consecutive observations longer than this many calendar days are reported."""
EMBEDDED_DATASETS: dict[str, str] = {"cea": "cea_daily.csv", "hbea": "hbea_daily.csv"}
"""Names of the embedded histories and their files in ``models/data``."""
OUTLIER_FACTOR: float = 2.0
"""A close more than this many times both its neighbours, or less than their ``1 / OUTLIER_FACTOR``, is an
isolated outlier: a one-day jump with ``|log return| > ln(OUTLIER_FACTOR)`` reverted by the opposite jump the next
day. Real carbon closes never do this (largest such pair: 0.09 on CEA, 0.10 on HBEA, against ln 2 = 0.69); a
mistyped close (an extra zero, a price in fen) always does."""
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
    require_file(path, "price file", DataError)
    if suffix == ".csv":
        return read_csv_text(path, "price file", DataError, dtype=str, keep_default_na=False, skipinitialspace=True)
    if suffix == ".xlsx":
        try:
            return pd.read_excel(path, dtype=object, engine="openpyxl")
        except Exception as exc:  # zipfile.BadZipFile, openpyxl's InvalidFileException, KeyError of a bare zip...
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(
                f"price file '{path}' is not a readable Excel workbook ({type(exc).__name__}: {first}); "
                "save it as .xlsx from Excel or export it as CSV"
            ) from None
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


_YEAR_LAST = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})(?=$|[ T])")


def _day_first(text: pd.Series, raw: pd.Series, date_col: str, where: str) -> bool | None:
    """Whether the ``dd/mm/yyyy``-style dates of ``text`` are day first; ``None`` when none has the year last.

    The order is read from the data: a first field above 12 means day first, a second field above 12 month first.
    Both in one column, or neither (every field <= 12), is refused: the order cannot be told.
    """
    parts = text.str.extract(_YEAR_LAST)
    found = parts[0].notna().to_numpy()
    if not found.any():
        return None
    first = pd.to_numeric(parts[0], errors="coerce").to_numpy()
    second = pd.to_numeric(parts[2], errors="coerce").to_numpy()

    def row(mask: np.ndarray) -> str:
        i = int(np.flatnonzero(mask)[0])
        return f"row {_row_number(raw, i)} ({str(raw.iloc[i])!r})"

    day_first, month_first = found & (first > 12), found & (second > 12)
    if day_first.any() and month_first.any():
        raise DataError(
            f"dates in column '{date_col}' of {where} mix day-first ({row(day_first)}) and month-first "
            f"({row(month_first)}) order; write them as YYYY-MM-DD"
        )
    if not day_first.any() and not month_first.any():
        raise DataError(
            f"dates in column '{date_col}' of {where} are ambiguous: day and month are both <= 12 in every row "
            f"(e.g. {row(found)}), so dd/mm/yyyy and mm/dd/yyyy cannot be told apart; write them as YYYY-MM-DD"
        )
    return bool(day_first.any())


def _row_number(frame_column: pd.Series, position: int) -> int:
    """Line number in the file of the row at ``position`` (the header is line 1)."""
    label = frame_column.index[position]
    return int(label) + 2 if isinstance(label, (int, np.integer)) else position + 2


def _parse_dates(raw: pd.Series, date_col: str, where: str) -> pd.DatetimeIndex:
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = pd.to_datetime(raw, errors="coerce")
    else:
        text = raw.astype(str).str.strip()
        is_stamp = raw.map(lambda v: isinstance(v, (pd.Timestamp, _dt.date))).to_numpy(dtype=bool)
        day_first = _day_first(text[~is_stamp], raw[~is_stamp], date_col, where)
        parsed = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
        year_last = text.str.match(_YEAR_LAST).to_numpy(dtype=bool) & ~is_stamp
        if day_first is not None:
            parsed[year_last] = pd.to_datetime(text[year_last], errors="coerce", dayfirst=day_first, format="mixed")
        rest = ~year_last
        if rest.any():
            parsed[rest] = pd.to_datetime(text[rest], errors="coerce", format="mixed")
    bad = parsed.isna()
    if bad.any():
        rows = [f"row {_row_number(raw, int(i))} ({str(raw.iloc[i])!r})" for i in np.flatnonzero(bad.to_numpy())]
        raise DataError(f"unparseable dates in column '{date_col}' of {where}: {_listing(rows)}")
    return pd.DatetimeIndex(parsed).normalize()


def _parse_prices(raw: pd.Series, dates: pd.DatetimeIndex, column: str, where: str) -> np.ndarray:
    text = raw.where(raw.notna(), "").astype(str).str.strip()  # an empty Excel cell is NaN, not text
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


def find_outliers(prices: pd.Series, factor: float = OUTLIER_FACTOR) -> list[int]:
    """Positions of isolated outliers: closes more than ``factor`` times both neighbours or below ``1 / factor``.

    Parameters
    ----------
    prices : pandas.Series
        Positive prices in date order.
    factor : float
        The ratio to both neighbours (default :data:`OUTLIER_FACTOR`).

    Returns
    -------
    list of int
        Positions ``t`` with ``|ln(S_t / S_{t-1})| > ln(factor)``, ``|ln(S_{t+1} / S_t)| > ln(factor)`` and the two
        jumps of opposite sign. The first and last closes are never flagged (they have one neighbour).
    """
    r = np.diff(np.log(prices.to_numpy(dtype=float)))
    limit = np.log(factor)
    jump_in, jump_out = r[:-1], r[1:]
    isolated = (np.abs(jump_in) > limit) & (np.abs(jump_out) > limit) & (np.sign(jump_in) != np.sign(jump_out))
    return [int(i) + 1 for i in np.flatnonzero(isolated)]


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
    carbonrisk.models.exceptions.DataError
        On unreadable files, unparseable or duplicate dates, non-numeric, non-finite or non-positive prices, or
        fewer than :data:`MIN_OBSERVATIONS` observations.

    Warns
    -----
    carbonrisk.models.exceptions.UnsortedInputWarning
        When the input was not in date order (it is sorted).
    carbonrisk.models.exceptions.DataGapWarning
        When consecutive observations are more than :data:`MAX_GAP_DAYS` calendar days apart.
    carbonrisk.models.exceptions.PriceOutlierWarning
        When a close is an isolated outlier (see :func:`find_outliers`).
    """
    key = str(source).strip().lower() if isinstance(source, str) else ""
    if key in EMBEDDED_DATASETS:
        resource = resources.files("carbonrisk.models").joinpath("data").joinpath(EMBEDDED_DATASETS[key])
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

    outliers = find_outliers(prices)
    if outliers:
        listed = [
            f"{prices.index[i].date()} ({prices.iloc[i]:g}; neighbours {prices.iloc[i - 1]:g}, {prices.iloc[i + 1]:g})"
            for i in outliers
        ]
        message = (
            f"{where} has {len(outliers)} isolated outlier(s), a close more than {OUTLIER_FACTOR:g}x both neighbours "
            f"or below 1/{OUTLIER_FACTOR:g} of them (likely a data error; check the file): {_listing(listed)}"
        )
        notes.append(message)
        warnings.warn(message, PriceOutlierWarning, stacklevel=2)

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
