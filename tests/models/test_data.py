"""Price data layer: the embedded histories and one test per documented input error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbonrisk.models.data import MIN_OBSERVATIONS, find_outliers, load_prices
from carbonrisk.models.exceptions import DataError, DataGapWarning, PriceOutlierWarning, UnsortedInputWarning

# Reference: ../shared/data/cea_daily.csv has 797 data rows, 2021-07-16 to 2024-10-31;
# ../shared/data/hbea_daily.csv has 2609 data rows, 2014-04-28 to 2025-05-06 (counted with `wc -l` minus header).
EMBEDDED = [
    ("cea", 797, "2021-07-16", "2024-10-31"),
    ("hbea", 2609, "2014-04-28", "2025-05-06"),
]


@pytest.mark.parametrize(("name", "rows", "start", "end"), EMBEDDED)
def test_embedded_dataset_rows_and_range(name: str, rows: int, start: str, end: str) -> None:
    with pytest.warns(DataGapWarning):
        history = load_prices(name)
    assert history.n_obs == rows
    assert history.prices.index[0] == pd.Timestamp(start)
    assert history.prices.index[-1] == pd.Timestamp(end)
    assert history.prices.index.is_monotonic_increasing and history.prices.index.is_unique
    assert len(history.log_returns) == rows - 1
    np.testing.assert_allclose(
        history.log_returns.to_numpy(), np.diff(np.log(history.prices.to_numpy())), rtol=0, atol=0
    )
    assert history.volume_t is not None and (history.volume_t.dropna() >= 0).all()


def test_cea_price_range_matches_domain_digest() -> None:
    with pytest.warns(DataGapWarning):
        history = load_prices("cea")
    # DOMAIN.md section 1 quotes closes of 41.46-105.65 CNY/t; the shipped file's highest close is 104.25 on
    # 2024-10-25 (and no column of it holds 105.65), so the digest's upper bound is a misquote.
    assert history.prices.min() == pytest.approx(41.46)
    assert history.prices.max() == pytest.approx(104.25)
    assert history.prices.idxmax() == pd.Timestamp("2024-10-25")
    # DOMAIN.md section 1: about 23 % of CEA trading days show a zero return.
    assert history.summary()["returns"]["zero_share"] == pytest.approx(0.23, abs=0.02)


def test_cea_gaps_are_listed() -> None:
    with pytest.warns(DataGapWarning, match=r"2023-09-28 -> 2023-10-09 \(11 d\)"):
        history = load_prices("cea")
    assert [g.days for g in history.gaps] == [11, 11]


def test_clean_file_loads_without_warning(price_csv: Callable[..., Path], recwarn: pytest.WarningsRecorder) -> None:
    history = load_prices(price_csv())
    assert history.n_obs == 120 and history.column == "close" and history.name == "prices"
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_only_numeric_column_is_used(tmp_path: Path) -> None:
    dates = pd.bdate_range("2022-01-03", periods=80)
    path = tmp_path / "p.csv"
    pd.DataFrame({"trade_date": dates, "settle": np.linspace(40, 60, 80), "tag": "x"}).to_csv(path, index=False)
    history = load_prices(path)
    assert history.column == "settle"


def test_named_column_and_ambiguous_columns(price_csv: Callable[..., Path], tmp_path: Path) -> None:
    path = price_csv(other=[f"{x}" for x in np.linspace(10, 20, 120)])
    assert load_prices(path, column="other").prices.iloc[-1] == pytest.approx(20.0)
    with pytest.raises(DataError, match=r"price column 'nope' not in"):
        load_prices(path, column="nope")
    dates = pd.bdate_range("2022-01-03", periods=80)
    amb = tmp_path / "amb.csv"
    pd.DataFrame({"date": dates, "a": np.ones(80), "b": np.ones(80)}).to_csv(amb, index=False)
    with pytest.raises(DataError, match=r"several numeric columns \['a', 'b'\]"):
        load_prices(amb)


def test_excel_file_loads(tmp_path: Path) -> None:
    dates = pd.bdate_range("2022-01-03", periods=90)
    path = tmp_path / "prices.xlsx"
    pd.DataFrame({"date": dates, "close": np.linspace(40.0, 60.0, 90)}).to_excel(path, index=False)
    history = load_prices(path)
    assert history.n_obs == 90 and history.prices.iloc[0] == pytest.approx(40.0)


def test_unparseable_dates_are_named(price_csv: Callable[..., Path]) -> None:
    path = price_csv()
    frame = pd.read_csv(path, dtype=str)
    frame.loc[4, "date"] = "2022-13-45"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"unparseable dates in column 'date'.*row 6 \('2022-13-45'\)"):
        load_prices(path)


def test_duplicate_dates_are_named(price_csv: Callable[..., Path]) -> None:
    path = price_csv()
    frame = pd.read_csv(path, dtype=str)
    frame.loc[10, "date"] = frame.loc[9, "date"]
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"duplicate dates .*2022-01-14 \(2 rows\)"):
        load_prices(path)


def test_non_numeric_price_is_named(price_csv: Callable[..., Path]) -> None:
    path = price_csv()
    frame = pd.read_csv(path, dtype=str)
    frame.loc[3, "close"] = "abc"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"non-numeric prices in column 'close'.*2022-01-06 \('abc'\)"):
        load_prices(path)


@pytest.mark.parametrize("bad", ["inf", "", "nan"])
def test_non_finite_or_missing_price_is_named(price_csv: Callable[..., Path], bad: str) -> None:
    path = price_csv()
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[7, "close"] = bad
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"non-finite or missing prices in column 'close'.*2022-01-12"):
        load_prices(path)


@pytest.mark.parametrize("bad", ["0", "-3.5"])
def test_non_positive_price_is_named(price_csv: Callable[..., Path], bad: str) -> None:
    path = price_csv()
    frame = pd.read_csv(path, dtype=str)
    frame.loc[2, "close"] = bad
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"non-positive prices .*\(must be > 0\): 2022-01-05"):
        load_prices(path)


def test_too_few_observations(price_csv: Callable[..., Path]) -> None:
    with pytest.raises(DataError, match=rf"has {MIN_OBSERVATIONS - 1} price observations; at least {MIN_OBSERVATIONS}"):
        load_prices(price_csv(n=MIN_OBSERVATIONS - 1))
    assert load_prices(price_csv(n=MIN_OBSERVATIONS)).n_obs == MIN_OBSERVATIONS


def test_unsorted_input_is_sorted_and_reported(price_csv: Callable[..., Path]) -> None:
    path = price_csv()
    reference = load_prices(path)
    frame = pd.read_csv(path, dtype=str).sample(frac=1.0, random_state=3)
    frame.to_csv(path, index=False)
    with pytest.warns(UnsortedInputWarning, match="sorted 120 rows"):
        history = load_prices(path)
    pd.testing.assert_series_equal(history.prices, reference.prices)
    assert any("not in date order" in note for note in history.notes)


def test_gap_longer_than_ten_days_is_warned(price_csv: Callable[..., Path]) -> None:
    path = price_csv()
    frame = pd.read_csv(path, dtype=str)
    frame = frame.drop(index=range(20, 30))  # 10 business days = 14 calendar days between rows 19 and 30
    frame.to_csv(path, index=False)
    with pytest.warns(DataGapWarning, match=r"1 gap\(s\) longer than 10 calendar days: 2022-01-28 -> 2022-02-14"):
        history = load_prices(path)
    assert history.gaps[0].days == 17


def test_missing_file_unknown_name_and_suffix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"does not exist"):
        load_prices(tmp_path / "missing.csv")
    with pytest.raises(DataError, match=r"unknown dataset 'eua'.*\(cea, hbea\)"):
        load_prices("eua")
    (tmp_path / "p.json").write_text("{}")
    with pytest.raises(DataError, match=r"suffix '.json'; supported: .csv, .xlsx"):
        load_prices(tmp_path / "p.json")


def _written(tmp_path: Path, dates: pd.DatetimeIndex, fmt: str, name: str = "p.csv") -> Path:
    close = 50.0 * np.exp(np.cumsum(np.random.default_rng(3).normal(0.0, 0.01, len(dates))))
    path = tmp_path / name
    rows = ["date,close"] + [f"{d.strftime(fmt)},{c:.4f}" for d, c in zip(dates, close, strict=True)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("fmt", ["%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%m-%d-%Y", "%Y-%m-%d", "%Y/%m/%d", "%d/%m/%y"])
def test_day_month_order_is_read_from_the_data(tmp_path: Path, fmt: str) -> None:
    """Any of these orders gives the true dates back (the data hold days above 12), never swapped ones."""
    dates = pd.bdate_range("2022-01-03", periods=120)
    history = load_prices(_written(tmp_path, dates, fmt))
    assert history.prices.index.equals(pd.DatetimeIndex(dates, name="date"))


def test_ambiguous_and_contradictory_day_month_orders_are_refused(tmp_path: Path) -> None:
    early = pd.DatetimeIndex([d for d in pd.bdate_range("2022-01-03", "2031-12-31") if d.day <= 12][:120])
    with pytest.raises(DataError, match=r"ambiguous: .*row 2 \('03/01/2022'\).*YYYY-MM-DD"):
        load_prices(_written(tmp_path, early, "%d/%m/%Y"))
    path = _written(tmp_path, pd.bdate_range("2022-01-03", periods=120), "%d/%m/%Y")
    lines = path.read_text().splitlines()
    lines[90] = "05/13/2022," + lines[90].split(",")[1]
    path.write_text("\n".join(lines) + "\n")
    expected = r"mix day-first \(row 10 \('13/01/2022'\)\) and month-first \(row 91 \('05/13/2022'\)\)"
    with pytest.raises(DataError, match=expected):
        load_prices(path)


def test_isolated_outlier_is_warned_with_date_and_value(price_csv: Callable[..., Path]) -> None:
    path = price_csv()
    frame = pd.read_csv(path)
    frame.loc[50, "close"] = frame.loc[50, "close"] * 1000
    frame.loc[80, "close"] = frame.loc[80, "close"] / 3
    frame.to_csv(path, index=False)
    with pytest.warns(PriceOutlierWarning, match=r"has 2 isolated outlier\(s\)") as caught:
        history = load_prices(path)
    message = str(caught[0].message)
    assert f"{frame.loc[50, 'date']} ({frame.loc[50, 'close']:g};" in message
    assert frame.loc[80, "date"] in message
    assert any("isolated outlier" in note for note in history.notes)


def test_a_lasting_jump_is_not_an_outlier(price_csv: Callable[..., Path], recwarn: pytest.WarningsRecorder) -> None:
    """A level shift that does not revert (a redenomination, a new regime) is data, not an isolated outlier."""
    path = price_csv()
    frame = pd.read_csv(path)
    frame.loc[60:, "close"] = frame.loc[60:, "close"] * 5
    frame.to_csv(path, index=False)
    load_prices(path)
    assert not [w for w in recwarn if issubclass(w.category, PriceOutlierWarning)]


@pytest.mark.parametrize("name", ["cea", "hbea"])
def test_real_histories_have_no_outliers(name: str) -> None:
    with pytest.warns(DataGapWarning):
        history = load_prices(name)
    assert find_outliers(history.prices) == []


def test_excel_empty_cell_is_named(tmp_path: Path) -> None:
    frame = pd.DataFrame({"date": pd.bdate_range("2022-01-03", periods=80), "close": np.linspace(40, 60, 80)})
    frame.loc[7, "close"] = np.nan
    frame.to_excel(tmp_path / "p.xlsx", index=False)
    with pytest.raises(DataError, match=r"non-finite or missing prices .*2022-01-12 \(empty\)"):
        load_prices(tmp_path / "p.xlsx")


def test_utf8_byte_order_mark_is_accepted(price_csv: Callable[..., Path]) -> None:
    path = price_csv()
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_prices(path).column == "close"
