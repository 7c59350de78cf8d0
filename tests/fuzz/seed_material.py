"""The random material seed carriers are made of: pixels with clipped channels, blobs of random
small weights packed for a given image, and a pool of ICC profiles (RGB and not)."""

from __future__ import annotations

from functools import cache

import numpy as np

from fuzz.blob_format import blob_pack_raw, new_header_fields


def make_blob(
    rng: np.random.Generator,
    size: tuple[int, int],
    digest: bytes,
    *,
    width: int = 16,
    octaves: int = 2,
    dtype: str = "float16",
    gated: bool = False,
    margin: int = 0,
    primaries: str = "prophoto",
    transfer: str = "romm",
    icc: bytes | None = None,
    scale: float = 0.1,
    version: int = 2,
) -> bytes:
    """A packed blob with random weights for an image of `size` (h, w) with this digest."""
    from gamut_onnx.blob import Blob, pack_blob, weight_shapes

    weights = [
        np.clip(rng.standard_normal(s) * scale, -65504, 65504).astype(np.float32)
        for s in weight_shapes(width, octaves)
    ]
    if version == 1:  # pack_blob writes version 2: write the version-1 header by hand
        fields = new_header_fields(
            version=1,
            dtype=1 if dtype == "float16" else 2,
            primaries=1,
            transform=1,
            transfer=0,
            octaves=octaves,
            width=width,
            flags=int(gated),
            margin=margin,
            size=size,
            digest=digest,
        )
        payload = b"".join(
            w.astype("<f2" if dtype == "float16" else "<f4").tobytes() for w in weights
        )
        return blob_pack_raw(fields, payload)
    return pack_blob(
        Blob(
            weights=weights,
            width=width,
            octaves=octaves,
            image_width=size[1],
            image_height=size[0],
            pixel_digest=digest,
            weight_dtype=dtype,
            gated=gated,
            boundary_margin=margin,
            source_primaries="icc" if icc is not None else primaries,
            source_transfer="icc" if icc is not None else transfer,
            source_icc=icc,
        )
    )


def make_pixels(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Random colours with clipped channels (0 and 255) here and there, for the gating."""
    px = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    mask = rng.random((h, w, 3))
    px[mask < 0.15] = 0
    px[mask > 0.85] = 255
    return px


@cache
def icc_pool() -> tuple[bytes, ...]:
    """ICC profiles for source records and iCCP chunks: ours, LittleCMS's, and non-RGB ones."""
    from PIL import ImageCms

    from gamut_onnx.colour.icc import PROPHOTO_ICC, SRGB_ICC, profile_for
    from gamut_onnx.colour.spaces import NAMED_SPACES

    pool = [SRGB_ICC, PROPHOTO_ICC, profile_for(NAMED_SPACES["display-p3"])]
    pool.append(profile_for(NAMED_SPACES["adobe-rgb"]))
    for name in ("sRGB", "LAB", "XYZ"):
        made = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile(name)).tobytes())
        made[24:36] = bytes(12)  # LittleCMS stamps the creation time: pin it, same bytes always
        pool.append(bytes(made))
    return tuple(pool)
