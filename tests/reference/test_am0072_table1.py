"""Table 1 of document 000 (Liu et al. 2025, 'Opportunities and challenges of carbon assets in the geothermal
industry', Contributions to Geology and Mineral Resources Research 40(4):483-489; seeds/000_*.txt), recomputed with
AM0072 / CM-022-V01 defaults (EF 87.3 tCO2/TJ, eta 0.85, PE = 8 % of BE). Values printed to 3 significant figures,
so every consistent row must match exactly after rounding to 3 significant figures."""

from __future__ import annotations

import pytest

from carbonrisk.models.geothermal.methodology import Table1Result, round_sig, table1

# Printed rows of Table 1 (doc 000): basin -> (H_CAP TJ/a, BE, PE, ER tCO2/a).
PRINTED = {
    "North China Plain": (1.24e7, 1.27e9, 1.02e8, 1.17e9),
    "Henan-Huai Plain": (9.02e6, 9.26e8, 7.41e7, 8.52e8),
    "North Jiangsu Plain": (9.20e5, 9.45e7, 7.56e6, 8.69e7),
    "Songliao Basin": (2.01e6, 2.06e6, 1.65e5, 1.90e6),  # misprint: BE should be 2.06e8 (DOMAIN.md section 2)
    "Lower Liaohe Plain": (7.52e4, 7.72e6, 6.18e5, 7.11e6),
    "Fenwei Basin": (3.86e6, 3.96e8, 3.17e7, 3.65e8),
    "Ordos Basin": (2.68e6, 2.75e8, 2.20e7, 2.53e8),
    "Sichuan Basin": (1.59e7, 1.63e9, 1.31e8, 1.50e9),
    "Hanjiang Basin": (3.64e5, 3.74e7, 2.99e6, 3.44e7),
    "Hetao Basin": (9.59e5, 9.85e7, 7.88e6, 9.06e7),
    "Yinchuan Plain": (1.43e6, 1.47e8, 1.17e7, 1.35e8),
    "Xining Basin": (2.09e5, 2.15e7, 1.72e6, 1.97e7),
}


@pytest.fixture(scope="module")
def result() -> Table1Result:
    return table1()


@pytest.mark.parametrize("basin", [b for b in PRINTED if b != "Songliao Basin"])
def test_consistent_rows_match_to_three_significant_figures(result: Table1Result, basin: str) -> None:
    row = result.rows.set_index("basin").loc[basin]
    _, be, pe, er = PRINTED[basin]
    assert (round_sig(row.be_t_per_a), round_sig(row.pe_t_per_a), round_sig(row.er_t_per_a)) == (be, pe, er)
    assert bool(row.consistent) and row.flag == ""


def test_songliao_row_is_flagged_with_the_consistent_value(result: Table1Result) -> None:
    row = result.rows.set_index("basin").loc["Songliao Basin"]
    # 2.01e6 TJ x 87.3 / 0.85 = 2.06e8 tCO2 (DOMAIN.md section 2, derived); printed 2.06e6.
    assert round_sig(row.be_t_per_a) == 2.06e8
    assert round_sig(row.pe_t_per_a) == 1.65e7 and round_sig(row.er_t_per_a) == 1.90e8
    assert not bool(row.consistent)
    assert "Songliao" in row.flag and "ratio 100" in row.flag
    assert result.flags[0].startswith("Songliao Basin: printed BE, PE, ER inconsistent")
    assert result.rows["consistent"].sum() == 11


def test_totals_and_revenue(result: Table1Result) -> None:
    t = result.totals
    # Printed totals (doc 000 Table 1): H 4.98e7 TJ/a, PE 4.09e8 tCO2/a; revenue 282 billion CNY/a at 60 CNY/t (2.2.1).
    assert round_sig(t["h_cap_tj_per_a"]) == 4.98e7
    assert round_sig(t["pe_t_per_a"]) == 4.09e8
    assert round_sig(t["revenue_cny_per_a"]) == 2.82e11
    # Printed BE 5.11e9 / ER 4.70e9 are the formula on the rounded total H (4.98e7) and printed BE - printed PE.
    f = t["from_rounded_h"]
    assert round_sig(f["be_t_per_a"]) == 5.11e9 and round_sig(f["pe_t_per_a"]) == 4.09e8
    assert round_sig(f["er_t_per_a"]) == 4.70e9
    # The sums of the consistent rows (5.12e9, 4.71e9) differ from them by 0.15-0.17 %, a rounding effect...
    assert t["be_t_per_a"] / 5.11e9 - 1 == pytest.approx(0.0015, abs=0.0005)
    # ...and the printed totals include the corrected Songliao row: the printed rows sum to only 4.91e9.
    assert round_sig(t["printed_row_sum"]["be_t_per_a"]) == 4.91e9
    assert any("include the consistent Songliao value" in f for f in result.flags)
