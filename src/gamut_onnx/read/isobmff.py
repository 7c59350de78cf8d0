"""The primary image's size and colour tags of a HEIF/AVIF file, read from its boxes alone.

Decoders allocate the full frame before we could refuse an absurd size, and imagecodecs'
avif_decode drops the nclx/ICC tags. So we walk just the ISO-BMFF (ISO/IEC 14496-12) and HEIF
(ISO/IEC 23008-12) boxes that describe the primary item: `ftyp`, then `meta` with its `hdlr`,
`pitm`, `iinf`, `iref` and `iprp`. The input is untrusted: every read is bounds-checked, counts
are capped, nothing recurses, and every failure is a one-line GamutError.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from gamut_onnx.errors import GamutError

HEIF_BRANDS = frozenset(b"heic heix hevc heim heis hevm hevs mif1 msf1 avif avis".split())
ALPHA_URNS = frozenset(
    {b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha", b"urn:mpeg:hevc:2015:auxid:1"}
)
MAX_COUNT = 65_536  # items, properties, associations, references, boxes per container
NOT_HEIF = "not a HEIF or AVIF file"


@dataclass(frozen=True)
class HeifHeader:
    """What a caller must know before decoding: stored size, orientation and colour description."""

    brand: str
    compatible: tuple[str, ...]
    item_type: str  # of the primary item: "hvc1", "av01", "grid", ...
    width: int  # from the primary item's `ispe`, before crop and rotation
    height: int
    rotation: int  # 0/90/180/270, counter-clockwise (`irot`)
    # `imir` axis, per 23008-12:2022 (as libavif and libheif read it): 0 = top and bottom
    # exchanged, 1 = left and right exchanged. Transforms apply in `ipma` order: crop, turn, mirror.
    mirror: int | None
    crop: tuple[int, int] | None  # clean-aperture (`clap`) width, height, rounded half up
    nclx: tuple[int, int, int, bool] | None  # primaries, transfer, matrix, full range
    icc: bytes | None
    bit_depth: int | None  # max over the `pixi` channels
    has_alpha: bool

    @property
    def displayed_size(self) -> tuple[int, int]:
        """(width, height) as shown: the crop first, then a quarter turn swaps the sides."""
        width, height = self.crop or (self.width, self.height)
        return (height, width) if self.rotation in (90, 270) else (width, height)


def is_heif_or_avif(data: bytes) -> bool:
    """Cheap sniff of the first 64 bytes: an `ftyp` box at offset 4 naming a HEIF/AVIF brand."""
    head = bytes(data[:64])
    if len(head) < 12 or head[4:8] != b"ftyp":
        return False
    size = struct.unpack_from(">I", head)[0]
    end = len(head) if size in (0, 1) else min(size, len(head))
    brands = [head[8:12]] + [head[i : i + 4] for i in range(16, end - 3, 4)]
    return any(brand in HEIF_BRANDS for brand in brands)


def read_heif_header(data: bytes) -> HeifHeader:
    """Parse the header of a HEIF/AVIF file; raise GamutError if it is not one or is damaged."""
    try:
        return _read_header(data)
    except (struct.error, IndexError, ValueError, OverflowError) as exc:  # a missed bounds check
        raise corrupt(f"{type(exc).__name__} while parsing") from None


def corrupt(detail: str) -> GamutError:
    return GamutError(f"HEIF/AVIF header is truncated or corrupt ({detail})")


def _name(box_type: bytes) -> str:
    """A box type for a one-line message: its letters when printable, else hex."""
    printable = all(0x20 <= byte < 0x7F and byte != 0x27 for byte in box_type)
    return box_type.decode("ascii") if printable else box_type.hex()


@dataclass(frozen=True)
class Box:
    type: bytes
    start: int  # first payload byte (after size/type/largesize)
    end: int

    @property
    def name(self) -> str:
        return _name(self.type)


def unpack(fmt: str, data: bytes, pos: int, end: int) -> tuple:
    if pos < 0 or pos + struct.calcsize(fmt) > end:
        raise corrupt(f"field at offset {pos} runs past the end of its box")
    return struct.unpack_from(fmt, data, pos)


def boxes(data: bytes, start: int, end: int, where: str) -> Iterator[Box]:
    """The boxes laid end to end in data[start:end]; each advances by at least 8 bytes."""
    pos, count = start, 0
    while pos < end:
        if end - pos < 8:
            raise corrupt(f"{end - pos} stray bytes at offset {pos} in {where}")
        size, box_type = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            size = unpack(">Q", data, pos + 8, end)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or size > end - pos:
            raise corrupt(
                f"'{_name(box_type)}' box at offset {pos} declares {size} bytes, "
                f"{end - pos} remain in {where}"
            )
        count += 1
        if count > MAX_COUNT:
            raise corrupt(f"more than {MAX_COUNT} boxes in {where}")
        yield Box(box_type, pos + header, pos + size)
        pos += size


def full_box(data: bytes, box: Box) -> tuple[int, int]:
    """(version, flags) of a full box; its fields start 4 bytes into the payload."""
    version_flags = unpack(">I", data, box.start, box.end)[0]
    return version_flags >> 24, version_flags & 0xFFFFFF


def _read_header(data: bytes) -> HeifHeader:
    if len(data) < 8 or bytes(data[4:8]) != b"ftyp":
        raise GamutError(NOT_HEIF)
    top = boxes(data, 0, len(data), "the file")
    ftyp = next(top)
    if ftyp.end - ftyp.start < 8:
        raise corrupt("'ftyp' box shorter than 16 bytes")
    if (ftyp.end - ftyp.start - 8) // 4 > MAX_COUNT:
        raise corrupt("'ftyp' box lists too many brands")
    brand = bytes(data[ftyp.start : ftyp.start + 4])
    compatible = tuple(bytes(data[i : i + 4]) for i in range(ftyp.start + 8, ftyp.end - 3, 4))
    if brand not in HEIF_BRANDS and not HEIF_BRANDS.intersection(compatible):
        raise GamutError(NOT_HEIF)
    meta = next((box for box in top if box.type == b"meta"), None)
    if meta is None:
        raise corrupt("no 'meta' box: a cut-off file, or an image sequence with no still image")
    return _read_meta(
        data, meta, brand.decode("latin-1"), tuple(b.decode("latin-1") for b in compatible)
    )


def _read_meta(data: bytes, meta: Box, brand: str, compatible: tuple[str, ...]) -> HeifHeader:
    full_box(data, meta)
    children: dict[bytes, Box] = {}
    for box in boxes(data, meta.start + 4, meta.end, "'meta'"):
        if box.type in (b"hdlr", b"pitm", b"iinf", b"iref", b"iprp"):
            if box.type in children:
                raise corrupt(f"two '{box.name}' boxes in 'meta'")
            children[box.type] = box
    for required in (b"hdlr", b"pitm", b"iinf", b"iprp"):
        if required not in children:
            raise corrupt(f"no '{_name(required)}' box in 'meta'")
    handler = unpack(">4s", data, children[b"hdlr"].start + 8, children[b"hdlr"].end)[0]
    if handler != b"pict":
        raise corrupt(f"'meta' handler is '{_name(handler)}', not 'pict'")

    primary = _read_pitm(data, children[b"pitm"])
    item_type = read_item_types(data, children[b"iinf"]).get(primary)
    if item_type is None:
        raise corrupt(f"primary item {primary} has no 'infe' entry of version 2 or 3")
    aux_items, first_tile = _read_references(data, children.get(b"iref"), primary)
    wanted = {primary, *aux_items} | ({first_tile} if first_tile is not None else set())
    properties = read_properties(data, children[b"iprp"], wanted)

    own = properties.get(primary, [])
    # A grid whose encoder tagged only the tiles: take the colour from its first tile.
    tile = properties.get(first_tile, []) if item_type == b"grid" and first_tile is not None else []
    colr_source = own if _has(own, b"colr") else tile
    pixi_source = own if _has(own, b"pixi") else tile
    width, height = _read_ispe(data, own, primary)
    nclx, icc = _read_colr(data, colr_source)
    return HeifHeader(
        brand=brand,
        compatible=compatible,
        item_type=item_type.decode("latin-1"),
        width=width,
        height=height,
        rotation=(_first_byte(data, own, b"irot") or 0) * 90,
        mirror=_first_byte(data, own, b"imir"),
        crop=_read_clap(data, own, width, height),
        nclx=nclx,
        icc=icc,
        bit_depth=_read_pixi(data, pixi_source),
        has_alpha=any(_is_alpha(data, properties.get(aux, [])) for aux in aux_items),
    )


def _read_pitm(data: bytes, pitm: Box) -> int:
    version, _ = full_box(data, pitm)
    return unpack(">H" if version == 0 else ">I", data, pitm.start + 4, pitm.end)[0]


def read_item_types(data: bytes, iinf: Box) -> dict[int, bytes]:
    """item id -> item type, from `infe` versions 2 and 3 (older versions carry no type)."""
    version, _ = full_box(data, iinf)
    count_format = ">H" if version == 0 else ">I"
    if unpack(count_format, data, iinf.start + 4, iinf.end)[0] > MAX_COUNT:
        raise corrupt(f"'iinf' declares more than {MAX_COUNT} items")
    types: dict[int, bytes] = {}
    first = iinf.start + 4 + struct.calcsize(count_format)
    for infe in boxes(data, first, iinf.end, "'iinf'"):
        if infe.type != b"infe":
            continue
        infe_version, _ = full_box(data, infe)
        if infe_version == 2:
            item_id, _, item_type = unpack(">HH4s", data, infe.start + 4, infe.end)
        elif infe_version == 3:
            item_id, _, item_type = unpack(">IH4s", data, infe.start + 4, infe.end)
        else:
            continue
        types.setdefault(item_id, item_type)
    return types


def _read_references(data: bytes, iref: Box | None, primary: int) -> tuple[list[int], int | None]:
    """Items that are auxiliary to the primary (`auxl`), and the primary's first `dimg` tile."""
    if iref is None:
        return [], None
    version, _ = full_box(data, iref)
    id_format = ">H" if version == 0 else ">I"
    id_size = struct.calcsize(id_format)
    aux_items: list[int] = []
    first_tile: int | None = None
    total = 0
    for ref in boxes(data, iref.start + 4, iref.end, "'iref'"):
        from_id = unpack(id_format, data, ref.start, ref.end)[0]
        count = unpack(">H", data, ref.start + id_size, ref.end)[0]
        total += count
        if total > MAX_COUNT:
            raise corrupt(f"'iref' holds more than {MAX_COUNT} references")
        first_to = ref.start + id_size + 2
        to_ids = unpack(f">{count}{id_format[1]}", data, first_to, ref.end) if count else ()
        if ref.type == b"auxl" and primary in to_ids and from_id != primary:
            aux_items.append(from_id)
        elif ref.type == b"dimg" and from_id == primary and to_ids and first_tile is None:
            first_tile = to_ids[0] if to_ids[0] != primary else None
    return aux_items, first_tile


def read_properties(data: bytes, iprp: Box, wanted: set[int]) -> dict[int, list[Box]]:
    """item id -> its property boxes in association order, for the wanted items only."""
    ipco: Box | None = None
    ipmas: list[Box] = []
    for box in boxes(data, iprp.start, iprp.end, "'iprp'"):
        if box.type == b"ipco" and ipco is None:
            ipco = box
        elif box.type == b"ipma":
            ipmas.append(box)
    if ipco is None or not ipmas:
        raise corrupt("'iprp' lacks its 'ipco' or 'ipma' box")
    catalogue = list(boxes(data, ipco.start, ipco.end, "'ipco'"))
    found: dict[int, list[Box]] = {}
    total = 0
    for ipma in ipmas:
        version, flags = full_box(data, ipma)
        id_format = ">H" if version < 1 else ">I"
        index_size = 2 if flags & 1 else 1
        entry_count = unpack(">I", data, ipma.start + 4, ipma.end)[0]
        if entry_count > MAX_COUNT:
            raise corrupt(f"'ipma' declares {entry_count} items")
        pos = ipma.start + 8
        for _ in range(entry_count):
            item_id = unpack(id_format, data, pos, ipma.end)[0]
            pos += struct.calcsize(id_format)
            count = unpack(">B", data, pos, ipma.end)[0]
            pos += 1
            total += count
            if total > MAX_COUNT:
                raise corrupt(f"'ipma' holds more than {MAX_COUNT} associations")
            if item_id in wanted:
                if item_id in found:
                    raise corrupt(f"item {item_id} appears twice in 'ipma'")
                indices = unpack(f">{count}{'H' if index_size == 2 else 'B'}", data, pos, ipma.end)
                props = (_property(catalogue, index, index_size) for index in indices)
                found[item_id] = [box for box in props if box is not None]
            pos += count * index_size
            if pos > ipma.end:
                raise corrupt("'ipma' entries run past the end of the box")
    return found


def _property(catalogue: list[Box], index: int, index_size: int) -> Box | None:
    """The 1-based property index without its 'essential' top bit; 0 means no property."""
    index &= 0x7FFF if index_size == 2 else 0x7F
    if index > len(catalogue):
        raise corrupt(f"property index {index} beyond the {len(catalogue)} in 'ipco'")
    return catalogue[index - 1] if index else None


def _has(properties: list[Box], box_type: bytes) -> bool:
    return any(box.type == box_type for box in properties)


def first_property(properties: list[Box], box_type: bytes) -> Box | None:
    return next((box for box in properties if box.type == box_type), None)


def _read_ispe(data: bytes, properties: list[Box], primary: int) -> tuple[int, int]:
    ispe = first_property(properties, b"ispe")
    if ispe is None:
        raise corrupt(f"primary item {primary} has no 'ispe' size property")
    width, height = unpack(">II", data, ispe.start + 4, ispe.end)
    if width == 0 or height == 0:
        raise corrupt(f"primary image size {width}x{height}")
    return width, height


def _first_byte(data: bytes, properties: list[Box], box_type: bytes) -> int | None:
    """The low bits of a one-byte transform property (`irot` angle, `imir` axis)."""
    box = first_property(properties, box_type)
    if box is None:
        return None
    value = unpack(">B", data, box.start, box.end)[0]
    return value & (0x03 if box_type == b"irot" else 0x01)


def _read_clap(
    data: bytes, properties: list[Box], width: int, height: int
) -> tuple[int, int] | None:
    """Clean-aperture size, each side n/d rounded half up (exact for whole-pixel crops)."""
    clap = first_property(properties, b"clap")
    if clap is None:
        return None
    width_n, width_d, height_n, height_d = unpack(">IIII", data, clap.start, clap.end)
    if width_d == 0 or height_d == 0:
        raise corrupt("'clap' with a zero denominator")
    crop = ((2 * width_n + width_d) // (2 * width_d), (2 * height_n + height_d) // (2 * height_d))
    if not (0 < crop[0] <= width and 0 < crop[1] <= height):
        raise corrupt(f"'clap' crop {crop[0]}x{crop[1]} outside the {width}x{height} image")
    return crop


def _read_colr(
    data: bytes, properties: list[Box]
) -> tuple[tuple[int, int, int, bool] | None, bytes | None]:
    """(nclx, icc) from the first `colr` of each kind; both may be present."""
    nclx: tuple[int, int, int, bool] | None = None
    icc: bytes | None = None
    for colr in properties:
        if colr.type != b"colr":
            continue
        colour_type = unpack(">4s", data, colr.start, colr.end)[0]
        if colour_type == b"nclx" and nclx is None:
            primaries, transfer, matrix, range_byte = unpack(
                ">HHHB", data, colr.start + 4, colr.end
            )
            nclx = (primaries, transfer, matrix, bool(range_byte & 0x80))
        elif colour_type in (b"prof", b"rICC") and icc is None:
            icc = bytes(data[colr.start + 4 : colr.end])
    return nclx, icc


def _read_pixi(data: bytes, properties: list[Box]) -> int | None:
    pixi = first_property(properties, b"pixi")
    if pixi is None:
        return None
    channels = unpack(">B", data, pixi.start + 4, pixi.end)[0]
    bits = unpack(f">{channels}B", data, pixi.start + 5, pixi.end) if channels else ()
    return max(bits) if bits and max(bits) > 0 else None


def _is_alpha(data: bytes, properties: list[Box]) -> bool:
    auxc = first_property(properties, b"auxC")
    if auxc is None:
        return False
    full_box(data, auxc)
    return bytes(data[auxc.start + 4 : auxc.end]).split(b"\0", 1)[0] in ALPHA_URNS
