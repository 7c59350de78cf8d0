"""Soft clipping: the GamutMLP authors' per-image baseline, as a metadata method of its own.

Instead of clipping linear sRGB to [0, 1], values near and beyond the gamut edges are squeezed
linearly into the last part of the range: per channel, [knee_hi, hi] -> [knee_hi, 1] and
[lo, knee_lo] -> [0, knee_lo], where hi/lo are the image's own extremes. Four numbers undo it,
so they ride in the carrier (PNG chunk gmSC, JPEG APP9 "GAMUT-SOFTCLIP") like the MLP blob does,
and the method is scored through real carrier bytes. Formula and deviations: docs/design.md.
"""

from __future__ import annotations

import struct
from dataclasses import astuple, dataclass

import numpy as np

from gamut_onnx.colour import (
    SRGB8_TO_LINEAR,
    SRGB_TO_PROPHOTO,
    apply_matrix,
    prophoto_to_srgb_linear,
    quantise_8bit,
    srgb_encode,
)
from gamut_onnx.container import jpeg, png
from gamut_onnx.errors import GamutError

# The authors' fixed knees (linear sRGB): channels above 0.9 / below 0.05 are compressed.
KNEE_HI = 0.9
KNEE_LO = 0.05
# Private ancillary PNG chunk, unsafe-to-copy like gmLP: the numbers only fit these pixels.
PNG_CHUNK = b"gmSC"
JPEG_ID = b"GAMUT-SOFTCLIP\x00"  # APP9 identifier, distinct from the MLP blob's "GAMUT-ONNX"
_FORMAT = "<B4f"  # version, lo, hi, knee_lo, knee_hi (float32, little-endian)
_VERSION = 1


@dataclass(frozen=True)
class SoftClipParams:
    """The per-image numbers the decoder needs (linear sRGB values)."""

    lo: float  # the image's minimum, or 0 when nothing is below 0
    hi: float  # the image's maximum, or 1 when nothing is above 1
    knee_lo: float = KNEE_LO
    knee_hi: float = KNEE_HI


def fit_params(srgb_linear: np.ndarray) -> SoftClipParams:
    """Per-image parameters: the extremes of the unclipped linear sRGB image.

    Clamped to lo <= 0 and hi >= 1 so that an image already inside [0, 1] is left unchanged
    (the authors' code would stretch it). Rounded to float32, as stored.
    """
    lo = min(float(np.min(srgb_linear)), 0.0)
    hi = max(float(np.max(srgb_linear)), 1.0)
    return SoftClipParams(*(float(np.float32(v)) for v in (lo, hi, KNEE_LO, KNEE_HI)))


def _masks(srgb: np.ndarray, p: SoftClipParams) -> tuple[np.ndarray, np.ndarray]:
    """Channels to compress: at/below knee_lo (pixel not all there), at/above knee_hi (ditto).

    Near-black and near-white pixels (every channel past the knee) are excluded, as the
    authors do; the forward map keeps every channel on its side of the knees, so the decoder
    recomputes the same masks from the compressed values.
    """
    low, high = srgb <= p.knee_lo, srgb >= p.knee_hi
    low &= ~np.all(low, axis=-1, keepdims=True)
    high &= ~np.all(high, axis=-1, keepdims=True)
    return low, high


def forward(srgb_linear: np.ndarray, p: SoftClipParams) -> np.ndarray:
    """Unclipped linear sRGB -> soft-clipped linear sRGB (values outside [lo, hi] still clip)."""
    s = np.asarray(srgb_linear, np.float64)
    low, high = _masks(s, p)
    out = s.copy()
    out[low] = (s[low] - p.lo) / (p.knee_lo - p.lo) * p.knee_lo
    out[high] = p.knee_hi + (s[high] - p.knee_hi) / (p.hi - p.knee_hi) * (1.0 - p.knee_hi)
    return np.clip(out, 0.0, 1.0)


def inverse(srgb_linear: np.ndarray, p: SoftClipParams) -> np.ndarray:
    """Soft-clipped linear sRGB -> linear sRGB with the compressed ranges expanded again."""
    s = np.asarray(srgb_linear, np.float64)
    low, high = _masks(s, p)
    out = s.copy()
    out[low] = s[low] / p.knee_lo * (p.knee_lo - p.lo) + p.lo
    out[high] = p.knee_hi + (s[high] - p.knee_hi) / (1.0 - p.knee_hi) * (p.hi - p.knee_hi)
    return out


def pack_params(p: SoftClipParams) -> bytes:
    """17 bytes: a version byte and four float32 numbers."""
    return struct.pack(_FORMAT, _VERSION, *astuple(p))


def unpack_params(data: bytes) -> SoftClipParams:
    """Parse and validate stored parameters; GamutError when they cannot be ours."""
    if len(data) != struct.calcsize(_FORMAT) or data[0] != _VERSION:
        raise GamutError(f"soft-clip parameters are corrupt ({len(data)} bytes)")
    p = SoftClipParams(*struct.unpack(_FORMAT, data)[1:])
    if not (np.isfinite(astuple(p)).all() and p.lo <= 0 < p.knee_lo < p.knee_hi < 1 <= p.hi):
        raise GamutError(f"soft-clip parameters are out of range: {p}")
    return p


def _jpeg_with_segment(data: bytes, payload: bytes) -> bytes:
    """Insert one APP9 segment after SOI and the leading APP0/APP1 (where readers expect them)."""
    segment = struct.pack(">BBH", 0xFF, jpeg.APP9, 2 + len(JPEG_ID) + len(payload))
    pos = 2
    for marker, body in jpeg.iter_segments(data):
        if marker == jpeg.SOI:
            continue
        if marker not in (jpeg.APP0, jpeg.APP1):
            break
        pos += 4 + len(body)  # marker, length field, payload (libjpeg writes no fill bytes)
    return data[:pos] + segment + JPEG_ID + payload + data[pos:]


def encode(
    prophoto: np.ndarray,
    fmt: str = "png",
    jpeg_quality: int = 90,
    params: SoftClipParams | None = None,
) -> tuple[bytes, int]:
    """Linear ProPhoto -> (soft-clipped sRGB carrier bytes, parameter payload bytes).

    `params` defaults to fit_params of the image (callers that time the fit pass it in)."""
    from gamut_onnx.colour.icc import SRGB_ICC
    from gamut_onnx.container.carrier import encode_carrier

    srgb = prophoto_to_srgb_linear(np.asarray(prophoto, np.float32))
    p = params or fit_params(srgb)
    srgb8 = quantise_8bit(srgb_encode(forward(srgb, p)))
    payload = pack_params(p)
    if fmt == "png":
        data = encode_carrier("png", srgb8, None, None)
        end = len(png.PNG_SIGNATURE) + 12 + 13  # right after IHDR, as encode_png places chunks
        return data[:end] + png.make_chunk(PNG_CHUNK, payload) + data[end:], len(payload)
    if fmt == "jpeg":
        bare = jpeg.add_segments(jpeg.encode_jpeg(srgb8, jpeg_quality), SRGB_ICC, None)
        return _jpeg_with_segment(bare, payload), len(payload)
    raise GamutError(f"soft-clip needs a png or jpeg carrier, not {fmt!r}")


def read_params(data: bytes) -> SoftClipParams:
    """The parameters stored in a PNG or JPEG carrier's bytes."""
    if data.startswith(png.PNG_SIGNATURE):
        found = png.ancillary_chunks(data).get(PNG_CHUNK, [])
    else:
        found = [
            body[len(JPEG_ID) :]
            for marker, body in jpeg.iter_segments(data)
            if marker == jpeg.APP9 and body.startswith(JPEG_ID)
        ]
    if len(found) != 1:
        raise GamutError(f"carrier holds {len(found)} soft-clip parameter sets, expected 1")
    return unpack_params(found[0])


def restore(srgb8: np.ndarray, params: SoftClipParams) -> np.ndarray:
    """Carrier pixels (HxWx3 uint8) -> linear ProPhoto float32 HxWx3 in [0, 1]."""
    srgb = inverse(SRGB8_TO_LINEAR[np.asarray(srgb8)[..., :3]], params)
    return np.clip(apply_matrix(srgb, SRGB_TO_PROPHOTO), 0.0, 1.0).astype(np.float32)


def decode(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Soft-clip carrier bytes -> linear ProPhoto float32 HxWx3 in [0, 1]."""
    from gamut_onnx.container.carrier import decode_carrier

    return restore(decode_carrier(data, name).srgb8, read_params(data))
