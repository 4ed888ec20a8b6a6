"""Reverse stress: the price level or shock at which a loan or a book first breaks a limit (bounded bisection).

The caller wraps its revaluation in a function ``f(x)`` of the stressed variable ``x`` (a CEA price level in
CNY/t, or a uniform relative shock) that is negative where the limit holds and positive where it is broken (e.g.
``f(s) = expected_loss(s) - 0``, ``f(s) = maintenance_ratio - coverage(s)``, ``f(shock) = VaR(shock) - limit``),
evaluated on common random numbers so that ``f`` is a deterministic, monotone-or-first-crossing function of ``x``.
:func:`find_threshold` then brackets the crossing in at most ``max_steps`` evaluations after the two ends: with
the default 10 steps the bracket shrinks by 2^10 = 1024, e.g. from [0, 200] CNY/t to under 0.2 CNY/t.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from carbonrisk.models.exceptions import InputError

__all__ = ["ReverseStressError", "ThresholdResult", "find_threshold"]


class ReverseStressError(InputError):
    """Bad arguments to the reverse-stress search."""


@dataclass(frozen=True)
class ThresholdResult:
    """Outcome of :func:`find_threshold`.

    Attributes
    ----------
    threshold : float or None
        Midpoint of the final bracket (None when ``f`` does not change sign on ``[lo, hi]``).
    lo, hi : float
        Final bracket: ``f`` has the sign of ``f(lo)`` at ``lo`` and the other sign at ``hi`` (``hi - lo``
        is the precision of ``threshold``, which is within ``(hi - lo)/2`` of a crossing).
    f_lo, f_hi : float
        ``f`` at the final bracket ends.
    steps : int
        Bisection steps taken (evaluations of ``f`` besides the two initial ends).
    converged : bool
        True when ``hi - lo <= tol`` (or ``f`` hit 0 exactly) within ``max_steps``.
    bracketed : bool
        False when ``f(lo)`` and ``f(hi)`` have the same sign (no crossing to find; nothing else is computed).
    history : pandas.DataFrame
        Every evaluation: ``x``, ``f``.
    """

    threshold: float | None
    lo: float
    hi: float
    f_lo: float
    f_hi: float
    steps: int
    converged: bool
    bracketed: bool
    history: pd.DataFrame


def find_threshold(
    f: Callable[[float], float],
    lo: float,
    hi: float,
    *,
    tol: float,
    max_steps: int = 10,
) -> ThresholdResult:
    """Bisection for a sign change of ``f`` on ``[lo, hi]``, at most ``max_steps`` steps.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``; its sign must differ at ``lo`` and ``hi`` (either order). For a function with
        several crossings bisection returns one of them; to get the first crossing below a starting price,
        search ``[crash level, start]`` with ``f`` positive where the limit is broken and the first crossing
        nearest the start unique (monotone ``f``), as for losses against a falling price.
    lo, hi : float
        Bracket, ``lo < hi``, finite.
    tol : float
        Stop once ``hi - lo <= tol`` (> 0).
    max_steps : int, default 10
        Most bisection steps (>= 0); the result says whether ``tol`` was reached.

    Returns
    -------
    ThresholdResult

    Notes
    -----
    Each step evaluates :math:`f(m)`, :math:`m = (lo + hi)/2`, and keeps the half whose ends have opposite signs;
    after :math:`k` steps :math:`hi - lo = (hi_0 - lo_0)/2^k`. A value ``f(x) == 0`` ends the search at ``x``.
    A non-finite ``f`` value raises :class:`ReverseStressError`.
    """
    for name, v in (("lo", lo), ("hi", hi), ("tol", tol)):
        if not math.isfinite(float(v)):
            raise ReverseStressError(f"{name}={v!r} must be finite")
    a, b = float(lo), float(hi)
    if not a < b:
        raise ReverseStressError(f"lo={lo!r} must be below hi={hi!r}")
    if not tol > 0:
        raise ReverseStressError(f"tol={tol!r} must be > 0")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 0:
        raise ReverseStressError(f"max_steps={max_steps!r} must be an integer >= 0")
    xs: list[float] = []
    fs: list[float] = []

    def ev(x: float) -> float:
        y = float(f(x))
        if not math.isfinite(y):
            raise ReverseStressError(f"f({x!r})={y!r} must be finite")
        xs.append(x)
        fs.append(y)
        return y

    fa, fb = ev(a), ev(b)

    def done(threshold: float | None, steps: int, converged: bool, bracketed: bool = True) -> ThresholdResult:
        return ThresholdResult(threshold, a, b, fa, fb, steps, converged, bracketed, pd.DataFrame({"x": xs, "f": fs}))

    if fa == 0.0:
        return done(a, 0, True)
    if fb == 0.0:
        return done(b, 0, True)
    if (fa > 0) == (fb > 0):
        return done(None, 0, False, bracketed=False)
    steps = 0
    while b - a > tol and steps < max_steps:
        m = 0.5 * (a + b)
        fm = ev(m)
        steps += 1
        if fm == 0.0:
            a = b = m
            fa = fb = 0.0
            return done(m, steps, True)
        if (fm > 0) == (fa > 0):
            a, fa = m, fm
        else:
            b, fb = m, fm
    return done(0.5 * (a + b), steps, b - a <= tol)
