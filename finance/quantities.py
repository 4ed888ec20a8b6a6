"""The instrument catalogue: every field of every instrument table, declared once.

An instrument table (``[[instrument]]`` of a ``carbonrisk value`` contract file, ``[[contracts]]`` of a portfolio
file) takes the fields of its class in :mod:`carbonrisk.finance.instruments`; each field is declared here as a
:class:`~carbonrisk.models.validation.Quantity` named ``instrument.<type>.<field>`` (``instrument.pledge_loan.ltv``),
and the instruments check their values through these declarations (:func:`check_field`), so the range in a message and
in the generated reference documentation is the same one.

This module sits in ``finance`` and imports only ``models`` (it must not import :mod:`carbonrisk.finance.instruments`,
which imports it).
"""

from __future__ import annotations

from typing import Any

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.validation import Quantity, check

__all__ = [
    "INSTRUMENT_QUANTITIES",
    "MARKET_ADV",
    "MARKET_ASSET_QUANTITIES",
    "MARKET_QUANTITIES",
    "check_field",
    "declared_instrument_quantities",
    "declared_market_quantities",
    "instrument_quantity",
]

_ASSETS = ("CEA", "CCER")
_Spec = dict[str, Any]


def _pos(unit: str, text: str, default: Any = None) -> _Spec:
    return {"type": "float", "unit": unit, "default": default, "low": 0.0, "low_inclusive": False,
            "description": text}  # fmt: skip


def _num(unit: str, text: str, low: float | None, high: float | None, default: Any = None, **open_: bool) -> _Spec:
    return {"type": "float", "unit": unit, "default": default, "low": low, "high": high, "description": text,
            **open_}  # fmt: skip


def _int(unit: str, text: str, low: float | None, high: float | None = None, default: Any = None) -> _Spec:
    return {"type": "int", "unit": unit, "default": default, "low": low, "high": high, "description": text}


def _date(text: str) -> _Spec:
    return {"type": "date", "unit": "-", "default": None, "description": text}


def _choice(choices: tuple[str, ...], text: str, default: Any = None) -> _Spec:
    return {"type": "str", "unit": "-", "default": default, "choices": choices, "description": text}


def _asset(text: str, default: Any = None) -> _Spec:
    return _choice(_ASSETS, text, default)


def _list(unit: str, text: str, rule: str, default: Any = None) -> _Spec:
    return {"type": "list", "unit": unit, "default": default, "free_text": rule, "description": text}


_RATE = (-0.05, 1.0)
_NAME = {"type": "str", "unit": "-", "default": "", "free_text": "any text", "description": "name shown in reports"}
_UNDERLYING = _asset("allowance the contract is written on")
_QUANTITY = _pos("t", "tonnes")
_STRIKE = _pos("CNY/t", "strike price")
_OPTION_TYPE = _choice(("call", "put"), "call or put")
_EXPIRY = _date("expiry date (after the valuation date)")
_AVG_START = _date("first day of the averaging window")
_AVG_END = _date("last day of the averaging window (payment date)")
_PAST = _list("CNY/t", "fixings of the window already observed", "a list of finite prices > 0", ())
_COMMITTED = _pos("CNY/t", "price committed to the counterparty")
_VOLUME = _pos("t", "tonnes covered")

_CREDIT: dict[str, _Spec] = {
    "borrower_pd_1y": _num(
        "fraction", "borrower's one-year PD (constant hazard; or give rating)", 0.0, 1.0, high_inclusive=False
    ),
    "rating": {
        "type": "str",
        "unit": "-",
        "default": None,
        "free_text": "AAA, AA, A, BBB, BB, B or CCC (modifiers + / - allowed), mapped to a one-year PD",
        "description": "borrower's rating (instead of borrower_pd_1y)",
    },
}
"""Borrower credit inputs shared by pledge and project loans (carbonrisk.finance.credit)."""

_COUNTERPARTY: dict[str, _Spec] = {
    "counterparty_pd_1y": _num(
        "fraction",
        "counterparty's one-year PD for the CVA (constant hazard; or give counterparty_rating)",
        0.0,
        1.0,
        high_inclusive=False,
    ),
    "counterparty_rating": {
        "type": "str",
        "unit": "-",
        "default": None,
        "free_text": "AAA, AA, A, BBB, BB, B or CCC (modifiers + / - allowed), mapped to a one-year PD",
        "description": "counterparty's rating for the CVA (instead of counterparty_pd_1y)",
    },
    "counterparty_lgd": _num("fraction", "counterparty's loss given default for the CVA", 0.0, 1.0, 0.6),
}
"""Counterparty credit inputs of the derivatives (carbonrisk.finance.exposure: EPE / PFE profile and CVA)."""

_FIELDS: dict[str, dict[str, _Spec]] = {
    "forward": {
        "underlying": _UNDERLYING,
        "quantity_t": _QUANTITY,
        "strike_cny_per_t": _pos("CNY/t", "forward price agreed"),
        "delivery_date": _date("delivery date (after the valuation date)"),
        "position": _choice(("long", "short"), "long (buys) or short (sells) the allowances", "long"),
        **_COUNTERPARTY,
    },
    "european_option": {
        "underlying": _UNDERLYING,
        "option_type": _OPTION_TYPE,
        "strike_cny_per_t": _STRIKE,
        "expiry": _EXPIRY,
        "quantity_t": _pos("t", "tonnes", 1.0),
        **_COUNTERPARTY,
    },
    "asian_option": {
        "underlying": _UNDERLYING,
        "option_type": _OPTION_TYPE,
        "strike_cny_per_t": _STRIKE,
        "averaging_start": _AVG_START,
        "averaging_end": _AVG_END,
        "quantity_t": _pos("t", "tonnes", 1.0),
        "average": _choice(("arithmetic", "geometric"), "average of the window", "arithmetic"),
        "past_fixings_cny_per_t": _PAST,
        **_COUNTERPARTY,
    },
    "guaranteed_purchase": {
        "underlying": _UNDERLYING,
        "committed_price_cny_per_t": _COMMITTED,
        "volume_t": _VOLUME,
        "averaging_start": _AVG_START,
        "averaging_end": _AVG_END,
        "past_fixings_cny_per_t": _PAST,
        "share_returned": _num("fraction", "share of the upside above the committed price returned", 0.0, 1.0, 0.5),
        **_COUNTERPARTY,
    },
    "guaranteed_sale": {
        "underlying": _UNDERLYING,
        "committed_price_cny_per_t": _COMMITTED,
        "volume_t": _VOLUME,
        "averaging_start": _AVG_START,
        "averaging_end": _AVG_END,
        "past_fixings_cny_per_t": _PAST,
        "upside_share_kept": _num("fraction", "share of the upside above the committed price kept", 0.0, 1.0, 1.0),
        **_COUNTERPARTY,
    },
    "carbon_swap": {
        "underlying": _UNDERLYING,
        "fixed_price_cny_per_t": _pos("CNY/t", "fixed price of the swap"),
        "quantity_t_per_period": _pos("t", "tonnes per period"),
        "start_date": _date("start of the first period"),
        "end_date": _date("end of the last period (after start_date)"),
        "period_months": _int("months", "length of a period (each needs a trading day)", 1, None, 3),
        "position": _choice(("payer", "receiver"), "payer (pays fixed) or receiver", "payer"),
        **_COUNTERPARTY,
    },
    "carbon_swaption": {
        "swap": {
            "type": "table",
            "unit": "-",
            "default": None,
            "free_text": "a carbon_swap table",
            "description": "the swap entered at expiry",
        },
        "expiry": _date("expiry date (not after the swap start_date)"),
        **_COUNTERPARTY,
    },
    "exchange_option": {
        "receive": _asset("allowance received at exercise"),
        "deliver": _asset("allowance delivered at exercise (differs from receive)"),
        "quantity_receive_t": _pos("t", "tonnes received"),
        "quantity_deliver_t": _pos("t", "tonnes delivered"),
        "expiry": _EXPIRY,
        **_COUNTERPARTY,
    },
    "pledge_loan": {
        "collateral": _asset("allowance pledged"),
        "quantity_t": _pos("t", "tonnes pledged"),
        "ltv": _num("fraction", "loan-to-value at inception", 0.0, 1.0, low_inclusive=False, high_inclusive=False),
        "rate": _num("1/year", "loan rate", *_RATE),
        "tenor_years": _pos("years", "tenor of the loan"),
        "maintenance_ratio": _pos(
            "-", "coverage below which a margin call is made (above liquidation_ratio, below 1/ltv)"
        ),
        "liquidation_ratio": _pos("-", "coverage below which the collateral is sold"),
        "monitoring": _choice(("daily", "weekly"), "how often coverage is checked", "daily"),
        "top_up": {
            "type": "str",
            "unit": "-",
            "default": "never",
            "free_text": "always, never, wrong_way (or a table of its parameters) or a probability in [0, 1]",
            "description": "whether the borrower meets a margin call",
        },
        "liquidation_share_of_adv": _num(
            "fraction", "share of the average daily volume sold per day", 0.0, 1.0, 0.1, low_inclusive=False
        ),
        "max_liquidation_days": _int("days", "longest liquidation", 1, None, 20),
        "haircut": _num("fraction", "haircut of the sale price", 0.0, 1.0, 0.05, high_inclusive=False),
        "interest_months": _int("months", "months between interest payments: one of 1, 3, 6, 12", 1, 12, 3),
        "adv_t": _pos("t", "average daily volume (default: from the price history)"),
        "adv_window_days": _int("trading days", "window of the average daily volume", 1, None, 60),
        "target_loss_probability": _num(
            "fraction", "loss probability the LTV is solved for", 0.0, 1.0, low_inclusive=False, high_inclusive=False
        ),
        **_CREDIT,
    },
    "project_loan": {
        "principal_cny": _pos("CNY", "principal"),
        "rate": _num("1/year", "loan rate", *_RATE),
        "start_date": _date("drawdown date"),
        "tenor_years": _int("years", "tenor (a whole number of years)", 1),
        "carbon_volumes_t": _list("t", "credits per year of the tenor", "a list of numbers >= 0, one per year"),
        "other_cash_flows_cny": _list("CNY", "other cash flows per year", "a list of numbers, one per year"),
        "underlying": _asset("allowance the credits are sold as", "CCER"),
        "amortisation": _choice(("equal", "annuity", "sculpted"), "repayment profile", "annuity"),
        "target_dscr": _pos("-", "debt-service coverage a sculpted profile targets", 1.3),
        "reserve_periods": _num("periods", "debt-service reserve", 0.0, 10.0, 0.5),
        "cash_sweep_share": _num("fraction", "share of excess cash swept to repay", 0.0, 1.0, 0.0),
        "recovery_rate": _num("fraction", "recovery at default", 0.0, 1.0, 0.4),
        **_CREDIT,
    },
    "future_credit_monetisation": {
        "first_year": _int("year", "first delivery year", 2000, 2100),
        "issued_volumes_t": _list("t", "credits issued per year", "a list of numbers >= 0"),
        "underlying": _asset("allowance delivered", "CCER"),
        "contract_share": _num("fraction", "share of issued credits sold forward", 0.0, 1.0, 0.8),
        "shortfall_penalty": _num("fraction", "penalty per undelivered tonne, share of the price", 0.0, 10.0, 0.2),
        "issuance_failure_probability": _num("fraction", "yearly probability that issuance fails", 0.0, 1.0, 0.1),
        "buyer_spread": _num("fraction", "discount the buyer takes", 0.0, 1.0, 0.03),
        "floor_cny_per_t": _pos("CNY/t", "price floor", 50.0),
        "pledge_ltv": _num(
            "fraction", "loan-to-value of the pledge", 0.0, 1.0, 0.5, low_inclusive=False, high_inclusive=False
        ),
        "pledge_rate": _num("1/year", "rate of the pledge loan", *_RATE, 0.05),
        "early_years": _int("years", "years of early monetisation", 1, None, 3),
    },
}

# --- carbon financing: repo, lending, custody, quota overdraft (carbonrisk.finance.carbon_financing; issue 18)
# ------------
_TENOR = _pos("years", "term of the contract (Actual/365 from the valuation date)")
_SHARE_ADV = _num("fraction", "share of the average daily volume traded per day", 0.0, 1.0, 0.1, low_inclusive=False)
_LIQ_DAYS = _int("days", "longest liquidation / buy-in", 1, None, 20)
_ADV = _pos("t", "average daily volume (default: from the price history)")
_ADV_WINDOW = _int("trading days", "window of the average daily volume", 1, None, 60)
_ELASTICITY = _num("-", "exponent b of the price-linked hazard h0 (S/F)^b (0: constant hazard)", -5.0, 5.0, 0.0)
_TARGET_LOSS = _num("CNY", "expected net loss (PV of credit losses - PV of income) solved for", -1e13, 1e13)
_RECOVERY = _num("fraction", "recovery on the unsecured claim", 0.0, 1.0, 0.0)
_COLLATERAL = _num("fraction", "cash collateral / market value of the tonnes at inception", 0.0, 10.0, 0.0)
_FEE_RATE = _num("1/year", "fee, simple annual rate on the market value at inception", 0.0, 1.0)
_BUY_IN = _num("fraction", "premium over the close paid when buying in", 0.0, 1.0, 0.0)

_FINANCING_FIELDS: dict[str, dict[str, _Spec]] = {
    "carbon_repo": {
        "asset": _asset("allowance sold and bought back"),
        "quantity_t": _pos("t", "tonnes sold"),
        "haircut": _num("fraction", "haircut: sale price = spot x (1 - haircut)", 0.0, 1.0, high_inclusive=False),
        "repo_rate": _num("1/year", "repo rate (simple, Actual/365)", *_RATE),
        "tenor_years": _TENOR,
        "maintenance_ratio": _pos("-", "coverage (value / amount owed) below which margin is called (< 1/(1-haircut))"),
        "top_up": {
            "type": "str",
            "unit": "-",
            "default": "always",
            "free_text": "always, never, wrong_way (or a table of its parameters) or a probability in [0, 1]",
            "description": "whether the seller meets a margin call (a failed call is an event of default)",
        },
        "liquidation_share_of_adv": _SHARE_ADV,
        "max_liquidation_days": _LIQ_DAYS,
        "sale_discount": _num(
            "fraction", "discount to the close of the close-out sales", 0.0, 1.0, 0.0, high_inclusive=False
        ),
        "adv_t": _ADV,
        "adv_window_days": _ADV_WINDOW,
        "pd_price_elasticity": _ELASTICITY,
        "target_expected_loss_cny": _TARGET_LOSS,
        "side": _choice(("financier", "seller"), "whose value the contract reports", "financier"),
        **_CREDIT,
    },
    "carbon_lending": {
        "asset": _asset("allowance lent"),
        "quantity_t": _pos("t", "tonnes lent"),
        "tenor_years": _TENOR,
        "fee_rate": _FEE_RATE,
        "fee_in": _choice(("cash", "allowances"), "currency of the fee", "cash"),
        "collateral_ratio": _COLLATERAL,
        "recovery_rate": _RECOVERY,
        "buy_in_premium": _BUY_IN,
        "liquidation_share_of_adv": _SHARE_ADV,
        "max_liquidation_days": _LIQ_DAYS,
        "adv_t": _ADV,
        "adv_window_days": _ADV_WINDOW,
        "pd_price_elasticity": _ELASTICITY,
        "target_expected_loss_cny": _TARGET_LOSS,
        "side": _choice(("lender", "borrower"), "whose value the contract reports", "lender"),
        **_CREDIT,
    },
    "carbon_custody": {
        "asset": _asset("allowance in custody"),
        "quantity_t": _pos("t", "tonnes handed to the manager"),
        "tenor_years": _TENOR,
        "lent_share": _num("fraction", "share of the tonnes the manager lends out", 0.0, 1.0, 1.0),
        "lending_fee_rate": _FEE_RATE,
        "guaranteed_return_cny_per_t": _num("CNY/t", "guaranteed return per tonne, paid at the end", 0.0, None),
        "guaranteed_rate": _num("1/year", "guaranteed return, simple annual rate on the value at inception", 0.0, 1.0),
        "borrower_collateral_ratio": _COLLATERAL,
        "borrower_recovery_rate": _RECOVERY,
        "manager_pd_1y": _num("fraction", "asset manager's one-year PD", 0.0, 1.0, 0.0, high_inclusive=False),
        "manager_recovery_rate": _num("fraction", "owner's recovery on the tonnes if the manager fails", 0.0, 1.0, 0.0),
        "buy_in_premium": _BUY_IN,
        "liquidation_share_of_adv": _SHARE_ADV,
        "max_liquidation_days": _LIQ_DAYS,
        "adv_t": _ADV,
        "adv_window_days": _ADV_WINDOW,
        "pd_price_elasticity": _ELASTICITY,
        "side": _choice(("owner", "manager"), "whose value the contract reports", "owner"),
        **_CREDIT,
    },
    "quota_overdraft": {
        "asset": _asset("allowance of the credit line", "CEA"),
        "credit_line_t": _pos("t", "size of the credit line"),
        "drawn_t": _pos("t", "tonnes drawn for the shortfall (at most credit_line_t)"),
        "draw_date": _date("date the tonnes are drawn (on or after the valuation date)"),
        "true_up_date": _date("compliance true-up date (on or after draw_date)"),
        "repay_date": _date("date the tonnes are repaid (after true_up_date)"),
        "overdraft_rate": _num("1/year", "interest in tonnes: repay drawn x (1 + rate x accrual)", 0.0, 1.0),
        "commitment_fee_rate": _num("1/year", "cash fee on the undrawn line x spot, paid upfront", 0.0, 1.0, 0.0),
        "collateral_ratio": _COLLATERAL,
        "recovery_rate": _RECOVERY,
        "buy_in_premium": _BUY_IN,
        "liquidation_share_of_adv": _SHARE_ADV,
        "max_liquidation_days": _LIQ_DAYS,
        "adv_t": _ADV,
        "adv_window_days": _ADV_WINDOW,
        "pd_price_elasticity": _ELASTICITY,
        "target_expected_loss_cny": _TARGET_LOSS,
        "side": _choice(("lender", "entity"), "whose value the contract reports", "lender"),
        **_CREDIT,
    },
}
_FIELDS.update(_FINANCING_FIELDS)
# --- end of carbon financing --------------------------------------------------------------------------------------

# --- structured products: carbon-linked bonds and green structured deposits (issue 18) ----------------------------
_FIELDS.update(
    {
        "structured_deposit": {
            "principal_cny": _pos("CNY", "principal deposited (protected)"),
            "underlying": _UNDERLYING,
            "start_date": _date("value date of the deposit (not before the valuation date); S_0 is its close"),
            "maturity_date": _date("maturity and payment date (after start_date)"),
            "min_rate": _num("1/year", "guaranteed simple annual rate (Actual/365)", 0.0, 1.0),
            "participation": _num("fraction", "share of the underlying's capped return paid", 0.0, 10.0),
            "cap": _num("fraction", "cap on the underlying's return S_T / S_0 - 1", 0.0, 10.0, low_inclusive=False),
            "averaging": _choice(("final", "monthly"), "S_T: the final close or the mean of month-end closes", "final"),
            "position": _choice(("depositor", "bank"), "side valued: the depositor (holder) or the bank", "depositor"),
        },
        "carbon_linked_bond": {
            "face_cny": _pos("CNY", "face value (redeemed at maturity)"),
            "coupon_rate": _num("1/year", "fixed coupon rate", 0.0, 1.0),
            "issue_date": _date("issue date (not before the valuation date)"),
            "maturity_date": _date("maturity date (after issue_date)"),
            "coupon_months": _int("months", "months between coupons: one of 1, 3, 6, 12", 1, 12, 12),
            "day_count": _choice(("ACT/365F", "ACT/ACT"), "day count of the fixed coupons", "ACT/365F"),
            "underlying": _asset("allowance the linked coupon follows", "CCER"),
            "linked_coupon": _choice(
                ("average_price", "project_income"),
                "linked coupon: participation in the period's average price above the strike, or a share of the "
                "project's credit income",
                "average_price",
            ),
            "strike_cny_per_t": _pos("CNY/t", "strike of the average-price link"),
            "participation": _num(
                "fraction", "average-price link: coupon rate per unit of (A / K - 1)", 0.0, 10.0, 0.0
            ),
            "linked_cap_rate": _num(
                "1/year", "cap on the average-price linked coupon rate", 0.0, 1.0, low_inclusive=False
            ),
            "income_share": _num(
                "fraction", "project-income link: share of the period's credit income paid", 0.0, 1.0, 0.0
            ),
            "carbon_volumes_t": _list(
                "t", "project-income link: credits issued per coupon year", "a list of numbers >= 0, one per coupon"
            ),
            "position": _choice(("holder", "issuer"), "side valued: the bondholder or the issuer", "holder"),
        },
    }
)

INSTRUMENT_QUANTITIES: dict[str, dict[str, Quantity]] = {
    kind: {key: Quantity(f"instrument.{kind}.{key}", **spec) for key, spec in {"name": _NAME, **fields}.items()}
    for kind, fields in _FIELDS.items()
}
"""``INSTRUMENT_QUANTITIES[type][field]``: the declaration of one instrument field."""


def instrument_quantity(kind: str, key: str) -> Quantity:
    """The declaration of field ``key`` of instrument type ``kind`` (``KeyError`` if none)."""
    return INSTRUMENT_QUANTITIES[kind][key]


def check_field(kind: str, key: str, value: Any, error: type[InputError] = InputError) -> Any:
    """Check ``value`` of field ``key`` of an instrument of type ``kind`` against its declaration."""
    return check(INSTRUMENT_QUANTITIES[kind][key], value, name=key, error=error)


def declared_instrument_quantities() -> list[Quantity]:
    """Every declared instrument field, by type (for generated reference documentation)."""
    return [q for fields in INSTRUMENT_QUANTITIES.values() for q in fields.values()]


# --- [market] and [market.CEA] / [market.CCER] of contract files -------------------------------------------------
MARKET_VALUATION_DATE = Quantity("contract_file.market.valuation_date", "date", "-", None,
                                 description="valuation date of the contract file (required)")  # fmt: skip
MARKET_DISCOUNT_RATE = Quantity("contract_file.market.discount_rate", "float", "1/year", None, -0.05, 0.5,
                                low_inclusive=False, high_inclusive=False,
                                description="flat continuously compounded zero rate (or discount_quotes)")  # fmt: skip
MARKET_DISCOUNT_QUOTES = Quantity("contract_file.market.discount_quotes", "str", "-", None,
                                  free_text="a CSV file with columns instrument, tenor, rate",
                                  description="deposit / IRS quotes the curve is bootstrapped from")  # fmt: skip
MARKET_CORRELATION = Quantity("contract_file.market.correlation", "float", "-", 0.0, -1.0, 1.0,
                              low_inclusive=False, high_inclusive=False,
                              description="correlation of CEA and CCER log-returns")  # fmt: skip
MARKET_SPOT = Quantity("contract_file.market.<asset>.spot", "float", "CNY/t", None, 0.0, None, low_inclusive=False,
                       description="spot price of the asset (required)")  # fmt: skip
MARKET_VOL = Quantity("contract_file.market.<asset>.vol", "float", "1/sqrt(year)", None, 0.0, None,
                      low_inclusive=False, description="lognormal volatility of the asset (required)")  # fmt: skip
MARKET_FINANCING_RATE = Quantity("contract_file.market.<asset>.financing_rate", "float", "1/year", None,
                                 description="carry financing rate (default: discount_rate or 1y zero)")  # fmt: skip
MARKET_CONVENIENCE_YIELD = Quantity("contract_file.market.<asset>.convenience_yield", "float", "1/year", 0.0,
                                    description="convenience yield of the carry forward curve")  # fmt: skip
MARKET_FORWARDS = Quantity("contract_file.market.<asset>.forwards", "table", "CNY/t", None,
                           free_text="a table date = forward price > 0",
                           description="quoted forward prices (instead of the carry curve)")  # fmt: skip
MARKET_FORWARD_QUOTE = Quantity("contract_file.market.<asset>.forwards[date]", "float", "CNY/t", None, 0.0, None,
                                low_inclusive=False, description="one quoted forward price")  # fmt: skip

MARKET_QUANTITIES: dict[str, Quantity] = {
    q.key: q for q in (MARKET_VALUATION_DATE, MARKET_DISCOUNT_RATE, MARKET_DISCOUNT_QUOTES, MARKET_CORRELATION)
}
"""Keys of a contract file's ``[market]`` table."""
MARKET_ADV = Quantity("contract_file.market.<asset>.adv_t", "float", "t/day", None, 0.0, None, low_inclusive=False,
                     description="market depth: average daily traded volume of the asset (CCER default 22 432 t/day, "
                     "document 003; CEA default: the embedded history's volumes)")  # fmt: skip

MARKET_ASSET_QUANTITIES: dict[str, Quantity] = {
    q.key: q
    for q in (MARKET_SPOT, MARKET_VOL, MARKET_FINANCING_RATE, MARKET_CONVENIENCE_YIELD, MARKET_FORWARDS, MARKET_ADV)
}
"""Keys of a contract file's ``[market.CEA]`` / ``[market.CCER]`` tables."""


def declared_market_quantities() -> list[Quantity]:
    """Every declared key of a contract file's market tables (for generated reference documentation)."""
    return [*MARKET_QUANTITIES.values(), *MARKET_ASSET_QUANTITIES.values(), MARKET_FORWARD_QUOTE]
