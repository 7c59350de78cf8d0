"""A JPEG walker: the marker segments up to the first scan, the SOF segment, segment writing
and structure boundaries (for truncation)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

JPEG_BLOB_ID = b"GAMUT-ONNX\x00"
JPEG_ICC_ID = b"ICC_PROFILE\x00"


@dataclass
class Segment:
    marker: int
    start: int  # offset of the 0xFF
    payload: int  # payload start (after the length)
    end: int


def jpeg_parse(data: bytes) -> tuple[list[Segment], int] | None:
    """Segments from SOI to the first SOS header, and the offset where the scan data starts;
    None when the structure breaks before a scan."""
    if data[:2] != b"\xff\xd8":
        return None
    segs, pos, n = [Segment(0xD8, 0, 2, 2)], 2, len(data)
    while pos < n:
        if data[pos] != 0xFF:
            return None
        while pos < n and data[pos] == 0xFF:
            pos += 1
        if pos >= n:
            return None
        marker, start = data[pos], pos - 1
        pos += 1
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:
            segs.append(Segment(marker, start, pos, pos))
            continue
        if marker == 0xD9 or pos + 2 > n:
            return None
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > n:
            return None
        segs.append(Segment(marker, start, pos + 2, pos + length))
        if marker == 0xDA:
            return segs, pos + length
        pos += length
    return None


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", (len(payload) + 2) & 0xFFFF) + payload


def jpeg_boundaries(data: bytes) -> list[int]:
    parsed = jpeg_parse(data)
    out = [0, 2, len(data) - 2, len(data) - 1]
    if parsed:
        segs, scan = parsed
        for s in segs:
            out += [s.start, s.start + 2, s.payload, s.end]
        out += [scan, (scan + len(data)) // 2]
    return sorted({o for o in out if 0 <= o <= len(data)})


def sof_segment(segs: list[Segment]) -> Segment | None:
    return next(
        (s for s in segs if 0xC0 <= s.marker <= 0xCF and s.marker not in (0xC4, 0xC8, 0xCC)),
        None,
    )
