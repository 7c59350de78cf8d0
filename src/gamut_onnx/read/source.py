"""What every reader produces: the photo in linear ProPhoto, its alpha, and its own colour space.

Readers decode pixels and find the colour description (ICC profile, cICP/nclx, a JPEG XL enum,
or `--input-space`); `to_prophoto` here turns encoded samples into linear ProPhoto, the space the
method works in and which holds every source gamut. Colours ProPhoto cannot hold (rare: some
raw renderings) and HDR light above reference white are clipped, and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gamut_onnx.colour.cms import IccProfile, icc_to_prophoto
from gamut_onnx.colour.spaces import PRIMARIES, ColourSpace, rgb_to_rgb_matrix, space_name
from gamut_onnx.colour.transfer import HDR_TRANSFERS, TRANSFERS
from gamut_onnx.cores import on_every_core
from gamut_onnx.errors import GamutError
from gamut_onnx.limits import MAX_ICC_BYTES

SourceSpace = ColourSpace | IccProfile
BAND_ROWS = 128  # temporaries of a few MB per core, whatever the image size


@dataclass
class SourceImage:
    """A photo read for encoding."""

    prophoto: np.ndarray = field(repr=False)  # float32 HxWx3, linear ProPhoto, [0, 1]
    alpha: np.ndarray | None = field(repr=False)  # float32 HxW in [0, 1], or None
    space: SourceSpace = field(repr=False)  # the photo's own colour space
    description: str  # e.g. "8-bit HEIC 4032x3024, ICC profile 'Display P3'"
    clipped_fraction: float = 0.0  # pixels clipped: above HDR reference white or outside ProPhoto
    levels: int = 0  # codes per channel of the file's samples (256 for 8-bit), 0 for floats

    @property
    def space_name(self) -> str:
        """'display-p3', 'bt2020/pq', ... or 'icc' (the profile rides in the blob)."""
        return "icc" if isinstance(self.space, IccProfile) else space_name(self.space)


def icc_space(icc: bytes, name: str) -> SourceSpace:
    """A file's ICC profile as a colour space: one of ours is the named space it describes
    (its exact maths both ways), any other goes through LittleCMS. Every reader comes here, so
    the size limit and the check that the restore can write the profile back apply to all."""
    from gamut_onnx.colour.cms import read_icc
    from gamut_onnx.colour.icc import named_space_of

    if len(icc) > MAX_ICC_BYTES:
        raise GamutError(f"{name}: its ICC profile is {len(icc) / 1e6:.1f} MB, over the 4 MB limit")
    named = named_space_of(bytes(icc))
    if named is not None:
        return named
    profile = read_icc(icc, name)
    check_writable(profile, name)
    return profile


def check_writable(profile: IccProfile, name: str) -> None:
    """The restore writes into the photo's own profile, so its conversion from linear ProPhoto
    must exist: a matrix/TRC profile with invertible colorants (checked without LittleCMS), or
    a LUT profile LittleCMS can build that direction of."""
    from gamut_onnx.colour.cms import check_invertible
    from gamut_onnx.colour.matrix_trc import read_matrix_trc

    try:
        if read_matrix_trc(profile.data) is None:
            check_invertible(profile)
    except GamutError as exc:
        raise GamutError(
            f"{name}: its ICC profile cannot be written back ({exc}); convert the photo to a "
            "standard space first, or name one with --input-space"
        ) from None


def describe_space(space: SourceSpace) -> str:
    if isinstance(space, IccProfile):
        return f"ICC profile '{space.description}'" if space.description else "ICC profile"
    return space.label


def _linear_table(space: ColourSpace, levels: int) -> np.ndarray:
    """Encoded code value -> linear light, for integer samples of `levels` codes."""
    decode = TRANSFERS[space.transfer][0]
    return decode(np.arange(levels) / (levels - 1)).astype(np.float32)


def _named_to_prophoto(samples: np.ndarray, levels: int, space: ColourSpace) -> tuple:
    """Encoded samples in a named space -> (linear ProPhoto float32 clipped to [0, 1], HxW mask
    of pixels clipped above reference white or below black in the source space, or outside
    ProPhoto), band by band on every core: no whole-image temporaries beside the result."""
    h, w = samples.shape[:2]
    # ProPhoto primaries: x * 1 + y * 0 + z * 0 == x, so the product is skipped, and so is the
    # range check when the decode table itself lies within it.
    identity = space.primaries == "prophoto"
    matrix = rgb_to_rgb_matrix(space.primaries, "prophoto").astype(np.float32).T
    per_channel = TRANSFERS[space.transfer][3]
    table = _linear_table(space, levels) if levels and per_channel else None
    in_range = table is None or (table.min() >= -1e-4 and table.max() <= 1.0 + 1e-4)
    out = np.empty((h, w, 3), np.float32)
    clipped = np.zeros((h, w), bool)

    def convert(top: int) -> None:
        band = samples[top : top + BAND_ROWS, :, :3]
        if table is not None:
            linear = np.take(table, band)  # a third of fancy indexing's time for 16-bit codes
        else:  # float samples, or HLG whose OOTF mixes the channels
            values = band / (levels - 1) if levels else band
            linear = TRANSFERS[space.transfer][0](values).astype(np.float32)
        rows = slice(top, top + BAND_ROWS)
        if space.transfer in HDR_TRANSFERS or not levels:
            clipped[rows] = _outside(linear, 0.0, 1.0)
            np.clip(linear, 0.0, 1.0, out=linear)
        if identity:
            out[rows] = linear
        else:
            np.matmul(linear, matrix, out=out[rows])
        if not (identity and in_range):
            clipped[rows] |= _outside(out[rows], -1e-4, 1.0 + 1e-4)
        np.clip(out[rows], 0.0, 1.0, out=out[rows])

    on_every_core(convert, range(0, h, BAND_ROWS))
    return out, clipped


def _outside(rgb: np.ndarray, low: float, high: float) -> np.ndarray:
    """Pixels with some channel below `low` or above `high`."""
    channels = [rgb[..., c] for c in range(3)]
    return (np.minimum.reduce(channels) < low) | (np.maximum.reduce(channels) > high)


def to_prophoto(samples: np.ndarray, levels: int, space: SourceSpace) -> tuple[np.ndarray, float]:
    """(linear ProPhoto float32 HxWx3 in [0, 1], fraction of pixels clipped).

    `samples` are HxWx3 encoded values: integers with `levels` codes (256, 1024, 4096, 65536),
    or floats in nominal [0, 1] with `levels` = 0. A pixel counts as clipped once, whether its
    light was above the HDR reference white or its colour outside ProPhoto.
    """
    if isinstance(space, IccProfile):
        if levels not in (0, 256, 65536):  # 10/12-bit samples: LittleCMS takes 16-bit
            samples = (samples.astype(np.float32) / (levels - 1)).astype(np.float32)
            levels = 0
        prophoto = icc_to_prophoto(np.ascontiguousarray(samples[..., :3]), space)
        clipped = _outside(prophoto, -1e-4, 1.0 + 1e-4)
        np.clip(prophoto, 0.0, 1.0, out=prophoto)
    else:
        if space.primaries not in PRIMARIES:
            raise GamutError(f"unknown primaries {space.primaries!r}")
        prophoto, clipped = _named_to_prophoto(samples, levels, space)
    return prophoto, float(clipped.mean()) if clipped.size else 0.0


def alpha_to_float(alpha: np.ndarray | None, levels: int) -> np.ndarray | None:
    """Straight alpha samples -> float32 in [0, 1]."""
    if alpha is None:
        return None
    scaled = alpha.astype(np.float32) / (levels - 1) if levels else alpha.astype(np.float32)
    return np.clip(scaled, 0.0, 1.0)


def orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an Exif/TIFF orientation (1-8) so the carrier shows the photo upright."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.swapaxes(a, 0, 1)[:, ::-1],
        7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
        8: lambda a: np.swapaxes(a, 0, 1)[::-1],
    }
    return np.ascontiguousarray(ops[orientation](pixels)) if orientation in ops else pixels


@dataclass
class Decoded:
    """A reader's result before colour conversion: encoded samples and their description."""

    samples: np.ndarray = field(repr=False)  # HxWx3, integers with `levels` codes or floats
    levels: int  # 256, 1024, 4096 or 65536 for integer samples, 0 for float
    alpha: np.ndarray | None = field(repr=False)  # HxW straight alpha in the same coding
    space: SourceSpace | None  # None: the file does not say (needs --input-space)
    what: str  # "8-bit HEIC", "16-bit TIFF", ...
