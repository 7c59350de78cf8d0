"""Carrier context (input layout 2): exact grids, the graph's bilinear inputs, blobs and fits."""

import math
import zlib

import numpy as np
import pytest
from conftest import fp32_blob, trained_like_model

from gamut_onnx.blob import Blob, pack_blob, unpack_blob, weight_shapes
from gamut_onnx.colour import SRGB8_TO_LINEAR
from gamut_onnx.context import (
    CONTEXT_INPUTS,
    LEVELS,
    context_grids,
    context_inputs,
    empty_grids,
)
from gamut_onnx.errors import GamutError
from gamut_onnx.runtime import RestoreSession

torch = pytest.importorskip("torch")


def clipped_carrier(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    image[: h // 3, : w // 2, 0] = 255  # a clipped region
    image[h // 2 :, w // 3 :, 2] = 0
    return image


def test_grids_are_exact_block_means_with_partial_edge_cells():
    image = clipped_carrier(300, 530)  # partial cells at every level, two 256-row bands
    grids = context_grids(image)
    for (block, rows, cols, first), size in zip(grids.layout, LEVELS, strict=True):
        assert block == size and (rows, cols) == (-(-300 // size), -(-530 // size))
        for i, j in [(0, 0), (rows - 1, cols - 1), (rows // 2, cols - 1), (rows - 1, 0)]:
            cell = image[i * size : (i + 1) * size, j * size : (j + 1) * size].reshape(-1, 3)
            linear = SRGB8_TO_LINEAR[cell].astype(np.float64)
            means = [math.fsum(linear[:, c]) / len(cell) for c in range(3)]
            share = ((cell.min(1) == 0) | (cell.max(1) == 255)).mean()
            expected = np.array([*means, share], np.float32)
            np.testing.assert_array_equal(grids.values[first + i * cols + j], expected)
    assert grids.values.shape == (grids.layout[-1, 3] + grids.layout[-1, 1:3].prod(), 4)


def test_context_inputs_interpolate_and_clamp():
    image = np.zeros((8, 8, 3), np.uint8)
    image[:, 4:] = 255  # left cells black, right cells white at the 4-pixel level
    grids = context_grids(image)
    codes = image[0, [0, 3, 4, 7]]
    values = context_inputs(grids, np.array([0, 0, 0, 0]), np.array([0, 3, 4, 7]), codes)
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
    extra = context_inputs(context_grids(srgb8), rows, cols, srgb8.reshape(-1, 3))
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

    srgb8 = clipped_carrier(40, 70, seed=5)
    blob = context_blob(context_model(), srgb8, gated=True)
    with pytest.raises(ValueError, match="grids"):
        bake_restore_graph(blob)
    model = bake_restore_graph(blob, context_grids(srgb8)).SerializeToString()
    baked = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    out, _ = baked.run(None, {"srgb8": srgb8})
    np.testing.assert_allclose(out, RestoreSession("cpu").restore(srgb8, blob), atol=1e-6)


def test_empty_grids_feed_a_layout_1_blob():
    grids = empty_grids()
    assert grids.values.shape == (len(LEVELS), 4) and not grids.values.any()
    assert grids.layout[:, :3].tolist() == [[1, 1, 1]] * len(LEVELS)
