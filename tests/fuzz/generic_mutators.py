"""Format-blind mutations (bit flips, inserts, deletes, truncation at a structure boundary,
splices), and the fallback of every format mutator whose walker cannot parse the input."""

from __future__ import annotations

from fuzz.jpeg_format import jpeg_boundaries
from fuzz.mutation_context import Context
from fuzz.png_format import PNG_SIGNATURE, png_boundaries
from fuzz.random_draws import pick, rand_bytes
from fuzz.tiff_format import tiff_boundaries


def boundaries(data: bytes) -> list[int]:
    if data.startswith(PNG_SIGNATURE):
        return png_boundaries(data)
    if data[:2] == b"\xff\xd8":
        return jpeg_boundaries(data)
    return tiff_boundaries(data)


def mutate_generic(rng, data: bytes, ctx: Context) -> bytes:
    """Bit flips, byte insert/delete, truncation at a structural boundary, splicing."""
    r = int(rng.integers(6))
    b = bytearray(data)
    if r == 0 and b:
        for _ in range(int(rng.integers(1, 9))):
            b[int(rng.integers(len(b)))] ^= 1 << int(rng.integers(8))
        ctx.ops.append("bitflip")
    elif r == 1:
        at = int(rng.integers(0, len(b) + 1))
        b[at:at] = rand_bytes(rng, int(rng.integers(1, 17)))
        ctx.ops.append("insert")
    elif r == 2 and b:
        at = int(rng.integers(0, len(b)))
        del b[at : at + int(rng.integers(1, 17))]
        ctx.ops.append("delete")
    elif r == 3:
        cut = pick(rng, boundaries(data) or [0])
        cut = max(0, cut + int(rng.integers(-1, 2)))
        ctx.ops.append("truncate-boundary")
        return data[:cut]
    elif r == 4 and b:
        cut = int(rng.integers(0, len(b)))
        ctx.ops.append("truncate")
        return data[:cut]
    else:  # splice this file's head onto another seed's tail
        other = pick(rng, ctx.seeds).data
        a, c = int(rng.integers(0, len(b) + 1)), int(rng.integers(0, len(other) + 1))
        ctx.ops.append("splice")
        return data[:a] + other[c:]
    return bytes(b)
