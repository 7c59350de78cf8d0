"""JPEG XL header parsing and colour-encoding rewriting, checked on codestreams libjxl wrote.

imagecodecs (libjxl) writes the common fields; the rarer ones (orientation, intrinsic size,
tone mapping, extensions, upsampling weights) are checked by re-emitting a real header with
them and letting libjxl decode the result. No mocks: every check decodes real files.
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import imagecodecs
import numpy as np
import pytest

from gamut_onnx.errors import GamutError
from gamut_onnx.read import jxl_header
from gamut_onnx.read.jxl_bits import BitReader, BitWriter, find_codestream
from gamut_onnx.read.jxl_header import D65, PRIMARIES, read_header, set_colour_encoding

IMMICH = (
    Path(__file__).resolve().parents[2] / "shared/data/originals/immich-app_16bit-HDR-P3-nclx.jxl"
)
CORRUPT = "JPEG XL header is truncated or corrupt ("
SIZE = ((9, 1), (13, 1), (18, 1), (30, 1))  # SizeHeader's U32 distribution
PROPHOTO = ((0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001))
ADOBE = ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06))
D50 = (0.3457, 0.3585)


def _pixels(shape: tuple[int, ...], dtype, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.floating):
        return rng.random(shape).astype(dtype)
    return rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True, dtype=dtype)


def _rgb16(channels: int = 3) -> np.ndarray:
    return _pixels((13, 21, channels), np.uint16, seed=channels)


def _f16(value: float) -> int:
    return int(np.float16(value).view(np.uint16))


def _corrupt_error(call, *args, **kw) -> str:
    """The call must fail with a one-line GamutError in the agreed wording."""
    with pytest.raises(GamutError) as info:
        call(*args, **kw)
    message = str(info.value)
    assert message.startswith(CORRUPT) and "\n" not in message, message
    return message


# dtype, shape, lossless, extra encode options; then the expected bits, float, exponent bits,
# extra channels, alpha, xyb_encoded, colour space and transfer (imagecodecs tags integer
# 8-bit files sRGB and everything else linear sRGB).
ENCODED = [
    (np.uint8, (1, 1, 3), True, {}, 8, False, 0, 0, False, False, "RGB", "srgb"),
    (np.uint8, (5, 7, 4), True, {}, 8, False, 0, 1, True, False, "RGB", "srgb"),
    (np.uint8, (17, 300, 3), False, {}, 8, False, 0, 0, False, True, "RGB", "srgb"),
    (np.uint8, (17, 300, 4), False, {}, 8, False, 0, 1, True, True, "RGB", "srgb"),
    (np.uint8, (9, 11), True, {}, 8, False, 0, 0, False, False, "Grey", "srgb"),
    (np.uint8, (9, 11, 2), True, {}, 8, False, 0, 1, True, False, "Grey", "srgb"),
    (np.uint16, (1, 1, 3), True, {}, 16, False, 0, 0, False, False, "RGB", "linear"),
    (np.uint16, (7, 5, 4), True, {}, 16, False, 0, 1, True, False, "RGB", "linear"),
    (np.uint16, (300, 17, 3), False, {}, 16, False, 0, 0, False, True, "RGB", "linear"),
    (np.uint16, (9, 11), True, {}, 16, False, 0, 0, False, False, "Grey", "linear"),
    (np.uint16, (9, 11, 3), True, {"bitspersample": 10}, 10, False, 0, 0, False, False,
     "RGB", "linear"),
    (np.uint16, (9, 11, 3), True, {"bitspersample": 12}, 12, False, 0, 0, False, False,
     "RGB", "linear"),
    (np.uint16, (9, 11, 3), True, {"bitspersample": 14}, 14, False, 0, 0, False, False,
     "RGB", "linear"),
    (np.float32, (7, 5, 3), True, {}, 32, True, 8, 0, False, False, "RGB", "linear"),
    (np.float32, (16, 24, 4), False, {}, 32, True, 8, 1, True, True, "RGB", "linear"),
    (np.float16, (9, 11, 3), True, {}, 16, True, 5, 0, False, False, "RGB", "linear"),
    (np.uint8, (3, 9, 11), True, {"planar": True, "photometric": "minisblack"}, 8, False, 0,
     2, False, False, "Grey", "srgb"),
]  # fmt: skip


@pytest.mark.parametrize("case", ENCODED, ids=lambda case: f"{case[0].__name__}{case[1]}")
def test_read_header_of_imagecodecs_files(case):
    dtype, shape, lossless, options, bits, is_float, exponent, extra, alpha, xyb, space, tf = case
    planar = options.get("planar", False)
    data = imagecodecs.jpegxl_encode(_pixels(shape, dtype), lossless=lossless, **options)
    header = read_header(data)
    height, width = shape[1:3] if planar else shape[:2]
    assert (header.width, header.height) == (width, height)
    assert (header.bits_per_sample, header.float_sample) == (bits, is_float)
    assert header.exponent_bits == exponent
    assert (header.num_extra_channels, header.has_alpha) == (extra, alpha)
    assert not header.alpha_associated
    assert header.xyb_encoded == xyb
    assert (header.orientation, header.have_preview, header.have_animation) == (1, False, False)
    colour = header.colour
    assert not colour.want_icc
    assert (colour.colour_space, colour.white_name, colour.white) == (space, "d65", D65)
    if space == "RGB":
        assert (colour.primaries_name, colour.primaries) == ("srgb", PRIMARIES["srgb"])
    else:
        assert (colour.primaries_name, colour.primaries) == ("none", None)
    assert colour.transfer == tf
    assert 16 < colour.bit_start <= colour.bit_end <= header.headers_end_bit
    if not xyb and space == "RGB":
        rewritten = set_colour_encoding(data, primaries="srgb", white="d65", transfer=tf)
        if colour.bit_end - colour.bit_start > 1:  # spelled out, not all_default: same bits
            assert rewritten == data
        np.testing.assert_array_equal(
            imagecodecs.jpegxl_decode(rewritten), imagecodecs.jpegxl_decode(data)
        )


def test_read_header_large_and_animated():
    big = imagecodecs.jpegxl_encode(np.zeros((3000, 4000, 3), np.uint8), lossless=True, effort=1)
    header = read_header(big)
    assert (header.width, header.height, header.bits_per_sample) == (4000, 3000, 8)
    frames = _pixels((2, 9, 11, 3), np.uint8)
    header = read_header(imagecodecs.jpegxl_encode(frames, lossless=True))
    assert header.have_animation and (header.width, header.height) == (11, 9)


def test_read_header_all_default_metadata():
    """Lossy 8-bit RGB: libjxl writes ImageMetadata as one all_default bit."""
    header = read_header(imagecodecs.jpegxl_encode(_pixels((40, 48, 3), np.uint8), distance=1.0))
    assert header.xyb_encoded and header.bits_per_sample == 8 and not header.has_alpha
    assert header.colour.bit_start == header.colour.bit_end  # no ColourEncoding in the stream
    assert (header.colour.primaries_name, header.colour.transfer) == ("srgb", "srgb")


def test_read_header_real_p3_photo():
    if not IMMICH.exists():
        pytest.skip(f"{IMMICH} not available")
    header = read_header(IMMICH.read_bytes())
    assert (header.width, header.height, header.bits_per_sample) == (5667, 3685, 16)
    assert header.xyb_encoded and not header.has_alpha
    colour = header.colour
    assert (colour.primaries_name, colour.primaries) == ("p3", PRIMARIES["p3"])
    assert (colour.white_name, colour.white, colour.transfer) == ("d65", D65, "srgb")
    with pytest.raises(GamutError, match="jxlp"):
        set_colour_encoding(IMMICH.read_bytes(), primaries="p3", white="d65", transfer="srgb")


REWRITES = [
    ("p3", "d65", "srgb"),
    ("bt2020", "d65", "pq"),
    ("bt2020", "d65", "hlg"),
    (PROPHOTO, D50, 1.8),
    (ADOBE, "d65", 563 / 256),
    ("srgb", "d65", "linear"),
]


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("primaries, white, transfer", REWRITES)
def test_set_colour_encoding_round_trip(primaries, white, transfer, channels):
    pixels = _rgb16(channels)
    result = set_colour_encoding(
        imagecodecs.jpegxl_encode(pixels, lossless=True),
        primaries=primaries,
        white=white,
        transfer=transfer,
    )
    np.testing.assert_array_equal(imagecodecs.jpegxl_decode(result), pixels)
    header = read_header(result)
    assert header.has_alpha == (channels == 4) and header.bits_per_sample == 16
    colour = header.colour
    want_primaries = PRIMARIES[primaries] if isinstance(primaries, str) else primaries
    want_white = D65 if white == "d65" else white
    np.testing.assert_allclose(colour.primaries, want_primaries, rtol=0, atol=1e-6)
    np.testing.assert_allclose(colour.white, want_white, rtol=0, atol=1e-6)
    if isinstance(primaries, str):
        assert colour.primaries_name == primaries
    if isinstance(transfer, str):
        assert colour.transfer == transfer
    else:
        assert colour.transfer == pytest.approx(transfer, abs=1e-6)
    if importlib.util.find_spec("pillow_jxl") is not None:  # optional, never installed here
        import pillow_jxl  # noqa: F401
        from PIL import Image

        assert Image.open(io.BytesIO(result)).info.get("icc_profile")


def test_set_colour_encoding_keeps_animation_frames():
    frames = _pixels((2, 9, 11, 3), np.uint8)
    data = imagecodecs.jpegxl_encode(frames, lossless=True)  # 8-bit: one bare codestream
    result = set_colour_encoding(data, primaries=PROPHOTO, white=D50, transfer=1.8)
    np.testing.assert_array_equal(imagecodecs.jpegxl_decode(result), frames)
    assert read_header(result).have_animation and read_header(result).colour.white_name == "custom"
    split = imagecodecs.jpegxl_encode(frames.astype(np.uint16), lossless=True)  # jxlp boxes
    assert read_header(split).have_animation
    with pytest.raises(GamutError, match="jxlp"):
        set_colour_encoding(split, primaries=PROPHOTO, white=D50, transfer=1.8)


def _with_extra_fields(data: bytes, orientation: int) -> bytes:
    """Re-emit a bare codestream's headers with extra_fields: orientation, intrinsic size,
    non-default tone mapping, a 7-bit extension and custom 2x upsampling weights."""
    header = read_header(data)
    reader = BitReader(data)
    reader.bits(16)
    jxl_header._read_size(reader)
    size_end = reader.pos  # then ImageMetadata.all_default = 0, extra_fields = 0
    w = BitWriter()
    w.copy(reader, 0, size_end)
    w.bool(False)
    w.bool(True)  # extra_fields
    w.bits(3, orientation - 1)
    w.bool(True)  # intrinsic size 456x123
    w.bool(False)
    w.u32(123, *SIZE)
    w.bits(3, 0)
    w.u32(456, *SIZE)
    w.bool(False)  # no preview
    w.bool(False)  # no animation
    w.copy(reader, size_end + 2, header.colour.bit_end)  # bit depth .. colour encoding
    w.bool(False)  # tone mapping: 1000 nits, min 0.5, absolute, linear below 0
    for value in (1000, 0.5):
        w.bits(16, _f16(value))
    w.bool(False)
    w.bits(16, _f16(0))
    w.bits(2, 1)  # extensions = U64 1: one extension
    w.bits(4, 0)
    w.bits(2, 1)  # of U64 7 bits
    w.bits(4, 6)
    w.bits(7, 0b1010101)
    w.bool(False)  # CustomTransformData: custom_weights_mask 1, 15 F16 2x weights
    w.bits(3, 1)
    for i in range(15):
        w.bits(16, _f16(i / 100))
    return w.to_bytes() + data[(header.headers_end_bit + 7) // 8 :]


def test_rare_fields_agree_with_libjxl():
    pixels = _pixels((5, 7, 3), np.uint8)
    data = imagecodecs.jpegxl_encode(pixels, lossless=True)
    assert data[:2] == b"\xff\x0a"  # bare codestream
    exif_view = {1: pixels, 2: pixels[:, ::-1], 3: pixels[::-1, ::-1], 6: np.rot90(pixels, -1)}
    for orientation in range(1, 9):
        variant = _with_extra_fields(data, orientation)
        assert read_header(variant).orientation == orientation
        np.testing.assert_array_equal(
            imagecodecs.jpegxl_decode(variant, keeporientation=True), pixels
        )
        if orientation in exif_view:
            np.testing.assert_array_equal(
                imagecodecs.jpegxl_decode(variant), exif_view[orientation]
            )
    result = set_colour_encoding(variant, primaries="bt2020", white=D50, transfer="pq")
    np.testing.assert_array_equal(imagecodecs.jpegxl_decode(result, keeporientation=True), pixels)
    assert read_header(result).colour.transfer == "pq"
    assert read_header(result).headers_end_bit > read_header(variant).headers_end_bit


def test_set_colour_encoding_refuses():
    lossy = imagecodecs.jpegxl_encode(_rgb16(), lossless=False)
    with pytest.raises(GamutError, match="XYB"):
        set_colour_encoding(lossy, primaries="p3", white="d65", transfer="srgb")
    grey = imagecodecs.jpegxl_encode(_pixels((9, 11), np.uint16), lossless=True)
    with pytest.raises(GamutError, match="Grey"):
        set_colour_encoding(grey, primaries="p3", white="d65", transfer="srgb")
    jpeg = imagecodecs.jpegxl_encode_jpeg(imagecodecs.jpeg8_encode(_pixels((16, 16, 3), np.uint8)))
    with pytest.raises(GamutError, match="jxlp"):
        set_colour_encoding(jpeg, primaries="p3", white="d65", transfer="srgb")
    good = imagecodecs.jpegxl_encode(_rgb16(), lossless=True)
    for bad in (
        {"primaries": "adobe"},
        {"primaries": ((0.64, 0.33), (0.3, 0.6))},
        {"primaries": ((0.64, 0.33), (0.3, 0.6), (0.15, "x"))},
        {"white": "d50"},
        {"white": (0.3, float("nan"))},
        {"white": (5.0, 0.3)},
        {"white": (0.3457, 0.3585, 1.0)},
        {"transfer": "gamma"},
        {"transfer": 0.5},
        {"transfer": True},
    ):
        arguments = {"primaries": "p3", "white": "d65", "transfer": "srgb"} | bad
        with pytest.raises(GamutError):
            set_colour_encoding(good, **arguments)


def _metadata_start(w: BitWriter) -> None:
    """Signature, an 8x8 SizeHeader, ImageMetadata up to num_extra_channels (8-bit)."""
    w.bits(16, 0x0AFF)
    w.bool(True)  # small
    w.bits(5, 0)
    w.bits(3, 1)  # square
    w.bool(False)  # not all_default
    w.bool(False)  # no extra_fields
    w.bool(False)  # integer samples
    w.bits(2, 0)  # 8 bits
    w.bool(True)  # modular_16_bit_buffer_sufficient


def test_absurd_headers_are_refused():
    w = BitWriter()
    w.bits(16, 0x0AFF)
    w.bool(False)
    w.u32(1 << 30, *SIZE)
    w.bits(3, 7)  # width = 2 * height
    assert "2^30" in _corrupt_error(read_header, w.to_bytes() + bytes(64))
    w = BitWriter()
    _metadata_start(w)
    w.u32(300, (0, 0), (0, 1), (4, 2), (12, 1))
    assert "300 extra channels" in _corrupt_error(read_header, w.to_bytes() + bytes(64))
    w = BitWriter()
    _metadata_start(w)
    w.u32(1, (0, 0), (0, 1), (4, 2), (12, 1))
    w.bool(False)  # ExtraChannelInfo not all_default
    w.enum(0)  # alpha
    w.bool(False)
    w.bits(2, 0)  # 8 bits
    w.bits(2, 0)  # dim_shift 0
    w.u32(1000, (0, 0), (4, 0), (5, 16), (10, 48))  # a name longer than the file
    _corrupt_error(read_header, w.to_bytes() + b"name")
    for junk in (
        b"",
        b"\xff",
        b"\xff\x0a",
        b"GIF89a" + bytes(20),
        b"\x00\x00\x00\x0cJXL \r\n\x87\n",
    ):
        _corrupt_error(read_header, junk)
    box = b"\x00\x00\x00\x0cJXL \r\n\x87\n" + b"\xff\xff\xff\xffjxlc\xff\x0a"
    assert "claims" in _corrupt_error(read_header, box)


def test_truncated_and_bit_flipped_headers_fail_cleanly():
    rng = np.random.default_rng(2024)
    samples = [
        imagecodecs.jpegxl_encode(_pixels((5, 7, 4), np.uint8), lossless=True),
        imagecodecs.jpegxl_encode(_rgb16(4), lossless=True),
        imagecodecs.jpegxl_encode(_pixels((40, 48, 3), np.uint8), distance=1.0),
        imagecodecs.jpegxl_encode(_pixels((2, 9, 11, 3), np.uint8), lossless=True),
        imagecodecs.jpegxl_encode(
            _pixels((3, 9, 11), np.uint8), lossless=True, planar=True, photometric="minisblack"
        ),
        _with_extra_fields(imagecodecs.jpegxl_encode(_pixels((5, 7, 3), np.uint8)), 6),
    ]
    outcomes = {"ok": 0, "refused": 0}
    for sample in samples:
        header_end = find_codestream(sample).start + read_header(sample).headers_end_bit // 8 + 1
        cuts = [*range(header_end + 2), *rng.integers(0, len(sample), 20)]
        variants = [sample[:cut] for cut in cuts]
        for _ in range(80):  # flip 1 to 3 bits in the container boxes and headers
            flipped = bytearray(sample)
            for bit in rng.integers(0, 8 * header_end, rng.integers(1, 4)):
                flipped[bit // 8] ^= 1 << (bit % 8)
            variants.append(bytes(flipped))
        for variant in variants:
            try:
                read_header(variant)
                outcomes["ok"] += 1
            except GamutError as error:
                assert str(error).startswith(CORRUPT) and "\n" not in str(error), str(error)
                outcomes["refused"] += 1
            try:
                set_colour_encoding(variant, primaries="p3", white="d65", transfer="srgb")
            except GamutError as error:
                assert "\n" not in str(error)
    assert outcomes["ok"] > 100 and outcomes["refused"] > 100, outcomes  # both happen
