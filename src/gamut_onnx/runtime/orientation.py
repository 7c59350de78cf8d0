"""Which way a carrier was turned since encoding (docs/blob-format.md section 4.4).

A lossless rotation or mirroring (jpegtran -rotate/-flip/-transpose, a PNG tool turning the
pixels) keeps every pixel, so the model still fits once the image is turned back. When the
carrier's digest does not match as it is, the decoder tries the other orientations; the one
whose digest matches is turned back, restored as fitted, and the output turned like the file.
"""

from __future__ import annotations

import numpy as np

from gamut_onnx.blob import Blob, pixel_digest
from gamut_onnx.container.jpeg import decode_jpeg
from gamut_onnx.container.jpeg_coefficients import (
    ORIENTATION_STEPS,
    baseline_jpeg,
    frame_digest,
    read_coefficients,
    unturn_blocks,
)
from gamut_onnx.optional import installed


def turn(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """The fitted image's pixels (H x W x ...) shown as a file of this orientation shows them."""
    for step in ORIENTATION_STEPS[orientation]:
        pixels = _step(pixels, step)
    return np.ascontiguousarray(pixels)


def unturn(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """The inverse of `turn`: a file's pixels turned back to the fitted orientation."""
    for step in reversed(ORIENTATION_STEPS[orientation]):
        pixels = _step(pixels, step)
    return np.ascontiguousarray(pixels)


def _step(pixels: np.ndarray, step: str) -> np.ndarray:
    if step == "t":
        return pixels.swapaxes(0, 1)
    return pixels[:, ::-1] if step == "h" else pixels[::-1]


def candidates(blob: Blob, height: int, width: int) -> list[int]:
    """The orientations that give the fitted size: 1-4 keep it, 5-8 transpose it."""
    fitted = (blob.image_height, blob.image_width)
    keep = [1, 2, 3, 4] if fitted == (height, width) else []
    return keep + ([5, 6, 7, 8] if fitted == (width, height) else [])


def find_orientation(
    srgb8: np.ndarray, jpeg_data: bytes | None, blob: Blob, plain_match: bool
) -> int | None:
    """The orientation under which the carrier matches the blob's digest, or None. The plain
    match (the digest as the file is) is checked first by the caller; the search only runs
    when it fails. JPEG carriers are searched on their coefficients, and only with a blob that
    records the coefficient digest; lossless ones on their decoded pixels."""
    height, width = srgb8.shape[:2]
    found = candidates(blob, height, width)
    if plain_match and 1 in found:
        return 1
    if jpeg_data is not None:
        if blob.jpeg_digest is None or not installed("jpeglib"):
            return None  # without jpeglib (decode-only install): taken as edited
        frame, planes = read_coefficients(jpeg_data)
        for orientation in found:
            if frame_digest(*unturn_blocks(frame, planes, orientation)) == blob.jpeg_digest:
                return orientation
        return None
    for orientation in found:
        if orientation != 1 and pixel_digest(unturn(srgb8, orientation)) == blob.pixel_digest:
            return orientation
    return None


def fitted_pixels(srgb8: np.ndarray, jpeg_data: bytes | None, orientation: int) -> np.ndarray:
    """A carrier's pixels in the orientation its model was fitted in. A turned JPEG's
    coefficients are turned back and decoded (the pixels the untouched carrier gives: decoders
    round the IDCT of turned blocks differently); lossless pixels are turned back."""
    if orientation == 1:
        return srgb8
    if jpeg_data is None:
        return unturn(srgb8, orientation)
    return decode_jpeg(baseline_jpeg(*unturn_blocks(*read_coefficients(jpeg_data), orientation)))
