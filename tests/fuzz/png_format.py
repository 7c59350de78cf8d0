"""A PNG walker and writer: chunks with lengths and CRCs that may lie, structure boundaries
(for truncation), the raw-data size an IHDR implies, and hand-written PNGs of any colour type,
depth, filter and interlacing that the project's writers do not produce."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class Chunk:
    ctype: bytes
    payload: bytes
    length: int | None = None  # None: len(payload); else a lie written in the length field
    crc: int | None = None  # None: computed; else written as is

    def serialise(self) -> bytes:
        length = len(self.payload) if self.length is None else self.length
        crc = zlib.crc32(self.payload, zlib.crc32(self.ctype)) if self.crc is None else self.crc
        return (
            struct.pack(">I", length & 0xFFFFFFFF)
            + self.ctype
            + self.payload
            + struct.pack(">I", crc & 0xFFFFFFFF)
        )


def png_parse(data: bytes) -> tuple[list[Chunk], bytes] | None:
    """Chunks up to IEND (CRCs as stored, kept only when wrong) and the bytes after; None when
    the data does not start like a PNG or a chunk runs past the end."""
    if not data.startswith(PNG_SIGNATURE):
        return None
    chunks, pos = [], 8
    while pos + 12 <= len(data):
        length, ctype = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > len(data):
            break
        payload = data[pos + 8 : end - 4]
        (crc,) = struct.unpack_from(">I", data, end - 4)
        good = zlib.crc32(payload, zlib.crc32(ctype)) == crc
        chunks.append(Chunk(ctype, payload, None, None if good else crc))
        pos = end
        if ctype == b"IEND":
            return chunks, data[pos:]
    return (chunks, data[pos:]) if chunks else None


def png_build(chunks: list[Chunk], trailer: bytes = b"", signature: bytes = PNG_SIGNATURE) -> bytes:
    return signature + b"".join(c.serialise() for c in chunks) + trailer


def png_boundaries(data: bytes) -> list[int]:
    """Offsets where PNG structures start or end (for truncation at every boundary)."""
    out = [0, 8]
    pos = 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        end = pos + 12 + length
        if end > len(data):
            break
        out += [pos + 4, pos + 8, end - 4, end]
        pos = end
    return out


def _filter_rows(raw: np.ndarray, bpp: int, filters: list[int]) -> bytes:
    """PNG-filter rows (HxN uint8) with the given filter type per row (0-4)."""
    out = bytearray()
    prev = np.zeros(raw.shape[1], np.int16)
    for row, ftype in zip(raw.astype(np.int16), filters, strict=True):
        left = np.concatenate([np.zeros(bpp, np.int16), row[:-bpp]])
        if ftype == 0:
            f = row
        elif ftype == 1:
            f = row - left
        elif ftype == 2:
            f = row - prev
        elif ftype == 3:
            f = row - (left + prev) // 2
        else:  # Paeth, sequentially
            upleft = np.concatenate([np.zeros(bpp, np.int16), prev[:-bpp]])
            p = left + prev - upleft
            pa, pb, pc = np.abs(p - left), np.abs(p - prev), np.abs(p - upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
            f = row - pred
        out.append(ftype)
        out += (f & 0xFF).astype(np.uint8).tobytes()
        prev = row
    return bytes(out)


ADAM7 = (
    (0, 0, 8, 8),
    (0, 4, 8, 8),
    (4, 0, 8, 4),
    (0, 2, 4, 4),
    (2, 0, 4, 2),
    (0, 1, 2, 2),
    (1, 0, 2, 1),
)  # fmt: skip  (row start, col start, row step, col step), PNG spec section 8.2


def png_raw_length(width: int, height: int, depth: int, colour: int, interlace: int) -> int:
    """Bytes the IDAT stream must inflate to: filter byte + packed samples per row (per pass)."""
    bits = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour, 3) * depth

    def rows(w: int, h: int) -> int:
        return h * (1 + (w * bits + 7) // 8) if w and h else 0

    if not interlace:
        return rows(width, height)
    return sum(
        rows(max(0, (width - c0 + cs - 1) // cs), max(0, (height - r0 + rs - 1) // rs))
        for r0, c0, rs, cs in ADAM7
    )


def png_raw(
    pixels: np.ndarray,
    colour_type: int,
    bit_depth: int = 8,
    interlace: int = 0,
    chunks: list[tuple[bytes, bytes]] = (),
    rng: np.random.Generator | None = None,
    level: int = 6,
    plte: bytes | None = None,
) -> bytes:
    """A PNG written by hand: any colour type and depth that numpy can pack (8/16 bits, or
    1/2/4 for grey and palette), Adam7 interlacing, random filter types (with rng)."""
    h, w = pixels.shape[:2]
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour_type]
    px = pixels.reshape(h, w, channels)

    def pack(sub: np.ndarray) -> np.ndarray:
        if bit_depth == 16:
            return sub.astype(">u2").view(np.uint8).reshape(sub.shape[0], -1)
        if bit_depth == 8:
            return sub.astype(np.uint8).reshape(sub.shape[0], -1)
        flat = sub.reshape(sub.shape[0], -1).astype(np.uint8) & ((1 << bit_depth) - 1)
        per = 8 // bit_depth
        pad = (-flat.shape[1]) % per
        flat = np.pad(flat, ((0, 0), (0, pad)))
        groups = flat.reshape(flat.shape[0], -1, per)
        shifts = np.arange(per - 1, -1, -1) * bit_depth
        return (groups << shifts).sum(axis=2).astype(np.uint8)

    bpp = max(1, channels * bit_depth // 8)
    passes = ADAM7 if interlace else ((0, 0, 1, 1),)
    raw = b""
    for r0, c0, rs, cs in passes:
        sub = px[r0::rs, c0::cs]
        if sub.size == 0:
            continue
        rows = pack(sub)
        n = rows.shape[0]
        filters = [0] * n if rng is None else [int(f) for f in rng.integers(0, 5, n)]
        raw += _filter_rows(rows, bpp, filters)
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, colour_type, 0, 0, interlace)
    out = [Chunk(b"IHDR", ihdr)]
    out += [Chunk(t, p) for t, p in chunks]
    if plte is not None:
        out.append(Chunk(b"PLTE", plte))
    out += [Chunk(b"IDAT", zlib.compress(raw, level)), Chunk(b"IEND", b"")]
    return png_build(out)
