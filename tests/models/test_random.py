"""Block seeding convention: same seed, same numbers, whatever the order or subset of blocks generated."""

from __future__ import annotations

import numpy as np
import pytest

from carbonrisk.models.exceptions import InputError
from carbonrisk.models.random import BLOCK_PATHS, block_generator, iter_blocks, root_seed_sequence


def _draw_all(n_paths: int, seed: int, blocks: list[int] | None = None) -> np.ndarray:
    out = np.full((3, n_paths), np.nan)
    for block in iter_blocks(n_paths, seed):
        if blocks is None or block.index in blocks:
            out[:, block.start : block.stop] = block.rng.standard_normal((3, block.size))
    return out


def test_blocks_cover_paths_exactly() -> None:
    blocks = list(iter_blocks(2 * BLOCK_PATHS + 5, 7))
    assert [(b.start, b.stop) for b in blocks] == [
        (0, BLOCK_PATHS),
        (BLOCK_PATHS, 2 * BLOCK_PATHS),
        (2 * BLOCK_PATHS, 2 * BLOCK_PATHS + 5),
    ]


def test_block_numbers_do_not_depend_on_which_blocks_are_generated() -> None:
    n = 3 * BLOCK_PATHS + 17
    full = _draw_all(n, 42)
    odd = _draw_all(n, 42, blocks=[1, 3])
    even = _draw_all(n, 42, blocks=[0, 2])
    merged = np.where(np.isnan(odd), even, odd)
    np.testing.assert_array_equal(full, merged)
    alone = block_generator(root_seed_sequence(42), 2).standard_normal((3, BLOCK_PATHS))
    np.testing.assert_array_equal(full[:, 2 * BLOCK_PATHS : 3 * BLOCK_PATHS], alone)


def test_worker_range_matches_full_run() -> None:
    n = 4 * BLOCK_PATHS
    full = _draw_all(n, 5)
    part = np.full_like(full, np.nan)
    for block in iter_blocks(n, 5, first_block=2, last_block=4):
        part[:, block.start : block.stop] = block.rng.standard_normal((3, block.size))
    np.testing.assert_array_equal(full[:, 2 * BLOCK_PATHS :], part[:, 2 * BLOCK_PATHS :])


def test_seeds_differ_and_generator_input_is_deterministic() -> None:
    assert not np.array_equal(_draw_all(100, 1), _draw_all(100, 2))
    a = root_seed_sequence(np.random.default_rng(9)).entropy
    b = root_seed_sequence(np.random.default_rng(9)).entropy
    assert a == b


@pytest.mark.parametrize("bad", [-1, 1.5, "7", True])
def test_bad_seed(bad: object) -> None:
    with pytest.raises(InputError, match=r"seed|rng"):
        root_seed_sequence(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -5])
def test_bad_path_count(bad: int) -> None:
    with pytest.raises(InputError, match=rf"n_paths={bad} must be a positive integer"):
        list(iter_blocks(bad, 1))
