"""Block executor: identical merged arrays in-process, with any task size, and on a real 2-worker LocalCluster."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pytest

from carbonrisk.models.random import BLOCK_PATHS, iter_blocks
from carbonrisk.portfolios.executor import BlockTask, ExecutionError, map_blocks, plan_tasks


def draw_block(task: BlockTask) -> dict[str, np.ndarray]:
    """Per task: a (3, paths) array of normals and one terminal value per path."""
    width = task.stop - task.start
    normals = np.empty((3, width))
    for block in iter_blocks(task.n_paths, task.seed, first_block=task.first_block, last_block=task.last_block):
        normals[:, block.start - task.start : block.stop - task.start] = block.rng.standard_normal((3, block.size))
    return {"normals": normals, "terminal": normals.sum(axis=0)}


def fail_block(task: BlockTask) -> dict[str, np.ndarray]:
    raise ValueError(f"broken task {task.index}")


def die_once_block(task: BlockTask, marker_dir: str) -> dict[str, np.ndarray]:
    """Kill the worker process the first time task 1 runs (a crash, not an exception), then compute normally."""
    marker = Path(marker_dir) / f"died-{task.index}"
    if task.index == 1 and not marker.exists():
        marker.touch()
        os._exit(1)
    return draw_block(task)


def always_die_block(task: BlockTask) -> dict[str, np.ndarray]:
    if task.index == 1:
        os._exit(1)
    return draw_block(task)


N_PATHS = 3 * BLOCK_PATHS + 123


def test_plan_covers_all_blocks() -> None:
    tasks = plan_tasks(N_PATHS, 1, blocks_per_task=3)
    assert [(t.first_block, t.last_block) for t in tasks] == [(0, 3), (3, 4)]
    assert tasks[-1].stop == N_PATHS


def test_in_process_is_independent_of_task_size() -> None:
    calls: list[tuple[int, int]] = []
    one = map_blocks(draw_block, N_PATHS, 11, progress=lambda d, t: calls.append((d, t)))
    three = map_blocks(draw_block, N_PATHS, 11, blocks_per_task=3)
    assert one["normals"].shape == (3, N_PATHS)
    np.testing.assert_array_equal(one["normals"], three["normals"])
    np.testing.assert_array_equal(one["terminal"], three["terminal"])
    assert calls[-1] == (4, 4)


@pytest.mark.slow
def test_local_cluster_of_two_workers_is_bit_identical() -> None:
    pytest.importorskip("distributed")
    serial = map_blocks(draw_block, N_PATHS, 5)
    parallel = map_blocks(draw_block, N_PATHS, 5, workers=2, blocks_per_task=2)
    np.testing.assert_array_equal(serial["normals"], parallel["normals"])
    with pytest.raises(ExecutionError, match=r"failed after 0 retries: ValueError: broken task"):
        map_blocks(fail_block, N_PATHS, 5, workers=2, retries=0)


@pytest.mark.slow
def test_a_worker_that_dies_is_replaced_and_its_task_rerun(tmp_path: Path) -> None:
    """Dask restarts a dead worker and reruns its task: same arrays as in-process. A task that kills every worker
    it runs on ends the run with one error and no result."""
    pytest.importorskip("distributed")
    serial = map_blocks(draw_block, N_PATHS, 5)
    crashed = map_blocks(functools.partial(die_once_block, marker_dir=str(tmp_path)), N_PATHS, 5, workers=2)
    assert (tmp_path / "died-1").exists()
    np.testing.assert_array_equal(serial["normals"], crashed["normals"])
    dask = pytest.importorskip("dask")
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):  # two deaths, not four: a shorter test
        # the task that kills its worker, or one queued on the same worker (Dask counts both as suspicious)
        with pytest.raises(ExecutionError, match=r"task \d of 4 was abandoned: the workers holding it died"):
            map_blocks(always_die_block, N_PATHS, 5, workers=2)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="either workers or scheduler"):
        map_blocks(draw_block, 10, 1, workers=2, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(ValueError, match="blocks_per_task=0 must be >= 1"):
        plan_tasks(10, 1, 0)


@pytest.mark.slow
def test_existing_scheduler_address_is_bit_identical() -> None:
    distributed = pytest.importorskip("distributed")
    serial = map_blocks(draw_block, N_PATHS, 9)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        remote = map_blocks(draw_block, N_PATHS, 9, scheduler=cluster.scheduler_address)
    np.testing.assert_array_equal(serial["terminal"], remote["terminal"])


def test_large_per_path_arrays_are_spilled_to_disk(tmp_path: Path) -> None:
    """Arrays with ``spill_rows`` or more values per path go to ``.npy`` files, column for column the merged array;
    smaller ones stay in memory; integer ``sum_keys`` add up across tasks."""

    def wide(task: BlockTask) -> dict[str, np.ndarray]:
        out = draw_block(task)
        return out | {"wide": np.tile(out["normals"], (4, 1)), "count": np.array([task.stop - task.start])}

    memory = map_blocks(wide, N_PATHS, 3, blocks_per_task=2, sum_keys=["count"], spill_dir=tmp_path, spill_rows=8)
    assert set(memory) == {"normals", "terminal", "count"}
    assert int(memory["count"][0]) == N_PATHS
    spilled = np.load(tmp_path / "wide.npy")
    np.testing.assert_array_equal(spilled, np.tile(map_blocks(draw_block, N_PATHS, 3)["normals"], (4, 1)))
