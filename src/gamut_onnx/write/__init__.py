"""Writing restored images: 16-bit PNG or TIFF, float TIFF, 10/12-bit AVIF or 16-bit JPEG XL, in
any named colour space or the photo's own ICC profile, tagged so viewers show the right colours.

PNG and TIFF are written as the restore produces row bands (memory stays a band deep, whatever
the image size); AVIF and JPEG XL encoders take whole images.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from gamut_onnx.colour.cms import IccProfile
from gamut_onnx.colour.icc import profile_for
from gamut_onnx.colour.spaces import OETF_CICP_TRANSFERS, ColourSpace, space_name
from gamut_onnx.errors import GamutError
from gamut_onnx.files import open_atomic
from gamut_onnx.write.encoding import Band, encoded_bands

FORMATS = {".tif": "tiff", ".tiff": "tiff", ".png": "png", ".avif": "avif", ".jxl": "jxl"}
DEFAULT_DEPTH = {"tiff": "16", "png": "16", "avif": "10", "jxl": "16"}
ALLOWED_DEPTHS = {"tiff": ("16", "float"), "png": ("16",), "avif": ("10", "12"), "jxl": ("16",)}


def output_format(path: str | os.PathLike) -> str:
    """The output format from the file suffix; EXR has no encoder here (float TIFF instead)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".exr":
        raise GamutError(
            "EXR output is not available: write linear float with -o x.tif --depth float"
        )
    if suffix not in FORMATS:
        raise GamutError(f"restored output must be .png, .tif, .avif or .jxl, not '{suffix}'")
    return FORMATS[suffix]


def coded_space(fmt: str, space: ColourSpace | IccProfile) -> ColourSpace | IccProfile:
    """AVIF and JPEG XL are tagged with codes, not ICC profiles: an ICC space goes out as the
    named space it describes (Apple's "Display P3" profile as display-p3), when there is one.
    Their code for the BT.709/BT.2020 camera curve is read two ways (the exact inverse OETF, or
    Chromium's BT.1886 gamma 2.4: up to 80 8-bit codes apart), so those go out with the sRGB
    curve, whose code every viewer reads alike; the primaries stay."""
    if fmt not in ("avif", "jxl"):
        return space
    if isinstance(space, IccProfile):
        from gamut_onnx.colour.cms import nearest_named_space

        space = nearest_named_space(space) or space
    if isinstance(space, ColourSpace) and space.transfer == "bt709":
        return ColourSpace(space.primaries, "srgb")
    return space


def resolve_depth(fmt: str, depth: str | None, space: ColourSpace | IccProfile) -> str:
    """Check format, depth and space go together (before any slow work); the depth to use."""
    depth = depth or DEFAULT_DEPTH[fmt]
    if depth not in ALLOWED_DEPTHS[fmt]:
        allowed = " or ".join(ALLOWED_DEPTHS[fmt])
        raise GamutError(f"--depth {depth} is not available for {fmt.upper()} (use {allowed})")
    icc = isinstance(space, IccProfile)
    if fmt == "avif" and (icc or space.cicp is None):
        what = "the photo's ICC profile" if icc else space_name(space)
        raise GamutError(
            f"AVIF can only be tagged with H.273 codes, which {what} lacks: "
            "use --space display-p3 or rec2020, or write .png/.tif"
        )
    if depth == "float" and icc:
        raise GamutError("float output is linear: use --space prophoto-linear (or another space)")
    if fmt == "jxl" and icc:
        raise GamutError("JPEG XL output needs a named space: use --space (e.g. display-p3)")
    if fmt == "tiff" and not icc and profile_for(space) is None and depth != "float":
        raise GamutError(f"TIFF cannot be tagged {space_name(space)} (no ICC for PQ/HLG): use .png")
    return depth


def check_quality(fmt: str, quality: int | None) -> None:
    """--quality is for the one lossy output; PNG, TIFF and JPEG XL are always lossless."""
    if quality is None:
        return
    if fmt != "avif":
        raise GamutError(f"--quality applies to AVIF output only ({fmt.upper()} is lossless)")
    if not 0 <= quality <= 100:
        raise GamutError(f"--quality must be 0-100 (100: lossless), not {quality}")


def _tags(space, depth: str) -> tuple[bytes | None, tuple | None]:
    """(ICC profile, cICP codes) that describe the output. A camera-OETF transfer code is left
    out: viewers that prefer cICP read it as BT.1886, the ICC profile says the exact curve."""
    if isinstance(space, IccProfile):
        return space.data, None
    if depth == "float":
        space = ColourSpace(space.primaries, "linear")
    icc, cicp = profile_for(space), space.cicp
    if icc is not None and cicp is not None and cicp[1] in OETF_CICP_TRANSFERS:
        cicp = None
    return icc, cicp


def write_restored(
    path: str | os.PathLike,
    bands: Iterable[Band],
    width: int,
    height: int,
    has_alpha: bool,
    space: ColourSpace | IccProfile,
    depth: str | None = None,
    quality: int | None = None,
) -> None:
    """Encode the restored rows in `space` and write them atomically to `path`; `quality`
    (AVIF only, 0-100) trades precision for size, lossless when None."""
    fmt = output_format(path)
    depth = resolve_depth(fmt, depth, space)
    check_quality(fmt, quality)
    if fmt == "jxl":
        from gamut_onnx.write.jxl import jxl_space

        space = jxl_space(space)
    icc, cicp = _tags(space, depth)
    channels = 4 if has_alpha else 3
    encoded = encoded_bands(bands, space, depth)
    with open_atomic(path) as out:
        if fmt == "png":
            from gamut_onnx.write.png16 import png16_stream

            for part in png16_stream(encoded, width, height, channels, icc, cicp):
                out.write(part)
        elif fmt == "tiff":
            from gamut_onnx.write.tiff import write_tiff

            write_tiff(out, encoded, width, height, channels, icc, depth)
        elif fmt == "avif":
            from gamut_onnx.write.avif import LOSSLESS, avif_bytes

            image = np.concatenate(list(encoded), axis=0)
            out.write(avif_bytes(image, int(depth), cicp, LOSSLESS if quality is None else quality))
        else:
            from gamut_onnx.write.jxl import jxl_bytes

            out.write(jxl_bytes(np.concatenate(list(encoded), axis=0), space))


def write_restored_image(
    path: str | os.PathLike,
    prophoto: np.ndarray,
    alpha: np.ndarray | None,
    space: ColourSpace | IccProfile,
    depth: str | None = None,
    quality: int | None = None,
) -> None:
    """`write_restored` for a whole image in memory (the Python API's DecodeResult)."""
    if not np.isfinite(prophoto).all():
        raise GamutError("restored image contains NaN or infinite values")
    h, w = prophoto.shape[:2]
    write_restored(path, [(prophoto, alpha)], w, h, alpha is not None, space, depth, quality)


def write_restored_tiff(
    path: str | os.PathLike, prophoto: np.ndarray, alpha: np.ndarray | None
) -> None:
    """A 16-bit ProPhoto (ROMM) TIFF with its ICC profile: the format of gamut-onnx 0.1."""
    from gamut_onnx.colour.spaces import named_space

    if output_format(path) != "tiff":
        raise GamutError(f"restored output must be a .tif file, not '{Path(path).name}'")
    prophoto = np.asarray(prophoto, np.float32)
    if prophoto.ndim != 3 or prophoto.shape[2] != 3:
        raise GamutError(f"restored image must be HxWx3, not {prophoto.shape}")
    if alpha is not None and (alpha.dtype != np.uint8 or alpha.shape != prophoto.shape[:2]):
        raise GamutError(f"alpha must be HxW uint8, not {alpha.dtype} {alpha.shape}")
    write_restored_image(path, prophoto, alpha, named_space("prophoto"), "16")
