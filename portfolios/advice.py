"""Plain-language readings of the report's tables: what each lever buys and costs, when income covers early losses.

Every sentence is computed from a table of :mod:`carbonrisk.portfolios.analysis` (nothing is re-estimated here). Amounts
in sentences are in million CNY with one decimal (``25.5 M CNY``), probabilities in whole percent.

Sign convention of the lever advice: every change is the lever's value minus the value without any lever (row
``none`` of the lever table). A lower peak funding gap, a lower downside ES, a shorter mismatch gap and a higher
coverage probability are what a lever *buys*; ``pv_cost_cny`` > 0 is what it *costs* (the expected present value
the project gives up: the prepaid discount, the floor premium, the loan's interest...), and any metric that gets
worse is listed as a cost too.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["SIGN_CONVENTION", "coverage_year", "lever_advice", "million", "percent"]

SIGN_CONVENTION = (
    "Changes are against no lever (the row 'none'). Bought: a lower peak funding gap or downside ES, a shorter "
    "mismatch gap, a higher probability that carbon income covers the early losses. Cost: the expected present "
    "value the project gives up (PV cost > 0 = the lever costs the project money), and any figure that gets worse."
)
_MATERIAL_CNY = 50_000.0
"""Changes smaller than this (CNY) are not mentioned."""


def million(value_cny: float) -> str:
    """``25_472_566`` -> ``'25.5 M CNY'`` (N/A for a missing value)."""
    if value_cny is None or not math.isfinite(value_cny):
        return "N/A"
    return f"{value_cny / 1e6:,.1f} M CNY"


def percent(share: float, digits: int = 0) -> str:
    """``0.305`` -> ``'31 %'`` (the report's spacing; N/A for a missing value)."""
    if share is None or not math.isfinite(share):
        return "N/A"
    return f"{100 * share:.{digits}f} %"


def coverage_year(profile: pd.DataFrame, probability: float) -> int | None:
    """The first year from which the coverage probability stays at or above ``probability`` (None if never)."""
    cov = profile["coverage_probability"]
    ok = (cov >= probability).to_numpy()
    counted = cov.notna().to_numpy()
    for i in range(len(ok)):
        if counted[i] and ok[i:][counted[i:]].all():
            return int(profile.index[i])
    return None


def _coverage_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if str(c).startswith("coverage_")]


def _lever_sentences(row: pd.Series, none: pd.Series, columns: list[str]) -> tuple[list[str], list[str]]:
    buys: list[str] = []
    costs: list[str] = []
    for key, what in (("peak_funding_gap_p95_cny", "P95 peak funding gap"), ("downside_es_cny", "downside ES")):
        change = float(row[key] - none[key])
        if abs(change) < _MATERIAL_CNY:
            continue
        text = f"{what} {million(float(none[key]))} -> {million(float(row[key]))}"
        (buys if change < 0 else costs).append(f"{text} ({'-' if change < 0 else '+'}{million(abs(change))})")
    gap = float(row["gap_years"] - none["gap_years"])
    if abs(gap) >= 0.1:
        text = f"mismatch gap {none['gap_years']:.1f} -> {row['gap_years']:.1f} years"
        (buys if gap < 0 else costs).append(text)
    upfront = float(row["upfront_carbon_income_cny"])
    if upfront >= _MATERIAL_CNY:
        buys.append(f"{million(upfront)} of carbon income up front")
    financing = float(row["upfront_financing_cny"])
    if financing >= _MATERIAL_CNY:
        buys.append(f"{million(financing)} of financing up front (to be repaid)")
    for col in columns:
        change = float(row[col] - none[col])
        if not np.isfinite(change) or abs(change) < 0.01:
            continue
        text = f"coverage by {col[9:]} {percent(none[col])} -> {percent(row[col])}"
        (buys if change > 0 else costs).append(text)
    pv = float(row["pv_cost_cny"])
    if pv >= _MATERIAL_CNY:
        costs.insert(0, f"{million(pv)} in expected PV")
    elif pv <= -_MATERIAL_CNY:
        buys.append(f"{million(-pv)} of expected PV gained")
    return buys, costs


def lever_advice(levers: pd.DataFrame) -> pd.DataFrame:
    """One row per lever: what it buys, what it costs (in words) and its cost per CNY of P95 funding gap removed.

    ``levers`` is :func:`carbonrisk.portfolios.analysis.lever_table` (row ``none`` first). ``cost_per_cny_of_gap`` is
    ``pv_cost_cny / (P95 gap without - with the lever)``, NaN when the lever does not shrink the gap.
    """
    if levers.empty or "none" not in set(levers["lever"]):
        return pd.DataFrame(columns=["lever", "buys", "costs", "cost_per_cny_of_gap"])
    none = levers[levers["lever"] == "none"].iloc[0]
    columns = _coverage_columns(levers)
    rows = []
    for _, row in levers[levers["lever"] != "none"].iterrows():
        buys, costs = _lever_sentences(row, none, columns)
        cut = float(none["peak_funding_gap_p95_cny"] - row["peak_funding_gap_p95_cny"])
        rows.append(
            {
                "lever": row["lever"],
                "buys": "; ".join(buys) or "nothing material",
                "costs": "; ".join(costs) or "nothing material",
                "cost_per_cny_of_gap": float(row["pv_cost_cny"]) / cut if cut >= _MATERIAL_CNY else math.nan,
            }
        )
    frame = pd.DataFrame(rows)
    frame.attrs["units"] = {"buys": "text", "costs": "text", "cost_per_cny_of_gap": "ratio"}
    return frame
