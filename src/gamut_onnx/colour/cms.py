"""Colour management through LittleCMS: any RGB ICC profile to linear ProPhoto, and back.

LittleCMS does the maths (imagecodecs' `cms_transform`, float pipelines, relative colorimetric
intent) and reads profiles (Pillow's ImageCms, which every install has). Two things are ours:
- the linear ProPhoto profile on the other side, built with colour-science's ProPhoto colorants
  (colour/icc.py), so that the ICC route and the named-space route agree on "ProPhoto";
- a fast path for integer samples: a matrix/TRC profile transforms each channel independently
  before its matrix, so its result is the sum of three per-channel tables that LittleCMS fills
  once (256 or 65,536 rows). The tables are checked against LittleCMS on a few thousand random
  colours first; a LUT-based profile fails that check and gets the full transform.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache

import numpy as np

from gamut_onnx.colour.protocol import pair_lookup
from gamut_onnx.cores import on_every_core
from gamut_onnx.errors import GamutError
from gamut_onnx.optional import require

RELATIVE_COLORIMETRIC = 1
SEPARABLE_TOLERANCE = 2e-6  # float32 sums of LittleCMS's own float results
BAND_ROWS = 256
_SPACES = {"GRAY": "grayscale", "CMYK": "CMYK", "Lab ": "Lab", "YCbr": "YCbCr", "XYZ ": "XYZ"}


@dataclass(frozen=True)
class IccProfile:
    """An RGB ICC profile LittleCMS accepted, with the name to show users."""

    data: bytes
    description: str


def read_icc(data: bytes, what: str) -> IccProfile:
    """Open a profile with LittleCMS; one-line errors for broken and non-RGB profiles."""
    from PIL import ImageCms

    try:  # the header's fields are decoded lazily: damaged text fails there, not at open
        profile = ImageCms.ImageCmsProfile(io.BytesIO(bytes(data))).profile
        name = (profile.profile_description or "").strip().replace("\n", " ")[:80]
        space, device_class = profile.xcolor_space, profile.device_class
    except (OSError, ValueError, TypeError):  # UnicodeDecodeError is a ValueError
        raise GamutError(f"{what}: its ICC profile is corrupt (LittleCMS rejects it)") from None
    label = f"ICC profile '{name}'" if name else "ICC profile"
    if space != "RGB ":
        kind = _SPACES.get(space, repr(space.strip()))
        raise GamutError(f"{what}: {label} is a {kind} profile; expected an RGB photo")
    if device_class not in ("mntr", "scnr", "spac", "prtr"):
        raise GamutError(f"{what}: {label} is a {device_class!r} profile, not an image's")
    return IccProfile(bytes(data), name)


@cache
def _prophoto_linear_icc() -> bytes:
    from gamut_onnx.colour.icc import PROPHOTO_LINEAR_ICC

    return PROPHOTO_LINEAR_ICC


def _transform(values: np.ndarray, source: bytes, target: bytes) -> np.ndarray:
    codecs = require("imagecodecs", "colour management (LittleCMS)")
    try:
        return codecs.cms_transform(
            np.ascontiguousarray(values),
            source,
            target,
            colorspace="rgb",
            outcolorspace="rgb",
            outdtype=np.float32,
            intent=RELATIVE_COLORIMETRIC,
        )
    except (codecs.CmsError, ValueError) as exc:
        raise GamutError(f"LittleCMS cannot use this ICC profile ({exc})") from None


def _in_bands(values: np.ndarray, source: bytes, target: bytes) -> np.ndarray:
    """Transform an HxWx3 image in row bands on every core (LittleCMS releases the GIL)."""
    out = np.empty(values.shape[:2] + (3,), np.float32)

    def band(top: int) -> None:
        out[top : top + BAND_ROWS] = _transform(values[top : top + BAND_ROWS], source, target)

    on_every_core(band, range(0, values.shape[0], BAND_ROWS))
    return out


@cache
def _separable_tables(icc: bytes, levels: int) -> np.ndarray | None:
    """(3, levels, 3) per-channel results minus black's, or None when the profile's result is
    not a sum of per-channel parts (a LUT-based profile)."""
    dtype = np.uint8 if levels == 256 else np.uint16
    probe = np.zeros((3, levels, 3), dtype)
    for c in range(3):
        probe[c, :, c] = np.arange(levels)
    black = _transform(np.zeros((1, 1, 3), dtype), icc, _prophoto_linear_icc())[0, 0]
    tables = _transform(probe, icc, _prophoto_linear_icc()) - black
    rng = np.random.default_rng(0)
    sample = rng.integers(0, levels, (1, 4096, 3)).astype(dtype)
    exact = _transform(sample, icc, _prophoto_linear_icc())[0]
    summed = black + sum(tables[c][sample[0, :, c]] for c in range(3))
    if np.abs(summed - exact).max() > SEPARABLE_TOLERANCE:
        return None
    tables[0] += black  # fold black into one table: a pixel is then three rows added
    return tables


@cache
def _red_green_table(icc: bytes) -> np.ndarray:
    """For 8-bit samples: row 256 R + G holds table R + table G (65,536 x 3 float32, 768 KB)."""
    tables = _separable_tables(icc, 256)
    return (tables[0][:, None, :] + tables[1][None, :, :]).reshape(-1, 3)


def icc_to_prophoto(samples: np.ndarray, profile: IccProfile) -> np.ndarray:
    """Encoded samples (HxWx3 uint8, uint16 or float in [0, 1]) in `profile` -> linear ProPhoto
    float32, unbounded (values outside [0, 1] are colours outside ProPhoto)."""
    if samples.dtype in (np.uint8, np.uint16):
        tables = _separable_tables(profile.data, 256 if samples.dtype == np.uint8 else 65536)
        if tables is not None and samples.dtype == np.uint8:
            return pair_lookup(samples, _red_green_table(profile.data), tables[2])
        if tables is not None:
            out = tables[0][samples[..., 0]]
            out += tables[1][samples[..., 1]]
            out += tables[2][samples[..., 2]]
            return out
    return _in_bands(samples, profile.data, _prophoto_linear_icc())


# One space adapted to D50 with Bradford (ICC makers) or CAT02 (ours) differs by up to 0.013 in
# linear ProPhoto on saturated colours; distinct spaces differ by 0.1 or more.
NEAREST_TOLERANCE = 0.03
GREY_TOLERANCE = 2e-3  # on neutrals only the tone curves count (gamma 2.2 vs sRGB: 9e-3)


@cache
def nearest_named_space(profile: IccProfile):
    """The named space an ICC profile describes, to within the adaptation differences between
    profile makers (e.g. Apple's "Display P3" is display-p3), or None. For formats that cannot
    carry an ICC profile (AVIF, JPEG XL), which are tagged with codes instead."""
    from gamut_onnx.colour.spaces import NAMED_SPACES, rgb_to_rgb_matrix
    from gamut_onnx.colour.transfer import TRANSFERS

    codes = np.linspace(0.0, 1.0, 9)
    probe = np.stack(np.meshgrid(codes, codes, codes), -1).reshape(1, -1, 3).astype(np.float32)
    via_icc = _probe_to_prophoto(probe, profile)
    grey = np.all(probe[0] == probe[0, :, :1], axis=1)  # the tone curve alone, tightly
    for space in NAMED_SPACES.values():
        if space.transfer in ("pq", "hlg"):
            continue
        linear = TRANSFERS[space.transfer][0](probe[0])
        error = np.abs(linear @ rgb_to_rgb_matrix(space.primaries, "prophoto").T - via_icc)
        if error.max() < NEAREST_TOLERANCE and error[grey].max() < GREY_TOLERANCE:
            return space
    return None


def _probe_to_prophoto(probe: np.ndarray, profile: IccProfile) -> np.ndarray:
    """[1, n, 3] encoded values in `profile` -> [n, 3] linear ProPhoto: from the colorants and
    tone curves of a matrix/TRC profile (no LittleCMS needed, so decode-only installs can name
    the space), else through LittleCMS."""
    from gamut_onnx.colour.matrix_trc import read_matrix_trc

    found = read_matrix_trc(profile.data)
    if found is None:
        return _transform(probe, profile.data, _prophoto_linear_icc())[0]
    prophoto = read_matrix_trc(_prophoto_linear_icc()).colorants
    linear = np.stack([found.curves[c](probe[0, :, c]) for c in range(3)], axis=1)
    return linear @ (np.linalg.inv(prophoto) @ found.colorants).T


def check_invertible(profile: IccProfile) -> None:
    """GamutError unless LittleCMS can convert linear ProPhoto into `profile` (the direction a
    restore writes; a profile with only an AToB table cannot be written)."""
    _transform(np.full((1, 1, 3), 0.5, np.float32), _prophoto_linear_icc(), profile.data)


def prophoto_to_icc(prophoto: np.ndarray, profile: IccProfile) -> np.ndarray:
    """Linear ProPhoto float32 HxWx3 -> encoded values in `profile`, float32 (unclipped)."""
    return _in_bands(np.asarray(prophoto, np.float32), _prophoto_linear_icc(), profile.data)
