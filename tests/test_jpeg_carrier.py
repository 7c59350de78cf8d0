"""JPEG carriers end to end through the CLI: closed-loop fit, stripped and re-encoded files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import FAST_FIT, check_ok, make_source, run_cli

from gamut_onnx.colour import out_of_gamut_mask, srgb8_to_prophoto
from gamut_onnx.container import jpeg
from gamut_onnx.container.carrier import read_carrier
from gamut_onnx.metrics import psnr
from gamut_onnx.read import read_prophoto


@pytest.fixture(scope="module")
def jpeg_work(tmp_path_factory):
    folder = tmp_path_factory.mktemp("jpeg")
    source = make_source(folder / "source.tif")
    carrier = folder / "c.jpg"
    report = json.loads(
        check_ok(run_cli("encode", source, "-o", carrier, *FAST_FIT, "--json")).stdout
    )
    return {"dir": folder, "source": source, "carrier": carrier, "report": report}


def test_jpeg_carrier_is_a_normal_jpeg_with_the_model(jpeg_work):
    from PIL import Image

    carrier = jpeg_work["carrier"]
    report = jpeg_work["report"]
    assert report["carrier"] == "jpeg" and report["jpeg_quality"] == 90 and report["closed_loop"]
    with Image.open(carrier) as im:
        assert im.format == "JPEG" and im.mode == "RGB"
        pillow_pixels = np.asarray(im)
    found = read_carrier(carrier)
    assert np.abs(pillow_pixels.astype(int) - found.srgb8).max() <= 1
    info = json.loads(check_ok(run_cli("inspect", carrier, "--json")).stdout)
    assert info["carrier"] == "jpeg" and info["pixel_digest_ok"] is True
    assert info["blob_bytes"] == report["blob_bytes"]


def test_jpeg_round_trip_beats_clipping_without_torch(jpeg_work, tmp_path):
    restored = tmp_path / "r.tif"
    check_ok(run_cli("decode", jpeg_work["carrier"], "-o", restored, block_torch=True))
    truth = read_prophoto(jpeg_work["source"]).prophoto
    back = read_prophoto(restored).prophoto
    clipped = srgb8_to_prophoto(read_carrier(jpeg_work["carrier"]).srgb8)
    og = out_of_gamut_mask(truth)
    assert psnr(back, truth, og) > psnr(clipped, truth, og) + 1.0
    assert psnr(back, truth, og) == pytest.approx(jpeg_work["report"]["psnr_og"], abs=0.05)


def test_stripped_jpeg_decodes_as_plain_srgb_with_a_warning(jpeg_work, tmp_path):
    stripped = tmp_path / "stripped.jpg"
    stripped.write_bytes(jpeg.add_segments(jpeg_work["carrier"].read_bytes(), None, None))
    result = check_ok(run_cli("decode", stripped, "-o", tmp_path / "r.tif"))
    assert result.stderr.startswith("warning: no gamut-onnx model")
    assert run_cli("decode", stripped, "-o", tmp_path / "s.tif", "--strict").returncode == 1


def test_reencoded_jpeg_is_detected_by_the_digest(jpeg_work, tmp_path):
    data = jpeg_work["carrier"].read_bytes()
    parts = jpeg.read_jpeg(data)
    again = jpeg.add_segments(jpeg.encode_jpeg(parts.srgb8, 85), parts.icc, parts.blob)
    reencoded = tmp_path / "again.jpg"
    reencoded.write_bytes(again)
    result = check_ok(run_cli("decode", reencoded, "-o", tmp_path / "r.tif"))
    assert "pixels changed after encoding" in result.stderr
    info = json.loads(check_ok(run_cli("inspect", reencoded, "--json")).stdout)
    assert info["pixel_digest_ok"] is False


def test_open_loop_fit_is_available_for_comparison(jpeg_work, tmp_path):
    carrier = tmp_path / "open.jpg"
    args = ("encode", jpeg_work["source"], "-o", carrier, *FAST_FIT, "--json", "--open-loop")
    report = json.loads(check_ok(run_cli(*args)).stdout)
    assert report["closed_loop"] is False and carrier.exists()


def test_jpeg_cannot_carry_alpha(tmp_path):
    import tifffile

    rgba = np.full((16, 16, 4), 30000, np.uint16)
    tifffile.imwrite(tmp_path / "a.tif", rgba, photometric="rgb", extrasamples=[2])
    result = run_cli("encode", tmp_path / "a.tif", "-o", tmp_path / "a.jpg", *FAST_FIT)
    assert result.returncode == 1 and "alpha" in result.stderr
    assert not (tmp_path / "a.jpg").exists()
