"""The numba PCG64 / SeedSequence reproduce numpy's block generators bit for bit (carbonrisk.models.random
convention)."""

from __future__ import annotations

import numpy as np
import pytest

from carbonrisk.models.pcg64 import block_states, pcg64_advance, pcg64_next, raw_words, state_words
from carbonrisk.models.random import block_generator, root_seed_sequence

ROOTS = [
    np.random.SeedSequence(2024),
    np.random.SeedSequence(0),
    np.random.SeedSequence(2**130 + 77),  # entropy wider than the pool
    np.random.SeedSequence([1, 2**40, 3, 4]),
    np.random.SeedSequence(5, spawn_key=(7,)),
    np.random.SeedSequence(5, pool_size=8),
    np.random.SeedSequence(2**200 + 1, spawn_key=(1, 2**33), pool_size=8),
    np.random.SeedSequence(np.arange(3, dtype=np.uint32)),  # not ints: numpy's own SeedSequence per block
    root_seed_sequence(np.random.default_rng(3)),
]


@pytest.mark.parametrize("root", ROOTS)
def test_block_states_match_numpy_seed_sequence(root: np.random.SeedSequence) -> None:
    states = block_states(root, 3, 40)
    for b in (3, 4, 17, 39):
        child = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, b), pool_size=root.pool_size)
        np.testing.assert_array_equal(states[b - 3], child.generate_state(4, np.uint64))


@pytest.mark.parametrize("root", ROOTS)
@pytest.mark.parametrize("block", [0, 5])
def test_raw_words_match_numpy_pcg64(root: np.random.SeedSequence, block: int) -> None:
    expected = block_generator(root, block).bit_generator.random_raw(2000)
    np.testing.assert_array_equal(raw_words(root, block, 2000), expected)


def test_fresh_entropy_matches_too() -> None:
    root = np.random.SeedSequence()  # 128 bits of fresh entropy, as rng=None gives
    np.testing.assert_array_equal(raw_words(root, 2, 10), block_generator(root, 2).bit_generator.random_raw(10))


@pytest.mark.parametrize("delta", [0, 1, 2, 1487, 2**40 + 12345, 2**63 + 77, 2**64 - 1])
def test_advance_matches_numpy(delta: int) -> None:
    """The jump-ahead lands where numpy's ``PCG64.advance`` does and the next word agrees."""
    bit_gen = np.random.PCG64(np.random.SeedSequence(delta))
    state = state_words(bit_gen)
    pcg64_advance(state, np.uint64(delta))
    bit_gen.advance(delta)
    np.testing.assert_array_equal(state, state_words(bit_gen))
    assert pcg64_next(state) == bit_gen.random_raw()
