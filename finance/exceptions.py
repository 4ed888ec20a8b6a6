"""Errors of the valuation layer; every class subclasses the engine-wide ones in :mod:`carbonrisk.models.exceptions`.

Messages are one line naming the field, the value and the rule it broke (the CLI prints them as they are).
"""

from __future__ import annotations

from carbonrisk.models.exceptions import CarbonRiskWarning, InputError

__all__ = ["ContractError", "MarketDataError", "PathSetError", "ValuationWarning"]


class ContractError(InputError):
    """An instrument's terms (or a contract file) break a documented rule."""


class MarketDataError(InputError):
    """Market data (curve quotes, spots, volatilities, correlation) break a documented rule."""


class PathSetError(InputError):
    """A path set lacks a factor or a date the instrument needs."""


class ValuationWarning(CarbonRiskWarning):
    """A valuation result needs care (e.g. a control variate was switched off)."""
