"""``carbonrisk simulate``: simulate price paths of a fitted model and print quantiles per date."""

from __future__ import annotations

import argparse
import time
from contextlib import ExitStack
from pathlib import Path

from rich.table import Table

from carbonrisk.models.base import simulation_threads
from carbonrisk.models.data import load_prices
from carbonrisk.models.grid import FREQUENCIES, SimulationGrid
from carbonrisk.models.joint import BasisParams, JointCeaCcer, fit_basis
from carbonrisk.models.memory import check_memory, estimate_price_paths
from carbonrisk.models.quantities import SEED, SIMULATE_HORIZON, SIMULATE_PATHS
from carbonrisk.models.scenarios import load_scenario
from carbonrisk.models.validation import argparse_type
from carbonrisk.portfolios.cli._common import (
    add_json_flag,
    add_scaleout_flags,
    console,
    print_json,
)
from carbonrisk.portfolios.cli.fit_cmd import _clean, add_model_arguments, fit_from_args
from carbonrisk.portfolios.cluster import simulate_paths
from carbonrisk.portfolios.io import OutputFile

__all__ = ["register"]

_HELP = """\
Fit a price model to PRICES and simulate --paths price paths from the last close over --horizon (10d, 6m, 20y...;
at most 35 years) on a daily (SSE trading days), weekly, monthly or yearly grid. With --scenario (low, mid, high or
a CSV year,price_cny_per_t) the median follows that trend curve after a 2-year glide from the last close. With
--ccer the CCER price is simulated jointly (CCER = CEA exp(-basis), documented default basis, or fitted on the
CCER price FILE given). The seed makes the run reproducible on any machine, whatever the number of threads.

Without --out only summaries are kept (streaming; memory does not grow with --paths). With --out the full path
set is written as Parquet (columns date, path, CEA[, CCER]) atomically; an existing FILE is replaced only with
--overwrite (checked before the fit).

--workers N runs the blocks of paths on a local Dask cluster of N processes, --scheduler ADDRESS on an existing
one; the numbers are bit-identical to the in-process run (each 4096-path block has its own seed stream, histogram
counts add exactly, per-block sums are added in block order).

JSON keys: model, data, scenario, horizon, freq, n_paths, seed, start_date, start_price_cny_per_t,
policy_applied, warnings, n_nonfinite, elapsed_s, out (path or null), factors ({"CEA": {...}, "CCER": {...}}: each
with dates, mean and quantiles {"q0.05": [...], ...} in CNY/t, one value per date), basis (with --ccer).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` subcommand."""
    parser = subparsers.add_parser(
        "simulate",
        help="simulate price paths (quantiles per date, optional Parquet)",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_arguments(parser)
    parser.add_argument("--scenario", default=None, help="trend curve: low, mid, high or a CSV file")
    parser.add_argument(
        "--horizon",
        type=argparse_type(SIMULATE_HORIZON),
        default="1y",
        help="horizon such as 250d, 6m, 20y (default %(default)s)",
    )
    parser.add_argument("--freq", choices=FREQUENCIES, default="M", help="grid frequency (default %(default)s)")
    parser.add_argument(
        "--paths", type=argparse_type(SIMULATE_PATHS), default=10_000, metavar="N", help="paths (default %(default)s)"
    )
    parser.add_argument("--seed", type=argparse_type(SEED), default=20240131, metavar="S", help="random seed")
    parser.add_argument(
        "--ccer", nargs="?", const="default", default=None, metavar="FILE", help="also simulate CCER (basis)"
    )
    parser.add_argument("--out", default=None, metavar="FILE", help="write the full path set to a Parquet file")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the --out file if it exists (otherwise refused)"
    )
    add_scaleout_flags(parser)
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``carbonrisk simulate``."""
    start = time.perf_counter()
    scenario = load_scenario(args.scenario) if args.scenario is not None else None
    history = load_prices(args.prices, args.column)
    if scenario is not None:
        scenario.require_covers(history.last_date)
    grid = SimulationGrid.build(history.last_date, args.horizon, args.freq)  # checked before the (slower) fit
    check_memory(
        estimate_price_paths(
            f"simulate --paths {args.paths}",
            args.paths,
            len(grid.dates),
            1 if args.ccer is None else 2,
            full=bool(args.out),
            threads=simulation_threads(),
            workers=args.workers,
        )
    )
    out: Path | None = None
    with ExitStack() as stack:
        # the output file is checked (exists without --overwrite, unwritable folder) before the fit and the paths
        target = stack.enter_context(OutputFile(args.out, overwrite=args.overwrite)) if args.out else None
        model = fit_from_args(args)
        basis: BasisParams | None = None
        if args.ccer is not None:
            basis = BasisParams() if args.ccer == "default" else fit_basis(history, load_prices(args.ccer))
            model = JointCeaCcer(model, basis)
        paths, summary = simulate_paths(
            model,
            grid,
            args.paths,
            args.seed,
            scenario=scenario,
            full=target is not None,
            workers=args.workers,
            scheduler=args.scheduler,
            blocks_per_task=args.blocks_per_task,
        )
        if target is not None and paths is not None:
            paths.to_parquet(target.staging)
            out = target.commit()
    meta = dict(summary.meta)
    payload = {
        "model": meta.get("model"),
        "data": history.name,
        "scenario": scenario.name if scenario is not None else None,
        "horizon": args.horizon,
        "freq": args.freq,
        "n_paths": summary.n_paths,
        "seed": args.seed,
        "start_date": str(grid.start.date()),
        "start_price_cny_per_t": history.last_price,
        "policy_applied": meta.get("policy_applied"),
        "warnings": list(meta.get("warnings", [])),
        "n_nonfinite": summary.n_nonfinite,
        "elapsed_s": time.perf_counter() - start,
        "out": str(out) if out is not None else None,
        "factors": {
            name: {
                "dates": [str(d.date()) for d in summary.dates],
                "mean": summary.mean[name].tolist(),
                "quantiles": {c: frame[c].tolist() for c in frame.columns},
            }
            for name, frame in summary.quantiles.items()
        },
    }
    if basis is not None:
        payload["basis"] = basis.to_dict()
    if args.json:
        print_json(_clean(payload))
        return 0
    console.print(
        f"{payload['model']} on {history.name}, {summary.n_paths:,} paths, seed {args.seed}, horizon {args.horizon} "
        f"({args.freq}, {grid.n_steps} dates), scenario {payload['scenario'] or 'none'}; "
        f"persistence policy: {payload['policy_applied']}"
    )
    for name, frame in summary.quantiles.items():
        table = Table(title=f"{name} price quantiles, CNY/t")
        table.add_column("date", justify="left")
        for col in frame.columns:
            table.add_column(col, justify="right")
        step = max(1, len(frame) // 12)
        rows = list(range(0, len(frame), step))
        if rows[-1] != len(frame) - 1:
            rows.append(len(frame) - 1)
        for i in rows:
            table.add_row(str(frame.index[i].date()), *(f"{v:,.2f}" for v in frame.iloc[i]))
        console.print(table)
    if out is not None:
        console.print(f"paths: {out}")
    console.print(f"({payload['elapsed_s']:.1f} s)")
    return 0
