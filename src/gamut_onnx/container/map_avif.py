"""The residual map's AVIF checked against its profile (docs/blob-format.md section 9) from its
boxes and its AV1 sequence header, before any decoder sees it.

A map is an 8-bit, 4:4:4, identity-matrix, full-range, three-channel, single-frame AVIF of
exactly the carrier's size, laid out as libavif writes one: the top-level boxes `ftyp`,
`meta` and `mdat`, one item, and the `mdat` holding that item's data and nothing else. An
AVIF outside the profile decodes differently in different decoders (bit depth and chroma
conversions, scaling to `ispe`, extra frames), so every runtime refuses it the same way.
"""

from __future__ import annotations

from gamut_onnx.errors import GamutError
from gamut_onnx.read.av1 import read_stream
from gamut_onnx.read.heif_items import item_locations, meta_children, primary_item_id
from gamut_onnx.read.isobmff import (
    boxes,
    first_property,
    is_heif_or_avif,
    read_heif_header,
    read_item_types,
    read_properties,
    unpack,
)

TOP_LEVEL = [b"ftyp", b"meta", b"mdat"]


def _fail(detail: str) -> GamutError:
    return GamutError(f"residual map's AVIF {detail}")


def _properties(avif: bytes, item: int) -> list:
    children = meta_children(avif)
    if len(read_item_types(avif, children[b"iinf"])) != 1:
        raise _fail("holds more than one item (alpha, metadata or tiles)")
    return read_properties(avif, children[b"iprp"], {item}).get(item, [])


def _check_properties(avif: bytes, properties: list) -> None:
    """pixi: three channels of 8 bits; av1C: 8-bit 4:4:4 colour; colr nclx: identity matrix,
    full range (where present)."""
    pixi = first_property(properties, b"pixi")
    if pixi is None:
        raise _fail("has no 'pixi' (bits per channel) property")
    count = unpack(">B", avif, pixi.start + 4, pixi.end)[0]
    bits = unpack(f">{count}B", avif, pixi.start + 5, pixi.end) if count else ()
    if tuple(bits) != (8, 8, 8):
        raise _fail(f"has {count} channels of {'/'.join(map(str, bits)) or 'no'} bits, not 3 of 8")
    av1c = first_property(properties, b"av1C")
    if av1c is None:
        raise _fail("has no 'av1C' property")
    flags = unpack(">B", avif, av1c.start + 2, av1c.end)[0]
    if flags & 0b01111100:  # high_bitdepth, twelve_bit, monochrome, subsampling x and y
        raise _fail(f"is not 8-bit 4:4:4 colour (av1C flags 0x{flags:02x})")
    for colr in properties:
        if colr.type == b"colr" and unpack(">4s", avif, colr.start, colr.end)[0] == b"nclx":
            _, _, matrix, full = unpack(">HHHB", avif, colr.start + 4, colr.end)
            if matrix != 0 or not full & 0x80:
                raise _fail(f"has matrix {matrix}, {'full' if full & 0x80 else 'limited'} range")


def _check_layout(avif: bytes, item: int):
    """ftyp, meta, mdat and nothing else, and mdat is exactly the item's data; the mdat box."""
    top = list(boxes(avif, 0, len(avif), "the map"))
    if sorted(box.type for box in top) != sorted(TOP_LEVEL):
        names = ", ".join(box.name for box in top)
        raise _fail(f"has the top-level boxes {names[:80]} (expected ftyp, meta, mdat)")
    mdat = next(box for box in top if box.type == b"mdat")
    location = item_locations(avif).get(item)
    if location is None or location.method != 0:
        raise _fail("does not locate its item in 'mdat'")
    if location.extents != ((mdat.start, mdat.end - mdat.start),):
        raise _fail("has data in 'mdat' beside its item's (or outside it)")
    return mdat


def check_map_avif(avif: bytes, width: int, height: int) -> None:
    """Raise a one-line GamutError unless `avif` is a map AVIF of width x height (section 9)."""
    if not is_heif_or_avif(avif):
        raise _fail("is not an AVIF image")
    header = read_heif_header(avif)
    if "avif" not in (header.brand, *header.compatible) or "avis" in (header.brand,):
        raise _fail(f"has brand '{header.brand}', not a still AVIF")
    if header.item_type != "av01" or (header.width, header.height) != (width, height):
        raise _fail(
            f"is {header.item_type} {header.width}x{header.height}, not av01 {width}x{height}"
        )
    item = primary_item_id(avif)
    properties = _properties(avif, item)
    mdat = _check_layout(avif, item)
    _check_properties(avif, properties)
    stream = read_stream(bytes(avif[mdat.start : mdat.end]))
    coded = stream.header
    if (coded.width, coded.height) != (width, height):
        raise _fail(f"codes a {coded.width}x{coded.height} frame, not {width}x{height}")
    profile = (coded.bit_depth, coded.monochrome, coded.subsampling, coded.matrix, coded.full_range)
    if profile != (8, False, (0, 0), 0, True):
        raise _fail("codes something other than 8-bit 4:4:4 identity-matrix full-range colour")
    if stream.frames != 1:
        raise _fail(f"holds {stream.frames} frames, not one")
