"""Regenerate ``backtests.csv``: the walk-forward VaR backtest of every model on CEA and HBEA (README table).

Settings are the README's: rolling 500-return window, refit every 20 trading days, 95 % and 99 % one-day VaR.
Run from the repository root::

    python models/data/backtests/generate.py            # writes models/data/backtests/backtests.csv

``tests/models/test_backtest.py`` recomputes rows of the table and compares them with the stored file; the README's
table and the default model (:data:`carbonrisk.models.catalog.DEFAULT_MODEL`) are read from it.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pandas as pd

from carbonrisk.models.backtest import backtest_table, format_backtest_table

HERE = Path(__file__).resolve().parent
OUT = HERE / "backtests.csv"


def main(argv: list[str]) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = backtest_table()
    target = Path(argv[0]) if argv else OUT
    frame.to_csv(target, index=False, float_format="%.10g")
    print(format_backtest_table(frame))
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    raise SystemExit(main(sys.argv[1:]))
