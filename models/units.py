"""The one place for unit conversions and calendar constants (no magic numbers in formulas)."""

from __future__ import annotations

MWH_PER_TJ: float = 1.0e6 / 3.6e3
"""1 TJ = 1e6 MJ and 1 MWh = 3600 MJ, so 1 TJ = 277.78 MWh."""
TJ_PER_MWH: float = 1.0 / MWH_PER_TJ
GWH_PER_MWH: float = 1.0e-3
MWH_PER_TWH: float = 1.0e6
T_PER_MT: float = 1.0e6
PERCENT: float = 100.0
"""Returns are fitted in percent (arch's recommended scaling); divide by this to get log-returns."""
TRADING_DAYS_PER_YEAR: int = 245
"""Approximate number of SSE trading days per year, used only to annualise daily statistics."""
DAYS_PER_YEAR: float = 365.0
"""Actual/365 Fixed."""
