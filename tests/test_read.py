"""Reading photos in every supported format and colour description, written here with the real
libraries (imagecodecs, Pillow, pillow-heif), and every refusal as one line."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
import tifffile
from PIL import Image

from gamut_onnx.colour import icc
from gamut_onnx.colour.cms import IccProfile
from gamut_onnx.colour.spaces import NAMED_SPACES, from_prophoto_matrix, rgb_to_rgb_matrix
from gamut_onnx.colour.transfer import TRANSFERS
from gamut_onnx.container.png import make_chunk
from gamut_onnx.errors import GamutError
from gamut_onnx.read import read_prophoto, read_prophoto_bytes
from gamut_onnx.read.jxl_header import set_colour_encoding
from gamut_onnx.sample import synthetic_scene

ORIGINALS = Path(__file__).resolve().parents[2] / "shared/data/originals"
P3_XY = (0.680, 0.320, 0.265, 0.690, 0.150, 0.060)
GAMMA_P3_ICC = imagecodecs.cms_profile(
    "rgb", whitepoint=(0.3127, 0.329), primaries=P3_XY, gamma=2.2
)  # made by LittleCMS, none of our named profiles: the ICC route
LINEAR_PROPHOTO = icc.PROPHOTO_LINEAR_ICC


def encoded(name: str, bits: int = 16, h: int = 40, w: int = 56) -> np.ndarray:
    """A generated wide-gamut scene in named space `name`, as integer codes."""
    space = NAMED_SPACES[name]
    linear = np.clip(synthetic_scene(w, h, 5) @ from_prophoto_matrix(space.primaries).T, 0, 1)
    values = TRANSFERS[space.transfer][1](linear)
    return np.rint(values * ((1 << bits) - 1)).astype(np.uint16 if bits > 8 else np.uint8)


def expected_named(codes: np.ndarray, name: str, bits: int) -> np.ndarray:
    """Linear ProPhoto computed independently: curve, then colour-science's matrix."""
    space = NAMED_SPACES[name]
    linear = TRANSFERS[space.transfer][0](codes / ((1 << bits) - 1))
    return np.clip(linear @ rgb_to_rgb_matrix(space.primaries, "prophoto").T, 0, 1)


def expected_icc(codes: np.ndarray, profile: bytes, bits: int) -> np.ndarray:
    """Linear ProPhoto straight from LittleCMS, float in and out."""
    values = (codes / ((1 << bits) - 1)).astype(np.float32)
    out = imagecodecs.cms_transform(
        values, profile, LINEAR_PROPHOTO, colorspace="rgb", outcolorspace="rgb",
        outdtype=np.float32, intent=1,
    )  # fmt: skip
    return np.clip(out, 0, 1)


def exif_app1(colour_space: int, interop_index: str) -> bytes:
    """Exif as cameras write it: IFD0 -> Exif IFD (ColorSpace, Interop pointer) -> Interop IFD."""

    def ifd(entries) -> bytes:
        body = struct.pack("<H", len(entries))
        for tag, kind, count, value in entries:
            body += struct.pack("<HHI", tag, kind, count) + value
        return body + struct.pack("<I", 0)

    exif_at = 8 + 18
    interop_at = exif_at + 30
    ifd0 = ifd([(0x8769, 4, 1, struct.pack("<I", exif_at))])
    exif = ifd([(0xA001, 3, 1, struct.pack("<HH", colour_space, 0)),
                (0xA005, 4, 1, struct.pack("<I", interop_at))])  # fmt: skip
    interop = ifd([(0x0001, 2, 4, interop_index.encode() + b"\0")])
    return b"Exif\0\0II*\0" + struct.pack("<I", 8) + ifd0 + exif + interop


def with_chunks(png: bytes, *chunks: bytes) -> bytes:
    return png[:33] + b"".join(chunks) + png[33:]


def error(data: bytes, fragment: str, **kw) -> str:
    with pytest.raises(GamutError, match=fragment) as info:
        read_prophoto_bytes(data, "photo", **kw)
    assert "\n" not in str(info.value)
    return str(info.value)


# --- colour descriptions -----------------------------------------------------------------------
def test_png_cicp_p3_is_read_as_p3_not_prophoto():  # the bug issue 11 reports
    codes = encoded("display-p3")
    png = with_chunks(imagecodecs.png_encode(codes), make_chunk(b"cICP", bytes([12, 13, 0, 1])))
    image = read_prophoto_bytes(png, "p3.png")
    assert image.space_name == "display-p3"
    np.testing.assert_allclose(image.prophoto, expected_named(codes, "display-p3", 16), atol=2e-6)
    # cICP wins over an iCCP chunk (PNG Third Edition) ...
    iccp = make_chunk(b"iCCP", b"x\0\0" + zlib.compress(icc.PROPHOTO_ICC))
    both = with_chunks(
        imagecodecs.png_encode(codes), make_chunk(b"cICP", bytes([12, 13, 0, 1])), iccp
    )
    assert read_prophoto_bytes(both, "p3.png").space_name == "display-p3"
    # ... and without any tag the file is refused instead of being guessed.
    assert "--input-space" in error(imagecodecs.png_encode(codes), "no colour profile")


def test_png_iccp_goes_through_littlecms():
    codes = encoded("display-p3")
    iccp = make_chunk(b"iCCP", b"P3\0\0" + zlib.compress(GAMMA_P3_ICC))
    image = read_prophoto_bytes(with_chunks(imagecodecs.png_encode(codes), iccp), "x.png")
    assert isinstance(image.space, IccProfile)
    np.testing.assert_allclose(image.prophoto, expected_icc(codes, GAMMA_P3_ICC, 16), atol=2e-6)


def test_tiff_with_our_profile_is_the_named_space_and_input_space_overrides(tmp_path):
    codes = encoded("adobe-rgb")
    path = tmp_path / "adobe.tif"
    adobe_icc = icc.profile_for(NAMED_SPACES["adobe-rgb"])
    tifffile.imwrite(path, codes, photometric="rgb", iccprofile=adobe_icc)
    image = read_prophoto(path)
    assert image.space_name == "adobe-rgb" and "16-bit TIFF 56x40" in image.description
    np.testing.assert_allclose(image.prophoto, expected_named(codes, "adobe-rgb", 16), atol=2e-6)
    untagged = tmp_path / "untagged.tif"
    tifffile.imwrite(untagged, codes, photometric="rgb")
    with pytest.raises(GamutError, match="--input-space"):
        read_prophoto(untagged)
    assert read_prophoto(untagged, "adobe-rgb").space_name == "adobe-rgb"
    assert read_prophoto(untagged, untagged="prophoto").space_name == "prophoto"


def test_float_tiff_in_a_linear_space_clips_and_counts_hdr_light(tmp_path):
    linear = np.full((8, 8, 3), 0.5, np.float32)
    linear[0, :4] = 2.0  # brighter than reference white: clipped, counted
    path = tmp_path / "linear.tif"
    tifffile.imwrite(path, linear, photometric="rgb")
    image = read_prophoto(path, "srgb-linear")
    assert image.clipped_fraction == pytest.approx(4 / 64)
    assert image.prophoto.max() <= 1.0


def test_jpeg_with_icc_and_exif_adobe_rgb_without_one():
    codes = encoded("display-p3", bits=8)
    buffer = io.BytesIO()
    Image.fromarray(codes).save(
        buffer, "JPEG", quality=100, subsampling=0, icc_profile=GAMMA_P3_ICC
    )
    image = read_prophoto_bytes(buffer.getvalue(), "p3.jpg")
    assert isinstance(image.space, IccProfile)
    pixels = np.asarray(Image.open(io.BytesIO(buffer.getvalue())))
    np.testing.assert_allclose(image.prophoto, expected_icc(pixels, GAMMA_P3_ICC, 8), atol=2e-6)
    # A camera JPEG in Adobe RGB by the DCF rule: ColorSpace uncalibrated + interop index R03.
    for colour_space, index, name in ((0xFFFF, "R03", "adobe-rgb"), (1, "R98", "srgb")):
        camera = io.BytesIO()
        Image.fromarray(codes).save(camera, "JPEG", exif=exif_app1(colour_space, index))
        assert read_prophoto_bytes(camera.getvalue(), "dsc.jpg").space_name == name


def test_jpeg_exif_orientation_is_applied():
    codes = encoded("srgb", bits=8, h=24, w=40)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buffer = io.BytesIO()
    Image.fromarray(codes).save(buffer, "JPEG", exif=exif, icc_profile=GAMMA_P3_ICC)
    assert read_prophoto_bytes(buffer.getvalue(), "r.jpg").prophoto.shape == (40, 24, 3)


def test_heic_8_and_10_bit_with_icc_or_nclx():
    pillow_heif = pytest.importorskip("pillow_heif")
    for bits, mode in ((8, "RGB"), (10, "RGB;16")):
        codes = encoded("display-p3", bits=8 if bits == 8 else 16)
        data = codes if bits == 8 else (codes >> 6 << 6)
        heif = pillow_heif.from_bytes(mode=mode, size=(56, 40), data=data.tobytes())
        heif.info["icc_profile"] = GAMMA_P3_ICC
        buffer = io.BytesIO()
        heif.save(buffer, quality=-1)
        image = read_prophoto_bytes(buffer.getvalue(), "p.heic")
        assert isinstance(image.space, IccProfile), bits
        assert f"{bits}-bit HEIC 56x40" in image.description


def test_avif_nclx_p3_and_pq():
    codes = encoded("display-p3", bits=16) >> 6  # 10-bit codes
    avif = imagecodecs.avif_encode(codes, level=100, bitspersample=10, primaries=12, transfer=13)
    image = read_prophoto_bytes(avif, "p.avif")
    assert image.space_name == "display-p3" and "10-bit AVIF" in image.description
    np.testing.assert_allclose(image.prophoto, expected_named(codes, "display-p3", 10), atol=2e-3)
    pq = np.full((16, 16, 3), 1023, np.uint16)  # 10,000 cd/m2: far above reference white
    pq[8:] = 592  # about 203 cd/m2 in 10-bit PQ: reference white, kept
    hdr = imagecodecs.avif_encode(pq, level=100, bitspersample=10, primaries=9, transfer=16)
    image = read_prophoto_bytes(hdr, "hdr.avif")
    assert image.space_name == "rec2020-pq"
    assert image.clipped_fraction == pytest.approx(0.5)
    assert image.prophoto[12, 12].mean() == pytest.approx(1.0, abs=0.02)


def test_jxl_enum_colour_encoding():
    codes = encoded("display-p3")
    plain = imagecodecs.jpegxl_encode(codes, lossless=True)
    jxl = set_colour_encoding(plain, primaries="p3", white="d65", transfer="srgb")
    image = read_prophoto_bytes(jxl, "p3.jxl")
    assert image.space_name == "display-p3"
    np.testing.assert_allclose(image.prophoto, expected_named(codes, "display-p3", 16), atol=2e-6)


def test_alpha_is_carried(tmp_path):
    codes = encoded("adobe-rgb")
    alpha = np.linspace(0, 65535, 56 * 40).reshape(40, 56).astype(np.uint16)
    path = tmp_path / "rgba.tif"
    tifffile.imwrite(
        path, np.dstack([codes, alpha]), photometric="rgb", extrasamples=["unassalpha"]
    )
    image = read_prophoto(path, "adobe-rgb")
    np.testing.assert_allclose(image.alpha, alpha / 65535.0, atol=1e-6)


def test_camera_raw_original_rendered_by_libraw():
    path = ORIGINALS / "kde_RAW_KODAK_C330_FORMAT_NONE_YRGB.raw"
    if not path.exists():
        pytest.skip("../shared/data/originals not available")
    pytest.importorskip("rawpy")
    image = read_prophoto(path)
    assert image.space_name == "prophoto-linear" and image.prophoto.shape == (912, 1216, 3)


# --- refusals ----------------------------------------------------------------------------------
def _tiff_bytes(data: np.ndarray, **kw) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, data, **kw)
    return buffer.getvalue()


def _jpeg(mode: str) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (8, 8)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (imagecodecs.png_encode(np.zeros((4, 5), np.uint16)), "grayscale"),
        (_tiff_bytes(np.zeros((4, 5), np.uint16), photometric="minisblack"), "grayscale"),
        (_tiff_bytes(np.zeros((4, 5, 4), np.uint8), photometric="separated"), "CMYK"),
        (_tiff_bytes(np.zeros((4, 5, 3), np.uint8), photometric="cielab"), "Lab"),
        (_jpeg("L"), "grayscale"),
        (_jpeg("CMYK"), "CMYK"),
        (
            _tiff_bytes(np.zeros((4, 5, 3), np.uint16), photometric="rgb",
                        iccprofile=imagecodecs.cms_profile("gray")),
            "grayscale profile",
        ),
        (
            _tiff_bytes(np.zeros((4, 5, 3), np.uint16), photometric="rgb", iccprofile=b"x" * 200),
            "ICC profile is corrupt",
        ),
        (
            with_chunks(imagecodecs.png_encode(np.zeros((4, 5, 3), np.uint16)),
                        make_chunk(b"cICP", bytes([22, 13, 0, 1]))),
            "primaries code 22",
        ),
        (b"GIF89a" + bytes(40), "unrecognised file type"),
        (b"", "empty"),
    ],
    ids=["png-grey", "tiff-grey", "tiff-cmyk", "tiff-lab", "jpeg-grey", "jpeg-cmyk",
         "grey-profile", "corrupt-profile", "cicp-code", "gif", "empty"],
)  # fmt: skip
def test_refusals_are_one_line(data, fragment):
    error(data, fragment)


def test_pixel_count_is_checked_from_the_header(monkeypatch):
    codes = encoded("display-p3")
    png = with_chunks(imagecodecs.png_encode(codes), make_chunk(b"cICP", bytes([12, 13, 0, 1])))
    monkeypatch.setenv("GAMUT_ONNX_MAX_PIXELS", "1000")
    assert "2,240 pixels, above the limit of 1,000" in error(png, "56x40")


def test_every_original_reads(request):
    """The camera and phone files as their makers wrote them (all of ../shared/data/originals)."""
    if not ORIGINALS.exists():
        pytest.skip("../shared/data/originals not available")
    pytest.importorskip("pillow_heif")
    pytest.importorskip("rawpy")
    small = [
        p for p in sorted(ORIGINALS.iterdir()) if p.suffix != ".md" and p.stat().st_size < 600_000
    ]
    for path in small:
        image = read_prophoto(path)
        assert image.prophoto.dtype == np.float32 and image.prophoto.min() >= 0, path.name
        assert image.prophoto.max() <= 1 and image.space is not None, path.name


def test_reading_a_tiff_leaves_no_cycle_holding_its_bytes():
    """tifffile keeps a file object it was given open, and its pages and file point at each
    other: unless the reader closes the buffer, the file's bytes live until the cyclic
    collector runs (290 MB for an uncompressed 48 MP TIFF)."""
    import gc
    import sys

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros((8, 8, 3), np.uint16), photometric="rgb")
    data = buffer.getvalue()
    before = sys.getrefcount(data)
    collecting = gc.isenabled()
    gc.disable()
    try:
        image = read_prophoto_bytes(data, "t.tif", "prophoto")
        assert sys.getrefcount(data) == before
    finally:
        if collecting:
            gc.enable()
    assert image.prophoto.shape == (8, 8, 3)
