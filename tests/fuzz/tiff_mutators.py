"""Mutators of TIFF structure: tag values, entry fields, the blob tag, the IFD itself (entries
added, dropped, reordered; pointers broken), its entry count and the strip data."""

from __future__ import annotations

import struct

from fuzz.generic_mutators import mutate_generic
from fuzz.mutation_context import Context
from fuzz.random_draws import chance, pick, rand_bytes, weighted
from fuzz.tiff_format import (
    TIFF_BLOB_TAG,
    TIFF_INT_FORMATS,
    TiffLayout,
    tiff_parse,
    tiff_rewrite_ifd,
    tiff_set_first_ifd,
    tiff_set_values,
    tiff_values_at,
)

TIFF_TAG_VALUES = {
    256: (0, 1, 2, 16000, 65535, 0x7FFFFFFF, 0xFFFFFFFF),  # width
    257: (0, 1, 2, 16000, 65535, 0x7FFFFFFF, 0xFFFFFFFF),  # length
    258: (0, 1, 2, 4, 7, 8, 12, 16, 32, 64, 255),  # bits per sample
    259: (0, 1, 2, 5, 6, 7, 8, 32773, 32946, 34712, 34887, 34925, 50000, 65535),  # compression
    262: (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 32803, 32844, 32845, 34892, 65535),  # photometric
    277: (0, 1, 2, 3, 4, 5, 255, 65535),  # samples per pixel
    278: (0, 1, 2, 0x7FFFFFFF, 0xFFFFFFFF),  # rows per strip
    273: (0, 1, 7, 0x7FFFFFFF, 0xFFFFFFFF),  # strip offsets
    279: (0, 1, 2, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF),  # strip byte counts
    284: (0, 1, 2, 3),  # planar configuration
    317: (0, 1, 2, 3, 4, 34892),  # predictor
    338: (0, 1, 2, 3),  # extra samples
    339: (0, 1, 2, 3, 4, 5, 6),  # sample format
    274: (0, 1, 5, 8, 9),  # orientation
    266: (0, 1, 2, 3),  # fill order
    322: (0, 1, 16, 0xFFFFFFFF),  # tile width
    323: (0, 1, 16, 0xFFFFFFFF),  # tile length
}
TIFF_TAGS = (
    254,
    256,
    257,
    258,
    259,
    262,
    266,
    273,
    274,
    277,
    278,
    279,
    284,
    305,
    317,
    320,
    322,
    323,
    324,
    325,
    338,
    339,
    347,
    530,
    532,
    34675,
    TIFF_BLOB_TAG,
    65000,
    65535,
)


def _entry(rng, layout: TiffLayout):
    return pick(rng, layout.entries) if layout.entries else None


def tiff_tag_value(rng, data: bytearray, layout: TiffLayout, ctx) -> None:
    entries = [e for e in layout.entries if e.tag in TIFF_TAG_VALUES]
    if not entries:
        return
    e = pick(rng, entries)
    value = pick(rng, TIFF_TAG_VALUES[e.tag])
    if e.tag in (256, 257) and chance(rng, 0.3):
        value = 16000
    values = [value] if chance(rng, 0.8) else [int(v) for v in rng.integers(0, 20, 4)]
    tiff_set_values(data, layout, e, values)
    ctx.ops.append(f"tiff-value-{e.tag}={value}")


def tiff_entry_field(rng, data: bytearray, layout: TiffLayout, ctx) -> None:
    e = _entry(rng, layout)
    if e is None:
        return
    o = layout.order
    name = pick(rng, ("tag", "type", "count", "offset"))
    if name == "tag":
        struct.pack_into(o + "H", data, e.at, pick(rng, TIFF_TAGS))
    elif name == "type":
        struct.pack_into(
            o + "H",
            data,
            e.at + 2,
            pick(rng, (0, 1, 2, 3, 4, 5, 7, 11, 12, 13, 16, 17, 18, 19, 255)),
        )
    elif name == "count":
        v = pick(rng, (0, 1, 2, e.count - 1, e.count + 1, 1 << 31, 0xFFFFFFFF, 0x40000000))
        struct.pack_into(o + layout.value_count_format, data, e.at + 4, v & 0xFFFFFFFF)
    else:
        v = pick(rng, (0, 1, 3, len(data) - 1, len(data), len(data) + 1000, 0x7FFFFFFF, 0xFFFFFFFF))
        struct.pack_into(o + layout.offset_format, data, e.value_at, v & 0xFFFFFFFF)
    ctx.ops.append(f"tiff-entry-{name}-{e.tag}")


def tiff_blob_tag(rng, data: bytearray, layout: TiffLayout, ctx) -> None:
    e = next((x for x in layout.entries if x.tag == TIFF_BLOB_TAG), None)
    if e is None:
        return
    o = layout.order
    r = int(rng.integers(3))
    if r == 0:  # ASCII as Pillow writes a bytes value, BYTE, SHORT, LONG
        struct.pack_into(o + "H", data, e.at + 2, pick(rng, (2, 1, 3, 4, 6, 11)))
        ctx.ops.append("tiff-blob-type")
    elif r == 1:
        v = pick(rng, (0, 1, e.count - 1, e.count + 1, e.count * 2, 1 << 31, 0xFFFFFFFF))
        struct.pack_into(o + layout.value_count_format, data, e.at + 4, v & 0xFFFFFFFF)
        ctx.ops.append("tiff-blob-count")
    else:
        struct.pack_into(o + "H", data, e.at, pick(rng, (65116, 65118, 34675)))
        ctx.ops.append("tiff-blob-tagcode")


def tiff_ifd(rng, data: bytearray, layout: TiffLayout, ctx) -> bytes | None:
    """Rewrite the first IFD: insert, duplicate, drop or reorder entries, or break its pointers."""
    size = layout.entry_size
    raw = [bytes(data[e.at : e.at + size]) for e in layout.entries]
    r = int(rng.integers(6))
    o = layout.order
    if r == 0 and raw:
        raw.insert(int(rng.integers(len(raw) + 1)), pick(rng, raw))
        ctx.ops.append("tiff-ifd-dup")
    elif r == 1 and raw:
        raw.pop(int(rng.integers(len(raw))))
        ctx.ops.append("tiff-ifd-drop")
    elif r == 2 and raw:
        rng.shuffle(raw)
        ctx.ops.append("tiff-ifd-shuffle")
    elif r == 3:
        tag = pick(rng, TIFF_TAGS)
        typ = pick(rng, (1, 2, 3, 4, 7))
        count = pick(rng, (0, 1, 2, 3, 100, 1 << 31))
        value = rand_bytes(rng, layout.inline_bytes)
        entry = struct.pack(o + "HH" + layout.value_count_format, tag, typ, count) + value
        raw.insert(int(rng.integers(len(raw) + 1)), entry)
        ctx.ops.append(f"tiff-ifd-insert-{tag}")
    elif r == 4:  # first-IFD pointer
        v = pick(rng, (0, 1, 7, len(data) - 2, len(data), 0xFFFFFFFF))
        tiff_set_first_ifd(data, layout, v)
        ctx.ops.append("tiff-ifd-pointer")
        return None
    else:  # next-IFD pointer: loop to itself, past the end, a second IFD that is garbage
        v = pick(rng, (layout.ifd_at, len(data) + 8, 8, max(0, layout.next_at - 2)))
        if layout.next_at + layout.inline_bytes <= len(data):
            struct.pack_into(o + layout.offset_format, data, layout.next_at, v)
        ctx.ops.append("tiff-next-ifd")
        return None
    return tiff_rewrite_ifd(bytes(data), layout, raw)


def tiff_count_field(rng, data: bytearray, layout: TiffLayout, ctx) -> None:
    v = pick(rng, (0, 1, 0xFFFF, len(layout.entries) + 1))
    struct.pack_into(layout.order + layout.entry_count_format, data, layout.ifd_at, v)
    ctx.ops.append("tiff-ifd-count")


def tiff_strip_data(rng, data: bytearray, layout: TiffLayout, ctx) -> bytes | None:
    """Corrupt or cut the compressed pixel data."""
    e = next((x for x in layout.entries if x.tag in (273, 324)), None)
    at = e and tiff_values_at(layout, e, bytes(data))
    fmt = e and TIFF_INT_FORMATS.get(e.type)
    if not fmt or at is None:
        return None
    (offset,) = struct.unpack_from(layout.order + fmt, data, at)
    if offset >= len(data):
        return None
    if chance(rng, 0.5):
        ctx.ops.append("tiff-strip-cut")
        return bytes(data[: int(rng.integers(offset, len(data)))])
    for _ in range(int(rng.integers(1, 6))):
        i = int(rng.integers(offset, min(len(data), offset + 4096)))
        data[i] = int(rng.integers(256))
    ctx.ops.append("tiff-strip-bytes")
    return None


TIFF_MUTATORS = [
    (tiff_tag_value, 6),
    (tiff_entry_field, 4),
    (tiff_blob_tag, 2),
    (tiff_ifd, 3),
    (tiff_count_field, 1),
    (tiff_strip_data, 2),
]


def mutate_tiff(rng, data: bytes, ctx: Context) -> bytes:
    layout = tiff_parse(data)
    if layout is None:
        return mutate_generic(rng, data, ctx)
    buf = bytearray(data)
    out = weighted(rng, TIFF_MUTATORS)(rng, buf, layout, ctx)
    return bytes(buf) if out is None else out
