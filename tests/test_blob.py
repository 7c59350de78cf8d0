"""Weight blob: round trips and rejection of every inconsistency."""

import dataclasses
import struct
import zlib

import numpy as np
import pytest

from gamut_onnx.blob import HEADER_BYTES, Blob, pack_blob, pixel_digest, unpack_blob, weight_shapes
from gamut_onnx.errors import GamutError


def make_blob(width=32, octaves=12, dtype="float16", gated=False, margin=0) -> Blob:
    rng = np.random.default_rng(0)
    weights = [
        rng.standard_normal(s).astype(np.float32) * 0.1 for s in weight_shapes(width, octaves)
    ]
    pixels = rng.integers(0, 256, (3, 4, 3), dtype=np.uint8)
    return Blob(
        weights=weights,
        width=width,
        octaves=octaves,
        image_width=4,
        image_height=3,
        pixel_digest=pixel_digest(pixels),
        weight_dtype=dtype,
        gated=gated,
        boundary_margin=margin,
    )


def with_crc(body: bytes) -> bytes:
    """Re-seal a modified blob so the check under test, not the CRC, must catch it."""
    body = body[:-4]
    return body + struct.pack("<I", zlib.crc32(body))


def patch(data: bytes, offset: int, fmt: str, value) -> bytes:
    buf = bytearray(data)
    struct.pack_into(fmt, buf, offset, value)
    return with_crc(bytes(buf))


@pytest.mark.parametrize("dtype", ["float16", "float32"])
@pytest.mark.parametrize("width", [16, 32, 64, 128])
def test_round_trip(dtype, width):
    blob = make_blob(width=width, dtype=dtype, gated=True, margin=3)
    data = pack_blob(blob)
    back = unpack_blob(data)
    assert (back.width, back.octaves, back.weight_dtype, back.gated) == (width, 12, dtype, True)
    assert back.boundary_margin == 3
    assert (back.image_width, back.image_height) == (4, 3)
    assert back.pixel_digest == blob.pixel_digest
    tol = 1e-3 if dtype == "float16" else 0
    for a, b in zip(blob.weights, back.weights, strict=True):
        np.testing.assert_allclose(b, a, atol=tol)
    params = sum(int(np.prod(s)) for s in weight_shapes(width, 12))
    assert len(data) == HEADER_BYTES + params * (2 if dtype == "float16" else 4) + 4


def test_default_blob_fits_the_size_budget():
    assert len(pack_blob(make_blob())) <= 12 * 1024


@pytest.mark.parametrize(
    ("offset", "fmt", "value", "message"),
    [
        (0, "<8s", b"NOTAMLP!", "bad magic"),
        (8, "<H", 4, "format version 4"),
        (10, "<H", 80, "header size"),
        (12, "<B", 9, "dtype"),
        (13, "<B", 7, "colour space codes 7/3"),
        (14, "<B", 0, "carrier transform"),
        (15, "<B", 3, "input layout"),
        (16, "<B", 3, "3 hidden layers"),
        (17, "<B", 0, "0 octaves"),
        (18, "<H", 48, "width 48"),
        (20, "<H", 4, "flags"),
        (22, "<B", 65, "boundary margin 65"),
        (23, "<B", 9, "colour space codes 1/9"),
        (23, "<B", 0, "codes 1/0 disagree"),
        (24, "<I", 0, "image size"),
    ],
)
def test_rejects_inconsistent_header(offset, fmt, value, message):
    data = patch(pack_blob(make_blob()), offset, fmt, value)
    with pytest.raises(GamutError, match=message):
        unpack_blob(data)


def test_rejects_mismatched_architecture_length():
    data = patch(pack_blob(make_blob()), 18, "<H", 64)  # header says width 64, payload is 32
    with pytest.raises(GamutError, match="header describes"):
        unpack_blob(data)


def test_rejects_corruption_anywhere():
    data = pack_blob(make_blob())
    for offset in (0, 30, HEADER_BYTES + 5, len(data) - 10, len(data) - 1):
        broken = bytearray(data)
        broken[offset] ^= 0x40
        with pytest.raises(GamutError, match="invalid weight blob"):
            unpack_blob(bytes(broken))


@pytest.mark.parametrize("length", [0, 10, HEADER_BYTES, HEADER_BYTES + 100, -1])
def test_rejects_truncated(length):
    data = pack_blob(make_blob())
    with pytest.raises(GamutError, match="truncated"):
        unpack_blob(data[:length])


def test_rejects_trailing_bytes():
    with pytest.raises(GamutError, match="header describes"):
        unpack_blob(pack_blob(make_blob()) + b"\0\0")


def _with_weight(value: float) -> bytes:
    """A float32 blob whose first W2 weight is `value`, re-sealed with a valid CRC."""
    data = pack_blob(make_blob(dtype="float32"))
    offset = HEADER_BYTES + 4 * (120 * 32 + 32)  # after W1 and b1
    return patch(data, offset, "<f", value)


@pytest.mark.parametrize(
    ("value", "message"), [(np.nan, "NaN"), (np.inf, "infinity"), (3e38, "exceed"), (7e4, "exceed")]
)
def test_rejects_weights_that_could_overflow(value, message):
    with pytest.raises(GamutError, match=message):
        unpack_blob(_with_weight(value))
    unpack_blob(_with_weight(65504.0))  # the float16 range is allowed


def test_pack_refuses_weights_beyond_the_bound():
    blob = make_blob(dtype="float32")
    weights = [w.copy() for w in blob.weights]
    weights[2][0, 0] = 1e5
    with pytest.raises(GamutError, match="within"):
        pack_blob(dataclasses.replace(blob, weights=weights))


def test_source_space_round_trips():
    for primaries, transfer in (("p3", "srgb"), ("bt2020", "pq"), ("adobe", "gamma22")):
        blob = dataclasses.replace(
            make_blob(), source_primaries=primaries, source_transfer=transfer
        )
        back = unpack_blob(pack_blob(blob))
        assert (back.source_primaries, back.source_transfer) == (primaries, transfer)
        assert back.format_version == 2 and back.carrier_transform == 2


def test_source_icc_rides_in_a_record():
    icc = bytes(range(256)) * 3
    blob = dataclasses.replace(
        make_blob(), source_primaries="icc", source_transfer="icc", source_icc=icc
    )
    data = pack_blob(blob)
    back = unpack_blob(data)
    assert back.source_icc == icc and back.source_space == "icc"
    assert len(data) < len(pack_blob(make_blob())) + 5 + len(icc)  # deflated


def _with_records(records: bytes) -> bytes:
    data = pack_blob(make_blob())
    flags = struct.unpack_from("<H", data, 20)[0] | 2
    body = bytearray(data[:-4] + records)
    struct.pack_into("<H", body, 20, flags)
    return with_crc(bytes(body) + b"CRC!")


def test_records_are_bounded_and_versioned():
    bomb = zlib.compress(b"\0" * (8 << 20))  # 8 MB of zeros in 8 KB
    with pytest.raises(GamutError, match="4 MB"):
        unpack_blob(_with_records(struct.pack("<BI", 128, len(bomb)) + bomb))
    with pytest.raises(GamutError, match="runs past"):
        unpack_blob(_with_records(struct.pack("<BI", 128, 1000) + b"x"))
    with pytest.raises(GamutError, match="newer gamut-onnx"):
        unpack_blob(_with_records(struct.pack("<BI", 5, 1) + b"x"))
    assert unpack_blob(_with_records(struct.pack("<BI", 200, 2) + b"ok")).source_icc is None


def test_pack_rejects_wrong_shapes():
    blob = make_blob()
    with pytest.raises(GamutError, match="do not match"):
        pack_blob(dataclasses.replace(blob, width=64))


def test_pixel_digest_sees_one_changed_pixel_and_ignores_alpha():
    px = np.zeros((8, 8, 4), np.uint8)
    before = pixel_digest(px)
    px[..., 3] = 200
    assert pixel_digest(px) == before
    px[3, 5, 1] = 1
    assert pixel_digest(px) != before
