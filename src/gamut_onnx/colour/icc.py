"""Compact ICC profiles built and parsed by our own code, so no colour-management library is needed
at runtime: we write ProPhoto/sRGB matrix-TRC profiles into our files and recognise the profile
embedded in a user's ground-truth image (ICC.1:2022, v2 and v4 tag types).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import numpy as np

from gamut_onnx.colour import protocol as colour
from gamut_onnx.errors import GamutError

PCS_D50 = (0.9642, 1.0, 0.8249)  # the ICC PCS illuminant, as written in every profile
TRC_X = np.linspace(0.0, 1.0, 33)  # where parsed tone curves are sampled

ROMM_TRC = (1.8, 1.0, 0.0, 1.0 / 16.0, 1.0 / 32.0)
SRGB_TRC = (2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045)


def _m(*rows: float) -> np.ndarray:
    return np.array(rows, dtype=np.float64).reshape(3, 3)


SRGB_XYZ_D50 = _m(0.4360, 0.3851, 0.1431, 0.2225, 0.7169, 0.0606, 0.0139, 0.0971, 0.7141)
# The "ProPhoto RGB" profile shipped by Adobe/Kodak rounds the ROMM colorants slightly differently.
ADOBE_PROPHOTO_XYZ_D50 = _m(0.7977, 0.1352, 0.0313, 0.2880, 0.7119, 0.0001, 0.0, 0.0, 0.8249)
# D50-adapted colorants of common non-ProPhoto spaces, only to name them in error messages.
KNOWN_COLORANTS = {
    "sRGB": SRGB_XYZ_D50,
    "Display P3": _m(0.5151, 0.2920, 0.1571, 0.2412, 0.6922, 0.0666, -0.0011, 0.0419, 0.7841),
    "Adobe RGB (1998)": _m(0.6097, 0.2053, 0.1492, 0.3111, 0.6257, 0.0632, 0.0195, 0.0609, 0.7446),
    "Rec. 2020": _m(0.6734, 0.1656, 0.1251, 0.2790, 0.6753, 0.0456, -0.0019, 0.0300, 0.7969),
}
# Bradford adaptation D65 (0.95047, 1, 1.08883) -> PCS D50, for the sRGB profile's 'chad' tag.
BRADFORD_D65_TO_D50 = _m(
    1.047840, 0.022898, -0.050181, 0.029554, 0.990492, -0.017066, -0.009246, 0.015063, 0.751839
)


@dataclass
class IccInfo:
    """What we need from a profile: spaces, matrix colorants, sampled tone curves, a name."""

    colour_space: str  # header data colour space, e.g. 'RGB ', 'GRAY', 'CMYK'
    pcs: str  # 'XYZ ' or 'Lab '
    colorants: np.ndarray | None  # 3x3, columns = R, G, B colorant XYZ (D50)
    trc: np.ndarray | None  # 3 x len(TRC_X): the R, G, B curves sampled at TRC_X
    description: str


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
    colour.PROPHOTO_XYZ_D50, ROMM_TRC, "ProPhoto RGB (ROMM), gamut-onnx"
)
SRGB_ICC: bytes = build_matrix_trc_icc(
    SRGB_XYZ_D50, SRGB_TRC, "sRGB IEC61966-2.1, gamut-onnx", chad=BRADFORD_D65_TO_D50
)


# --- parsing ------------------------------------------------------------------------------------
def _para(ftype: int, p: list[float], x: np.ndarray) -> np.ndarray:
    """Evaluate an ICC parametricCurveType (function types 0-4)."""
    g, a, b, c, d, e, f = p + [0.0] * (7 - len(p))
    if ftype == 0:
        return np.power(x, g)
    if ftype in (1, 2):
        lin = np.maximum(a * x + b, 0.0)
        y = np.where(a * x + b >= 0, np.power(lin, g), 0.0)
        return y + (c if ftype == 2 else 0.0)
    offs = (e, f) if ftype == 4 else (0.0, 0.0)
    return np.where(x >= d, np.power(np.maximum(a * x + b, 0.0), g) + offs[0], c * x + offs[1])


def _curve(tag: bytes) -> np.ndarray:
    """Sample a 'curv' or 'para' tag at TRC_X."""
    kind = tag[:4]
    if kind == b"curv":
        (n,) = struct.unpack_from(">I", tag, 8)
        table = np.frombuffer(tag, ">u2", count=n, offset=12).astype(np.float64)
        if n == 0:
            return TRC_X.copy()
        if n == 1:
            return np.power(TRC_X, table[0] / 256.0)
        return np.interp(TRC_X, np.linspace(0.0, 1.0, n), table / 65535.0)
    if kind == b"para":
        (ftype,) = struct.unpack_from(">H", tag, 8)
        counts = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}
        if ftype not in counts:
            raise ValueError(f"unknown parametric curve type {ftype}")
        p = struct.unpack_from(f">{counts[ftype]}i", tag, 12)
        return _para(ftype, [v / 65536.0 for v in p], TRC_X)
    raise ValueError(f"unsupported curve type {kind!r}")


def _text(tag: bytes) -> str:
    """A 'desc' (v2 textDescriptionType) or 'mluc' (v4) tag as a string."""
    kind = tag[:4]
    if kind == b"desc":
        (n,) = struct.unpack_from(">I", tag, 8)
        if 12 + n > len(tag):
            raise ValueError("desc string past end of tag")
        return tag[12 : 12 + n].split(b"\0")[0].decode("latin-1")
    if kind == b"mluc":
        (count,) = struct.unpack_from(">I", tag, 8)
        if count == 0:
            return ""
        length, off = struct.unpack_from(">II", tag, 20)  # first record: lang, country, len, off
        if off + length > len(tag):
            raise ValueError("mluc string past end of tag")
        return tag[off : off + length].decode("utf-16-be", errors="replace")
    return ""


def _tags(data: bytes) -> dict[bytes, bytes]:
    (count,) = struct.unpack_from(">I", data, 128)
    if 132 + 12 * count > len(data):
        raise ValueError("tag table past end of data")
    tags = {}
    for i in range(count):
        sig, off, size = struct.unpack_from(">4sII", data, 132 + 12 * i)
        if off + size > len(data) or size < 8:
            raise ValueError(f"tag {sig!r} past end of data")
        tags[sig] = data[off : off + size]
    return tags


def parse_icc(data: bytes) -> IccInfo:
    """Read colour space, colorants, tone curves and description from a v2 or v4 profile."""
    try:
        if len(data) < 132 or data[36:40] != b"acsp":
            raise ValueError("no 'acsp' signature")
        (size,) = struct.unpack_from(">I", data, 0)
        if size > len(data):
            raise ValueError(f"header says {size} bytes, got {len(data)}")
        tags = _tags(data)
        xyz = [tags.get(s) for s in (b"rXYZ", b"gXYZ", b"bXYZ")]
        colorants = None
        if all(t is not None and t[:4] == b"XYZ " for t in xyz):
            cols = [[v / 65536.0 for v in struct.unpack_from(">3i", t, 8)] for t in xyz]
            colorants = np.array(cols).T
        curves = [tags.get(s) for s in (b"rTRC", b"gTRC", b"bTRC")]
        trc = None
        if all(curves):
            with np.errstate(all="ignore"):  # a garbage gamma must not warn, just not match
                trc = np.nan_to_num(np.array([_curve(t) for t in curves]), posinf=1e9, neginf=-1e9)
        desc = _text(tags[b"desc"]) if b"desc" in tags else ""
        space, pcs = data[16:20].decode("latin-1"), data[20:24].decode("latin-1")
    except (ValueError, struct.error, IndexError) as e:
        raise GamutError(f"ICC profile is truncated or malformed ({e})") from None
    return IccInfo(space, pcs, colorants, trc, desc.strip())


# --- recognising ProPhoto -----------------------------------------------------------------------
_SPACES = {"GRAY": "a grayscale", "CMYK": "a CMYK", "Lab ": "a Lab", "YCbr": "a YCbCr"}


def _close(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    return bool(np.all(np.abs(a - b) <= tol))


def check_prophoto_icc(data: bytes) -> str:
    """'romm' or 'linear' for a ProPhoto RGB matrix profile; GamutError for anything else.

    Images are converted with our own ROMM maths, so only the profile's identity is checked.
    """
    info = parse_icc(data)
    name = f"input ICC profile '{info.description}'" if info.description else "input ICC profile"
    fix = "convert the image to ProPhoto RGB first"
    if info.colour_space != "RGB ":
        kind = _SPACES.get(info.colour_space, f"a '{info.colour_space.strip()}'")
        raise GamutError(f"{name} is {kind} profile, not ProPhoto RGB: {fix}")
    if info.colorants is None or info.trc is None:
        raise GamutError(f"{name} is not a matrix/TRC profile (not ProPhoto RGB): {fix}")
    refs = (colour.PROPHOTO_XYZ_D50, ADOBE_PROPHOTO_XYZ_D50)
    if not any(_close(info.colorants, r, 0.003) for r in refs):
        known = [k for k, v in KNOWN_COLORANTS.items() if _close(info.colorants, v, 0.01)]
        what = f" (with {known[0]} primaries)" if known and known[0] not in name else ""
        raise GamutError(f"{name}{what} is not ProPhoto RGB: {fix}")
    romm = (colour.romm_decode(TRC_X), np.power(TRC_X, 1.8))
    if any(_close(info.trc, r, 0.01) for r in romm):
        return "romm"
    if _close(info.trc, TRC_X, 0.01):
        return "linear"
    mid = float(np.clip(np.mean(info.trc[:, 16]), 1e-6, 1 - 1e-6))
    gamma = np.log(mid) / np.log(0.5)
    raise GamutError(
        f"{name} has a gamma-{gamma:.1f} tone curve; expected ProPhoto/ROMM (gamma 1.8) or linear"
    )
