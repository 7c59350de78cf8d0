"""TIFF carriers (8-bit sRGB + blob), via tifffile."""

from __future__ import annotations

import io

import numpy as np
import tifffile

from gamut_onnx.colour.icc import SRGB_ICC
from gamut_onnx.errors import GamutError
from gamut_onnx.tiff_ifd import check_first_page, plain_log_message, tifffile_log

# Private tag holding the weight blob, type UNDEFINED (7): opaque bytes. 65000-65535 is the TIFF
# 6.0 "reusable" range for private tags that need no registration with Adobe; readers that do not
# know the tag skip it, editors usually drop it, which is what we want (the model is only valid
# for these exact pixels).
BLOB_TAG = 65117
ICC_TAG = 34675
UNDEFINED = 7


def _write_tiff(pixels: np.ndarray, icc: bytes, extratags: list[tuple]) -> bytes:
    """RGB(A) TIFF, deflate with horizontal predictor, unassociated alpha, ICC profile."""
    buf = io.BytesIO()
    tifffile.imwrite(
        buf,
        pixels,
        photometric="rgb",
        planarconfig="contig",
        extrasamples=["unassalpha"] if pixels.shape[2] == 4 else None,
        compression="zlib",
        compressionargs={"level": 6},
        predictor=True,
        iccprofile=icc,
        extratags=extratags,
        metadata=None,
        software="gamut-onnx",
    )
    return buf.getvalue()


def _with_alpha(rgb: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Stack an HxW alpha plane onto HxWx3 colour, or return colour alone."""
    return rgb if alpha is None else np.dstack([rgb, alpha])


def encode_tiff_carrier(srgb8: np.ndarray, alpha: np.ndarray | None, blob: bytes | None) -> bytes:
    """8-bit sRGB TIFF carrying the weight blob in BLOB_TAG (omitted when blob is None)."""
    tags = [] if blob is None else [(BLOB_TAG, UNDEFINED, len(blob), bytes(blob), True)]
    return _write_tiff(_with_alpha(srgb8, alpha), SRGB_ICC, tags)


def _check_carrier_page(page: tifffile.TiffPage) -> None:
    """Reject TIFFs that are not 8-bit unsigned RGB(A), with one-line messages."""
    photometric = int(page.photometric)
    if photometric != int(tifffile.PHOTOMETRIC.RGB):
        names = {0: "grayscale", 1: "grayscale", 3: "palette", 5: "CMYK", 6: "YCbCr", 8: "Lab"}
        found = names.get(photometric, f"photometric {photometric}")
        raise GamutError(f"TIFF carrier must be RGB or RGBA, not {found}")
    if page.bitspersample != 8 or int(page.sampleformat) != int(tifffile.SAMPLEFORMAT.UINT):
        raise GamutError(
            f"{page.bitspersample}-bit TIFF is not an sRGB carrier; "
            "to encode it use `gamut-onnx encode`"
        )
    if page.samplesperpixel not in (3, 4):
        raise GamutError(f"TIFF carrier must have 3 or 4 samples, not {page.samplesperpixel}")
    extra = tuple(page.extrasamples or ())
    if page.samplesperpixel == 4 and extra[:1] == (int(tifffile.EXTRASAMPLE.ASSOCALPHA),):
        raise GamutError("TIFF carrier has premultiplied alpha; save it with straight alpha")
    if page.imagewidth == 0 or page.imagelength == 0:
        raise GamutError(f"TIFF is empty ({page.imagewidth}x{page.imagelength} pixels)")


REWRITTEN_TAG = (
    "another program rewrote the model tag (TIFF tag 65117 is no longer raw bytes): decoding as "
    "plain sRGB; re-encode the original to restore its colours"
)


def _blob_tag(page: tifffile.TiffPage) -> tuple[bytes | None, list[str]]:
    """The blob, or None with a note when an editor rewrote the tag (Pillow writes it ASCII)."""
    tag = page.tags.get(BLOB_TAG)
    if tag is None:
        return None, []
    if tag.dtype not in (UNDEFINED, 1) or not isinstance(tag.value, (bytes, bytearray)):
        return None, [REWRITTEN_TAG]
    return bytes(tag.value), []


def _icc_tag(page: tifffile.TiffPage) -> bytes | None:
    tag = page.tags.get(ICC_TAG)
    if tag is None or not isinstance(tag.value, (bytes, bytearray)):
        return None
    return bytes(tag.value)


# What tifffile raises on the malformed files our structure check lets through (a value of an
# unexpected type, an unknown predictor, ...): the file's fault, said in one line by the caller.
TIFFFILE_ERRORS = (IndexError, KeyError, TypeError, ZeroDivisionError, OverflowError)


def probe_tiff_carrier(data: bytes) -> tuple[int, int, bytes | None, bytes | None, list[str]]:
    """(width, height, blob, ICC profile, notes) of the first page, without decoding pixels."""
    check_first_page(data)
    with tifffile_log() as logged, io.BytesIO(data) as buffer, tifffile.TiffFile(buffer) as tif:
        page = tif.pages.first
        _check_carrier_page(page)
        blob, notes = _blob_tag(page)
        found = int(page.imagewidth), int(page.imagelength), blob, _icc_tag(page), notes
    _refuse_logged(logged)
    return found


def _refuse_logged(logged: list[str]) -> None:
    """tifffile logs what it skips (a tag it could not read): our writer never makes such a file."""
    if logged:
        raise GamutError(f"TIFF is malformed ({plain_log_message(logged[0])})")


def decode_tiff_pixels(data: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    """First page's pixels -> (srgb8 HxWx3, alpha HxW or None)."""
    with tifffile_log() as logged, io.BytesIO(data) as buffer, tifffile.TiffFile(buffer) as tif:
        page = tif.pages.first
        shape = (page.imagelength, page.imagewidth, page.samplesperpixel)
        pixels = page.asarray()
        if page.planarconfig == tifffile.PLANARCONFIG.SEPARATE and pixels.ndim == 3:
            pixels = np.moveaxis(pixels, 0, -1)
    _refuse_logged(logged)
    if pixels.size != np.prod(shape):
        raise GamutError(f"TIFF decodes to {pixels.shape}, not the {shape} its header says")
    pixels = pixels.reshape(shape)  # a 1-row or 1-column image may come back squeezed
    alpha = pixels[..., 3].copy() if shape[2] == 4 else None
    return np.ascontiguousarray(pixels[..., :3]), alpha
