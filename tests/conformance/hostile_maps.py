"""Hostile residual maps for the conformance vectors and tests (blob-format.md section 9):
map AVIFs outside the profile, coded sizes that disagree with `ispe`, edits under the blob's
map digest, damaged map chunks and segments. Each builder returns complete carrier bytes."""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import imagecodecs
import numpy as np

from gamut_onnx.blob import unpack_blob
from gamut_onnx.container import jpeg, png
from gamut_onnx.container.carrier import (
    LEGACY_PNG_BLOB_CHUNK,
    LEGACY_PNG_MAP_CHUNK,
    PNG_BLOB_CHUNK,
    PNG_MAP_CHUNK,
    decode_carrier,
)
from gamut_onnx.container.residual_map import unpack_map
from gamut_onnx.exporters.residual_map import sealed

VECTORS = Path(__file__).resolve().parent / "vectors"
AVIF = imagecodecs.AVIF


def with_chunks(data: bytes, replace: dict[bytes, list[bytes]]) -> bytes:
    """The PNG with the chunks of the types in `replace` (and their legacy names, which the
    committed vectors use) swapped for those payloads."""
    names = [(PNG_BLOB_CHUNK, LEGACY_PNG_BLOB_CHUNK), (PNG_MAP_CHUNK, LEGACY_PNG_MAP_CHUNK)]
    drop = {*replace, *(name for pair in names if set(pair) & set(replace) for name in pair)}
    kept = b"".join(
        png.make_chunk(kind, body)
        for kind, body in png.iter_chunks(data, tolerate=drop)
        if kind not in drop
    )
    chunks = [(kind, body) for kind, bodies in replace.items() for body in bodies]
    return png.insert_chunks(png.PNG_SIGNATURE + kept, chunks)


def sealed_png(avif: bytes | None = None, change=None) -> bytes:
    """The map vector's carrier with its map's AVIF replaced by `avif` (and the packed map
    passed through `change`), sealed as the encoder seals: the blob records the map digest."""
    data = (VECTORS / "png_residual_map.png").read_bytes()
    found = decode_carrier(data)
    m = unpack_map(found.residual_map)
    if avif is not None:
        m = dataclasses.replace(m, avif=avif)
    blob, packed = sealed(unpack_blob(found.blob), m)
    if change is not None:
        packed = change(packed)
    return with_chunks(data, {PNG_BLOB_CHUNK: [blob], PNG_MAP_CHUNK: [packed]})


def map_avif(samples: np.ndarray, **options) -> bytes:
    options = {"pixelformat": AVIF.PIXEL_FORMAT.YUV444,
               "matrix": AVIF.MATRIX_COEFFICIENTS.IDENTITY, **options}  # fmt: skip
    return imagecodecs.avif_encode(samples, level=60, **options)


def patched_ispe(avif: bytes, width: int, height: int) -> bytes:
    data = bytearray(avif)
    at = data.index(b"ispe")
    struct.pack_into(">II", data, at + 8, width, height)
    return bytes(data)


RNG = np.random.default_rng(0)
SAMPLES = RNG.integers(0, 256, (64, 96, 3), dtype=np.uint8)
OUTSIDE_THE_PROFILE = {
    "10-bit": (lambda: map_avif(SAMPLES.astype(np.uint16) * 4, bitspersample=10), "10/10/10"),
    "alpha": (lambda: map_avif(np.dstack([SAMPLES, SAMPLES[..., 0]])), "more than one item"),
    "4:2:0 BT.601": (
        lambda: map_avif(
            SAMPLES, pixelformat=AVIF.PIXEL_FORMAT.YUV420, matrix=AVIF.MATRIX_COEFFICIENTS.BT601
        ),
        "4:4:4",
    ),  # fmt: skip
    "4:4:4 BT.709": (lambda: map_avif(SAMPLES, matrix=AVIF.MATRIX_COEFFICIENTS.BT709), "matrix 1"),
    "grayscale": (lambda: imagecodecs.avif_encode(SAMPLES[..., 0], level=60), "1 channels"),
    "2 frames": (lambda: map_avif(np.stack([SAMPLES, SAMPLES])), "not a still AVIF"),
    "trailing bytes": (lambda: map_avif(SAMPLES) + bytes(1000), "top-level boxes"),
    "16 bytes inserted": (
        lambda: map_avif(SAMPLES)[:300] + bytes(16) + map_avif(SAMPLES)[300:],
        "residual map ignored",
    ),  # fmt: skip
    "frame larger than ispe": (
        lambda: patched_ispe(
            map_avif(np.random.default_rng(1).integers(0, 256, (160, 160, 3), np.uint8)), 96, 64
        ),
        "codes a 160x160 frame",
    ),  # fmt: skip
    "frame smaller than ispe": (
        lambda: patched_ispe(map_avif(SAMPLES[:32, :48]), 96, 64),
        "codes a 48x32 frame",
    ),
}


def bad_crc(data: bytes) -> bytes:
    """The PNG with its map chunk's CRC broken (gmRm, or gmRM in the committed vectors)."""
    at = data.find(PNG_MAP_CHUNK) if PNG_MAP_CHUNK in data else data.index(LEGACY_PNG_MAP_CHUNK)
    length = struct.unpack_from(">I", data, at - 4)[0]
    crc = at + 4 + length
    return data[:crc] + bytes(b ^ 0xFF for b in data[crc : crc + 4]) + data[crc + 4 :]


def map_segments(data: bytes, make) -> bytes:
    """The JPEG with its GAMUT-RESMAP segments replaced by make(payload) (a list of segment
    payloads, each written as an APP9 segment)."""
    out, payload = b"", None
    for marker, body in jpeg.iter_segments(data):
        if marker == jpeg.APP9 and body.startswith(jpeg.MAP_ID):
            payload = body[len(jpeg.MAP_ID) + 2 :]
            continue
        if marker == jpeg.SOS:
            break
        out += b"\xff\xd8" if marker == jpeg.SOI else (
            bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body)  # fmt: skip
    extra = b"".join(
        b"\xff\xe9" + struct.pack(">H", len(s) + 2) + s for s in make(jpeg.MAP_ID, payload)
    )
    sos = data.index(b"\xff\xda")
    return out[:2] + extra + out[2:] + data[sos:]


def map_vectors() -> list[tuple[str, bytes, str, str, str]]:
    """(name, carrier bytes, suffix, expected outcome, message fragment) of the hostile-map
    vectors: a sealed map that applies, and maps every runtime must ignore with a warning."""
    out = [("png_map_sealed", sealed_png(), ".png", "restore", "")]
    for name, (make, fragment) in OUTSIDE_THE_PROFILE.items():
        slug = name.replace(":", "").replace(".", "").replace(" ", "_").lower()
        out.append((f"neg_map_{slug}", sealed_png(make()), ".png", "warning", fragment))

    def scale(packed: bytes) -> bytes:
        return packed[:16] + struct.pack("<f", 0.5) + packed[20:]

    good = sealed_png()
    packed = decode_carrier(good).residual_map
    out += [
        ("neg_map_edited", sealed_png(change=scale), ".png", "warning", "changed after encoding"),
        ("neg_map_missing", with_chunks(good, {PNG_MAP_CHUNK: []}), ".png", "warning", "missing"),
        ("neg_map_bad_crc", bad_crc(good), ".png", "warning", "bad CRC"),
        # under the legacy name, as committed (readers keep reading gmRM)
        ("neg_map_two_chunks", with_chunks(good, {LEGACY_PNG_MAP_CHUNK: [packed, packed]}), ".png",
         "warning", "2 gmRM chunks"),
    ]  # fmt: skip
    mapped_jpeg = (VECTORS / "jpeg_residual_map.jpg").read_bytes()
    for name, make, fragment in JPEG_DAMAGE:
        out.append((name, map_segments(mapped_jpeg, make), ".jpg", "warning", fragment))
    return out


JPEG_DAMAGE = [
    ("neg_jpeg_map_short", lambda ident, p: [ident], "too short"),
    ("neg_jpeg_map_duplicate",
     lambda ident, p: [ident + b"\x01\x01" + p, ident + b"\x01\x01" + p], "duplicate"),
    ("neg_jpeg_map_missing", lambda ident, p: [ident + b"\x01\x02" + p], "missing chunks 2 of 2"),
]  # fmt: skip
