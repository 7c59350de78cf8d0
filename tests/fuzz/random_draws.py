"""The random draws every mutator makes (an element, a coin flip, bytes, an interesting
integer, a weighted choice), so that a case is a pure function of its numpy Generator."""

from __future__ import annotations

import numpy as np

U32_EDGES = (
    0,
    1,
    2,
    3,
    255,
    256,
    0x7FFF,
    0x8000,
    0xFFFF,
    0x10000,
    0x7FFFFFFF,
    0x80000000,
    0xFFFFFFFE,
    0xFFFFFFFF,
)
U16_EDGES = (0, 1, 2, 3, 4, 7, 8, 15, 16, 255, 256, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF)
HUGE_DIMS = (16000, 65535, 65536, 46341, 100000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


def pick(rng: np.random.Generator, items):
    """One element of a sequence, chosen by rng."""
    return items[int(rng.integers(len(items)))]


def chance(rng: np.random.Generator, p: float) -> bool:
    return bool(rng.random() < p)


def rand_bytes(rng: np.random.Generator, n: int) -> bytes:
    return rng.integers(0, 256, n, dtype=np.uint8).tobytes()


def near(rng: np.random.Generator, value: int, edges=U32_EDGES, bits: int = 32) -> int:
    """An interesting replacement for an integer field: an edge value, value +- small, random."""
    top = (1 << bits) - 1
    r = rng.random()
    if r < 0.4:
        v = pick(rng, edges)
    elif r < 0.75:
        v = value + int(rng.integers(-3, 4))
    elif r < 0.9:
        v = value * int(rng.integers(2, 5))
    else:
        v = int(rng.integers(0, top, endpoint=True, dtype=np.uint64))
    return int(v) & top


def weighted(rng, table):
    weights = np.array([w for _, w in table], float)
    return table[int(rng.choice(len(table), p=weights / weights.sum()))][0]
