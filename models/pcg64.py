"""numpy's ``PCG64`` and ``SeedSequence`` in numba: the same raw words, drawn inside compiled kernels.

Block ``b`` of a run draws from ``PCG64(SeedSequence(entropy, spawn_key=(*spawn_key, b), pool_size))`` (the
convention of :mod:`carbonrisk.models.random`). Creating those two numpy objects costs about 7 us per block and each
``random_raw`` call a Python round trip, which dominated short runs (100 000 paths x 1 step: 25 blocks). This
module computes the same streams in numba, bit for bit:

* :func:`block_states` turns the root ``SeedSequence`` into each block's four 64-bit seed words, exactly
  ``SeedSequence(...).generate_state(4, numpy.uint64)``: the entropy words are assembled as numpy does (run
  entropy padded to the pool size, then the spawn key), hashed into the pool (``mix_entropy``) and expanded
  (``generate_state``), with numpy's constants. Entropy that is not an integer or a sequence of integers
  (a ``uint32`` array, a string) falls back to numpy's own ``SeedSequence``, block by block.
* :func:`pcg64_seed` and :func:`pcg64_next` are numpy's ``pcg64_set_seed`` and ``pcg64_next64``: the 128-bit
  LCG :math:`s \\leftarrow a s + c \\bmod 2^{128}` with numpy's multiplier, output XSL-RR
  :math:`\\mathrm{rotr}_{64}(s_{hi} \\oplus s_{lo}, s \\gg 122)`; the 128-bit product is one LLVM ``i128``
  multiplication (an intrinsic, like :func:`carbonrisk.models.sampler._float_bits`).

``tests/models/test_pcg64.py`` checks the seed words and the raw words against numpy for many seeds, spawn keys,
pool sizes and block indices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["block_states", "pcg64_advance", "pcg64_fill", "pcg64_next", "pcg64_seed", "raw_words", "state_words"]

_M32 = 0xFFFFFFFF
_INIT_A = 0x43B0D7E5
_MULT_A = 0x931E8875
_INIT_B = 0x8B51F9DD
_MULT_B = 0x58F38DED
_MIX_MULT_L = 0xCA01F9DD
_MIX_MULT_R = 0x4973F715
_XSHIFT = 16
_PCG_MULT_HI = 2549297995355413924
_PCG_MULT_LO = 4865540595714422341


@intrinsic
def _muladd128(typingctx: Any, s_hi: Any, s_lo: Any, m_hi: Any, m_lo: Any, a_hi: Any, a_lo: Any) -> Any:
    """``(s * m + a) mod 2^128`` on (high, low) pairs of uint64, as one LLVM i128 multiply-add."""
    u64 = types.uint64
    sig = types.UniTuple(u64, 2)(u64, u64, u64, u64, u64, u64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:  # pragma: no cover - compiled
        i128 = ir.IntType(128)
        shift = ir.Constant(i128, 64)

        def join(hi: Any, lo: Any) -> Any:
            return builder.or_(builder.shl(builder.zext(hi, i128), shift), builder.zext(lo, i128))

        r = builder.add(builder.mul(join(args[0], args[1]), join(args[2], args[3])), join(args[4], args[5]))
        lo = builder.trunc(r, ir.IntType(64))
        hi = builder.trunc(builder.lshr(r, shift), ir.IntType(64))
        return context.make_tuple(builder, signature.return_type, [hi, lo])

    return sig, codegen


@numba.njit(cache=True, nogil=True, inline="always")
def _step(state: np.ndarray) -> None:  # pragma: no cover - compiled
    mult_hi, mult_lo = np.uint64(_PCG_MULT_HI), np.uint64(_PCG_MULT_LO)
    state[0], state[1] = _muladd128(state[0], state[1], mult_hi, mult_lo, state[2], state[3])  # type: ignore[call-arg]


@numba.njit(cache=True, nogil=True)
def pcg64_seed(seed: np.ndarray, state: np.ndarray) -> None:  # pragma: no cover - compiled
    """numpy's ``pcg64_set_seed``: ``state = [s_hi, s_lo, inc_hi, inc_lo]`` from the four seed words
    ``[seed_hi, seed_lo, initseq_hi, initseq_lo]`` (``generate_state(4, uint64)``)."""
    one = np.uint64(1)
    state[0] = np.uint64(0)
    state[1] = np.uint64(0)
    state[2] = (seed[2] << one) | (seed[3] >> np.uint64(63))
    state[3] = (seed[3] << one) | one
    _step(state)
    state[0], state[1] = _muladd128(state[0], state[1], np.uint64(0), one, seed[0], seed[1])  # type: ignore[call-arg]
    _step(state)


@numba.njit(cache=True, nogil=True, inline="always")
def pcg64_next(state: np.ndarray) -> np.uint64:  # pragma: no cover - compiled
    """numpy's ``pcg64_next64``: advance, then the XSL-RR output of the new state."""
    _step(state)
    v = state[0] ^ state[1]
    rot = state[0] >> np.uint64(58)
    return (v >> rot) | (v << ((np.uint64(64) - rot) & np.uint64(63)))


@numba.njit(cache=True, nogil=True)
def pcg64_fill(state: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """The next ``out.size`` raw words, in order (``random_raw(out.size)``)."""
    for i in range(out.size):
        out[i] = pcg64_next(state)


@numba.njit(cache=True, nogil=True)
def pcg64_advance(state: np.ndarray, delta: int) -> None:  # pragma: no cover - compiled
    """Jump ``delta`` raw words ahead in O(log delta) (numpy's ``PCG64.advance``): the LCG composed with itself,
    :math:`s \\leftarrow A s + C` with :math:`A = a^\\delta`, :math:`C = c (a^\\delta - 1) / (a - 1)`, built by
    squaring (Brown, "Random number generation with arbitrary strides", 1994)."""
    zero, one = np.uint64(0), np.uint64(1)
    acc_m_hi, acc_m_lo = zero, one
    acc_p_hi, acc_p_lo = zero, zero
    cur_m_hi, cur_m_lo = np.uint64(_PCG_MULT_HI), np.uint64(_PCG_MULT_LO)
    cur_p_hi, cur_p_lo = state[2], state[3]
    d = np.uint64(delta)
    while d > zero:
        if d & one:
            acc_m_hi, acc_m_lo = _muladd128(acc_m_hi, acc_m_lo, cur_m_hi, cur_m_lo, zero, zero)  # type: ignore[call-arg]
            acc_p_hi, acc_p_lo = _muladd128(acc_p_hi, acc_p_lo, cur_m_hi, cur_m_lo, cur_p_hi, cur_p_lo)
        m1_hi, m1_lo = _muladd128(cur_m_hi, cur_m_lo, zero, one, zero, one)  # type: ignore[call-arg,var-annotated]
        cur_p_hi, cur_p_lo = _muladd128(m1_hi, m1_lo, cur_p_hi, cur_p_lo, zero, zero)
        cur_m_hi, cur_m_lo = _muladd128(cur_m_hi, cur_m_lo, cur_m_hi, cur_m_lo, zero, zero)
        d = d >> one
    state[0], state[1] = _muladd128(state[0], state[1], acc_m_hi, acc_m_lo, acc_p_hi, acc_p_lo)  # type: ignore[call-arg]


def state_words(bit_generator: np.random.PCG64) -> np.ndarray:
    """The generator's state as the ``[s_hi, s_lo, inc_hi, inc_lo]`` uint64 words the kernels here use (a copy:
    advance the generator itself with ``bit_generator.advance`` after drawing)."""
    st = bit_generator.state["state"]
    mask = (1 << 64) - 1
    return np.array([st["state"] >> 64, st["state"] & mask, st["inc"] >> 64, st["inc"] & mask], dtype=np.uint64)


@numba.njit(cache=True, nogil=True, inline="always")
def _hashmix(value: np.uint64, hash_const: np.uint64) -> tuple[np.uint64, np.uint64]:  # pragma: no cover
    m32 = np.uint64(_M32)
    value = value ^ hash_const
    hash_const = (hash_const * np.uint64(_MULT_A)) & m32
    value = (value * hash_const) & m32
    value = value ^ (value >> np.uint64(_XSHIFT))
    return value, hash_const


@numba.njit(cache=True, nogil=True, inline="always")
def _mix(x: np.uint64, y: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    r = (np.uint64(_MIX_MULT_L) * x - np.uint64(_MIX_MULT_R) * y) & np.uint64(_M32)
    return r ^ (r >> np.uint64(_XSHIFT))


@numba.njit(cache=True, nogil=True)
def _block_states(
    prefix: np.ndarray, pool_size: int, first_block: int, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    """Seed words of blocks ``first_block ..`` (one row of ``out`` each); ``prefix`` holds the assembled entropy
    words before the block index (run entropy padded to the pool size, then the parent spawn key)."""
    n_pre = prefix.size
    entropy = np.empty(n_pre + 1, dtype=np.uint64)
    entropy[:n_pre] = prefix
    pool = np.empty(pool_size, dtype=np.uint64)
    words = np.empty(8, dtype=np.uint64)
    for r in range(out.shape[0]):
        entropy[n_pre] = np.uint64(first_block + r)
        n_ent = n_pre + 1
        hc = np.uint64(_INIT_A)
        for i in range(pool_size):
            v = entropy[i] if i < n_ent else np.uint64(0)
            pool[i], hc = _hashmix(v, hc)
        for i_src in range(pool_size):
            for i_dst in range(pool_size):
                if i_src != i_dst:
                    h, hc = _hashmix(pool[i_src], hc)
                    pool[i_dst] = _mix(pool[i_dst], h)
        for i_src in range(pool_size, n_ent):
            for i_dst in range(pool_size):
                h, hc = _hashmix(entropy[i_src], hc)
                pool[i_dst] = _mix(pool[i_dst], h)
        hb = np.uint64(_INIT_B)
        for i in range(8):
            d = pool[i % pool_size] ^ hb
            hb = (hb * np.uint64(_MULT_B)) & np.uint64(_M32)
            d = (d * hb) & np.uint64(_M32)
            words[i] = d ^ (d >> np.uint64(_XSHIFT))
        for j in range(4):
            out[r, j] = words[2 * j] | (words[2 * j + 1] << np.uint64(32))


def _uint32_words(value: object) -> list[int] | None:
    """numpy's 32-bit word split of an entropy value (int: little-endian words, at least one; sequence: the
    words of each item in turn); ``None`` for anything else (left to numpy)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        v = int(value)
        if v < 0:
            return None
        out = [v & _M32]
        v >>= 32
        while v:
            out.append(v & _M32)
            v >>= 32
        return out
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        words: list[int] = []
        for item in value:
            sub = _uint32_words(item)
            if sub is None or isinstance(item, Sequence):
                return None
            words.extend(sub)
        return words
    return None


def block_states(root: np.random.SeedSequence, first_block: int, last_block: int) -> np.ndarray:
    """Seed words of blocks ``first_block`` to ``last_block - 1``, shape ``(n, 4)`` uint64.

    Row ``r`` equals ``SeedSequence(root.entropy, spawn_key=(*root.spawn_key, first_block + r),
    pool_size=root.pool_size).generate_state(4, numpy.uint64)``.
    """
    n = max(0, last_block - first_block)
    out = np.empty((n, 4), dtype=np.uint64)
    run = _uint32_words(root.entropy)
    spawn = _uint32_words(tuple(root.spawn_key))
    if run is None or spawn is None or last_block > _M32 + 1:
        for r in range(n):
            child = np.random.SeedSequence(
                root.entropy, spawn_key=(*root.spawn_key, first_block + r), pool_size=root.pool_size
            )
            out[r] = child.generate_state(4, np.uint64)
        return out
    if len(run) < root.pool_size:  # numpy pads the run entropy when a spawn key follows
        run = run + [0] * (root.pool_size - len(run))
    _block_states(np.array(run + spawn, dtype=np.uint64), int(root.pool_size), int(first_block), out)
    return out


def raw_words(root: np.random.SeedSequence, block: int, n_words: int) -> np.ndarray:
    """The first ``n_words`` raw words of block ``block`` (what ``block_generator(root, block).bit_generator
    .random_raw(n_words)`` returns)."""
    state = np.empty(4, dtype=np.uint64)
    pcg64_seed(block_states(root, block, block + 1)[0], state)
    out = np.empty(n_words, dtype=np.uint64)
    pcg64_fill(state, out)
    return out
