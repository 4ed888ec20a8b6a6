"""Emission reductions credited by methodology AM0072 / CM-022-V01 (geothermal heat replacing fossil heat).

Source: document 000 (seeds/000_*.txt, Liu et al. 2025, section 2.1, eqs. (1)-(2) and Table 1); digested in
DOMAIN.md section 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from carbonrisk.models.exceptions import InputError

__all__ = [
    "BASELINE_EFFICIENCY",
    "BASELINE_EF_T_PER_TJ",
    "FUGITIVE_TEMPERATURE_LIMIT_C",
    "PE_SHARE_OF_BE",
    "PRINTED_TOTALS",
    "HeatingTechnology",
    "MethodologyResult",
    "Table1Result",
    "compute_reductions",
    "load_table1",
    "round_sig",
    "table1",
]

BASELINE_EF_T_PER_TJ: float = 87.3
"""IPCC default CO2 factor of coal at the lower 95 % confidence bound, 87 300 kgCO2/TJ (doc 000, eq. (2))."""
BASELINE_EFFICIENCY: float = 0.85
"""Net efficiency of the baseline new coal boiler, the methodology default (doc 000, eq. (2))."""
PE_SHARE_OF_BE: float = 0.08
"""Project emissions from electricity as a share of BE, monitored average of past projects (doc 000, 2.1.2)."""
FUGITIVE_TEMPERATURE_LIMIT_C: float = 150.0
"""Below this reservoir temperature (at 1000 m) non-condensable-gas emissions are negligible (doc 000, 2.1.2)."""
PRINTED_TOTALS: dict[str, float] = {
    "h_cap_tj_per_a": 4.98e7,
    "be_t_per_a": 5.11e9,
    "pe_t_per_a": 4.09e8,
    "er_t_per_a": 4.70e9,
    "revenue_cny_per_a": 2.82e11,
}
"""Totals row of Table 1 and the 282 billion CNY/a revenue at 60 CNY/t (doc 000, Table 1 and 2.2.1)."""
DEFAULT_PRICE_CNY_PER_T: float = 60.0
"""Carbon price used by doc 000, 2.2.1."""


def round_sig(value: float, digits: int = 3) -> float:
    """``value`` rounded to ``digits`` significant figures (how Table 1 prints its numbers)."""
    return float(f"{value:.{digits - 1}e}")


def _check_fraction(name: str, value: float, *, open_low: bool) -> float:
    v = float(value)
    if not np.isfinite(v):
        raise InputError(f"{name}={value!r} must be a finite number")
    if open_low and not 0.0 < v <= 1.0:
        raise InputError(f"{name}={value!r} must be in (0, 1]")
    if not open_low and not 0.0 <= v <= 1.0:
        raise InputError(f"{name}={value!r} must be in [0, 1]")
    return v


@dataclass(frozen=True)
class HeatingTechnology:
    """One baseline heating technology i replaced by the project (terms of eq. (2) of doc 000).

    Attributes
    ----------
    name : str
        Label, e.g. ``"coal boiler"``.
    heat_tj_per_a : float
        HS_i,y: net heat supplied in place of technology i (TJ/a), > 0.
    ef_t_per_tj : float
        EF_CO2,i of the fuel (tCO2/TJ), default 87.3.
    efficiency : float
        eta_BL,i, net efficiency in (0, 1], default 0.85.
    """

    name: str
    heat_tj_per_a: float
    ef_t_per_tj: float = BASELINE_EF_T_PER_TJ
    efficiency: float = BASELINE_EFFICIENCY

    def __post_init__(self) -> None:
        if not np.isfinite(self.heat_tj_per_a) or self.heat_tj_per_a <= 0:
            raise InputError(f"heat_tj_per_a={self.heat_tj_per_a!r} of '{self.name}' must be > 0")
        if not np.isfinite(self.ef_t_per_tj) or self.ef_t_per_tj < 0:
            raise InputError(f"ef_t_per_tj={self.ef_t_per_tj!r} of '{self.name}' must be >= 0")
        _check_fraction(f"efficiency of '{self.name}'", self.efficiency, open_low=True)

    @property
    def baseline_t_per_a(self) -> float:
        """HS x EF / eta (tCO2/a)."""
        return self.heat_tj_per_a * self.ef_t_per_tj / self.efficiency


@dataclass(frozen=True)
class MethodologyResult:
    """ER = BE - PE - LE of one project-year, with every input and default that produced it.

    Attributes
    ----------
    be_t, pe_t, le_t, er_t : float
        Baseline, project, leakage emissions and emission reductions (tCO2 per year).
    pe_method : str
        ``"metered"`` (electricity x grid EF) or ``"share_of_be"``.
    assumptions : dict
        Every value used (defaults included), and the reasons (fugitive gas ignored below 150 C...).
    """

    be_t: float
    pe_t: float
    le_t: float
    er_t: float
    pe_method: str
    assumptions: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One-row frame of BE, PE, LE, ER (tCO2/a)."""
        return pd.DataFrame([{"be_t": self.be_t, "pe_t": self.pe_t, "le_t": self.le_t, "er_t": self.er_t}])


def compute_reductions(
    technologies: list[HeatingTechnology],
    *,
    electricity_mwh: float | None = None,
    grid_ef_t_per_mwh: float | None = None,
    pe_share_of_be: float = PE_SHARE_OF_BE,
    le_t: float = 0.0,
    reservoir_temperature_c: float = 100.0,
) -> MethodologyResult:
    """Emission reductions of one year by AM0072 / CM-022-V01.

    Parameters
    ----------
    technologies : list of HeatingTechnology
        The baseline heating technologies replaced (at least one).
    electricity_mwh, grid_ef_t_per_mwh : float, optional
        Metered project electricity and grid emission factor; when both are given PE = electricity x EF,
        otherwise PE = ``pe_share_of_be`` x BE.
    pe_share_of_be : float
        Share in [0, 1] used without meter data (default 0.08, doc 000 2.1.2).
    le_t : float
        Leakage emissions (tCO2/a), default 0 as in the methodology.
    reservoir_temperature_c : float
        Reservoir temperature at 1000 m; below 150 C fugitive non-condensable gas is ignored (reason recorded),
        at or above it the methodology requires monitoring and this function refuses to guess.

    Notes
    -----
    .. math::

        ER_y = BE_y - PE_y - LE_y,\\qquad BE_y = \\sum_i HS_{i,y}\\,EF_{CO_2,i} / \\eta_{BL,i}

    with :math:`PE_y = EC_y \\cdot EF_{grid}` (metered) or :math:`PE_y = s \\cdot BE_y` (``s`` = 8 %).
    """
    if not technologies:
        raise InputError("technologies=[] must hold at least one baseline heating technology")
    share = _check_fraction("pe_share_of_be", pe_share_of_be, open_low=False)
    if not np.isfinite(le_t) or le_t < 0:
        raise InputError(f"le_t={le_t!r} must be >= 0")
    if reservoir_temperature_c >= FUGITIVE_TEMPERATURE_LIMIT_C:
        raise InputError(
            f"reservoir_temperature_c={reservoir_temperature_c} must be < {FUGITIVE_TEMPERATURE_LIMIT_C} "
            "(above it fugitive non-condensable gas must be monitored; not modelled)"
        )
    be = float(sum(t.baseline_t_per_a for t in technologies))
    if electricity_mwh is not None and grid_ef_t_per_mwh is not None:
        if not np.isfinite(electricity_mwh) or electricity_mwh < 0:
            raise InputError(f"electricity_mwh={electricity_mwh!r} must be >= 0")
        if not np.isfinite(grid_ef_t_per_mwh) or grid_ef_t_per_mwh < 0:
            raise InputError(f"grid_ef_t_per_mwh={grid_ef_t_per_mwh!r} must be >= 0")
        pe, method = float(electricity_mwh) * float(grid_ef_t_per_mwh), "metered"
    else:
        pe, method = share * be, "share_of_be"
    assumptions: dict[str, Any] = {
        "technologies": [
            {"name": t.name, "heat_tj_per_a": t.heat_tj_per_a, "ef_t_per_tj": t.ef_t_per_tj, "efficiency": t.efficiency}
            for t in technologies
        ],
        "pe_method": method,
        "pe_share_of_be": share if method == "share_of_be" else None,
        "electricity_mwh": electricity_mwh if method == "metered" else None,
        "grid_ef_t_per_mwh": grid_ef_t_per_mwh if method == "metered" else None,
        "le_t": float(le_t),
        "fugitive_gas": (
            f"ignored: reservoir {reservoir_temperature_c:g} C < {FUGITIVE_TEMPERATURE_LIMIT_C:g} C at 1000 m is a "
            "low-temperature system whose non-condensable-gas emissions are negligible (doc 000, 2.1.2)"
        ),
        "peak_boiler_fossil": "ignored: fossil fuel only in individual peak-shaving units (doc 000, 2.1.2)",
    }
    return MethodologyResult(
        be_t=be, pe_t=pe, le_t=float(le_t), er_t=be - pe - float(le_t), pe_method=method, assumptions=assumptions
    )


@dataclass(frozen=True)
class Table1Result:
    """Table 1 of doc 000 recomputed, with the printed values and consistency flags.

    Attributes
    ----------
    rows : pandas.DataFrame
        One row per basin: ``basin``, ``basin_zh``, ``h_cap_tj_per_a``, computed ``be_t_per_a``, ``pe_t_per_a``,
        ``er_t_per_a``, the printed values ``printed_*`` and ``consistent`` (all three within 3 significant
        figures) plus a ``flag`` text ('' when consistent).
    totals : dict
        Computed totals (``h_cap_tj_per_a``, ``be_t_per_a``, ``pe_t_per_a``, ``er_t_per_a``: sums of the computed
        rows), ``revenue_cny_per_a``, the printed totals (``printed``), the sum of the printed rows
        (``printed_row_sum``) and the totals recomputed the way the paper did (``from_rounded_h``).
    price_cny_per_t : float
        Price used for the revenue.
    flags : list of str
        One sentence per inconsistency found between the printed figures and their own inputs.
    """

    rows: pd.DataFrame
    totals: dict[str, Any]
    price_cny_per_t: float
    flags: list[str]

    def to_frame(self) -> pd.DataFrame:
        """The per-basin frame."""
        return self.rows.copy()


def load_table1() -> pd.DataFrame:
    """The 12 basins of Table 1 of doc 000 as printed (embedded ``data/geothermal/table1_basins.csv``)."""
    resource = (
        resources.files("carbonrisk.models").joinpath("data").joinpath("geothermal").joinpath("table1_basins.csv")
    )
    with resources.as_file(resource) as path:
        return pd.read_csv(path)


def table1(
    *,
    price_cny_per_t: float = DEFAULT_PRICE_CNY_PER_T,
    ef_t_per_tj: float = BASELINE_EF_T_PER_TJ,
    efficiency: float = BASELINE_EFFICIENCY,
    pe_share_of_be: float = PE_SHARE_OF_BE,
) -> Table1Result:
    """Recompute Table 1 of doc 000 (12 sedimentary basins) and check it against the printed figures.

    Each row is :func:`compute_reductions` with one coal-boiler technology of heat H_CAP and PE as a share of BE.

    Notes
    -----
    The printed Songliao row (BE 2.06e6) is inconsistent with its own H_CAP (2.01e6 TJ x 87.3 / 0.85 = 2.06e8):
    a factor 100 misprint, while the printed totals use the consistent 2.06e8 (the printed rows sum to 4.91e9,
    not the printed 5.11e9). The result reports it in ``flags`` instead of copying the misprint.
    """
    if not np.isfinite(price_cny_per_t) or price_cny_per_t < 0:
        raise InputError(f"price_cny_per_t={price_cny_per_t!r} must be >= 0")
    printed = load_table1()
    records: list[dict[str, Any]] = []
    flags: list[str] = []
    for row in printed.itertuples(index=False):
        result = compute_reductions(
            [HeatingTechnology("coal boiler", float(row.h_cap_tj_per_a), ef_t_per_tj, efficiency)],
            pe_share_of_be=pe_share_of_be,
        )
        record: dict[str, Any] = {
            "basin": row.basin,
            "basin_zh": row.basin_zh,
            "h_cap_tj_per_a": float(row.h_cap_tj_per_a),
            "be_t_per_a": result.be_t,
            "pe_t_per_a": result.pe_t,
            "er_t_per_a": result.er_t,
            "printed_be_t_per_a": float(row.printed_be_t_per_a),
            "printed_pe_t_per_a": float(row.printed_pe_t_per_a),
            "printed_er_t_per_a": float(row.printed_er_t_per_a),
        }
        bad = [
            key for key in ("be", "pe", "er") if round_sig(record[f"{key}_t_per_a"]) != record[f"printed_{key}_t_per_a"]
        ]
        record["consistent"] = not bad
        if bad:
            ratio = record["be_t_per_a"] / record["printed_be_t_per_a"]
            text = (
                f"{row.basin}: printed {', '.join(k.upper() for k in bad)} inconsistent with its own H_CAP "
                f"{row.h_cap_tj_per_a:.3g} TJ/a (printed BE {row.printed_be_t_per_a:.3g}, computed "
                f"{record['be_t_per_a']:.3g} tCO2/a, ratio {ratio:.3g})"
            )
            flags.append(text)
            record["flag"] = text
        else:
            record["flag"] = ""
        records.append(record)
    rows = pd.DataFrame(records)
    totals: dict[str, Any] = {
        key: float(rows[key].sum()) for key in ("h_cap_tj_per_a", "be_t_per_a", "pe_t_per_a", "er_t_per_a")
    }
    totals["revenue_cny_per_a"] = totals["er_t_per_a"] * float(price_cny_per_t)
    totals["printed"] = dict(PRINTED_TOTALS)
    totals["printed_row_sum"] = {
        key: float(rows[f"printed_{key}"].sum()) for key in ("be_t_per_a", "pe_t_per_a", "er_t_per_a")
    }
    # How the printed totals were made: the formula on the rounded total H_CAP, ER as printed BE - printed PE.
    h_rounded = round_sig(totals["h_cap_tj_per_a"])
    be_from_h = h_rounded * ef_t_per_tj / efficiency
    totals["from_rounded_h"] = {
        "h_cap_tj_per_a": h_rounded,
        "be_t_per_a": be_from_h,
        "pe_t_per_a": pe_share_of_be * be_from_h,
        "er_t_per_a": round_sig(be_from_h) - round_sig(pe_share_of_be * be_from_h),
    }
    if round_sig(totals["printed_row_sum"]["be_t_per_a"]) != PRINTED_TOTALS["be_t_per_a"]:
        flags.append(
            f"printed totals (BE {PRINTED_TOTALS['be_t_per_a']:.3g}) include the consistent Songliao value: "
            f"the printed rows sum to {totals['printed_row_sum']['be_t_per_a']:.3g} tCO2/a"
        )
    for key in ("be_t_per_a", "er_t_per_a"):
        if round_sig(totals[key]) != PRINTED_TOTALS[key]:
            flags.append(
                f"printed total {key.split('_')[0].upper()} {PRINTED_TOTALS[key]:.3g} is rounded arithmetic "
                f"(BE from the rounded total H_CAP {h_rounded:.3g} TJ/a, ER = printed BE - printed PE); the sum of "
                f"the consistent rows is {totals[key]:.3g} ({totals[key] / PRINTED_TOTALS[key] - 1.0:+.2%})"
            )
    return Table1Result(rows=rows, totals=totals, price_cny_per_t=float(price_cny_per_t), flags=flags)
