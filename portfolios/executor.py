"""Run a per-block computation over all path blocks: in-process, on a local Dask cluster, or on a remote one.

Work is split along the path-block convention of :mod:`carbonrisk.models.random`: task ``k`` covers blocks
``[k * blocks_per_task, (k + 1) * blocks_per_task)`` and draws only from those blocks' own generators. Each task
returns a dict of arrays whose LAST axis is paths; as tasks finish (in any order) their columns are written into
arrays preallocated for the whole run (or into ``.npy`` files for arrays with many values per path), integer
histogram counts are added, and per-block values are concatenated in block order. The merged results are
therefore bit-identical for one process, any number of workers and any ``blocks_per_task``, and merging never
holds the parts and the whole at once.

The default path imports nothing from Dask. ``workers=N`` starts a ``dask.distributed.LocalCluster`` of N
single-threaded worker processes (environment :data:`SINGLE_THREAD_ENV`: no nested numba or BLAS threads);
``scheduler="tcp://host:8786"`` connects to an existing cluster. Dask retries a task whose worker died
(``retries``); a run that still cannot finish raises :class:`ExecutionError` and the caller writes nothing.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from carbonrisk.models.exceptions import CarbonRiskError, InputError
from carbonrisk.models.random import BLOCK_PATHS, RngLike, root_seed_sequence

__all__ = [
    "SCHEDULER_FORMS",
    "SINGLE_THREAD_ENV",
    "BlockTask",
    "ExecutionError",
    "check_scheduler_address",
    "dask_client",
    "map_blocks",
]

BlockResult = Mapping[str, np.ndarray]

SINGLE_THREAD_ENV: Mapping[str, str] = {
    "CARBONRISK_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
"""Environment of local-cluster workers: one core per worker process (Dask's model), no nested thread pools."""


class ExecutionError(CarbonRiskError, RuntimeError):
    """A distributed run could not finish (after Dask's retries)."""


@dataclass(frozen=True)
class BlockTask:
    """One unit of work: blocks ``first_block:last_block`` of a run of ``n_paths`` paths seeded by ``seed``."""

    index: int
    first_block: int
    last_block: int
    n_paths: int
    seed: np.random.SeedSequence

    @property
    def start(self) -> int:
        """First path (column) of the task."""
        return self.first_block * BLOCK_PATHS

    @property
    def stop(self) -> int:
        """One past the last path of the task."""
        return min(self.last_block * BLOCK_PATHS, self.n_paths)


def plan_tasks(n_paths: int, rng: RngLike, blocks_per_task: int = 1) -> list[BlockTask]:
    """Cut a run into tasks of ``blocks_per_task`` blocks each."""
    if isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer)) or n_paths <= 0:
        raise InputError(f"n_paths={n_paths!r} must be a positive integer")
    if blocks_per_task < 1:
        raise InputError(f"blocks_per_task={blocks_per_task} must be >= 1")
    seed = root_seed_sequence(rng)
    n_blocks = -(-int(n_paths) // BLOCK_PATHS)
    starts = range(0, n_blocks, blocks_per_task)
    return [BlockTask(k, b, min(b + blocks_per_task, n_blocks), int(n_paths), seed) for k, b in enumerate(starts)]


class _Merger:
    """Merges task results as they arrive, in any order, into the arrays of the whole run.

    * ``sum_keys``: integer arrays added up (exact in any order);
    * ``block_keys``: arrays with one entry per block on the last axis, concatenated in block order at the end;
    * arrays with ``spill_rows`` or more values per path: written into their columns of ``spill_dir/<key>.npy``
      with positioned writes (``os.pwrite``, one per row segment): no memory map, so writing never reads the
      file back (a map does, page by page, once the kernel has dropped the pages from its cache);
    * every other key: written into its columns of an array preallocated for all ``n_paths`` paths, so merging
      never holds the parts and the result at once.
    """

    def __init__(
        self,
        tasks: list[BlockTask],
        sum_keys: Collection[str],
        block_keys: Collection[str],
        spill_dir: Path | None,
        spill_rows: int | None,
    ) -> None:
        if spill_rows is not None and spill_dir is None:
            raise InputError("spill_rows needs a spill_dir")
        self.tasks = tasks
        self.n_paths = tasks[0].n_paths if tasks else 0
        self.sum_keys = frozenset(sum_keys)
        self.block_keys = frozenset(block_keys)
        self.spill_rows = spill_rows
        self.spill_keys: set[str] = set()
        self.spill_dir = spill_dir
        self.block_parts: list[dict[str, np.ndarray]] = [{} for _ in tasks]
        self.arrays: dict[str, np.ndarray] = {}
        self.files: dict[str, tuple[int, int]] = {}
        """Spilled key -> (open file descriptor, byte offset of the data)."""
        self.keys: list[str] | None = None

    def add(self, index: int, result: BlockResult) -> None:
        keys = list(result)
        if self.keys is None:
            self.keys = keys
        elif keys != self.keys:
            raise ExecutionError(f"block results disagree on their keys: {self.keys} vs {keys}")
        task = self.tasks[index]
        for k in keys:
            value = np.asarray(result[k])
            if k in self.sum_keys:
                if not np.issubdtype(value.dtype, np.integer):
                    raise ExecutionError(f"summed result '{k}' has dtype {value.dtype}; only integers add exactly")
                if k in self.arrays:
                    self.arrays[k] += value
                else:
                    self.arrays[k] = value.astype(np.int64)
            elif k in self.block_keys:
                self.block_parts[index][k] = value
            else:
                if self.spill_rows is not None and value[..., 0].size >= self.spill_rows:
                    self.spill_keys.add(k)
                if value.shape[-1] != task.stop - task.start:
                    raise ExecutionError(
                        f"result '{k}' of task {index} has {value.shape[-1]} columns; expected one per path "
                        f"({task.stop - task.start})"
                    )
                if k in self.spill_keys:
                    self._write_columns(k, value, task.start)
                else:
                    if k not in self.arrays:
                        self.arrays[k] = np.empty((*value.shape[:-1], self.n_paths), dtype=value.dtype)
                    self.arrays[k][..., task.start : task.stop] = value

    def _write_columns(self, key: str, value: np.ndarray, start: int) -> None:
        """Write ``value`` into columns ``start:`` of the ``.npy`` file of ``key`` (created, sparse, on first use)."""
        if key not in self.files:
            assert self.spill_dir is not None
            path = self.spill_dir / f"{key}.npy"
            shape = (*value.shape[:-1], self.n_paths)
            header = np.lib.format.open_memmap(path, mode="w+", dtype=value.dtype, shape=shape)
            nbytes = header.nbytes
            del header
            self.files[key] = (os.open(path, os.O_WRONLY), path.stat().st_size - nbytes)
        fd, offset = self.files[key]
        rows = np.ascontiguousarray(value).reshape(-1, value.shape[-1])
        item = rows.dtype.itemsize
        for r, row in enumerate(rows):
            os.pwrite(fd, row.tobytes(), offset + (r * self.n_paths + start) * item)

    def close(self) -> None:
        """Close the spill files (their data is then complete on disk or in the page cache)."""
        for fd, _ in self.files.values():
            os.close(fd)
        self.files.clear()

    def result(self) -> dict[str, np.ndarray]:
        self.close()
        keys = [k for k in (self.keys or []) if k not in self.spill_keys]
        out = {}
        for k in keys:
            if k in self.block_keys:
                out[k] = np.concatenate([p[k] for p in self.block_parts if k in p], axis=-1)
            else:
                out[k] = self.arrays[k]
        return out


def map_blocks(
    func: Callable[[BlockTask], BlockResult],
    n_paths: int,
    rng: RngLike,
    *,
    blocks_per_task: int = 1,
    workers: int | None = None,
    scheduler: str | None = None,
    retries: int = 2,
    progress: Callable[[int, int], None] | None = None,
    sum_keys: Collection[str] = (),
    block_keys: Collection[str] = (),
    spill_dir: Path | None = None,
    spill_rows: int | None = None,
    client: Any = None,
) -> dict[str, np.ndarray]:
    """Apply ``func`` to every task of the run and merge the results along the path axis.

    Parameters
    ----------
    func : callable
        Module-level (picklable) function of a :class:`BlockTask` returning arrays with paths on the last axis.
    n_paths, rng : int, seed
        The run; see :mod:`carbonrisk.models.random`.
    blocks_per_task : int
        Blocks per task (memory and scheduling granularity; does not change any number).
    workers : int, optional
        Start a local Dask cluster of this many worker processes.
    scheduler : str, optional
        Address of an existing ``dask.distributed`` scheduler.
    retries : int
        Dask retries of a failed task.
    progress : callable, optional
        Called as ``progress(done, total)`` after each task.
    sum_keys : collection of str
        Result keys that are integer arrays to add up across tasks (histogram counts) instead of concatenating;
        they are added as results arrive, so the driver holds one of them, not one per task.
    block_keys : collection of str
        Result keys with one entry per block (not per path) on the last axis; concatenated in block order.
    spill_dir, spill_rows : Path, int
        Per-path arrays with ``spill_rows`` or more values per path are written to ``spill_dir/<key>.npy`` instead
        of memory and left out of the returned dict, so the driver's memory does not grow with them.
    client : distributed.Client, optional
        A client from :func:`dask_client` to reuse (several runs on one cluster); then ``workers`` and
        ``scheduler`` are not used.
    """
    tasks = plan_tasks(n_paths, rng, blocks_per_task)
    _check_cluster(workers, scheduler)
    merger = _Merger(tasks, sum_keys, block_keys, spill_dir, spill_rows)
    try:
        if client is not None:
            _run_dask(client, func, tasks, retries, progress, merger)
        elif workers is None and scheduler is None:
            for task in tasks:
                merger.add(task.index, func(task))
                if progress is not None:
                    progress(task.index + 1, len(tasks))
        else:
            with dask_client(workers, scheduler) as own:
                _run_dask(own, func, tasks, retries, progress, merger)
    finally:
        merger.close()
    return merger.result()


SCHEDULER_FORMS = "tcp://host:port, tls://host:port or host:port"
"""The scheduler addresses accepted (also ``ws://``, ``wss://`` and ``ucx://`` with a host and a port)."""
_SCHEDULER = re.compile(
    r"^(?:(?:tcp|tls|ws|wss|ucx)://)?"
    r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)"
    r":([0-9]{1,5})$"
)


def check_scheduler_address(address: str) -> str:
    """Return ``address`` if it has the form of a Dask scheduler address, else raise :class:`InputError`.

    Checked before anything starts: a host (name, IPv4 or bracketed IPv6) and a port in 1-65535, with an optional
    ``tcp://``, ``tls://``, ``ws://``, ``wss://`` or ``ucx://`` scheme. Whether the scheduler answers is only known
    when connecting.

    Raises
    ------
    carbonrisk.models.exceptions.InputError
        Naming the value and :data:`SCHEDULER_FORMS`.
    """
    text = address.strip()
    match = _SCHEDULER.match(text)
    if match is None or not 1 <= int(match.group(2)) <= 65535:
        rule = "the port must be 1-65535" if match is not None else f"expected {SCHEDULER_FORMS}"
        raise InputError(f"scheduler address {address!r} is not a scheduler address; {rule}")
    return text


def _check_cluster(workers: int | None, scheduler: str | None) -> None:
    if workers is not None and scheduler is not None:
        raise InputError("give either workers or scheduler, not both")
    if scheduler is not None:
        check_scheduler_address(scheduler)
    if workers is not None and workers < 1:
        raise InputError(f"workers={workers} must be >= 1")


@contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` on a new local cluster of ``workers`` processes or on ``scheduler``; closed (and
    the local cluster shut down) on exit."""
    from distributed import Client, LocalCluster

    if workers is None and scheduler is None:
        raise InputError("give exactly one of workers or scheduler")
    _check_cluster(workers, scheduler)
    cluster: Any = None
    try:
        if scheduler is not None:
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise ExecutionError(f"cannot reach Dask scheduler '{scheduler}': {exc}") from exc
        else:
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=40,
                env=dict(SINGLE_THREAD_ENV),
            )
            client = Client(cluster)
        with client:
            yield client
    finally:
        if cluster is not None:
            cluster.close()


def _in_worker(func: Callable[[BlockTask], BlockResult], task: BlockTask) -> BlockResult:
    """``func(task)`` with numba's pool limited to :func:`carbonrisk.models.base.simulation_threads` in this thread.

    The limit is set here, in the task's thread, because the environment alone does not hold: a worker process
    re-imports the driver's main module (``spawn``), which may import numba before the worker's environment is set,
    sizing numba's pool to the CPU count; two such workers on two cores would each run two threads.
    """
    import numba

    from carbonrisk.models.base import simulation_threads

    numba.set_num_threads(min(simulation_threads(), numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    return func(task)


def _run_dask(
    client: Any,
    func: Callable[[BlockTask], BlockResult],
    tasks: list[BlockTask],
    retries: int,
    progress: Callable[[int, int], None] | None,
    merger: _Merger,
) -> None:
    from distributed import as_completed

    run_token = uuid.uuid4().hex[:12]
    futures = [
        client.submit(_in_worker, func, task, key=f"carbonrisk-{run_token}-{task.index}", retries=retries, pure=False)
        for task in tasks
    ]
    order = {f.key: i for i, f in enumerate(futures)}
    done = 0
    for future in as_completed(futures):
        try:
            result = future.result()
        except CarbonRiskError:
            raise
        except Exception as exc:
            if type(exc).__name__ == "KilledWorker":
                raise ExecutionError(
                    f"task {order[future.key]} of {len(futures)} was abandoned: the workers holding it died more "
                    f"often than Dask's allowed-failures; {exc}"
                ) from exc
            raise ExecutionError(
                f"task {order[future.key]} of {len(futures)} failed after {retries} retries: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        merger.add(order[future.key], result)
        future.release()
        done += 1
        if progress is not None:
            progress(done, len(futures))
