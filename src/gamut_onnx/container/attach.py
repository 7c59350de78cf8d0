"""Put a model (blob and optional residual map) back into a copy of an image file.

The model is only valid for the pixels it was fitted on, so the file's pixels must match the
blob's size and pixel digest; everything else in the file is kept byte for byte where the
container allows it (PNG chunks, JPEG segments). TIFF carriers are rewritten by the carrier
writer, which keeps the pixels and the sRGB profile but not other tags.
"""

from __future__ import annotations

from gamut_onnx.blob import check_image_size, unpack_blob
from gamut_onnx.container import jpeg, png, tiff
from gamut_onnx.container.carrier import (
    LEGACY_PNG_BLOB_CHUNK,
    LEGACY_PNG_MAP_CHUNK,
    PNG_BLOB_CHUNK,
    PNG_MAP_CHUNK,
    Carrier,
)
from gamut_onnx.container.sidecar import Sidecar
from gamut_onnx.errors import GamutError

_PNG_MODEL = frozenset({PNG_BLOB_CHUNK, PNG_MAP_CHUNK, LEGACY_PNG_BLOB_CHUNK, LEGACY_PNG_MAP_CHUNK})


def check_fits(carrier: Carrier, model: Sidecar, name: str) -> None:
    """Refuse a model that was not fitted on exactly these pixels (size, then pixel digest)."""
    from gamut_onnx.runtime.decode import carrier_digest

    blob = unpack_blob(model.blob)
    check_image_size(blob, *carrier.srgb8.shape[:2])
    if blob.pixel_digest != carrier_digest(carrier, blob):
        raise GamutError(
            f"{name}: its pixels are not the ones this model was fitted on (pixel digest differs:"
            " edited or re-encoded?)"
        )


def with_model(data: bytes, carrier: Carrier, model: Sidecar) -> bytes:
    """`data` (the file `carrier` was read from) holding `model` instead of any model it had."""
    if carrier.format == "png":
        chunks = [(PNG_BLOB_CHUNK, model.blob)]
        chunks += [(PNG_MAP_CHUNK, model.residual_map)] if model.residual_map else []
        return png.insert_chunks(png.without_chunks(data, _PNG_MODEL), chunks)
    if carrier.format == "jpeg":
        icc = jpeg.jpeg_metadata(data)[0]
        return jpeg.add_segments(data, icc, model.blob, model.residual_map)
    if model.residual_map is not None:
        raise GamutError("TIFF carriers hold no residual map: attach this model to a PNG or JPEG")
    return tiff.encode_tiff_carrier(carrier.srgb8, carrier.alpha, model.blob)
