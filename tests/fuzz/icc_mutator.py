"""One structural change to an ICC profile (header, tag table, tag data or length), for the
profiles in source records and iCCP chunks."""

from __future__ import annotations

import struct

import numpy as np

from fuzz.random_draws import U32_EDGES, chance, near, pick, rand_bytes

ICC_CLASSES = (b"mntr", b"scnr", b"prtr", b"spac", b"link", b"abst", b"nmcl", b"\0\0\0\0")
ICC_SPACES = (b"RGB ", b"GRAY", b"CMYK", b"Lab ", b"XYZ ", b"YCbr", b"4CLR", b"\0\0\0\0")
ICC_TAG_TYPES = (b"para", b"curv", b"XYZ ", b"mluc", b"desc", b"sf32", b"mAB ", b"mft2", b"text")


def mutate_icc(rng: np.random.Generator, icc: bytes) -> tuple[bytes, str]:
    """An ICC profile with one structural change (header, tag table, tag data or length)."""
    b = bytearray(icc)
    if len(b) < 132:
        return bytes(b) + rand_bytes(rng, 8), "icc-grow"
    (count,) = struct.unpack_from(">I", b, 128)
    count = min(count, (len(b) - 132) // 12)
    op = int(rng.integers(9))
    if op == 0:
        struct.pack_into(">I", b, 0, near(rng, len(b)))
        return bytes(b), "icc-size"
    if op == 1:
        b[12:16] = pick(rng, ICC_CLASSES)
        return bytes(b), "icc-class"
    if op == 2:
        b[16:20] = pick(rng, ICC_SPACES)
        return bytes(b), "icc-space"
    if op == 3:
        b[20:24] = pick(rng, (b"XYZ ", b"Lab ", b"RGB ", b"\0\0\0\0"))
        b[8] = pick(rng, (0, 1, 2, 4, 5, 255))
        return bytes(b), "icc-pcs-version"
    if op == 4:
        struct.pack_into(">I", b, 128, near(rng, count))
        return bytes(b), "icc-tag-count"
    if op == 5 and count:
        i = int(rng.integers(count))
        at = 132 + 12 * i + int(rng.choice([4, 8]))
        struct.pack_into(">I", b, at, near(rng, struct.unpack_from(">I", b, at)[0]))
        return bytes(b), "icc-tag-offset-size"
    if op == 6 and count:
        i = int(rng.integers(count))
        offset, size = struct.unpack_from(">II", b, 132 + 12 * i + 4)
        if offset + 12 <= len(b):
            if chance(rng, 0.5):
                b[offset : offset + 4] = pick(rng, ICC_TAG_TYPES)
            else:  # a count / length field inside the tag data
                struct.pack_into(">I", b, offset + 8, pick(rng, U32_EDGES))
        return bytes(b), "icc-tag-data"
    if op == 7:
        cut = int(rng.integers(0, len(b)))
        return bytes(b[:cut]), "icc-truncate"
    for _ in range(int(rng.integers(1, 9))):
        b[int(rng.integers(len(b)))] ^= 1 << int(rng.integers(8))
    return bytes(b), "icc-bitflip"
