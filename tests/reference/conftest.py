"""Fixtures shared with tests/finance."""

from tests.finance.conftest import market

__all__ = ["market"]
