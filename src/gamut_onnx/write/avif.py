"""Restored AVIFs for wide-gamut screens: 10 or 12-bit, tagged with nclx (H.273) codes."""

from __future__ import annotations

import numpy as np

from gamut_onnx.errors import GamutError
from gamut_onnx.optional import require

QUALITY = 90  # libavif quality (0-100): visually lossless at a fraction of lossless's size
SPEED = 6


def avif_bytes(image: np.ndarray, bits: int, cicp: tuple[int, int]) -> bytes:
    """Encode uint16 RGB(A) codes of `bits` bits; `cicp` = (colour_primaries, transfer)."""
    codecs = require("imagecodecs", "AVIF output")
    try:
        return bytes(
            codecs.avif_encode(
                np.ascontiguousarray(image),
                level=QUALITY,
                speed=SPEED,
                bitspersample=bits,
                pixelformat="444",
                primaries=cicp[0],
                transfer=cicp[1],
            )
        )
    except (codecs.AvifError, ValueError) as exc:
        raise GamutError(f"AVIF encoder failed ({exc})") from None
