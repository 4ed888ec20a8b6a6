"""Errors and warnings of the whole engine (one module, in the style of ``arch.utility.exceptions``).

Input errors name the argument, the value and the limit it broke, on one line; the command line turns them into
one line on stderr and exit code 2. Numerical trouble (non-convergence, non-stationary fits) is a warning class of
ours so that callers and reports can collect it instead of losing it.
"""

from __future__ import annotations

__all__ = [
    "CarbonRiskError",
    "CarbonRiskWarning",
    "ConvergenceError",
    "ConvergenceWarning",
    "DataError",
    "DataGapWarning",
    "InputError",
    "NonStationaryWarning",
    "PriceOutlierWarning",
    "ReportWarning",
    "SimulationPolicyWarning",
    "UnsortedInputWarning",
]


class CarbonRiskError(Exception):
    """Base class of every error raised on purpose by carbonrisk."""


class InputError(CarbonRiskError, ValueError):
    """An argument or input file broke a documented rule; the message names field, value and limit."""


class DataError(InputError):
    """A price-history file cannot be used (unparseable, duplicated, non-positive, too short...)."""


class ConvergenceError(CarbonRiskError, RuntimeError):
    """An estimator failed to converge; the message carries the optimiser's own message."""


class CarbonRiskWarning(UserWarning):
    """Base class of every warning raised on purpose by carbonrisk."""


class DataGapWarning(CarbonRiskWarning):
    """The price history has gaps longer than the allowed number of calendar days."""


class UnsortedInputWarning(CarbonRiskWarning):
    """The input was not in date order; it was sorted."""


class PriceOutlierWarning(CarbonRiskWarning):
    """A price history holds an isolated one-day jump that reverts the next day (likely a data error)."""


class NonStationaryWarning(CarbonRiskWarning):
    """A fitted volatility model is at or beyond the stationarity boundary (persistence >= threshold)."""


class ConvergenceWarning(CarbonRiskWarning):
    """An optimiser reported a problem but returned a usable estimate."""


class ReportWarning(CarbonRiskWarning):
    """Part of a report could not be produced (e.g. no Chromium to print the PDF); the rest is complete."""


class SimulationPolicyWarning(CarbonRiskWarning):
    """The simulation parameters differ from the fitted ones by a documented policy (tail floor, vol-of-vol bound)."""
