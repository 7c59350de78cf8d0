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
from gamut_onnx.limits import MAX_ICC_BYTES, MAX_METADATA_BYTES
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


def _is_ancillary(ctype: bytes) -> bool:
    return ctype[0:1].islower()


def _chunks_with_offsets(
    data: bytes, tolerate=frozenset()
) -> Iterator[tuple[bytes, bytes | None, int]]:
    """Yield (type, payload, end offset) for each chunk up to IEND, checking lengths and CRCs;
    a chunk of a type in `tolerate` (a set of types, or a test of one) with a bad CRC yields
    None as its payload instead."""
    tolerated = tolerate if callable(tolerate) else tolerate.__contains__
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
            if not tolerated(ctype):
                raise GamutError(f"PNG chunk {name!r} has a bad CRC (file corrupt)")
            payload = None
        yield ctype, payload, end
        if ctype == b"IEND":
            return
        pos = end


def iter_chunks(data: bytes, tolerate=frozenset()) -> Iterator[tuple[bytes, bytes | None]]:
    """Yield (type, payload) for each chunk up to IEND; GamutError on a bad CRC or truncation
    (None for the payload of a chunk `tolerate` names, as in _chunks_with_offsets)."""
    for ctype, payload, _ in _chunks_with_offsets(data, tolerate):
        yield ctype, payload


def read_ihdr(data: bytes) -> PngHeader:
    """Parse the IHDR chunk only, so callers can reject wrong kinds before decoding pixels."""
    ctype, payload, _ = next(_chunks_with_offsets(data))
    if ctype != b"IHDR" or len(payload) != 13:
        raise GamutError("PNG does not start with a valid IHDR chunk")
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(
        ">IIBBBBB", payload
    )
    if compression != 0 or filtering != 0 or interlace not in (0, 1):
        raise GamutError(
            f"PNG header has unknown methods (compression {compression}, filter {filtering}, "
            f"interlace {interlace})"
        )
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
    return insert_chunks(body, extra_chunks)


def insert_chunks(body: bytes, chunks: list[tuple[bytes, bytes]]) -> bytes:
    """`body` (a PNG) with `chunks` spliced in right after its IHDR."""
    _, _, ihdr_end = next(_chunks_with_offsets(body))
    extra = b"".join(make_chunk(t, p) for t, p in chunks)
    return body[:ihdr_end] + extra + body[ihdr_end:]


def without_chunks(data: bytes, types: frozenset[bytes]) -> bytes:
    """The PNG with every chunk of `types` removed (their CRCs unchecked), the rest byte for
    byte: how a model is replaced without touching anything else in the file."""
    kept, pos = [data[: len(PNG_SIGNATURE)]], len(PNG_SIGNATURE)
    for ctype, _, end in _chunks_with_offsets(data, types):
        if ctype not in types:
            kept.append(data[pos:end])
        pos = end
    return b"".join(kept)


def ancillary_chunks(
    data: bytes, tolerate: frozenset[bytes] = frozenset()
) -> dict[bytes, list[bytes | None]]:
    """Every ancillary chunk's payload, grouped by type (CRCs checked; at most 16 MB in all);
    a chunk of a type in `tolerate` with a bad CRC is listed as None."""
    ancillary: dict[bytes, list[bytes | None]] = {}
    total = 0
    for ctype, payload, _ in _chunks_with_offsets(data, tolerate):
        if ctype[0:1].islower():
            total += len(payload or b"")
            if total > MAX_METADATA_BYTES:
                raise GamutError(f"PNG holds more than {MAX_METADATA_BYTES >> 20} MB of metadata")
            ancillary.setdefault(ctype, []).append(payload)
    return ancillary


def inflate_bounded(data: bytes, limit: int, what: str) -> bytes:
    """zlib-inflate at most `limit` bytes: a 1 MB chunk can claim gigabytes."""
    inflate = zlib.decompressobj()
    try:
        out = inflate.decompress(data, limit)
    except zlib.error as exc:
        raise GamutError(f"{what} is corrupt ({exc})") from None
    if inflate.unconsumed_tail:
        raise GamutError(f"{what} inflates past {limit >> 20} MB")
    if not inflate.eof:
        raise GamutError(f"{what} is truncated")
    return out


def iccp_profile(chunks: dict[bytes, list[bytes]]) -> bytes | None:
    """The ICC profile of an iCCP chunk (name, NUL, method 0, zlib data), if there is one."""
    if b"iCCP" not in chunks:
        return None
    payload = chunks[b"iCCP"][0]
    if b"\x00" not in payload[:80]:
        raise GamutError("PNG iCCP chunk is corrupt (no profile name)")
    data = payload[payload.index(b"\x00") + 2 :]
    return inflate_bounded(data, MAX_ICC_BYTES, "PNG iCCP chunk")


def critical_only(data: bytes) -> bytes:
    """The PNG with its ancillary chunks dropped: what the pixel decoder needs to see. One IHDR
    only: Pillow would decode a later one, while our checks read the first."""
    kept = [PNG_SIGNATURE]
    # the header's probe judged the ancillary chunks already (a damaged map only loses the map)
    for ctype, payload, _ in _chunks_with_offsets(data, _is_ancillary):
        if ctype == b"IHDR" and len(kept) > 1:
            raise GamutError("PNG has a second IHDR chunk (file corrupt or crafted)")
        if ctype[0:1].isupper():
            kept.append(make_chunk(ctype, payload))
    return b"".join(kept)


def image_data_size(header: PngHeader, channels: int) -> int:
    """Bytes the IDAT stream must inflate to: per row a filter byte and the samples, per pass
    for Adam7 interlacing."""
    bits = header.bit_depth * channels
    if header.interlace == 0:
        passes = [(header.width, header.height)]
    else:  # Adam7: (first column, column step, first row, row step) of the seven passes
        steps = [(0, 8, 0, 8), (4, 8, 0, 8), (0, 4, 4, 8), (2, 4, 0, 4), (0, 2, 2, 4),
                 (1, 2, 0, 2), (0, 1, 1, 2)]  # fmt: skip
        passes = [
            (max(0, -(-(header.width - c) // dc)), max(0, -(-(header.height - r) // dr)))
            for c, dc, r, dr in steps
        ]
    return sum(h * (1 + (w * bits + 7) // 8) for w, h in passes if w and h)


def check_image_data(data: bytes, header: PngHeader, channels: int) -> None:
    """The IDAT stream inflates to exactly the size the header implies and ends with a good
    checksum: decoders zero-fill short data, and a tiny file could claim a huge image."""
    expected = image_data_size(header, channels)
    inflate = zlib.decompressobj()
    produced = 0
    try:
        for ctype, payload in iter_chunks(data):
            if ctype != b"IDAT":
                continue
            piece = inflate.decompress(payload, 1 << 20)
            while True:
                produced += len(piece)
                if produced > expected:
                    raise GamutError("PNG image data is longer than its header says")
                if not inflate.unconsumed_tail:
                    break
                piece = inflate.decompress(inflate.unconsumed_tail, 1 << 20)
    except zlib.error as exc:
        raise GamutError(f"PNG image data is corrupt ({exc})") from None
    if produced != expected or not inflate.eof:
        raise GamutError(
            f"PNG image data is truncated ({produced:,} of {expected:,} bytes, or no end)"
        )


def pixels_of(image) -> np.ndarray:
    """The decoded image as HxWxC uint8, copied band by band: np.asarray() would first make a
    bytes copy of the whole image beside Pillow's own (4 bytes a pixel), 700 MB at 100 MP."""
    image.load()
    width, height = image.size
    channels = len(image.getbands())
    out = np.empty((height, width, channels), np.uint8)
    rows = max(1, (1 << 22) // max(width * channels, 1))
    for top in range(0, height, rows):
        band = image.crop((0, top, width, min(top + rows, height)))
        out[top : top + band.size[1]] = np.frombuffer(band.tobytes(), np.uint8).reshape(
            band.size[1], width, channels
        )
    return out


def decode_png(
    data: bytes, header: PngHeader | None = None, channels: int | None = None
) -> np.ndarray:
    """Decode 8-bit pixels with Pillow (the ancillary chunks were judged by the header's probe).

    With the header's `channels`, the image data is checked first and the pixels must come
    back exactly (height, width, channels)."""
    from PIL import Image

    critical = critical_only(data)
    if header is not None and channels is not None:
        check_image_data(critical, header, channels)
    Image.MAX_IMAGE_PIXELS = None  # sizes are checked from the header first (limits.py)
    with Image.open(io.BytesIO(critical), formats=["PNG"]) as image:
        pixels = pixels_of(image)
    if header is not None and channels is not None:
        if pixels.size != header.height * header.width * channels:
            raise GamutError(f"PNG decodes to {pixels.shape}, not what its header says")
        pixels = pixels.reshape(header.height, header.width, channels)
    return pixels
