"""CLI round trips on real wide-gamut photos from ../shared/data/dev (skipped when absent).

Default settings, decode without torch: the restored out-of-gamut colours must beat clipping
clearly, and the whole image must never get worse than clipping.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import check_ok, run_cli

from gamut_onnx.colour import out_of_gamut_mask, srgb8_to_prophoto
from gamut_onnx.container.carrier import read_carrier
from gamut_onnx.metrics import psnr
from gamut_onnx.read import read_prophoto

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "dev"
# The smallest photos (fast enough for CI at default settings), from two source gamuts.
PHOTOS = ["sharp_tifftag-photoshop_AdobeRGB.tif", "pdfboxg2d_webkit_Italy-P3.tif"]


@pytest.mark.slow
@pytest.mark.parametrize("name", PHOTOS)
def test_real_photo_round_trip_beats_clipping(tmp_path, name):
    source = DEV / name
    if not source.exists():
        pytest.skip(f"{source} not available")
    carrier, restored = tmp_path / "c.png", tmp_path / "r.tif"
    # The dev photos are untagged 16-bit ProPhoto TIFFs (the GamutMLP dataset's convention).
    encode = run_cli("encode", source, "-o", carrier, "--input-space", "prophoto", "--json")
    report = json.loads(check_ok(encode).stdout)
    check_ok(run_cli("decode", carrier, "-o", restored, block_torch=True))
    truth = read_prophoto(source, "prophoto").prophoto
    back = read_prophoto(restored).prophoto
    clipped = srgb8_to_prophoto(read_carrier(carrier).srgb8)
    og = out_of_gamut_mask(truth)
    gain_og = psnr(back, truth, og) - psnr(clipped, truth, og)
    print(
        f"{name}: OG +{gain_og:.2f} dB, whole {psnr(clipped, truth):.2f} -> "
        f"{psnr(back, truth):.2f} dB, {report}"
    )
    assert gain_og > 3.0
    assert psnr(back, truth) >= psnr(clipped, truth)
    assert report["blob_bytes"] <= 12 * 1024
    # The encoder's own score (through onnxruntime at encode time) is what decode delivers.
    assert report["psnr_og"] == pytest.approx(psnr(back, truth, og), abs=0.05)
