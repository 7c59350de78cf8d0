"""Restored JPEG XLs: 16-bit lossless, with the colour encoding of the output space written into
the codestream header (libjxl's encoder in imagecodecs tags everything linear sRGB, so the
header is rewritten: read/jxl_header.py; the pixel data of a lossless file does not depend on it).
"""

from __future__ import annotations

import numpy as np

from gamut_onnx.colour.spaces import PRIMARIES, ColourSpace
from gamut_onnx.colour.transfer import ADOBE_RGB_GAMMA
from gamut_onnx.errors import GamutError
from gamut_onnx.optional import require
from gamut_onnx.read.jxl_header import set_colour_encoding

_ENUM_PRIMARIES = {"bt709": "srgb", "bt2020": "bt2020", "p3": "p3"}
_TRANSFERS = {"linear": "linear", "srgb": "srgb", "bt709": "bt709", "pq": "pq", "hlg": "hlg"}
_TRANSFERS |= {"gamma22": ADOBE_RGB_GAMMA}
# ROMM's curve has a linear toe JPEG XL cannot express; ProPhoto goes out linear instead.
_JXL_SPACE = {("prophoto", "romm"): ColourSpace("prophoto", "linear")}


def jxl_space(space: ColourSpace) -> ColourSpace:
    """The space a JPEG XL output is actually written in (see _JXL_SPACE)."""
    return _JXL_SPACE.get((space.primaries, space.transfer), space)


def jxl_bytes(image: np.ndarray, space) -> bytes:
    """Encode uint16 RGB(A) codes, already in `jxl_space(space)`, losslessly."""
    if not isinstance(space, ColourSpace):
        raise GamutError("JPEG XL output needs a named space: use --space (e.g. display-p3)")
    codecs = require("imagecodecs", "JPEG XL output")
    primaries = PRIMARIES[space.primaries]
    named = _ENUM_PRIMARIES.get(space.primaries)
    try:
        data = bytes(codecs.jpegxl_encode(np.ascontiguousarray(image), lossless=True))
    except (codecs.JpegxlError, ValueError) as exc:
        raise GamutError(f"JPEG XL encoder failed ({exc})") from None
    return set_colour_encoding(
        data,
        primaries=named or primaries.xy,
        white="d65" if primaries.white == (0.3127, 0.3290) else primaries.white,
        transfer=_TRANSFERS[space.transfer],
    )
