"""Carrier files (PNG, TIFF) and restored TIFFs, written and read back as real files."""

from __future__ import annotations

import struct
import zlib

import imagecodecs
import numpy as np
import pytest
import tifffile
from PIL import Image

from gamut_onnx.codec import decode
from gamut_onnx.colour import romm_encode
from gamut_onnx.colour.icc import PROPHOTO_ICC, SRGB_ICC
from gamut_onnx.container import png
from gamut_onnx.container.carrier import (
    LEGACY_PNG_BLOB_CHUNK,
    LEGACY_PNG_MAP_CHUNK,
    PNG_BLOB_CHUNK,
    PNG_MAP_CHUNK,
    carrier_format_for,
    decode_carrier,
    encode_carrier,
    read_carrier,
    write_carrier,
)
from gamut_onnx.errors import GamutError
from gamut_onnx.write import write_restored_tiff

RNG = np.random.default_rng(7)
SRGB8 = RNG.integers(0, 256, (37, 53, 3), dtype=np.uint8)
ALPHA = RNG.integers(0, 256, (37, 53), dtype=np.uint8)
BLOB = RNG.bytes(10_000)
SUFFIX = {"png": ".png", "tiff": ".tif"}


def _rgba(srgb8: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    return srgb8 if alpha is None else np.dstack([srgb8, alpha])


@pytest.mark.parametrize("fmt", ["png", "tiff"])
@pytest.mark.parametrize("alpha", [None, ALPHA], ids=["rgb", "rgba"])
@pytest.mark.parametrize("blob", [None, BLOB], ids=["plain", "blob"])
def test_round_trip(tmp_path, fmt, alpha, blob):
    path = tmp_path / f"c{SUFFIX[fmt]}"
    write_carrier(path, SRGB8, alpha, blob)
    c = read_carrier(path)
    assert c.format == fmt
    assert c.srgb8.dtype == np.uint8 and np.array_equal(c.srgb8, SRGB8)
    assert (c.alpha is None) if alpha is None else np.array_equal(c.alpha, alpha)
    assert c.blob == blob
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


@pytest.mark.parametrize("fmt", ["png", "tiff"])
@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1)])
def test_tiny_images(fmt, shape):
    srgb8 = RNG.integers(0, 256, (*shape, 3), dtype=np.uint8)
    c = decode_carrier(encode_carrier(fmt, srgb8, None, b"x"))
    assert np.array_equal(c.srgb8, srgb8) and c.blob == b"x"


def test_png_chunk_order_and_colorimetry():
    types = [t for t, _ in png.iter_chunks(encode_carrier("png", SRGB8, None, BLOB))]
    assert types[0] == b"IHDR" and types[-1] == b"IEND"
    assert types.index(PNG_BLOB_CHUNK) < types.index(b"IDAT")
    assert types.count(PNG_BLOB_CHUNK) == 1
    for ctype in (b"sRGB", b"gAMA", b"cHRM"):
        assert types.index(ctype) < types.index(b"IDAT")


@pytest.mark.parametrize("name", [PNG_BLOB_CHUNK, PNG_MAP_CHUNK])
def test_png_chunk_name_bits(name):
    """Ancillary, private, reserved bit clear and safe-to-copy, so that editors which re-encode
    the pixels (pngcrush) keep the model; the legacy names were unsafe-to-copy."""
    ancillary, private, reserved, safe_to_copy = (bool(b & 0x20) for b in name)
    assert ancillary and private and not reserved and safe_to_copy
    legacy = {PNG_BLOB_CHUNK: LEGACY_PNG_BLOB_CHUNK, PNG_MAP_CHUNK: LEGACY_PNG_MAP_CHUNK}[name]
    assert legacy[:3] == name[:3] and not legacy[3] & 0x20


def test_legacy_chunk_name_is_read_and_both_names_are_ambiguous():
    old = decode_carrier(_png_with([(LEGACY_PNG_BLOB_CHUNK, BLOB)]))
    assert old.blob == BLOB and old.model_damage is None
    both = decode_carrier(_png_with([(LEGACY_PNG_BLOB_CHUNK, BLOB), (PNG_BLOB_CHUNK, BLOB)]))
    assert both.blob is None and "both gmLP and gmLp" in both.model_damage
    with pytest.raises(GamutError, match="both gmLP and gmLp"):
        decode(both, provider="cpu")


def test_png_overhead_is_chunks_only():
    bare = imagecodecs.png_encode(SRGB8, level=png.PNG_LEVEL)
    carrier = encode_carrier("png", SRGB8, None, BLOB)
    assert len(carrier) - len(bare) == 13 + 16 + 44 + 12 + len(BLOB)


@pytest.mark.parametrize("fmt", ["png", "tiff"])
@pytest.mark.parametrize("alpha", [None, ALPHA], ids=["rgb", "rgba"])
def test_pillow_sees_a_plain_srgb_image(tmp_path, fmt, alpha):
    path, plain = tmp_path / f"c{SUFFIX[fmt]}", tmp_path / f"plain{SUFFIX[fmt]}"
    write_carrier(path, SRGB8, alpha, BLOB)
    Image.fromarray(_rgba(SRGB8, alpha)).save(plain)
    with Image.open(path) as im, Image.open(plain) as ref:
        assert im.mode == ("RGB" if alpha is None else "RGBA")
        assert np.array_equal(np.asarray(im), np.asarray(ref))
        assert np.array_equal(np.asarray(im), _rgba(SRGB8, alpha))
        if fmt == "tiff":
            assert im.info["icc_profile"] == SRGB_ICC


def test_tifffile_reads_tiff_carrier(tmp_path):
    path = tmp_path / "c.tiff"
    write_carrier(path, SRGB8, ALPHA, BLOB)
    assert np.array_equal(tifffile.imread(path), _rgba(SRGB8, ALPHA))
    assert read_carrier(path).icc == SRGB_ICC


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_resaved_by_another_tool_has_no_blob(tmp_path, suffix):
    path = tmp_path / f"pil{suffix}"
    Image.fromarray(_rgba(SRGB8, ALPHA)).save(path)
    c = read_carrier(path)
    assert c.blob is None and np.array_equal(c.srgb8, SRGB8) and np.array_equal(c.alpha, ALPHA)


@pytest.mark.parametrize("alpha", [None, ALPHA], ids=["rgb", "rgba"])
def test_restored_tiff(tmp_path, alpha):
    x = RNG.uniform(-0.1, 1.1, (37, 53, 3)).astype(np.float32)
    x[0, :8, 0] = [0.0, 1e-4, 1e-3, 1.0 / 512, 0.002, 0.5, 1.0, 1.0 - 1e-6]
    path = tmp_path / "out.tif"
    write_restored_tiff(path, x, alpha)
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        got = page.asarray()
        assert page.bitspersample == 16 and page.dtype == np.uint16
        assert page.tags[34675].value == PROPHOTO_ICC
    want = np.rint(romm_encode(x) * 65535.0)
    assert np.abs(got[..., :3].astype(np.int64) - want).max() <= 1
    if alpha is not None:
        assert np.array_equal(got[..., 3], alpha.astype(np.uint16) * 257)
    else:
        assert got.shape[2] == 3


def test_restored_tiff_rejects_nan_and_png_suffix(tmp_path):
    x = np.full((4, 4, 3), np.nan, np.float32)
    with pytest.raises(GamutError, match="NaN"):
        write_restored_tiff(tmp_path / "out.tif", x, None)
    with pytest.raises(GamutError, match=r"\.tif"):
        write_restored_tiff(tmp_path / "out.png", np.zeros((4, 4, 3), np.float32), None)
    assert list(tmp_path.iterdir()) == []


def _png_with(chunks: list[tuple[bytes, bytes]], pixels=SRGB8) -> bytes:
    return png.encode_png(pixels, chunks)


def test_bad_crc_of_the_model_chunk_loses_the_model_not_the_photo():
    data = bytearray(encode_carrier("png", SRGB8, None, BLOB))
    data[data.index(PNG_BLOB_CHUNK) + 100] ^= 0xFF
    found = decode_carrier(bytes(data), "x.png")
    assert found.blob is None and np.array_equal(found.srgb8, SRGB8)
    with pytest.raises(GamutError, match="gmLp has a bad CRC"):
        decode(found, provider="cpu")
    plain = decode(found, provider="cpu", fallback=True)
    assert not plain.restored and len(plain.warnings) == 1
    assert plain.warnings[0].startswith("damaged gamut-onnx model ignored (PNG chunk gmLp")


@pytest.mark.parametrize("fmt", ["png", "tiff"])
def test_truncated(fmt):
    data = encode_carrier(fmt, SRGB8, None, BLOB)
    with pytest.raises(GamutError, match="truncated"):
        decode_carrier(data[: len(data) // 2], "x")


def test_corrupt_idat_is_gamut_error():
    data = bytearray(encode_carrier("png", SRGB8, None, None))
    start = data.index(b"IDAT") + 4
    data[start : start + 50] = bytes(50)
    length = struct.unpack(">I", data[start - 8 : start - 4])[0]
    crc = png.make_chunk(b"IDAT", bytes(data[start : start + length]))[-4:]
    data[start + length : start + length + 4] = crc
    with pytest.raises(GamutError, match="corrupt"):
        decode_carrier(bytes(data), "x.png")


@pytest.mark.parametrize(
    ("pixels", "keyword"),
    [
        (np.zeros((4, 4, 3), np.uint16), "16-bit"),
        (np.zeros((4, 4), np.uint8), "grayscale"),
    ],
)
def test_wrong_kind_of_png(pixels, keyword):
    with pytest.raises(GamutError, match=keyword):
        decode_carrier(imagecodecs.png_encode(pixels), "x.png")


def test_palette_png(tmp_path):
    path = tmp_path / "p.png"
    Image.fromarray(SRGB8).convert("P").save(path)
    with pytest.raises(GamutError, match="palette"):
        read_carrier(path)


def test_two_blob_chunks():
    data = _png_with([(PNG_BLOB_CHUNK, b"a"), (PNG_BLOB_CHUNK, b"b")])
    with pytest.raises(GamutError, match="2 gmLp"):
        decode(decode_carrier(data), provider="cpu")


@pytest.mark.parametrize(
    ("pixels", "keyword"),
    [(np.zeros((4, 4, 3), np.uint16), "16-bit"), (np.zeros((4, 4), np.uint8), "RGB")],
)
def test_wrong_kind_of_tiff(tmp_path, pixels, keyword):
    path = tmp_path / "x.tif"
    tifffile.imwrite(path, pixels)
    with pytest.raises(GamutError, match=keyword):
        read_carrier(path)


def test_not_an_image_missing_file_and_extension(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(b"BM not really a bitmap")
    with pytest.raises(GamutError, match="not a PNG, TIFF or JPEG"):
        read_carrier(path)
    with pytest.raises(GamutError, match="no such file"):
        read_carrier(tmp_path / "missing.png")
    with pytest.raises(GamutError, match="unsupported carrier extension '.bmp'"):
        carrier_format_for("x.bmp")
    assert carrier_format_for("X.TIFF") == "tiff"


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_failed_write_leaves_nothing(tmp_path, suffix):
    path = tmp_path / f"c{suffix}"
    with pytest.raises(GamutError, match="uint8"):
        write_carrier(path, SRGB8.astype(np.float64), None, BLOB)
    with pytest.raises(GamutError, match="alpha"):
        write_carrier(path, SRGB8, ALPHA[:-1], BLOB)
    assert list(tmp_path.iterdir()) == []


def _png_file(width: int, height: int, raw: bytes, interlace: int = 0) -> bytes:
    from gamut_onnx.container.png import PNG_SIGNATURE, make_chunk

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, interlace)
    chunks = [(b"IHDR", ihdr), (b"IDAT", zlib.compress(raw)), (b"IEND", b"")]
    return PNG_SIGNATURE + b"".join(make_chunk(t, p) for t, p in chunks)


def test_interlaced_png_carriers_decode_exactly():
    """Adam7 image data is seven sub-images; the size check must count them right."""
    rng = np.random.default_rng(4)
    pixels = rng.integers(0, 256, (13, 11, 3), dtype=np.uint8)
    raw = b""
    for col, dcol, row, drow in [(0, 8, 0, 8), (4, 8, 0, 8), (0, 4, 4, 8), (2, 4, 0, 4),
                                 (0, 2, 2, 4), (1, 2, 0, 2), (0, 1, 1, 2)]:  # fmt: skip
        sub = pixels[row::drow, col::dcol]
        if sub.size:
            raw += b"".join(b"\x00" + line.tobytes() for line in sub)
    carrier = decode_carrier(_png_file(11, 13, raw, interlace=1), "adam7.png")
    np.testing.assert_array_equal(carrier.srgb8, pixels)


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"\x00" + bytes(12), "truncated"),  # one row of a 4-row image
        (bytes(4 * 13 + 5), "longer than"),
    ],
)
def test_png_image_data_must_match_the_header(raw, message):
    with pytest.raises(GamutError, match=message):
        decode_carrier(_png_file(4, 4, raw), "bad.png")


def test_png_header_methods_must_be_the_standard_ones():
    data = bytearray(_png_file(4, 4, b"\x00" * 13 * 4))
    data[8 + 8 + 12] = 2  # interlace method 2 does not exist
    data[8 + 8 + 13 : 8 + 8 + 17] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    with pytest.raises(GamutError, match="unknown methods"):
        decode_carrier(bytes(data), "x.png")


def _uncompressed_tiff(strip_bytes: int) -> bytes:
    """A 4x4 RGB TIFF, one uncompressed strip whose byte count says `strip_bytes`."""
    import io

    buf = io.BytesIO()
    tifffile.imwrite(buf, np.zeros((4, 4, 3), np.uint8), photometric="rgb")
    data = bytearray(buf.getvalue())
    count = struct.unpack_from("<H", data, struct.unpack_from("<I", data, 4)[0])[0]
    ifd = struct.unpack_from("<I", data, 4)[0]
    for i in range(count):
        at = ifd + 2 + 12 * i
        if struct.unpack_from("<H", data, at)[0] == 279:  # StripByteCounts
            struct.pack_into("<I", data, at + 8, strip_bytes)
    return bytes(data)


@pytest.mark.parametrize("strip_bytes", [0, 47])  # 4 rows x 12 bytes = 48 needed
def test_short_or_empty_tiff_strips_are_refused_not_zero_filled(strip_bytes):
    with pytest.raises(GamutError, match="missing|shorter"):
        decode_carrier(_uncompressed_tiff(strip_bytes), "x.tif")
    assert decode_carrier(_uncompressed_tiff(48), "x.tif").srgb8.shape == (4, 4, 3)
