"""How each kind of recorded run is recomputed from its stored inputs (used by ``carbonrisk runs rerun``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from portfolios.exceptions import InputError

__all__ = ["demo_metrics", "rerun"]


def demo_metrics(result: Any) -> dict[str, Any]:
    """The metrics of a demo run that the ledger stores and ``rerun`` compares."""
    payload = result.to_dict()
    return {
        "risk": payload["risk"],
        "model_params": payload["model"]["params"],
        "fan_last": {k: v[-1] for k, v in payload["fan"]["quantiles"].items()},
    }


def _rerun_demo(inputs: Mapping[str, Any]) -> dict[str, Any]:
    from portfolios.demo import run_demo

    result = run_demo(
        n_paths=int(inputs["n_paths"]),
        seed=int(inputs["seed"]),
        holding_t=float(inputs["holding_t"]),
        dataset=str(inputs["dataset"]),
    )
    return demo_metrics(result)


def _rerun_report(inputs: Mapping[str, Any]) -> dict[str, Any]:
    from portfolios.runner import rerun_report

    return rerun_report(dict(inputs))


_RERUNNERS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {"demo": _rerun_demo, "report": _rerun_report}


def register(kind: str, func: Callable[[Mapping[str, Any]], dict[str, Any]]) -> None:
    """Register how runs of ``kind`` are recomputed."""
    _RERUNNERS[kind] = func


def rerun(kind: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Recompute a run of ``kind`` from ``inputs`` and return its metrics."""
    try:
        func = _RERUNNERS[kind]
    except KeyError:
        raise InputError(f"runs of kind '{kind}' cannot be recomputed; known kinds: {sorted(_RERUNNERS)}") from None
    return func(inputs)
