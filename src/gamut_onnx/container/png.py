"""A minimal PNG chunk layer: Pillow (libpng-compatible zlib) decodes the pixels, libpng (via
imagecodecs) encodes carriers, and we handle the chunks.

We need our own chunk reader and writer because the carrier keeps its weight blob in a private
chunk, and because we want to reject the wrong kind of PNG from the header before decoding it.
The decoder is handed only the critical chunks (IHDR, IDAT, IEND): ancillary chunks are ours to
read, so a malformed one can neither change the pixels nor make a C library print warnings.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from gamut_onnx.errors import GamutError
from gamut_onnx.optional import require

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# zlib level for IDAT: level 6 costs ~4 s on a noisy 12 MP photo for ~4% smaller files than
# level 4, which takes ~1 s; the carrier is a working file, so we take the speed.
PNG_LEVEL = 4


@dataclass(frozen=True)
class PngHeader:
    """The IHDR fields that decide whether a PNG can be a carrier."""

    width: int
    height: int
    bit_depth: int
    colour_type: int  # 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA
    interlace: int  # 0 none, 1 Adam7


def make_chunk(ctype: bytes, payload: bytes) -> bytes:
    """Serialise one chunk: length, type, payload, CRC32 of type + payload."""
    if len(ctype) != 4 or not ctype.isalpha():
        raise ValueError(f"invalid PNG chunk type {ctype!r}")
    crc = zlib.crc32(payload, zlib.crc32(ctype))
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", crc)


def _chunks_with_offsets(data: bytes) -> Iterator[tuple[bytes, bytes, int]]:
    """Yield (type, payload, end offset) for each chunk up to IEND, checking lengths and CRCs."""
    if not data.startswith(PNG_SIGNATURE):
        raise GamutError("not a PNG file (bad signature)")
    pos = len(PNG_SIGNATURE)
    view = memoryview(data)
    while True:
        if pos + 8 > len(data):
            raise GamutError("PNG is truncated (no IEND chunk)")
        length, ctype = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        name = ctype.decode("latin-1")
        if length > 0x7FFFFFFF:
            raise GamutError(f"PNG chunk {name!r} has an invalid length (file corrupt)")
        if end > len(data):
            raise GamutError(f"PNG is truncated (in chunk {name!r})")
        payload = bytes(view[pos + 8 : end - 4])
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if zlib.crc32(payload, zlib.crc32(ctype)) != crc:
            raise GamutError(f"PNG chunk {name!r} has a bad CRC (file corrupt)")
        yield ctype, payload, end
        if ctype == b"IEND":
            return
        pos = end


def iter_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Yield (type, payload) for each chunk up to IEND; GamutError on a bad CRC or truncation."""
    for ctype, payload, _ in _chunks_with_offsets(data):
        yield ctype, payload


def read_ihdr(data: bytes) -> PngHeader:
    """Parse the IHDR chunk only, so callers can reject wrong kinds before decoding pixels."""
    ctype, payload, _ = next(_chunks_with_offsets(data))
    if ctype != b"IHDR" or len(payload) != 13:
        raise GamutError("PNG does not start with a valid IHDR chunk")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", payload)
    return PngHeader(width, height, depth, colour, interlace)


def encode_png(pixels: np.ndarray, extra_chunks: list[tuple[bytes, bytes]]) -> bytes:
    """Encode HxWx3/HxWx4 uint8 pixels with libpng, then splice `extra_chunks` in after IHDR.

    Right after IHDR is a legal place for every ancillary chunk we write (sRGB, gAMA, cHRM and
    private ones), and it puts them before IDAT, where readers that stream the file see them.
    """
    pixels = np.ascontiguousarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise GamutError(
            f"PNG pixels must be HxWx3 or HxWx4 uint8, not {pixels.dtype} {pixels.shape}"
        )
    body = require("imagecodecs", "writing PNG carriers").png_encode(pixels, level=PNG_LEVEL)
    _, _, ihdr_end = next(_chunks_with_offsets(body))
    extra = b"".join(make_chunk(t, p) for t, p in extra_chunks)
    return body[:ihdr_end] + extra + body[ihdr_end:]


def ancillary_chunks(data: bytes) -> dict[bytes, list[bytes]]:
    """Every ancillary chunk's payload, grouped by type (CRCs checked)."""
    ancillary: dict[bytes, list[bytes]] = {}
    for ctype, payload in iter_chunks(data):
        if ctype[0:1].islower():
            ancillary.setdefault(ctype, []).append(payload)
    return ancillary


def iccp_profile(chunks: dict[bytes, list[bytes]]) -> bytes | None:
    """The ICC profile of an iCCP chunk (name, NUL, method 0, zlib data), if there is one."""
    if b"iCCP" not in chunks:
        return None
    payload = chunks[b"iCCP"][0]
    try:
        return zlib.decompress(payload[payload.index(b"\x00") + 2 :])
    except (ValueError, zlib.error) as exc:
        raise GamutError(f"PNG iCCP chunk is corrupt ({exc})") from None


def critical_only(data: bytes) -> bytes:
    """The PNG with its ancillary chunks dropped: what the pixel decoder needs to see."""
    kept = [PNG_SIGNATURE]
    for ctype, payload in iter_chunks(data):
        if ctype[0:1].isupper():
            kept.append(make_chunk(ctype, payload))
    return b"".join(kept)


def decode_png(data: bytes) -> tuple[np.ndarray, dict[bytes, list[bytes]]]:
    """Decode 8-bit pixels with Pillow and return every ancillary chunk, grouped by type."""
    from PIL import Image

    chunks = ancillary_chunks(data)
    with Image.open(io.BytesIO(critical_only(data)), formats=["PNG"]) as image:
        pixels = np.asarray(image)
    return pixels, chunks
