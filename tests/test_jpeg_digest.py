"""The JPEG coefficient digest and the orientation search (blob-format.md 4.3, 4.4): lossless
transcodes and turns by the real jpegtran restore, a PNG turned by numpy restores, and changed
coefficients are refused under --strict."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from gamut_onnx.blob import unpack_blob
from gamut_onnx.codec import decode
from gamut_onnx.container import jpeg, png
from gamut_onnx.container.carrier import PNG_BLOB_CHUNK, decode_carrier, read_carrier
from gamut_onnx.container.jpeg_coefficients import (
    baseline_jpeg,
    coefficient_digest,
    frame_digest,
    read_coefficients,
    read_frame,
    unturn_blocks,
)
from gamut_onnx.errors import GamutError
from gamut_onnx.runtime.orientation import turn, unturn

VECTORS = Path(__file__).resolve().parent / "conformance" / "vectors"
BASE = VECTORS / "jpeg_coef_baseline.jpg"
JPEGTRAN = shutil.which("jpegtran")
needs_jpegtran = pytest.mark.skipif(JPEGTRAN is None, reason="jpegtran not installed")
# jpegtran's option for each orientation (Exif numbering: how the file shows the fitted image)
TURNS = {
    2: ["-flip", "horizontal"],
    3: ["-rotate", "180"],
    4: ["-flip", "vertical"],
    5: ["-transpose"],
    6: ["-rotate", "90"],
    7: ["-transverse"],
    8: ["-rotate", "270"],
}


def jpegtran(data: bytes, *args: str) -> bytes:
    run = subprocess.run([JPEGTRAN, "-copy", "all", *args], input=data, capture_output=True)
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.fixture(scope="module")
def original():
    return decode(read_carrier(BASE), provider="cpu", strict=True)


def test_record_holds_the_coefficient_digest():
    data = BASE.read_bytes()
    blob = unpack_blob(read_carrier(BASE).blob)
    assert blob.jpeg_digest == coefficient_digest(data)
    frame, planes = read_coefficients(data)
    assert [p.shape for p in planes] == [(4, 6, 8, 8)] * 3  # 48x32, 4:4:4
    assert (frame.jfif, frame.adobe, frame.precision) == (True, 255, 8)


@needs_jpegtran
@pytest.mark.parametrize(
    "args", [["-progressive"], ["-restart", "1"], ["-progressive", "-restart", "2"]]
)
def test_lossless_transcodes_restore_bit_identically(original, args):
    data = jpegtran(BASE.read_bytes(), *args)
    assert jpeg.scan_digest(data) != jpeg.scan_digest(BASE.read_bytes())  # the bytes changed
    assert coefficient_digest(data) == coefficient_digest(BASE.read_bytes())
    result = decode(decode_carrier(data), provider="cpu", strict=True)
    np.testing.assert_array_equal(result.prophoto, original.prophoto)


@needs_jpegtran
@pytest.mark.parametrize("orientation", sorted(TURNS))
def test_jpegtran_turns_restore_exactly_turned(original, orientation):
    data = jpegtran(BASE.read_bytes(), "-perfect", *TURNS[orientation])
    carrier = decode_carrier(data)
    result = decode(carrier, provider="cpu", strict=True)
    assert carrier.orientation == orientation
    # The coefficients turned back decode to the untouched carrier's very pixels.
    np.testing.assert_array_equal(result.prophoto, turn(original.prophoto, orientation))
    again = decode(carrier, provider="cpu", strict=True)  # the carrier was turned back once
    np.testing.assert_array_equal(again.prophoto, result.prophoto)


@needs_jpegtran
def test_arithmetic_coding_is_refused_in_one_line():
    data = jpegtran(BASE.read_bytes(), "-arithmetic")
    with pytest.raises(GamutError, match="^<bytes>: arithmetic-coded JPEG is not supported"):
        decode_carrier(data)


def test_changed_coefficients_are_refused_under_strict():
    data = (VECTORS / "neg_jpeg_coef_changed.jpg").read_bytes()
    with pytest.raises(GamutError, match="pixels changed after encoding"):
        decode(decode_carrier(data), provider="cpu", strict=True)


def test_unturning_blocks_inverts_each_orientation():
    frame, planes = read_coefficients(BASE.read_bytes())
    digests = {frame_digest(*unturn_blocks(frame, planes, k)) for k in range(1, 9)}
    assert len(digests) == 8  # a photo is not symmetric: each orientation hashes differently
    for k in range(1, 9):
        pixels = np.arange(24).reshape(2, 4, 3)
        np.testing.assert_array_equal(unturn(turn(pixels, k), k), pixels)


def test_quantisation_tables_are_read_in_natural_order():
    frame = read_frame(BASE.read_bytes())
    table = frame.tables[0]
    assert table.shape == (8, 8) and table[0, 0] > 0
    assert table[7, 7] >= table[0, 1]  # high frequencies quantised harder


@pytest.mark.parametrize(
    "name, orientation",
    [("png_gated_fp16", 2), ("png_gated_fp16", 6), ("png_gated_fp16", 7), ("png_context_gated", 8)],
)
def test_a_png_turned_by_numpy_restores_turned(name, orientation):
    source = VECTORS / f"{name}.png"
    carrier = read_carrier(source)
    original = decode(carrier, provider="cpu", strict=True)
    turned = turn(read_carrier(source).srgb8, orientation)
    data = png.encode_png(turned, [(PNG_BLOB_CHUNK, carrier.blob)])
    result = decode(decode_carrier(data), provider="cpu", strict=True)
    np.testing.assert_array_equal(result.prophoto, turn(original.prophoto, orientation))


def test_an_edited_turned_png_is_still_an_edit():
    carrier = read_carrier(VECTORS / "png_gated_fp16.png")
    turned = turn(carrier.srgb8, 6)
    turned[0, 0] ^= 1
    data = png.encode_png(turned, [(PNG_BLOB_CHUNK, carrier.blob)])
    with pytest.raises(GamutError, match="turned, but not losslessly"):  # no orientation fits
        decode(decode_carrier(data), provider="cpu")


PHOTOS = Path("/work/shared/data/originals")


@needs_jpegtran
@pytest.mark.slow
@pytest.mark.parametrize("name", ["rototor_Italy-P3.jpg", "samkelleher_IMG_1063.JPG"])
def test_camera_jpegs_keep_their_digest_through_jpegtran(name):
    """Real encoders' files (4:2:0, restart markers, Exif): a progressive transcode keeps the
    digest, and a 90-degree turn matches in orientation 6 only."""
    if not (PHOTOS / name).exists():
        pytest.skip(f"{name} not available")
    data = (PHOTOS / name).read_bytes()
    digest = coefficient_digest(data)
    assert coefficient_digest(jpegtran(data, "-progressive")) == digest
    frame, planes = read_coefficients(jpegtran(data, "-rotate", "90", "-trim"))
    found = [k for k in range(1, 9) if frame_digest(*unturn_blocks(frame, planes, k)) == digest]
    frame0 = read_frame(data)
    mcu = [8 * max(c[i] for c in frame0.components) for i in (1, 2)]
    whole = frame0.width % mcu[0] == 0 and frame0.height % mcu[1] == 0
    assert found == ([6] if whole else [])  # -trim drops partial MCUs: then nothing matches


def test_the_turned_vector_restores_to_the_untouched_one_turned():
    turned = np.load(VECTORS / "jpeg_coef_rotate90.npy")
    np.testing.assert_array_equal(turned, turn(np.load(VECTORS / "jpeg_coef_baseline.npy"), 6))


@needs_jpegtran
@pytest.mark.parametrize("subsampling", ["420", "422"])
def test_turned_back_coefficients_decode_to_the_original_pixels(subsampling):
    """Subsampled frames too (jpeglib orders sampling factors vertical first)."""
    codecs = pytest.importorskip("imagecodecs")
    pixels = (np.random.default_rng(0).random((48, 64, 3)) * 255).astype(np.uint8)
    data = bytes(codecs.jpeg8_encode(pixels, level=85, subsampling=subsampling))
    frame, planes = unturn_blocks(*read_coefficients(jpegtran(data, "-rotate", "90")), 6)
    written = baseline_jpeg(frame, planes)
    np.testing.assert_array_equal(jpeg.decode_jpeg(written), jpeg.decode_jpeg(data))


def test_without_jpeglib_a_transcode_is_an_edit_with_a_hint(monkeypatch):
    # The decode-only install has no jpeglib (its size limit): a failed byte digest is then an
    # edit, and the warning says how to check transcodes; a turned carrier is refused alike.
    import gamut_onnx.runtime.decode as runtime_decode
    import gamut_onnx.runtime.orientation as orientation

    def without_jpeglib(module):
        return module != "jpeglib"

    monkeypatch.setattr(runtime_decode, "installed", without_jpeglib)
    monkeypatch.setattr(orientation, "installed", without_jpeglib)
    progressive = read_carrier(VECTORS / "jpeg_coef_progressive.jpg")
    result = decode(progressive, provider="cpu")
    assert any("pixels changed" in w and "gamut-onnx[jpeg]" in w for w in result.warnings)
    with pytest.raises(GamutError, match=r"turned, .*gamut-onnx\[jpeg\]"):
        decode(read_carrier(VECTORS / "jpeg_coef_rotate90.jpg"), provider="cpu")
    assert decode(read_carrier(BASE), provider="cpu", strict=True).warnings == []
