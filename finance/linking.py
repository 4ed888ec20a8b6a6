"""The project -> contract link: a contract that takes a project's per-path volumes and cash flows.

A portfolio's contract may name a project (``project = "..."`` in the portfolio file). The portfolio engine then
hands it, on every block of paths, that project's simulated credits and cash flows as a
:class:`ProjectCashFlows`, and values the contract returned by its :meth:`ProjectLinked.with_project`. The
contract is rebuilt per block (never patched in place), so a contract stays terms-only and the same code runs on
the run's blocks, on its pilot set (with the project's deterministic plan) and on stress paths.

To make a new instrument linkable (for example a carbon-linked bond whose coupon steps with the credits
issued): give it a method ``with_project(self, flows: ProjectCashFlows) -> Self`` that returns a copy whose
per-year, per-path inputs are taken from ``flows`` on the years of its own schedule (:meth:`ProjectCashFlows.on`
does the re-indexing). Nothing else in the engine changes: :func:`is_project_linked` is how it recognises one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, Self, runtime_checkable

import numpy as np

__all__ = ["ProjectCashFlows", "ProjectLinked", "is_project_linked"]


@dataclass(frozen=True)
class ProjectCashFlows:
    """One project's per-path volumes and cash flows, each ``(n_years, n_paths)`` on ``years`` (calendar years).

    Attributes
    ----------
    years : tuple of int
        Calendar year of each row.
    credits_t : numpy.ndarray
        Credits issued in the year, t.
    heat_revenue_cny, capex_cny, opex_cny : numpy.ndarray
        Heat sales, capital and operating expenditure of the year, CNY.
    """

    years: tuple[int, ...]
    credits_t: np.ndarray
    heat_revenue_cny: np.ndarray
    capex_cny: np.ndarray
    opex_cny: np.ndarray

    @property
    def n_paths(self) -> int:
        """Paths (last axis)."""
        return int(self.credits_t.shape[-1])

    @property
    def operating_cash_cny(self) -> np.ndarray:
        """Cash flow before carbon income and capex: heat revenue minus opex, CNY."""
        return np.asarray(self.heat_revenue_cny - self.opex_cny, dtype=float)

    def on(self, values: np.ndarray, years: Sequence[int]) -> np.ndarray:
        """Rows of ``values`` (one of this object's arrays) for ``years``, zeros for years outside ``self.years``."""
        n = values.shape[-1]
        first = self.years[0]
        rows = [values[y - first] if 0 <= y - first < len(self.years) else np.zeros(n) for y in years]
        return np.vstack(rows) if rows else np.zeros((0, n))


@runtime_checkable
class ProjectLinked(Protocol):
    """A contract that takes a project's per-path volumes and cash flows (see the module docstring)."""

    def with_project(self, flows: ProjectCashFlows) -> Self:
        """A copy of the contract on the project's per-path volumes and cash flows."""
        ...  # pragma: no cover - protocol


def is_project_linked(instrument: object) -> bool:
    """Whether ``instrument`` can take a project's per-path volumes and cash flows."""
    return isinstance(instrument, ProjectLinked)
