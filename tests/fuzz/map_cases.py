"""Generated hostile residual maps for the fuzzers: carriers whose map is re-encoded outside the
profile, sized differently from `ispe`, flipped, cut, padded, edited in its header, or whose
chunks and segments are damaged; on old carriers (no map digest in the blob) and sealed ones.

`map_case(seed, index)` is deterministic: the same (seed, index) gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import struct
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
from hostile_maps import (  # noqa: E402
    AVIF,
    VECTORS,
    bad_crc,
    map_segments,
    patched_ispe,
    sealed_png,
    with_chunks,
)

from gamut_onnx.container.carrier import PNG_MAP_CHUNK, decode_carrier  # noqa: E402
from gamut_onnx.container.residual_map import pack_map, unpack_map  # noqa: E402

WIDTH, HEIGHT = 96, 64  # the map vectors' size
PIXEL_FORMATS = [AVIF.PIXEL_FORMAT.YUV444, AVIF.PIXEL_FORMAT.YUV420, AVIF.PIXEL_FORMAT.YUV422]
MATRICES = [AVIF.MATRIX_COEFFICIENTS.IDENTITY, AVIF.MATRIX_COEFFICIENTS.BT601,
            AVIF.MATRIX_COEFFICIENTS.BT709]  # fmt: skip


def _encoded(rng: np.random.Generator) -> bytes:
    """An AVIF near the profile, with a few random departures from it."""
    import imagecodecs

    profile = rng.random() < 0.4
    w, h = (WIDTH, HEIGHT) if profile or rng.random() < 0.6 else (
        int(rng.integers(16, 200)), int(rng.integers(16, 200)))  # fmt: skip
    channels = 3 if profile or rng.random() < 0.7 else int(rng.choice([1, 4]))
    shape = (h, w) if channels == 1 else (h, w, channels)
    samples = rng.integers(0, 256, shape, dtype=np.uint8)
    options = {"level": int(rng.integers(5, 100))}
    if not profile and rng.random() < 0.3:
        bits = int(rng.choice([10, 12]))
        samples = samples.astype(np.uint16) << (bits - 8)
        options["bitspersample"] = bits
    if channels != 1:
        options["pixelformat"] = PIXEL_FORMATS[0 if profile else int(rng.integers(3))]
        options["matrix"] = MATRICES[0 if profile else int(rng.integers(3))]
    if not profile and rng.random() < 0.1:
        samples = np.stack([samples, samples])  # a two-frame sequence
    try:
        data = imagecodecs.avif_encode(samples, **options)
    except imagecodecs.AvifError:  # a combination libavif refuses (identity with 4:2:0)
        options.pop("matrix", None)
        data = imagecodecs.avif_encode(samples, **options)
    if (w, h) != (WIDTH, HEIGHT) and rng.random() < 0.7:
        data = patched_ispe(data, WIDTH, HEIGHT)  # the container claims the carrier's size
    return data


def _damaged(data: bytes, rng: np.random.Generator) -> bytes:
    """Byte flips, a cut, inserted or trailing bytes."""
    data = bytearray(data)
    kind = int(rng.integers(4))
    if kind == 0:
        for pos in rng.integers(0, len(data), int(rng.integers(1, 6))):
            data[pos] ^= int(rng.integers(1, 256))
    elif kind == 1:
        data = data[: int(rng.integers(8, len(data)))]
    elif kind == 2:
        at = int(rng.integers(0, len(data)))
        data[at:at] = rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
    else:
        data += bytes(int(rng.integers(1, 2000)))
    return bytes(data)


def _header_edit(packed: bytes, rng: np.random.Generator) -> bytes:
    """A header field of the packed map set to a random (often in-range) value."""
    data = bytearray(packed)
    field = int(rng.integers(6))
    if field == 0:
        struct.pack_into("<f", data, 16, float(rng.choice([0.0, 0.01, 0.5, 1.0, 2.0, -1.0])))
    elif field == 1:
        struct.pack_into("<f", data, 20, float(rng.choice([0.0, 0.25, 1.0, 1.5])))
    elif field == 2:
        data[int(rng.integers(4, 8))] = int(rng.integers(0, 256))  # version, flags, reserved
    elif field == 3:
        struct.pack_into("<I", data, int(rng.choice([8, 12])), int(rng.integers(0, 70000)))
    elif field == 4:
        data[int(rng.integers(24, 32))] ^= 0xFF  # the blob digest
    else:
        data[:4] = b"GMRX"
    return bytes(data)


def map_case(seed: int, index: int) -> tuple[str, bytes, str]:
    """(name, carrier bytes, suffix) of one generated hostile-map case."""
    rng = np.random.default_rng([seed, index, 2026])
    kind = int(rng.integers(6))
    sealed = rng.random() < 0.7
    if kind == 0:  # re-encoded AVIF, maybe outside the profile or off its ispe
        avif = _encoded(rng)
        data = sealed_png(avif) if sealed else _old_png(lambda m: dataclasses.replace(m, avif=avif))
    elif kind == 1:  # damaged AVIF bytes
        m = unpack_map(decode_carrier(sealed_png()).residual_map)
        avif = _damaged(m.avif, rng)
        data = sealed_png(avif) if sealed else _old_png(lambda m: dataclasses.replace(m, avif=avif))
    elif kind == 2:  # the packed map edited after sealing (or an old one edited)
        edit = lambda packed: _header_edit(packed, rng)  # noqa: E731
        data = sealed_png(change=edit) if sealed else _old_png(change=edit)
    elif kind == 3:  # PNG container damage
        good = sealed_png() if sealed else (VECTORS / "png_residual_map.png").read_bytes()
        packed = decode_carrier(good).residual_map
        damage = int(rng.integers(3))
        data = (bad_crc(good), with_chunks(good, {PNG_MAP_CHUNK: [packed, packed]}),
                with_chunks(good, {PNG_MAP_CHUNK: []}))[damage]  # fmt: skip
    else:  # JPEG segment damage
        return f"map-{index}-jpeg", _jpeg_damage(rng), ".jpg"
    return f"map-{index}-k{kind}{'-sealed' if sealed else ''}", data, ".png"


def _old_png(replace=None, change=None) -> bytes:
    """The old map vector (no map digest in its blob) with its map changed."""
    data = (VECTORS / "png_residual_map.png").read_bytes()
    m = unpack_map(decode_carrier(data).residual_map)
    packed = pack_map(replace(m) if replace else m)
    if change is not None:
        packed = change(packed)
    return with_chunks(data, {PNG_MAP_CHUNK: [packed]})


def _jpeg_damage(rng: np.random.Generator) -> bytes:
    data = (VECTORS / "jpeg_residual_map.jpg").read_bytes()
    seq, count = int(rng.integers(0, 4)), int(rng.integers(0, 4))
    cut = int(rng.integers(0, 40))

    def make(ident: bytes, payload: bytes) -> list[bytes]:
        pieces = [ident + bytes([seq, count]) + payload[cut:]]
        if rng.random() < 0.3:
            pieces.append(ident + bytes([seq, count]) + payload)
        if rng.random() < 0.2:
            pieces.append(ident[: int(rng.integers(1, len(ident) + 2))])
        return pieces

    return map_segments(data, make)
