"""Carrier context: what the pixels around a pixel say, as extra MLP inputs (input layout 2).

A clipped pixel alone does not say how far its colour was pushed; the mean colour and the share
of clipped pixels around it do (docs/design.md, "Context from the carrier"). Both come from the
carrier only, so every decoder can compute them: per image, a grid of block means at each of
`LEVELS` block sizes, which the fixed graph interpolates bilinearly at pixel centres. A tiled
restore then needs no halo, only the small per-image grids.

Every runtime must produce the same bits, so a block mean is defined as an exact sum: the sum
of the float32 table values LIN[code] in float64 (every partial sum of up to 256 x 256 of them
is exact, whatever the order), divided by the pixel count in float64 and rounded to float32.
docs/blob-format.md section 5.2 is the normative text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gamut_onnx.colour import SRGB8_TO_LINEAR

LEVELS = (4, 16, 64, 256)  # block sizes in pixels; each divides the next
VALUES_PER_CELL = 4  # mean linear R, G, B of the carrier and the share of boundary pixels
CONTEXT_INPUTS = VALUES_PER_CELL * len(LEVELS)
_BAND_ROWS = LEVELS[-1]  # rows summed at a time: whole cells of every level
_LINEAR64 = SRGB8_TO_LINEAR.astype(np.float64)


@dataclass(frozen=True)
class ContextGrids:
    """The graph's `context` and `context_layout` inputs for one image."""

    values: np.ndarray  # float32 [cells, 4]: every level's grid, row-major, one after another
    layout: np.ndarray  # int64 [levels, 4]: block size, grid rows, grid columns, first cell


def _cells(length: int, block: int) -> int:
    return -(-length // block)


def _block_sums(values: np.ndarray, block: int) -> np.ndarray:
    """Sums over block x block cells of an [h, w, c] array whose h and w are multiples of block."""
    h, w, c = values.shape
    return values.reshape(h // block, block, w // block, block, c).sum(1).sum(2)


def _coarser(sums: np.ndarray, ratio: int) -> np.ndarray:
    """Sums over ratio x ratio groups of a grid of sums (partial groups at the far edges)."""
    h, w, c = sums.shape
    padded = np.zeros((_cells(h, ratio) * ratio, _cells(w, ratio) * ratio, c))
    padded[:h, :w] = sums
    return _block_sums(padded, ratio)


def _counts(h: int, w: int, block: int) -> np.ndarray:
    """Pixels in each cell of a block grid over an h x w image (edge cells are partial)."""
    rows = np.minimum(block, h - block * np.arange(_cells(h, block)))
    cols = np.minimum(block, w - block * np.arange(_cells(w, block)))
    return np.outer(rows, cols).astype(np.float64)


def _finest_sums(band: np.ndarray) -> np.ndarray:
    """[h/4, w/4, 4] float64 sums of LIN[code] per channel and of boundary pixels (a channel
    at 0 or 255) over the finest cells of a band of carrier rows, zero-padded at the far edges."""
    h, w = band.shape[:2]
    block = LEVELS[0]
    padded = np.zeros((_cells(h, block) * block, _cells(w, block) * block, VALUES_PER_CELL))
    red, green, blue = band[..., 0], band[..., 1], band[..., 2]
    darkest = np.minimum(np.minimum(red, green), blue)
    brightest = np.maximum(np.maximum(red, green), blue)
    padded[:h, :w, :3] = _LINEAR64[band]
    padded[:h, :w, 3] = (darkest == 0) | (brightest == 255)
    return _block_sums(padded, block)


def context_grids(srgb8: np.ndarray) -> ContextGrids:
    """The block-mean grids of an 8-bit sRGB carrier (HxWx3 or HxWx4; alpha is ignored).

    Bands of 256 rows at a time, so memory stays a band of float64 sums deep whatever the
    image size; each coarser level's sums are the exact sums of the finer level's.
    """
    h, w = srgb8.shape[:2]
    shapes = [(_cells(h, s), _cells(w, s)) for s in LEVELS]
    grids = [np.empty((gh, gw, VALUES_PER_CELL), np.float32) for gh, gw in shapes]
    for top in range(0, h, _BAND_ROWS):
        band = srgb8[top : top + _BAND_ROWS, :, :3]
        sums, size = _finest_sums(band), LEVELS[0]
        for level, block in enumerate(LEVELS):
            if block != size:
                sums, size = _coarser(sums, block // size), block
            counts = _counts(band.shape[0], w, block)
            first = top // block
            grids[level][first : first + sums.shape[0]] = sums / counts[..., None]
    values = np.concatenate([g.reshape(-1, VALUES_PER_CELL) for g in grids])
    starts = np.cumsum([0] + [gh * gw for gh, gw in shapes[:-1]])
    layout = np.array(
        [(s, gh, gw, first) for s, (gh, gw), first in zip(LEVELS, shapes, starts, strict=True)],
        np.int64,
    )
    return ContextGrids(values, layout)


def empty_grids() -> ContextGrids:
    """What a layout-1 (context-free) blob gets: one zero cell per level. Its weights for the
    context inputs are zero, so these values never reach the output."""
    layout = np.array([(1, 1, 1, k) for k in range(len(LEVELS))], np.int64)
    return ContextGrids(np.zeros((len(LEVELS), VALUES_PER_CELL), np.float32), layout)


def _axis(position: np.ndarray, block: int, cells: int) -> tuple[np.ndarray, ...]:
    """(first cell, second cell, weight of the second) along one axis, in the graph's float32
    order: g = (p + 0.5) / block - 0.5; i0 = clip(floor(g), 0, cells - 1)."""
    f32 = np.float32
    g = (position.astype(f32) + f32(0.5)) / f32(block) - f32(0.5)
    i0 = np.clip(np.floor(g), 0, cells - 1).astype(np.int64)
    weight = np.clip(g - i0.astype(f32), f32(0.0), f32(1.0))
    return i0, np.minimum(i0 + 1, cells - 1), weight


def _level(grids: ContextGrids, level: int, rows, cols, reference) -> np.ndarray:
    """The four inputs of one level, [N, 4]: the bilinear value as a weighted sum over the four
    corner cells (00, 01, 10, 11), relative to `reference`, times 2."""
    f32 = np.float32
    block, gh, gw, first = (int(v) for v in grids.layout[level])
    y0, y1, t = _axis(rows, block, gh)
    x0, x1, u = _axis(cols, block, gw)
    not_t, not_u = f32(1.0) - t, f32(1.0) - u
    weights = np.stack([not_t * not_u, not_t * u, t * not_u, t * u], axis=1)
    top, bottom = first + y0 * gw, first + y1 * gw
    corners = np.stack([top + x0, top + x1, bottom + x0, bottom + x1], axis=1)
    value = (grids.values[corners] * weights[:, :, None]).sum(axis=1, dtype=f32)
    return (value - reference) * f32(2.0)


def context_inputs(
    grids: ContextGrids, rows: np.ndarray, cols: np.ndarray, codes: np.ndarray
) -> np.ndarray:
    """[N, 16] float32 context inputs of the pixels at (rows, cols) of the image, whose carrier
    codes are `codes` [N, 3], bit-identical to the fixed graph's: per level, the bilinear value
    v of each cell field at the pixel centre (edge cells clamped), as 2 (v - ref) with ref the
    pixel's own LIN[code] for the colour fields (how its surroundings differ from it) and 0.5
    for the boundary share, so every input lies in [-2, 2]."""
    f32 = np.float32
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    reference = np.empty((len(rows), VALUES_PER_CELL), f32)
    reference[:, :3] = SRGB8_TO_LINEAR[np.asarray(codes)[:, :3]]
    reference[:, 3] = 0.5
    levels = [_level(grids, k, rows, cols, reference) for k in range(len(grids.layout))]
    return np.concatenate(levels, axis=1)
