"""The portfolio file (TOML): market and model, positions, compliance obligations, contracts, projects, limits, levers.

Every key is validated; errors name the file, the key path and its line, and suggest the closest valid key (see
:mod:`carbonrisk.portfolios.tomlconfig`). The full format, with an example, is in README.md; the embedded demo portfolio
is ``portfolios/data/demo_portfolio.toml``.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from carbonrisk.finance.contracts import instrument_from_dict
from carbonrisk.finance.instruments import CarbonLinkedBond, Instrument
from carbonrisk.finance.linking import is_project_linked
from carbonrisk.finance.revaluation import has_closed_form
from carbonrisk.models import quantities as Q
from carbonrisk.models.catalog import DEFAULT_DIST, DEFAULT_MODEL, default_dist
from carbonrisk.models.data import PriceHistory, load_prices
from carbonrisk.models.exceptions import CarbonRiskError, CarbonRiskWarning
from carbonrisk.models.geothermal import Project, basin_portfolio, hebei_project, load_project
from carbonrisk.models.scenarios import SCENARIOS, ScenarioCurve, load_scenario
from carbonrisk.models.validation import check
from carbonrisk.portfolios.exceptions import InputError
from carbonrisk.portfolios.sheets import SUFFIXES, row_sections
from carbonrisk.portfolios.tomlconfig import Section, load_toml, parse_toml

__all__ = [
    "CEA_HOLDING_PORTFOLIO",
    "DEFAULT_BOOK",
    "DEFAULT_CCER_SPOT",
    "DEFAULT_HURDLE_SPREAD",
    "DEMO_PORTFOLIO",
    "ContractSpec",
    "Levers",
    "Limits",
    "MarketData",
    "MarketSpec",
    "Obligation",
    "Portfolio",
    "Position",
    "ProjectSpec",
    "embedded_portfolio",
    "load_portfolio",
    "portfolio_from_text",
]

DEMO_PORTFOLIO = "demo_portfolio.toml"
CEA_HOLDING_PORTFOLIO = "cea_holding.toml"
"""``carbonrisk demo --cea-holding``: 1 000 000 t CEA for one year (the former walking skeleton, on the engine)."""
DEFAULT_BOOK: str = str(Q.BOOK.default)
"""Book of a component without a ``book`` key (a file without any is one book, reported as before)."""
BOOK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
"""A book name: it names the book's folder in the report, so no spaces, dots or slashes."""
ASSETS = ("CEA", "CCER")
MIN_PATHS = int(Q.PORTFOLIO_N_PATHS.low or 100)
"""Fewest paths a portfolio run accepts (tail metrics of fewer paths are meaningless)."""
MAX_CCER_OFFSET_SHARE = Q.MAX_CCER_OFFSET_SHARE
"""National ETS rule: CCERs may cover at most 5 % of a compliance obligation (DOMAIN.md section 1)."""
DEFAULT_CCER_SPOT = 70.0
"""CCER price at the start without a quote, CNY/t: the average price of the CCER market so far (document 003:
9.2194 Mt traded for 650 million CNY, about 70 CNY/t)."""


@dataclass(frozen=True)
class MarketSpec:
    """Price history, model, scenario and discounting of the run."""

    prices: str = "cea"
    model: str = DEFAULT_MODEL
    dist: str = DEFAULT_DIST
    persistence_policy: str = "variance-target"
    scenario: str | None = "mid"
    discount_rate: float = 0.02
    ccer_discount: float | None = None
    """Deprecated: CCER / CEA price ratio at the start; ``ccer_spot`` replaces it (giving both is refused)."""
    ccer_spot: float | None = None
    """CCER price at the start, CNY/t (default :data:`DEFAULT_CCER_SPOT`, or the last close of ``ccer_prices``)."""
    ccer_prices: str | None = None
    """A CCER price history (CSV / XLSX); when given, the CEA/CCER basis is fitted on it (``fit_basis``)."""
    ccer_adv_t: float | None = None
    """CCER market depth, t/day, for pledge loans on CCER without their own ``adv_t`` (default
    :data:`carbonrisk.finance.loans.CCER_ADV_T`, document 003)."""
    anchor_years: float = 1.0
    """Years up to which the expected CEA price follows the market forward (:mod:`carbonrisk.models.drift`)."""
    glide_years: float = 2.0
    """Years over which the median then glides onto the scenario curve."""
    financing_rate: float | None = None
    """Carry of the CEA forward, continuously compounded per year (default: ``discount_rate``)."""
    convenience_yield: float = 0.0
    """Convenience yield of the CEA forward, per year."""
    forwards: tuple[tuple[str, float], ...] = ()
    """Quoted CEA forwards ``(ISO date, CNY/t)``; when given they replace the carry forward."""


@dataclass(frozen=True)
class Position:
    """An inventory of allowances or credits."""

    name: str
    asset: str
    quantity_t: float
    cost_cny_per_t: float
    book: str = DEFAULT_BOOK


@dataclass(frozen=True)
class Obligation:
    """A compliance year of an emitter that is short allowances.

    ``shortfall = emissions - free allocation`` is surrendered at the end of ``year``: up to ``ccer_share`` of the
    emissions (at most 5 %) with CCERs, the rest with CEAs. Its hedge is either ``hedges``, the names of the
    book's contracts that hedge it (their value on the compliance date is netted from the hedged compliance cost;
    their risk is in the VaR as the contracts'), or ``hedged_t`` tonnes bought forward at ``hedge_price_cny_per_t``
    outside the book (then part of the obligation's own value: the hedged tonnes cost the fixed price), never both.
    """

    name: str
    year: int
    emissions_t: float
    free_allocation_t: float
    ccer_share: float
    hedged_t: float
    hedge_price_cny_per_t: float
    hedges: tuple[str, ...] = ()
    book: str = DEFAULT_BOOK

    @property
    def shortfall_t(self) -> float:
        """Allowances to buy: emissions minus free allocation (>= 0)."""
        return max(self.emissions_t - self.free_allocation_t, 0.0)


@dataclass(frozen=True)
class ContractSpec:
    """A contract from the valuation layer, optionally linked to a project (CCER-linked project loans)."""

    name: str
    instrument: Instrument
    project: str | None = None
    """A project of any book: the link works across books (the joint run values both on the same paths)."""
    book: str = DEFAULT_BOOK


DEFAULT_HURDLE_SPREAD: float = 0.06
"""Default spread of a project's hurdle rate over the market curve (8 % with the demo's 2 % curve: an equity
return a developer would ask of a geothermal heating project; set ``hurdle_rate`` per project to change it)."""


@dataclass(frozen=True)
class ProjectSpec:
    """A geothermal project and what it sells besides carbon credits."""

    name: str
    project: Project
    heat_tariff_cny_per_mwh: float
    hurdle_rate: float | None = None
    """Rate (continuously compounded, annual) at which the investment NPV is also shown: the market curve plus the
    spread ``hurdle_rate - market.discount_rate``; ``None``: the curve plus :data:`DEFAULT_HURDLE_SPREAD`."""
    book: str = DEFAULT_BOOK

    def hurdle_spread(self, discount_rate: float) -> float:
        """Spread over the market curve of the hurdle-rate NPV."""
        return DEFAULT_HURDLE_SPREAD if self.hurdle_rate is None else self.hurdle_rate - discount_rate


@dataclass(frozen=True)
class Limits:
    """Risk limits; ``None`` means not set. VaR/ES limits are positive CNY amounts."""

    var_99_10d_cny: float | None = None
    es_99_1y_cny: float | None = None
    ltv_max: float | None = None
    position_t: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Levers:
    """The early-monetisation and financing levers compared in the mismatch table."""

    forward_share: float = 0.5
    prepaid_share: float = 0.5
    prepaid_discount: float = 0.10
    delivery_penalty: float = 0.10
    floor_strike_cny_per_t: float | None = None
    floor_share: float = 1.0
    pledge_ltv: float = 0.5
    pledge_rate: float = 0.045
    loan_share_of_capex: float = 0.5
    loan_rate: float = 0.045
    loan_tenor_years: int = 10


@dataclass(frozen=True)
class MarketData:
    """The price history up to the valuation date and the valuation date, as read for ``prices`` and the requested
    ``valuation_date`` (a portfolio whose ``market.prices`` or ``valuation_date`` is changed afterwards reads its
    history again)."""

    prices: str
    requested_date: pd.Timestamp | None
    history: PriceHistory
    valuation_date: pd.Timestamp
    scenario_name: str | None = None
    scenario: ScenarioCurve | None = None
    """The ``[market] scenario`` curve, read and checked against the valuation date once."""

    def matches(self, portfolio: Portfolio) -> bool:
        """Whether these data are ``portfolio``'s (same price source, requested valuation date and scenario)."""
        return (
            self.prices == portfolio.market.prices
            and self.requested_date == portfolio.valuation_date
            and self.scenario_name == portfolio.market.scenario
        )


@dataclass(frozen=True)
class Portfolio:
    """A validated portfolio file."""

    name: str
    horizon_years: int
    n_paths: int
    seed: int
    market: MarketSpec
    positions: tuple[Position, ...]
    obligations: tuple[Obligation, ...]
    contracts: tuple[ContractSpec, ...]
    projects: tuple[ProjectSpec, ...]
    limits: Limits
    levers: Levers
    source: str
    text: str
    referenced_files: dict[str, str] = field(default_factory=dict)
    base_dir: str = "."
    """Folder that relative paths in the file resolve against."""
    valuation_date: pd.Timestamp | None = None
    """``[portfolio] valuation_date``: market data up to it are used; ``None``: the price history's last date."""
    book_limits: dict[str, Limits] = field(default_factory=dict)
    """``[books.NAME.limits]``: each book's own limits (:mod:`carbonrisk.portfolios.books`)."""
    levers_book: str | None = None
    """``[levers] book``: the one book whose projects the levers are compared on (``None``: every book's)."""

    @property
    def books(self) -> tuple[str, ...]:
        """The books of the components, in order of first appearance (positions, obligations, projects,
        contracts); ``(DEFAULT_BOOK,)`` for a file without components (:mod:`carbonrisk.portfolios.books`)."""
        parts: tuple[Position | Obligation | ProjectSpec | ContractSpec, ...] = (
            *self.positions,
            *self.obligations,
            *self.projects,
            *self.contracts,
        )
        found = [x.book for x in parts]
        return tuple(dict.fromkeys(found)) or (DEFAULT_BOOK,)

    market_data: MarketData | None = field(default=None, compare=False, repr=False)
    """The price history up to the valuation date and the valuation date, read and checked once when the file is
    parsed (:func:`market_history` returns them; ``None`` for a portfolio built by hand: read on first use)."""

    def with_run(self, n_paths: int | None = None, seed: int | None = None) -> Portfolio:
        """The same portfolio with the path count and / or seed overridden (command-line options)."""
        if n_paths is not None:
            check(Q.PORTFOLIO_N_PATHS, n_paths, name="n_paths")
        if seed is not None:
            check(Q.PORTFOLIO_SEED, seed, name="seed")
        return dataclasses.replace(
            self,
            n_paths=self.n_paths if n_paths is None else n_paths,
            seed=self.seed if seed is None else seed,
        )


_TOP = ("portfolio", "market", "positions", "obligations", "contracts", "projects", "limits", "levers", "books")


def _book(section: Section) -> str:
    """The component's ``book`` (:data:`DEFAULT_BOOK` when absent), a name that can name a folder."""
    name = section.string("book", DEFAULT_BOOK)
    if not BOOK_NAME.fullmatch(name):
        raise section.error("book", f"= {name!r} must be {Q.BOOK.free_text}")
    return name


def _market(section: Section) -> MarketSpec:
    section.check_keys(
        [
            "prices",
            "model",
            "dist",
            "persistence_policy",
            "scenario",
            "discount_rate",
            "ccer_discount",
            "ccer_spot",
            "ccer_prices",
            "ccer_adv_t",
            "anchor_years",
            "glide_years",
            "financing_rate",
            "convenience_yield",
            "forwards",
        ]
    )
    if section.has("ccer_discount") and section.has("ccer_spot"):
        raise section.error(
            "ccer_discount", "cannot be given with ccer_spot (ccer_spot replaces it); give ccer_spot only"
        )
    prices = section.string("prices", "cea")
    if prices not in ("cea", "hbea"):
        path = section.file_path("prices")
        prices = str(path)
    scenario: str | None = section.string("scenario", "mid")
    if scenario == "none":
        scenario = None
    elif scenario not in SCENARIOS:
        scenario = str(section.file_path("scenario"))
    model = section.quantity("model", Q.MARKET_MODEL)
    dist = section.quantity("dist", Q.MARKET_DIST, default_dist(model))
    return MarketSpec(
        prices=prices,
        model=model,
        dist=dist,
        persistence_policy=section.quantity("persistence_policy", Q.MARKET_POLICY),
        scenario=scenario,
        discount_rate=float(section.quantity("discount_rate", Q.MARKET_DISCOUNT_RATE)),
        ccer_discount=float(section.quantity("ccer_discount", Q.MARKET_CCER_DISCOUNT))
        if section.has("ccer_discount")
        else None,
        ccer_spot=float(section.quantity("ccer_spot", Q.MARKET_CCER_SPOT)) if section.has("ccer_spot") else None,
        ccer_prices=str(section.file_path("ccer_prices")) if section.has("ccer_prices") else None,
        ccer_adv_t=float(section.quantity("ccer_adv_t", Q.MARKET_CCER_ADV_T)) if section.has("ccer_adv_t") else None,
        anchor_years=float(section.quantity("anchor_years", Q.MARKET_ANCHOR_YEARS)),
        glide_years=float(section.quantity("glide_years", Q.MARKET_GLIDE_YEARS)),
        financing_rate=float(section.quantity("financing_rate", Q.MARKET_FINANCING_RATE))
        if section.has("financing_rate")
        else None,
        convenience_yield=float(section.quantity("convenience_yield", Q.MARKET_CONVENIENCE_YIELD)),
        forwards=_forwards(section.table("forwards")),
    )


def _forwards(section: Section) -> tuple[tuple[str, float], ...]:
    """Quoted forwards ``{ "YYYY-MM-DD" = price }``, sorted by date."""
    out = []
    for key in section.data:
        try:
            day = pd.Timestamp(key)
        except ValueError:
            raise section.error(key, "must be a date YYYY-MM-DD (a forward's delivery date)") from None
        out.append((str(day.date()), section.number(key, low=0.0, low_open=True)))
    return tuple(sorted(out))


def _position(section: Section) -> Position:
    section.check_keys(
        ["name", "asset", "quantity_t", "cost_cny_per_t", "book"], required=["name", "asset", "quantity_t"]
    )
    return Position(
        name=section.string("name"),
        asset=section.quantity("asset", Q.POSITION_ASSET),
        quantity_t=float(section.quantity("quantity_t", Q.POSITION_QUANTITY)),
        cost_cny_per_t=float(section.quantity("cost_cny_per_t", Q.POSITION_COST)),
        book=_book(section),
    )


def _obligation(section: Section) -> Obligation:
    section.check_keys(
        [
            "name",
            "year",
            "emissions_t",
            "free_allocation_t",
            "ccer_share",
            "hedged_t",
            "hedge_price_cny_per_t",
            "hedges",
            "book",
        ],
        required=["name", "year", "emissions_t", "free_allocation_t"],
    )
    emissions = float(section.quantity("emissions_t", Q.OBLIGATION_EMISSIONS))
    hedged = float(section.quantity("hedged_t", Q.OBLIGATION_HEDGED))
    obligation = Obligation(
        name=section.string("name"),
        year=int(section.quantity("year", Q.OBLIGATION_YEAR)),
        emissions_t=emissions,
        free_allocation_t=float(section.quantity("free_allocation_t", Q.OBLIGATION_FREE)),
        ccer_share=float(section.quantity("ccer_share", Q.OBLIGATION_CCER_SHARE)),
        hedged_t=hedged,
        hedge_price_cny_per_t=float(section.quantity("hedge_price_cny_per_t", Q.OBLIGATION_HEDGE_PRICE)),
        hedges=_names(section, "hedges"),
        book=_book(section),
    )
    if obligation.hedges and section.has("hedged_t"):
        raise section.error("hedges", "and hedged_t both describe the hedge; give one (hedges: contracts of the book)")
    if hedged > 0 and not section.has("hedge_price_cny_per_t"):
        raise section.error(None, "sets hedged_t > 0 but no hedge_price_cny_per_t")
    if hedged > obligation.shortfall_t:
        raise section.error("hedged_t", f"= {hedged:g} exceeds the shortfall {obligation.shortfall_t:g} t")
    return obligation


def _names(section: Section, key: str) -> tuple[str, ...]:
    """A list of names (strings); empty if absent."""
    value = section.data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise section.error(key, f"= {value!r} must be a list of contract names")
    return tuple(value)


def _check_hedges(root: Section, obligations: tuple[Obligation, ...], contracts: tuple[ContractSpec, ...]) -> None:
    """Every obligation's ``hedges`` names a contract of the book that has a closed-form revaluation."""
    by_name = {c.name: c for c in contracts}
    for section, ob in zip(root.tables("obligations"), obligations, strict=True):
        for name in ob.hedges:
            if name not in by_name:
                raise section.error(
                    "hedges", f"= '{name}' names no contract; contracts: {', '.join(sorted(by_name)) or 'none'}"
                )
            if not has_closed_form(by_name[name].instrument):
                raise section.error("hedges", f"= '{name}' is a {by_name[name].instrument.kind}, not a hedge contract")


def _project(section: Section, start_year: int) -> tuple[ProjectSpec, Path | None]:
    section.check_keys(
        [
            "name",
            "template",
            "file",
            "basin",
            "start_year",
            "area_m2",
            "capex_cny",
            "heat_tariff_cny_per_mwh",
            "scenario",
            "hurdle_rate",
            "book",
        ]
    )
    name = section.string("name")
    file = section.file_path("file")
    template = section.quantity("template", Q.PROJECT_TEMPLATE) if section.has("template") else None
    scenario = section.quantity("scenario", Q.PROJECT_SCENARIO)
    start = int(section.quantity("start_year", Q.PROJECT_START_YEAR, start_year))
    try:
        if file is not None:
            project = load_project(file)
            if section.has("start_year"):
                project = _moved(project, start)
        elif template == "basin" or section.has("basin"):
            basin = section.string("basin")
            area = float(section.quantity("area_m2", Q.PROJECT_AREA)) if section.has("area_m2") else None
            found = basin_portfolio(
                base=hebei_project(scenario),
                start_years=start,
                basins=[basin],
                area_m2=area,
            )
            project = found[0]
            if area is not None and not section.has("capex_cny"):  # capex scales with the heated area
                ratio = area / hebei_project(scenario).plant.area_m2
                finance = dataclasses.replace(project.finance, capex_cny=project.finance.capex_cny * ratio)
                project = dataclasses.replace(project, finance=finance)
        else:
            project = hebei_project(scenario)
            if section.has("start_year"):
                project = _moved(project, start)
    except CarbonRiskError as exc:
        raise InputError(f"{section.where()}: {section.key_path()} '{name}': {' '.join(str(exc).split())}") from exc
    project = dataclasses.replace(project, name=name)
    if section.has("capex_cny"):
        capex = float(section.quantity("capex_cny", Q.PROJECT_CAPEX))
        project = dataclasses.replace(project, finance=dataclasses.replace(project.finance, capex_cny=capex))
    tariff = float(section.quantity("heat_tariff_cny_per_mwh", Q.PROJECT_TARIFF))
    hurdle = float(section.quantity("hurdle_rate", Q.PROJECT_HURDLE_RATE)) if section.has("hurdle_rate") else None
    return ProjectSpec(name, project, tariff, hurdle, book=_book(section)), file


def _moved(project: Project, start_year: int) -> Project:
    """``project`` with its first operating year, and every pipeline date, moved to ``start_year``."""
    shift = pd.DateOffset(years=start_year - project.start_year)
    registration = project.issuance.registration_date
    issuance = dataclasses.replace(
        project.issuance,
        project_start=project.issuance.project_start + shift,
        registration_date=None if registration is None else registration + shift,
    )
    return dataclasses.replace(project, start_year=start_year, issuance=issuance)


def _contract(section: Section, project_names: set[str]) -> ContractSpec:
    book = _book(section)
    table = dict(section.data)
    table.pop("book", None)
    link = table.pop("project", None)
    if link is not None and table.get("type") == "project_loan":
        # volumes and cash flows come from the project's paths; zeros only satisfy the contract's own validation
        tenor = table.get("tenor_years", 1)
        periods = tenor if isinstance(tenor, int) and tenor > 0 else 1
        table.setdefault("carbon_volumes_t", [0.0] * periods)
        table.setdefault("other_cash_flows_cny", [0.0] * periods)
    income_bond = table.get("type") == "carbon_linked_bond" and table.get("linked_coupon") == "project_income"
    if link is not None and income_bond and "carbon_volumes_t" not in table:
        # a project-income bond takes its coupon volumes from the project's paths (CarbonLinkedBond.with_project)
        table["carbon_volumes_t"] = [0.0] * carbon_linked_bond_coupons(table)
    if link is not None and link not in project_names:
        raise section.error(
            "project", f"= '{link}' names no project; projects: {', '.join(sorted(project_names)) or 'none'}"
        )
    name = str(table.get("name", f"{table.get('type', 'contract')} {section.path[-1]}"))
    where = _contract_where(section, name)
    try:
        instrument = instrument_from_dict(table, where=where)
    except CarbonRiskError as exc:  # the contract's own rules (ltv, ratios) do not know where they were written
        message = " ".join(str(exc).split())
        kind = table.get("type", "contract")
        raise InputError(message if message.startswith(where) else f"{where} ({kind}): {message}") from exc
    price_bond = isinstance(instrument, CarbonLinkedBond) and instrument.linked_coupon != "project_income"
    if link is not None and (price_bond or not is_project_linked(instrument)):
        raise section.error(
            "project",
            f"links a project but a {instrument.kind} takes no project cash flows (a project_loan, a carbon_linked_bond"
            " with linked_coupon = 'project_income' or any contract with carbonrisk.finance.linking's with_project"
            " can be linked)",
        )
    return ContractSpec(name=name, instrument=instrument, project=link, book=book)


def carbon_linked_bond_coupons(table: dict[str, Any]) -> int:
    """Number of coupons of a ``carbon_linked_bond`` table (1 when its dates do not parse: the bond's own
    validation then names the field)."""
    try:
        bond_table = {k: v for k, v in table.items() if k != "carbon_volumes_t"}
        bond_table.update({"type": "carbon_linked_bond", "linked_coupon": "average_price", "strike_cny_per_t": 1.0})
        bond = instrument_from_dict(bond_table)
    except CarbonRiskError:
        return 1
    return len(bond.periods()) if isinstance(bond, CarbonLinkedBond) else 1


def _listed(head: Section, key: str, table: str, files: dict[str, str]) -> list[Section]:
    """The rows of the CSV / XLSX file that ``[portfolio] key`` names, as sections of ``table``
    (:mod:`carbonrisk.portfolios.sheets`); none when the key is absent. The file is recorded in ``files`` (the
    ledger)."""
    if not head.has(key):
        return []
    written = head.string(key)
    path = head.file_path(key)
    assert path is not None
    if path.suffix.lower() not in SUFFIXES:
        raise head.error(key, f"= '{written}' must be a {' or '.join(SUFFIXES)} file")
    files[key] = str(path)
    return list(row_sections(path, table, label=written, base_dir=Path(head.base_dir)))


def _contract_where(section: Section, name: str) -> str:
    """``file:line: contracts[i] 'name'``: where a contract's errors point (its table header line)."""
    return f"{section.where()}: {section.key_path()} '{name}'"


def _limits(section: Section) -> Limits:
    section.check_keys(["var_99_10d_cny", "es_99_1y_cny", "ltv_max", "position_t"])
    positions: dict[str, float] = {}
    table = section.table("position_t")
    table.check_keys(ASSETS)
    for asset, declared in (("CEA", Q.LIMIT_POSITION_CEA), ("CCER", Q.LIMIT_POSITION_CCER)):
        if table.has(asset):
            positions[asset] = float(table.quantity(asset, declared))
    found = {
        key: float(section.quantity(key, declared)) if section.has(key) else None
        for key, declared in (("var_99_10d_cny", Q.LIMIT_VAR), ("es_99_1y_cny", Q.LIMIT_ES), ("ltv_max", Q.LIMIT_LTV))
    }
    return Limits(**found, position_t=positions)


def _levers(section: Section) -> Levers:
    names = [f.name for f in dataclasses.fields(Levers)]
    section.check_keys([*names, "book"])
    default = Levers()
    declared = {q.key: q for q in Q.LEVERS}
    values: dict[str, Any] = {}
    for name in names:
        if section.has(name):
            value = section.quantity(name, declared[name])
            values[name] = value if declared[name].type == "int" else float(value)
    return dataclasses.replace(default, **values)


def _book_limits(root: Section, portfolio: Portfolio) -> dict[str, Limits]:
    """``[books.NAME.limits]`` (same keys as ``[limits]``), checked against the books the file's components name.

    ``[limits]`` are the limits of the default book (of the only book when there is one); a file with several
    books and none called :data:`DEFAULT_BOOK` must set them per book. ``[levers] book`` must hold a project.
    """
    books = portfolio.books
    table = root.table("books")
    out: dict[str, Limits] = {}
    for name in table.data:
        section = table.table(name)
        if name not in books:
            raise table.error(name, f"names no book of the file's components; books: {', '.join(books)}")
        section.check_keys(["limits"])
        out[name] = _limits(section.table("limits"))
    if root.has("limits") and len(books) > 1:
        if DEFAULT_BOOK not in books:
            raise root.error(
                "limits",
                f"applies to the default book '{DEFAULT_BOOK}', which holds no component (books: {', '.join(books)}); "
                "set [books.NAME.limits] per book",
            )
        if DEFAULT_BOOK in out:
            raise root.error("limits", f"and [books.{DEFAULT_BOOK}.limits] both set the default book's limits")
    lever = portfolio.levers_book
    with_projects = sorted({p.book for p in portfolio.projects})
    if lever is not None and lever not in with_projects:
        raise root.table("levers").error(
            "book", f"= '{lever}' holds no project; books with projects: {', '.join(with_projects) or 'none'}"
        )
    return out


def portfolio_from_text(text: str, label: str, base_dir: str | Path) -> Portfolio:
    """Parse a portfolio from its TOML text (used by ``carbonrisk runs rerun`` on the text stored in the ledger)."""
    return _parse(parse_toml(text, label, Path(base_dir)), text, label=label)


def embedded_portfolio(name: str = DEMO_PORTFOLIO) -> Portfolio:
    """An embedded portfolio file of ``portfolios/data`` (:data:`DEMO_PORTFOLIO`, :data:`CEA_HOLDING_PORTFOLIO`)."""
    resource = resources.files("carbonrisk.portfolios").joinpath("data").joinpath(name)
    with resources.as_file(resource) as file:
        return _parse(*load_toml(file), label=f"embedded:{name}")


def load_portfolio(path: str | Path | None = None) -> Portfolio:
    """Load and validate a portfolio file (default: the embedded demo portfolio)."""
    if path is None:
        return embedded_portfolio(DEMO_PORTFOLIO)
    root, text = load_toml(path)
    return _parse(root, text, label=str(path))


def _parse(root: Section, text: str, label: str) -> Portfolio:
    root.check_keys(_TOP, required=["portfolio", "market"])
    head = root.table("portfolio", required=True)
    head.check_keys(
        ["name", "horizon_years", "n_paths", "seed", "valuation_date", "positions_file", "contracts_file"],
        required=["name"],
    )
    valuation_date = head.date("valuation_date") if head.has("valuation_date") else None
    market = _market(root.table("market", required=True))
    horizon = int(head.quantity("horizon_years", Q.PORTFOLIO_HORIZON_YEARS))
    files: dict[str, str] = {}
    position_sections = root.tables("positions") + _listed(head, "positions_file", "positions", files)
    positions = tuple(_position(s) for s in position_sections)
    obligations = tuple(_obligation(s) for s in root.tables("obligations"))
    if Path(market.prices).exists():
        files["prices"] = market.prices
    if market.ccer_prices is not None:
        files["ccer_prices"] = market.ccer_prices
    projects: list[ProjectSpec] = []
    for s in root.tables("projects"):
        spec, file = _project(s, start_year=2026)
        if spec.name in {p.name for p in projects}:
            raise s.error("name", f"= '{spec.name}' is used by another project")
        projects.append(spec)
        if file is not None:
            files[f"project:{spec.name}"] = str(file)
    names = {p.name for p in projects}
    contract_sections = root.tables("contracts") + _listed(head, "contracts_file", "contracts", files)
    contracts = tuple(_contract(s, names) for s in contract_sections)
    _check_hedges(root, obligations, contracts)
    limits = _limits(root.table("limits"))
    portfolio = Portfolio(
        name=head.string("name"),
        horizon_years=horizon,
        n_paths=int(head.quantity("n_paths", Q.PORTFOLIO_N_PATHS)),
        seed=int(head.quantity("seed", Q.PORTFOLIO_SEED)),
        market=market,
        positions=positions,
        obligations=obligations,
        contracts=contracts,
        projects=tuple(projects),
        limits=limits,
        levers=_levers(root.table("levers")),
        levers_book=_book(root.table("levers")) if root.table("levers").has("book") else None,
        source=label,
        text=text,
        referenced_files=files,
        base_dir=str(root.base_dir),
        valuation_date=valuation_date,
    )
    portfolio = dataclasses.replace(portfolio, book_limits=_book_limits(root, portfolio))
    history, valuation_date, scenario = _check_horizon(portfolio, root, contract_sections)
    market_data = MarketData(
        portfolio.market.prices, portfolio.valuation_date, history, valuation_date, portfolio.market.scenario, scenario
    )
    valuation_year = int(valuation_date.year)
    return dataclasses.replace(
        portfolio, projects=tuple(_as_operating(p, valuation_year) for p in projects), market_data=market_data
    )


def _as_operating(spec: ProjectSpec, valuation_year: int) -> ProjectSpec:
    """An operating project (first season before the valuation year): its wells and capex are history.

    Drilling failure, re-drill delays and capex overrun are set to none (the draws stay, so the random streams of
    the other risks are unchanged); availability and weather stay random.
    """
    if spec.project.start_year >= valuation_year:
        return spec
    risk = dataclasses.replace(
        spec.project.risk, well_failure_probability=0.0, capex_overrun_median=1.0, capex_overrun_sigma=0.0
    )
    return dataclasses.replace(spec, project=dataclasses.replace(spec.project, risk=risk))


STALE_HISTORY_DAYS: int = 7
"""A price history ending more than this many calendar days before the valuation date raises a warning."""


def market_history(portfolio: Portfolio) -> tuple[PriceHistory, pd.Timestamp]:
    """The price history up to the valuation date, and the valuation date (``portfolio.valuation_date``, else the
    history's last date); a history that ends more than :data:`STALE_HISTORY_DAYS` days before it warns
    (:class:`~carbonrisk.models.exceptions.CarbonRiskWarning`: the run starts from a stale close).

    A parsed portfolio carries both (``portfolio.market_data``, read and checked once by :func:`load_portfolio`):
    they are returned without reading the file again, and the stale-history warning is raised again so that each
    run collects it."""
    data = portfolio.market_data
    if data is not None and data.matches(portfolio):
        _warn_stale(data.history, data.valuation_date)
        return data.history, data.valuation_date
    history = load_prices(portfolio.market.prices)
    vd = portfolio.valuation_date
    if vd is None:
        return history, history.last_date
    prices = history.prices[history.prices.index <= vd]
    if len(prices) < 2:
        raise InputError(
            f"valuation_date = {vd.date()} is before the price history's second close "
            f"({history.prices.index[min(1, len(history.prices) - 1)].date()}); nothing to fit"
        )
    volume = None if history.volume_t is None else history.volume_t[history.volume_t.index <= vd]
    history = dataclasses.replace(history, prices=prices, volume_t=volume)
    _warn_stale(history, vd)
    return history, vd


def _warn_stale(history: PriceHistory, vd: pd.Timestamp) -> None:
    stale = (vd - history.last_date).days
    if stale > STALE_HISTORY_DAYS:
        warnings.warn(
            f"the price history ({history.source}) ends on {history.last_date.date()}, {stale} days before the "
            f"valuation date {vd.date()}: the run starts from that close",
            CarbonRiskWarning,
            stacklevel=3,
        )


def _check_horizon(
    portfolio: Portfolio, root: Section, contract_sections: list[Section]
) -> tuple[PriceHistory, pd.Timestamp, ScenarioCurve | None]:
    """Every contract must fix and every obligation fall between the valuation date and the horizon end.

    Returns the price history up to the valuation date, the valuation date (``portfolio.valuation_date`` or
    the history's last date) and the scenario curve: they are read here, once per run (the history's warnings
    are raised again, and collected, when the run asks :func:`market_history` for it).
    """
    market = root.table("market")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            history, valuation_date = market_history(portfolio)
        except CarbonRiskError as exc:
            message = " ".join(str(exc).split())
            if portfolio.valuation_date is not None and message.startswith("valuation_date"):
                raise root.table("portfolio").error("valuation_date", message) from None
            where = market.where("prices") if market.has("prices") else market.where()
            raise InputError(f"{where}: market.prices: {message}") from exc
    end = valuation_date + pd.DateOffset(years=portfolio.horizon_years)
    for i, spec in enumerate(portfolio.contracts):
        where = _contract_where(contract_sections[i], spec.name)
        try:
            spec.instrument.check_dates(valuation_date)
            last = max(spec.instrument.fixing_dates(valuation_date))
        except CarbonRiskError as exc:
            raise InputError(f"{where}: {' '.join(str(exc).split())}") from exc
        if last > end:
            raise InputError(
                f"{where}: fixes until {last.date()}, after the horizon ends on {end.date()} "
                f"(valuation {valuation_date.date()} + portfolio.horizon_years = {portfolio.horizon_years})"
            )
    for i, project in enumerate(portfolio.projects):
        first_season = int(project.project.start_year)
        last_season = first_season + int(project.project.life_years) - 1
        if valuation_date.year > first_season and last_season >= valuation_date.year:
            warnings.warn(
                f"project '{project.name}' has operated since {first_season}: it is valued from the valuation date "
                f"{valuation_date.date()} on; its years before {valuation_date.year} (construction capex included) "
                "are history, left out of its NPV, IRR and payback, and its drilling and capex risk are not simulated",
                CarbonRiskWarning,
                stacklevel=3,
            )
        if last_season < valuation_date.year:
            section = root.tables("projects")[i]
            raise InputError(
                f"{section.where()}: {section.key_path()} '{project.name}': runs {project.project.start_year}-"
                f"{last_season} and ended before the valuation date {valuation_date.date()} (its last heating "
                f"season started in {last_season}); remove it or move start_year to {valuation_date.year} or later"
            )
    scenario = None
    if portfolio.market.scenario is not None:
        try:
            scenario = load_scenario(portfolio.market.scenario)
            scenario.require_covers(valuation_date)
        except CarbonRiskError as exc:
            raise root.table("market").error("scenario", " ".join(str(exc).split())) from exc
    for i, ob in enumerate(portfolio.obligations):
        if not valuation_date.year <= ob.year <= end.year:
            raise root.tables("obligations")[i].error(
                "year", f"= {ob.year} lies outside {valuation_date.year}-{end.year} (valuation date to horizon end)"
            )
    return history, valuation_date, scenario
