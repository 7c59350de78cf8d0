"""Matrix/TRC ICC profiles read without LittleCMS: their colorants and tone curves (ICC.1:2022
sections 10.6 `curv`, 10.18 `para`, 10.31 `XYZ `), so that a decode-only install restores into
a photo's own profile through the output graph.

Nearly every camera and phone profile is of this kind (Apple's Display P3, Adobe RGB (1998),
ProPhoto, sRGB). A profile with LUT tags (AToB/BToA) is not: LittleCMS prefers those tags over
the matrix, so `read_matrix_trc` returns None and the caller needs LittleCMS.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gamut_onnx.errors import GamutError

LUT_TAGS = {b"A2B0", b"A2B1", b"A2B2", b"B2A0", b"B2A1", b"B2A2", b"D2B0", b"B2D0"}
INVERSE_SAMPLES = 1 << 20  # the curve is inverted from this many samples (error < 1e-6)
# para function type -> parameter count (g, a, b, c, d, e, f)
PARA_COUNTS = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}


@dataclass(frozen=True)
class MatrixTrc:
    """A matrix/TRC profile: colorants (columns: the PCS XYZ of R, G, B) and per channel the
    tone curve from encoded value to linear light."""

    colorants: np.ndarray  # [3, 3] float64
    curves: tuple[Callable[[np.ndarray], np.ndarray], ...]

    def encode(self, channel: int, linear: np.ndarray) -> np.ndarray:
        """Linear light in [0, 1] -> encoded value: the inverse of the channel's tone curve,
        by interpolation between dense samples (tone curves increase; flat runs invert to
        their first point)."""
        x, y = _inverse_samples(self.curves[channel])
        return np.interp(np.clip(linear, 0.0, 1.0), y, x)


def _s15(data: bytes, offset: int, count: int) -> np.ndarray:
    return np.array(struct.unpack_from(f">{count}i", data, offset), np.float64) / 65536.0


def _tags(data: bytes) -> dict[bytes, bytes]:
    if len(data) < 132:
        raise GamutError("ICC profile is too short")
    (count,) = struct.unpack_from(">I", data, 128)
    if count > 1000 or 132 + 12 * count > len(data):
        raise GamutError("ICC profile's tag table is damaged")
    tags = {}
    for k in range(count):
        signature, offset, size = struct.unpack_from(">4sII", data, 132 + 12 * k)
        if offset + size > len(data) or size < 8:
            raise GamutError(f"ICC profile's tag {signature!r} runs past the profile")
        tags.setdefault(signature, data[offset : offset + size])
    return tags


def _xyz(tag: bytes) -> np.ndarray:
    if tag[:4] != b"XYZ " or len(tag) < 20:
        raise GamutError("ICC profile's colorant is not an XYZ tag")
    return _s15(tag, 8, 3)


def _sampled(table: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    grid = np.linspace(0.0, 1.0, len(table))
    return lambda v: np.interp(v, grid, table)


def _parametric(kind: int, p: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    g, a, b, c, d, e, f = (*p, *([0.0] * (7 - len(p))))
    if kind == 0:
        return lambda v: np.power(v, g)
    if kind in (1, 2):
        d = -b / a if a else 0.0
        floor = c if kind == 2 else 0.0
        return lambda v: np.where(v >= d, np.power(np.maximum(a * v + b, 0.0), g) + floor, floor)
    return lambda v: np.where(v >= d, np.power(np.maximum(a * v + b, 0.0), g) + e, c * v + f)


def _curve(tag: bytes) -> Callable[[np.ndarray], np.ndarray]:
    """A `curv` or `para` tag as a function from encoded value to linear light."""
    kind = tag[:4]
    if kind == b"curv" and len(tag) >= 12:
        (n,) = struct.unpack_from(">I", tag, 8)
        if 12 + 2 * n > len(tag):
            raise GamutError("ICC profile's tone curve is cut short")
        if n == 0:
            return lambda v: np.asarray(v, np.float64)
        if n == 1:
            gamma = struct.unpack_from(">H", tag, 12)[0] / 256.0
            return lambda v: np.power(v, gamma)
        return _sampled(np.array(struct.unpack_from(f">{n}H", tag, 12), np.float64) / 65535.0)
    if kind == b"para" and len(tag) >= 12:
        (function,) = struct.unpack_from(">H", tag, 8)
        count = PARA_COUNTS.get(function)
        if count is None or 12 + 4 * count > len(tag):
            raise GamutError(f"ICC profile's parametric curve type {function} is not supported")
        return _parametric(function, _s15(tag, 12, count))
    raise GamutError(f"ICC profile's tone curve has type {kind!r}")


def read_matrix_trc(data: bytes) -> MatrixTrc | None:
    """The colorants and curves of a matrix/TRC RGB profile, or None when the profile has LUT
    tags (which LittleCMS would use instead) or lacks a colorant or curve."""
    tags = _tags(data)
    names = [b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC", b"bTRC"]
    if LUT_TAGS & tags.keys() or not all(n in tags for n in names):
        return None
    colorants = np.stack([_xyz(tags[n]) for n in names[:3]], axis=1)
    (a, b, c), (d, e, f), (g, h, i) = colorants.tolist()
    if abs(a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)) < 1e-6:
        raise GamutError("ICC profile's colorants are singular (no inverse)")
    return MatrixTrc(colorants, tuple(_curve(tags[n]) for n in names[3:]))


def _inverse_samples(curve: Callable) -> tuple[np.ndarray, np.ndarray]:
    """(encoded, linear) samples of `curve`, made non-decreasing for inversion."""
    x = np.linspace(0.0, 1.0, INVERSE_SAMPLES + 1)
    y = np.maximum.accumulate(np.clip(curve(x), 0.0, None))
    return x, y
