"""Shared same-day market depth: forced sellers of one asset on one path and day share that day's depth.

A pledge loan liquidated alone sells at most its capacity ``c = liquidation_share_of_adv x ADV`` tonnes a day and
the rest on its last allowed day (:func:`carbonrisk.finance.loans.simulate_pledge_loan`). When several loans, repos
(close-outs) or carbon lending contracts (buy-ins, on the other side of the book;
:mod:`carbonrisk.finance.carbon_financing`) of one asset trade on the same path at overlapping dates, each assuming
all of that depth overstates what the market absorbs: :func:`allocate_depth` shares it instead (a book's groups:
:mod:`carbonrisk.finance.depth_sharing`).

The rule (pro rata of the remaining quantity, capped, the unused depth passed on). On day :math:`d` of path
:math:`p` the active sellers are :math:`A = \\{i : s_i \\le d \\le s_i + m_i - 1,\\ R_i > 0\\}` (first sale day
:math:`s_i`, at most :math:`m_i` days, :math:`R_i` tonnes still to sell). The day's depth :math:`D` for forced sales
(by default the largest own capacity :math:`\\max_i c_i` of the sellers: the share of the market one lender already
assumed forced sales can take) is split in proportion to what each still holds, each capped at what it would sell
alone, :math:`u_i = \\min(R_i, c_i)`, and what a capped seller leaves is shared by the others in the same way
(water-filling):

.. math:: x_i = \\min\\big(u_i,\\ \\lambda R_i\\big), \\qquad
          \\lambda = \\max\\Big\\{\\lambda \\ge 0 : \\sum_{j \\in A} \\min(u_j, \\lambda R_j) \\le D\\Big\\},

so :math:`\\sum_{i \\in A} x_i = \\min(D, \\sum_{i \\in A} u_i)` and no seller sells more than it would alone; on
its last day (:math:`d = s_i + m_i - 1`) a seller sells all it still holds (the standalone rule: the forced sale of
the rest). Hence a seller alone with :math:`D = c_i` sells :math:`\\min(R_i, c_i)` a day, exactly the standalone
schedule, and whenever :math:`D \\ge \\sum_{i \\in A} c_i` (unlimited depth included) every seller keeps its
standalone schedule.

Pro rata by remaining quantity treats the lenders as equals (no seniority between pledgees of distinct
collateral lots: each lot is sold by its own pledgee, and the exchange's order book does not rank them); a
seniority rule would give the whole depth to the first seller and is not implemented.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from carbonrisk.models.exceptions import InputError

__all__ = ["LiquidationDemand", "LiquidityError", "allocate_depth"]


class LiquidityError(InputError):
    """Bad arguments to :func:`allocate_depth`."""


@dataclass(frozen=True)
class LiquidationDemand:
    """One forced seller's liquidation, per path, on a day axis shared with the other sellers.

    Attributes
    ----------
    start_day : numpy.ndarray of int
        ``(n_paths,)`` index on the shared day axis of the first sale day; -1 where the seller does not sell.
    quantity_t : numpy.ndarray
        ``(n_paths,)`` tonnes to sell (>= 0; ignored where ``start_day`` is -1).
    capacity_t_per_day : float
        Most it sells on a day alone (> 0; ``inf`` for unlimited depth).
    max_days : int
        It sells what remains on day ``start_day + max_days - 1`` (>= 1).
    """

    start_day: np.ndarray
    quantity_t: np.ndarray
    capacity_t_per_day: float
    max_days: int

    def __post_init__(self) -> None:
        if not self.capacity_t_per_day > 0:
            raise LiquidityError(f"capacity_t_per_day={self.capacity_t_per_day!r} must be > 0")
        if isinstance(self.max_days, bool) or int(self.max_days) != self.max_days or self.max_days < 1:
            raise LiquidityError(f"max_days={self.max_days!r} must be an integer >= 1")
        if np.shape(self.start_day) != np.shape(self.quantity_t) or np.ndim(self.start_day) != 1:
            raise LiquidityError(
                f"start_day {np.shape(self.start_day)} and quantity_t {np.shape(self.quantity_t)} must be "
                "1-d arrays of the same length (one entry per path)"
            )
        q = np.asarray(self.quantity_t, dtype=float)
        if not np.all(np.isfinite(q)) or np.any(q < 0):
            raise LiquidityError("quantity_t must be finite and >= 0 on every path")


def allocate_depth(
    demands: Sequence[LiquidationDemand], n_days: int, *, depth_t_per_day: float | None = None
) -> list[np.ndarray]:
    """Tonnes each seller sells per day and path when they share each day's depth (module docstring's rule).

    Parameters
    ----------
    demands : sequence of LiquidationDemand
        Sellers of one asset on one path set (same number of paths).
    n_days : int
        Length of the shared day axis; a seller's last day must fall on it.
    depth_t_per_day : float, optional
        The day's depth :math:`D` for forced sales (> 0, ``inf`` allowed); default the largest
        ``capacity_t_per_day`` of the sellers.

    Returns
    -------
    list of numpy.ndarray
        Per seller, ``(n_days, n_paths)`` tonnes sold; each column sums to the seller's ``quantity_t`` where it
        sells, 0 elsewhere.
    """
    if not demands:
        return []
    n_paths = {np.size(d.start_day) for d in demands}
    if len(n_paths) != 1:
        raise LiquidityError(f"demands cover {sorted(n_paths)} paths; all must cover the same paths")
    n = n_paths.pop()
    depth = max(d.capacity_t_per_day for d in demands) if depth_t_per_day is None else float(depth_t_per_day)
    if not depth > 0:
        raise LiquidityError(f"depth_t_per_day={depth_t_per_day!r} must be > 0")
    k = len(demands)
    start = np.array([np.asarray(d.start_day, dtype=np.int64) for d in demands]).reshape(k, n)
    sells = start >= 0
    last = np.where(sells, start + np.array([d.max_days for d in demands])[:, None] - 1, -1)
    if sells.any() and int(last.max()) >= n_days:
        raise LiquidityError(f"a seller's last day {int(last.max())} is beyond the day axis (n_days={n_days})")
    cap = np.array([d.capacity_t_per_day for d in demands], dtype=float)[:, None]
    remaining = np.where(sells, np.array([np.asarray(d.quantity_t, dtype=float) for d in demands]), 0.0)
    sold = [np.zeros((n_days, n)) for _ in demands]
    if not sells.any():
        return sold
    for day in range(int(start[sells].min()), int(last.max()) + 1):
        active = sells & (start <= day) & (day <= last) & (remaining > 0)
        if not active.any():
            continue
        held = np.where(active, remaining, 0.0)
        x = _water_fill(held, np.where(active, np.minimum(held, cap), 0.0), depth)
        x = np.where(active & (day == last), held, x)
        remaining -= x
        for i in range(k):
            sold[i][day] = x[i]
    return sold


def _water_fill(weight: np.ndarray, upper: np.ndarray, depth: float) -> np.ndarray:
    """``x_i = min(upper_i, lambda weight_i)`` per column with ``sum_i x_i = min(depth, sum_i upper_i)``.

    ``weight``, ``upper``: ``(k, n_paths)``, >= 0, ``upper`` 0 where ``weight`` is 0. At most ``k`` rounds: each
    round shares what is left of the depth pro rata to ``weight`` among the sellers below their cap, and either
    exhausts it or caps at least one more seller.
    """
    if math.isinf(depth):
        return upper.copy()
    x = np.zeros_like(upper)
    budget = np.full(upper.shape[1], depth)
    free = upper > 0
    for _ in range(upper.shape[0]):
        w = np.where(free, weight, 0.0)
        total = w.sum(axis=0)
        if not np.any((total > 0) & (budget > 0)):
            break
        give = budget * np.divide(w, total, out=np.zeros_like(w), where=total > 0)
        take = np.minimum(give, upper - x)
        x += take
        budget = np.maximum(budget - take.sum(axis=0), 0.0)
        free &= x < upper
    return x
