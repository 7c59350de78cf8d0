"""The weight blob's raw layout (docs/blob-format.md): header fields of any value, weights,
records and the trailing CRC, written and read without the project's validating packer."""

from __future__ import annotations

import struct
import zlib

BLOB_MAGIC = b"GAMUTMLP"
BLOB_HEADER = struct.Struct("<8sHHBBBBBBHHBBII32s")
BLOB_FIELDS = (
    "magic",
    "version",
    "header_bytes",
    "dtype",
    "primaries",
    "transform",
    "layout",
    "layers",
    "octaves",
    "width",
    "flags",
    "margin",
    "transfer",
    "image_width",
    "image_height",
    "digest",
)


def new_header_fields(
    *,
    version: int,
    dtype: int,
    primaries: int,
    transform: int,
    transfer: int,
    octaves: int,
    width: int,
    flags: int,
    margin: int,
    size: tuple[int, int],
    digest: bytes,
) -> dict:
    """Header fields for `blob_pack_raw` of a blob for an image of `size` (h, w); the magic, header
    size, layout and layer count are the ones every valid blob has."""
    return dict(
        magic=BLOB_MAGIC,
        version=version,
        header_bytes=64,
        dtype=dtype,
        primaries=primaries,
        transform=transform,
        layout=1,
        layers=2,
        octaves=octaves,
        width=width,
        flags=flags,
        margin=margin,
        transfer=transfer,
        image_width=size[1],
        image_height=size[0],
        digest=digest,
    )


def blob_fields(blob: bytes) -> dict | None:
    if len(blob) < BLOB_HEADER.size:
        return None
    return dict(zip(BLOB_FIELDS, BLOB_HEADER.unpack_from(blob), strict=True))


def blob_pack_raw(fields: dict, payload: bytes, records: bytes = b"", crc: bool = True) -> bytes:
    """A blob from raw header fields (any values), weight bytes and record bytes."""
    body = BLOB_HEADER.pack(*(fields[k] for k in BLOB_FIELDS)) + payload + records
    return body + struct.pack("<I", zlib.crc32(body) if crc else 0xDEADBEEF)


def blob_reseal(blob: bytes) -> bytes:
    """Recompute the trailing CRC32 (so checks past the CRC are reached)."""
    if len(blob) < 4:
        return blob
    body = blob[:-4]
    return body + struct.pack("<I", zlib.crc32(body))


def weight_count(width: int, octaves: int) -> int:
    """Weights in a network of this hidden width and this many Fourier octaves."""
    return width * (10 * octaves + width + 5) + 3


def blob_weights_span(fields: dict) -> tuple[int, int, int] | None:
    """(start, end, itemsize) of the weights the header describes, if it is plausible."""
    itemsize = {1: 2, 2: 4}.get(fields["dtype"])
    if itemsize is None or not 1 <= fields["octaves"] <= 16 or fields["width"] > 4096:
        return None
    n = weight_count(fields["width"], fields["octaves"])
    return 64, 64 + n * itemsize, itemsize


def record(kind: int, payload: bytes, length: int | None = None) -> bytes:
    return struct.pack("<BI", kind, len(payload) if length is None else length) + payload
