"""Reproducible randomness: fixed-size blocks of paths, each from its own ``SeedSequence`` child.

The convention every stochastic function of the engine follows:

* it takes ``rng: int | numpy.random.Generator | None`` (no global seeding, ever);
* :func:`root_seed_sequence` turns that into one root ``SeedSequence`` (an ``int`` is used as entropy, a
  ``Generator`` donates 128 bits of entropy, ``None`` draws fresh entropy that is recorded so the run can be
  repeated);
* paths are cut into blocks of :data:`BLOCK_PATHS` paths; block ``b`` draws only from the generator of the child
  ``SeedSequence(entropy, spawn_key=(b,))`` (the same child ``root.spawn()`` would give as its ``b``-th), so any
  block can be generated alone, in any order, on any worker, and the numbers for a given seed never depend on the
  chunking or the number of processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from carbonrisk.models.exceptions import InputError

__all__ = ["BLOCK_PATHS", "Block", "RngLike", "block_generator", "iter_blocks", "root_seed_sequence", "seed_entropy"]

BLOCK_PATHS: int = 4096
"""Paths per random block. Part of the reproducibility contract: changing it changes every simulated number."""

RngLike = int | np.random.Generator | np.random.SeedSequence | None


def root_seed_sequence(rng: RngLike) -> np.random.SeedSequence:
    """Return the root ``SeedSequence`` for ``rng`` (see the module docstring)."""
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(rng.integers(0, 2**32, size=4, dtype=np.uint64).tolist())
    if rng is None:
        return np.random.SeedSequence()
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (int, np.integer)):
        raise InputError(f"rng={rng!r} must be an int seed, a numpy Generator or None")
    if rng < 0:
        raise InputError(f"seed={rng} must be >= 0")
    return np.random.SeedSequence(int(rng))


def seed_entropy(root: np.random.SeedSequence) -> int | None:
    """The root's entropy as an ``int`` (recorded with every path set so a run can be repeated), else ``None``."""
    entropy = root.entropy
    return int(entropy) if isinstance(entropy, (int, np.integer)) else None


def block_generator(root: np.random.SeedSequence, block: int) -> np.random.Generator:
    """Generator of block ``block``: ``PCG64`` seeded by the child ``spawn_key=(block,)`` of ``root``."""
    child = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, block), pool_size=root.pool_size)
    return np.random.Generator(np.random.PCG64(child))


@dataclass(frozen=True)
class Block:
    """One block of paths: columns ``start:stop`` of the path set, and its own generator."""

    index: int
    start: int
    stop: int
    rng: np.random.Generator

    @property
    def size(self) -> int:
        """Number of paths in the block."""
        return self.stop - self.start


def iter_blocks(n_paths: int, rng: RngLike, *, first_block: int = 0, last_block: int | None = None) -> Iterator[Block]:
    """Yield the blocks covering ``n_paths`` paths (optionally only blocks ``first_block:last_block``).

    Parameters
    ----------
    n_paths : int
        Total number of paths of the whole run (fixes the size of the last block).
    rng : int, numpy.random.Generator, numpy.random.SeedSequence or None
        Seed of the run.
    first_block, last_block : int
        Range of block indices to yield, for a worker that computes part of a run.
    """
    if isinstance(n_paths, bool) or not isinstance(n_paths, (int, np.integer)) or n_paths <= 0:
        raise InputError(f"n_paths={n_paths!r} must be a positive integer")
    root = root_seed_sequence(rng)
    n_blocks = -(-int(n_paths) // BLOCK_PATHS)
    stop_block = n_blocks if last_block is None else min(last_block, n_blocks)
    for b in range(first_block, stop_block):
        start = b * BLOCK_PATHS
        yield Block(b, start, min(start + BLOCK_PATHS, int(n_paths)), block_generator(root, b))
