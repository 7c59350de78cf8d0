"""The JPEG marker layer on real libjpeg-turbo bytes: segments in and out, pixels untouched."""

from __future__ import annotations

import io
import re
import struct

import imagecodecs
import numpy as np
import pytest
from PIL import Image

from gamut_onnx.colour import prophoto_to_srgb8
from gamut_onnx.colour.icc import SRGB_ICC
from gamut_onnx.container import jpeg
from gamut_onnx.errors import GamutError
from gamut_onnx.sample import synthetic_scene


@pytest.fixture(scope="module")
def srgb8() -> np.ndarray:
    return prophoto_to_srgb8(synthetic_scene(160, 96, seed=1))


@pytest.fixture(scope="module")
def bare(srgb8) -> bytes:
    return jpeg.encode_jpeg(srgb8, 90)


@pytest.fixture(scope="module")
def blob() -> bytes:
    return np.random.default_rng(7).integers(0, 256, 10_000, dtype=np.uint8).tobytes()


@pytest.fixture(scope="module")
def carrier(bare, blob) -> bytes:
    return jpeg.add_segments(bare, SRGB_ICC, blob)


def _markers(data: bytes) -> list[int]:
    return [marker for marker, _ in jpeg.iter_segments(data)]


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _insert_after_soi(data: bytes, *segments: bytes) -> bytes:
    return data[:2] + b"".join(segments) + data[2:]


def _drop_segment(data: bytes, marker: int, index: int) -> bytes:
    """`data` without the index-th segment with this marker (segments hold no fill bytes here)."""
    pos, seen = 2, 0
    while True:
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if data[pos + 1] == marker:
            if seen == index:
                return data[:pos] + data[pos + 2 + length :]
            seen += 1
        pos += 2 + length


def _scan_start(data: bytes) -> int:
    """Offset of the first entropy-coded byte."""
    pos = data.index(b"\xff\xda")
    return pos + 2 + struct.unpack_from(">H", data, pos + 2)[0]


def test_round_trip_keeps_blob_icc_and_pixels(bare, carrier, blob):
    parts = jpeg.read_jpeg(carrier)
    assert parts.blob == blob
    assert parts.icc == SRGB_ICC
    assert parts.srgb8.dtype == np.uint8
    np.testing.assert_array_equal(parts.srgb8, jpeg.decode_jpeg(bare))
    assert parts.digest == jpeg.scan_digest(bare)
    assert len(carrier) - len(bare) == len(SRGB_ICC) + 18 + len(blob) + 17


def test_pillow_reads_the_carrier(carrier):
    ours = jpeg.decode_jpeg(carrier)
    with Image.open(io.BytesIO(carrier)) as image:
        assert image.format == "JPEG" and image.mode == "RGB"
        assert image.info["icc_profile"] == SRGB_ICC
        theirs = np.asarray(image)
    diff = np.abs(theirs.astype(np.int16) - ours.astype(np.int16))
    differ = int(np.any(diff, axis=2).sum())
    print(
        f"\nPillow vs imagecodecs: {differ} of {diff[..., 0].size} pixels differ, max {diff.max()}"
    )
    assert diff.max() <= 1


def test_pillow_and_imagecodecs_on_a_large_image():
    srgb8 = prophoto_to_srgb8(synthetic_scene(1024, 1024, seed=2))
    data = jpeg.encode_jpeg(srgb8, 90)
    ours = jpeg.decode_jpeg(data)
    with Image.open(io.BytesIO(data)) as image:
        theirs = np.asarray(image.convert("RGB"))
    differ = int(np.any(theirs != ours, axis=2).sum())
    error = np.abs(ours.astype(np.int16) - srgb8).max()
    print(
        f"\n1024x1024 q=90 4:4:4: {len(data)} bytes, max error {error} codes,"
        f" {differ} pixels differ between Pillow and imagecodecs"
    )
    assert data[data.index(b"\xff\xc0") + 11 : data.index(b"\xff\xc0") + 12] == b"\x11"  # 4:4:4


def test_large_blob_is_split_into_three_segments(bare):
    big = np.random.default_rng(1).integers(0, 256, 150_000, dtype=np.uint8).tobytes()
    data = jpeg.add_segments(bare, None, big)
    payloads = [p for m, p in jpeg.iter_segments(data) if m == jpeg.APP9]
    assert [p[len(jpeg.BLOB_ID) : len(jpeg.BLOB_ID) + 2] for p in payloads] == [
        b"\x01\x03",
        b"\x02\x03",
        b"\x03\x03",
    ]
    assert max(len(p) for p in payloads) + 2 == 0xFFFF  # the first segments are full
    parts = jpeg.read_jpeg(data)
    assert parts.blob == big and parts.icc is None


def test_segments_sit_after_app0_before_dqt(bare, carrier):
    assert _markers(bare)[:3] == [jpeg.SOI, jpeg.APP0, 0xDB]
    assert _markers(carrier)[:5] == [jpeg.SOI, jpeg.APP0, jpeg.APP2, jpeg.APP9, 0xDB]
    app0_end = 4 + struct.unpack_from(">H", carrier, 4)[0]
    assert carrier[app0_end : app0_end + 4] == b"\xff\xe2" + struct.pack(">H", 16 + len(SRGB_ICC))
    app9 = app0_end + 18 + len(SRGB_ICC)
    assert carrier[app9 : app9 + 2] == b"\xff\xe9"
    assert carrier[app9 + 4 : app9 + 17] == jpeg.BLOB_ID + b"\x01\x01"
    assert app9 < carrier.index(b"\xff\xdb")


def test_adding_again_is_idempotent_and_none_strips(bare, carrier, blob):
    assert jpeg.add_segments(carrier, SRGB_ICC, blob) == carrier
    assert jpeg.add_segments(carrier, None, None) == bare
    stripped = jpeg.read_jpeg(jpeg.add_segments(carrier, SRGB_ICC, None))
    assert stripped.blob is None and stripped.icc == SRGB_ICC
    assert jpeg.read_jpeg(bare).blob is None and jpeg.read_jpeg(bare).icc is None


def test_exif_stays_ahead_of_our_segments(bare, blob):
    exif = _segment(jpeg.APP1, b"Exif\x00\x00" + bytes(20))
    with_exif = bare[:20] + exif + bare[20:]
    data = jpeg.add_segments(with_exif, SRGB_ICC, blob)
    assert _markers(data)[:6] == [jpeg.SOI, jpeg.APP0, jpeg.APP1, jpeg.APP2, jpeg.APP9, 0xDB]


def test_scan_digest_ignores_metadata(bare, carrier, blob):
    digest = jpeg.scan_digest(bare)
    assert jpeg.scan_digest(carrier) == digest
    assert jpeg.scan_digest(jpeg.add_segments(carrier, None, None)) == digest
    extra = (_segment(jpeg.COM, b"hello"), _segment(0xEB, b"JP" + bytes(10)))
    assert jpeg.scan_digest(_insert_after_soi(carrier, *extra)) == digest
    # Our segments moved ahead of APP0 and in the other order: same digest, same blob.
    icc_and_blob = carrier[20 : len(carrier) - len(bare) + 20]
    icc_len = 18 + len(SRGB_ICC)
    swapped = _insert_after_soi(bare, icc_and_blob[icc_len:], icc_and_blob[:icc_len])
    assert jpeg.scan_digest(swapped) == digest
    assert jpeg.read_jpeg(swapped).blob == blob


def test_scan_digest_sees_coded_changes(srgb8, bare):
    digest = jpeg.scan_digest(bare)
    assert jpeg.scan_digest(jpeg.encode_jpeg(srgb8, 89)) != digest
    pos = _scan_start(bare) + 100
    while bare[pos - 1] == 0xFF or bare[pos] in (0xFE, 0xFF):
        pos += 1
    flipped = bare[:pos] + bytes([bare[pos] ^ 1]) + bare[pos + 1 :]
    assert jpeg.scan_digest(flipped) != digest
    dqt = bare.index(b"\xff\xdb") + 10  # a quantiser value: pixels change, scan bytes do not
    requantised = bare[:dqt] + bytes([bare[dqt] ^ 1]) + bare[dqt + 1 :]
    assert jpeg.scan_digest(requantised) != digest


def test_fill_bytes_and_standalone_markers(bare, blob):
    dqt = bare.index(b"\xff\xdb")
    padded = bare[:dqt] + b"\xff\xff\xff" + bare[dqt:]
    assert _markers(padded) == _markers(bare)
    assert jpeg.scan_digest(padded) == jpeg.scan_digest(bare)
    np.testing.assert_array_equal(jpeg.decode_jpeg(padded), jpeg.decode_jpeg(bare))
    assert jpeg.read_jpeg(jpeg.add_segments(padded, None, blob)).blob == blob
    with_tem = _insert_after_soi(bare, b"\xff\x01")
    assert (0x01, b"") in list(jpeg.iter_segments(with_tem))
    assert jpeg.scan_digest(with_tem) != jpeg.scan_digest(bare)  # a frame-level marker


@pytest.mark.parametrize("cut", [1, 3, 30, 400, -600, -2])
def test_truncated_jpeg_is_refused(carrier, cut):
    with pytest.raises(GamutError, match="truncated|no SOI"):
        jpeg.read_jpeg(carrier[:cut])


def test_truncated_scan_is_refused_by_every_entry_point(bare):
    cut = bare[:-300]
    for call in (jpeg.decode_jpeg, jpeg.scan_digest, jpeg.read_jpeg):
        with pytest.raises(GamutError, match="truncated"):
            call(cut)


def test_garbage_is_refused():
    with pytest.raises(GamutError, match="not a JPEG"):
        jpeg.read_jpeg(b"GIF89a" + bytes(100))
    with pytest.raises(GamutError, match="corrupt"):
        jpeg.read_jpeg(b"\xff\xd8\x00\x01\x02" + bytes(100))
    with pytest.raises(GamutError, match="truncated"):
        list(jpeg.iter_segments(b"\xff\xd8\xff\xe0\x40\x00JFIF"))


def test_grayscale_and_cmyk_are_refused(srgb8):
    grey = imagecodecs.jpeg8_encode(np.ascontiguousarray(srgb8[..., 1]), level=90)
    with pytest.raises(GamutError, match="grayscale"):
        jpeg.read_jpeg(grey)
    cmyk = imagecodecs.jpeg8_encode(np.dstack([srgb8, srgb8[..., :1]]), level=90)
    with pytest.raises(GamutError, match="CMYK"):
        jpeg.decode_jpeg(cmyk)


def _refused(data: bytes, pattern: str) -> None:
    """Damaged blob segments lose the model (blob None, blob_damage says why), not the photo."""
    assert jpeg.read_jpeg(data).blob is None
    assert re.search(pattern, jpeg.blob_damage(data) or ""), jpeg.blob_damage(data)


def test_inconsistent_blob_chunks_are_refused(bare):
    big = bytes(range(256)) * 600
    data = jpeg.add_segments(bare, None, big)
    _refused(_drop_segment(data, jpeg.APP9, 1), r"blob.*missing chunks 2 of 3")
    first = next(p for m, p in jpeg.iter_segments(data) if m == jpeg.APP9)
    _refused(_insert_after_soi(data, _segment(jpeg.APP9, first)), "blob.*duplicate")
    lone = _segment(jpeg.APP9, jpeg.BLOB_ID + b"\x01\x02" + b"x")
    _refused(_insert_after_soi(_drop_segment(data, jpeg.APP9, 0), lone), "blob.*count")
    beyond = _segment(jpeg.APP9, jpeg.BLOB_ID + b"\x04\x03" + b"x")
    _refused(_insert_after_soi(data, beyond), r"blob.*chunk numbers 1, 2, 3, 4, expected")
    _refused(_insert_after_soi(bare, _segment(jpeg.APP9, jpeg.BLOB_ID)), "too short")


@pytest.mark.parametrize("quality", [0, 101, -5, 90.0, True])
def test_quality_out_of_range_is_refused(srgb8, quality):
    with pytest.raises(GamutError, match="quality"):
        jpeg.encode_jpeg(srgb8, quality)


def test_wrong_pixels_and_oversized_blob_are_refused(srgb8, bare):
    with pytest.raises(GamutError, match="HxWx3 uint8"):
        jpeg.encode_jpeg(srgb8.astype(np.float32), 90)
    with pytest.raises(GamutError, match="blob must be"):
        jpeg.add_segments(bare, None, bytes(255 * 65520 + 1))
    with pytest.raises(GamutError, match="blob must be"):
        jpeg.add_segments(bare, None, b"")
