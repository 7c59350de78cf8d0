"""Linear ProPhoto row bands -> encoded samples of the output space: the output graph
(runtime/output.py) for every named space and matrix/TRC profile, LittleCMS for a LUT-based
ICC profile (the one conversion the graph cannot express).

Colours outside the output space are clipped to it (docs/design.md); ProPhoto holds them all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from gamut_onnx.colour.cms import IccProfile
from gamut_onnx.colour.spaces import ColourSpace
from gamut_onnx.errors import GamutError
from gamut_onnx.runtime.output import OutputEncoder, output_space

DEPTHS = ("10", "12", "16", "float")
Band = tuple[np.ndarray, np.ndarray | None]  # linear ProPhoto rows, 8-bit alpha rows or None


def alpha_to(alpha8: np.ndarray, bits: int) -> np.ndarray:
    """8-bit straight alpha -> `bits`-bit codes (exact: 255 -> the top code)."""
    top = (1 << bits) - 1
    return (alpha8.astype(np.uint32) * top // 255).astype(np.uint16)


def _lut_profile_codes(prophoto: np.ndarray, profile: IccProfile, bits: int) -> np.ndarray:
    """A LUT-based profile through LittleCMS (imagecodecs), rounded to `bits`-bit codes."""
    from gamut_onnx.colour.cms import prophoto_to_icc

    top = float((1 << bits) - 1)
    encoded = prophoto_to_icc(prophoto, profile)
    return np.rint(np.clip(encoded, 0.0, 1.0) * top).astype(np.uint16)


def encoded_bands(
    bands: Iterable[Band], space: ColourSpace | IccProfile, depth: str
) -> Iterator[np.ndarray]:
    """uint16 (or float32 for depth "float") RGB(A) rows in the output space."""
    if depth not in DEPTHS:
        raise GamutError(f"unknown depth {depth!r}")
    bits = None if depth == "float" else int(depth)
    target = output_space(space, linear=bits is None)
    encoder = OutputEncoder()
    for prophoto, alpha in bands:
        if target is None:
            out = _lut_profile_codes(prophoto, space, bits)
        else:
            out = encoder.run(prophoto, target, bits)
        if alpha is None:
            yield out
        elif bits is None:
            yield np.dstack([out, alpha.astype(np.float32) / np.float32(255.0)])
        else:
            yield np.dstack([out, alpha_to(alpha, bits)])
