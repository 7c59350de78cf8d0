"""Reading the user's wide-gamut photo into linear ProPhoto, the space the method works in.

One entry point for every format: TIFF, PNG, JPEG, HEIC/HEIF, AVIF, JPEG XL and camera raw,
recognised by their first bytes (raw formats also by suffix, as LibRaw needs). Each reader
checks the header's pixel count, decodes with a well-kept library and says what colour space
the file declares; `--input-space` names it for untagged files (or overrides a wrong tag).
"""

from __future__ import annotations

import os
from pathlib import Path

from gamut_onnx.colour.spaces import named_space
from gamut_onnx.container.png import PNG_SIGNATURE
from gamut_onnx.errors import GamutError
from gamut_onnx.read.source import (
    Decoded,
    SourceImage,
    alpha_to_float,
    describe_space,
    to_prophoto,
)

__all__ = ["SourceImage", "read_prophoto", "read_prophoto_bytes"]

TIFF_MAGICS = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")
JXL_MAGICS = (b"\xff\x0a", b"\0\0\0\x0cJXL \r\n\x87\n")
DNG_VERSION_TAG = 50706
ANY_FORMAT = "a TIFF, PNG, JPEG, HEIC, AVIF, JPEG XL or camera raw photo"


def _is_dng(data: bytes) -> bool:
    """A TIFF whose first IFD has the DNGVersion tag (LibRaw renders those). Read with our own
    IFD parser: this runs before any structure check, so tifffile must not see the file yet."""
    from gamut_onnx.tiff_ifd import first_ifd

    try:
        return DNG_VERSION_TAG in first_ifd(data)[1]
    except GamutError:
        return False  # not a sound TIFF: read_tiff says what is wrong with it


def _decode(data: bytes, name: str, suffix: str) -> Decoded:
    from gamut_onnx.read import heif, jpeg, jxl, png, raw, tiff
    from gamut_onnx.read.isobmff import is_heif_or_avif

    if not data:
        raise GamutError(f"cannot read {name}: file is empty; expected {ANY_FORMAT}")
    if data[:4] in TIFF_MAGICS and suffix not in raw.RAW_SUFFIXES and not _is_dng(data):
        return tiff.read_tiff(data, name)
    if data.startswith(PNG_SIGNATURE):
        return png.read_png(data, name)
    if data[:2] == b"\xff\xd8":
        return jpeg.read_jpeg(data, name)
    if data.startswith(JXL_MAGICS):
        return jxl.read_jxl(data, name)
    if is_heif_or_avif(data):
        return heif.read_heif_family(data, name)
    if data[:4] in TIFF_MAGICS or suffix in raw.RAW_SUFFIXES or data[4:8] == b"ftyp":
        return raw.read_raw(data, name)  # DNG, TIFF-based raws, CR3, RAF, headerless raws
    raise GamutError(
        f"cannot read {name}: unrecognised file type (starts with {data[:8]!r}); "
        f"expected {ANY_FORMAT}"
    )


def read_prophoto_bytes(
    data: bytes,
    name: str,
    input_space: str | None = None,
    suffix: str = "",
    untagged: str | None = None,
) -> SourceImage:
    """Decode a photo (any supported format) to linear ProPhoto, dispatching on its bytes.

    `input_space` names the photo's colour space (a --space name such as "display-p3"),
    overriding any tag; `untagged` is the space assumed for files without one (eval reads
    untagged ground truth as ProPhoto, like the GamutMLP dataset); otherwise such files fail.
    """
    decoded = _decode(data, name, suffix.lower())
    space = named_space(input_space) if input_space else decoded.space
    if space is None and untagged:
        space = named_space(untagged)
    if space is None:
        raise GamutError(
            f"{name}: {decoded.what} has no colour profile; say what it is with --input-space "
            "(e.g. display-p3, adobe-rgb, prophoto, rec2020, srgb)"
        )
    h, w = decoded.samples.shape[:2]
    if h == 0 or w == 0:
        raise GamutError(f"{name}: image is empty ({w}x{h} pixels)")
    prophoto, clipped = to_prophoto(decoded.samples, decoded.levels, space)
    alpha = alpha_to_float(decoded.alpha, decoded.levels)
    extra = ", with alpha" if alpha is not None else ""
    description = f"{decoded.what} {w}x{h}, {describe_space(space)}{extra}"
    return SourceImage(prophoto, alpha, space, description, clipped, decoded.levels)


def read_prophoto(
    path: str | os.PathLike, input_space: str | None = None, untagged: str | None = None
) -> SourceImage:
    """Read a photo from disk; see `read_prophoto_bytes`."""
    path = Path(path)
    if path.is_dir():
        raise GamutError(f"cannot read {path}: is a directory, expected {ANY_FORMAT}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GamutError(f"cannot read {path}: {exc.strerror or exc}") from None
    return read_prophoto_bytes(data, str(path), input_space, path.suffix, untagged)
