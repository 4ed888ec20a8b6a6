"""The catalogue: every portfolio-file key, project key and command-line quantity, declared once.

Each :class:`~carbonrisk.models.validation.Quantity` carries its type, unit, default, valid range and a one-line
description; the TOML readers and the command line check values through it (:func:`carbonrisk.models.validation.check`,
:func:`carbonrisk.models.validation.argparse_type`), so a file key and the flag that overrides it share one rule, and
:func:`declared_quantities` lists them for generated reference documentation.

Names are the key paths of the portfolio file (``portfolio.n_paths``, ``projects.start_year``); ``also`` lists the
other places that read the same quantity (command-line options, keys of project or contract files).

Ranges that are a choice of ours rather than a law of the domain, and why:

* ``portfolio.n_paths`` 100 .. 10 000 000: tail metrics of fewer paths are meaningless; 10 million paths of the
  bank book take about 36 GiB (README, 3.6 GiB at 1 million), so larger runs are refused before the memory check.
* seeds 0 .. 2**63 - 1: the run ledger stores the seed as a signed 64-bit SQLite integer.
* Monte Carlo paths of ``simulate``, ``value`` and ``reductions risk`` 1 .. 1 000 000 000; the memory estimate
  (:mod:`carbonrisk.models.memory`) refuses what the machine cannot hold.
* ``projects.start_year`` 2021 .. 2060, ``projects.life_years`` 1 .. 50 and the last season
  (``start_year + life_years - 1``) at most 2070: the emission-factor trajectories cover 2021-2060 (anchored at
  the 2022 bases and doc 001's 2060 values) and are extrapolated outside it: a start in 1850 gives 4 355 tCO2/MWh,
  the dynamic heat factor of 2000 is 2.9 times the 2022 one, and the linear heat factor falls below zero in 2076.
  A geothermal doublet runs 20-30 years; 50 leaves room for re-drilled ones.
"""

from __future__ import annotations

from carbonrisk.models.catalog import DEFAULT_DIST, DEFAULT_MODEL, MODEL_NAMES
from carbonrisk.models.garch import DISTRIBUTIONS, MIN_FIT_OBS, PERSISTENCE_POLICIES
from carbonrisk.models.grid import MAX_HORIZON_YEARS
from carbonrisk.models.scenarios import SCENARIOS
from carbonrisk.models.validation import Quantity

__all__ = [
    "MAX_SEED",
    "MC_PATHS",
    "PORTFOLIO_CONTRACTS_FILE",
    "PORTFOLIO_HORIZON_YEARS",
    "PORTFOLIO_N_PATHS",
    "PORTFOLIO_POSITIONS_FILE",
    "PORTFOLIO_SEED",
    "PORTFOLIO_VALUATION_DATE",
    "PROJECT_HURDLE_RATE",
    "PROJECT_LIFE_YEARS",
    "PROJECT_START_YEAR",
    "REDUCTIONS_RISK_PATHS",
    "SEED",
    "SIMULATE_HORIZON",
    "SIMULATE_PATHS",
    "declared_quantities",
    "quantity",
]

MAX_SEED: int = 2**63 - 1
"""Largest seed: the ledger stores seeds as signed 64-bit SQLite integers."""
_INF = None
_SHARE = {"low": 0.0, "high": 1.0}
_RATE = {"low": -0.05, "high": 0.5}
_ASSETS = ("CEA", "CCER")

# --- [portfolio] -------------------------------------------------------------------------------------------------
PORTFOLIO_NAME = Quantity("portfolio.name", "str", "-", None, description="name of the book, shown in the report",
                          free_text="any text (required)")  # fmt: skip
PORTFOLIO_HORIZON_YEARS = Quantity(
    "portfolio.horizon_years", "int", "years", 20, 1, MAX_HORIZON_YEARS,
    description="years simulated after the valuation date (the last close of the price history)",
)  # fmt: skip
PORTFOLIO_N_PATHS = Quantity(
    "portfolio.n_paths", "int", "paths", 2000, 100, 10_000_000,
    description="Monte Carlo paths of the joint run", also=("report --paths", "demo --paths"),
)  # fmt: skip
PORTFOLIO_SEED = Quantity(
    "portfolio.seed", "int", "-", 20241031, 0, MAX_SEED,
    description="seed of the run (same seed, same numbers on any machine)", also=("report --seed", "demo --seed"),
)  # fmt: skip
PORTFOLIO_VALUATION_DATE = Quantity(
    "portfolio.valuation_date", "date", "-", None,
    description="valuation date (market data up to it are used); default: the last date of the price history",
    free_text="a date YYYY-MM-DD after the price history's second close",
)  # fmt: skip

PORTFOLIO_POSITIONS_FILE = Quantity(
    "portfolio.positions_file", "str", "-", None,
    description="CSV or XLSX file of positions, one a row, the [[positions]] keys as columns (after the tables)",
    free_text="a .csv / .xlsx path (relative to the portfolio file)",
)  # fmt: skip
PORTFOLIO_CONTRACTS_FILE = Quantity(
    "portfolio.contracts_file", "str", "-", None,
    description="CSV or XLSX file of contracts, one a row, the [[contracts]] keys as columns (after the tables)",
    free_text="a .csv / .xlsx path (relative to the portfolio file)",
)  # fmt: skip

# --- [market] ----------------------------------------------------------------------------------------------------
MARKET_PRICES = Quantity("market.prices", "str", "-", "cea", description="price history; its last date is the "
                         "valuation date", free_text="cea, hbea or a CSV / XLSX path")  # fmt: skip
MARKET_MODEL = Quantity("market.model", "str", "-", DEFAULT_MODEL, description="price model", choices=MODEL_NAMES)
MARKET_DIST = Quantity("market.dist", "str", "-", DEFAULT_DIST,
                       description="innovation law (normal for ou and egarch)", choices=DISTRIBUTIONS)  # fmt: skip
MARKET_POLICY = Quantity("market.persistence_policy", "str", "-", "variance-target",
                         description="what to do with a fit on the stationarity boundary",
                         choices=PERSISTENCE_POLICIES)  # fmt: skip
MARKET_SCENARIO = Quantity("market.scenario", "str", "-", "mid", description="long-run trend of the median price",
                           free_text=f"{', '.join(SCENARIOS)}, none or a CSV year,price_cny_per_t")  # fmt: skip
MARKET_DISCOUNT_RATE = Quantity("market.discount_rate", "float", "1/year", 0.02, **_RATE,  # type: ignore[arg-type]
                                description="flat CNY rate, continuously compounded, Actual/365 Fixed")  # fmt: skip
MARKET_CCER_DISCOUNT = Quantity("market.ccer_discount", "float", "fraction", None, 0.0, 1.5, low_inclusive=False,
                                description="CCER / CEA price ratio at the start (default 70 / 89.66)")  # fmt: skip

MARKET_CCER_SPOT = Quantity("market.ccer_spot", "float", "CNY/t", 70.0, 0.0, 10_000.0, low_inclusive=False,
                            description="CCER price at the start (document 003: about 70 CNY/t)")  # fmt: skip
MARKET_CCER_ADV_T = Quantity("market.ccer_adv_t", "float", "t/day", None, 0.0, None, low_inclusive=False,
                             description="CCER market depth for pledge loans on CCER (default 22 432 t/day: "
                             "document 003's 9.2194 Mt over 411 trading days)")  # fmt: skip
MARKET_CCER_PRICES = Quantity("market.ccer_prices", "str", "-", None, description="CCER price history; the "
                              "CEA/CCER basis is fitted on it", free_text="a CSV / XLSX path")  # fmt: skip
MARKET_ANCHOR_YEARS = Quantity("market.anchor_years", "float", "years", 1.0, 0.0, 35.0,
                               description="years up to which the expected CEA price follows the forward")  # fmt: skip
MARKET_GLIDE_YEARS = Quantity("market.glide_years", "float", "years", 2.0, 0.0, 35.0, low_inclusive=False,
                              description="years over which the median then glides onto the scenario")  # fmt: skip
MARKET_FINANCING_RATE = Quantity("market.financing_rate", "float", "1/year", None, **_RATE,  # type: ignore[arg-type]
                                 description="carry of the CEA forward (default: discount_rate)")  # fmt: skip
MARKET_CONVENIENCE_YIELD = Quantity("market.convenience_yield", "float", "1/year", 0.0, -0.5, 0.5,
                                    description="convenience yield of the CEA forward")  # fmt: skip
MARKET_FORWARDS = Quantity("market.forwards", "str", "-", None, description="quoted CEA forwards, replacing the "
                           "carry forward", free_text='a table "YYYY-MM-DD" = CNY/t')  # fmt: skip

# --- [[positions]] -----------------------------------------------------------------------------------------------
POSITION_NAME = Quantity("positions.name", "str", "-", None, description="name of the inventory",
                         free_text="any text (required)")  # fmt: skip
POSITION_ASSET = Quantity("positions.asset", "str", "-", None, description="asset held", choices=_ASSETS)
POSITION_QUANTITY = Quantity("positions.quantity_t", "float", "t", None, 0.0, _INF, low_inclusive=False,
                             description="tonnes held (required)")  # fmt: skip
POSITION_COST = Quantity("positions.cost_cny_per_t", "float", "CNY/t", 0.0, 0.0, _INF,
                         description="purchase cost per tonne (shown, not used in the P&L)")  # fmt: skip

# --- [[obligations]] ---------------------------------------------------------------------------------------------
OBLIGATION_NAME = Quantity("obligations.name", "str", "-", None, description="name of the compliance year",
                           free_text="any text (required)")  # fmt: skip
OBLIGATION_YEAR = Quantity("obligations.year", "int", "year", None, 2021, 2060,
                           description="compliance year (within the horizon)")  # fmt: skip
OBLIGATION_EMISSIONS = Quantity("obligations.emissions_t", "float", "t", None, 0.0, _INF, low_inclusive=False,
                                description="verified emissions of the year")  # fmt: skip
OBLIGATION_FREE = Quantity("obligations.free_allocation_t", "float", "t", None, 0.0, _INF,
                           description="free allowances received")  # fmt: skip
MAX_CCER_OFFSET_SHARE = 0.05
OBLIGATION_CCER_SHARE = Quantity("obligations.ccer_share", "float", "fraction", MAX_CCER_OFFSET_SHARE, 0.0,
                                 MAX_CCER_OFFSET_SHARE,
                                 description="share of emissions surrendered as CCERs (ETS cap 5 %)")  # fmt: skip
OBLIGATION_HEDGED = Quantity("obligations.hedged_t", "float", "t", 0.0, 0.0, _INF,
                             description="tonnes bought forward outside the book (at most the shortfall)")  # fmt: skip
OBLIGATION_HEDGE_PRICE = Quantity("obligations.hedge_price_cny_per_t", "float", "CNY/t", 0.0, 0.0, _INF,
                                  description="price of the forward purchase (required with hedged_t > 0)")  # fmt: skip
OBLIGATION_HEDGES = Quantity("obligations.hedges", "list", "-", (), free_text="a list of contract names of the book",
                             description="contracts that hedge the obligation (their value on the compliance date "
                             "nets the hedged cost; not with hedged_t)")  # fmt: skip

# --- [[projects]] and project files --------------------------------------------------------------------------------
PROJECT_NAME = Quantity("projects.name", "str", "-", None, description="name of the project (unique)",
                        free_text="any text (required)")  # fmt: skip
PROJECT_TEMPLATE = Quantity("projects.template", "str", "-", "hebei", description="template the project starts from",
                            choices=("hebei", "basin"))  # fmt: skip
PROJECT_FILE = Quantity("projects.file", "str", "-", None, description="a project TOML file instead of a template",
                        free_text="a path relative to the portfolio file")  # fmt: skip
PROJECT_BASIN = Quantity("projects.basin", "str", "-", None, description="basin of Table 1 (doc 000), template basin",
                         free_text="a basin name of Table 1")  # fmt: skip
PROJECT_START_YEAR = Quantity(
    "projects.start_year", "int", "year", 2026, 2021, 2060,
    description="first heating season (default 2026 for a basin, the file's or 2021 for hebei; a project that "
    "started before the valuation date is operating, one that ended before it is refused)",
    also=("project file start_year",),
)  # fmt: skip
PROJECT_LIFE_YEARS = Quantity("projects.life_years", "int", "years", 20, 1, 50,
                              description="operating years (project files; the Hebei case runs 2021-2040)",
                              also=("project file life_years",))  # fmt: skip
PROJECT_LAST_YEAR = Quantity("projects.last_season", "int", "year", None, 2021, 2070,
                             description="start_year + life_years - 1, the last heating season (derived, not a key)",
                             also=("project file start_year + life_years - 1",))  # fmt: skip
PROJECT_AREA = Quantity("projects.area_m2", "float", "m2", None, 0.0, _INF, low_inclusive=False,
                        description="heated floor area (default: the template's)")  # fmt: skip
PROJECT_CAPEX = Quantity("projects.capex_cny", "float", "CNY", None, 0.0, _INF, low_inclusive=False,
                         description="total investment (default: the template's, scaled with the area)")  # fmt: skip
PROJECT_TARIFF = Quantity("projects.heat_tariff_cny_per_mwh", "float", "CNY/MWh", 200.0, 0.0, _INF,
                          description="heat sales tariff")  # fmt: skip
PROJECT_HURDLE_RATE = Quantity("projects.hurdle_rate", "float", "1/year", None, -0.05, 0.5,
                               description="hurdle rate of the investment NPV (continuously compounded; default "
                               "the curve plus 6 %)")  # fmt: skip
PROJECT_SCENARIO = Quantity("projects.scenario", "str", "-", "mid", description="emission-factor / price scenario",
                            choices=SCENARIOS)  # fmt: skip

# --- [[contracts]] -----------------------------------------------------------------------------------------------
CONTRACT_TYPE = Quantity("contracts.type", "str", "-", None, description="instrument type (keys: its class fields)",
                         free_text="an instrument type of `carbonrisk value` files")  # fmt: skip
CONTRACT_PROJECT = Quantity("contracts.project", "str", "-", None,
                            description="project whose per-path credits and heat cash flows feed a project_loan",
                            free_text="the name of a [[projects]] table")  # fmt: skip

# --- [limits] ----------------------------------------------------------------------------------------------------
LIMIT_VAR = Quantity("limits.var_99_10d_cny", "float", "CNY", None, 0.0, _INF, low_inclusive=False,
                     description="limit on the 99 % 10-day VaR")  # fmt: skip
LIMIT_ES = Quantity("limits.es_99_1y_cny", "float", "CNY", None, 0.0, _INF, low_inclusive=False,
                    description="limit on the 99 % 1-year ES")  # fmt: skip
LIMIT_LTV = Quantity("limits.ltv_max", "float", "fraction", None, 0.0, 1.0, low_inclusive=False,
                     high_inclusive=False, description="largest loan-to-value of a pledge loan")  # fmt: skip
LIMIT_POSITION_CEA = Quantity("limits.position_t.CEA", "float", "t", None, 0.0, _INF, low_inclusive=False,
                              description="largest CEA inventory")  # fmt: skip
LIMIT_POSITION_CCER = Quantity("limits.position_t.CCER", "float", "t", None, 0.0, _INF, low_inclusive=False,
                               description="largest CCER inventory")  # fmt: skip

# --- books: every component's ``book`` and [books.NAME.limits] ---------------------------------------------------
_BOOK_TEXT = "1-40 letters, digits, '-' or '_', starting with a letter or digit (it names the book's folder)"


def _book(table: str) -> Quantity:
    return Quantity(f"{table}.book", "str", "-", "main", free_text=_BOOK_TEXT,
                    description="book of the component: the report is written per book (default: the one book "
                    "'main')")  # fmt: skip


BOOK = _book("positions")
OBLIGATION_BOOK = _book("obligations")
PROJECT_BOOK = _book("projects")
CONTRACT_BOOK = _book("contracts")
LEVERS_BOOK = Quantity("levers.book", "str", "-", None, free_text="a book that holds a project",
                       description="book whose projects the levers are compared on (default: all)")  # fmt: skip

# --- [levers] ----------------------------------------------------------------------------------------------------
LEVERS: tuple[Quantity, ...] = (
    *(
        Quantity(f"levers.{key}", "float", unit, default, **bounds, description=text)
        for key, unit, default, bounds, text in (
            ("forward_share", "fraction", 0.5, _SHARE, "share of credits sold forward"),
            ("prepaid_share", "fraction", 0.5, _SHARE, "share of credits sold by prepaid forward"),
            ("prepaid_discount", "fraction", 0.10, _SHARE, "discount of the prepaid forward to the forward price"),
            ("delivery_penalty", "fraction", 0.10, _SHARE, "penalty per undelivered tonne, share of the price"),
            (
                "floor_strike_cny_per_t",
                "CNY/t",
                None,
                {"low": 0.0, "high": None, "low_inclusive": False},
                "strike of the sold floor (default: the forward price)",
            ),
            ("floor_share", "fraction", 1.0, _SHARE, "share of credits under the floor"),
            ("pledge_ltv", "fraction", 0.5, _SHARE, "loan-to-value of the pledge of future credits"),
            ("pledge_rate", "1/year", 0.045, _RATE, "rate of the pledge loan"),
            ("loan_share_of_capex", "fraction", 0.5, _SHARE, "CCER-linked loan as a share of capex"),
            ("loan_rate", "1/year", 0.045, _RATE, "rate of the CCER-linked loan"),
        )
    ),
    Quantity("levers.loan_tenor_years", "int", "years", 10, 1, 30, description="tenor of the CCER-linked loan"),
)

# --- contract files ([simulation]) and command-line quantities ---------------------------------------------------
SEED = Quantity(
    "simulation.seed", "int", "-", None, 0, MAX_SEED,
    description="seed of a contract file's Monte Carlo (default: fresh entropy) and of the other commands",
    also=("value --seed", "simulate --seed", "reductions risk --seed"),
)  # fmt: skip
MC_PATHS = Quantity(
    "simulation.paths", "int", "paths", 20_000, 1, 1_000_000_000,
    description="Monte Carlo paths of a contract file (value)", also=("value --paths",),
)  # fmt: skip
SIMULATE_PATHS = Quantity("simulate --paths", "int", "paths", 10_000, 1, 1_000_000_000,
                          description="price paths simulated")  # fmt: skip
SIMULATE_HORIZON = Quantity("simulate --horizon", "horizon", "years", "1y", 0.0, MAX_HORIZON_YEARS,
                            low_inclusive=False, description="horizon: 250d (trading days), 6m, 20y")  # fmt: skip
WORKERS = Quantity("--workers", "int", "processes", None, 1, 256,
                   description="processes of a local Dask cluster (report, demo, simulate, value)")  # fmt: skip
BLOCKS_PER_TASK = Quantity("--blocks-per-task", "int", "blocks", 1, 1, 100_000,
                           description="4096-path blocks per task (never changes a number)")  # fmt: skip
BACKTEST_WINDOW = Quantity("backtest --window", "int", "returns", 500, MIN_FIT_OBS, None,
                           description="estimation window of the walk-forward backtest")  # fmt: skip
BACKTEST_REFIT = Quantity("backtest --refit", "int", "trading days", 20, 1, None,
                          description="trading days between refits")  # fmt: skip
PERSISTENCE_CAP = Quantity("fit --cap", "float", "fraction", 0.99, 0.0, 1.0, low_inclusive=False,
                           high_inclusive=False, description="persistence the policy scales a boundary fit to",
                           also=("simulate --cap", "backtest --cap"))  # fmt: skip
TABLE1_PRICE = Quantity("reductions table1 --price", "float", "CNY/t", 60.0, 0.0, 10_000.0,
                        description="carbon price of the Table 1 revenue column")  # fmt: skip
RUNS_LIMIT = Quantity("runs list --limit", "int", "runs", None, 1, None, description="show only the newest N runs")
REDUCTIONS_RISK_PATHS = Quantity("reductions risk --paths", "int", "paths", 2000, 1, 1_000_000_000,
                                 description="Monte Carlo paths of the project risk")  # fmt: skip


def declared_quantities() -> list[Quantity]:
    """Every declared quantity, in catalogue order (for generated reference documentation)."""
    return [v for v in globals().values() if isinstance(v, Quantity)] + list(LEVERS)


def quantity(name: str) -> Quantity:
    """The declaration called ``name`` (``KeyError`` if none)."""
    for q in declared_quantities():
        if q.name == name:
            return q
    raise KeyError(name)
