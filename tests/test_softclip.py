"""Soft-clip baseline: hand-computed maps, exact round trip, parameters through real file bytes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from gamut_onnx.colour import out_of_gamut_mask, prophoto_to_srgb8, srgb8_to_prophoto
from gamut_onnx.container import jpeg, png
from gamut_onnx.container.carrier import decode_carrier
from gamut_onnx.errors import GamutError
from gamut_onnx.evaluate import softclip
from gamut_onnx.metrics import psnr
from gamut_onnx.read import read_prophoto
from gamut_onnx.sample import synthetic_scene

# Round numbers: kl - lo = 1.0 and hi - kh = 1.0, so the maps are easy to do by hand.
P = softclip.SoftClipParams(lo=-0.95, hi=1.9, knee_lo=0.05, knee_hi=0.9)


def test_forward_by_hand():
    pixels = np.array(
        [
            [1.4, 0.5, 0.0],  # high and low channels: 0.9 + 0.5 * 0.1, 0.05 * 0.95
            [1.9, 0.3, -0.95],  # the extremes land on 1 and 0
            [0.3, 0.5, 0.7],  # inside both knees: unchanged
            [0.01, 0.02, -0.1],  # near-black (all <= kl): not compressed, just clipped
            [1.2, 0.95, 1.1],  # near-white (all >= kh): not compressed, just clipped
        ]
    )
    expected = np.array(
        [
            [0.95, 0.5, 0.0475],
            [1.0, 0.3, 0.0],
            [0.3, 0.5, 0.7],
            [0.01, 0.02, 0.0],
            [1.0, 0.95, 1.0],
        ]
    )
    np.testing.assert_allclose(softclip.forward(pixels, P), expected, atol=1e-12)
    np.testing.assert_allclose(softclip.inverse(expected[:3], P), pixels[:3], atol=1e-12)


def test_inverse_undoes_forward_inside_the_range():
    rng = np.random.default_rng(0)
    s = rng.uniform(P.lo, P.hi, (2000, 3))
    s = s[~np.all(s <= P.knee_lo, -1) & ~np.all(s >= P.knee_hi, -1)]  # those just clip
    np.testing.assert_allclose(softclip.inverse(softclip.forward(s, P), P), s, atol=1e-12)


def test_fit_params_is_identity_for_in_gamut_images():
    s = np.linspace(0.0, 1.0, 30).reshape(10, 3)
    p = softclip.fit_params(s)
    assert (p.lo, p.hi) == (0.0, 1.0)
    np.testing.assert_allclose(softclip.forward(s, p), s, atol=1e-7)
    p = softclip.fit_params(np.array([[-0.25, 0.5, 1.5]]))
    assert (p.lo, p.hi) == (-0.25, 1.5)


def test_params_pack_and_validate():
    data = softclip.pack_params(P)
    assert len(data) == 17
    back = softclip.unpack_params(data)
    assert back == softclip.SoftClipParams(*(float(np.float32(v)) for v in (-0.95, 1.9, 0.05, 0.9)))
    positive_lo = softclip.pack_params(softclip.SoftClipParams(0.5, 1.9))
    for bad in (data[:-1], b"\x02" + data[1:], positive_lo):
        with pytest.raises(GamutError):
            softclip.unpack_params(bad)


@pytest.fixture(scope="module")
def scene():
    return synthetic_scene(96, 64, seed=1)


def test_png_carrier_holds_params_and_restores(scene):
    data, blob_bytes = softclip.encode(scene, "png")
    assert blob_bytes == 17
    params = softclip.fit_params(softclip.prophoto_to_srgb_linear(scene))
    assert png.ancillary_chunks(data)[softclip.PNG_CHUNK] == [softclip.pack_params(params)]
    assert softclip.read_params(data) == params
    carrier = decode_carrier(data)
    assert carrier.blob is None  # `gamut-onnx decode` sees a plain sRGB file
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:  # any viewer opens it
        assert im.mode == "RGB" and np.array_equal(np.asarray(im), carrier.srgb8)
    restored = softclip.decode(data)
    og = out_of_gamut_mask(scene)
    clipped = srgb8_to_prophoto(prophoto_to_srgb8(scene))
    assert restored.dtype == np.float32 and restored.shape == scene.shape
    assert psnr(restored, scene, og) > psnr(clipped, scene, og) + 10  # 48 vs 26 dB here


def test_jpeg_carrier_holds_params(scene):
    data, _ = softclip.encode(scene, "jpeg", 90)
    assert softclip.read_params(data) == softclip.fit_params(
        softclip.prophoto_to_srgb_linear(scene)
    )
    parts = jpeg.read_jpeg(data)
    assert parts.blob is None and parts.icc is not None
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (96, 64)
    assert softclip.decode(data).shape == scene.shape


def test_refusals(scene):
    with pytest.raises(GamutError, match="png or jpeg"):
        softclip.encode(scene, "tiff")
    plain = decode_carrier(softclip.encode(scene, "png")[0])
    from gamut_onnx.container.carrier import encode_carrier

    with pytest.raises(GamutError, match="0 soft-clip parameter sets"):
        softclip.read_params(encode_carrier("png", plain.srgb8, None, None))


DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "dev"


@pytest.mark.parametrize("name", ["piszoka_img_01_pencils_ProPhoto.tif"])
def test_real_photo_soft_clip_beats_clip(name):
    source = DEV / name
    if not source.exists():
        pytest.skip(f"{source} not available")
    truth = read_prophoto(source, "prophoto").prophoto
    og = out_of_gamut_mask(truth)
    restored = softclip.decode(softclip.encode(truth, "png")[0])
    clipped = srgb8_to_prophoto(prophoto_to_srgb8(truth))
    assert psnr(restored, truth, og) > psnr(clipped, truth, og) + 10  # measured 53.5 vs 34.6
    assert psnr(restored, truth) > psnr(clipped, truth)
