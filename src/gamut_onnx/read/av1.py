"""What an AV1 bitstream says about its frames before any decoder sees it: the sequence
header's coded size, bit depth, chroma layout and matrix, and how many frames follow (AV1
specification, sections 5.3 OBU syntax and 5.5 sequence header). An AVIF's `ispe` box is only
the container's claim; decoders allocate what the sequence header says, and some scale one to
the other, so both are read and compared before decoding.

The input is untrusted: every read is bounds-checked and every failure is a one-line
GamutError.
"""

from __future__ import annotations

from dataclasses import dataclass

from gamut_onnx.errors import GamutError

OBU_SEQUENCE_HEADER = 1
OBU_FRAME_HEADER = 3
OBU_FRAME = 6
OBU_PADDING = 15
MAX_OBUS = 4096


@dataclass(frozen=True)
class SequenceHeader:
    profile: int
    width: int  # max_frame_width_minus_1 + 1: no frame of the stream is larger
    height: int
    bit_depth: int
    monochrome: bool
    subsampling: tuple[int, int]  # (x, y): (0, 0) is 4:4:4
    matrix: int  # H.273 matrix_coefficients (2: unspecified)
    full_range: bool


@dataclass(frozen=True)
class Av1Stream:
    header: SequenceHeader
    frames: int  # frame and frame-header OBUs


class _Bits:
    """Big-endian bit reader over bytes, failing past the end."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def f(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self.pos >> 3
            if byte >= len(self.data):
                raise GamutError("AV1 sequence header is cut short")
            value = (value << 1) | ((self.data[byte] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def uvlc(self) -> int:
        zeros = 0
        while not self.f(1):
            zeros += 1
            if zeros >= 32:
                raise GamutError("AV1 sequence header has an over-long code")
        return self.f(zeros) + (1 << zeros) - 1


def _leb128(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for i in range(8):
        if pos + i >= len(data):
            raise GamutError("AV1 OBU size is cut short")
        byte = data[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, pos + i + 1
    raise GamutError("AV1 OBU size is over-long")


def _operating_points(bits: _Bits) -> None:
    """Skip timing, decoder model and operating points (not a reduced still header)."""
    decoder_model = False
    buffer_delay_length = 0
    if bits.f(1):  # timing_info_present_flag
        bits.f(32), bits.f(32)
        if bits.f(1):  # equal_picture_interval
            bits.uvlc()
        decoder_model = bool(bits.f(1))
        if decoder_model:
            buffer_delay_length = bits.f(5) + 1
            bits.f(32), bits.f(5), bits.f(5)
    display_delay = bits.f(1)
    for _ in range(bits.f(5) + 1):  # operating_points_cnt_minus_1
        bits.f(12)
        if bits.f(5) > 7:  # seq_level_idx
            bits.f(1)
        if decoder_model and bits.f(1):
            bits.f(buffer_delay_length), bits.f(buffer_delay_length), bits.f(1)
        if display_delay and bits.f(1):
            bits.f(4)


def _tools(bits: _Bits, reduced: bool) -> None:
    """Skip the coding-tool flags between the frame size and the colour config."""
    if not reduced and bits.f(1):  # frame_id_numbers_present_flag
        bits.f(4), bits.f(3)
    bits.f(3)  # use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
    if not reduced:
        bits.f(4)  # interintra, masked compound, warped motion, dual filter
        order_hint = bits.f(1)
        if order_hint:
            bits.f(2)  # jnt_comp, ref_frame_mvs
        screen_content = 2 if bits.f(1) else bits.f(1)  # choose, else force
        if screen_content and not bits.f(1):  # seq_choose_integer_mv
            bits.f(1)
        if order_hint:
            bits.f(3)
    bits.f(3)  # enable_superres, enable_cdef, enable_restoration


def sequence_header(payload: bytes) -> SequenceHeader:
    """Parse a sequence header OBU's payload (through its colour config)."""
    bits = _Bits(payload)
    profile = bits.f(3)
    if profile > 2:
        raise GamutError(f"AV1 sequence header has profile {profile}")
    bits.f(1)  # still_picture
    reduced = bool(bits.f(1))
    if reduced:
        bits.f(5)  # seq_level_idx[0]
    else:
        _operating_points(bits)
    width_bits, height_bits = bits.f(4) + 1, bits.f(4) + 1
    width, height = bits.f(width_bits) + 1, bits.f(height_bits) + 1
    _tools(bits, reduced)
    high = bits.f(1)
    depth = (12 if bits.f(1) else 10) if profile == 2 and high else (10 if high else 8)
    mono = False if profile == 1 else bool(bits.f(1))
    primaries, transfer, matrix = 2, 2, 2
    if bits.f(1):  # color_description_present_flag
        primaries, transfer, matrix = bits.f(8), bits.f(8), bits.f(8)
    if mono:
        full, subsampling = bool(bits.f(1)), (1, 1)
    elif (primaries, transfer, matrix) == (1, 13, 0):
        full, subsampling = True, (0, 0)
    else:
        full = bool(bits.f(1))
        if profile == 0:
            subsampling = (1, 1)
        elif profile == 1:
            subsampling = (0, 0)
        elif depth == 12:
            x = bits.f(1)
            subsampling = (x, bits.f(1) if x else 0)
        else:
            subsampling = (1, 0)
    return SequenceHeader(profile, width, height, depth, mono, subsampling, matrix, full)


def read_stream(data: bytes) -> Av1Stream:
    """The sequence header and frame count of an AV1 OBU stream (an AVIF item's data). Every
    OBU must carry its size and the sizes must add up to the data exactly."""
    pos, header, frames = 0, None, 0
    for _ in range(MAX_OBUS):
        if pos == len(data):
            break
        first = data[pos]
        kind, extension, has_size = (first >> 3) & 15, (first >> 2) & 1, (first >> 1) & 1
        if first & 0x80 or not has_size:
            raise GamutError("AV1 data has an OBU without a size (or a forbidden bit)")
        size, start = _leb128(data, pos + 1 + extension)
        end = start + size
        if end > len(data):
            raise GamutError("AV1 data has an OBU that runs past the item's end")
        if kind == OBU_SEQUENCE_HEADER:
            if header is not None:
                raise GamutError("AV1 data has a second sequence header")
            header = sequence_header(data[start:end])
        elif kind in (OBU_FRAME, OBU_FRAME_HEADER):
            frames += 1
        pos = end
    else:
        raise GamutError(f"AV1 data has more than {MAX_OBUS} OBUs")
    if header is None:
        raise GamutError("AV1 data has no sequence header")
    return Av1Stream(header, frames)
