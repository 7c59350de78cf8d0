"""Carrier context: what the pixels around a pixel say, as extra MLP inputs (input layout 2).

A clipped pixel alone does not say how far its colour was pushed; the mean colour and the share
of clipped pixels around it do (docs/design.md, "Context from the carrier"). Both come from the
carrier only, so every decoder can compute them: per image, a grid of block means at each of
`LEVELS` block sizes (the grid graph, exporters/grid_graph.py), which the restore graph
interpolates bilinearly at pixel centres. A tiled restore then needs no halo, only the grids.

`context_inputs` is the fit's numpy twin of the restore graph's interpolation (the fit needs
the same inputs for its training pixels), bit-identical to it. docs/blob-format.md section 5.2
is the normative text.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gamut_onnx.colour import SRGB8_TO_LINEAR

LEVELS = (4, 16, 64, 256)  # block sizes in pixels; each divides the next
VALUES_PER_CELL = 4  # mean linear R, G, B of the carrier and the share of boundary pixels
CONTEXT_INPUTS = VALUES_PER_CELL * len(LEVELS)


def _axis(position: np.ndarray, block: int, cells: int) -> tuple[np.ndarray, ...]:
    """(first cell, second cell, weight of the second) along one axis, in the graph's float32
    order: g = (p + 0.5) / block - 0.5; i0 = clip(floor(g), 0, cells - 1)."""
    f32 = np.float32
    g = (position.astype(f32) + f32(0.5)) / f32(block) - f32(0.5)
    i0 = np.clip(np.floor(g), 0, cells - 1).astype(np.int64)
    weight = np.clip(g - i0.astype(f32), f32(0.0), f32(1.0))
    return i0, np.minimum(i0 + 1, cells - 1), weight


def _level(grid: np.ndarray, block: int, rows, cols, reference) -> np.ndarray:
    """The four inputs of one level, [N, 4]: the bilinear value at the pixel centres from the
    planar grid [4, gh, gw], as ((q00 w00 + q01 w01) + q10 w10) + q11 w11 over the four corner
    cells in float32 (the graph's order), relative to `reference`, times 2."""
    f32 = np.float32
    gh, gw = grid.shape[1:]
    y0, y1, t = _axis(rows, block, gh)
    x0, x1, u = _axis(cols, block, gw)
    not_t, not_u = f32(1.0) - t, f32(1.0) - u
    cells = grid.reshape(VALUES_PER_CELL, -1)
    value = None
    for y, x, weight in ((y0, x0, not_t * not_u), (y0, x1, not_t * u), (y1, x0, t * not_u),
                         (y1, x1, t * u)):  # fmt: skip
        term = cells[:, y * gw + x].T * weight[:, None]
        value = term if value is None else value + term
    return (value - reference) * f32(2.0)


def context_inputs(
    grids: Sequence[np.ndarray], rows: np.ndarray, cols: np.ndarray, codes: np.ndarray
) -> np.ndarray:
    """[N, 16] float32 context inputs of the pixels at (rows, cols) of the image, whose carrier
    codes are `codes` [N, 3], from the four grids of the grid graph (one per block size),
    bit-identical to the restore graph's: per level, the bilinear value v of each cell field at
    the pixel centre (edge cells clamped), as 2 (v - ref) with ref the pixel's own LIN[code]
    for the colour fields (how its surroundings differ from it) and 0.5 for the boundary
    share, so every input lies in [-2, 2]."""
    f32 = np.float32
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    reference = np.empty((len(rows), VALUES_PER_CELL), f32)
    reference[:, :3] = SRGB8_TO_LINEAR[np.asarray(codes)[:, :3]]
    reference[:, 3] = 0.5
    levels = [
        _level(grid, block, rows, cols, reference)
        for grid, block in zip(grids, LEVELS, strict=True)
    ]
    return np.concatenate(levels, axis=1)
