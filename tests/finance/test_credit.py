"""Credit figures: IRB against Basel II Annex 5, NFRA standardised weights, PD curves, IFRS 9 ECL and staging,
path PD / LGD / EAD, the wrong-way top-up model, and CVA of a forward against its closed-form EPE."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from carbonrisk.finance.credit import (
    BASEL2_PD_FLOOR,
    CreditInputError,
    WrongWayTopUp,
    cumulative_pd,
    cva,
    cva_from_values,
    default_times,
    expected_credit_loss,
    exposure_profile,
    first_default,
    hazard_rate,
    ifrs9_stage,
    irb_corporate,
    loan_credit_figures,
    marginal_pd,
    path_credit_figures,
    pd_from_rating,
    standardised_corporate,
    top_up_model,
)
from carbonrisk.models.exceptions import InputError

# ---------------------------------------------------------------------------------------------------------------
# IRB: BCBS, "International Convergence of Capital Measurement and Capital Standards, A Revised Framework,
# Comprehensive Version", June 2006, Annex 5 "Illustrative IRB risk weights", corporate exposures, LGD 45 %,
# M 2.5 years; column 1 turnover EUR 50 million (no firm-size adjustment), column 2 turnover EUR 5 million.
# ---------------------------------------------------------------------------------------------------------------
ANNEX5 = [  # PD, RW (%) turnover 50, RW (%) turnover 5
    (0.0003, 14.44, 11.30),
    (0.0005, 19.65, 15.39),
    (0.0010, 29.65, 23.30),
    (0.0025, 49.47, 39.01),
    (0.0040, 62.72, 49.49),
    (0.0050, 69.61, 54.91),
    (0.0075, 82.78, 65.14),
    (0.0100, 92.32, 72.40),
    (0.0130, 100.95, 78.77),
    (0.0150, 105.59, 82.11),
    (0.0200, 114.86, 88.55),
    (0.0250, 122.16, 93.43),
    (0.0300, 128.44, 97.58),
]
# Tolerance 0.01 percentage points: the table prints two decimals and our values are within 0.006 pp of every
# entry (the BCBS presumably used a slightly different normal-cdf routine); a wrong constant, a missing maturity
# adjustment or the SME term left out moves the values by more than 1 pp.
RW_TOL = 1e-4


@pytest.mark.parametrize(("pd_1y", "rw", "rw_sme"), ANNEX5)
def test_irb_matches_basel2_annex5(pd_1y: float, rw: float, rw_sme: float) -> None:
    big = irb_corporate(pd_1y, 0.45, 1.0, 2.5, pd_floor=0.0)
    sme = irb_corporate(pd_1y, 0.45, 1.0, 2.5, pd_floor=0.0, sales_meur=5.0)
    assert big.risk_weight == pytest.approx(rw / 100, abs=RW_TOL)
    assert sme.risk_weight == pytest.approx(rw_sme / 100, abs=RW_TOL)


def test_irb_hand_case_pd1_lgd45() -> None:
    # PD 1 %, LGD 45 %, M 2.5, EAD 100 million CNY: RW 92.32 % (Annex 5), so RWA 92.32 million and capital
    # K x EAD = RWA / 12.5 = 7.3856 million. Intermediate values by hand: w = 1 - e^-0.5 = 0.393469 (over
    # 1 - e^-50 = 1), R = 0.12 w + 0.24 (1 - w) = 0.192784; b = (0.11852 - 0.05478 ln 0.01)^2 = 0.137107.
    r = irb_corporate(0.01, 0.45, 100e6, 2.5)
    assert r.correlation == pytest.approx(0.12 * 0.393469 + 0.24 * 0.606531, abs=1e-6)
    assert r.rwa_cny == pytest.approx(92.32e6, abs=RW_TOL * 100e6)
    assert r.capital_cny == pytest.approx(r.rwa_cny / 12.5, rel=1e-12)
    assert r.k == pytest.approx(r.capital_cny / 100e6, rel=1e-12)
    assert irb_corporate(0.01, 0.45, 100e6, 2.5, scaling=1.06).rwa_cny == pytest.approx(1.06 * r.rwa_cny, rel=1e-12)


def test_irb_floors_caps_and_vectorisation() -> None:
    # M floored at 1 and capped at 5 (para 320); PD floor 0.05 % by default (Basel III), 0.03 % for Basel II.
    assert irb_corporate(0.01, 0.45, 1.0, 0.25).k == irb_corporate(0.01, 0.45, 1.0, 1.0).k
    assert irb_corporate(0.01, 0.45, 1.0, 9.0).k == irb_corporate(0.01, 0.45, 1.0, 5.0).k
    assert irb_corporate(0.01, 0.45, 1.0, 1.0).k < irb_corporate(0.01, 0.45, 1.0, 5.0).k
    assert irb_corporate(0.0001, 0.45, 1.0).pd == 0.0005
    assert irb_corporate(0.0001, 0.45, 1.0, pd_floor=BASEL2_PD_FLOOR).risk_weight == pytest.approx(0.1444, abs=RW_TOL)
    pds = np.array([0.001, 0.01, 0.05])
    vec = irb_corporate(pds, 0.45, np.array([1.0, 2.0, 3.0]), 2.5)
    assert isinstance(vec.k, np.ndarray)
    for i, p in enumerate(pds):
        assert vec.k[i] == irb_corporate(float(p), 0.45, float(i + 1), 2.5).k
    assert len(vec.to_frame()) == 3
    # linear in LGD (Annex 5's LGD 25 % column would be 25/45 of the 45 % one)
    assert irb_corporate(0.01, 0.25, 1.0).k == pytest.approx(25 / 45 * irb_corporate(0.01, 0.45, 1.0).k, rel=1e-12)
    assert irb_corporate(1.0, 0.45, 1.0).k == 0.0  # defaulted: K = max(0, LGD - best-estimate EL = LGD)


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        (dict(pd_1y=1.2), "pd_1y=1.2 must lie in [0, 1]"),
        (dict(lgd=-0.1), "lgd=-0.1 must lie in [0, 1]"),
        (dict(ead_cny=-5.0), "ead_cny=-5.0 must be >= 0"),
        (dict(maturity_years=0.0), "maturity_years=0.0 must be > 0"),
        (dict(pd_1y=float("nan")), "pd_1y=nan must be finite"),
    ],
)
def test_irb_bad_input(kw: dict[str, float], msg: str) -> None:
    args: dict[str, float] = dict(pd_1y=0.01, lgd=0.45, ead_cny=1.0, maturity_years=2.5)
    args.update(kw)
    with pytest.raises(CreditInputError) as exc:
        irb_corporate(**args)  # type: ignore[arg-type]
    assert str(exc.value) == msg
    assert isinstance(exc.value, InputError)


# ---------------------------------------------------------------------------------------------------------------
# Standardised approach, NFRA 2023 (商业银行资本管理办法, Annex 2): general 100 %, investment grade 75 %, SME 85 %,
# project finance pre-operational 130 %; minimum capital 8 % of RWA.
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("category", "rw"),
    [("general", 1.0), ("investment_grade", 0.75), ("sme", 0.85), ("project_finance_pre_operational", 1.3)],
)
def test_standardised_weights_and_capital(category: str, rw: float) -> None:
    r = standardised_corporate(100e6, category)
    assert r.risk_weight == rw
    assert r.rwa_cny == pytest.approx(rw * 100e6, rel=1e-12)
    assert r.capital_cny == pytest.approx(0.08 * rw * 100e6, rel=1e-12)
    assert standardised_corporate(100e6, category, capital_ratio=0.105).capital_cny == pytest.approx(
        0.105 * rw * 100e6, rel=1e-12
    )


def test_carbon_collateral_gives_no_rwa_reduction_cash_does() -> None:
    plain = standardised_corporate(60e6)
    cea = standardised_corporate(60e6, collateral_cny=100e6, collateral_kind="CEA")
    ccer = standardised_corporate(60e6, collateral_cny=100e6, collateral_kind="ccer")
    assert cea.rwa_cny == ccer.rwa_cny == plain.rwa_cny == 60e6
    assert cea.recognised_collateral_cny == 0.0 and cea.carbon_collateral_cny == 100e6
    assert "not eligible" in cea.crm_note
    cash = standardised_corporate(60e6, collateral_cny=20e6, collateral_kind="cash")
    assert cash.rwa_cny == pytest.approx(40e6)  # 100 % x 40m + 0 % x 20m (substitution)
    assert standardised_corporate(60e6, collateral_cny=90e6, collateral_kind="cash").rwa_cny == 0.0


def test_standardised_bad_input() -> None:
    with pytest.raises(CreditInputError, match=r"^category='retail' must be one of general, investment_grade"):
        standardised_corporate(1.0, "retail")
    with pytest.raises(CreditInputError, match=r"^collateral_kind='stock' must be one of CEA, CCER, cash"):
        standardised_corporate(1.0, collateral_cny=1.0, collateral_kind="stock")


# ---------------------------------------------------------------------------------------------------------------
# PD table and term structures
# ---------------------------------------------------------------------------------------------------------------
def test_rating_table() -> None:
    assert pd_from_rating("BBB-") == 0.0015
    assert pd_from_rating(" a+ ") == 0.0005
    assert pd_from_rating("CC") == pd_from_rating("CCC")
    assert pd_from_rating("X", {"X": 0.1}) == 0.1
    with pytest.raises(CreditInputError, match=r"^rating='D' must be one of AAA, AA, A, BBB, BB, B, CCC"):
        pd_from_rating("D")


def test_cumulative_and_marginal_pd_by_hand() -> None:
    # constant hazard h = -ln(1 - 0.02): PD(1) = 0.02, PD(2) = 1 - 0.98^2 = 0.0396, PD(0.5) = 1 - 0.98^0.5
    assert hazard_rate(0.02) == pytest.approx(-math.log(0.98), rel=1e-14)
    np.testing.assert_allclose(cumulative_pd([0.5, 1, 2], 0.02), [1 - 0.98**0.5, 0.02, 0.0396], rtol=1e-13)
    np.testing.assert_allclose(marginal_pd([1, 2, 3], 0.02), [0.02, 0.0196, 0.019208], rtol=1e-12)
    # term structure 1 %, 3 %: PD(1.5) = 1 - sqrt(0.99 x 0.97) (log-survival linear), PD(3) = 1 - 0.97^2 / 0.99
    ts = [0.01, 0.03]
    np.testing.assert_allclose(
        cumulative_pd([1, 1.5, 2, 3], term_structure=ts),
        [0.01, 1 - math.sqrt(0.99 * 0.97), 0.03, 1 - 0.97**2 / 0.99],
        rtol=1e-12,
    )
    assert marginal_pd([1, 2, 3], term_structure=ts).sum() == pytest.approx(1 - 0.97**2 / 0.99, rel=1e-12)
    with pytest.raises(CreditInputError, match="give exactly one"):
        cumulative_pd([1.0], 0.01, term_structure=ts)
    with pytest.raises(CreditInputError, match=r"must be non-decreasing"):
        cumulative_pd([1.0], term_structure=[0.03, 0.01])


def test_default_times_reproduce_the_curve() -> None:
    n = 200_000
    tau = default_times(0.05, n, 7)
    p1 = float(np.mean(tau <= 1.0))
    assert abs(p1 - 0.05) < 4 * math.sqrt(0.05 * 0.95 / n)  # 4 binomial s.e.
    tau_ts = default_times(None, n, 8, term_structure=[0.01, 0.03])
    for t, p in ((1.0, 0.01), (2.0, 0.03), (3.0, 1 - 0.97**2 / 0.99)):
        assert abs(float(np.mean(tau_ts <= t)) - p) < 4 * math.sqrt(p * (1 - p) / n)
    assert np.all(np.isinf(default_times(0.0, 10, 1)))


# ---------------------------------------------------------------------------------------------------------------
# IFRS 9 ECL and staging
# ---------------------------------------------------------------------------------------------------------------
def test_ecl_hand_computed() -> None:
    # three yearly periods, constant hazard with PD_1y 2 %: marginal PDs 0.02, 0.0196, 0.019208; LGD 40 %,
    # amortising EAD 100 / 70 / 40, EIR 5 %: terms 0.02 x 0.4 x 100 / 1.05 = 0.761905, 0.0196 x 0.4 x 70 /
    # 1.05^2 = 0.497778, 0.019208 x 0.4 x 40 / 1.05^3 = 0.265481. 12-month ECL = the first term.
    times = [1.0, 2.0, 3.0]
    res = expected_credit_loss(times, marginal_pd(times, 0.02), 0.4, [100.0, 70.0, 40.0], 0.05)
    assert res.ecl_12m_cny == pytest.approx(0.8 / 1.05, rel=1e-12)
    assert res.ecl_lifetime_cny == pytest.approx(0.8 / 1.05 + 0.5488 / 1.05**2 + 0.307328 / 1.05**3, rel=1e-12)
    assert res.ecl_for_stage(1) == res.ecl_12m_cny and res.ecl_for_stage(2) == res.ecl_lifetime_cny
    # a period straddling one year counts for its share before one year: (1 - 0.5) / (1.25 - 0.5) = 2/3
    r2 = expected_credit_loss([0.5, 1.25], [0.01, 0.02], 0.5, 100.0, 0.0)
    assert r2.ecl_12m_cny == pytest.approx(0.5 + 2 / 3 * 1.0, rel=1e-12)
    assert r2.ecl_lifetime_cny == pytest.approx(1.5, rel=1e-12)
    # maturity under a year: both coincide (IFRS 9 Appendix A, 5.5.19)
    r3 = expected_credit_loss([0.25, 0.5], [0.01, 0.01], 0.5, 100.0, 0.03)
    assert r3.ecl_12m_cny == r3.ecl_lifetime_cny


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 12),
    dt=st.floats(0.05, 1.5),
    pd_1y=st.floats(0.0, 0.5),
    lgd=st.floats(0.0, 1.0),
    ead=st.floats(0.0, 1e9),
    eir=st.floats(-0.02, 0.3),
)
def test_lifetime_ecl_at_least_12m(n: int, dt: float, pd_1y: float, lgd: float, ead: float, eir: float) -> None:
    times = dt * np.arange(1, n + 1)
    res = expected_credit_loss(times, marginal_pd(times, pd_1y), lgd, ead, eir)
    assert res.ecl_lifetime_cny >= res.ecl_12m_cny >= 0.0


def test_ecl_bad_input() -> None:
    with pytest.raises(CreditInputError, match=r"^marginal_pds has shape \(1,\), must match times_years \(2,\)"):
        expected_credit_loss([1.0, 2.0], [0.1], 0.5, 1.0, 0.05)
    with pytest.raises(CreditInputError, match=r"^marginal_pds \(sum 1.2\) must be >= 0 and sum to at most 1"):
        expected_credit_loss([1.0, 2.0], [0.6, 0.6], 0.5, 1.0, 0.05)


@pytest.mark.parametrize(
    ("kw", "stage", "reason"),
    [
        (dict(defaulted=True), 3, "defaulted"),
        (dict(days_past_due=91), 3, "91 days past due > 90"),
        (dict(days_past_due=31), 2, "31 days past due > 30"),
        (dict(pd_lifetime_now=0.025), 2, "> 2 x"),
        (dict(pd_lifetime_now=0.014, pd_lifetime_at_origination=0.011), 1, "no significant increase"),
        (dict(pd_lifetime_now=0.09, pd_lifetime_at_origination=0.08), 2, "by more than 0.50%"),
        (dict(coverage=1.30, maintenance_ratio=1.35), 2, "coverage 1.3 < maintenance ratio 1.35"),
        (dict(coverage=1.40, maintenance_ratio=1.35), 1, "no significant increase"),
    ],
)
def test_ifrs9_stage_rules(kw: dict[str, object], stage: int, reason: str) -> None:
    args: dict[str, object] = dict(pd_lifetime_now=0.012, pd_lifetime_at_origination=0.01)
    args.update(kw)
    res = ifrs9_stage(**args)  # type: ignore[arg-type]
    assert res.stage == stage
    assert reason in res.reason


# ---------------------------------------------------------------------------------------------------------------
# path-based PD, LGD, EAD
# ---------------------------------------------------------------------------------------------------------------
def test_path_figures_by_hand() -> None:
    # 4 paths, 2 defaults: loss rates 10/100 and 30/50 -> LGD 0.35 (default-weighted), 40/150 exposure-weighted;
    # EAD 75; EL = 40/4 = 10 = PD x EAD x LGD_exposure_weighted = 0.5 x 75 x 40/150.
    f = path_credit_figures([True, False, True, False], [10.0, 0.0, 30.0, 0.0], [100.0, 1.0, 50.0, 1.0])
    assert (f.pd_lifetime, f.n_defaults) == (0.5, 2)
    assert f.pd_lifetime_se == pytest.approx(math.sqrt(0.25 / 4))
    assert f.lgd == pytest.approx(0.35) and f.lgd_se == pytest.approx(np.std([0.1, 0.6], ddof=1) / math.sqrt(2))
    assert f.lgd_exposure_weighted == pytest.approx(40 / 150)
    assert f.ead_cny == 75.0 and f.expected_loss_cny == 10.0
    assert f.expected_loss_cny == pytest.approx(f.pd_lifetime * f.ead_cny * f.lgd_exposure_weighted)
    none = path_credit_figures([False, False], [0.0, 0.0], [0.0, 0.0])
    assert none.pd_lifetime == none.lgd == none.ead_cny == 0.0
    with pytest.raises(CreditInputError, match=r"^loss_cny=5.0 on a path without default must be 0"):
        path_credit_figures([False, True], [5.0, 1.0], [10.0, 10.0])


def test_first_default_combines_causes() -> None:
    borrower = np.array([0.5, np.inf, 3.0, np.nan])
    collateral = np.array([np.inf, 0.8, 2.5, np.inf])
    t, d = first_default(borrower, collateral, maturity_years=2.0)
    np.testing.assert_array_equal(t, [0.5, 0.8, 2.5, np.inf])
    np.testing.assert_array_equal(d, [True, True, False, False])


# ---------------------------------------------------------------------------------------------------------------
# wrong-way top-up
# ---------------------------------------------------------------------------------------------------------------
def test_wrong_way_top_up_calibration_and_monotonicity() -> None:
    w = WrongWayTopUp()
    # documented calibration: half of p_max at a 30 % fall; 0.9 x N((ln 0.81 - ln 0.7)/0.2) = 0.6905 at the demo's
    # first margin call (price ratio 0.6 x 1.35 = 0.81), i.e. about the constant 0.7 it replaces
    assert float(w(0.7)) == pytest.approx(0.45, abs=1e-12)
    assert float(w(0.81)) == pytest.approx(0.9 * norm.cdf((math.log(0.81) - math.log(0.7)) / 0.2), rel=1e-12)
    assert float(w(0.81)) == pytest.approx(0.69, abs=0.005)
    r = np.linspace(0.05, 2.0, 400)
    for model in (w, WrongWayTopUp(kind="logistic")):
        p = model(r)
        assert p.shape == r.shape and np.all(np.diff(p) > 0) and np.all((p >= 0) & (p <= 0.9))
    assert float(WrongWayTopUp(kind="logistic")(0.7)) == pytest.approx(0.45, abs=1e-12)


def test_top_up_model_options() -> None:
    r = np.array([0.5, 0.9])
    np.testing.assert_array_equal(top_up_model("never")(r), [0.0, 0.0])
    np.testing.assert_array_equal(top_up_model("always")(r), [1.0, 1.0])
    np.testing.assert_array_equal(top_up_model(0.7)(r), [0.7, 0.7])
    np.testing.assert_array_equal(top_up_model("wrong_way")(r), WrongWayTopUp()(r))
    np.testing.assert_array_equal(top_up_model({"p_max": 0.8, "s": 0.3})(r), WrongWayTopUp(p_max=0.8, s=0.3)(r))
    with pytest.raises(CreditInputError, match=r"^top_up='sometimes' must be 'always', 'never', 'wrong_way'"):
        top_up_model("sometimes")
    with pytest.raises(CreditInputError, match=r"^top_up=1.5 must lie in \[0, 1\]"):
        top_up_model(1.5)
    with pytest.raises(CreditInputError, match=r"^p_max=1.2 must lie in \[0, 1\]"):
        top_up_model({"p_max": 1.2})


# ---------------------------------------------------------------------------------------------------------------
# EPE / PFE / CVA: a forward under GBM
# ---------------------------------------------------------------------------------------------------------------
def _black(f0: float, k: float, vol: float, t: np.ndarray) -> np.ndarray:
    sd = vol * np.sqrt(t)
    d1 = (np.log(f0 / k) + 0.5 * sd**2) / sd
    return f0 * norm.cdf(d1) - k * norm.cdf(d1 - sd)


def test_cva_of_forward_matches_closed_form() -> None:
    # Long forward on CEA, S0 = 100, r = 2 %, no carry yield, vol 30 %, delivery T = 1, strike K = F0 (value 0
    # at inception). Value at t: V_t = e^{-r(T-t)} (F(t,T) - K), F(t,T) a GBM martingale, so the discounted EE is
    # DF(t) EE(t) = e^{-rT} E[max(F(t,T) - K, 0)] = e^{-rT} Black(F0, K, vol, t) (the exposure of a forward is a
    # call on the forward; Black 1976). CVA = LGD sum_i e^{-rT} Black(t_i) [PD(t_i) - PD(t_{i-1})], flat hazard
    # with PD_1y 5 %.
    s0, r, vol, big_t, lgd, pd_1y = 100.0, 0.02, 0.30, 1.0, 0.6, 0.05
    f0 = s0 * math.exp(r * big_t)
    k = f0
    times = np.arange(1, 13) / 12.0
    n = 40_000
    rng = np.random.default_rng(20261201)
    dw = rng.standard_normal((times.size, n)) * math.sqrt(1 / 12)
    w = np.cumsum(dw, axis=0)
    fwd = f0 * np.exp(vol * w - 0.5 * vol**2 * times[:, None])
    values = np.exp(-r * (big_t - times))[:, None] * (fwd - k)
    df = np.exp(-r * times)
    prof = exposure_profile(values, level=0.95)
    closed_ee = math.exp(-r * big_t) * _black(f0, k, vol, times)
    # each discounted EE within 4 s.e. of Black (12 dates, fixed seed)
    assert np.all(np.abs(prof.epe * df - closed_ee) < 4 * prof.epe_se * df)
    closed_cva = lgd * float((closed_ee * marginal_pd(times, pd_1y)).sum())
    mc, se = cva_from_values(values, times, df, lgd=lgd, pd_1y=pd_1y)
    assert abs(mc - closed_cva) < 4 * se
    assert se < 0.02 * closed_cva  # the test has power: 4 s.e. is under 8 % of the CVA
    # the profile route gives the same estimate (sum of means = mean of sums)
    via_profile, bound = cva(prof.epe, times, df, lgd=lgd, pd_1y=pd_1y, epe_se=prof.epe_se)
    assert via_profile == pytest.approx(mc, rel=1e-12) and bound >= se
    # PFE at 95 % on the last date: e^0 (F0 exp(vol z - vol^2/2) - K), z = 1.645; tolerance 4 asymptotic s.e. of
    # the sample quantile, sqrt(p (1-p) / n) / density
    z = norm.ppf(0.95)
    x = f0 * math.exp(vol * z - 0.5 * vol**2) - k
    density = norm.pdf(z) / (f0 * vol * math.exp(vol * z - 0.5 * vol**2))
    assert abs(prof.pfe[-1] - x) < 4 * math.sqrt(0.95 * 0.05 / n) / density
    assert np.all(prof.ene <= 0)


def test_cva_closed_form_sum_by_hand_and_effective_epe() -> None:
    # EE 10, 20 at t = 0.5, 1; DF 1; flat hazard PD_1y 4 %: PD(0.5) = 1 - 0.96^0.5 = 0.020204, PD(1) = 0.04;
    # CVA = 0.5 x (10 x 0.020204 + 20 x 0.019796) = 0.298979
    v, _ = cva([10.0, 20.0], [0.5, 1.0], 1.0, lgd=0.5, pd_1y=0.04)
    p_half = 1 - math.sqrt(0.96)
    assert v == pytest.approx(0.5 * (10 * p_half + 20 * (0.04 - p_half)), rel=1e-12)
    prof = exposure_profile(np.array([[1.0, 1.0], [3.0, 3.0], [2.0, 2.0]]))
    assert prof.effective_epe([1 / 3, 2 / 3, 1.0]) == pytest.approx(7 / 3)  # running max 1, 3, 3
    with pytest.raises(CreditInputError, match=r"^values has shape \(3,\)"):
        exposure_profile(np.ones(3))


# ---------------------------------------------------------------------------------------------------------------
# one loan's figures from its paths
# ---------------------------------------------------------------------------------------------------------------
def test_loan_credit_figures_by_hand() -> None:
    # 4 paths, 2-year loan, quarterly periods, EIR 4 %: defaults at 0.1 y (loss 10 of 100 owed) and 1.6 y (loss 20
    # of 100); one path never defaults, one only after maturity. ECL = mean discounted loss, each loss discounted
    # from the end of its quarter: 12-month = 10 / 1.04^0.25 / 4; lifetime adds 20 / 1.04^1.75 / 4.
    res = loan_credit_figures(
        default_time_years=[0.1, 1.6, np.inf, 2.5],
        loss_cny=[10.0, 20.0, 0.0, 0.0],
        ead_cny=[100.0, 100.0, 0.0, 0.0],
        maturity_years=2.0,
        eir=0.04,
        exposure_cny=100.0,
        rating="BB",
        coverage=1.2,
        maintenance_ratio=1.35,
    )
    out = res.to_dict()
    assert out["ecl_12m_cny"] == pytest.approx(10 / 1.04**0.25 / 4, rel=1e-12)
    assert out["ecl_lifetime_cny"] == pytest.approx(10 / 1.04**0.25 / 4 + 20 / 1.04**1.75 / 4, rel=1e-12)
    assert out["pd_lifetime"] == 0.5 and out["lgd"] == pytest.approx(30 / 200) and out["ead_cny"] == 100.0
    assert out["ifrs9_stage"] == 2 and "maintenance ratio" in str(out["ifrs9_stage_reason"])
    assert out["ecl_allowance_cny"] == out["ecl_lifetime_cny"]
    ref = irb_corporate(0.006, 30 / 200, 100.0, 2.0)  # BB -> 0.6 %, path LGD and EAD, M = 2 years
    assert out["irb_capital_cny"] == ref.capital_cny and out["rwa_cny"] == ref.rwa_cny
    assert out["standardised_rwa_cny"] == 100.0 and out["carbon_collateral_recognised"] is False
    # no path defaults: foundation LGD 45 % on today's exposure
    quiet = loan_credit_figures(
        default_time_years=[np.inf] * 3,
        loss_cny=[0.0] * 3,
        ead_cny=[0.0] * 3,
        maturity_years=1.0,
        eir=0.04,
        exposure_cny=50.0,
        borrower_pd_1y=0.01,
    )
    assert (
        quiet.lgd_source.startswith("foundation") and quiet.irb.rwa_cny == irb_corporate(0.01, 0.45, 50.0, 1.0).rwa_cny
    )
    assert quiet.stage.stage == 1 and quiet.ecl.ecl_lifetime_cny == 0.0
