"""The layers under the JPEG XL headers: container boxes and LSB-first bit fields.

A JPEG XL file is a bare codestream or an ISOBMFF container (ISO/IEC 18181-2) holding it in a
jxlc box or in jxlp parts; the codestream headers (ISO/IEC 18181-1) are bit-packed fields with
variable-length integer codes. `jxl_header` reads them and re-emits them with one bundle
replaced. Every read is bounds-checked and raises GamutError, so a broken file never surfaces
as an IndexError or runs away.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from gamut_onnx.errors import GamutError

# A U32 distribution is (extra_bits, offset): Val(v) is (0, v), Bits(n) is (n, 0),
# BitsOffset(n, o) is (n, o). The 2-bit selector picks one of four.
Distribution = tuple[int, int]
ENUM = ((0, 0), (0, 1), (4, 2), (6, 18))  # Enum(...) fields are U32 with these four
CODESTREAM_SIGNATURE = b"\xff\x0a"
CONTAINER_SIGNATURE = b"\x00\x00\x00\x0cJXL \r\n\x87\n"


def corrupt(why: str) -> GamutError:
    """The one error for every malformed header, so callers print a single line."""
    return GamutError(f"JPEG XL header is truncated or corrupt ({why})")


class BitReader:
    """Reads fields LSB-first from data[start:end] without copying it."""

    def __init__(self, data: bytes | memoryview, start: int = 0, end: int | None = None) -> None:
        self._data = memoryview(data)
        self._start = start
        self._end = len(data) if end is None else end
        self.total_bits = 8 * (self._end - start)
        self.pos = 0  # bits consumed, counted from data[start]

    def bits(self, count: int) -> int:
        """u(count): an unsigned integer whose first bit read is its least significant."""
        if count == 0:
            return 0
        if self.pos + count > self.total_bits:
            raise corrupt(f"ends inside a field at byte {self.total_bits // 8}")
        first = self._start + (self.pos >> 3)
        shift = self.pos & 7
        chunk = self._data[first : first + ((shift + count + 7) >> 3)]
        self.pos += count
        return (int.from_bytes(chunk, "little") >> shift) & ((1 << count) - 1)

    def skip(self, count: int) -> None:
        if self.pos + count > self.total_bits:
            raise corrupt(f"skips {count} bits past the end at byte {self.total_bits // 8}")
        self.pos += count

    def bool(self) -> bool:
        return self.bits(1) == 1

    def u32(self, *distributions: Distribution) -> int:
        extra_bits, offset = distributions[self.bits(2)]
        return self.bits(extra_bits) + offset

    def u64(self) -> int:
        selector = self.bits(2)
        if selector == 0:
            return 0
        if selector == 1:
            return 1 + self.bits(4)
        if selector == 2:
            return 17 + self.bits(8)
        value, shift = self.bits(12), 12
        while self.bool():
            if shift == 60:
                return value | self.bits(4) << 60
            value |= self.bits(8) << shift
            shift += 8
        return value

    def f16(self) -> float:
        """IEEE half float; the format forbids infinities and NaNs."""
        raw = self.bits(16)
        exponent, mantissa = (raw >> 10) & 0x1F, raw & 0x3FF
        if exponent == 31:
            raise corrupt("F16 field holds an infinity or NaN")
        if exponent == 0:
            value = mantissa / 1024 / 16384
        else:
            value = math.ldexp(1 + mantissa / 1024, exponent - 15)
        return -value if raw >> 15 else value

    def enum(self, names: dict[int, str], what: str) -> str:
        code = self.u32(*ENUM)
        if code not in names:
            raise corrupt(f"{what} code {code} is not defined")
        return names[code]


class BitWriter:
    """Collects fields LSB-first in one integer; pads the last byte with zeros."""

    def __init__(self) -> None:
        self._value = 0
        self.pos = 0

    def bits(self, count: int, value: int) -> None:
        if not 0 <= value < 1 << count:
            raise ValueError(f"{value} does not fit in {count} bits")
        self._value |= int(value) << self.pos
        self.pos += count

    def bool(self, value: bool) -> None:
        self.bits(1, int(value))

    def u32(self, value: int, *distributions: Distribution) -> None:
        """Writes with the shortest selector that can hold value, as libjxl does."""
        fits = [
            (extra_bits, selector, offset)
            for selector, (extra_bits, offset) in enumerate(distributions)
            if offset <= value < offset + (1 << extra_bits)
        ]
        if not fits:
            raise ValueError(f"{value} has no U32 encoding in {distributions}")
        extra_bits, selector, offset = min(fits)
        self.bits(2, selector)
        self.bits(extra_bits, value - offset)

    def enum(self, code: int) -> None:
        self.u32(code, *ENUM)

    def copy(self, reader: BitReader, start: int, end: int) -> None:
        """Re-emits bits [start, end) of reader's data unchanged."""
        reader.pos = start
        self.bits(end - start, reader.bits(end - start))

    def to_bytes(self) -> bytes:
        return self._value.to_bytes((self.pos + 7) // 8, "little")


@dataclass(frozen=True)
class Codestream:
    """Where the codestream lies in a file."""

    data: bytes | memoryview
    start: int
    end: int
    box: tuple[int, int] | None  # start and end of the jxlc box in a container
    split: bool  # spread over jxlp boxes (then data is their joined payloads)
    has_jbrd: bool  # the container carries JPEG reconstruction data


def find_codestream(data: bytes) -> Codestream:
    """Locate the codestream in a bare file, a jxlc box or a sequence of jxlp boxes."""
    if data[:2] == CODESTREAM_SIGNATURE:
        return Codestream(data, 0, len(data), None, False, False)
    if data[:12] != CONTAINER_SIGNATURE:
        raise corrupt("no JPEG XL signature")
    view = memoryview(data)
    whole, parts, has_jbrd = None, [], False
    for kind, box_start, payload_start, box_end in _boxes(view):
        if kind == b"jxlc":
            if whole is not None or parts:
                raise corrupt("more than one codestream box")
            whole = (box_start, payload_start, box_end)
        elif kind == b"jxlp":
            if whole is not None:
                raise corrupt("both jxlc and jxlp boxes")
            if box_end - payload_start < 4:
                raise corrupt(f"jxlp box at byte {box_start} is too short")
            parts.append(view[payload_start + 4 : box_end])  # after the 4-byte part index
        has_jbrd |= kind == b"jbrd"
    if whole is not None:
        box_start, payload_start, box_end = whole
        return Codestream(data, payload_start, box_end, (box_start, box_end), False, has_jbrd)
    if parts:
        joined = b"".join(parts)
        return Codestream(joined, 0, len(joined), None, True, has_jbrd)
    raise corrupt("the container has no jxlc or jxlp box")


def _boxes(view: memoryview) -> Iterator[tuple[bytes, int, int, int]]:
    """Yield (type, box start, payload start, box end) for each ISOBMFF box."""
    pos = 0
    while pos < len(view):
        if len(view) - pos < 8:
            raise corrupt(f"box header cut off at byte {pos}")
        size = int.from_bytes(view[pos : pos + 4], "big")
        kind, header = bytes(view[pos + 4 : pos + 8]), 8
        if size == 1:
            if len(view) - pos < 16:
                raise corrupt(f"box header cut off at byte {pos}")
            size, header = int.from_bytes(view[pos + 8 : pos + 16], "big"), 16
        elif size == 0:
            size = len(view) - pos  # the last box runs to the end of the file
        if size < header or pos + size > len(view):
            raise corrupt(f"box {kind!r} at byte {pos} claims {size} bytes")
        yield kind, pos, pos + header, pos + size
        pos += size


def box_header(kind: bytes, payload_size: int) -> bytes:
    if payload_size + 8 < 1 << 32:
        return (payload_size + 8).to_bytes(4, "big") + kind
    return b"\x00\x00\x00\x01" + kind + (payload_size + 16).to_bytes(8, "big")
