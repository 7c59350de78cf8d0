"""The named bombs: small files that claim huge images or inflate to gigabytes, each of which
a decoder must refuse quickly and in little memory."""

from __future__ import annotations

import struct
from functools import cache

import numpy as np

from fuzz.blob_format import blob_fields, blob_pack_raw, blob_weights_span, record
from fuzz.jpeg_format import jpeg_parse, sof_segment
from fuzz.png_format import Chunk, png_build, png_parse
from fuzz.seed_carriers import VECTORS, rewrap, seeds
from fuzz.seed_material import make_blob
from fuzz.tiff_format import TIFF_BLOB_TAG, tiff_raw
from fuzz.zlib_zeros import zlib_zeros


def _bomb_png(width: int, height: int, extra: list[tuple[bytes, bytes]] = ()) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = [Chunk(b"IHDR", ihdr), *(Chunk(t, p) for t, p in extra)]
    chunks += [Chunk(b"IDAT", zlib_zeros(height * (1 + 3 * width))), Chunk(b"IEND", b"")]
    return png_build(chunks)


def _bomb_second_ihdr() -> bytes:
    # an 8x8 carrier's IHDR (what a header-first size check reads), then a second IHDR of
    # 16000x16000 (what a decoder that takes the last one uses) and 768 MB of zeros
    base = next(s for s in seeds() if s.name == "png-plain")
    chunks, trailer = png_parse(base.data)
    chunks = [c for c in chunks if c.ctype != b"IDAT"]
    chunks.insert(1, Chunk(b"IHDR", struct.pack(">IIBBBBB", 16000, 16000, 8, 2, 0, 0, 0)))
    chunks.insert(-1, Chunk(b"IDAT", zlib_zeros(16000 * (1 + 3 * 16000))))
    return png_build(chunks, trailer)


def _bomb_blob(size: tuple[int, int]) -> bytes:
    return make_blob(np.random.default_rng(1), size, bytes(32))


def _bomb_jpeg() -> bytes:
    data = bytearray((VECTORS / "jpeg_q90_gated.jpg").read_bytes())
    segs, _ = jpeg_parse(bytes(data))
    sof = sof_segment(segs)
    struct.pack_into(">HH", data, sof.payload + 1, 65535, 65535)
    return bytes(data)


def _bomb_iccp() -> bytes:
    base = seeds()[0]  # a small valid carrier
    chunks, trailer = png_parse(base.data)
    chunks.insert(1, Chunk(b"iCCP", b"bomb\0\0" + zlib_zeros(1 << 30)))
    return png_build(chunks, trailer)


def _bomb_blob_icc() -> bytes:
    base = next(s for s in seeds() if s.name.startswith("png-") and s.blob)
    f = blob_fields(base.blob)
    span = blob_weights_span(f)
    f.update(version=2, primaries=255, transfer=0, flags=(f["flags"] & 1) | 2)
    blob = blob_pack_raw(f, base.blob[64 : span[1]], record(128, zlib_zeros(1 << 30)))
    return rewrap(base, blob)


def _bomb_tiff_blob() -> bytes:
    # the TIFF pixels bomb with a blob tag whose count claims 2^31 bytes
    strip = zlib_zeros(16000 * 16000 * 3)
    return tiff_raw(16000, 16000, strip, extra=[(TIFF_BLOB_TAG, 7, 1 << 31, b"\0\0\0\0")])


def _bomb_map_frame() -> bytes:
    """A map whose AVIF says 96x64 (`ispe`) around a 2048 x 2048 AV1 frame, sealed so that only
    the profile check stands between it and the decoder (which would scale it to `ispe`)."""
    import sys

    sys.path.insert(0, str(VECTORS.parent))
    from hostile_maps import map_avif, patched_ispe, sealed_png

    frame = map_avif(np.zeros((2048, 2048, 3), np.uint8))
    return sealed_png(patched_ispe(frame, 96, 64))


BOMBS = {
    # the set
    "jpeg-sof-65535x65535": _bomb_jpeg,
    "png-16000x16000-zeros": lambda: _bomb_png(16000, 16000),
    "tiff-16000x16000-zeros": lambda: tiff_raw(16000, 16000, zlib_zeros(16000 * 16000 * 3)),
    "png-blob-16000x16000": lambda: _bomb_png(
        16000, 16000, [(b"gmLP", _bomb_blob((16000, 16000)))]
    ),
    "png-iccp-1gib": _bomb_iccp,
    # more of the same kind
    "png-blob-icc-record-1gib": _bomb_blob_icc,
    "tiff-16000x16000-blob-count-2gib": _bomb_tiff_blob,
    "png-second-ihdr-16000x16000": _bomb_second_ihdr,
    "png-map-frame-2048-behind-96x64": _bomb_map_frame,
}


@cache
def bomb(name: str) -> bytes:
    return BOMBS[name]()
