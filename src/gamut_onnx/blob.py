"""The weight blob: the portable, versioned unit stored in a carrier's metadata.

docs/blob-format.md is the normative text. Layout (little-endian), 64-byte header:

    offset size  field
    0      8     magic b"GAMUTMLP"
    8      2     format_version (u16): 1, 2 or 3 (written: 3 for input layout 2, else 2)
    10     2     header_bytes (u16) = 64
    12     1     weight_dtype (u8): 1 float16, 2 float32
    13     1     source_primaries (u8): the photo's own colour space (v1: 1, "ProPhoto linear")
    14     1     carrier_transform (u8): 1 legacy matrices, 2 colour-science CAT02 (v2 only)
    15     1     input_layout (u8): 1 = (x, y, R, G, B) in [-1, 1], sin/cos octave encoding;
                 2 (v3 only) = layout 1 plus 16 carrier-context inputs (gamut_onnx/context.py)
    16     1     hidden_layers (u8) = 2
    17     1     octaves (u8)
    18     2     width (u16): hidden units per layer
    20     2     flags (u16): bit 0 gated; bit 1 (v2) records follow the weights
    22     1     boundary_margin (u8)
    23     1     source_transfer (u8) (v1: reserved, zero)
    24     4     image_width (u32)
    28     4     image_height (u32)
    32     32    pixel_digest (SHA-256, see docs/blob-format.md section 4)
    64     ...   weights: W1 (F x width, F = 10 octaves [+ 16 with context]), b1,
                 W2 (width x width), b2, W3 (width x 3), b3
    ...    ...   v2 with flag bit 1: records, each type (u8), length (u32), payload
    end-4  4     CRC32 (zlib) of every byte before it
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

from gamut_onnx.colour.lattice import Lattice, pack_lattice, parse_lattice
from gamut_onnx.context import CONTEXT_INPUTS
from gamut_onnx.errors import GamutError
from gamut_onnx.features import INPUT_CHANNELS

MAGIC = b"GAMUTMLP"
FORMAT_VERSION = 3  # the newest; a blob is written in the oldest version that can express it
CONTEXT_VERSION = 3  # version 3 = version 2 + input layout 2 (docs/blob-format.md section 1.2)
READABLE_VERSIONS = (1, 2, 3)
HEADER = struct.Struct("<8sHHBBBBBBHHBBII32s")
HEADER_BYTES = HEADER.size  # 64
CRC_BYTES = 4
DTYPE_CODES = {"float16": 1, "float32": 2}
INPUT_LAYOUTS = {1: "xy-rgb-octaves", 2: "xy-rgb-octaves-context"}
LAYOUT_CONTEXT = 2
CARRIER_TRANSFORM_CODES = (1, 2)
CURRENT_CARRIER_TRANSFORM = 2
SUPPORTED_WIDTHS = (16, 32, 64, 128)
SUPPORTED_HIDDEN_LAYERS = 2
FLAG_GATED = 1
FLAG_RECORDS = 2
MAX_OCTAVES = 16
MAX_BOUNDARY_MARGIN = 64
# Finite by construction: with every weight within +-65504 (the float16 range) and inputs in
# [-1, 1], no layer of the largest network (F = 160, D = 128) can exceed 2e21, far below the
# float32 range, so a restore cannot overflow to inf or NaN (docs/blob-format.md section 3).
MAX_WEIGHT = 65504.0

# The photo's own colour space (v2): primaries and transfer codes; 255/0 = an ICC profile record.
PRIMARIES_CODES = {1: "prophoto", 2: "bt709", 3: "p3", 4: "adobe", 5: "bt2020", 255: "icc"}
TRANSFER_CODES = {0: "icc", 1: "linear", 2: "srgb", 3: "romm", 4: "gamma22", 5: "bt709"}
TRANSFER_CODES |= {6: "pq", 7: "hlg"}
RECORD_SOURCE_ICC = 128  # ancillary (>= 128): zlib-deflated ICC profile of the source photo
RECORD_MAP_DIGEST = 129  # ancillary: SHA-256 of the carrier's residual map (section 9)
RECORD_JPEG_DIGEST = 130  # ancillary: the JPEG carrier's coefficient digest (section 4.3)
RECORD_LATTICE = 131  # ancillary: the source's code lattice (colour/lattice.py)
MAP_DIGEST_BYTES = 32
MAX_RECORD_INFLATED = 4 << 20  # an ICC profile beyond 4 MB is not a photo's profile


def weight_shapes(width: int, octaves: int, context: bool = False) -> list[tuple[int, ...]]:
    """Shapes of W1, b1, W2, b2, W3, b3 for the 2-hidden-layer GamutMLP; the 16 context rows
    of W1 (input layout 2) follow the octave rows."""
    features = INPUT_CHANNELS * 2 * octaves + (CONTEXT_INPUTS if context else 0)
    return [(features, width), (width,), (width, width), (width,), (width, 3), (3,)]


def boundary_edges(blob: Blob) -> np.ndarray:
    """The fixed graph's `edges` input: (low, high) channel values that mark a boundary pixel.

    (255, 0) selects every pixel (ungated); gated blobs use (margin, 255 - margin).
    """
    if not blob.gated:
        return np.array([255.0, 0.0], np.float32)
    return np.array([blob.boundary_margin, 255 - blob.boundary_margin], np.float32)


def check_image_size(blob: Blob, height: int, width: int, turned: bool = False) -> None:
    """A model only fits the image it was fitted on; a resized carrier is an error. `turned`
    also accepts the size transposed: a carrier turned by 90 degrees, which the decoder turns
    back (runtime/orientation.py)."""
    sizes = ((height, width), (width, height)) if turned else ((height, width),)
    if (blob.image_height, blob.image_width) not in sizes:
        raise GamutError(
            f"model was fitted for a {blob.image_width}x{blob.image_height} image, "
            f"but the pixels are {width}x{height} (resized after encoding?)"
        )


def pixel_digest(srgb8: np.ndarray) -> bytes:
    """SHA-256 of the carrier's RGB pixels: restore checks it to notice edited images."""
    rgb = np.ascontiguousarray(np.asarray(srgb8, dtype=np.uint8)[..., :3])
    return hashlib.sha256(memoryview(rgb).cast("B")).digest()  # no 300 MB copy at 100 MP


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
    carrier_transform: int = CURRENT_CARRIER_TRANSFORM
    source_primaries: str = "prophoto"  # PRIMARIES_CODES values; "icc": see source_icc
    source_transfer: str = "romm"  # TRANSFER_CODES values
    source_icc: bytes | None = field(default=None, repr=False)
    hidden_layers: int = SUPPORTED_HIDDEN_LAYERS
    context: bool = False  # input layout 2: the MLP also sees the carrier's block means
    # SHA-256 of the residual map beside this blob (container/residual_map.map_digest), when
    # the encoder wrote one: an edit of the map cannot also rewrite it without breaking the CRC
    residual_map_digest: bytes | None = field(default=None, repr=False)
    # A JPEG carrier's coefficient digest (container/jpeg_coefficients.py): survives lossless
    # transcodes and rotations, which change the header's byte digest
    jpeg_digest: bytes | None = field(default=None, repr=False)
    # The source's code lattice the restore snaps to (an 8-bit source's codes)
    lattice: Lattice | None = field(default=None, repr=False)

    @property
    def source_space(self) -> str:
        """The photo's colour space as `gamut-onnx inspect` names it."""
        if self.source_primaries == "icc":
            return "icc"
        from gamut_onnx.colour.spaces import ColourSpace, space_name

        return space_name(ColourSpace(self.source_primaries, self.source_transfer))


def _code(table: dict[int, str], name: str, what: str) -> int:
    for code, known in table.items():
        if known == name:
            return code
    raise GamutError(f"unknown {what} {name!r}")


def _records(blob: Blob) -> bytes:
    out = b""
    if blob.source_icc is not None:
        payload = zlib.compress(bytes(blob.source_icc), 9)
        out += struct.pack("<BI", RECORD_SOURCE_ICC, len(payload)) + payload
    if blob.residual_map_digest is not None:
        if len(blob.residual_map_digest) != MAP_DIGEST_BYTES:
            raise GamutError("a residual map digest is 32 bytes")
        out += struct.pack("<BI", RECORD_MAP_DIGEST, MAP_DIGEST_BYTES) + blob.residual_map_digest
    if blob.jpeg_digest is not None:
        if len(blob.jpeg_digest) != MAP_DIGEST_BYTES:
            raise GamutError("a JPEG coefficient digest is 32 bytes")
        out += struct.pack("<BI", RECORD_JPEG_DIGEST, MAP_DIGEST_BYTES) + blob.jpeg_digest
    if blob.lattice is not None:
        payload = pack_lattice(blob.lattice)
        out += struct.pack("<BI", RECORD_LATTICE, len(payload)) + payload
    return out


def pack_blob(blob: Blob) -> bytes:
    """Serialise a Blob as format version 2, or 3 with context; weights are rounded to
    `weight_dtype`."""
    shapes = weight_shapes(blob.width, blob.octaves, blob.context)
    if [tuple(w.shape) for w in blob.weights] != shapes:
        context = " with context" if blob.context else ""
        raise GamutError(
            f"weights do not match width {blob.width}, {blob.octaves} octaves{context}"
        )
    if not 0 <= blob.boundary_margin <= MAX_BOUNDARY_MARGIN:
        raise GamutError(f"boundary margin {blob.boundary_margin} out of 0..{MAX_BOUNDARY_MARGIN}")
    if blob.weight_dtype not in DTYPE_CODES:
        raise GamutError(f"unknown weight dtype {blob.weight_dtype!r}")
    if any(not np.all(np.abs(w) <= MAX_WEIGHT) for w in blob.weights):
        raise GamutError(f"weights must be finite and within +-{MAX_WEIGHT:g}")
    if (blob.source_primaries == "icc") != (blob.source_icc is not None):
        raise GamutError("an ICC source space needs its profile, and only it")
    records = _records(blob)
    flags = (FLAG_GATED if blob.gated else 0) | (FLAG_RECORDS if records else 0)
    header = HEADER.pack(
        MAGIC,
        CONTEXT_VERSION if blob.context else 2,
        HEADER_BYTES,
        DTYPE_CODES[blob.weight_dtype],
        _code(PRIMARIES_CODES, blob.source_primaries, "source primaries"),
        blob.carrier_transform,
        LAYOUT_CONTEXT if blob.context else 1,
        blob.hidden_layers,
        blob.octaves,
        blob.width,
        flags,
        blob.boundary_margin,
        _code(TRANSFER_CODES, blob.source_transfer, "source transfer"),
        blob.image_width,
        blob.image_height,
        blob.pixel_digest,
    )
    dtype = np.dtype(blob.weight_dtype).newbyteorder("<")
    payload = b"".join(np.asarray(w, dtype=dtype).tobytes() for w in blob.weights)
    body = header + payload + records
    return body + struct.pack("<I", zlib.crc32(body))


def _fail(reason: str) -> GamutError:
    return GamutError(f"invalid weight blob: {reason}")


def _read_records(data: bytes) -> dict:
    """The records' values by Blob field name (source_icc, residual_map_digest, jpeg_digest,
    lattice; inflation bounded); unknown ancillary records are skipped, unknown critical ones
    (type < 128) need a newer reader."""
    found: dict = {"source_icc": None}
    pos = 0
    while pos < len(data):
        if pos + 5 > len(data):
            raise _fail("truncated record header")
        kind, length = struct.unpack_from("<BI", data, pos)
        pos += 5
        if length > len(data) - pos:
            raise _fail(f"record of {length} bytes runs past the blob")
        payload = data[pos : pos + length]
        pos += length
        if kind == RECORD_SOURCE_ICC:
            inflate = zlib.decompressobj()
            try:
                found["source_icc"] = inflate.decompress(payload, MAX_RECORD_INFLATED)
            except zlib.error as exc:
                raise _fail(f"source ICC record is corrupt ({exc})") from None
            if inflate.unconsumed_tail or not inflate.eof:
                raise _fail("source ICC record is truncated or inflates past 4 MB")
        elif kind == RECORD_MAP_DIGEST:
            if length != MAP_DIGEST_BYTES:
                raise _fail(f"residual map digest record is {length} bytes, not 32")
            found["residual_map_digest"] = payload
        elif kind == RECORD_JPEG_DIGEST:
            if length != MAP_DIGEST_BYTES:
                raise _fail(f"JPEG coefficient digest record is {length} bytes, not 32")
            found["jpeg_digest"] = payload
        elif kind == RECORD_LATTICE:
            if "lattice" in found:
                raise _fail("two lattice records")
            try:
                found["lattice"] = parse_lattice(payload)
            except GamutError as exc:
                raise _fail(str(exc)) from None
        elif kind < 128:
            raise _fail(f"record type {kind} needs a newer gamut-onnx")
    return found


def unpack_blob(data: bytes) -> Blob:
    """Parse and validate a blob; every inconsistency raises GamutError with the reason."""
    data = bytes(data)
    if len(data) < HEADER_BYTES + CRC_BYTES:
        raise _fail(f"truncated ({len(data)} bytes, header alone needs {HEADER_BYTES + 4})")
    fields = HEADER.unpack_from(data)
    (magic, version, header_bytes, dtype_code, primaries, transform, layout) = fields[:7]
    (layers, octaves, width, flags, margin, transfer, img_w, img_h, digest) = fields[7:]
    if magic != MAGIC:
        raise _fail(f"bad magic {magic!r} (expected {MAGIC!r})")
    if version not in READABLE_VERSIONS:
        raise _fail(f"format version {version} is not supported (this build reads 1 to 3)")
    if header_bytes != HEADER_BYTES:
        raise _fail(f"header size {header_bytes} (expected {HEADER_BYTES})")
    dtype = {v: k for k, v in DTYPE_CODES.items()}.get(dtype_code)
    if dtype is None:
        raise _fail(f"unknown weight dtype code {dtype_code}")
    if version == 1:  # v1: one source space (the MLP's, linear ProPhoto), legacy matrices
        if primaries != 1:
            raise _fail(f"unknown source colour space code {primaries}")
        if transform != 1:
            raise _fail(f"unknown carrier transform code {transform}")
        if flags & ~FLAG_GATED or transfer:
            raise _fail(f"unknown flags 0x{flags:04x} or non-zero reserved field")
        source = ("prophoto", "romm")
    else:
        if primaries not in PRIMARIES_CODES or transfer not in TRANSFER_CODES:
            raise _fail(f"unknown source colour space codes {primaries}/{transfer}")
        if (primaries == 255) != (transfer == 0):
            raise _fail(f"source colour space codes {primaries}/{transfer} disagree")
        if transform not in CARRIER_TRANSFORM_CODES:
            raise _fail(f"unknown carrier transform code {transform}")
        if flags & ~(FLAG_GATED | FLAG_RECORDS):
            raise _fail(f"unknown flags 0x{flags:04x}")
        source = (PRIMARIES_CODES[primaries], TRANSFER_CODES[transfer])
    if layout not in INPUT_LAYOUTS or (version < CONTEXT_VERSION and layout != 1):
        raise _fail(f"unknown input layout code {layout}")
    if layers != SUPPORTED_HIDDEN_LAYERS:
        raise _fail(f"{layers} hidden layers (this runtime supports {SUPPORTED_HIDDEN_LAYERS})")
    if width not in SUPPORTED_WIDTHS:
        raise _fail(f"width {width} (supported: {', '.join(map(str, SUPPORTED_WIDTHS))})")
    if not 1 <= octaves <= MAX_OCTAVES:
        raise _fail(f"{octaves} octaves (supported: 1..{MAX_OCTAVES})")
    if margin > MAX_BOUNDARY_MARGIN:
        raise _fail(f"boundary margin {margin} (supported: 0..{MAX_BOUNDARY_MARGIN})")
    if img_w == 0 or img_h == 0:
        raise _fail(f"image size {img_w}x{img_h}")
    shapes = weight_shapes(width, octaves, layout == LAYOUT_CONTEXT)
    itemsize = np.dtype(dtype).itemsize
    weights_end = HEADER_BYTES + sum(int(np.prod(s)) for s in shapes) * itemsize
    has_records = bool(flags & FLAG_RECORDS)
    expected = weights_end + CRC_BYTES
    if len(data) != expected and not (has_records and len(data) > expected):
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
    if any(np.abs(w).max() > MAX_WEIGHT for w in weights):
        raise _fail(f"weights exceed +-{MAX_WEIGHT:g} (a restore could overflow)")
    records = _read_records(data[weights_end:-CRC_BYTES]) if has_records else {"source_icc": None}
    if (source[0] == "icc") != (records["source_icc"] is not None):
        raise _fail("source colour space says ICC, but there is no profile record, or vice versa")
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
        carrier_transform=transform,
        source_primaries=source[0],
        source_transfer=source[1],
        hidden_layers=layers,
        context=layout == LAYOUT_CONTEXT,
        **records,
    )
