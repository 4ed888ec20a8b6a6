"""Errors of the portfolio layer; all derive from :mod:`carbonrisk.models.exceptions` so the CLI handles them alike."""

from __future__ import annotations

from carbonrisk.models.exceptions import CarbonRiskError, InputError

__all__ = ["CarbonRiskError", "InputError", "LedgerError", "OutputError"]


class OutputError(InputError):
    """An output location cannot be used (for example it is an existing file)."""


class LedgerError(InputError):
    """The run ledger cannot be read or written (corrupt, truncated, read-only, or its folder is unusable)."""
