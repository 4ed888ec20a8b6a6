"""Shared plumbing of the ``carbonrisk`` subcommands: parser class, console, JSON output."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn

from rich.console import Console

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.quantities import BLOCKS_PER_TASK, WORKERS
from carbonrisk.models.validation import argparse_type
from carbonrisk.portfolios.executor import SCHEDULER_FORMS, check_scheduler_address

__all__ = ["OneLineParser", "add_json_flag", "console", "positive_int", "print_json"]

console = Console(highlight=False, soft_wrap=True)
"""Where human-readable output goes (stdout)."""


class OneLineParser(argparse.ArgumentParser):
    """``argparse`` parser whose usage errors are one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def positive_int(text: str) -> int:
    """``argparse`` type: an integer > 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer value: '{text}'") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """``argparse`` type: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer value: '{text}'") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def scheduler_address(text: str) -> str:
    """``argparse`` type: a Dask scheduler address (:func:`carbonrisk.portfolios.executor.check_scheduler_address`)."""
    try:
        return check_scheduler_address(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """Add ``--json`` (machine-readable output on stdout, nothing else there)."""
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout instead of tables")


def print_json(payload: Any) -> None:
    """Print ``payload`` as JSON on stdout."""
    sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def add_scaleout_flags(parser: argparse.ArgumentParser) -> None:
    """``--workers N`` (local Dask cluster), ``--scheduler ADDRESS`` (existing cluster), ``--blocks-per-task K``."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--workers",
        type=argparse_type(WORKERS),
        default=None,
        metavar="N",
        help="run on a local Dask cluster of N processes",
    )
    group.add_argument(
        "--scheduler",
        type=scheduler_address,
        default=None,
        metavar="ADDRESS",
        help=f"run on an existing Dask cluster ({SCHEDULER_FORMS}, e.g. tcp://127.0.0.1:8786)",
    )
    parser.add_argument(
        "--blocks-per-task",
        type=argparse_type(BLOCKS_PER_TASK),
        default=1,
        metavar="K",
        help="4096-path blocks per task (memory / scheduling granularity; never changes a number)",
    )
