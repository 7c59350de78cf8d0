"""eval pictures: the small maths by hand, and each figure is a real PNG."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from gamut_onnx.colour import prophoto_to_srgb8, srgb8_to_prophoto  # noqa: E402
from gamut_onnx.evaluate import (
    ImageResult,  # noqa: E402
    plots,  # noqa: E402
)
from gamut_onnx.sample import synthetic_scene  # noqa: E402


def test_xy_chromaticity_by_hand():
    # ProPhoto white is D50: x = 0.96422 / 2.78943, y = 1 / 2.78943.
    xy = plots.xy_chromaticity(np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(xy[0], [0.34567, 0.35850], atol=2e-5)
    np.testing.assert_allclose(xy[1], [0.7347, 0.2653], atol=1e-4)  # ROMM red primary
    assert np.array_equal(xy[2], [0.0, 0.0])  # black: no chromaticity, no division by zero


def test_error_map_and_subsample_by_hand():
    truth = np.zeros((1, 2, 3))
    restored = np.array([[[0.3, 0.0, 0.4], [0.0, 0.0, 0.0]]])
    np.testing.assert_allclose(plots.error_map(restored, truth), [[np.sqrt(0.25 / 3), 0.0]])
    assert plots.subsample(np.zeros((300, 1000)), 512).shape == (150, 500)
    assert plots.subsample(np.zeros((30, 100)), 512).shape == (30, 100)


def _is_png(path) -> tuple[int, int]:
    from PIL import Image

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as im:
        im.verify()
        return im.size


def test_pictures_are_pngs(tmp_path):
    truth = synthetic_scene(80, 48)
    srgb8 = prophoto_to_srgb8(truth)
    clipped = srgb8_to_prophoto(srgb8)
    result = ImageResult(
        "scene.tif",
        truth,
        np.any(np.abs(truth - clipped) > 1e-3, -1),
        srgb8,
        {"clip": clipped, "soft-clip": (truth + clipped) / 2},
    )
    written = plots.write_pictures(result, tmp_path / "figures")
    assert [p.name for p in written] == ["scene.soft-clip.png", "scene.chromaticity.png"]
    for path in written:
        width, height = _is_png(path)
        assert width <= 1200 and height <= 600
    means = {
        "clip": {"psnr_og": 30.0, "blob_bytes": 0.0, "fit_s": 0.0},
        "soft-clip": {"psnr_og": 45.0, "blob_bytes": 17.0, "fit_s": 0.001},
        "default": {"psnr_og": float("nan"), "blob_bytes": 10122.0, "fit_s": 5.0},
    }
    for path in plots.write_charts(means, tmp_path / "figures"):
        _is_png(path)
