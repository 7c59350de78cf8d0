"""Reading ground-truth ProPhoto images: real TIFF/PNG files written to tmp_path, no mocks."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
import tifffile

from gamut_onnx import colour
from gamut_onnx.colour import icc
from gamut_onnx.errors import GamutError
from gamut_onnx.read.inputs import read_prophoto, read_prophoto_bytes

DEV = Path(__file__).resolve().parents[2] / "shared/data/dev"
LINEAR_ICC = icc.build_matrix_trc_icc(colour.PROPHOTO_XYZ_D50, (1, 1, 0, 0, 0), "linear ProPhoto")


def _rgb16(h: int = 6, w: int = 7) -> np.ndarray:
    """A test pattern with the interesting code values 0, 32768 and 65535 in it."""
    img = np.random.default_rng(1).integers(0, 65536, (h, w, 3), dtype=np.uint16)
    img[0, 0] = (0, 32768, 65535)
    return img


def _tiff(tmp_path: Path, data: np.ndarray, **kw) -> Path:
    path = tmp_path / "image.tif"
    tifffile.imwrite(path, data, **kw)
    return path


def _chunk(ctype: bytes, payload: bytes) -> bytes:
    body = ctype + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def _with_chunk(png: bytes, chunk: bytes) -> bytes:
    """Splice a chunk in right after IHDR (8-byte signature + 25-byte IHDR chunk)."""
    return png[:33] + chunk + png[33:]


def _iccp(profile: bytes) -> bytes:
    return _chunk(b"iCCP", b"ProPhoto\0\0" + zlib.compress(profile))


def _error(data_or_path, match: str) -> str:
    """Reading must fail with a GamutError (never another type) whose message has `match`."""
    with pytest.raises(GamutError, match=match) as info:
        if isinstance(data_or_path, bytes):
            read_prophoto_bytes(data_or_path, "test")
        else:
            read_prophoto(data_or_path)
    assert "\n" not in str(info.value)
    return str(info.value)


# --- TIFF ---------------------------------------------------------------------------------------
def test_tiff_16bit_values_are_romm_decoded(tmp_path):
    img = _rgb16()
    src = read_prophoto(_tiff(tmp_path, img, photometric="rgb"))
    assert src.prophoto.dtype == np.float32 and src.prophoto.shape == (6, 7, 3)
    assert src.alpha is None
    assert src.description == "16-bit ProPhoto TIFF 7x6"
    assert src.prophoto[0, 0, 0] == 0.0 and src.prophoto[0, 0, 2] == 1.0
    assert src.prophoto[0, 0, 1] == pytest.approx(colour.romm_decode(32768 / 65535), abs=1e-7)
    np.testing.assert_allclose(src.prophoto, colour.romm_decode(img / 65535.0), atol=1e-6)


def test_tiff_8bit(tmp_path):
    img = np.array([[[0, 128, 255]]], dtype=np.uint8)
    src = read_prophoto(_tiff(tmp_path, img, photometric="rgb"))
    np.testing.assert_allclose(src.prophoto[0, 0], [0, colour.romm_decode(128 / 255), 1], atol=1e-7)
    assert src.description.startswith("8-bit")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tiff_float_is_romm_encoded_and_tiny_excursions_clip(tmp_path, dtype):
    img = np.array([[[0.5, -4e-4, 1.0005], [0.25, 0.0, 1.0]]], dtype=dtype)
    src = read_prophoto(_tiff(tmp_path, img, photometric="rgb"))
    expected = colour.romm_decode(np.clip(img, 0, 1))
    np.testing.assert_allclose(src.prophoto, expected, atol=1e-6)
    assert "float" in src.description


@pytest.mark.parametrize("bad", [1.1, -0.01, np.nan, np.inf])
def test_tiff_float_out_of_range_or_not_finite(tmp_path, bad):
    img = np.full((2, 2, 3), 0.5, dtype=np.float32)
    img[1, 1, 1] = bad
    _error(_tiff(tmp_path, img, photometric="rgb"), r"expected \[0, 1\]|NaN")


@pytest.mark.parametrize("compression", [None, "zlib", "lzw", "zstd"])
def test_tiff_compressions_and_planar_separate(tmp_path, compression):
    img = _rgb16(20, 30)
    expected = colour.romm_decode(img / 65535.0)
    contig = _tiff(tmp_path, img, photometric="rgb", compression=compression)
    np.testing.assert_allclose(read_prophoto(contig).prophoto, expected, atol=1e-6)
    planes = np.ascontiguousarray(np.moveaxis(img, -1, 0))
    separate = tmp_path / "separate.tif"
    tifffile.imwrite(
        separate, planes, photometric="rgb", planarconfig="separate", compression=compression
    )
    np.testing.assert_allclose(read_prophoto(separate).prophoto, expected, atol=1e-6)


@pytest.mark.parametrize("kind", ["unassalpha", "assocalpha"])
def test_tiff_alpha_extra_sample_is_straight_alpha(tmp_path, kind):
    img = np.concatenate([_rgb16(), np.full((6, 7, 1), 32768, np.uint16)], axis=-1)
    src = read_prophoto(_tiff(tmp_path, img, photometric="rgb", extrasamples=[kind]))
    assert src.alpha.shape == (6, 7) and src.alpha.dtype == np.float32
    np.testing.assert_allclose(src.alpha, 32768 / 65535, atol=1e-7)  # not ROMM-decoded
    np.testing.assert_allclose(src.prophoto, colour.romm_decode(img[..., :3] / 65535), atol=1e-6)
    assert "alpha" in src.description


def test_tiff_with_prophoto_or_linear_icc(tmp_path):
    img = _rgb16()
    tagged = read_prophoto(_tiff(tmp_path, img, photometric="rgb", iccprofile=icc.PROPHOTO_ICC))
    np.testing.assert_allclose(tagged.prophoto, colour.romm_decode(img / 65535.0), atol=1e-6)
    linear = read_prophoto(_tiff(tmp_path, img, photometric="rgb", iccprofile=LINEAR_ICC))
    np.testing.assert_allclose(linear.prophoto, img / 65535.0, atol=1e-6)
    assert "linear" in linear.description


def test_tiff_with_srgb_icc_is_rejected(tmp_path):
    path = _tiff(tmp_path, _rgb16(), photometric="rgb", iccprofile=icc.SRGB_ICC)
    _error(path, "sRGB IEC61966-2.1.*not ProPhoto RGB")
    path = _tiff(tmp_path, _rgb16(), photometric="rgb", iccprofile=b"garbage" * 30)
    _error(path, "ICC profile is truncated or malformed")


@pytest.mark.parametrize(
    ("data", "kw", "match"),
    [
        (np.zeros((6, 7), np.uint16), {"photometric": "minisblack"}, "grayscale"),
        (np.zeros((6, 7, 4), np.uint8), {"photometric": "separated"}, "CMYK"),
        (np.zeros((6, 7, 3), np.uint8), {"photometric": "cielab"}, "Lab"),
        (
            np.zeros((6, 7, 3), np.uint8),
            {"photometric": "ycbcr", "compression": "jpeg"},
            "YCbCr",
        ),
        (
            np.zeros((6, 7), np.uint8),
            {"photometric": "palette", "colormap": np.zeros((3, 256), np.uint16)},
            "palette",
        ),
        (
            np.zeros((6, 7, 5), np.uint16),
            {"photometric": "rgb", "planarconfig": "contig", "extrasamples": [2, 0]},
            "5 samples per pixel",
        ),
        (np.zeros((6, 7, 3), bool), {"photometric": "rgb"}, "1-bit"),
        (np.zeros((6, 7, 3), np.int32), {"photometric": "rgb"}, "32-bit signed integer"),
        (np.zeros((6, 7, 3), np.uint32), {"photometric": "rgb"}, "32-bit unsigned"),
        (np.zeros((6, 7, 3), np.float16), {"photometric": "rgb"}, "16-bit float"),
    ],
)
def test_tiff_unsupported_layouts(tmp_path, data, kw, match):
    msg = _error(_tiff(tmp_path, data, **kw), match)
    assert "expected" in msg


def test_tiff_empty_image(tmp_path):
    data = bytearray(_tiff(tmp_path, _rgb16(), photometric="rgb").read_bytes())
    with tifffile.TiffFile(tmp_path / "image.tif") as tif:
        offset = tif.pages[0].tags[257].valueoffset  # ImageLength, stored inline
    data[offset : offset + 2] = b"\0\0"
    _error(bytes(data), "empty")


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_tiff_truncated_or_corrupt(tmp_path, compression):
    data = _tiff(tmp_path, _rgb16(40, 50), photometric="rgb", compression=compression).read_bytes()
    for cut in (8, 50, len(data) // 2, len(data) - 20, len(data) - 1):
        _error(data[:cut], "truncated or corrupt")
    _error(data[:4] + b"\xff" * (len(data) - 4), "truncated or corrupt")


# --- PNG ----------------------------------------------------------------------------------------
def test_png_16bit_rgb_and_rgba(tmp_path):
    img = _rgb16()
    path = tmp_path / "image.png"
    path.write_bytes(imagecodecs.png_encode(img))
    src = read_prophoto(path)
    np.testing.assert_allclose(src.prophoto, colour.romm_decode(img / 65535.0), atol=1e-6)
    assert src.description == "16-bit ProPhoto PNG 7x6" and src.alpha is None
    rgba = np.concatenate([img, np.full((6, 7, 1), 65535, np.uint16)], axis=-1)
    src = read_prophoto_bytes(imagecodecs.png_encode(rgba), "rgba.png")
    np.testing.assert_array_equal(src.alpha, 1.0)


def test_png_iccp_chunk(tmp_path):
    img = _rgb16()
    png = imagecodecs.png_encode(img)
    tagged = read_prophoto_bytes(_with_chunk(png, _iccp(icc.PROPHOTO_ICC)), "p.png")
    np.testing.assert_allclose(tagged.prophoto, colour.romm_decode(img / 65535.0), atol=1e-6)
    linear = read_prophoto_bytes(_with_chunk(png, _iccp(LINEAR_ICC)), "p.png")
    np.testing.assert_allclose(linear.prophoto, img / 65535.0, atol=1e-6)
    _error(_with_chunk(png, _iccp(icc.SRGB_ICC)), "not ProPhoto RGB")
    broken = _chunk(b"iCCP", b"ProPhoto\0\0" + b"not zlib")
    _error(_with_chunk(png, broken), "truncated or corrupt")


def test_png_rejections():
    png16 = imagecodecs.png_encode(_rgb16())
    _error(_with_chunk(png16, _chunk(b"sRGB", b"\0")), "tagged sRGB")
    msg = _error(imagecodecs.png_encode(np.zeros((4, 5, 3), np.uint8)), "8-bit PNG")
    assert "gamut-onnx decode" in msg
    _error(imagecodecs.png_encode(np.zeros((4, 5), np.uint16)), "grayscale")
    for cut in (8, 20, 40, len(png16) // 2, len(png16) - 1):
        _error(png16[:cut], "truncated or corrupt")
    bad_crc = bytearray(png16)
    bad_crc[40] ^= 0xFF
    _error(bytes(bad_crc), "truncated or corrupt")
    # valid chunk structure, garbage compressed pixels: the decoder's error is rephrased
    idat = _chunk(b"IDAT", b"\x78\x9c" + b"\x00" * 30)
    ihdr, iend = png16[:33], _chunk(b"IEND", b"")
    _error(ihdr + idat + iend, "truncated or corrupt")


# --- files --------------------------------------------------------------------------------------
def test_dispatch_on_magic_bytes_not_suffix(tmp_path):
    path = tmp_path / "really_a_png.tif"
    path.write_bytes(imagecodecs.png_encode(_rgb16()))
    assert "PNG" in read_prophoto(path).description


def test_file_problems(tmp_path):
    _error(tmp_path / "missing.tif", "cannot read.*missing.tif")
    _error(tmp_path, "directory")
    jpeg = tmp_path / "photo.jpg"
    jpeg.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(100))
    _error(jpeg, r"unrecognised file type \(starts with b'\\xff\\xd8")
    _error(b"", "empty")


@pytest.mark.skipif(not DEV.is_dir(), reason="shared/data/dev not available")
def test_real_dev_tiff():
    path = sorted(DEV.glob("*.tif"))[0]
    src = read_prophoto(path)
    with tifffile.TiffFile(path) as tif:
        h, w = tif.pages[0].shape[:2]
    assert src.prophoto.shape == (h, w, 3) and src.prophoto.dtype == np.float32
    assert src.prophoto.min() >= 0.0 and src.prophoto.max() <= 1.0
    assert src.description.startswith("16-bit ProPhoto TIFF")
