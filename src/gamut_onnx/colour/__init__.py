"""Colour: the reference protocol (`protocol`), named spaces and their matrices (`spaces`),
transfer curves (`transfer`), LittleCMS colour management (`cms`) and the ICC profiles we write
(`icc`).

The protocol functions are re-exported here, so `from gamut_onnx.colour import prophoto_to_srgb8`
reads like the standard it implements.
"""

from gamut_onnx.colour.protocol import (
    PROPHOTO_TO_SRGB,
    PROPHOTO_XYZ_D50,
    SRGB8_TO_LINEAR,
    SRGB_TO_PROPHOTO,
    apply_matrix,
    boundary_mask,
    out_of_gamut_mask,
    prophoto_to_srgb8,
    prophoto_to_srgb_linear,
    quantise_8bit,
    srgb8_to_prophoto,
)
from gamut_onnx.colour.transfer import ROMM_ET, romm_decode, romm_encode, srgb_decode, srgb_encode

__all__ = [
    "PROPHOTO_TO_SRGB",
    "PROPHOTO_XYZ_D50",
    "ROMM_ET",
    "SRGB8_TO_LINEAR",
    "SRGB_TO_PROPHOTO",
    "apply_matrix",
    "boundary_mask",
    "out_of_gamut_mask",
    "prophoto_to_srgb8",
    "prophoto_to_srgb_linear",
    "quantise_8bit",
    "romm_decode",
    "romm_encode",
    "srgb8_to_prophoto",
    "srgb_decode",
    "srgb_encode",
]
