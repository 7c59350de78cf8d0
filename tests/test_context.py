"""Carrier context (input layout 2): the grid graph's exact block means, the restore graph's
bilinear inputs against the fit's twin, blobs and fits."""

import math
import zlib

import numpy as np
import pytest
from conftest import fp32_blob, trained_like_model

from gamut_onnx.blob import Blob, pack_blob, unpack_blob, weight_shapes
from gamut_onnx.colour import SRGB8_TO_LINEAR
from gamut_onnx.context import CONTEXT_INPUTS, LEVELS, context_inputs
from gamut_onnx.errors import GamutError
from gamut_onnx.runtime import RestoreSession


def context_grids(srgb8: np.ndarray):
    return RestoreSession("cpu").grids(srgb8)


torch = pytest.importorskip("torch")


def clipped_carrier(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    image[: h // 3, : w // 2, 0] = 255  # a clipped region
    image[h // 2 :, w // 3 :, 2] = 0
    return image


@pytest.mark.parametrize("size", [(300, 530), (1, 1), (5, 3), (256, 257)])
def test_grids_are_exact_block_means_with_partial_edge_cells(size):
    h, w = size  # partial cells at every level; (300, 530): two 256-row bands of the graph
    image = clipped_carrier(h, w)
    grids = context_grids(image)
    for grid, block in zip(grids.levels, LEVELS, strict=True):
        rows, cols = -(-h // block), -(-w // block)
        assert grid.shape == (4, rows, cols) and grid.dtype == np.float32
        for i, j in {(0, 0), (rows - 1, cols - 1), (rows // 2, cols - 1), (rows - 1, 0)}:
            cell = image[i * block : (i + 1) * block, j * block : (j + 1) * block]
            cell = cell.reshape(-1, 3)
            linear = SRGB8_TO_LINEAR[cell].astype(np.float64)
            means = [math.fsum(linear[:, c]) / len(cell) for c in range(3)]
            share = ((cell.min(1) == 0) | (cell.max(1) == 255)).mean()
            expected = np.array([*means, share], np.float32)
            np.testing.assert_array_equal(grid[:, i, j], expected)


def test_grids_ignore_alpha_and_any_band_split():
    image = clipped_carrier(600, 70, seed=7)
    rgba = np.dstack([image, np.full(image.shape[:2], 9, np.uint8)])
    whole = context_grids(image)
    for got in (context_grids(rgba), RestoreSession("cpu", threads=1).grids(image)):
        for a, b in zip(got.levels, whole.levels, strict=True):
            np.testing.assert_array_equal(a, b)


def test_context_inputs_interpolate_and_clamp():
    image = np.zeros((8, 8, 3), np.uint8)
    image[:, 4:] = 255  # left cells black, right cells white at the 4-pixel level
    grids = context_grids(image)
    codes = image[0, [0, 3, 4, 7]]
    values = context_inputs(grids.levels, np.zeros(4), np.array([0, 3, 4, 7]), codes)
    finest = values[:, :4]
    # centres of the two cells are columns 1.5 and 5.5: clamped outside, linear between; the
    # colour is relative to the pixel's own (black 0, white 1), the share relative to 0.5
    np.testing.assert_allclose(finest[:, 0], [0.0, 0.75, -0.75, 0.0], atol=1e-7)
    np.testing.assert_array_equal(finest[:, 3], [1.0, 1.0, 1.0, 1.0])  # every pixel at 0/255
    assert values.shape == (4, CONTEXT_INPUTS) and values.dtype == np.float32


def context_model():
    return trained_like_model(context=True)


def context_blob(model, srgb8, gated=False) -> Blob:
    return fp32_blob(model, srgb8, gated=gated, context=True)


def torch_context_restore(model, srgb8, octaves=12) -> np.ndarray:
    from gamut_onnx.features import frequency_bands, mlp_inputs
    from gamut_onnx.fit import encode_features

    h, w = srgb8.shape[:2]
    inputs, clipped = mlp_inputs(srgb8)
    rows, cols = np.divmod(np.arange(h * w), w)
    extra = context_inputs(context_grids(srgb8).levels, rows, cols, srgb8.reshape(-1, 3))
    x = torch.from_numpy(np.concatenate([inputs.reshape(-1, 5), extra], 1))
    with torch.no_grad():
        residual = model(encode_features(x, torch.from_numpy(frequency_bands(octaves))))
    return np.clip(clipped.reshape(-1, 3) + residual.numpy(), 0, 1).reshape(clipped.shape)


@pytest.mark.parametrize("tile", [16, 50, 4096])
def test_graph_context_matches_the_fit_side_at_any_tiling(tile):
    srgb8 = clipped_carrier(97, 301, seed=2)
    model = context_model()
    expected = torch_context_restore(model, srgb8)
    got = RestoreSession("cpu", tile=tile).restore(srgb8, context_blob(model, srgb8))
    assert np.abs(got - expected).max() < 1e-4


def test_context_rows_move_the_output():
    """Zeroing a context blob's 16 context rows changes the restore: the graph reads them."""
    srgb8 = clipped_carrier(64, 64, seed=4)
    blob = context_blob(context_model(), srgb8)
    weights = [w.copy() for w in blob.weights]
    weights[0][-CONTEXT_INPUTS:] = 0
    session = RestoreSession("cpu")
    with_rows = session.restore(srgb8, blob)
    without = session.restore(srgb8, Blob(**{**blob.__dict__, "weights": weights}))
    assert np.abs(with_rows - without).max() > 1e-3


def test_blob_layout_2_round_trip_and_limits():
    srgb8 = clipped_carrier(40, 60)
    blob = context_blob(context_model(), srgb8)
    assert blob.context and blob.weights[0].shape == (12 * 10 + CONTEXT_INPUTS, 32)
    data = pack_blob(blob)
    assert data[15] == 2 and unpack_blob(data).context
    assert weight_shapes(32, 12, True)[0] == (136, 32)
    with pytest.raises(GamutError, match="do not match width 32, 12 octaves$"):
        pack_blob(Blob(**{**blob.__dict__, "context": False}))
    v1 = bytearray(data[:-4])
    v1[8], v1[13], v1[14], v1[23] = 1, 1, 1, 0  # a valid format-1 header but for layout 2
    v1 += zlib.crc32(v1).to_bytes(4, "little")
    with pytest.raises(GamutError, match="unknown input layout code 2"):
        unpack_blob(bytes(v1))


def test_baked_context_model_matches_the_session():
    import onnxruntime as ort

    from gamut_onnx.exporters.graph import bake_restore_graph
    from gamut_onnx.runtime.feeds import UNUSED_SAMPLES

    srgb8 = clipped_carrier(40, 70, seed=5)
    blob = context_blob(context_model(), srgb8, gated=True)
    session = RestoreSession("cpu")
    feeds = {
        **session.feeds(srgb8, blob),
        "origin": np.zeros(2, np.int64),
        "map_samples": UNUSED_SAMPLES,
    }
    model = bake_restore_graph(feeds, 40, 70).SerializeToString()
    baked = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    out, _ = baked.run(None, {"srgb8": srgb8})
    np.testing.assert_allclose(out, session.restore(srgb8, blob), atol=1e-6)
