"""``carbonrisk runs``: the audit trail of every run (list, show, rerun, diff)."""

from __future__ import annotations

import argparse

from rich.table import Table

from carbonrisk.models.quantities import RUNS_LIMIT
from carbonrisk.models.validation import argparse_type
from carbonrisk.portfolios.cli._common import add_json_flag, console, print_json
from carbonrisk.portfolios.ledger import (
    RERUN_RTOL,
    Ledger,
    compare_metrics,
    environment_versions,
    flatten_metrics,
    same_environment,
)
from carbonrisk.portfolios.reruns import rerun

__all__ = ["register"]

_HELP = """\
Every run of `carbonrisk demo` and `carbonrisk report` is recorded in an SQLite ledger at
$CARBONRISK_HOME/ledger.sqlite (else $XDG_DATA_HOME/carbonrisk/ledger.sqlite, else
~/.local/share/carbonrisk/ledger.sqlite): id, time, kind, seed, path count, inputs, input file hashes, package and
dependency versions, the environment's fingerprint (hash of the installed packages, of requirements.lock and
whether they match), summary metrics.

JSON keys: `runs list --json` -> list of {id, created_utc, kind, seed, n_paths, output_dir};
`runs show ID --json` -> the same plus inputs, input_hashes, versions, metrics;
`runs rerun ID --json` -> {id, identical (bool), comparison ("exact" | "relative tolerance"), rtol,
same_environment, n_metrics, differences: [{metric, a, b, difference}]}. The comparison is exact when the recorded
environment (Python, machine, CPU, hash of the installed packages) is the current one, else numbers within a
relative tolerance of 1e-5 count as equal (the tolerance is printed);
`runs diff ID1 ID2 --json` -> {a, b, identical, differences: [...]} (a = ID1, b = ID2).
`runs rerun` exits 1 when a recomputed metric differs.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``runs`` subcommand group."""
    runs = subparsers.add_parser(
        "runs", help="audit trail of runs", description=_HELP, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    inner = runs.add_subparsers(dest="runs_command", metavar="SUBCOMMAND", required=True, parser_class=type(runs))
    listing = inner.add_parser("list", help="list recorded runs, newest first")
    listing.add_argument("--limit", type=argparse_type(RUNS_LIMIT), default=None, help="show only the newest N runs")
    add_json_flag(listing)
    listing.set_defaults(func=run_list)
    show = inner.add_parser("show", help="everything recorded about one run")
    show.add_argument("run_id", metavar="ID", help="run id (a unique prefix is enough)")
    add_json_flag(show)
    show.set_defaults(func=run_show)
    again = inner.add_parser("rerun", help="recompute a run and check that every metric is identical")
    again.add_argument("run_id", metavar="ID")
    add_json_flag(again)
    again.set_defaults(func=run_rerun)
    diff = inner.add_parser("diff", help="metrics that differ between two runs")
    diff.add_argument("run_a", metavar="ID1")
    diff.add_argument("run_b", metavar="ID2")
    add_json_flag(diff)
    diff.set_defaults(func=run_diff)


def run_list(args: argparse.Namespace) -> int:
    """Execute ``carbonrisk runs list``."""
    ledger = Ledger(readonly=True)
    records = ledger.list(limit=args.limit)
    if args.json:
        print_json([r.to_dict(full=False) for r in records])
        return 0
    table = Table(title=f"{len(records)} run(s) in {ledger.path}")
    for col in ("id", "created (UTC)", "kind", "seed", "paths", "output"):
        table.add_column(col, no_wrap=col in ("id", "created (UTC)"))
    for r in records:
        table.add_row(
            r.id, r.created_utc, r.kind, str(r.seed), f"{r.n_paths:,}" if r.n_paths else "", r.output_dir or ""
        )
    console.print(table)
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Execute ``carbonrisk runs show``."""
    record = Ledger(readonly=True).get(args.run_id)
    if args.json:
        print_json(record.to_dict())
        return 0
    console.print_json(data=record.to_dict())
    return 0


def _print_differences(title: str, differences: list[dict[str, object]]) -> None:
    if not differences:
        console.print(f"{title}: every metric identical")
        return
    table = Table(title=f"{title}: {len(differences)} metric(s) differ")
    for col in ("metric", "a", "b", "difference"):
        table.add_column(col)
    for row in differences:
        table.add_row(*(str(row.get(k, "")) for k in ("metric", "a", "b", "difference")))
    console.print(table)


def run_rerun(args: argparse.Namespace) -> int:
    """Execute ``carbonrisk runs rerun``."""
    record = Ledger(readonly=True).get(args.run_id)
    metrics = rerun(record.kind, record.inputs)
    exact = same_environment(record.versions, environment_versions())
    rtol = 0.0 if exact else RERUN_RTOL
    differences = compare_metrics(record.metrics, metrics, rtol=rtol)

    payload = {
        "id": record.id,
        "identical": not differences,
        "comparison": "exact" if exact else "relative tolerance",
        "rtol": rtol,
        "same_environment": exact,
        "n_metrics": len(flatten_metrics(record.metrics)),
        "differences": differences,
    }
    if args.json:
        print_json(payload)
    else:
        how = (
            "same environment, exact comparison"
            if exact
            else f"environment differs from the recorded one, relative tolerance {rtol:g}"
        )
        _print_differences(f"rerun of {record.id} ({payload['n_metrics']} metrics; {how})", differences)
    return 0 if not differences else 1


def run_diff(args: argparse.Namespace) -> int:
    """Execute ``carbonrisk runs diff``."""
    ledger = Ledger(readonly=True)
    a, b = ledger.get(args.run_a), ledger.get(args.run_b)
    differences = compare_metrics(a.metrics, b.metrics)
    if args.json:
        print_json({"a": a.id, "b": b.id, "identical": not differences, "differences": differences})
    else:
        _print_differences(f"{a.id} vs {b.id}", differences)
    return 0
