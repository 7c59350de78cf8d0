"""TIFF carriers (8-bit sRGB + blob), via tifffile."""

from __future__ import annotations

import io

import numpy as np
import tifffile

from gamut_onnx.colour.icc import SRGB_ICC
from gamut_onnx.errors import GamutError

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
    if page.photometric != tifffile.PHOTOMETRIC.RGB:
        raise GamutError(f"TIFF carrier must be RGB or RGBA, not {page.photometric.name}")
    if page.bitspersample != 8 or page.sampleformat != tifffile.SAMPLEFORMAT.UINT:
        raise GamutError(
            f"{page.bitspersample}-bit TIFF is not an sRGB carrier; "
            "to encode it use `gamut-onnx encode`"
        )
    if page.samplesperpixel not in (3, 4):
        raise GamutError(f"TIFF carrier must have 3 or 4 samples, not {page.samplesperpixel}")
    if page.samplesperpixel == 4 and page.extrasamples[0] == tifffile.EXTRASAMPLE.ASSOCALPHA:
        raise GamutError("TIFF carrier has premultiplied alpha; save it with straight alpha")


def _tag_bytes(page: tifffile.TiffPage, code: int) -> bytes | None:
    tag = page.tags.get(code)
    return None if tag is None else bytes(tag.value)


def decode_tiff_carrier(
    data: bytes,
) -> tuple[np.ndarray, np.ndarray | None, bytes | None, bytes | None]:
    """First page of a TIFF -> (srgb8, alpha or None, blob or None, ICC profile or None)."""
    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        page = tif.pages[0]
        _check_carrier_page(page)
        pixels = page.asarray()
        blob, icc = _tag_bytes(page, BLOB_TAG), _tag_bytes(page, ICC_TAG)
    if pixels.ndim == 2:  # a 1-row or 1-column image may come back squeezed
        pixels = pixels.reshape(page.imagelength, page.imagewidth, page.samplesperpixel)
    alpha = pixels[..., 3].copy() if pixels.shape[2] == 4 else None
    return np.ascontiguousarray(pixels[..., :3]), alpha, blob, icc
