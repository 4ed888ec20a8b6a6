"""Credit figures of a loan or a derivative: PD, LGD, EAD, IFRS 9 / CAS 22 ECL, IRB and standardised capital, CVA.

Pure, vectorised functions on arrays and scalars; no instrument, market or path-set type is imported, so the
portfolio engine (or a notebook) feeds them whatever per-path arrays it has.

Contents and sources
--------------------
- :func:`irb_corporate`: Basel II IRB corporate risk-weight function (BCBS, *International Convergence of Capital
  Measurement and Capital Standards*, June 2006, paras 44, 272-273, 285, 287 and 318-320; the consolidated
  Basel Framework, chapters CRE31-CRE32, carries the same function and the Basel III PD floor). Checked against
  Annex 5 of the 2006 text ("Illustrative IRB risk weights").
- :func:`standardised_corporate`: corporate risk weights of the weighting approach (权重法) of the NFRA capital
  rules, 商业银行资本管理办法 (国家金融监督管理总局令 2023 年第 4 号, effective 2024-01-01), Annex 2; table and
  assumptions in :data:`NFRA_2023_CORPORATE_RISK_WEIGHTS`.
- :data:`RATING_PD_1Y`, :func:`pd_from_rating`, :func:`cumulative_pd`, :func:`marginal_pd`: rating-to-PD table and
  PD term structures (constant or piecewise-constant hazard).
- :func:`expected_credit_loss`, :func:`ifrs9_stage`: IFRS 9 5.5.3, 5.5.5, 5.5.9-5.5.11, 5.5.17, B5.5.17, B5.5.37,
  B5.5.44 and Appendix A (CAS 22, 企业会计准则第 22 号, revised 2017, is the converged Chinese standard; its
  chapter on impairment, 金融工具的减值, carries the same rules).
- :func:`path_credit_figures`, :func:`default_times`, :func:`first_default`: PD, LGD and EAD from Monte Carlo
  paths, with standard errors.
- :func:`loan_credit_figures`: all of the above for one loan from its per-path outcomes (the figures the
  reports and ``carbonrisk value --json`` carry).
- :class:`WrongWayTopUp`, :func:`top_up_model`: pledge-borrower top-up probability that falls with the price.
- :func:`exposure_profile`, :func:`cva`: EE / EPE / PFE profiles from a (dates x paths) value array and the
  unilateral CVA (Gregory, *The xVA Challenge*, 4th ed., 2020, the CVA chapter; EE / effective EPE as defined for the
  internal model method in Basel II Annex 4).

Every error is a :class:`~carbonrisk.models.exceptions.InputError` subclass whose one-line message names the field, the
value and the rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import norm

from carbonrisk.models.exceptions import InputError

_DataFrame: TypeAlias = pd.DataFrame  # the IRBCapital field ``pd`` shadows the module name inside that class

__all__ = [
    "BASEL2_PD_FLOOR",
    "BASEL3_PD_FLOOR",
    "NFRA_2023_CORPORATE_RISK_WEIGHTS",
    "NFRA_MIN_CAPITAL_RATIO",
    "RATING_PD_1Y",
    "CreditInputError",
    "ECLResult",
    "ExposureProfile",
    "IRBCapital",
    "LoanCreditFigures",
    "PathCreditFigures",
    "StageResult",
    "StandardisedCapital",
    "WrongWayTopUp",
    "cumulative_pd",
    "cva",
    "cva_from_values",
    "default_times",
    "expected_credit_loss",
    "exposure_profile",
    "first_default",
    "hazard_rate",
    "ifrs9_stage",
    "irb_corporate",
    "loan_credit_figures",
    "marginal_pd",
    "path_credit_figures",
    "pd_from_rating",
    "standardised_corporate",
    "top_up_model",
]

FloatOrArray = float | np.ndarray


class CreditInputError(InputError):
    """A credit input (PD, LGD, EAD, maturity, rate, profile) breaks a documented rule."""


# ---------------------------------------------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------------------------------------------


def _arr(name: str, value: npt.ArrayLike) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise CreditInputError(f"{name}={value!r} must be numeric") from None
    if not np.all(np.isfinite(a)):
        raise CreditInputError(f"{name}={_show(a)} must be finite")
    return a


def _show(a: np.ndarray) -> str:
    if a.ndim == 0:
        return repr(float(a))
    bad = a[~np.isfinite(a)] if not np.all(np.isfinite(a)) else a
    return f"array(... {float(bad.flat[0])!r} ...)"


def _in_range(
    name: str, value: npt.ArrayLike, lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False
) -> np.ndarray:
    a = _arr(name, value)
    low_bad = (a <= lo) if lo_open else (a < lo)
    high_bad = (a >= hi) if hi_open else (a > hi)
    bad = low_bad | high_bad
    if np.any(bad):
        first = float(a[bad].flat[0]) if a.ndim else float(a)
        rule = f"lie in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        raise CreditInputError(f"{name}={first!r} must {rule}")
    return a


def _out(a: np.ndarray) -> FloatOrArray:
    return float(a) if a.ndim == 0 else a


# ---------------------------------------------------------------------------------------------------------------
# Basel IRB corporate risk weight
# ---------------------------------------------------------------------------------------------------------------

BASEL2_PD_FLOOR: float = 0.0003
"""PD floor of Basel II for corporate and bank exposures, 0.03 % (June 2006 text, para 285)."""
BASEL3_PD_FLOOR: float = 0.0005
"""PD floor of the Basel III reforms for corporate exposures, 0.05 % (December 2017 reforms; chapter CRE32 of the
consolidated framework)."""


@dataclass(frozen=True)
class IRBCapital:
    """IRB capital of one exposure or an array of them (numpy arrays when any input was an array).

    Attributes
    ----------
    pd, lgd, ead_cny, maturity_years : float or numpy.ndarray
        The inputs after the PD floor and the maturity floor / cap.
    correlation : float or numpy.ndarray
        Asset correlation R.
    k : float or numpy.ndarray
        Capital requirement per unit of EAD.
    capital_cny, rwa_cny : float or numpy.ndarray
        ``k x ead_cny`` and ``12.5 x scaling x k x ead_cny``.
    """

    pd: FloatOrArray
    lgd: FloatOrArray
    ead_cny: FloatOrArray
    maturity_years: FloatOrArray
    correlation: FloatOrArray
    k: FloatOrArray
    capital_cny: FloatOrArray
    rwa_cny: FloatOrArray

    @property
    def risk_weight(self) -> FloatOrArray:
        """Risk weight ``12.5 x k`` (x scaling), e.g. 0.9232 for PD 1 %, LGD 45 %, M 2.5."""
        ead = np.asarray(self.ead_cny, dtype=float)
        rwa = np.asarray(self.rwa_cny, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            rw = np.where(ead > 0, rwa / np.where(ead > 0, ead, 1.0), 12.5 * np.asarray(self.k, dtype=float))
        return _out(rw)

    def to_frame(self) -> _DataFrame:
        """One row per exposure."""
        cols = {
            "pd": self.pd,
            "lgd": self.lgd,
            "ead_cny": self.ead_cny,
            "maturity_years": self.maturity_years,
            "correlation": self.correlation,
            "k": self.k,
            "capital_cny": self.capital_cny,
            "rwa_cny": self.rwa_cny,
            "risk_weight": self.risk_weight,
        }
        return pd.DataFrame({k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in cols.items()})


def irb_corporate(
    pd_1y: npt.ArrayLike,
    lgd: npt.ArrayLike,
    ead_cny: npt.ArrayLike,
    maturity_years: npt.ArrayLike = 2.5,
    *,
    pd_floor: float = BASEL3_PD_FLOOR,
    sales_meur: npt.ArrayLike | None = None,
    scaling: float = 1.0,
) -> IRBCapital:
    """Basel IRB capital and risk-weighted assets of corporate exposures not in default.

    Parameters
    ----------
    pd_1y : array_like
        One-year PD of the borrower, in [0, 1]; floored at ``pd_floor``. ``pd_1y = 1`` (defaulted) gives
        ``k = 0``: the expected loss is then provisioned in full (para 272, taking the best estimate of
        expected loss equal to LGD).
    lgd : array_like
        Loss given default, in [0, 1] (from the paths, or 0.45 for senior unsecured under the foundation approach,
        para 287).
    ead_cny : array_like
        Exposure at default, >= 0.
    maturity_years : array_like, default 2.5
        Effective maturity M, floored at 1 and capped at 5 years (para 320). 2.5 is the foundation-approach value
        (para 318).
    pd_floor : float, default :data:`BASEL3_PD_FLOOR` (0.05 %)
        Use :data:`BASEL2_PD_FLOOR` (0.03 %) for Basel II; 0 switches the floor off (e.g. to reproduce a table).
    sales_meur : array_like, optional
        Annual sales in million EUR for the SME firm-size adjustment of para 273 (applied below 50, sales
        below 5 treated as 5). None: no adjustment.
    scaling : float, default 1.0
        Scaling factor on RWA: 1.06 under Basel II (para 44), 1.0 under the Basel III reforms (removed in 2017).

    Returns
    -------
    IRBCapital

    Notes
    -----
    BCBS (2006), para 272, with :math:`N` the standard normal cdf and :math:`G` its inverse:

    .. math::

        w &= (1 - e^{-50\\,PD}) / (1 - e^{-50}) \\\\
        R &= 0.12\\, w + 0.24\\, (1 - w)\\; [- 0.04\\,(1 - (S - 5)/45) \\text{ for SMEs, para 273}] \\\\
        b &= (0.11852 - 0.05478 \\ln PD)^2 \\\\
        K &= \\left[LGD\\, N\\!\\left(\\frac{G(PD) + \\sqrt{R}\\, G(0.999)}{\\sqrt{1 - R}}\\right) - PD\\, LGD\\right]
             \\frac{1 + (M - 2.5)\\, b}{1 - 1.5\\, b} \\\\
        RWA &= 12.5 \\times \\text{scaling} \\times K \\times EAD

    Reference values (Annex 5 of the 2006 text, corporate, LGD 45 %, M 2.5, no PD floor needed): PD 0.03 % ->
    14.44 %, 0.10 % -> 29.65 %, 1.00 % -> 92.32 %, 3.00 % -> 128.44 %; with turnover EUR 5 million, PD 1 % ->
    72.40 %.
    """
    p = _in_range("pd_1y", pd_1y, 0.0, 1.0)
    lg = _in_range("lgd", lgd, 0.0, 1.0)
    ead = _arr("ead_cny", ead_cny)
    if np.any(ead < 0):
        raise CreditInputError(f"ead_cny={float(ead[ead < 0].flat[0]) if ead.ndim else float(ead)!r} must be >= 0")
    m_raw = _arr("maturity_years", maturity_years)
    if np.any(m_raw <= 0):
        raise CreditInputError(f"maturity_years={float(np.min(m_raw))!r} must be > 0")
    if not 0.0 <= pd_floor < 1.0:
        raise CreditInputError(f"pd_floor={pd_floor!r} must lie in [0, 1)")
    if not scaling > 0:
        raise CreditInputError(f"scaling={scaling!r} must be > 0")
    p, lg, ead, m_raw = np.broadcast_arrays(p, lg, ead, m_raw)
    defaulted = p >= 1.0
    pf = np.clip(np.maximum(p, pd_floor), 1e-12, 1.0 - 1e-12)
    m = np.clip(m_raw, 1.0, 5.0)
    w = (1.0 - np.exp(-50.0 * pf)) / (1.0 - math.exp(-50.0))
    r = 0.12 * w + 0.24 * (1.0 - w)
    if sales_meur is not None:
        s = np.clip(_arr("sales_meur", sales_meur), 5.0, 50.0)
        r = r - 0.04 * (1.0 - (s - 5.0) / 45.0)
    b = (0.11852 - 0.05478 * np.log(pf)) ** 2
    cond = norm.cdf((norm.ppf(pf) + np.sqrt(r) * norm.ppf(0.999)) / np.sqrt(1.0 - r))
    k = (lg * cond - pf * lg) * (1.0 + (m - 2.5) * b) / (1.0 - 1.5 * b)
    k = np.where(defaulted, 0.0, np.maximum(k, 0.0))
    pd_out = np.where(defaulted, 1.0, np.maximum(p, pd_floor))
    capital = k * ead
    return IRBCapital(
        pd=_out(pd_out),
        lgd=_out(lg),
        ead_cny=_out(ead),
        maturity_years=_out(m),
        correlation=_out(np.asarray(r)),
        k=_out(np.asarray(k)),
        capital_cny=_out(np.asarray(capital)),
        rwa_cny=_out(np.asarray(12.5 * scaling * capital)),
    )


# ---------------------------------------------------------------------------------------------------------------
# Standardised approach (weighting approach) under the NFRA 2023 capital rules
# ---------------------------------------------------------------------------------------------------------------

NFRA_2023_CORPORATE_RISK_WEIGHTS: dict[str, float] = {
    "general": 1.00,
    "investment_grade": 0.75,
    "sme": 0.85,
    "small_micro_regulatory_retail": 0.75,
    "project_finance_pre_operational": 1.30,
    "project_finance_operational": 1.00,
    "project_finance_high_quality_operational": 0.80,
    "object_finance": 1.00,
    "commodities_finance": 1.00,
}
"""Corporate risk weights of the weighting approach, 商业银行资本管理办法 (NFRA, 2023), Annex 2.

``general`` 100 % (一般公司), ``investment_grade`` 75 % (投资级公司, the bank's own assessment against the
Annex's criteria: China's rules do not use external ratings for this), ``sme`` 85 % (中小企业),
``small_micro_regulatory_retail`` 75 % (小微企业 meeting the regulatory-retail conditions, strictly a retail
class), specialised lending (专业贷款): project finance 130 % before operation, 100 % in operation, 80 % high-quality
operational; object and commodities finance 100 %. These weights mirror the Basel III standardised approach for
unrated corporates (chapter CRE20 of the Basel Framework), which the 2023 rules transpose; they are quoted from our
reading of the rules' Annex 2 and secondary summaries, not from a verified copy of the official text (confidence:
high for 100 / 75 / 85 / 130 / 100 / 80, the figures every summary agrees on; article numbers are not given for that
reason).
A CCER-linked geothermal project loan is project finance: 130 % while the wells are drilled and the plant built,
100 % once it operates.
"""

NFRA_MIN_CAPITAL_RATIO: float = 0.08
"""Minimum total capital ratio of the 2023 rules (资本充足率不得低于 8 %; tier 1 6 %, CET1 5 %). Buffers come on top:
conservation 2.5 % (CET1), countercyclical 0-2.5 % (set at 0 so far), systemic surcharges for D-SIBs. Pass
``capital_ratio=0.105`` to include the conservation buffer."""

_RECOGNISED_COLLATERAL: dict[str, float] = {
    "cash": 0.0,
    "gold": 0.0,
    "prc_government_bond": 0.0,
    "pboc_bill": 0.0,
    "policy_bank_bond": 0.0,
}
"""Eligible financial collateral (合格质物) of the weighting approach we recognise, with its risk weight under the
substitution approach: cash deposits placed under the bank's control, gold, PRC government bonds, PBoC bills, policy
-bank bonds (0 %). Other eligible items (e.g. bank and PSE bonds at their issuer's weight) are left out."""

_CARBON_COLLATERAL = ("CEA", "CCER")


@dataclass(frozen=True)
class StandardisedCapital:
    """Standardised (weighting-approach) RWA and capital of one corporate exposure.

    Attributes
    ----------
    ead_cny, category, risk_weight : float, str, float
        Exposure, its NFRA 2023 class and that class's risk weight.
    recognised_collateral_cny : float
        Collateral recognised under the substitution approach (0 for carbon collateral).
    carbon_collateral_cny : float
        Carbon collateral (CEA / CCER) held, reported but not recognised.
    rwa_cny, capital_cny, capital_ratio : float
    crm_note : str
        Why the collateral was or was not recognised.
    """

    ead_cny: float
    category: str
    risk_weight: float
    recognised_collateral_cny: float
    carbon_collateral_cny: float
    rwa_cny: float
    capital_cny: float
    capital_ratio: float
    crm_note: str

    def to_frame(self) -> pd.DataFrame:
        """One row."""
        return pd.DataFrame([self.__dict__])


def standardised_corporate(
    ead_cny: float,
    category: str = "general",
    *,
    capital_ratio: float = NFRA_MIN_CAPITAL_RATIO,
    collateral_cny: float = 0.0,
    collateral_kind: str = "CEA",
) -> StandardisedCapital:
    """Risk-weighted assets and capital of a corporate exposure under the NFRA 2023 weighting approach.

    Parameters
    ----------
    ead_cny : float
        Exposure (on-balance-sheet amount owed), >= 0.
    category : str, default ``"general"``
        A key of :data:`NFRA_2023_CORPORATE_RISK_WEIGHTS`.
    capital_ratio : float, default :data:`NFRA_MIN_CAPITAL_RATIO` (8 %)
        Capital held per unit of RWA; buffers excluded unless added here.
    collateral_cny : float, default 0
        Market value of the collateral pledged.
    collateral_kind : str, default ``"CEA"``
        ``"CEA"`` or ``"CCER"`` (not recognised), or one of ``cash``, ``gold``, ``prc_government_bond``,
        ``pboc_bill``, ``policy_bank_bond`` (recognised at 0 % under the substitution approach).

    Returns
    -------
    StandardisedCapital

    Notes
    -----
    :math:`RWA = RW_c (EAD - C) + RW_{coll} C` with :math:`C = \\min(\\text{recognised collateral}, EAD)`;
    capital = ``capital_ratio`` x RWA.

    **Carbon collateral is not credit-risk mitigation for capital.** The 2023 rules' list of eligible collateral
    for the weighting approach (Annex 2 of 商业银行资本管理办法, 合格质物: cash, gold, bank deposits, PRC government
    and PBoC securities, policy-bank, PSE and bank bonds) and the IRB list of other eligible collateral
    (receivables, commercial and residential real estate, other physical collateral meeting the conditions) do not
    name carbon emission allowances (碳排放配额) or CCERs. Pledges of them are legally possible (they are
    registered with the national registry and the banks' green-credit guidance encourages them), which lowers the
    bank's loss (our LGD from the paths), but we assume they give **no reduction of RWA**: the full exposure takes
    the borrower's weight. Assumption, stated here; change ``_RECOGNISED_COLLATERAL`` only against the official
    text.
    """
    ead = float(_arr("ead_cny", ead_cny))
    if ead < 0:
        raise CreditInputError(f"ead_cny={ead_cny!r} must be >= 0")
    if category not in NFRA_2023_CORPORATE_RISK_WEIGHTS:
        raise CreditInputError(f"category={category!r} must be one of {', '.join(NFRA_2023_CORPORATE_RISK_WEIGHTS)}")
    ratio = float(_in_range("capital_ratio", capital_ratio, 0.0, 1.0, lo_open=True))
    coll = float(_arr("collateral_cny", collateral_cny))
    if coll < 0:
        raise CreditInputError(f"collateral_cny={collateral_cny!r} must be >= 0")
    kind = str(collateral_kind)
    rw = NFRA_2023_CORPORATE_RISK_WEIGHTS[category]
    if kind.upper() in _CARBON_COLLATERAL:
        recognised, carbon = 0.0, coll
        rwa = rw * ead
        note = (
            f"{kind.upper()} collateral is not eligible credit-risk mitigation under the NFRA 2023 rules "
            "(not in Annex 2's eligible collateral): no RWA reduction"
        )
    elif kind in _RECOGNISED_COLLATERAL:
        recognised, carbon = min(coll, ead), 0.0
        rwa = rw * (ead - recognised) + _RECOGNISED_COLLATERAL[kind] * recognised
        note = f"{kind} recognised under the substitution approach at {_RECOGNISED_COLLATERAL[kind]:.0%}"
    else:
        allowed = ", ".join((*_CARBON_COLLATERAL, *_RECOGNISED_COLLATERAL))
        raise CreditInputError(f"collateral_kind={collateral_kind!r} must be one of {allowed}")
    return StandardisedCapital(ead, category, rw, recognised, carbon, rwa, ratio * rwa, ratio, note)


# ---------------------------------------------------------------------------------------------------------------
# PD: rating table and term structures
# ---------------------------------------------------------------------------------------------------------------

RATING_PD_1Y: dict[str, float] = {
    "AAA": 0.0000,
    "AA": 0.0002,
    "A": 0.0005,
    "BBB": 0.0015,
    "BB": 0.0060,
    "B": 0.0320,
    "CCC": 0.2650,
}
"""One-year PD per rating category (global-scale letter grades, modifiers dropped: ``BBB-`` -> ``BBB``).

Long-run average one-year corporate default rates of S&P Global Ratings' *Annual Global Corporate Default And
Rating Transition Study* (the 1981-2023 pool, 2023 edition: AAA 0.00 %, AA 0.02 %, A 0.05 %, BBB 0.15 %; BB about
0.6 %, B about 3.2 %, CCC/C about 26-27 %). The investment-grade figures are the ones every edition of the study
has printed for years; the speculative-grade ones are rounded and move by a few tenths between editions. They are
agency-scale figures: Chinese domestic ratings (mostly AA and above) are not on this scale and must be mapped to it
by the bank's own master scale first. The PD floor of :func:`irb_corporate` lifts AAA and AA to 0.05 %.
"""


def pd_from_rating(rating: str, table: Mapping[str, float] | None = None) -> float:
    """One-year PD of ``rating`` from :data:`RATING_PD_1Y` (or ``table``); ``+`` / ``-`` modifiers are dropped.

    ``CCC+``, ``CC`` and ``C`` map to ``CCC`` in the default table.
    """
    t = dict(table) if table is not None else RATING_PD_1Y
    key = str(rating).strip().upper().rstrip("+-")
    if table is None and key in ("CC", "C", "CCC/C"):
        key = "CCC"
    if key not in t:
        raise CreditInputError(f"rating={rating!r} must be one of {', '.join(t)} (modifiers + / - allowed)")
    return float(t[key])


def hazard_rate(pd_1y: npt.ArrayLike) -> FloatOrArray:
    """Constant default intensity :math:`h = -\\ln(1 - PD_{1y})` matching a one-year PD."""
    p = _in_range("pd_1y", pd_1y, 0.0, 1.0, hi_open=True)
    return _out(-np.log1p(-p))


def cumulative_pd(
    times_years: npt.ArrayLike, pd_1y: float | None = None, *, term_structure: Sequence[float] | None = None
) -> np.ndarray:
    """Cumulative PD to each time, from a one-year PD (constant hazard) or a yearly cumulative term structure.

    Parameters
    ----------
    times_years : array_like
        Times in years, >= 0.
    pd_1y : float, optional
        One-year PD; the hazard is constant at :func:`hazard_rate`.
    term_structure : sequence of float, optional
        Cumulative PDs at 1, 2, ..., n years, non-decreasing in [0, 1). Between the points the hazard is piecewise
        constant (log-survival linear in time); after year n the last year's hazard continues.

    Notes
    -----
    :math:`PD(t) = 1 - e^{-h t}`, or :math:`1 - \\exp(-\\int_0^t h(u)\\,du)` with :math:`h` piecewise constant on
    yearly intervals, :math:`h_k = \\ln((1 - PD_{k-1}) / (1 - PD_k))`.
    """
    t = _arr("times_years", times_years)
    if np.any(t < 0):
        raise CreditInputError(f"times_years={float(np.min(t))!r} must be >= 0")
    if (pd_1y is None) == (term_structure is None):
        raise CreditInputError("pd_1y and term_structure: give exactly one")
    if pd_1y is not None:
        h = float(hazard_rate(pd_1y))
        return np.asarray(-np.expm1(-h * t))
    ts = _in_range("term_structure", list(term_structure or []), 0.0, 1.0, hi_open=True)
    if ts.ndim != 1 or ts.size == 0:
        raise CreditInputError("term_structure=[] must hold at least one cumulative PD")
    if np.any(np.diff(ts) < 0):
        raise CreditInputError(f"term_structure={list(ts)!r} must be non-decreasing")
    log_surv = np.concatenate([[0.0], np.log1p(-ts)])
    knots = np.arange(ts.size + 1, dtype=float)
    last_h = log_surv[-2] - log_surv[-1]
    ls = np.interp(np.minimum(t, knots[-1]), knots, log_surv) - last_h * np.maximum(t - knots[-1], 0.0)
    return np.asarray(-np.expm1(ls))


def marginal_pd(
    times_years: npt.ArrayLike, pd_1y: float | None = None, *, term_structure: Sequence[float] | None = None
) -> np.ndarray:
    """Unconditional PD in each period :math:`(t_{i-1}, t_i]` (``t_0 = 0``): :math:`PD(t_i) - PD(t_{i-1})`."""
    t = _arr("times_years", times_years)
    if t.ndim != 1 or np.any(np.diff(t) <= 0):
        raise CreditInputError("times_years must be a strictly increasing 1-d array")
    cum = cumulative_pd(np.concatenate([[0.0], t]), pd_1y, term_structure=term_structure)
    return np.diff(cum)


# ---------------------------------------------------------------------------------------------------------------
# IFRS 9 / CAS 22 expected credit loss and staging
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ECLResult:
    """Expected credit losses of one loan.

    Attributes
    ----------
    ecl_12m_cny, ecl_lifetime_cny : float
        12-month and lifetime ECL, discounted at the effective interest rate.
    periods : pandas.DataFrame
        Per period: ``t_years`` (end), ``marginal_pd``, ``lgd``, ``ead_cny``, ``df``, ``ecl_cny``,
        ``share_in_12m`` (fraction of the period's ECL inside the first 12 months).
    """

    ecl_12m_cny: float
    ecl_lifetime_cny: float
    periods: pd.DataFrame

    def ecl_for_stage(self, stage: int) -> float:
        """The allowance IFRS 9 requires: 12-month ECL in stage 1, lifetime ECL in stages 2 and 3 (5.5.3, 5.5.5)."""
        if stage not in (1, 2, 3):
            raise CreditInputError(f"stage={stage!r} must be 1, 2 or 3")
        return self.ecl_12m_cny if stage == 1 else self.ecl_lifetime_cny


def expected_credit_loss(
    times_years: npt.ArrayLike,
    marginal_pds: npt.ArrayLike,
    lgd: npt.ArrayLike,
    ead_cny: npt.ArrayLike,
    eir: float,
) -> ECLResult:
    """12-month and lifetime ECL: marginal PD x LGD x EAD discounted at the effective interest rate.

    Parameters
    ----------
    times_years : array_like
        Period ends :math:`t_1 < ... < t_n` in years from the reporting date (the lifetime is :math:`t_n`, the
        contractual maturity, IFRS 9 5.5.19).
    marginal_pds : array_like
        Unconditional PD of each period (:func:`marginal_pd`), >= 0, summing to at most 1.
    lgd, ead_cny : array_like
        LGD and exposure at default per period (scalars broadcast); EAD from the paths' amounts owed.
    eir : float
        Effective interest rate of the loan (annual, compounded yearly), > -1.

    Returns
    -------
    ECLResult

    Notes
    -----
    IFRS 9 5.5.17 and B5.5.44 (discounting at the EIR):

    .. math:: ECL_{life} = \\sum_{i=1}^{n} PD_i^{marg}\\, LGD_i\\, EAD_i\\, (1 + EIR)^{-t_i}

    (defaults assumed at the end of their period). The 12-month ECL (5.5.5, Appendix A "12-month expected credit
    losses") keeps the defaults in the 12 months after the reporting date: periods ending by 1 year count in full,
    the period straddling 1 year counts for the share of it before 1 year (uniform default time inside the
    period). When the maturity is shorter than 12 months both figures coincide (the Appendix A definition counts
    defaults "possible within the 12 months", and 5.5.19 ends every horizon at maturity). Since every term is
    >= 0, :math:`ECL_{12m} \\le ECL_{life}`.
    """
    t = _arr("times_years", times_years)
    if t.ndim != 1 or t.size == 0 or np.any(t <= 0) or np.any(np.diff(t) <= 0):
        raise CreditInputError("times_years must be a non-empty, strictly increasing 1-d array of times > 0")
    mp = _arr("marginal_pds", marginal_pds)
    if mp.shape != t.shape:
        raise CreditInputError(f"marginal_pds has shape {mp.shape}, must match times_years {t.shape}")
    if np.any(mp < 0) or mp.sum() > 1.0 + 1e-12:
        raise CreditInputError(f"marginal_pds (sum {mp.sum():.6g}) must be >= 0 and sum to at most 1")
    lg = np.broadcast_to(_in_range("lgd", lgd, 0.0, 1.0), t.shape)
    ead = np.broadcast_to(_arr("ead_cny", ead_cny), t.shape)
    if np.any(ead < 0):
        raise CreditInputError(f"ead_cny={float(ead[ead < 0][0])!r} must be >= 0")
    if not eir > -1.0:
        raise CreditInputError(f"eir={eir!r} must be > -1")
    df = (1.0 + eir) ** (-t)
    ecl = mp * lg * ead * df
    start = np.concatenate([[0.0], t[:-1]])
    share = np.clip((1.0 - start) / (t - start), 0.0, 1.0)
    frame = pd.DataFrame(
        {
            "t_years": t,
            "marginal_pd": mp,
            "lgd": lg,
            "ead_cny": ead,
            "df": df,
            "ecl_cny": ecl,
            "share_in_12m": share,
        }
    )
    return ECLResult(float((ecl * share).sum()), float(ecl.sum()), frame)


@dataclass(frozen=True)
class StageResult:
    """IFRS 9 stage with the rule that decided it."""

    stage: int
    reason: str


def ifrs9_stage(
    pd_lifetime_now: float,
    pd_lifetime_at_origination: float,
    *,
    days_past_due: int = 0,
    defaulted: bool = False,
    coverage: float | None = None,
    maintenance_ratio: float | None = None,
    relative_threshold: float = 2.0,
    absolute_threshold: float = 0.005,
) -> StageResult:
    """IFRS 9 stage (1, 2 or 3) of a loan and the reason, by a documented bank policy.

    Rules, first match wins:

    1. stage 3 if ``defaulted`` or more than 90 days past due (credit-impaired; the 90-day rebuttable presumption
       of B5.5.37);
    2. stage 2 if more than 30 days past due (rebuttable presumption of 5.5.11);
    3. stage 2 if the lifetime PD is more than ``relative_threshold`` times its value at origination, or higher by
       more than ``absolute_threshold`` (significant increase in credit risk, 5.5.3 and 5.5.9; B5.5.17(a)-(c));
    4. stage 2 if the collateral ``coverage`` (collateral value / amount owed) is below the loan's
       ``maintenance_ratio`` (a margin call is outstanding: B5.5.17(j), significant changes in the value of the
       collateral);
    5. otherwise stage 1.

    The thresholds (2x, 50 bp) are policy parameters, not IFRS 9 figures: the standard prescribes no number. The
    two PDs must be over the same remaining horizon (compare like with like, 5.5.9): pass the origination curve
    read at today's remaining life.
    """
    now = float(_in_range("pd_lifetime_now", pd_lifetime_now, 0.0, 1.0))
    orig = float(_in_range("pd_lifetime_at_origination", pd_lifetime_at_origination, 0.0, 1.0))
    if int(days_past_due) < 0:
        raise CreditInputError(f"days_past_due={days_past_due!r} must be >= 0")
    if not relative_threshold > 1.0:
        raise CreditInputError(f"relative_threshold={relative_threshold!r} must be > 1")
    if not absolute_threshold > 0.0:
        raise CreditInputError(f"absolute_threshold={absolute_threshold!r} must be > 0")
    if (coverage is None) != (maintenance_ratio is None):
        raise CreditInputError("coverage and maintenance_ratio: give both or neither")
    if defaulted:
        return StageResult(3, "defaulted (credit-impaired, IFRS 9 Appendix A / B5.5.37)")
    if days_past_due > 90:
        return StageResult(3, f"{days_past_due} days past due > 90 (B5.5.37)")
    if days_past_due > 30:
        return StageResult(2, f"{days_past_due} days past due > 30 (IFRS 9 5.5.11)")
    if orig > 0 and now > relative_threshold * orig:
        return StageResult(2, f"lifetime PD {now:.4%} > {relative_threshold:g} x {orig:.4%} at origination (5.5.3)")
    if now - orig > absolute_threshold:
        return StageResult(
            2, f"lifetime PD {now:.4%} exceeds {orig:.4%} at origination by more than {absolute_threshold:.2%} (5.5.3)"
        )
    if coverage is not None and maintenance_ratio is not None and coverage < maintenance_ratio:
        return StageResult(
            2, f"collateral coverage {coverage:.4g} < maintenance ratio {maintenance_ratio:.4g} (B5.5.17(j))"
        )
    return StageResult(1, "no significant increase in credit risk since origination")


# ---------------------------------------------------------------------------------------------------------------
# Path-based PD, LGD, EAD
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathCreditFigures:
    """PD over the loan's life, LGD and EAD estimated from per-path outcomes, with standard errors.

    Attributes
    ----------
    n_paths, n_defaults : int
    pd_lifetime, pd_lifetime_se : float
        Share of paths that default before maturity; binomial s.e.
    lgd, lgd_se : float
        Default-weighted mean loss rate (loss / EAD) over the defaulting paths (Basel II para 468's "default-
        weighted average"); s.e. of that mean. 0 when no path defaults.
    lgd_exposure_weighted : float
        Sum of losses / sum of EAD over defaulting paths (the ``loss_given_default`` of
        :mod:`carbonrisk.finance.loans`), so that ``expected_loss_cny = pd_lifetime x ead_cny x lgd_exposure_weighted``
        exactly.
    ead_cny, ead_se : float
        Mean exposure at default over the defaulting paths; s.e.
    expected_loss_cny, expected_loss_se : float
        Mean loss over all paths (0 on paths without default); s.e.
    """

    n_paths: int
    n_defaults: int
    pd_lifetime: float
    pd_lifetime_se: float
    lgd: float
    lgd_se: float
    lgd_exposure_weighted: float
    ead_cny: float
    ead_se: float
    expected_loss_cny: float
    expected_loss_se: float

    def to_dict(self) -> dict[str, float]:
        """Plain ``name -> value`` mapping (for ``--json`` extras)."""
        return {k: float(v) for k, v in self.__dict__.items()}


def default_times(
    pd_1y: float | None,
    n_paths: int,
    rng: int | np.random.Generator | None,
    *,
    term_structure: Sequence[float] | None = None,
) -> np.ndarray:
    """Borrower default times (years) drawn from the PD curve, independent of prices; ``inf`` = never.

    Inversion: :math:`\\tau = PD^{-1}(U)` with :math:`U \\sim U(0, 1)`; for the constant hazard
    :math:`\\tau = -\\ln(1 - U)/h`. With a term structure the piecewise-constant hazard is inverted on its knots.
    """
    if int(n_paths) < 1:
        raise CreditInputError(f"n_paths={n_paths!r} must be >= 1")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    u = gen.random(int(n_paths))
    target = -np.log1p(-u)  # cumulative hazard at which default happens
    if term_structure is None:
        if pd_1y is None:
            raise CreditInputError("pd_1y and term_structure: give exactly one")
        h = float(hazard_rate(pd_1y))
        return target / h if h > 0 else np.full(target.shape, np.inf)
    if pd_1y is not None:
        raise CreditInputError("pd_1y and term_structure: give exactly one")
    ts = _in_range("term_structure", list(term_structure), 0.0, 1.0, hi_open=True)
    cum_h = np.concatenate([[0.0], -np.log1p(-ts)])
    knots = np.arange(ts.size + 1, dtype=float)
    last_h = cum_h[-1] - cum_h[-2]
    inside = target <= cum_h[-1]
    out = np.full(target.shape, np.inf)
    # np.interp needs increasing xp: flat stretches (zero hazard) are handled by taking the first knot reached
    uniq, idx = np.unique(cum_h, return_index=True)
    out[inside] = np.interp(target[inside], uniq, knots[idx])
    if last_h > 0:
        out[~inside] = knots[-1] + (target[~inside] - cum_h[-1]) / last_h
    return out


def first_default(*times: npt.ArrayLike, maturity_years: float) -> tuple[np.ndarray, np.ndarray]:
    """Combine default causes (e.g. borrower default time, collateral-shortfall time): earliest time and flag.

    Each argument is a per-path array of times in years (``inf`` or ``nan`` = does not happen). Returns
    ``(time, defaulted)`` with ``defaulted = time <= maturity_years``.
    """
    if not times:
        raise CreditInputError("first_default needs at least one array of default times")
    arrs = [np.where(np.isnan(a), np.inf, a) for a in (np.asarray(x, dtype=float) for x in times)]
    shape = arrs[0].shape
    for a in arrs:
        if a.shape != shape:
            raise CreditInputError(f"default-time arrays have shapes {a.shape} and {shape}; must match")
    t = np.minimum.reduce(arrs)
    return t, t <= float(maturity_years)


def path_credit_figures(default: npt.ArrayLike, loss_cny: npt.ArrayLike, ead_cny: npt.ArrayLike) -> PathCreditFigures:
    """PD, LGD, EAD and expected loss of a loan from per-path outcomes.

    Parameters
    ----------
    default : array_like of bool
        Per path: the loan defaulted before maturity (borrower default combined with collateral shortfall, e.g.
        ``first_default(...)[1]``, or the pledge engine's liquidation flag).
    loss_cny : array_like
        Per path: loss (>= 0, 0 where no default). Discounted or not, as the caller chooses (state it).
    ead_cny : array_like
        Per path: amount owed at default (> 0 where default).

    Notes
    -----
    With :math:`D` the set of defaulting paths, :math:`n` paths:
    :math:`PD = |D|/n`, s.e. :math:`\\sqrt{PD(1-PD)/n}`;
    :math:`LGD = |D|^{-1}\\sum_{D} L_p/EAD_p` (s.e. = sample s.d. / :math:`\\sqrt{|D|}`);
    :math:`EAD = |D|^{-1}\\sum_D EAD_p`; :math:`EL = n^{-1}\\sum_p L_p`.
    """
    d = np.asarray(default, dtype=bool)
    loss = _arr("loss_cny", loss_cny)
    ead = _arr("ead_cny", ead_cny)
    if d.ndim != 1 or d.size == 0:
        raise CreditInputError("default must be a non-empty 1-d array of flags")
    if loss.shape != d.shape or ead.shape != d.shape:
        raise CreditInputError(
            f"loss_cny {loss.shape} and ead_cny {ead.shape} must have the shape of default {d.shape}"
        )
    if np.any(loss < 0):
        raise CreditInputError(f"loss_cny={float(loss[loss < 0][0])!r} must be >= 0")
    if np.any(loss[~d] > 0):
        raise CreditInputError(f"loss_cny={float(loss[~d][loss[~d] > 0][0])!r} on a path without default must be 0")
    if np.any(ead[d] <= 0):
        raise CreditInputError(f"ead_cny={float(ead[d][ead[d] <= 0][0])!r} on a defaulting path must be > 0")
    if np.any(loss[d] > ead[d] * (1 + 1e-12)):
        raise CreditInputError("loss_cny must not exceed ead_cny on any path")
    n = d.size
    nd = int(d.sum())
    p = nd / n
    el = float(loss.mean())
    el_se = float(loss.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    if nd:
        rate = loss[d] / ead[d]
        lgd = float(rate.mean())
        lgd_se = float(rate.std(ddof=1) / math.sqrt(nd)) if nd > 1 else 0.0
        lgd_w = float(loss[d].sum() / ead[d].sum())
        ead_m = float(ead[d].mean())
        ead_se = float(ead[d].std(ddof=1) / math.sqrt(nd)) if nd > 1 else 0.0
    else:
        lgd = lgd_se = lgd_w = ead_m = ead_se = 0.0
    return PathCreditFigures(
        n_paths=n,
        n_defaults=nd,
        pd_lifetime=p,
        pd_lifetime_se=math.sqrt(p * (1.0 - p) / n),
        lgd=lgd,
        lgd_se=lgd_se,
        lgd_exposure_weighted=lgd_w,
        ead_cny=ead_m,
        ead_se=ead_se,
        expected_loss_cny=el,
        expected_loss_se=el_se,
    )


# ---------------------------------------------------------------------------------------------------------------
# Wrong-way top-up model
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrongWayTopUp:
    """Probability that a pledge borrower meets a margin call, falling as the collateral price falls.

    ``kind="lognormal"`` (default): :math:`p(r) = p_{max}\\, N((\\ln r - m)/s)`; ``kind="logistic"``:
    :math:`p(r) = p_{max} / (1 + e^{((1 - r) - d_{50})/w})` in the drawdown :math:`1 - r`. Here
    :math:`r = S_t/S_0` is the price on the call date over the price at origination.

    Defaults (assumptions: no published calibration exists for Chinese carbon pledge borrowers):
    ``p_max = 0.9`` (one borrower in ten never tops up, whatever the price), ``m = ln 0.7`` (the probability
    halves at a 30 % fall, the size of the CEA launch drawdown 2021-08 to 2021-12), ``s = 0.2``. With these,
    at the first margin call of the demo loan (LTV 0.6, maintenance 1.35: :math:`r = 0.81`) the probability is
    0.69, the constant 0.7 the demo used before; at a 50 % fall it is 0.04. Logistic defaults: ``d50 = 0.3``,
    ``w = 0.08`` (0.68 at r = 0.81).

    Calling the object on an array of price ratios returns the probabilities (same shape), ready for
    ``rng.random(n) < p`` in the pledge-loan engine.
    """

    p_max: float = 0.9
    m: float = math.log(0.7)
    s: float = 0.2
    kind: Literal["lognormal", "logistic"] = "lognormal"
    d50: float = 0.3
    w: float = 0.08

    def __post_init__(self) -> None:
        if not 0.0 <= self.p_max <= 1.0:
            raise CreditInputError(f"p_max={self.p_max!r} must lie in [0, 1]")
        if self.kind not in ("lognormal", "logistic"):
            raise CreditInputError(f"kind={self.kind!r} must be 'lognormal' or 'logistic'")
        if not self.s > 0:
            raise CreditInputError(f"s={self.s!r} must be > 0")
        if not self.w > 0:
            raise CreditInputError(f"w={self.w!r} must be > 0")

    def __call__(self, price_ratio: npt.ArrayLike) -> np.ndarray:
        r = _arr("price_ratio", price_ratio)
        if np.any(r <= 0):
            raise CreditInputError(f"price_ratio={float(np.min(r))!r} must be > 0")
        if self.kind == "lognormal":
            return np.asarray(self.p_max * norm.cdf((np.log(r) - self.m) / self.s))
        z = np.clip(((1.0 - r) - self.d50) / self.w, -700.0, 700.0)
        return np.asarray(self.p_max / (1.0 + np.exp(z)))


def top_up_model(
    spec: str | float | Mapping[str, float | str] | WrongWayTopUp,
) -> Callable[[np.ndarray], np.ndarray]:
    """A ``top_up_probability(price_ratio) -> probabilities`` function from a contract's ``top_up`` value.

    ``"always"`` -> 1, ``"never"`` -> 0, a number in [0, 1] -> that constant (today's behaviour),
    ``"wrong_way"`` -> :class:`WrongWayTopUp` with its defaults, a mapping -> ``WrongWayTopUp(**mapping)``
    (e.g. ``{p_max = 0.9, m = -0.36, s = 0.2}`` in TOML).
    """
    if isinstance(spec, WrongWayTopUp):
        return spec
    if isinstance(spec, Mapping):
        try:
            return WrongWayTopUp(**spec)  # type: ignore[arg-type]
        except TypeError as exc:
            raise CreditInputError(f"top_up={dict(spec)!r}: {exc}") from None
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key == "wrong_way":
            return WrongWayTopUp()
        if key in ("always", "never"):
            const = 1.0 if key == "always" else 0.0
            return lambda r: np.full(np.shape(r), const)
        raise CreditInputError(f"top_up={spec!r} must be 'always', 'never', 'wrong_way', a probability or a table")
    if isinstance(spec, bool) or not isinstance(spec, int | float):
        raise CreditInputError(f"top_up={spec!r} must be 'always', 'never', 'wrong_way', a probability or a table")
    p = float(spec)
    if not 0.0 <= p <= 1.0:
        raise CreditInputError(f"top_up={spec!r} must lie in [0, 1]")
    return lambda r: np.full(np.shape(r), p)


# ---------------------------------------------------------------------------------------------------------------
# Counterparty exposure and CVA
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExposureProfile:
    """Exposure profile of a derivative from a (dates x paths) array of its values to us.

    Attributes
    ----------
    epe : numpy.ndarray
        Expected positive exposure per date, :math:`EE(t) = E[\\max(V_t, 0)]` (Basel's "expected exposure").
    epe_se : numpy.ndarray
        Its Monte Carlo s.e.
    ene : numpy.ndarray
        Expected negative exposure :math:`E[\\min(V_t, 0)]` (<= 0).
    pfe : numpy.ndarray
        Potential future exposure: the ``level`` quantile of :math:`\\max(V_t, 0)`.
    level : float
    """

    epe: np.ndarray
    epe_se: np.ndarray
    ene: np.ndarray
    pfe: np.ndarray
    level: float

    def effective_epe(self, times_years: npt.ArrayLike, horizon_years: float = 1.0) -> float:
        """Basel effective EPE: time average over the first ``horizon_years`` of the running maximum of EE
        (Basel II Annex 4, internal model method; dates after the horizon dropped, weights :math:`\\Delta t_k`)."""
        t = _arr("times_years", times_years)
        if t.shape != self.epe.shape or np.any(np.diff(t) <= 0) or np.any(t <= 0):
            raise CreditInputError("times_years must be increasing, > 0 and match the profile's dates")
        keep = t <= horizon_years + 1e-12
        if not keep.any():
            return float(self.epe[0])
        eff = np.maximum.accumulate(self.epe[keep])
        dt = np.diff(np.concatenate([[0.0], t[keep]]))
        return float((eff * dt).sum() / dt.sum())


def exposure_profile(values: npt.ArrayLike, *, level: float = 0.95) -> ExposureProfile:
    """EE (EPE profile), ENE and PFE per date from values ``(n_dates, n_paths)`` (no netting or collateral).

    The values may be discounted to today (then :func:`cva` takes ``discount_factors=1``) or not.
    """
    v = _arr("values", values)
    if v.ndim != 2 or v.shape[1] < 2:
        raise CreditInputError(f"values has shape {v.shape}; must be (n_dates, n_paths) with n_paths >= 2")
    lv = float(_in_range("level", level, 0.0, 1.0, lo_open=True, hi_open=True))
    pos = np.maximum(v, 0.0)
    return ExposureProfile(
        epe=pos.mean(axis=1),
        epe_se=pos.std(axis=1, ddof=1) / math.sqrt(v.shape[1]),
        ene=np.minimum(v, 0.0).mean(axis=1),
        pfe=np.quantile(pos, lv, axis=1),
        level=lv,
    )


def cva(
    epe: npt.ArrayLike,
    times_years: npt.ArrayLike,
    discount_factors: npt.ArrayLike,
    *,
    lgd: float,
    pd_1y: float | None = None,
    term_structure: Sequence[float] | None = None,
    epe_se: npt.ArrayLike | None = None,
) -> tuple[float, float]:
    """Unilateral CVA from an EPE profile and the counterparty's PD curve; returns ``(cva_cny, se_cny)``.

    Parameters
    ----------
    epe : array_like
        :math:`EE(t_i)` at the profile dates (:attr:`ExposureProfile.epe`).
    times_years : array_like
        :math:`t_1 < ... < t_n`, > 0.
    discount_factors : array_like
        :math:`DF(t_i)` (ones when the values were already discounted).
    lgd : float
        Counterparty's loss given default, in [0, 1].
    pd_1y, term_structure :
        Counterparty PD curve as in :func:`cumulative_pd` (e.g. ``hazard = spread / LGD`` gives
        ``pd_1y = 1 - exp(-spread / LGD)``).
    epe_se : array_like, optional
        S.e. of each EE; the CVA s.e. is then bounded by the fully-correlated sum
        :math:`LGD \\sum_i se_i DF_i PD_i` (conservative: EE estimates at nearby dates are positively correlated).

    Notes
    -----
    Gregory (2020), the standard discretisation of unilateral CVA:
    :math:`CVA = LGD \\sum_{i=1}^{n} EE(t_i)\\, DF(t_i)\\, [PD(t_i) - PD(t_{i-1})]`, default and exposure
    independent (no wrong-way risk), exposure at the end of each interval.
    """
    e = _arr("epe", epe)
    t = _arr("times_years", times_years)
    df = np.broadcast_to(_arr("discount_factors", discount_factors), t.shape)
    if e.shape != t.shape or t.ndim != 1:
        raise CreditInputError(f"epe {e.shape} and times_years {t.shape} must be 1-d arrays of the same shape")
    if np.any(e < 0):
        raise CreditInputError(f"epe={float(np.min(e))!r} must be >= 0")
    lg = float(_in_range("lgd", lgd, 0.0, 1.0))
    mp = marginal_pd(t, pd_1y, term_structure=term_structure)
    value = lg * float((e * df * mp).sum())
    se = 0.0
    if epe_se is not None:
        s = np.broadcast_to(_arr("epe_se", epe_se), t.shape)
        se = lg * float((s * df * mp).sum())
    return value, se


def cva_from_values(
    values: npt.ArrayLike,
    times_years: npt.ArrayLike,
    discount_factors: npt.ArrayLike,
    *,
    lgd: float,
    pd_1y: float | None = None,
    term_structure: Sequence[float] | None = None,
) -> tuple[float, float]:
    """Unilateral CVA straight from values ``(n_dates, n_paths)``, with its exact Monte Carlo s.e.

    Same formula as :func:`cva`; the estimate is the mean over paths of
    :math:`LGD \\sum_i \\max(V_{i,p}, 0)\\, DF(t_i)\\, PD_i^{marg}`, so its s.e. is the sample s.d. of that
    per-path sum over :math:`\\sqrt{n}`. Returns ``(cva_cny, se_cny)``.
    """
    v = _arr("values", values)
    t = _arr("times_years", times_years)
    if v.ndim != 2 or t.ndim != 1 or v.shape[0] != t.size or v.shape[1] < 2:
        raise CreditInputError(
            f"values {v.shape} must be (n_dates, n_paths >= 2) with n_dates = len(times_years) = {t.size}"
        )
    df = np.broadcast_to(_arr("discount_factors", discount_factors), t.shape)
    lg = float(_in_range("lgd", lgd, 0.0, 1.0))
    w = lg * df * marginal_pd(t, pd_1y, term_structure=term_structure)
    per_path = (np.maximum(v, 0.0) * w[:, None]).sum(axis=0)
    return float(per_path.mean()), float(per_path.std(ddof=1) / math.sqrt(per_path.size))


# ---------------------------------------------------------------------------------------------------------------
# one loan's credit figures from its paths
# ---------------------------------------------------------------------------------------------------------------

FOUNDATION_LGD_SENIOR_UNSECURED: float = 0.45
"""Supervisory LGD of senior unsecured corporate claims under the foundation IRB approach (Basel II para 287);
used for IRB capital when no path defaults (the paths then say nothing about the loss rate)."""


@dataclass(frozen=True)
class LoanCreditFigures:
    """A loan's credit figures for the credit file (:func:`loan_credit_figures`).

    Attributes
    ----------
    paths : PathCreditFigures
        PD over the life, LGD, EAD, EL from the paths, with standard errors.
    ecl : ECLResult
        12-month and lifetime ECL with the per-period table.
    stage : StageResult
    irb : IRBCapital
        With the borrower's one-year PD, the paths' exposure-weighted LGD and EAD, M = remaining maturity.
    standardised : StandardisedCapital
    lgd_source : str
        ``"paths"`` or ``"foundation 45 % (no path defaults)"``.
    """

    paths: PathCreditFigures
    ecl: ECLResult
    stage: StageResult
    irb: IRBCapital
    standardised: StandardisedCapital
    lgd_source: str

    def to_dict(self) -> dict[str, float | int | str | bool]:
        """The report / ``--json`` keys: ``irb_capital_cny``, ``rwa_cny``, ``ecl_12m_cny``, ``ecl_lifetime_cny``,
        ``ifrs9_stage``, ``pd_lifetime``, ``lgd``, ``ead_cny`` and their companions."""
        return {
            "pd_lifetime": self.paths.pd_lifetime,
            "pd_lifetime_se": self.paths.pd_lifetime_se,
            "lgd": self.paths.lgd_exposure_weighted,
            "lgd_default_weighted": self.paths.lgd,
            "lgd_default_weighted_se": self.paths.lgd_se,
            "ead_cny": self.paths.ead_cny,
            "ead_se": self.paths.ead_se,
            "expected_loss_cny": self.paths.expected_loss_cny,
            "expected_loss_se": self.paths.expected_loss_se,
            "ecl_12m_cny": self.ecl.ecl_12m_cny,
            "ecl_lifetime_cny": self.ecl.ecl_lifetime_cny,
            "ecl_allowance_cny": self.ecl.ecl_for_stage(self.stage.stage),
            "ifrs9_stage": self.stage.stage,
            "ifrs9_stage_reason": self.stage.reason,
            "irb_pd_1y": float(self.irb.pd),
            "irb_lgd": float(self.irb.lgd),
            "irb_lgd_source": self.lgd_source,
            "irb_ead_cny": float(self.irb.ead_cny),
            "irb_maturity_years": float(self.irb.maturity_years),
            "irb_risk_weight": float(self.irb.risk_weight),
            "irb_capital_cny": float(self.irb.capital_cny),
            "rwa_cny": float(self.irb.rwa_cny),
            "standardised_category": self.standardised.category,
            "standardised_risk_weight": self.standardised.risk_weight,
            "standardised_rwa_cny": self.standardised.rwa_cny,
            "standardised_capital_cny": self.standardised.capital_cny,
            "carbon_collateral_recognised": False,
        }


def loan_credit_figures(
    *,
    default_time_years: npt.ArrayLike,
    loss_cny: npt.ArrayLike,
    ead_cny: npt.ArrayLike,
    maturity_years: float,
    eir: float,
    exposure_cny: float,
    borrower_pd_1y: float | None = None,
    rating: str | None = None,
    pd_lifetime_at_origination: float | None = None,
    coverage: float | None = None,
    maintenance_ratio: float | None = None,
    days_past_due: int = 0,
    defaulted: bool = False,
    period_years: float = 0.25,
    pd_floor: float = BASEL3_PD_FLOOR,
    standardised_category: str = "general",
    collateral_cny: float = 0.0,
    collateral_kind: str = "CEA",
    capital_ratio: float = NFRA_MIN_CAPITAL_RATIO,
) -> LoanCreditFigures:
    """PD, LGD, EAD, IFRS 9 ECL and stage, IRB and standardised capital of one loan from its per-path outcomes.

    Parameters
    ----------
    default_time_years : array_like
        Per path, the time of default in years from the reporting date (``inf`` = none before maturity): the
        earlier of the borrower's default (:func:`default_times` from its PD) and the collateral-driven default
        of the path (e.g. the liquidation date), combined with :func:`first_default`.
    loss_cny, ead_cny : array_like
        Per path, loss (0 where no default) and amount owed at default, undiscounted.
    maturity_years : float
        Remaining contractual life (> 0): the ECL horizon (IFRS 9 5.5.19) and the IRB effective maturity.
    eir : float
        Effective interest rate (ECL discounting, B5.5.44).
    exposure_cny : float
        Amount owed today: the standardised exposure, and the IRB EAD when no path defaults.
    borrower_pd_1y, rating : optional
        Borrower one-year PD for IRB (give one; ``rating`` goes through :func:`pd_from_rating`).
    pd_lifetime_at_origination : float, optional
        Lifetime PD at origination for the SICR test; None = today's (no PD-based transfer: a loan valued on its
        origination date is in stage 1 unless another rule applies).
    coverage, maintenance_ratio, days_past_due, defaulted :
        Passed to :func:`ifrs9_stage`.
    period_years : float, default 0.25
        Width of the ECL periods (quarters); the last period ends at maturity.
    pd_floor, standardised_category, collateral_cny, collateral_kind, capital_ratio :
        Passed to :func:`irb_corporate` and :func:`standardised_corporate`.

    Notes
    -----
    Per period :math:`(t_{k-1}, t_k]`: marginal PD = share of paths defaulting in it, LGD = their summed loss over
    their summed EAD, EAD = their mean EAD; :func:`expected_credit_loss` then discounts at the EIR, so
    :math:`ECL_{life} = n^{-1}\\sum_p L_p (1+EIR)^{-t_{k(p)}}` (the paths' mean loss discounted from the end of its
    period). IRB uses the borrower's one-year PD (para 285: a PD per obligor grade), the paths' exposure-weighted LGD
    (so that :math:`EL = PD \\times EAD \\times LGD` holds on the paths) and mean EAD, and
    :math:`M` = remaining maturity.
    """
    tau = np.where(np.isnan(np.asarray(default_time_years, dtype=float)), np.inf, default_time_years)
    tau = np.asarray(tau, dtype=float)
    mat = float(_in_range("maturity_years", maturity_years, 0.0, 1e3, lo_open=True))
    if np.any(tau < 0):
        raise CreditInputError(f"default_time_years={float(np.min(tau))!r} must be >= 0")
    d = tau <= mat
    figs = path_credit_figures(d, loss_cny, ead_cny)
    loss = np.asarray(loss_cny, dtype=float)
    ead = np.asarray(ead_cny, dtype=float)
    if (borrower_pd_1y is None) == (rating is None):
        raise CreditInputError("borrower_pd_1y and rating: give exactly one")
    p1 = float(borrower_pd_1y) if borrower_pd_1y is not None else pd_from_rating(str(rating))
    width = float(_in_range("period_years", period_years, 0.0, 1e3, lo_open=True))
    n_per = max(1, math.ceil(mat / width - 1e-9))
    ends = np.minimum(width * np.arange(1, n_per + 1), mat)
    ends[-1] = mat
    k = np.searchsorted(ends, tau[d], side="left")
    n = tau.size
    counts = np.bincount(k, minlength=n_per).astype(float)
    loss_k = np.bincount(k, weights=loss[d], minlength=n_per)
    ead_k = np.bincount(k, weights=ead[d], minlength=n_per)
    with np.errstate(invalid="ignore", divide="ignore"):
        lgd_k = np.where(ead_k > 0, loss_k / np.where(ead_k > 0, ead_k, 1.0), 0.0)
        ead_mean_k = np.where(counts > 0, ead_k / np.where(counts > 0, counts, 1.0), 0.0)
    ecl = expected_credit_loss(ends, counts / n, np.clip(lgd_k, 0.0, 1.0), ead_mean_k, eir)
    now = figs.pd_lifetime
    stage = ifrs9_stage(
        now,
        now if pd_lifetime_at_origination is None else pd_lifetime_at_origination,
        days_past_due=days_past_due,
        defaulted=defaulted,
        coverage=coverage,
        maintenance_ratio=maintenance_ratio,
    )
    if figs.n_defaults:
        lgd_irb, source, ead_irb = figs.lgd_exposure_weighted, "paths", figs.ead_cny
    else:
        lgd_irb, source = FOUNDATION_LGD_SENIOR_UNSECURED, "foundation 45 % (no path defaults)"
        ead_irb = float(exposure_cny)
    irb = irb_corporate(p1, lgd_irb, ead_irb, mat, pd_floor=pd_floor)
    std = standardised_corporate(
        exposure_cny,
        standardised_category,
        capital_ratio=capital_ratio,
        collateral_cny=collateral_cny,
        collateral_kind=collateral_kind,
    )
    return LoanCreditFigures(figs, ecl, stage, irb, std, source)
