"""The first IFD of a TIFF, checked against the file before tifffile sees it.

tifffile trusts counts and offsets: a 1 KB file can claim gigabytes of tag data, strips past the
end or a zero RowsPerStrip, and the errors it then raises range from IndexError to MemoryError,
after seconds of work. A TIFF's structure is small and fixed (TIFF 6.0 section 2, BigTIFF), so
we check what the first page needs ourselves: every entry's type and data inside the file and
under the metadata limit, the image size, and each strip or tile inside the file. Used by the
photo reader and the carrier reader alike.
"""

from __future__ import annotations

import logging
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from gamut_onnx.errors import GamutError, one_line
from gamut_onnx.limits import MAX_METADATA_BYTES

# tifffile logs before raising on broken files; we report those errors ourselves, so keep
# Python's last-resort handler from printing them (configured handlers still receive them).
logging.getLogger("tifffile").addHandler(logging.NullHandler())

TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8,
              13: 4, 16: 8, 17: 8, 18: 8}  # fmt: skip
INTEGER_FORMATS = {1: "B", 3: "H", 4: "I", 16: "Q", 6: "b", 8: "h", 9: "i", 17: "q"}
WIDTH, LENGTH, BITS, COMPRESSION, SAMPLES, PLANAR = 256, 257, 258, 259, 277, 284
STRIP_OFFSETS, ROWS_PER_STRIP, STRIP_BYTES = 273, 278, 279
TILE_WIDTH, TILE_LENGTH, TILE_OFFSETS, TILE_BYTES = 322, 323, 324, 325
PHOTOMETRIC, PREDICTOR, SAMPLE_FORMAT, EXTRA_SAMPLES = 262, 317, 339, 338
STRUCTURE = {WIDTH, LENGTH, BITS, COMPRESSION, PHOTOMETRIC, STRIP_OFFSETS, SAMPLES,
             ROWS_PER_STRIP, STRIP_BYTES, PLANAR, PREDICTOR, TILE_WIDTH, TILE_LENGTH,
             TILE_OFFSETS, TILE_BYTES, EXTRA_SAMPLES, SAMPLE_FORMAT}  # fmt: skip


@dataclass(frozen=True)
class Entry:
    type: int
    count: int
    data: bytes  # the value bytes, wherever they are stored


def first_ifd(data: bytes) -> tuple[str, dict[int, Entry]]:
    """(byte order, entries by tag) of the first IFD, every entry's data inside the file."""
    if len(data) < 8 or data[:2] not in (b"II", b"MM"):
        raise GamutError("not a TIFF file")
    order = "<" if data[:2] == b"II" else ">"
    (magic,) = struct.unpack_from(order + "H", data, 2)
    if magic == 42:
        offset_format, count_format, entry_size, inline = "I", "H", 12, 4
        (ifd,) = struct.unpack_from(order + "I", data, 4)
    elif magic == 43 and len(data) >= 16:
        offset_format, count_format, entry_size, inline = "Q", "Q", 20, 8
        (ifd,) = struct.unpack_from(order + "Q", data, 8)
    else:
        raise GamutError(f"TIFF has an unknown version ({magic})")
    head = struct.calcsize(count_format)
    if ifd < 8 or ifd + head > len(data):
        raise GamutError("TIFF's first image directory lies outside the file")
    (count,) = struct.unpack_from(order + count_format, data, ifd)
    if count == 0 or ifd + head + count * entry_size > len(data):
        raise GamutError(f"TIFF's first image directory claims {count} entries past the file")
    entries = {}
    for i in range(count):
        at = ifd + head + i * entry_size
        tag, kind = struct.unpack_from(order + "HH", data, at)
        (values,) = struct.unpack_from(order + offset_format, data, at + 4)
        value_at = at + 4 + struct.calcsize(offset_format)
        if kind not in TYPE_SIZES:
            raise GamutError(f"TIFF tag {tag} has an unknown type ({kind})")
        size = values * TYPE_SIZES[kind]
        if size > MAX_METADATA_BYTES:
            raise GamutError(f"TIFF tag {tag} claims {size:,} bytes of data")
        if size > inline:
            (value_at,) = struct.unpack_from(order + offset_format, data, value_at)
            if value_at < 8 or value_at + size > len(data):
                raise GamutError(f"TIFF tag {tag} points past the end of the file (truncated?)")
        if tag in entries and tag in STRUCTURE:
            raise GamutError(f"TIFF repeats tag {tag}, which decides how the pixels decode")
        entries.setdefault(tag, Entry(kind, values, data[value_at : value_at + size]))
    return order, entries  # another repeated tag: the first counts


def integers(
    order: str, entries: dict[int, Entry], tag: int, default: int | None = None
) -> np.ndarray:
    """An integer tag's values as int64 (a missing tag gives [default], or an error without)."""
    entry = entries.get(tag)
    if entry is None:
        if default is None:
            raise GamutError(f"TIFF lacks required tag {tag}")
        return np.array([default], np.int64)
    if entry.type not in INTEGER_FORMATS or entry.count == 0:
        raise GamutError(f"TIFF tag {tag} is not a list of integers")
    dtype = np.dtype(INTEGER_FORMATS[entry.type]).newbyteorder(order)
    return np.frombuffer(entry.data, dtype, entry.count).astype(np.int64)


def single(order: str, entries: dict[int, Entry], tag: int, default: int | None = None) -> int:
    """A tag that must hold exactly one integer (the image size, samples, strip rows, ...)."""
    values = integers(order, entries, tag, default)
    if len(values) != 1:
        raise GamutError(f"TIFF tag {tag} holds {len(values)} values where one is needed")
    return int(values[0])


@contextmanager
def tifffile_log() -> Iterator[list[str]]:
    """What tifffile logs inside the block, collected instead of reaching the app's log: it
    logs when it skips a tag it cannot read, so for us the file is malformed."""
    logger = logging.getLogger("tifffile")
    messages: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


_TAG_ERROR = re.compile(r"<tifffile\.TiffTag (\d+) @\d+> raised \w+\((.*)\)$")


def plain_log_message(message: str) -> str:
    """tifffile's "<tifffile.TiffTag 274 @118> raised ValueError('...')" as a plain phrase."""
    found = _TAG_ERROR.match(message.strip())
    if found is None:
        return one_line(message, 160)
    tag, detail = found.group(1), found.group(2).strip("'\"")
    return one_line(f"TIFF tag {tag} is unreadable ({detail})", 160)


def check_first_page(data: bytes) -> tuple[int, int]:
    """(width, height) of the first page once its structure is sound; GamutError otherwise."""
    order, entries = first_ifd(data)
    width, height = (single(order, entries, tag) for tag in (WIDTH, LENGTH))
    if width <= 0 or height <= 0:
        raise GamutError(f"TIFF is empty ({width}x{height} pixels)")
    samples = single(order, entries, SAMPLES, 1)
    bits = integers(order, entries, BITS, 1)
    if (
        not 1 <= samples <= 16
        or len(bits) not in (1, samples)
        or not (bits > 0).all()
        or (bits > 64).any()
    ):
        raise GamutError(f"TIFF has {samples} samples per pixel and {len(bits)} bit depths")
    planes = samples if single(order, entries, PLANAR, 1) == 2 else 1
    sample_bits = (samples // planes) * int(bits.max())  # bits per pixel in one plane
    if TILE_OFFSETS in entries or TILE_WIDTH in entries:
        tile_w, tile_h = (single(order, entries, tag) for tag in (TILE_WIDTH, TILE_LENGTH))
        if not (0 < tile_w <= 65536 and 0 < tile_h <= 65536) or tile_w % 16 or tile_h % 16:
            raise GamutError(f"TIFF tiles of {tile_w}x{tile_h} are invalid (multiples of 16)")
        count = -(-width // tile_w) * -(-height // tile_h)
        full = last = -(-tile_w * sample_bits // 8) * tile_h
        offsets, sizes = TILE_OFFSETS, TILE_BYTES
    else:
        rows = min(single(order, entries, ROWS_PER_STRIP, 2**32 - 1), height)
        if rows <= 0:
            raise GamutError("TIFF has zero rows per strip")
        count = -(-height // rows)
        full = -(-width * sample_bits // 8) * rows
        last = -(-width * sample_bits // 8) * (height - rows * (count - 1))
        offsets, sizes = STRIP_OFFSETS, STRIP_BYTES
    starts, lengths = integers(order, entries, offsets), integers(order, entries, sizes)
    if starts.size != count * planes or lengths.size != starts.size:
        needed = count * planes
        raise GamutError(f"TIFF lists {starts.size} image data blocks where {needed} are needed")
    if (starts < 8).any() or (lengths <= 0).any() or (starts + lengths > len(data)).any():
        raise GamutError("TIFF image data is missing or lies past the end of the file (truncated?)")
    if integers(order, entries, COMPRESSION, 1)[0] == 1:  # uncompressed: sizes are known, and
        need = np.full(count, full, np.int64)  # libraries zero-fill short blocks
        need[-1] = last
        if (lengths < np.tile(need, planes)).any():
            raise GamutError("TIFF image data is shorter than the image needs (truncated?)")
    return width, height
