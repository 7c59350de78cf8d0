"""JPEG XL colour encoding: read it from the header, or rewrite it in a lossless file.

imagecodecs decodes JPEG XL pixels but does not report the colour encoding, and its encoder
tags every file sRGB (8-bit) or linear sRGB (16-bit, float). This module parses the codestream
headers (ISO/IEC 18181-1: SizeHeader, ImageMetadata, CustomTransformData) far enough to
report the encoding, and re-emits them with a new ColourEncoding. The rewrite is only offered
for files whose pixels do not depend on it (xyb_encoded false, as imagecodecs' lossless output).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from gamut_onnx.errors import GamutError
from gamut_onnx.read.jxl_bits import (
    BitReader,
    BitWriter,
    Codestream,
    box_header,
    corrupt,
    find_codestream,
)

MAX_DIMENSION = 1 << 30
MAX_EXTRA_CHANNELS = 256

XY = tuple[float, float]
D65 = (0.3127, 0.3290)
WHITE_POINTS = {"d65": D65, "dci": (0.314, 0.351), "e": (1 / 3, 1 / 3)}
PRIMARIES = {
    "srgb": ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06)),
    "bt2020": ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046)),
    "p3": ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)),
}
TRANSFERS = ("bt709", "linear", "srgb", "pq", "dci", "hlg")

# Enum codes of the format (not contiguous: most follow the CICP / ITU-T H.273 code points).
_COLOUR_SPACES = {0: "RGB", 1: "Grey", 2: "XYB", 3: "Unknown"}
_WHITE_CODES = {1: "d65", 2: "custom", 10: "e", 11: "dci"}
_PRIMARY_CODES = {1: "srgb", 2: "custom", 9: "bt2020", 11: "p3"}
_TRANSFER_CODES = {1: "bt709", 2: "unknown", 8: "linear", 13: "srgb"}
_TRANSFER_CODES |= {16: "pq", 17: "dci", 18: "hlg"}
_INTENT_CODES = {0: "perceptual", 1: "relative", 2: "saturation", 3: "absolute"}
_EXTRA_CHANNEL_TYPES = {0: "alpha", 1: "depth", 2: "spot", 3: "mask", 4: "black", 5: "cfa"}
_EXTRA_CHANNEL_TYPES |= {code: "other" for code in range(6, 17)}  # thermal, reserved, optional

# U32 distributions, as (extra_bits, offset): see jxl_bits.
_SIZE = ((9, 1), (13, 1), (18, 1), (30, 1))
_PREVIEW_DIV8 = ((0, 16), (0, 32), (5, 1), (9, 33))
_PREVIEW = ((6, 1), (8, 65), (10, 321), (12, 1345))
_XY_FIELD = ((19, 0), (19, 1 << 19), (20, 1 << 20), (21, 1 << 21))
_RATIOS = {1: (1, 1), 2: (12, 10), 3: (4, 3), 4: (3, 2), 5: (16, 9), 6: (5, 4), 7: (2, 1)}
_GAMMA_SCALE = 10_000_000  # the 24-bit gamma field holds 1e7 / gamma
_MAX_GAMMA = 8192
_UPSAMPLING_WEIGHTS = ((1, 15), (2, 55), (4, 210))  # custom_weights_mask bit, F16 count


@dataclass(frozen=True)
class JxlColour:
    """The ColourEncoding bundle. Where want_icc is set, an ICC profile after the headers
    defines the colour instead, and names read "icc" with xy values None."""

    want_icc: bool
    colour_space: str  # "RGB" | "Grey" | "XYB" | "Unknown"
    white_name: str  # "d65" | "dci" | "e" | "custom" | "icc"
    white: XY | None  # CIE xy of the white point
    primaries_name: str  # "srgb" | "bt2020" | "p3" | "custom" | "none" (Grey, XYB) | "icc"
    primaries: tuple[XY, XY, XY] | None  # red, green, blue xy
    transfer: str | float  # a name in TRANSFERS, "unknown", "icc", or a gamma such as 2.2
    rendering_intent: str  # "perceptual" | "relative" | "saturation" | "absolute" | "icc"
    bit_start: int  # where the bundle starts and ends, in bits from the codestream's FF 0A
    bit_end: int


@dataclass(frozen=True, kw_only=True)
class JxlHeader:
    """What the codestream headers say about the image (defaults: ImageMetadata's own)."""

    width: int
    height: int
    bits_per_sample: int = 8
    float_sample: bool = False
    exponent_bits: int = 0  # 0 for integer samples
    num_extra_channels: int = 0
    has_alpha: bool = False
    alpha_associated: bool = False  # premultiplied; False when there is no alpha
    xyb_encoded: bool = True  # lossy XYB: decoders convert pixels to the colour encoding
    orientation: int = 1  # 1..8, as in Exif
    have_preview: bool = False
    have_animation: bool = False
    colour: JxlColour
    headers_end_bit: int  # end of the headers; an ICC stream or zero padding to a byte follows


def read_header(data: bytes) -> JxlHeader:
    """Parse a JPEG XL file (bare codestream or container) up to the end of its headers."""
    stream = find_codestream(data)
    return _parse(BitReader(stream.data, stream.start, stream.end))


def set_colour_encoding(
    data: bytes,
    *,
    primaries: str | tuple[XY, XY, XY],
    white: str | XY,
    transfer: str | float,
) -> bytes:
    """Return the file with a new ColourEncoding and every other bit and byte unchanged.

    primaries: "srgb", "bt2020", "p3" or ((rx, ry), (gx, gy), (bx, by)); white: "d65", "dci",
    "e" or (x, y); transfer: a name in TRANSFERS or a display gamma such as 2.2. Only files whose
    pixels do not depend on the encoding are accepted: not XYB-encoded, RGB, no ICC profile, no
    preview frame, and in a container a single jxlc box and no JPEG reconstruction data.
    """
    stream = find_codestream(data)
    reader = BitReader(stream.data, stream.start, stream.end)
    header = _parse(reader)
    _check_rewritable(header, stream)
    colour = header.colour
    end_bit = header.headers_end_bit
    end_byte = (end_bit + 7) // 8
    reader.pos = end_bit
    if reader.bits(8 * end_byte - end_bit):
        raise corrupt("padding after the headers is not zero")

    writer = BitWriter()
    writer.copy(reader, 0, colour.bit_start)
    _write_colour(writer, primaries, white, transfer, colour.rendering_intent)
    writer.copy(reader, colour.bit_end, end_bit)
    codestream = writer.to_bytes() + bytes(stream.data[stream.start + end_byte : stream.end])
    if stream.box is None:
        return codestream
    box_start, box_end = stream.box
    return b"".join(
        (data[:box_start], box_header(b"jxlc", len(codestream)), codestream, data[box_end:])
    )


def _check_rewritable(header: JxlHeader, stream: Codestream) -> None:
    """Refuse files where a new encoding would change the pixels or break other data."""
    cannot = "cannot set the JPEG XL colour encoding: "
    if stream.split:
        raise GamutError(cannot + "the codestream is split over jxlp boxes")
    if stream.has_jbrd:
        raise GamutError(cannot + "the file holds JPEG reconstruction data (jbrd box)")
    if header.xyb_encoded:
        raise GamutError(cannot + "the file is XYB-encoded (lossy), its pixels depend on it")
    if header.colour.want_icc:
        raise GamutError(cannot + "the file describes its colour with an ICC profile")
    if header.have_preview:
        raise GamutError(cannot + "the file has a preview frame")
    if header.colour.colour_space != "RGB":
        raise GamutError(cannot + f"the file is {header.colour.colour_space}, not RGB")


def _parse(r: BitReader) -> JxlHeader:
    """Signature, SizeHeader, ImageMetadata and CustomTransformData, in codestream order."""
    if r.bits(16) != 0x0AFF:
        raise corrupt("the codestream does not start with FF 0A")
    width, height = _read_size(r)
    if r.bool():  # ImageMetadata.all_default: 8-bit, XYB-encoded sRGB, nothing else
        colour = _default_colour(r.pos, r.pos)
        _skip_transform_data(r, xyb_encoded=True)
        return JxlHeader(width=width, height=height, colour=colour, headers_end_bit=r.pos)
    extra_fields = r.bool()
    orientation, have_preview, have_animation = 1, False, False
    if extra_fields:
        orientation = r.bits(3) + 1
        if r.bool():  # intrinsic size
            _read_size(r)
        have_preview = r.bool()
        if have_preview:
            _skip_preview_size(r)
        have_animation = r.bool()
        if have_animation:
            _skip_animation(r)
    bits, float_sample, exponent_bits = _read_bit_depth(r)
    r.bool()  # modular_16_bit_buffer_sufficient
    num_extra = r.u32((0, 0), (0, 1), (4, 2), (12, 1))
    if num_extra > MAX_EXTRA_CHANNELS:
        raise corrupt(f"{num_extra} extra channels, more than {MAX_EXTRA_CHANNELS}")
    extra = [_read_extra_channel(r) for _ in range(num_extra)]
    alphas = [associated for kind, associated in extra if kind == "alpha"]
    xyb_encoded = r.bool()
    colour = _read_colour(r)
    if extra_fields:
        _skip_tone_mapping(r)
    _skip_extensions(r)
    _skip_transform_data(r, xyb_encoded)
    return JxlHeader(
        width=width,
        height=height,
        bits_per_sample=bits,
        float_sample=float_sample,
        exponent_bits=exponent_bits,
        num_extra_channels=num_extra,
        has_alpha=bool(alphas),
        alpha_associated=bool(alphas) and alphas[0],
        xyb_encoded=xyb_encoded,
        orientation=orientation,
        have_preview=have_preview,
        have_animation=have_animation,
        colour=colour,
        headers_end_bit=r.pos,
    )


def _read_size(r: BitReader) -> tuple[int, int]:
    small = r.bool()
    height = (r.bits(5) + 1) * 8 if small else r.u32(*_SIZE)
    ratio = r.bits(3)
    if ratio:
        numerator, denominator = _RATIOS[ratio]
        width = height * numerator // denominator
    else:
        width = (r.bits(5) + 1) * 8 if small else r.u32(*_SIZE)
    if width > MAX_DIMENSION or height > MAX_DIMENSION:
        raise corrupt(f"image size {width}x{height} is beyond 2^30")
    return width, height


def _skip_preview_size(r: BitReader) -> None:
    distribution = _PREVIEW_DIV8 if r.bool() else _PREVIEW
    r.u32(*distribution)
    if r.bits(3) == 0:
        r.u32(*distribution)


def _skip_animation(r: BitReader) -> None:
    r.u32((0, 100), (0, 1000), (10, 1), (30, 1))  # ticks per second, numerator
    r.u32((0, 1), (0, 1001), (8, 1), (10, 1))  # and denominator
    r.u32((0, 0), (3, 0), (16, 0), (32, 0))  # loop count
    r.bool()  # have_timecodes


def _read_bit_depth(r: BitReader) -> tuple[int, bool, int]:
    if r.bool():
        bits = r.u32((0, 32), (0, 16), (0, 24), (6, 1))
        exponent_bits = r.bits(4) + 1
        if not 2 <= exponent_bits <= 8 or not 2 <= bits - exponent_bits - 1 <= 23:
            raise corrupt(f"float samples of {bits} bits with {exponent_bits} exponent bits")
        return bits, True, exponent_bits
    bits = r.u32((0, 8), (0, 10), (0, 12), (6, 1))
    if bits > 31:
        raise corrupt(f"integer samples of {bits} bits")
    return bits, False, 0


def _read_extra_channel(r: BitReader) -> tuple[str, bool]:
    """ExtraChannelInfo: returns its type and, for alpha, whether it is premultiplied."""
    if r.bool():  # all_default: 8-bit unassociated alpha
        return "alpha", False
    kind = r.enum(_EXTRA_CHANNEL_TYPES, "extra channel type")
    _read_bit_depth(r)
    if r.u32((0, 0), (0, 3), (0, 4), (3, 1)) > 3:
        raise corrupt("extra channel dim_shift beyond 3")
    r.skip(8 * r.u32((0, 0), (4, 0), (5, 16), (10, 48)))  # the channel's name
    associated = kind == "alpha" and r.bool()
    if kind == "spot":
        for _ in range(4):  # red, green, blue, solidity
            r.f16()
    if kind == "cfa":
        r.u32((0, 1), (2, 0), (4, 3), (8, 19))
    return kind, associated


def _default_colour(start: int, end: int) -> JxlColour:
    return JxlColour(
        False, "RGB", "d65", D65, "srgb", PRIMARIES["srgb"], "srgb", "relative", start, end
    )


def _read_colour(r: BitReader) -> JxlColour:
    start = r.pos
    if r.bool():  # all_default
        return _default_colour(start, r.pos)
    want_icc = r.bool()
    space = r.enum(_COLOUR_SPACES, "colour space")
    if want_icc:
        return JxlColour(True, space, "icc", None, "icc", None, "icc", "icc", start, r.pos)
    white_name, white = "d65", D65  # XYB implies D65
    if space != "XYB":
        white_name = r.enum(_WHITE_CODES, "white point")
        white = _read_xy(r) if white_name == "custom" else WHITE_POINTS[white_name]
    primaries_name, primaries = "none", None
    if space not in ("Grey", "XYB"):
        primaries_name = r.enum(_PRIMARY_CODES, "primaries")
        if primaries_name == "custom":
            primaries = (_read_xy(r), _read_xy(r), _read_xy(r))
        else:
            primaries = PRIMARIES[primaries_name]
    transfer: str | float = 3.0  # XYB implies a cube-root curve
    if space != "XYB":
        have_gamma = r.bool()
        transfer = _read_gamma(r) if have_gamma else r.enum(_TRANSFER_CODES, "transfer function")
    intent = r.enum(_INTENT_CODES, "rendering intent")
    return JxlColour(
        False, space, white_name, white, primaries_name, primaries, transfer, intent, start, r.pos
    )


def _read_xy(r: BitReader) -> XY:
    """Customxy: two signed integers in millionths."""
    x, y = r.u32(*_XY_FIELD), r.u32(*_XY_FIELD)
    return _unpack_signed(x) / 1e6, _unpack_signed(y) / 1e6


def _unpack_signed(value: int) -> int:
    return -((value + 1) >> 1) if value & 1 else value >> 1


def _read_gamma(r: BitReader) -> float:
    stored = r.bits(24)
    if stored > _GAMMA_SCALE or stored * _MAX_GAMMA < _GAMMA_SCALE:
        raise corrupt(f"gamma field {stored} out of range")
    return _GAMMA_SCALE / stored


def _skip_tone_mapping(r: BitReader) -> None:
    if r.bool():  # all_default
        return
    intensity_target, min_nits, relative, linear_below = r.f16(), r.f16(), r.bool(), r.f16()
    valid = intensity_target > 0 and 0 <= min_nits <= intensity_target and linear_below >= 0
    if not valid or (relative and linear_below > 1):
        raise corrupt("tone mapping values out of range")


def _skip_extensions(r: BitReader) -> None:
    """Extensions: a bit mask, then one bit count per set bit; we skip them all."""
    present = r.u64()
    r.skip(sum(r.u64() for bit in range(64) if present >> bit & 1))


def _skip_transform_data(r: BitReader, xyb_encoded: bool) -> None:
    """CustomTransformData: opsin matrix (XYB only) and upsampling weights, all F16."""
    if r.bool():  # all_default
        return
    if xyb_encoded and not r.bool():  # OpsinInverseMatrix: 9 + 3 + 4 values
        for _ in range(16):
            r.f16()
    mask = r.bits(3)
    for bit, count in _UPSAMPLING_WEIGHTS:
        if mask & bit:
            for _ in range(count):
                r.f16()


def _write_colour(
    w: BitWriter, primaries: object, white: object, transfer: object, intent: str
) -> None:
    """A ColourEncoding for RGB without ICC: white point, primaries, transfer, intent."""
    w.bool(False)  # all_default
    w.bool(False)  # want_icc
    w.enum(0)  # RGB
    if isinstance(white, str):
        w.enum(_code(_WHITE_CODES, white, "white point", WHITE_POINTS))
    else:
        w.enum(2)
        _write_xy(w, white, "white point")
    if isinstance(primaries, str):
        w.enum(_code(_PRIMARY_CODES, primaries, "primaries", PRIMARIES))
    else:
        w.enum(2)
        if not isinstance(primaries, (tuple, list)) or len(primaries) != 3:
            raise GamutError(f"primaries must be a name or three (x, y) pairs, not {primaries!r}")
        for xy in primaries:
            _write_xy(w, xy, "primary")
    if isinstance(transfer, str):
        w.bool(False)
        w.enum(_code(_TRANSFER_CODES, transfer, "transfer", TRANSFERS))
    else:
        w.bool(True)
        w.bits(24, _gamma_field(transfer))
    w.enum(_code(_INTENT_CODES, intent, "rendering intent", _INTENT_CODES.values()))


def _code(codes: dict[int, str], name: str, what: str, allowed) -> int:
    if name not in allowed:
        raise GamutError(f"unknown {what} '{name}': use one of {', '.join(allowed)}")
    return next(code for code, known in codes.items() if known == name)


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _write_xy(w: BitWriter, xy: object, what: str) -> None:
    """Customxy: signed millionths; |x| and |y| below 2 fit its largest code."""
    if not isinstance(xy, (tuple, list)) or len(xy) != 2 or not all(map(_is_real, xy)):
        raise GamutError(f"a {what} must be an (x, y) pair of numbers, not {xy!r}")
    for value in map(float, xy):
        if not abs(value) < 2:  # also refuses NaN and infinities
            raise GamutError(f"{what} coordinate {value} is outside what JPEG XL can store")
        millionths = round(value * 1e6)
        w.u32(2 * millionths if millionths >= 0 else -2 * millionths - 1, *_XY_FIELD)


def _gamma_field(gamma: object) -> int:
    """1e7 / gamma in 24 bits; the format allows gammas from 1 to 8192."""
    if not _is_real(gamma) or not 1 <= float(gamma) <= _MAX_GAMMA:
        raise GamutError(f"transfer must be a name in {TRANSFERS} or a gamma in [1, 8192]")
    return round(_GAMMA_SCALE / float(gamma))
