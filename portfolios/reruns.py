"""How each kind of recorded run is recomputed from its stored inputs (used by ``carbonrisk runs rerun``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from carbonrisk.portfolios.exceptions import InputError

__all__ = ["rerun"]


def _rerun_report(inputs: Mapping[str, Any]) -> dict[str, Any]:
    from carbonrisk.portfolios.runner import rerun_report

    return rerun_report(dict(inputs))


_RERUNNERS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {"report": _rerun_report}
RETIRED: dict[str, str] = {
    "demo": "the walking-skeleton pipeline of 'carbonrisk demo --cea-holding' was retired (the command now runs "
    "the embedded portfolio cea_holding.toml on the portfolio engine, recorded as a report run); run it again"
}
"""Kinds of run that older versions recorded and that can no longer be recomputed, and why."""


def register(kind: str, func: Callable[[Mapping[str, Any]], dict[str, Any]]) -> None:
    """Register how runs of ``kind`` are recomputed."""
    _RERUNNERS[kind] = func


def rerun(kind: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Recompute a run of ``kind`` from ``inputs`` and return its metrics."""
    if kind in RETIRED:
        raise InputError(f"runs of kind '{kind}' cannot be recomputed: {RETIRED[kind]}")
    try:
        func = _RERUNNERS[kind]
    except KeyError:
        raise InputError(f"runs of kind '{kind}' cannot be recomputed; known kinds: {sorted(_RERUNNERS)}") from None
    return func(inputs)
