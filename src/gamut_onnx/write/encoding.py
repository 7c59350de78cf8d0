"""Linear ProPhoto -> encoded samples in the output colour space: the inverse of the readers'
`to_prophoto`, through the same path (named-space matrices and curves, or LittleCMS for an ICC
profile), so that source -> ProPhoto -> source is exact for colours the carrier did not clip.

Colours outside the output space are clipped to it (docs/design.md); ProPhoto holds them all.
"""

from __future__ import annotations

import numpy as np

from gamut_onnx.colour.cms import IccProfile, prophoto_to_icc
from gamut_onnx.colour.spaces import ColourSpace, from_prophoto_matrix
from gamut_onnx.colour.transfer import encode_codes, encode_fast
from gamut_onnx.errors import GamutError

DEPTHS = ("10", "12", "16", "float")


def _in_primaries(prophoto: np.ndarray, space: ColourSpace) -> np.ndarray:
    """Linear ProPhoto float32 (..., 3) -> linear light in `space`'s primaries, unclipped."""
    matrix = from_prophoto_matrix(space.primaries).astype(np.float32).T
    return np.asarray(prophoto, np.float32) @ matrix


def from_prophoto(prophoto: np.ndarray, space: ColourSpace | IccProfile) -> np.ndarray:
    """Linear ProPhoto float32 (..., 3) -> encoded float in [0, 1] (linear for depth float)."""
    if isinstance(space, IccProfile):
        return np.clip(prophoto_to_icc(prophoto, space), 0.0, 1.0)
    return encode_fast(space.transfer, _in_primaries(prophoto, space))


def to_codes(prophoto: np.ndarray, space: ColourSpace | IccProfile, bits: int) -> np.ndarray:
    """Linear ProPhoto float32 (..., 3) -> `bits`-bit codes in `space`: quantise(from_prophoto),
    with the curve and the rounding fused for the named spaces."""
    if isinstance(space, IccProfile):
        return quantise(from_prophoto(prophoto, space), bits)
    return encode_codes(space.transfer, _in_primaries(prophoto, space), bits)


def linear_in(prophoto: np.ndarray, space: ColourSpace | IccProfile) -> np.ndarray:
    """Linear ProPhoto -> linear light in `space`'s primaries, clipped (float outputs, and the
    source-space metrics of eval). An ICC space must be a matrix/TRC profile."""
    if isinstance(space, IccProfile):
        from gamut_onnx.colour.cms import prophoto_to_linear_matrix

        found = prophoto_to_linear_matrix(space)
        if found is None:
            raise GamutError("a LUT-based ICC profile has no linear space of its own")
        return np.clip(np.asarray(prophoto, np.float32) @ found.astype(np.float32).T, 0.0, 1.0)
    return np.clip(_in_primaries(prophoto, space), 0.0, 1.0)


def quantise(encoded: np.ndarray, bits: int) -> np.ndarray:
    """Encoded [0, 1] -> uint16 code values of `bits` bits, rounded to nearest."""
    top = float((1 << bits) - 1)
    return np.rint(np.clip(encoded, 0.0, 1.0) * top).astype(np.uint16)


def alpha_to(alpha8: np.ndarray, bits: int) -> np.ndarray:
    """8-bit straight alpha -> `bits`-bit codes (exact: 255 -> the top code)."""
    top = (1 << bits) - 1
    return (alpha8.astype(np.uint32) * top // 255).astype(np.uint16)
