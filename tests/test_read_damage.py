"""Damaged photos that the libraries underneath report in their own ways: each case was found by
fuzzing the originals (bench/fuzz_readers.py) and must come out as our one line."""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np
import pytest
import tifffile
from PIL import Image
from test_read import GAMMA_P3_ICC, ORIGINALS, encoded, error

from gamut_onnx.read import read_prophoto_bytes


def test_damaged_exif_sub_ifd_is_one_warning_of_ours():
    """Pillow reads Exif sub-IFDs lazily and warns there ("Tag data larger than file")."""
    entry = struct.pack("<HHII", 0x8769, 4, 1, 26)  # Exif IFD at offset 26
    sub = struct.pack("<HHII", 0xA001, 3, 0x7FFFFFF, 0x100)  # ColorSpace claiming 256 MB
    tiff = b"II*\0" + struct.pack("<IH", 8, 1) + entry + bytes(4) + struct.pack("<H", 1) + sub
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "JPEG", exif=b"Exif\0\0" + tiff + bytes(4))
    with pytest.warns(UserWarning) as caught:
        read_prophoto_bytes(buffer.getvalue(), "photo.jpg", untagged="srgb")
    messages = [str(w.message) for w in caught]
    assert messages == ["photo.jpg: its Exif data is corrupt and was ignored"]


def test_profile_with_a_non_ascii_colour_space_is_corrupt():
    profile = bytearray(GAMMA_P3_ICC)
    profile[16:20] = b"\xe3RGB"  # LittleCMS opens it; Pillow fails decoding the field
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "JPEG", icc_profile=bytes(profile))
    error(buffer.getvalue(), "ICC profile is corrupt")


def test_heic_that_libheif_refuses_as_unsupported_is_one_line():
    pillow_heif = pytest.importorskip("pillow_heif")
    heif = pillow_heif.from_bytes(mode="RGB", size=(56, 40), data=bytes(56 * 40 * 3))
    buffer = io.BytesIO()
    heif.save(buffer, format="HEIF")
    data = bytearray(buffer.getvalue())
    data[data.find(b"ispe") + 4] = 252  # a box version libheif raises SyntaxError for
    error(bytes(data), "truncated or corrupt .*ispe box data version 252")


def test_a_tag_tifffile_cannot_read_is_one_plain_warning():
    """Found by fuzzing the originals: an Orientation of 209 was logged in tifffile's words."""
    buffer = io.BytesIO()
    tifffile.imwrite(
        buffer, np.zeros((4, 6, 3), np.uint16), photometric="rgb", extratags=[(274, "H", 1, 209)]
    )
    with pytest.warns(UserWarning) as caught:
        image = read_prophoto_bytes(buffer.getvalue(), "photo.tif", input_space="prophoto")
    assert image.prophoto.shape == (4, 6, 3)
    assert [str(w.message) for w in caught] == [
        "photo.tif: TIFF tag 274 is unreadable (209 is not a valid ORIENTATION) and was ignored"
    ]


def test_dng_sniffing_does_not_hand_an_unchecked_tiff_to_tifffile():
    """An ImageLength of two values made tifffile raise TypeError while we only asked "is this
    a DNG?", before our own structure check (found by fuzzing the originals)."""
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.zeros((4, 6, 3), np.uint16), photometric="rgb")
    data = bytearray(buffer.getvalue())
    (ifd,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, ifd)
    for at in range(ifd + 2, ifd + 2 + 12 * count, 12):
        if struct.unpack_from("<H", data, at)[0] == 257:  # ImageLength: SHORT x 2, inline
            data[at + 2 : at + 12] = struct.pack("<HIHH", 3, 2, 4, 4)
    error(bytes(data), "TIFF tag 257 holds 2 values where one is needed", input_space="prophoto")


def test_heic_whose_grid_references_break_libheif_is_one_line():
    path = ORIGINALS / "libvips_apple-heic-gainmap.heic"
    if not path.exists():
        pytest.skip("../shared/data/originals not available")
    pytest.importorskip("pillow_heif")
    data = bytearray(path.read_bytes())
    assert data[2889:2893] == b"dimg"
    data[2892:2896] = b"\0\x01\0\0"  # the grid's 'dimg' references become an unknown type
    error(bytes(data), "truncated or corrupt")


def test_dng_is_recognised_by_its_version_tag():
    from gamut_onnx.read import _is_dng

    plain, dng = io.BytesIO(), io.BytesIO()
    tifffile.imwrite(plain, np.zeros((4, 6, 3), np.uint16), photometric="rgb")
    tifffile.imwrite(
        dng,
        np.zeros((4, 6, 3), np.uint16),
        photometric="rgb",
        extratags=[(50706, "B", 4, (1, 4, 0, 0))],
    )
    assert _is_dng(dng.getvalue()) and not _is_dng(plain.getvalue())
    assert not _is_dng(b"II*\0" + bytes(4))  # broken: not a DNG, read_tiff says what is wrong


def test_jxl_that_libjxl_cannot_count_frames_of_is_one_line():
    """imagecodecs raises RuntimeError for a damaged jxlp part counter (found by fuzzing)."""
    path = ORIGINALS / "immich-app_16bit-HDR-P3-nclx.jxl"
    if not path.exists():
        pytest.skip("../shared/data/originals not available")
    data = bytearray(path.read_bytes())
    assert data[36:40] == b"jxlp"
    data[40] = 252  # the first codestream part's counter
    error(bytes(data), "truncated or corrupt .*frame count")


def test_a_library_deprecation_warning_does_not_discard_the_exif(monkeypatch):
    """Seen on a machine whose NumPy warns about Pillow's __array__: not the file's fault."""
    codes = encoded("srgb", bits=8, h=24, w=40)
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.fromarray(codes).save(buffer, "JPEG", exif=exif, icc_profile=GAMMA_P3_ICC)
    read_prophoto_bytes(buffer.getvalue(), "r.jpg")  # the colour caches filled, unpatched
    asarray = np.asarray

    def deprecated_asarray(*args, **kwargs):
        warnings.warn("__array__ doesn't accept a copy keyword", DeprecationWarning, stacklevel=2)
        return asarray(*args, **kwargs)

    monkeypatch.setattr(np, "asarray", deprecated_asarray)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning may come out
        image = read_prophoto_bytes(buffer.getvalue(), "r.jpg")
    assert image.prophoto.shape == (40, 24, 3)  # the orientation was applied
