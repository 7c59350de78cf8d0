"""TIFF photos: 8/16-bit integer or 32/64-bit float RGB(A), tagged with an ICC profile (or not).

tifffile reads the structure; the first page's tags are checked before any pixel is decoded.
"""

from __future__ import annotations

import io
import warnings
import zlib

import numpy as np
import tifffile

from gamut_onnx.cores import cpu_threads
from gamut_onnx.errors import GamutError, library_detail
from gamut_onnx.limits import check_pixels
from gamut_onnx.read.source import Decoded, icc_space, orient
from gamut_onnx.tiff_ifd import check_first_page, plain_log_message, tifffile_log

_PHOTOMETRIC = {0: "grayscale", 1: "grayscale", 3: "palette", 4: "a transparency mask"}
_PHOTOMETRIC |= {5: "CMYK (separated)", 6: "YCbCr", 8: "Lab", 9: "Lab", 10: "Lab"}
ICC_TAG, ORIENTATION_TAG = 34675, 274
# What tifffile, its codecs (imagecodecs' errors are RuntimeErrors; zlib's) and numpy raise on
# broken files; their messages are rephrased as one line.
TIFF_ERRORS = (
    tifffile.TiffFileError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    ZeroDivisionError,
    OverflowError,
    OSError,
    EOFError,
    RuntimeError,
    zlib.error,
)


def check_page(page: tifffile.TiffPage, name: str) -> None:
    """Reject everything but 3 or 4 sample RGB with 8/16-bit integer or 32/64-bit float data."""
    photometric = int(page.photometric)
    if photometric != 2:
        found = _PHOTOMETRIC.get(photometric, f"photometric {photometric}")
        raise GamutError(f"{name}: TIFF is {found}; expected an RGB photo")
    spp = page.samplesperpixel
    if spp not in (3, 4):
        raise GamutError(f"{name}: TIFF has {spp} samples per pixel; expected 3 (RGB) or 4 (RGBA)")
    bits, fmt = page.bitspersample, int(page.sampleformat)
    if not ((fmt == 1 and bits in (8, 16)) or (fmt == 3 and bits in (32, 64))):
        kind = {1: "unsigned integer", 2: "signed integer", 3: "float"}.get(fmt, f"format {fmt}")
        expected = "expected 8/16-bit unsigned or 32/64-bit float"
        raise GamutError(f"{name}: TIFF has {bits}-bit {kind} samples; {expected}")
    if page.imagewidth == 0 or page.imagelength == 0:
        raise GamutError(f"{name}: image is empty ({page.imagewidth}x{page.imagelength} pixels)")
    check_pixels(page.imagewidth, page.imagelength, name)


def read_tiff(data: bytes, name: str) -> Decoded:
    try:
        check_pixels(*check_first_page(data), name)
    except GamutError as exc:
        raise GamutError(f"{name}: {exc}") from None
    try:
        # The buffer is closed here, not left to tifffile (which keeps a caller's file open): its
        # page-file cycle would hold `data` until the cyclic collector ran, 290 MB at 48 MP.
        with tifffile_log() as logged, io.BytesIO(data) as buffer, tifffile.TiffFile(buffer) as tif:
            page = tif.pages.first
            check_page(page, name)
            icc = page.tags.valueof(ICC_TAG)
            orientation = page.tags.valueof(ORIENTATION_TAG) or 1
            samples = page.asarray(maxworkers=cpu_threads())  # strips decode in parallel
            axes = page.axes
    except GamutError:
        raise
    except TIFF_ERRORS as exc:
        raise corrupt(name, exc) from None
    if logged:  # a tag tifffile skipped: the pixels came through, so say it once and go on
        warnings.warn(f"{name}: {plain_log_message(logged[0])} and was ignored", stacklevel=2)
    if axes.startswith("S"):  # planar configuration separate
        samples = np.moveaxis(samples, 0, -1)
    if samples.ndim == 2:  # a single row or column comes back squeezed
        samples = samples.reshape(page.imagelength, page.imagewidth, page.samplesperpixel)
    if samples.ndim != 3 or samples.shape[2] not in (3, 4):
        raise GamutError(f"{name}: TIFF has layout {axes} {samples.shape}; expected RGB(A)")
    samples = orient(samples, int(orientation))
    floating = samples.dtype.kind == "f"
    if floating:
        with np.errstate(all="ignore"):
            samples = samples.astype(np.float32)
        if not np.isfinite(samples).all():
            raise GamutError(f"{name}: float samples contain NaN or infinity (or overflow)")
    levels = 0 if floating else np.iinfo(samples.dtype).max + 1
    space = icc_space(bytes(icc), name) if icc is not None else None
    what = f"{page.bitspersample}-bit{' float' if floating else ''} TIFF"
    alpha = samples[..., 3] if samples.shape[2] == 4 else None
    return Decoded(samples[..., :3], levels, alpha, space, what)


def corrupt(name: str, exc: BaseException) -> GamutError:
    """The one-line message for a file a decoding library refused."""
    reason = library_detail(exc)
    return GamutError(f"cannot read {name}: file is truncated or corrupt ({reason})")
