"""PNG photos: 8 or 16-bit RGB(A), described by cICP, iCCP or sRGB chunks (in that precedence,
as the PNG Third Edition says: cICP overrides iCCP, which overrides sRGB)."""

from __future__ import annotations

import numpy as np

from gamut_onnx.colour.spaces import NAMED_SPACES, space_from_cicp
from gamut_onnx.container import png
from gamut_onnx.errors import GamutError
from gamut_onnx.limits import check_pixels
from gamut_onnx.optional import require
from gamut_onnx.read.source import Decoded, SourceSpace, icc_space
from gamut_onnx.read.tiff import corrupt

_PNG_TYPES = {0: "grayscale", 3: "palette", 4: "grayscale with alpha"}


def png_space(chunks: dict[bytes, list[bytes]], name: str) -> SourceSpace | None:
    """The colour space a PNG's chunks describe, or None when untagged."""
    if b"cICP" in chunks:
        payload = chunks[b"cICP"][0]
        if len(payload) != 4:
            raise GamutError(f"{name}: cICP chunk has {len(payload)} bytes, expected 4")
        primaries, transfer, matrix, full_range = payload
        if matrix != 0 or full_range != 1:
            raise GamutError(f"{name}: cICP says matrix {matrix}, range {full_range}; PNG is RGB")
        return space_from_cicp(primaries, transfer, name)
    icc = png.iccp_profile(chunks)
    if icc is not None:
        return icc_space(icc, name)
    if b"sRGB" in chunks:
        return NAMED_SPACES["srgb"]
    return None


def read_png(data: bytes, name: str) -> Decoded:
    try:
        header = png.read_ihdr(data)
        chunks = png.ancillary_chunks(data)
    except GamutError as exc:
        raise corrupt(name, exc) from None
    if header.colour_type not in (2, 6):
        what = _PNG_TYPES.get(header.colour_type, f"colour type {header.colour_type}")
        raise GamutError(f"{name}: PNG is {what}; expected an RGB photo")
    if header.bit_depth not in (8, 16):
        raise GamutError(f"{name}: {header.bit_depth}-bit PNG; expected 8 or 16 bits")
    if header.width == 0 or header.height == 0:
        raise GamutError(f"{name}: image is empty ({header.width}x{header.height} pixels)")
    check_pixels(header.width, header.height, name)
    space = png_space(chunks, name)
    channels = 3 if header.colour_type == 2 else 4
    if header.bit_depth == 8:
        try:
            samples = png.decode_png(data)
        except (OSError, SyntaxError, ValueError) as exc:
            raise corrupt(name, exc) from None
    else:
        codecs = require("imagecodecs", "16-bit PNG")
        try:
            samples = codecs.png_decode(png.critical_only(data))
        except (codecs.PngError, ValueError) as exc:
            raise corrupt(name, exc) from None
    expected = (header.height, header.width, channels)
    if samples.shape != expected:
        samples = samples.reshape(expected) if samples.size == np.prod(expected) else samples
    if samples.shape != expected:
        raise corrupt(name, ValueError(f"decoded {samples.dtype} {samples.shape}"))
    alpha = samples[..., 3] if channels == 4 else None
    levels = 1 << header.bit_depth
    return Decoded(samples[..., :3], levels, alpha, space, f"{header.bit_depth}-bit PNG")
