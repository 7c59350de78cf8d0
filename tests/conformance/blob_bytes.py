"""Raw edits of a packed blob for the vectors: records appended after the weights, and the CRC
recomputed, so that a reader's own checks (not the packer's) decide."""

from __future__ import annotations

import struct
import zlib


def reseal(blob: bytearray) -> bytes:
    """The blob with its trailing CRC-32 recomputed."""
    struct.pack_into("<I", blob, len(blob) - 4, zlib.crc32(bytes(blob[:-4])))
    return bytes(blob)


def with_records(blob: bytes, records: bytes) -> bytes:
    """`blob` with these packed records appended (flags bit 1 set, CRC recomputed)."""
    body = bytearray(blob[:-4] + records)
    struct.pack_into("<H", body, 20, struct.unpack_from("<H", body, 20)[0] | 2)
    return reseal(body + b"CRC!")
