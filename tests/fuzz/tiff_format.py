"""A TIFF walker and writer: the first IFD's entries (classic and BigTIFF, both byte orders),
where their values lie, in-place value edits, a rewritten IFD, structure boundaries (for
truncation) and a hand-written one-strip TIFF of any claimed size (for bombs)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

TIFF_BLOB_TAG = 65117


TIFF_TYPE_SIZES = {
    1: 1,
    2: 1,
    3: 2,
    4: 4,
    5: 8,
    6: 1,
    7: 1,
    8: 2,
    9: 4,
    10: 8,
    11: 4,
    12: 8,
    13: 4,
    16: 8,
    17: 8,
    18: 8,
}
TIFF_INT_FORMATS = {
    1: "B",
    2: "B",
    3: "H",
    4: "I",
    6: "b",
    7: "B",
    8: "h",
    9: "i",
    13: "I",
    16: "Q",
    17: "q",
    18: "Q",
}


@dataclass
class IfdEntry:
    at: int  # offset of the entry
    tag: int
    type: int
    count: int
    value_at: int  # offset of the value/offset field


@dataclass
class TiffLayout:
    order: str  # "<" or ">"
    big: bool
    ifd_at: int  # offset of the first IFD
    entries: list[IfdEntry] = field(default_factory=list)
    next_at: int = 0  # offset of the next-IFD pointer field

    @property
    def entry_size(self) -> int:
        return 20 if self.big else 12

    @property
    def offset_format(self) -> str:
        return "Q" if self.big else "I"

    @property
    def value_count_format(self) -> str:
        """An entry's value count: as wide as an offset."""
        return "Q" if self.big else "I"

    @property
    def entry_count_format(self) -> str:
        """The IFD's count of entries."""
        return "Q" if self.big else "H"

    @property
    def inline_bytes(self) -> int:
        return 8 if self.big else 4


def tiff_parse(data: bytes) -> TiffLayout | None:
    """The first IFD's entries, or None if the header or IFD is out of the file."""
    if len(data) < 8 or data[:2] not in (b"II", b"MM"):
        return None
    order = "<" if data[:2] == b"II" else ">"
    (magic,) = struct.unpack_from(order + "H", data, 2)
    if magic == 42:
        big, (ifd,) = False, struct.unpack_from(order + "I", data, 4)
    elif magic == 43 and len(data) >= 16:
        big, (ifd,) = True, struct.unpack_from(order + "Q", data, 8)
    else:
        return None
    layout = TiffLayout(order, big, ifd)
    count_size = 8 if big else 2
    if ifd + count_size > len(data):
        return None
    (n,) = struct.unpack_from(order + layout.entry_count_format, data, ifd)
    pos = ifd + count_size
    for _ in range(min(n, 4096)):
        if pos + layout.entry_size > len(data):  # a cut IFD: no next-IFD pointer to mutate
            layout.next_at = len(data)
            return layout if layout.entries else None
        if big:
            tag, typ, count = struct.unpack_from(order + "HHQ", data, pos)
            layout.entries.append(IfdEntry(pos, tag, typ, count, pos + 12))
        else:
            tag, typ, count = struct.unpack_from(order + "HHI", data, pos)
            layout.entries.append(IfdEntry(pos, tag, typ, count, pos + 8))
        pos += layout.entry_size
    layout.next_at = pos
    return layout


def tiff_values_at(layout: TiffLayout, entry: IfdEntry, data: bytes) -> int | None:
    """Where an entry's values are: inline or at the offset it points to."""
    size = TIFF_TYPE_SIZES.get(entry.type, 1) * entry.count
    if size <= layout.inline_bytes:
        return entry.value_at
    (offset,) = struct.unpack_from(layout.order + layout.offset_format, data, entry.value_at)
    return offset if offset + size <= len(data) else None


def tiff_set_values(data: bytearray, layout: TiffLayout, entry: IfdEntry, values) -> None:
    """Overwrite an integer entry's values in place (as many as fit its count)."""
    fmt = TIFF_INT_FORMATS.get(entry.type)
    at = tiff_values_at(layout, entry, bytes(data))
    if fmt is None or at is None:
        return
    size = TIFF_TYPE_SIZES[entry.type]
    for i in range(min(entry.count, 64)):
        v = int(values[i % len(values)]) & ((1 << (8 * size)) - 1)
        if fmt.islower():
            v = v - (1 << (8 * size)) if v >= 1 << (8 * size - 1) else v
        struct.pack_into(layout.order + fmt, data, at + i * size, v)


def tiff_boundaries(data: bytes) -> list[int]:
    layout = tiff_parse(data)
    out = [0, 4, 8]
    if layout is None:
        return out
    out += [layout.ifd_at, layout.next_at]
    for e in layout.entries:
        out += [e.at, e.value_at]
        at = tiff_values_at(layout, e, data)
        if at is not None:
            out += [at, at + TIFF_TYPE_SIZES.get(e.type, 1) * e.count]
        if e.tag in (273, 324):  # strips / tiles: where the pixel data lies
            fmt = TIFF_INT_FORMATS.get(e.type)
            if fmt and at is not None:
                size = TIFF_TYPE_SIZES[e.type]
                for i in range(min(e.count, 8)):
                    out.append(struct.unpack_from(layout.order + fmt, data, at + i * size)[0])
    return sorted({o for o in out if 0 <= o <= len(data)})


def tiff_rewrite_ifd(data: bytes, layout: TiffLayout, entries: list[bytes]) -> bytes:
    """Append a new first IFD made of these raw entries (values inline in them stay valid, and
    out-of-line values keep pointing where they were), and point the header at it."""
    out = bytearray(data)
    out += bytes(-len(out) % 2)
    at = len(out)
    o = layout.order
    out += struct.pack(o + layout.entry_count_format, len(entries))
    for e in entries:
        out += e
    (next_ifd,) = (
        struct.unpack_from(o + layout.offset_format, data, layout.next_at)
        if layout.next_at + layout.inline_bytes <= len(data)
        else (0,)
    )
    out += struct.pack(o + layout.offset_format, next_ifd)
    tiff_set_first_ifd(out, layout, at)
    return bytes(out)


def tiff_set_first_ifd(data: bytearray, layout: TiffLayout, offset: int) -> None:
    """Point the header's first-IFD offset at `offset`."""
    at = 8 if layout.big else 4
    struct.pack_into(layout.order + layout.offset_format, data, at, offset)


def tiff_raw(
    width: int,
    height: int,
    strip: bytes,
    *,
    samples: int = 3,
    bits: int = 8,
    photometric: int = 2,
    compression: int = 8,
    extra: list[tuple[int, int, int, bytes]] = (),
) -> bytes:
    """A one-strip classic little-endian TIFF written by hand (for bombs: any claimed size with
    any strip). `extra`: (tag, type, count, value bytes) entries added to the IFD."""
    entries = [
        (256, 4, 1, struct.pack("<I", width)),
        (257, 4, 1, struct.pack("<I", height)),
        (258, 3, samples, struct.pack(f"<{samples}H", *[bits] * samples)),
        (259, 3, 1, struct.pack("<H", compression)),
        (262, 3, 1, struct.pack("<H", photometric)),
        (273, 4, 1, b"STRP"),  # patched below
        (277, 3, 1, struct.pack("<H", samples)),
        (278, 4, 1, struct.pack("<I", height)),
        (279, 4, 1, struct.pack("<I", len(strip))),
        (284, 3, 1, struct.pack("<H", 1)),
        *extra,
    ]
    entries.sort(key=lambda e: e[0])
    ifd_at = 8
    n = len(entries)
    data_at = ifd_at + 2 + 12 * n + 4
    values, ifd = bytearray(), bytearray(struct.pack("<H", n))
    strip_entry = None
    for tag, typ, count, value in entries:
        if tag == 273:
            strip_entry = len(ifd) + 8
            ifd += struct.pack("<HHI", tag, typ, count) + b"\0\0\0\0"
        elif len(value) <= 4:
            ifd += struct.pack("<HHI", tag, typ, count) + value.ljust(4, b"\0")
        else:
            ifd += struct.pack("<HHII", tag, typ, count, data_at + len(values))
            values += value + bytes(len(value) % 2)
    ifd += b"\0\0\0\0"
    strip_at = data_at + len(values)
    struct.pack_into("<I", ifd, strip_entry, strip_at)
    return b"II*\0" + struct.pack("<I", ifd_at) + bytes(ifd) + bytes(values) + strip
