"""Contract files (TOML): market data and one or more instruments; the sample files shipped in ``finance/examples``.

Format (every key is documented in the README)::

    [simulation]                 # optional; the CLI's --paths / --seed override it
    paths = 20000
    seed = 20241031

    [market]
    valuation_date = "2024-10-31"
    discount_rate = 0.018        # flat continuously compounded rate, or
    # discount_quotes = "cny_quotes.csv"   # deposit / IRS quotes (instrument,tenor,rate), path relative to the file
    correlation = 0.6            # CEA / CCER log-return correlation

    [market.CEA]
    spot = 104.01
    vol = 0.30
    financing_rate = 0.018       # carry curve F = S exp((r_f - y) t) ...
    convenience_yield = 0.0
    # forwards = { "2025-06-30" = 106.0, "2025-12-31" = 107.5 }   # ... or quoted forwards

    [[instrument]]
    type = "european_option"
    name = "CEA Dec-25 call"
    underlying = "CEA"
    option_type = "call"
    strike_cny_per_t = 110.0
    expiry = "2025-12-31"
    quantity_t = 10000

The keys of an instrument table are the fields of its class in :mod:`carbonrisk.finance.instruments` (``type`` picks the
class; a swaption holds its swap as an inline ``swap = { ... }`` table).
"""

from __future__ import annotations

import dataclasses
import tomllib
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from carbonrisk.finance.exceptions import ContractError, MarketDataError
from carbonrisk.finance.instruments import (
    AsianOption,
    CarbonCustody,
    CarbonLending,
    CarbonLinkedBond,
    CarbonRepo,
    CarbonSwap,
    CarbonSwaption,
    EuropeanOption,
    ExchangeOption,
    Forward,
    FutureCreditMonetisation,
    GuaranteedPurchase,
    GuaranteedSale,
    Instrument,
    PledgeLoan,
    ProjectLoan,
    QuotaOverdraft,
    StructuredDeposit,
    _ts,
)
from carbonrisk.finance.market import DiscountCurve, ForwardCurve, MarketEnv
from carbonrisk.models.data import load_prices
from carbonrisk.models.exceptions import DataGapWarning
from carbonrisk.models.files import read_toml
from carbonrisk.models.quantities import MC_PATHS, SEED
from carbonrisk.models.validation import check

__all__ = [
    "INSTRUMENT_TYPES",
    "ContractFile",
    "example_names",
    "example_text",
    "instrument_from_dict",
    "load_contract_file",
    "load_example",
    "market_from_dict",
    "parse_contract",
]

INSTRUMENT_TYPES: dict[str, type[Instrument]] = {
    cls.kind: cls
    for cls in (
        Forward,
        EuropeanOption,
        AsianOption,
        GuaranteedPurchase,
        GuaranteedSale,
        CarbonSwap,
        CarbonSwaption,
        ExchangeOption,
        PledgeLoan,
        ProjectLoan,
        FutureCreditMonetisation,
        # carbon financing (issue 18)
        CarbonRepo,
        CarbonLending,
        CarbonCustody,
        QuotaOverdraft,
    )
}
# structured products (issue 18)
INSTRUMENT_TYPES.update({cls.kind: cls for cls in (StructuredDeposit, CarbonLinkedBond)})
"""``type`` value of an instrument table -> instrument class."""


@dataclass(frozen=True)
class ContractFile:
    """A parsed contract file.

    Attributes
    ----------
    source : str
        File path or ``example:NAME``.
    market : MarketEnv
    instruments : tuple of Instrument
    paths : int or None
        ``[simulation] paths``.
    seed : int or None
        ``[simulation] seed``.
    """

    source: str
    market: MarketEnv
    instruments: tuple[Instrument, ...]
    paths: int | None = None
    seed: int | None = None


MARKET_KEYS: tuple[str, ...] = ("valuation_date", "discount_rate", "discount_quotes", "correlation")
"""Keys of the ``[market]`` table besides the asset tables (each declared in :mod:`carbonrisk.finance.quantities`)."""
MARKET_ASSET_KEYS: tuple[str, ...] = ("spot", "vol", "financing_rate", "convenience_yield", "forwards", "adv_t")
"""Keys of a ``[market.CEA]`` / ``[market.CCER]`` table (each declared in :mod:`carbonrisk.finance.quantities`)."""


def _fields(cls: type[Instrument]) -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def instrument_from_dict(table: dict[str, Any], where: str = "instrument") -> Instrument:
    """Build an instrument from a TOML table (``type`` plus the class's fields)."""
    data = dict(table)
    kind = data.pop("type", None)
    if kind not in INSTRUMENT_TYPES:
        raise ContractError(f"{where}: type={kind!r} must be one of {', '.join(INSTRUMENT_TYPES)}")
    cls = INSTRUMENT_TYPES[kind]
    fields = _fields(cls)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ContractError(f"{where} ({kind}): unknown field {unknown[0]!r}; allowed: {', '.join(fields)}")
    required = [
        n
        for n, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING and n not in data
    ]
    if required:
        raise ContractError(f"{where} ({kind}): missing field {required[0]!r}")
    if cls is CarbonSwaption and isinstance(data.get("swap"), dict):
        data["swap"] = instrument_from_dict({"type": "carbon_swap", **data["swap"]}, f"{where}.swap")
    try:
        return cls(**data)
    except TypeError as exc:
        raise ContractError(f"{where} ({kind}): {' '.join(str(exc).split())}") from None


def market_from_dict(table: dict[str, Any], base_dir: Path | None = None) -> MarketEnv:
    """Build the market environment from the ``[market]`` table."""
    data = dict(table)
    if "valuation_date" not in data:
        raise MarketDataError("market: missing field 'valuation_date'")
    vd = _ts("market.valuation_date", data.pop("valuation_date"))
    rate = data.pop("discount_rate", None)
    quotes = data.pop("discount_quotes", None)
    if (rate is None) == (quotes is None):
        raise MarketDataError("market: give exactly one of 'discount_rate' (flat) or 'discount_quotes' (CSV file)")
    if quotes is not None:
        qpath = Path(str(quotes))
        if not qpath.is_absolute() and base_dir is not None:
            qpath = base_dir / qpath
        curve = DiscountCurve.from_quotes_csv(vd, qpath)
    else:
        curve = DiscountCurve.flat(vd, rate)
    correlation = data.pop("correlation", 0.0)
    forwards: dict[str, ForwardCurve] = {}
    vols: dict[str, float] = {}
    depth: dict[str, float] = {}
    for name, spec in data.items():
        if name not in ("CEA", "CCER") or not isinstance(spec, dict):
            raise MarketDataError(
                f"market: unknown key {name!r}; allowed {', '.join(MARKET_KEYS)}, [market.CEA], [market.CCER]"
            )
        spec = dict(spec)
        allowed = set(MARKET_ASSET_KEYS)
        extra = sorted(set(spec) - allowed)
        if extra:
            raise MarketDataError(f"market.{name}: unknown field {extra[0]!r}; allowed: {', '.join(sorted(allowed))}")
        for key in ("spot", "vol"):
            if key not in spec:
                raise MarketDataError(f"market.{name}: missing field {key!r}")
        if "forwards" in spec:
            forwards[name] = ForwardCurve.from_quotes(name, vd, spec["spot"], spec["forwards"])
        else:
            rf = spec.get("financing_rate", rate if rate is not None else curve.zero_rate(1.0))
            forwards[name] = ForwardCurve.from_carry(name, vd, spec["spot"], rf, spec.get("convenience_yield", 0.0))
        vols[name] = spec["vol"]
        if "adv_t" in spec:
            depth[name] = spec["adv_t"]
    return MarketEnv(vd, curve, forwards, vols, correlation, embedded_daily_volumes_t(vd), depth)


def embedded_daily_volumes_t(valuation_date: pd.Timestamp) -> dict[str, tuple[float, ...]]:
    """Market depth of contract files: the embedded CEA history's daily traded volumes up to ``valuation_date``
    (no CCER volume series ships with carbonrisk); empty if the history starts after it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataGapWarning)
        history = load_prices("cea")
    if history.volume_t is None:  # pragma: no cover - the embedded file has the column
        return {}
    volumes = history.volume_t[history.volume_t.index <= valuation_date].dropna()
    return {"CEA": tuple(float(v) for v in volumes)} if len(volumes) else {}


def parse_contract(data: dict[str, Any], source: str, base_dir: Path | None = None) -> ContractFile:
    """Build a :class:`ContractFile` from the parsed TOML document."""
    unknown = sorted(set(data) - {"market", "instrument", "simulation"})
    if unknown:
        raise ContractError(f"{source}: unknown table {unknown[0]!r}; allowed: market, instrument, simulation")
    if "market" not in data:
        raise ContractError(f"{source}: missing [market] table")
    market = market_from_dict(data["market"], base_dir)
    tables = data.get("instrument", [])
    if not isinstance(tables, list) or not tables:
        raise ContractError(f"{source}: no [[instrument]] table")
    instruments = tuple(
        instrument_from_dict(t, f"instrument {k + 1} ({t.get('name', t.get('type', '?'))})")
        for k, t in enumerate(tables)
    )
    sim = dict(data.get("simulation", {}))
    paths, seed = sim.pop("paths", None), sim.pop("seed", None)
    if sim:
        raise ContractError(f"{source}: unknown field simulation.{sorted(sim)[0]}; allowed: paths, seed")
    for declared, val in ((MC_PATHS, paths), (SEED, seed)):
        if val is not None:
            check(declared, val, source, error=ContractError)
    return ContractFile(source, market, instruments, paths, seed)


def load_contract_file(path: str | Path) -> ContractFile:
    """Read and parse a TOML contract file."""
    p = Path(path)
    data, _ = read_toml(p, "contract file", ContractError)
    return parse_contract(data, p.name, p.parent)


def example_names() -> list[str]:
    """Names of the sample contract files shipped in ``finance/examples``."""
    root = resources.files("carbonrisk.finance").joinpath("examples")
    return sorted(e.name[:-5] for e in root.iterdir() if e.name.endswith(".toml"))


def example_text(name: str) -> str:
    """Text of the sample contract ``name``."""
    if name not in example_names():
        raise ContractError(
            f"example={name!r} is unknown; run --list-examples (available: {', '.join(example_names())})"
        )
    return (
        resources.files("carbonrisk.finance").joinpath("examples").joinpath(f"{name}.toml").read_text(encoding="utf-8")
    )


def load_example(name: str) -> ContractFile:
    """Parse the sample contract ``name``."""
    text = example_text(name)
    with resources.as_file(resources.files("carbonrisk.finance").joinpath("examples")) as base:
        return parse_contract(tomllib.loads(text), f"example:{name}", Path(base))
