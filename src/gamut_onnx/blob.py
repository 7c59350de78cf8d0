"""The weight blob: the portable, versioned unit stored in a carrier's metadata.

Layout (little-endian), specified in docs/blob-format.md, which is the normative text:

    offset size  field
    0      8     magic b"GAMUTMLP"
    8      2     format_version (u16) = 1
    10     2     header_bytes (u16) = 64
    12     1     weight_dtype (u8): 1 float16, 2 float32
    13     1     source_space (u8): 1 = linear ProPhoto RGB (ROMM primaries, D50)
    14     1     carrier_transform (u8): 1 = CAT02 ProPhoto->sRGB, clip, sRGB curve, 8-bit round
    15     1     input_layout (u8): 1 = (x, y, R, G, B) in [-1, 1], sin/cos octave encoding
    16     1     hidden_layers (u8) = 2
    17     1     octaves (u8)
    18     2     width (u16): hidden units per layer
    20     2     flags (u16): bit 0 = MLP applied only at boundary pixels; others zero
    22     1     boundary_margin (u8): a boundary pixel has a channel <= margin or >= 255 - margin
    23     1     reserved, zero
    24     4     image_width (u32)
    28     4     image_height (u32)
    32     32    pixel_digest: SHA-256 of the carrier's decoded 8-bit RGB pixels (row-major HxWx3)
    64     ...   weights: W1 (F x width), b1, W2 (width x width), b2, W3 (width x 3), b3, row-major
    end-4  4     CRC32 (zlib) of every byte before it
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

from gamut_onnx.errors import GamutError
from gamut_onnx.features import INPUT_CHANNELS

MAGIC = b"GAMUTMLP"
FORMAT_VERSION = 1
HEADER = struct.Struct("<8sHHBBBBBBHHBBII32s")
HEADER_BYTES = HEADER.size  # 64
CRC_BYTES = 4
DTYPE_CODES = {"float16": 1, "float32": 2}
SOURCE_SPACES = {1: "prophoto-linear"}
CARRIER_TRANSFORMS = {1: "cat02-clip-srgb8"}
INPUT_LAYOUTS = {1: "xy-rgb-octaves"}
SUPPORTED_WIDTHS = (16, 32, 64, 128)
SUPPORTED_HIDDEN_LAYERS = 2
FLAG_GATED = 1
MAX_OCTAVES = 16
MAX_BOUNDARY_MARGIN = 64


def weight_shapes(width: int, octaves: int) -> list[tuple[int, ...]]:
    """Shapes of W1, b1, W2, b2, W3, b3 for the 2-hidden-layer GamutMLP."""
    features = INPUT_CHANNELS * 2 * octaves
    return [(features, width), (width,), (width, width), (width,), (width, 3), (3,)]


def boundary_edges(blob: Blob) -> np.ndarray:
    """The fixed graph's `edges` input: (low, high) channel values that mark a boundary pixel.

    (255, 0) selects every pixel (ungated); gated blobs use (margin, 255 - margin).
    """
    if not blob.gated:
        return np.array([255.0, 0.0], np.float32)
    return np.array([blob.boundary_margin, 255 - blob.boundary_margin], np.float32)


def check_image_size(blob: Blob, height: int, width: int) -> None:
    """A model only fits the image it was fitted on; a resized carrier is an error."""
    if (blob.image_height, blob.image_width) != (height, width):
        raise GamutError(
            f"model was fitted for a {blob.image_width}x{blob.image_height} image, "
            f"but the pixels are {width}x{height} (resized after encoding?)"
        )


def pixel_digest(srgb8: np.ndarray) -> bytes:
    """SHA-256 of the carrier's RGB pixels: restore checks it to notice edited images."""
    rgb = np.ascontiguousarray(np.asarray(srgb8, dtype=np.uint8)[..., :3])
    return hashlib.sha256(rgb.tobytes()).digest()


@dataclass(frozen=True)
class Blob:
    """A fitted GamutMLP plus what a runtime needs to check it belongs to the carrier."""

    weights: list[np.ndarray] = field(repr=False)  # float32, in `weight_shapes` order
    width: int
    octaves: int
    image_width: int
    image_height: int
    pixel_digest: bytes = field(repr=False)
    weight_dtype: str = "float16"
    gated: bool = False
    boundary_margin: int = 0  # 0 for lossless carriers; JPEG noise moves clipped values off 0/255
    format_version: int = FORMAT_VERSION
    source_space: str = "prophoto-linear"
    hidden_layers: int = SUPPORTED_HIDDEN_LAYERS


def pack_blob(blob: Blob) -> bytes:
    """Serialise a Blob; weights are rounded to `weight_dtype`."""
    shapes = weight_shapes(blob.width, blob.octaves)
    if [tuple(w.shape) for w in blob.weights] != shapes:
        raise GamutError(f"weights do not match width {blob.width}, {blob.octaves} octaves")
    if not 0 <= blob.boundary_margin <= MAX_BOUNDARY_MARGIN:
        raise GamutError(f"boundary margin {blob.boundary_margin} out of 0..{MAX_BOUNDARY_MARGIN}")
    if blob.weight_dtype not in DTYPE_CODES:
        raise GamutError(f"unknown weight dtype {blob.weight_dtype!r}")
    header = HEADER.pack(
        MAGIC,
        FORMAT_VERSION,
        HEADER_BYTES,
        DTYPE_CODES[blob.weight_dtype],
        1,
        1,
        1,
        blob.hidden_layers,
        blob.octaves,
        blob.width,
        FLAG_GATED if blob.gated else 0,
        blob.boundary_margin,
        0,
        blob.image_width,
        blob.image_height,
        blob.pixel_digest,
    )
    dtype = np.dtype(blob.weight_dtype).newbyteorder("<")
    payload = b"".join(np.asarray(w, dtype=dtype).tobytes() for w in blob.weights)
    body = header + payload
    return body + struct.pack("<I", zlib.crc32(body))


def _fail(reason: str) -> GamutError:
    return GamutError(f"invalid weight blob: {reason}")


def unpack_blob(data: bytes) -> Blob:
    """Parse and validate a blob; every inconsistency raises GamutError with the reason."""
    data = bytes(data)
    if len(data) < HEADER_BYTES + CRC_BYTES:
        raise _fail(f"truncated ({len(data)} bytes, header alone needs {HEADER_BYTES + 4})")
    fields = HEADER.unpack_from(data)
    (magic, version, header_bytes, dtype_code, space, transform, layout) = fields[:7]
    (layers, octaves, width, flags, margin, reserved, img_w, img_h, digest) = fields[7:]
    if magic != MAGIC:
        raise _fail(f"bad magic {magic!r} (expected {MAGIC!r})")
    if version != FORMAT_VERSION:
        raise _fail(f"format version {version} is not supported (this build reads version 1)")
    if header_bytes != HEADER_BYTES:
        raise _fail(f"header size {header_bytes} (expected {HEADER_BYTES})")
    dtype = {v: k for k, v in DTYPE_CODES.items()}.get(dtype_code)
    if dtype is None:
        raise _fail(f"unknown weight dtype code {dtype_code}")
    if space not in SOURCE_SPACES:
        raise _fail(f"unknown source colour space code {space}")
    if transform not in CARRIER_TRANSFORMS:
        raise _fail(f"unknown carrier transform code {transform}")
    if layout not in INPUT_LAYOUTS:
        raise _fail(f"unknown input layout code {layout}")
    if layers != SUPPORTED_HIDDEN_LAYERS:
        raise _fail(f"{layers} hidden layers (this runtime supports {SUPPORTED_HIDDEN_LAYERS})")
    if width not in SUPPORTED_WIDTHS:
        raise _fail(f"width {width} (supported: {', '.join(map(str, SUPPORTED_WIDTHS))})")
    if not 1 <= octaves <= MAX_OCTAVES:
        raise _fail(f"{octaves} octaves (supported: 1..{MAX_OCTAVES})")
    if flags & ~FLAG_GATED or reserved:
        raise _fail(f"unknown flags 0x{flags:04x} or non-zero reserved field")
    if margin > MAX_BOUNDARY_MARGIN:
        raise _fail(f"boundary margin {margin} (supported: 0..{MAX_BOUNDARY_MARGIN})")
    if img_w == 0 or img_h == 0:
        raise _fail(f"image size {img_w}x{img_h}")
    shapes = weight_shapes(width, octaves)
    itemsize = np.dtype(dtype).itemsize
    expected = HEADER_BYTES + sum(int(np.prod(s)) for s in shapes) * itemsize + CRC_BYTES
    if len(data) != expected:
        raise _fail(f"{len(data)} bytes, but its header describes {expected} (truncated?)")
    (crc,) = struct.unpack_from("<I", data, len(data) - CRC_BYTES)
    if crc != zlib.crc32(data[:-CRC_BYTES]):
        raise _fail("CRC32 mismatch (the blob is corrupted)")
    weights, offset = [], HEADER_BYTES
    for shape in shapes:
        count = int(np.prod(shape))
        w = np.frombuffer(data, np.dtype(dtype).newbyteorder("<"), count, offset)
        weights.append(w.astype(np.float32).reshape(shape))
        offset += count * itemsize
    if not all(np.isfinite(w).all() for w in weights):
        raise _fail("weights contain NaN or infinity")
    return Blob(
        weights=weights,
        width=width,
        octaves=octaves,
        image_width=img_w,
        image_height=img_h,
        pixel_digest=digest,
        weight_dtype=dtype,
        gated=bool(flags & FLAG_GATED),
        boundary_margin=margin,
        format_version=version,
        source_space=SOURCE_SPACES[space],
        hidden_layers=layers,
    )
