"""The MLP's inputs, computed in numpy exactly as the fixed ONNX graph computes them.

Fitting and the parity tests use these functions; the graph (exporters/graph.py) repeats the
same float32 operations in the same order, so the MLP sees bit-identical inputs in both places.
That matters: the highest octave multiplies inputs by 2^11 * pi, which turns a one-ulp input
difference into a visible output difference.
"""

from __future__ import annotations

import numpy as np

from gamut_onnx.colour import srgb8_to_prophoto

INPUT_CHANNELS = 5  # x, y, R, G, B


def frequency_bands(octaves: int) -> np.ndarray:
    """pi * 2^k for k = 0..octaves-1, as float32 (the graph computes pi * Pow(2, k))."""
    return np.float32(np.pi) * np.power(np.float32(2.0), np.arange(octaves, dtype=np.float32))


def coordinate_scale(length: int) -> np.float32:
    """2 / (length - 1): maps pixel index 0..length-1 onto [-1, 1] (length 1 maps to -1)."""
    return np.float32(2.0) / np.float32(max(length - 1, 1))


def mlp_inputs(
    srgb8: np.ndarray,
    origin: tuple[int, int] = (0, 0),
    image_size: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(inputs HxWx5 in [-1, 1], clipped linear ProPhoto HxWx3) for a tile of the carrier.

    `origin` is the tile's (row, col) in the full image and `image_size` the full (H, W), so
    the coordinates of a tile match those of the same pixels in the whole image.
    """
    h, w = srgb8.shape[:2]
    full_h, full_w = image_size or (h, w)
    cols = np.arange(origin[1], origin[1] + w, dtype=np.float32)
    rows = np.arange(origin[0], origin[0] + h, dtype=np.float32)
    x = cols * coordinate_scale(full_w) - np.float32(1.0)
    y = rows * coordinate_scale(full_h) - np.float32(1.0)
    prophoto = srgb8_to_prophoto(srgb8)
    inputs = np.empty((h, w, INPUT_CHANNELS), dtype=np.float32)
    inputs[..., 0] = x[None, :]
    inputs[..., 1] = y[:, None]
    inputs[..., 2:] = prophoto * np.float32(2.0) - np.float32(1.0)
    return inputs, prophoto


def mlp_inputs_at(srgb8: np.ndarray, flat_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(inputs Nx5, clipped ProPhoto Nx3) of the pixels at `flat_index` (raster order) only.

    Bit-identical to the same rows of `mlp_inputs(srgb8)`, without touching the other pixels:
    a fit samples a few hundred thousand pixels of a 12 MP image.
    """
    h, w = srgb8.shape[:2]
    rows, cols = np.divmod(np.asarray(flat_index, np.int64), w)
    prophoto = srgb8_to_prophoto(srgb8.reshape(-1, srgb8.shape[-1])[flat_index, :3])
    inputs = np.empty((len(prophoto), INPUT_CHANNELS), dtype=np.float32)
    inputs[:, 0] = cols.astype(np.float32) * coordinate_scale(w) - np.float32(1.0)
    inputs[:, 1] = rows.astype(np.float32) * coordinate_scale(h) - np.float32(1.0)
    inputs[:, 2:] = prophoto * np.float32(2.0) - np.float32(1.0)
    return inputs, prophoto
