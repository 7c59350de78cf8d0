"""Mutators of PNG structure: IHDR fields, chunk lengths, types, payloads and order, new
colour and blob chunks, the IDAT zlib stream, the image size and what follows IEND."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from fuzz.generic_mutators import mutate_generic
from fuzz.icc_mutator import mutate_icc
from fuzz.mutation_context import Context
from fuzz.png_format import PNG_SIGNATURE, Chunk, png_build, png_parse
from fuzz.random_draws import HUGE_DIMS, U32_EDGES, chance, near, pick, rand_bytes, weighted
from fuzz.zlib_zeros import zlib_zeros

PNG_KNOWN = (
    b"IHDR",
    b"PLTE",
    b"IDAT",
    b"IEND",
    b"tRNS",
    b"gAMA",
    b"cHRM",
    b"sRGB",
    b"iCCP",
    b"cICP",
    b"tEXt",
    b"zTXt",
    b"iTXt",
    b"bKGD",
    b"pHYs",
    b"sBIT",
    b"tIME",
    b"eXIf",
    b"acTL",
    b"fcTL",
    b"fdAT",
    b"gmLP",
    b"gmLp",
    b"GMLP",
    b"abCd",
    b"ABCD",
)


def _new_chunk(rng, ctx: Context) -> Chunk:
    r = int(rng.integers(16))
    icc = pick(rng, ctx.icc_pool)
    if r == 0:
        return Chunk(b"sRGB", bytes(int(rng.integers(0, 256)) for _ in range(pick(rng, (0, 1, 2)))))
    if r == 1:
        return Chunk(b"cICP", rand_bytes(rng, pick(rng, (0, 3, 4, 4, 5, 100))))
    if r == 2:
        return Chunk(b"iCCP", b"icc\0\0" + zlib.compress(icc))
    if r == 3:
        mutated, _ = mutate_icc(rng, icc)
        return Chunk(b"iCCP", b"icc\0\0" + zlib.compress(mutated))
    if r == 4:  # corrupt iCCP framing: no NUL, method 1, bad zlib, long name
        return Chunk(
            b"iCCP",
            pick(
                rng,
                (
                    b"icc",
                    b"icc\0\1" + zlib.compress(icc),
                    b"icc\0\0" + rand_bytes(rng, 20),
                    b"x" * 100 + b"\0\0" + zlib.compress(icc),
                    b"\0\0" + zlib.compress(icc)[:30],
                ),
            ),
        )
    if r == 5:  # a medium iCCP bomb (32 MiB); the 1 GiB one is in the named bombs
        return Chunk(b"iCCP", b"bomb\0\0" + zlib_zeros(32 << 20))
    if r == 6:
        return Chunk(b"gAMA", rand_bytes(rng, pick(rng, (0, 4, 8))))
    if r == 7:
        return Chunk(b"cHRM", rand_bytes(rng, pick(rng, (0, 31, 32, 33))))
    if r == 8:
        return Chunk(b"gmLP", ctx.seed.blob or rand_bytes(rng, 80))
    if r == 9:
        return Chunk(b"gmLP", rand_bytes(rng, int(rng.integers(0, 200))))
    if r == 10:
        return Chunk(b"zTXt", b"k\0\0" + zlib_zeros(pick(rng, (1 << 20, 32 << 20))))
    if r == 11:
        return Chunk(b"PLTE", rand_bytes(rng, pick(rng, (0, 3, 5, 768, 771))))
    if r == 12:
        return Chunk(b"tRNS", rand_bytes(rng, pick(rng, (0, 2, 6, 7))))
    if r == 13:
        return Chunk(b"IDAT", rand_bytes(rng, int(rng.integers(0, 30))))
    if r == 14:
        return Chunk(
            pick(rng, (b"abCd", b"ABCD", b"IHDR", b"IEND", b"eXIf", b"acTL")),
            rand_bytes(rng, int(rng.integers(0, 20))),
        )
    return Chunk(b"iCCP", b"icc\0\0" + zlib.compress(icc)[:-4] + b"\0\0\0\0")  # bad Adler-32


def png_ihdr(rng, chunks: list[Chunk], ctx: Context) -> None:
    ihdr = next((c for c in chunks if c.ctype == b"IHDR" and len(c.payload) == 13), None)
    if ihdr is None:
        return
    w, h, depth, colour, comp, filt, inter = struct.unpack(">IIBBBBB", ihdr.payload)
    name = pick(rng, ("width", "height", "both", "depth", "colour", "comp", "filter", "interlace"))
    if name in ("width", "both"):
        w = near(rng, w, U32_EDGES + HUGE_DIMS)
    if name in ("height", "both"):
        h = near(rng, h, U32_EDGES + HUGE_DIMS)
    if name == "both" and chance(rng, 0.5):
        w = h = pick(rng, (16000, 65535, 20000, 10000))
    depth = pick(rng, (0, 1, 2, 3, 4, 8, 16, 255)) if name == "depth" else depth
    colour = pick(rng, (0, 1, 2, 3, 4, 5, 6, 7, 255)) if name == "colour" else colour
    comp = pick(rng, (1, 255)) if name == "comp" else comp
    filt = pick(rng, (1, 255)) if name == "filter" else filt
    inter = pick(rng, (0, 1, 2, 255)) if name == "interlace" else inter
    ihdr.payload = struct.pack(">IIBBBBB", w, h, depth, colour, comp, filt, inter)
    ctx.ops.append(f"png-ihdr-{name}")


def png_chunk_length(rng, chunks, ctx) -> None:
    c = pick(rng, chunks)
    c.length = near(rng, len(c.payload))
    c.crc = zlib.crc32(c.payload, zlib.crc32(c.ctype))
    ctx.ops.append(f"png-length-{c.ctype.decode('latin-1')}")


def png_chunk_type(rng, chunks, ctx) -> None:
    c = pick(rng, chunks)
    old = c.ctype
    r = rng.random()
    if r < 0.4:
        i = int(rng.integers(4))
        c.ctype = old[:i] + bytes([old[i] ^ 0x20]) + old[i + 1 :]  # flip a property bit
    elif r < 0.7:
        c.ctype = pick(rng, PNG_KNOWN)
    else:
        c.ctype = rand_bytes(rng, 4)
    ctx.ops.append(f"png-type-{old.decode('latin-1')}")


def png_payload(rng, chunks, ctx) -> None:
    c = pick(rng, chunks)
    b = bytearray(c.payload)
    if b:
        for _ in range(int(rng.integers(1, 5))):
            b[int(rng.integers(len(b)))] = int(rng.integers(256))
    else:
        b += rand_bytes(rng, 4)
    c.payload = bytes(b)
    c.crc = None if chance(rng, 0.9) else zlib.crc32(b"x")
    ctx.ops.append(f"png-payload-{c.ctype.decode('latin-1')}")


def png_insert(rng, chunks, ctx) -> None:
    c = _new_chunk(rng, ctx)
    # mostly after IHDR and before IEND (where the parser walks), sometimes anywhere
    lo, hi = (1, max(1, len(chunks) - 1)) if chance(rng, 0.85) else (0, len(chunks))
    chunks.insert(int(rng.integers(lo, hi + 1)), c)
    ctx.ops.append(f"png-insert-{c.ctype.decode('latin-1')}")


def png_duplicate(rng, chunks, ctx) -> None:
    c = pick(rng, chunks)
    chunks.insert(int(rng.integers(0, len(chunks) + 1)), Chunk(c.ctype, c.payload, c.length, c.crc))
    ctx.ops.append(f"png-dup-{c.ctype.decode('latin-1')}")


def png_drop(rng, chunks, ctx) -> None:
    if len(chunks) > 1:
        c = chunks.pop(int(rng.integers(len(chunks))))
        ctx.ops.append(f"png-drop-{c.ctype.decode('latin-1')}")


def png_move(rng, chunks, ctx) -> None:
    c = chunks.pop(int(rng.integers(len(chunks))))
    chunks.insert(int(rng.integers(0, len(chunks) + 1)), c)
    ctx.ops.append(f"png-move-{c.ctype.decode('latin-1')}")


def _idat(chunks) -> tuple[list[int], bytes]:
    idx = [i for i, c in enumerate(chunks) if c.ctype == b"IDAT"]
    return idx, b"".join(chunks[i].payload for i in idx)


def _replace_idat(chunks, idx, pieces) -> None:
    at = idx[0]
    for i in reversed(idx):
        del chunks[i]
    for k, p in enumerate(pieces):
        chunks.insert(at + k, Chunk(b"IDAT", p))


def png_idat(rng, chunks, ctx) -> None:
    """Truncate, split, re-filter or re-size the zlib stream of the image data."""
    idx, stream = _idat(chunks)
    if not idx:
        return
    r = int(rng.integers(6))
    if r == 0:
        cut = int(rng.integers(0, max(1, len(stream))))
        _replace_idat(chunks, idx, [stream[:cut]])
        ctx.ops.append("png-idat-truncate")
        return
    if r == 1:
        n = int(rng.integers(2, 9))
        cuts = sorted(int(x) for x in rng.integers(0, len(stream) + 1, n - 1))
        parts = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
        _replace_idat(chunks, idx, parts)
        if chance(rng, 0.4):  # another chunk between the IDATs
            chunks.insert(idx[0] + 1, _new_chunk(rng, ctx))
        ctx.ops.append("png-idat-split")
        return
    if r == 2:
        _replace_idat(chunks, idx, [stream + rand_bytes(rng, int(rng.integers(1, 40)))])
        ctx.ops.append("png-idat-trailing")
        return
    try:
        raw = zlib.decompress(stream)
    except zlib.error:
        return
    b = bytearray(raw)
    if r == 3 and b:  # filter-type bytes or samples
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(len(b)))] = pick(rng, (0, 1, 2, 3, 4, 5, 255))
        ctx.ops.append("png-idat-raw")
    elif r == 4:  # too little or too much image data
        if chance(rng, 0.5):
            b = b[: int(rng.integers(0, len(b) + 1))]
        else:
            b += bytes(int(rng.integers(1, 5000)))
        ctx.ops.append("png-idat-size")
    else:  # a preset dictionary flag or a wrong Adler-32
        out = zlib.compress(bytes(b), int(rng.integers(0, 10)))
        out = (b"\x78\xbb" + out[2:]) if chance(rng, 0.5) else out[:-4] + rand_bytes(rng, 4)
        _replace_idat(chunks, idx, [out])
        ctx.ops.append("png-idat-zlib-header")
        return
    _replace_idat(chunks, idx, [zlib.compress(bytes(b), int(rng.integers(0, 10)))])


def png_resize(rng, chunks, ctx) -> None:
    """A consistent image of another size (valid zlib of zeros): reaches the size check."""
    ihdr = next((c for c in chunks if c.ctype == b"IHDR" and len(c.payload) == 13), None)
    idx, _ = _idat(chunks)
    if ihdr is None or not idx:
        return
    w, h, depth, colour, comp, filt, inter = struct.unpack(">IIBBBBB", ihdr.payload)
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour, 3)
    w2, h2 = int(rng.integers(1, 40)), int(rng.integers(1, 40))
    if chance(rng, 0.3) and max(w, h) <= 600 and depth in (8, 16):
        w2, h2 = h, w  # transposed
    row = (w2 * channels * max(depth, 1) + 7) // 8
    raw = np.zeros((h2, 1 + row), np.uint8)
    raw[:, 1:] = rng.integers(0, 256, (h2, row), dtype=np.uint8)  # filter 0, random samples
    ihdr.payload = struct.pack(">IIBBBBB", w2, h2, depth, colour, comp, filt, 0)
    _replace_idat(chunks, idx, [zlib.compress(raw.tobytes())])
    ctx.ops.append("png-resize")


def png_trailer(rng, chunks, ctx) -> bytes:
    r = int(rng.integers(3))
    ctx.ops.append(("png-after-iend", "png-iend-payload", "png-no-iend")[r])
    if r == 1 and chunks and chunks[-1].ctype == b"IEND":
        chunks[-1].payload = rand_bytes(rng, 4)
    if r == 2:
        chunks[:] = [c for c in chunks if c.ctype != b"IEND"]
    return rand_bytes(rng, int(rng.integers(1, 64))) if r == 0 else b""


PNG_MUTATORS = [
    (png_ihdr, 5),
    (png_chunk_length, 2),
    (png_chunk_type, 2),
    (png_payload, 2),
    (png_insert, 5),
    (png_duplicate, 2),
    (png_drop, 2),
    (png_move, 2),
    (png_idat, 4),
    (png_resize, 1),
    (png_trailer, 1),
]


def mutate_png(rng, data: bytes, ctx: Context) -> bytes:
    parsed = png_parse(data)
    if parsed is None:
        return mutate_generic(rng, data, ctx)
    chunks, trailer = parsed
    fn = weighted(rng, PNG_MUTATORS)
    extra = fn(rng, chunks, ctx)
    if isinstance(extra, bytes):
        trailer += extra
    signature = PNG_SIGNATURE
    if chance(rng, 0.01):
        signature = PNG_SIGNATURE[:7] + b"\x0b"
        ctx.ops.append("png-signature")
    return png_build(chunks, trailer, signature)
