"""The compact ICC profiles gamut-onnx writes: v4.3 matrix/TRC display profiles for the carrier
(sRGB), the restored outputs (every named space of colour/spaces.py) and the linear ProPhoto
profile LittleCMS converts into (colour/cms.py). Reading profiles is LittleCMS's job.

Output profiles carry the space's colorants adapted to the ICC's D50 with Bradford, as every
maker's profiles and every viewer's display profiles do: a viewer then takes a D65 space (Display
P3, Adobe RGB, Rec. 2020, sRGB) to a D65 display without any adaptation, exactly as our matrices
do. ProPhoto's D50 white is the one place the two adaptations meet: ICC viewers adapt it to a
D65 display with Bradford, our conversions with CAT02 (the method's, colour-science's).
"""

from __future__ import annotations

import hashlib
import struct
from functools import cache

import numpy as np

from gamut_onnx.colour.protocol import PROPHOTO_XYZ_D50
from gamut_onnx.colour.spaces import CAT02, PRIMARIES, ColourSpace, xy_to_XYZ
from gamut_onnx.colour.transfer import ADOBE_RGB_GAMMA

PCS_D50 = (0.9642, 1.0, 0.8249)  # the ICC PCS illuminant, as written in every profile

# ICC parametricCurveType 3 parameters (g, a, b, c, d): Y = (aX + b)^g for X >= d, else cX.
ROMM_TRC = (1.8, 1.0, 0.0, 1.0 / 16.0, 1.0 / 32.0)
SRGB_TRC = (2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045)
PARAMETRIC_TRC = {
    "romm": ROMM_TRC,
    "srgb": SRGB_TRC,
    "linear": (1.0, 1.0, 0.0, 1.0, 0.0),
    "gamma22": (ADOBE_RGB_GAMMA, 1.0, 0.0, 0.0, 0.0),
    "bt709": (1 / 0.45, 1 / 1.09929682680944, 0.09929682680944 / 1.09929682680944, 1 / 4.5,
              4.5 * 0.018053968510807),
}  # fmt: skip


def _m(*rows: float) -> np.ndarray:
    return np.array(rows, dtype=np.float64).reshape(3, 3)


SRGB_XYZ_D50 = _m(0.4360, 0.3851, 0.1431, 0.2225, 0.7169, 0.0606, 0.0139, 0.0971, 0.7141)
BRADFORD = _m(0.8951, 0.2664, -0.1614, -0.7502, 1.7135, 0.0367, 0.0389, -0.0685, 1.0296)
# Bradford adaptation D65 (0.95047, 1, 1.08883) -> PCS D50, for the sRGB profile's 'chad' tag.
BRADFORD_D65_TO_D50 = _m(
    1.047840, 0.022898, -0.050181, 0.029554, 0.990492, -0.017066, -0.009246, 0.015063, 0.751839
)


# --- building -----------------------------------------------------------------------------------
def _s15(values) -> bytes:
    return b"".join(struct.pack(">i", round(float(v) * 65536.0)) for v in values)


def _xyz_tag(xyz) -> bytes:
    return b"XYZ \0\0\0\0" + _s15(xyz)


def _mluc_tag(text: str) -> bytes:
    s = text.encode("utf-16-be")
    return b"mluc\0\0\0\0" + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(s), 28) + s


def build_matrix_trc_icc(
    colorants_xyz_d50: np.ndarray,
    trc: tuple[float, float, float, float, float],
    description: str,
    chad: np.ndarray | None = None,
) -> bytes:
    """A minimal v4.3 display RGB matrix/TRC profile; the three TRC tags share one 'para' block.

    `chad` is the adaptation from the device white to D50 (identity for D50-native spaces).
    """
    col = np.asarray(colorants_xyz_d50, dtype=np.float64)
    chad = np.eye(3) if chad is None else np.asarray(chad, dtype=np.float64)
    para = b"para\0\0\0\0" + struct.pack(">HH", 3, 0) + _s15(trc)
    tags = [
        (b"desc", _mluc_tag(description)),
        (b"cprt", _mluc_tag("No copyright, use freely")),
        (b"wtpt", _xyz_tag(PCS_D50)),
        (b"chad", b"sf32\0\0\0\0" + _s15(chad.ravel())),
        (b"rXYZ", _xyz_tag(col[:, 0])),
        (b"gXYZ", _xyz_tag(col[:, 1])),
        (b"bXYZ", _xyz_tag(col[:, 2])),
        (b"rTRC", para),
        (b"gTRC", para),
        (b"bTRC", para),
    ]
    return assemble_icc(tags)


def assemble_icc(
    tags: list[tuple[bytes, bytes]], version: int = 0x04300000, space: bytes = b"RGB "
) -> bytes:
    """Header + tag table + 4-byte aligned tag data; equal tag data is stored once and shared."""
    table, blobs, placed = [], b"", {}
    start = 128 + 4 + 12 * len(tags)
    for sig, data in tags:
        if data not in placed:
            placed[data] = start + len(blobs)
            blobs += data + b"\0" * (-len(data) % 4)
        table.append(struct.pack(">4sII", sig, placed[data], len(data)))
    body = struct.pack(">I", len(tags)) + b"".join(table) + blobs
    header = (
        struct.pack(">I4sI4s4s4s", 128 + len(body), b"", version, b"mntr", space, b"XYZ ")
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0)  # fixed date: the bytes are reproducible
        + b"acsp"
        + bytes(24)  # platform, flags, manufacturer, model, attributes
        + struct.pack(">I", 0)  # rendering intent: perceptual
        + _s15(PCS_D50)
        + bytes(48)  # creator, profile ID (filled below), reserved
    )
    profile = header + body
    return profile[:84] + profile_id(profile) + profile[100:]


def profile_id(data: bytes) -> bytes:
    """MD5 profile ID (ICC.1:2022 7.2.18): flags, rendering intent and ID fields zeroed."""
    b = bytearray(data)
    b[44:48] = b[64:68] = b"\0" * 4
    b[84:100] = b"\0" * 16
    return hashlib.md5(bytes(b)).digest()


PROPHOTO_ICC: bytes = build_matrix_trc_icc(
    PROPHOTO_XYZ_D50, ROMM_TRC, "ProPhoto RGB (ROMM), gamut-onnx"
)
PROPHOTO_LINEAR_ICC: bytes = build_matrix_trc_icc(
    PROPHOTO_XYZ_D50, PARAMETRIC_TRC["linear"], "ProPhoto RGB linear, gamut-onnx"
)
# The carrier's profile: the standard sRGB colorants (Bradford-adapted, as every sRGB profile).
SRGB_ICC: bytes = build_matrix_trc_icc(
    SRGB_XYZ_D50, SRGB_TRC, "sRGB IEC61966-2.1, gamut-onnx", chad=BRADFORD_D65_TO_D50
)


def _adaptation_to_pcs(cone: np.ndarray, white_xy: tuple[float, float]) -> np.ndarray:
    """Von Kries adaptation in the `cone` space from a white point's xy to the PCS's D50."""
    source, target = cone @ xy_to_XYZ(white_xy), cone @ np.array(PCS_D50)
    return np.linalg.inv(cone) @ np.diagflat(target / source) @ cone


def cat02_to_pcs(white_xy: tuple[float, float]) -> np.ndarray:
    """CAT02 adaptation from a white point's xy to the ICC PCS illuminant (D50)."""
    return _adaptation_to_pcs(CAT02, white_xy)


def bradford_to_pcs(white_xy: tuple[float, float]) -> np.ndarray:
    """Linear Bradford adaptation to D50, what ICC profile makers use (ICC.1:2022 Annex E)."""
    return _adaptation_to_pcs(BRADFORD, white_xy)


def named_space_of(icc: bytes) -> ColourSpace | None:
    """The named space whose profile (as we write it) these bytes are, e.g. our own outputs."""
    from gamut_onnx.colour.spaces import NAMED_SPACES

    for space in NAMED_SPACES.values():
        if profile_for(space) == icc:
            return space
    return None


@cache
def profile_for(space: ColourSpace) -> bytes | None:
    """The ICC profile we tag an output in `space` with; None for PQ/HLG, which ICC matrix/TRC
    profiles cannot express (those outputs carry cICP/nclx instead)."""
    if space.transfer not in PARAMETRIC_TRC:
        return None
    if space.primaries == "prophoto":
        if space.transfer == "romm":
            return PROPHOTO_ICC
        if space.transfer == "linear":
            return PROPHOTO_LINEAR_ICC
    primaries = PRIMARIES[space.primaries]
    chad = bradford_to_pcs(primaries.white)
    colorants = chad @ primaries.to_xyz
    description = f"{primaries.label}, {space.transfer}, gamut-onnx"
    return build_matrix_trc_icc(colorants, PARAMETRIC_TRC[space.transfer], description, chad)
