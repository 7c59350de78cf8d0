"""Where a HEIF/AVIF item's coded data lies (the `iloc` box, ISO/IEC 14496-12 8.11.3), so that
the bitstream's own header can be read before a decoder sees the file: the AV1 sequence header
of an AVIF says what size the decoder will allocate, whatever `ispe` claims.

Untrusted input: every extent must lie inside the file (or the `idat` box), counts are capped,
and every failure is a one-line GamutError.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from gamut_onnx.errors import GamutError
from gamut_onnx.read.isobmff import MAX_COUNT, boxes, corrupt, full_box, unpack

MAX_EXTENTS = 1024


@dataclass(frozen=True)
class ItemLocation:
    item_id: int
    method: int  # construction method: 0 file offsets, 1 offsets into `idat`
    extents: tuple[tuple[int, int], ...]  # (offset, length) in the file


def _sized(data: bytes, pos: int, end: int, size: int) -> tuple[int, int]:
    """An unsigned field of 0, 4 or 8 bytes, and the position after it."""
    if size == 0:
        return 0, pos
    if size not in (4, 8):
        raise corrupt(f"'iloc' field of {size} bytes")
    return unpack(">I" if size == 4 else ">Q", data, pos, end)[0], pos + size


def meta_children(data: bytes) -> dict[bytes, object]:
    """The boxes inside the top-level 'meta' box, by type."""
    top = {box.type: box for box in boxes(data, 0, len(data), "the file")}
    meta = top.get(b"meta")
    if meta is None:
        raise corrupt("no 'meta' box")
    full_box(data, meta)
    return {box.type: box for box in boxes(data, meta.start + 4, meta.end, "'meta'")}


def item_locations(data: bytes) -> dict[int, ItemLocation]:
    """Every item's extents, resolved to file offsets and checked to lie inside the file."""
    children = meta_children(data)
    iloc = children.get(b"iloc")
    if iloc is None:
        raise corrupt("no 'iloc' box")
    idat = children.get(b"idat")
    version, _ = full_box(data, iloc)
    if version > 2:
        raise corrupt(f"'iloc' version {version}")
    sizes = unpack(">H", data, iloc.start + 4, iloc.end)[0]
    offset_size, length_size = sizes >> 12, (sizes >> 8) & 15
    base_size, index_size = (sizes >> 4) & 15, (sizes & 15) if version else 0
    pos = iloc.start + 6
    count_format = ">H" if version < 2 else ">I"
    count = unpack(count_format, data, pos, iloc.end)[0]
    pos += struct.calcsize(count_format)
    if count > MAX_COUNT:
        raise corrupt(f"'iloc' declares {count} items")
    found: dict[int, ItemLocation] = {}
    for _ in range(count):
        id_format = ">H" if version < 2 else ">I"
        item_id = unpack(id_format, data, pos, iloc.end)[0]
        pos += struct.calcsize(id_format)
        method = 0
        if version:
            method = unpack(">H", data, pos, iloc.end)[0] & 15
            pos += 2
        pos += 2  # data_reference_index
        base, pos = _sized(data, pos, iloc.end, base_size)
        extent_count = unpack(">H", data, pos, iloc.end)[0]
        pos += 2
        if extent_count > MAX_EXTENTS:
            raise corrupt(f"item {item_id} has {extent_count} extents")
        extents = []
        for _ in range(extent_count):
            if index_size:
                _, pos = _sized(data, pos, iloc.end, index_size)
            offset, pos = _sized(data, pos, iloc.end, offset_size)
            length, pos = _sized(data, pos, iloc.end, length_size)
            extents.append(_in_file(data, idat, method, base + offset, length, item_id))
        found.setdefault(item_id, ItemLocation(item_id, method, tuple(extents)))
    return found


def _in_file(data: bytes, idat, method: int, offset: int, length: int, item_id: int):
    """An extent as a file range, checked; length 0 means "to the end" (of the file or idat)."""
    if method == 1:
        if idat is None:
            raise corrupt(f"item {item_id} points into an 'idat' box there is none of")
        start, end = idat.start + offset, idat.end
    elif method == 0:
        start, end = offset, len(data)
    else:
        raise GamutError(f"HEIF item {item_id} uses construction method {method}")
    if length == 0:
        length = end - start
    if start < 0 or length < 0 or start + length > end:
        raise corrupt(f"item {item_id}'s data lies outside the file")
    return start, length


def item_data(data: bytes, item_id: int, limit: int) -> bytes:
    """The item's coded bytes (its extents concatenated), at most `limit` bytes."""
    location = item_locations(data).get(item_id)
    if location is None:
        raise corrupt(f"item {item_id} has no 'iloc' entry")
    total = sum(length for _, length in location.extents)
    if total > limit:
        raise GamutError(f"HEIF item {item_id} holds {total:,} bytes, more than {limit:,}")
    return b"".join(bytes(data[start : start + length]) for start, length in location.extents)


def primary_item_id(data: bytes) -> int:
    pitm = meta_children(data).get(b"pitm")
    if pitm is None:
        raise corrupt("no 'pitm' box")
    version, _ = full_box(data, pitm)
    return unpack(">H" if version == 0 else ">I", data, pitm.start + 4, pitm.end)[0]


def check_av1_size(data: bytes, width: int, height: int, what: str, limit: int):
    """The primary item's AV1 sequence header must code exactly the `ispe` size: a decoder
    allocates what the bitstream says (and libavif scales one to the other), so a 3 KB file
    claiming one size around a frame of another is refused before decoding. Returns the
    stream's facts (read/av1.py)."""
    from gamut_onnx.read.av1 import read_stream

    stream = read_stream(item_data(data, primary_item_id(data), limit))
    coded = (stream.header.width, stream.header.height)
    if coded != (width, height):
        raise GamutError(
            f"{what}: its AV1 frame is {coded[0]}x{coded[1]} but the file says "
            f"{width}x{height} (damaged or crafted)"
        )
    return stream
