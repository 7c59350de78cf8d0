"""JPEG XL photos: imagecodecs (libjxl) decodes the pixels in the file's own colour space, and the
colour encoding comes from the codestream header (read/jxl_header.py): enumerated primaries,
white point and transfer function. An embedded ICC profile (want_icc) is entropy-coded inside
the codestream; we do not decode it, so such files need `--input-space`."""

from __future__ import annotations

import numpy as np

from gamut_onnx.colour.spaces import D50, D65, PRIMARIES, ColourSpace
from gamut_onnx.errors import GamutError
from gamut_onnx.limits import check_pixels
from gamut_onnx.optional import require
from gamut_onnx.read.jxl_header import JxlHeader, read_header
from gamut_onnx.read.source import Decoded
from gamut_onnx.read.tiff import corrupt

_ENUM_PRIMARIES = {"srgb": "bt709", "bt2020": "bt2020", "p3": "p3"}
_TRANSFERS = {"srgb": "srgb", "linear": "linear", "bt709": "bt709", "pq": "pq", "hlg": "hlg"}
ADOBE_GAMMA_TOLERANCE = 1e-4


def _close(a, b, tol: float = 5e-4) -> bool:
    return bool(np.allclose(np.asarray(a, float), np.asarray(b, float), atol=tol))


def _primaries(header: JxlHeader, name: str) -> str:
    colour = header.colour
    if colour.primaries_name in _ENUM_PRIMARIES:
        found = _ENUM_PRIMARIES[colour.primaries_name]
    else:  # custom: ProPhoto and Adobe RGB have no enum value; match their chromaticities
        matches = [p.name for p in PRIMARIES.values() if _close(colour.primaries, p.xy)]
        if not matches:
            raise GamutError(f"{name}: JPEG XL has custom primaries {colour.primaries}")
        found = matches[0]
    if not _close(colour.white, PRIMARIES[found].white):
        white = "D50" if _close(colour.white, D50) else "D65" if _close(colour.white, D65) else ""
        raise GamutError(f"{name}: JPEG XL white point {white or colour.white} with {found}")
    return found


def jxl_space(header: JxlHeader, name: str) -> ColourSpace | None:
    """The colour space of the header's enumerated colour encoding; None with an ICC profile."""
    colour = header.colour
    if colour.want_icc:
        return None
    if colour.colour_space != "RGB":
        raise GamutError(f"{name}: JPEG XL is {colour.colour_space}; expected an RGB photo")
    primaries = _primaries(header, name)
    if isinstance(colour.transfer, float):
        if abs(colour.transfer - 563 / 256) > ADOBE_GAMMA_TOLERANCE:
            raise GamutError(f"{name}: JPEG XL gamma {colour.transfer:.4g} is not supported")
        return ColourSpace(primaries, "gamma22")
    if colour.transfer not in _TRANSFERS:
        raise GamutError(f"{name}: JPEG XL transfer function {colour.transfer!r} not supported")
    return ColourSpace(primaries, _TRANSFERS[colour.transfer])


def read_jxl(data: bytes, name: str) -> Decoded:
    header = read_header(data)
    check_pixels(header.width, header.height, name)
    space = jxl_space(header, name)
    codecs = require("imagecodecs", "JPEG XL")
    try:
        samples = codecs.jpegxl_decode(data)
    except (codecs.JpegxlError, ValueError, RuntimeError) as exc:  # imagecodecs: RuntimeError
        raise corrupt(name, exc) from None
    if samples.ndim != 3 or samples.shape[-1] not in (3, 4):
        raise GamutError(f"{name}: JPEG XL is not RGB ({samples.shape}); expected an RGB photo")
    floating = samples.dtype.kind == "f"
    if floating:
        samples = samples.astype(np.float32)
        if not np.isfinite(samples).all():
            raise GamutError(f"{name}: float samples contain NaN or infinity")
    levels = 0 if floating else 1 << header.bits_per_sample
    alpha = samples[..., 3] if samples.shape[-1] == 4 else None
    what = f"{header.bits_per_sample}-bit{' float' if floating else ''} JPEG XL"
    return Decoded(samples[..., :3], levels, alpha, space, what)
