"""Orchestration: path sources, the engines of each instrument, bump-and-revalue sensitivities.

A *path source* turns a market into a :class:`~carbonrisk.models.paths.PathSet` on the dates the instruments need;
engines only ever see the path set, so a new price model is a new source and no instrument or engine changes.
:class:`GBMSource` simulates correlated GBM on the market's forward curves and volatilities (re-simulated from
the same seed for every bump: common random numbers); :class:`FixedPaths` wraps a path set produced elsewhere
(GARCH, OU, the joint CEA / CCER model) and rescales it to a bumped spot (no vega: the volatility is the model's).

Sensitivities are central differences: delta per factor (CNY per CNY/t, spot bumped by +-1 %), vega per factor
(CNY per volatility point, +-1 point), rho (CNY per basis point of a parallel zero-rate shift, which also moves
the financing rate of carry forward curves).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from carbonrisk.finance.carbon_financing import MCCustodyEngine, MCLendingEngine, MCOverdraftEngine, MCRepoEngine
from carbonrisk.finance.depth_sharing import share_depth
from carbonrisk.finance.engines import (
    AnalyticForwardEngine,
    AnalyticGeometricAsianEngine,
    AnalyticSwapEngine,
    Black76Engine,
    BlackSwaptionEngine,
    Engine,
    MargrabeEngine,
    MCAsianEngine,
    MCEuropeanEngine,
    MCExchangeEngine,
    MCForwardEngine,
    MCGuaranteedEngine,
    MCSwapEngine,
    MCSwaptionEngine,
)
from carbonrisk.finance.exceptions import PathSetError
from carbonrisk.finance.exposure import DerivativeExposure, exposure_dates, instrument_exposure
from carbonrisk.finance.instruments import (
    AsianOption,
    CarbonCustody,
    CarbonLending,
    CarbonLinkedBond,
    CarbonRepo,
    CarbonSwap,
    CarbonSwaption,
    Derivative,
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
)
from carbonrisk.finance.loans import MCPledgeLoanEngine, MCProjectLoanEngine
from carbonrisk.finance.market import MarketEnv
from carbonrisk.finance.monetisation import MCMonetisationEngine
from carbonrisk.finance.results import PricingResult, jsonable
from carbonrisk.finance.structured import Black76DepositEngine, MCCarbonLinkedBondEngine, MCDepositEngine
from carbonrisk.models.calendar import as_datetime_index
from carbonrisk.models.gbm import GBM, CorrelatedGBM, GBMRun
from carbonrisk.models.paths import PathSet
from carbonrisk.models.random import RngLike, root_seed_sequence

__all__ = [
    "RATE_BUMP",
    "SPOT_BUMP",
    "VOL_BUMP",
    "FixedPaths",
    "GBMSource",
    "PathSource",
    "Valuation",
    "engines_for",
    "path_dates",
    "value_all",
]

SPOT_BUMP: float = 0.01
"""Relative spot bump for delta."""
VOL_BUMP: float = 0.01
"""Absolute volatility bump for vega (one point)."""
RATE_BUMP: float = 1.0e-4
"""Parallel zero-rate bump for rho (one basis point)."""


class PathSource(Protocol):
    """Anything that turns a market into a path set on given dates."""

    @property
    def supports_vol_bump(self) -> bool:  # pragma: no cover - protocol
        """Whether the source re-reads the market volatilities (vega can be bumped)."""
        ...

    def simulate(
        self, market: MarketEnv, dates: pd.DatetimeIndex, n_paths: int, rng: RngLike
    ) -> PathSet:  # pragma: no cover - protocol
        """Paths of every market factor on the valuation date followed by ``dates``."""
        ...


@dataclass(frozen=True)
class GBMSource:
    """Correlated GBM calibrated to the market: forward curves, volatilities and the CEA / CCER correlation."""

    supports_vol_bump: bool = True

    def simulate(self, market: MarketEnv, dates: pd.DatetimeIndex, n_paths: int, rng: RngLike) -> PathSet:
        """See :class:`carbonrisk.models.gbm.CorrelatedGBM`; factors in the order CEA, CCER, then others sorted."""
        return self.run(market, dates).simulate(n_paths, rng)

    def run(self, market: MarketEnv, dates: pd.DatetimeIndex) -> GBMRun:
        """The GBM simulation of ``market`` on the valuation date and ``dates`` (picklable; a cluster source
        generates its blocks on workers, see :mod:`carbonrisk.portfolios.cluster`)."""
        grid = _grid(market.valuation_date, dates)
        names = [n for n in ("CEA", "CCER") if n in market.forwards] + sorted(set(market.forwards) - {"CEA", "CCER"})
        if len(names) == 1:
            n = names[0]
            return GBM(market.spot(n), market.vol(n), name=n).run(grid, forward_cny_per_t=market.forward(n, grid))
        model = CorrelatedGBM({n: market.spot(n) for n in names}, {n: market.vol(n) for n in names}, market.correlation)
        return model.run(grid, forwards_cny_per_t={n: market.forward(n, grid) for n in names})


@dataclass(frozen=True)
class FixedPaths:
    """A path set made elsewhere; each factor is rescaled so that its first row equals the market spot."""

    paths: PathSet
    supports_vol_bump: bool = False

    def simulate(self, market: MarketEnv, dates: pd.DatetimeIndex, n_paths: int, rng: RngLike) -> PathSet:
        """The wrapped paths (``n_paths`` and ``rng`` are ignored), rescaled to the market spots."""
        factors = {}
        for name, arr in self.paths.factors.items():
            if name in market.forwards:
                factors[name] = arr * (market.spot(name) / arr[0])[None, :]
            else:
                factors[name] = arr
        return PathSet(self.paths.dates, factors, self.paths.seed_entropy, self.paths.meta)


def _grid(valuation_date: pd.Timestamp, dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The valuation date followed by the distinct ``dates`` after it, sorted (nanosecond unit).

    Computed on the ``datetime64[ns]`` values (``np.unique`` sorts): a tenth of the cost of the pandas index
    operations, which ran on every pricing call.
    """
    vd = pd.Timestamp(valuation_date).as_unit("ns").to_datetime64()
    d = np.asarray(as_datetime_index(dates).as_unit("ns").values)
    return pd.DatetimeIndex(np.concatenate([[vd], np.unique(d[d > vd])]))


def path_dates(instruments: Sequence[Instrument], valuation_date: pd.Timestamp) -> pd.DatetimeIndex:
    """Union of the fixing dates of ``instruments`` after the valuation date."""
    parts = [pd.DatetimeIndex(inst.fixing_dates(valuation_date)).as_unit("ns").values for inst in instruments]
    out = pd.DatetimeIndex(np.concatenate(parts) if parts else np.array([], dtype="datetime64[ns]"))
    return _grid(valuation_date, out)[1:]


_ENGINES: dict[type, Callable[[Instrument], tuple[Engine, ...]]] = {
    Forward: lambda i: (AnalyticForwardEngine(), MCForwardEngine()),
    EuropeanOption: lambda i: (Black76Engine(), MCEuropeanEngine()),
    AsianOption: lambda i: (
        (AnalyticGeometricAsianEngine(), MCAsianEngine())
        if isinstance(i, AsianOption) and i.average == "geometric"
        else (MCAsianEngine(),)
    ),
    GuaranteedPurchase: lambda i: (MCGuaranteedEngine(),),
    GuaranteedSale: lambda i: (MCGuaranteedEngine(),),
    CarbonSwap: lambda i: (AnalyticSwapEngine(), MCSwapEngine()),
    CarbonSwaption: lambda i: (BlackSwaptionEngine(), MCSwaptionEngine()),
    ExchangeOption: lambda i: (MargrabeEngine(), MCExchangeEngine()),
    PledgeLoan: lambda i: (MCPledgeLoanEngine(),),
    ProjectLoan: lambda i: (MCProjectLoanEngine(),),
    FutureCreditMonetisation: lambda i: (MCMonetisationEngine(),),
    # carbon financing (issue 18; carbonrisk.finance.carbon_financing)
    CarbonRepo: lambda i: (MCRepoEngine(),),
    CarbonLending: lambda i: (MCLendingEngine(),),
    CarbonCustody: lambda i: (MCCustodyEngine(),),
    QuotaOverdraft: lambda i: (MCOverdraftEngine(),),
}

# --- structured products (issue 18): deposits, carbon-linked bonds ---------------------------------------------------
_ENGINES.update(
    {
        StructuredDeposit: lambda i: (
            (Black76DepositEngine(), MCDepositEngine())
            if isinstance(i, StructuredDeposit) and i.averaging == "final"
            else (MCDepositEngine(), MCDepositEngine(control_variate="none"))
        ),
        CarbonLinkedBond: lambda i: (MCCarbonLinkedBondEngine(), MCCarbonLinkedBondEngine(control_variate="none")),
    }
)


def engines_for(instrument: Instrument) -> tuple[Engine, ...]:
    """The engines that value ``instrument``: the primary first, then the cross-checks."""
    try:
        return _ENGINES[type(instrument)](instrument)
    except KeyError:
        raise PathSetError(f"no engine registered for instrument type {type(instrument).__name__}") from None


@dataclass(frozen=True)
class Valuation:
    """Result of :func:`value_all` for one instrument.

    Attributes
    ----------
    instrument : Instrument
    result : PricingResult
        The primary engine's result (analytic where a closed form exists).
    checks : tuple of PricingResult
        The other engines on the same market and paths (e.g. Monte Carlo next to Black / Margrabe).
    sensitivities : dict
        ``delta`` and ``vega`` per factor, ``rho``; omitted entries could not be computed.
    exposure : DerivativeExposure or None
        A derivative's EE / PFE profile on its own path set and, with a counterparty PD, its CVA
        (:func:`carbonrisk.finance.exposure.instrument_exposure`); None for loans and monetisations.
    """

    instrument: Instrument
    result: PricingResult
    checks: tuple[PricingResult, ...] = ()
    sensitivities: dict[str, Any] = field(default_factory=dict)
    exposure: DerivativeExposure | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row: value, std_error, method, delta_<factor>, vega_<factor>, rho and the scalar extras."""
        frame = self.result.to_frame()
        for key in ("delta", "vega"):
            for factor, v in self.sensitivities.get(key, {}).items():
                frame[f"{key}_{factor}"] = v
        if "rho" in self.sensitivities:
            frame["rho"] = self.sensitivities["rho"]
        return frame

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary: name, type, value, std_error, method, sensitivities, extras, terms, checks and
        cashflows (where the engine computes them)."""
        base = self.result.to_dict()
        out: dict[str, Any] = {
            "name": self.instrument.label(),
            "type": self.instrument.kind,
            "value": base["value"],
            "std_error": base["std_error"],
            "method": base["method"],
            "n_paths": base["n_paths"],
            "sensitivities": jsonable(self.sensitivities),
            "extras": base["extras"],
            "terms": jsonable(self.instrument.terms()),
            "checks": [
                {
                    "method": c.method,
                    "value": float(c.value),
                    "std_error": float(c.std_error),
                    "difference": float(c.value - self.result.value),
                }
                for c in self.checks
            ],
        }
        if "cashflows" in base:
            out["cashflows"] = base["cashflows"]
        if self.exposure is not None:
            out["exposure"] = self.exposure.to_dict()
        return out


def _price(instrument: Instrument, engine: Engine, market: MarketEnv, paths: PathSet, quick: bool) -> PricingResult:
    return engine.calculate(instrument, market=market, paths=paths if engine.needs_paths else None, quick=quick)


def value_all(
    instruments: Sequence[Instrument],
    market: MarketEnv,
    *,
    n_paths: int = 20_000,
    rng: RngLike = None,
    source: PathSource | None = None,
    sensitivities: bool = True,
    engines: Callable[[Instrument], tuple[Engine, ...]] | None = None,
    exposure: bool = True,
) -> list[Valuation]:
    """Value every instrument on one shared path set, with cross-checks and CRN sensitivities.

    Pledge loans, repos, carbon lending and quota overdrafts of the file that trade the same asset on the same side
    on a default share each day's market depth (:func:`carbonrisk.finance.depth_sharing.share_depth`, the portfolio
    run's rule): their results (and their bumped values) are the shared ones, with ``extras["depth_sharing"]``.

    Parameters
    ----------
    instruments : sequence of Instrument
    market : MarketEnv
    n_paths : int
        Paths per simulation.
    rng : int, Generator or None
        Seed; the same root seed is reused for every bumped market (common random numbers).
    source : PathSource
        Path source (default :class:`GBMSource`).
    sensitivities : bool
        Compute delta, vega and rho.
    engines : callable, optional
        ``instrument -> (primary, *checks)``; default :func:`engines_for`.
    exposure : bool
        Compute each derivative's exposure profile and CVA (:attr:`Valuation.exposure`) on a path set of its
        own: ``n_paths`` paths on :func:`carbonrisk.finance.exposure.exposure_dates` and the fixing dates, from the seed
        stream ``(*root.spawn_key, EXPOSURE_KEY)`` (the prices and sensitivities do not change with it).
    """
    src: PathSource = GBMSource() if source is None else source
    root = root_seed_sequence(rng)
    for inst in instruments:
        inst.check_dates(market.valuation_date)
    dates = path_dates(instruments, market.valuation_date)

    def simulate(mkt: MarketEnv) -> PathSet:
        return src.simulate(mkt, dates, n_paths, root)

    base_paths = simulate(market)
    out: list[Valuation] = []
    primary: list[Engine] = []
    shared = share_depth(instruments, market, base_paths, quick=False).results
    for k, inst in enumerate(instruments):
        chosen = (engines or engines_for)(inst)
        primary.append(chosen[0])
        res = shared[k] if k in shared else _price(inst, chosen[0], market, base_paths, quick=False)
        checks = tuple(_price(inst, e, market, base_paths, quick=False) for e in chosen[1:])
        out.append(Valuation(inst, res, checks))
    if exposure:
        out = _with_exposure(out, market, src, n_paths, root)
    if not sensitivities:
        return out

    def revalue(mkt: MarketEnv) -> list[float]:
        paths = simulate(mkt)
        bumped = share_depth(instruments, mkt, paths).results
        return [
            bumped[k].value if k in bumped else _price(i, e, mkt, paths, quick=True).value
            for k, (i, e) in enumerate(zip(instruments, primary, strict=True))
        ]

    sens: list[dict[str, Any]] = [{"delta": {}, "vega": {}} for _ in instruments]
    used = {f for inst in instruments for f in inst.factors}
    for name in [n for n in market.forwards if n in used]:
        spot = market.spot(name)
        up = revalue(market.bumped(spot_rel={name: SPOT_BUMP}))
        dn = revalue(market.bumped(spot_rel={name: -SPOT_BUMP}))
        for k, inst in enumerate(instruments):
            if name in inst.factors:
                sens[k]["delta"][name] = (up[k] - dn[k]) / (2 * SPOT_BUMP * spot)
        if src.supports_vol_bump:
            up = revalue(market.bumped(vol_abs={name: VOL_BUMP}))
            dn = revalue(market.bumped(vol_abs={name: -min(VOL_BUMP, 0.5 * market.vol(name))}))
            width = VOL_BUMP + min(VOL_BUMP, 0.5 * market.vol(name))
            for k, inst in enumerate(instruments):
                if name in inst.factors:
                    sens[k]["vega"][name] = (up[k] - dn[k]) / width * VOL_BUMP
    up = revalue(market.bumped(rate_abs=RATE_BUMP))
    dn = revalue(market.bumped(rate_abs=-RATE_BUMP))
    for k in range(len(instruments)):
        sens[k]["rho"] = (up[k] - dn[k]) / 2.0
        if not sens[k]["vega"]:
            del sens[k]["vega"]
    return [dataclasses.replace(v, sensitivities=s) for v, s in zip(out, sens, strict=True)]


EXPOSURE_KEY: int = 0x45585021
"""Spawn key of the exposure path set of :func:`value_all` ("EXP!")."""


def _with_exposure(
    out: list[Valuation], market: MarketEnv, src: PathSource, n_paths: int, root: np.random.SeedSequence
) -> list[Valuation]:
    """``out`` with each closed-form derivative's :class:`~carbonrisk.finance.exposure.DerivativeExposure`."""
    from carbonrisk.finance.revaluation import has_closed_form

    derivatives = [v.instrument for v in out if isinstance(v.instrument, Derivative) and has_closed_form(v.instrument)]
    if not derivatives:
        return out
    vd = market.valuation_date
    parts = [exposure_dates(d, vd) for d in derivatives] + [path_dates(derivatives, vd)]
    dates = _grid(vd, pd.DatetimeIndex(np.concatenate([p.as_unit("ns").values for p in parts])))[1:]
    paths = src.simulate(
        market, dates, n_paths, np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, EXPOSURE_KEY))
    )
    return [
        dataclasses.replace(v, exposure=instrument_exposure(v.instrument, market, paths))
        if isinstance(v.instrument, Derivative) and any(v.instrument is d for d in derivatives)
        else v
        for v in out
    ]
