"""The ``carbonrisk`` command line.

Each subcommand lives in its own module with a ``register(subparsers)`` function that adds its parser and sets
``func(args) -> int``. Errors of ours (:class:`carbonrisk.models.exceptions.CarbonRiskError`) become one line on stderr
and exit code 2; warnings of ours are printed to stderr as ``carbonrisk: warning: ...`` lines. Set
``CARBONRISK_DEBUG=1`` to see tracebacks.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import warnings
from collections.abc import Sequence

from carbonrisk.models.exceptions import CarbonRiskError, CarbonRiskWarning
from carbonrisk.portfolios import __version__
from carbonrisk.portfolios.cli import (
    backtest_cmd,
    data_cmd,
    demo_cmd,
    fit_cmd,
    reductions_cmd,
    report_cmd,
    runs_cmd,
    simulate_cmd,
    stress_cmd,
    value_cmd,
)
from carbonrisk.portfolios.cli._common import OneLineParser

__all__ = ["build_parser", "main"]

_COMMAND_MODULES = (
    demo_cmd,
    data_cmd,
    fit_cmd,
    backtest_cmd,
    simulate_cmd,
    reductions_cmd,
    value_cmd,
    report_cmd,
    stress_cmd,
    runs_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = OneLineParser(
        prog="carbonrisk",
        description="Carbon-finance and portfolio risk engine (CEA / CCER, geothermal carbon credits).",
    )
    parser.add_argument("--version", action="version", version=f"carbonrisk {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for module in _COMMAND_MODULES:
        module.register(subparsers)
    return parser


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that every ``with`` block cleans up (no staging folder is left)."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code.

    0 success; 1 an internal error (a bug: please report it) or ``runs rerun`` found a difference; 2 bad input or
    an output that cannot be written (one line on stderr, nothing written); 130 interrupted (SIGINT) and 143
    terminated (SIGTERM), nothing written.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    debug = os.environ.get("CARBONRISK_DEBUG", "") not in ("", "0")
    previous = signal.getsignal(signal.SIGTERM)
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        signal.signal(signal.SIGTERM, _raise_terminated)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CarbonRiskWarning)
        try:
            code = int(args.func(args))
        except CarbonRiskError as exc:
            if debug:
                raise
            sys.stderr.write(f"carbonrisk {args.command}: error: {_one_line(exc)}\n")
            return 2
        except KeyboardInterrupt:
            sys.stderr.write(f"carbonrisk {args.command}: interrupted; nothing was written\n")
            return 130
        except Terminated:
            sys.stderr.write(f"carbonrisk {args.command}: terminated; nothing was written\n")
            return 143
        except Exception as exc:
            if debug:
                raise
            sys.stderr.write(
                f"carbonrisk {args.command}: internal error: {type(exc).__name__}: {_one_line(exc)} "
                "(rerun with CARBONRISK_DEBUG=1 for a traceback)\n"
            )
            return 1
        finally:
            if in_main_thread:
                signal.signal(signal.SIGTERM, previous)
    for message in dict.fromkeys(_one_line(w.message) for w in caught):  # type: ignore[arg-type]
        sys.stderr.write(f"carbonrisk: warning: {message}\n")
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
