"""Builds the grid graph (`grids.onnx`): the carrier context grids of input layout 2
(docs/blob-format.md section 5.2) from the carrier's pixels, so no host computes them itself.

Per block size S = 4, 16, 64, 256, a cell's four values are the mean of LIN[code] per channel
and the share of pixels with a channel at 0 or 255. Sums are float64: every LIN value is a
multiple of 2^-35 below 1, so every partial sum of up to 256 x 256 of them is exact whatever
the order, and every runtime gets the same bits. A fifth field of ones counts the pixels, so
partial cells at the far edges need no size arithmetic: zero padding adds nothing to any field.

Input  `srgb8` uint8 [h, w, 3 or 4]: a block of the carrier whose first row and column are
       multiples of 256 (or the whole image); alpha, if present, is ignored.
Output `grid4`, `grid16`, `grid64`, `grid256` float32 [4, ceil(h/S), ceil(w/S)]: that block's
       cells of each grid, planar (the restore graph reads fields as rows); a host places the
       blocks' cells side by side.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from gamut_onnx.colour import SRGB8_TO_LINEAR
from gamut_onnx.context import LEVELS
from gamut_onnx.exporters.builder import GraphBuilder, finished_model

GRAPH_NAME = "gamut_onnx_grids_v1"
GRID_OUTPUTS = tuple(f"grid{s}" for s in LEVELS)
FIELDS = 4  # linear R, G, B and the boundary flag
I64 = np.int64


def _padded_to(g: GraphBuilder, values: str, ratio: int) -> str:
    """[h, w, FIELDS] zero-padded at the bottom and right to multiples of `ratio`."""
    hw = g.op("Slice", g.op("Shape", values), g.const([0], I64), g.const([2], I64))
    r = g.const(ratio, I64)
    extra = g.op("Mod", g.op("Sub", r, g.op("Mod", hw, r)), r)  # [2]: rows, columns to add
    pads = g.op("Concat", g.const([0, 0, 0], I64), extra, g.const([0], I64), axis=0)
    return g.op("Pad", values, pads, g.const(0.0, np.float64), mode="constant")


def _block_sums(g: GraphBuilder, values: str, ratio: int) -> str:
    """Sums over ratio x ratio cells of [h, w, FIELDS] (partial cells at the far edges): rows
    first, whose sums run over long contiguous rows, then columns on a quarter of the data."""
    padded = _padded_to(g, values, ratio)
    w = g.op("Slice", g.op("Shape", padded), g.const([1], I64), g.const([2], I64))
    by_rows = g.op("Concat", g.const([-1, ratio], I64), w, g.const([FIELDS], I64), axis=0)
    rows = g.op("ReduceSum", g.op("Reshape", padded, by_rows), g.const([1], I64), keepdims=0)
    # Columns: [h/r, w/r, r F] times a 0/1 matrix that adds the r columns of each field, which
    # onnxruntime runs several times faster than a ReduceSum over that middle axis. Exact: the
    # products are x * 1 and x * 0, and every partial sum is exact (see the module docstring).
    by_columns = g.op("Reshape", rows, g.const([0, -1, ratio * FIELDS], I64))
    adder = np.tile(np.eye(FIELDS), (ratio, 1))  # [r F, F]
    return g.op("MatMul", by_columns, g.const(adder, np.float64))


def _cell_counts(g: GraphBuilder, length: str, block: int) -> str:
    """Pixels per cell along one axis of `length` [1] pixels: min(block, length - block i)."""
    b = g.const(block, I64)
    cells = g.op("Div", g.op("Add", length, g.const(block - 1, I64)), b)
    starts = g.op("Mul", g.op("Range", g.const(0, I64), g.op("Squeeze", cells), g.const(1, I64)), b)
    return g.op("Cast", g.op("Min", g.op("Sub", length, starts), b), to=TensorProto.DOUBLE)


def build_grid_graph() -> onnx.ModelProto:
    g = GraphBuilder()
    rgb = g.op("Slice", "srgb8", g.const([0], I64), g.const([3], I64), g.const([2], I64))
    # [h, w]: onnxruntime broadcasts a scalar over a trailing axis of 1 a hundred times slower.
    darkest = g.op("ReduceMin", rgb, axes=[2], keepdims=0)
    brightest = g.op("ReduceMax", rgb, axes=[2], keepdims=0)
    boundary = g.op(
        "Or",
        g.op("Equal", darkest, g.const(0, np.uint8)),
        g.op("Equal", brightest, g.const(255, np.uint8)),
    )
    # One lookup for all four fields: entries 0-255 hold LIN, 256 and 257 the flag's 0 and 1.
    table = np.concatenate([SRGB8_TO_LINEAR.astype(np.float64), [0.0, 1.0]])
    flag_index = g.op("Add", g.op("Cast", boundary, to=TensorProto.INT32), g.const(256, np.int32))
    flag_index = g.op("Unsqueeze", flag_index, g.const([2], I64))
    index = g.op("Concat", g.op("Cast", rgb, to=TensorProto.INT32), flag_index, axis=2)
    shape = g.op("Shape", index)
    flat = g.op("Reshape", index, g.const([-1], I64))
    # GatherElements: a typed loop, ten times faster than Gather's copy per element here.
    values = g.op("GatherElements", g.const(table, np.float64), flat, axis=0)
    sums = g.op("Reshape", values, shape)  # [h, w, 4] float64
    size = g.op("Slice", shape, g.const([0], I64), g.const([2], I64))
    height = g.op("Slice", size, g.const([0], I64), g.const([1], I64))
    width = g.op("Slice", size, g.const([1], I64), g.const([2], I64))
    done = 1
    for block, name in zip(LEVELS, GRID_OUTPUTS, strict=True):
        sums, done = _block_sums(g, sums, block // done), block
        counts = g.op(
            "Mul",
            g.op("Unsqueeze", _cell_counts(g, height, block), g.const([1], I64)),
            g.op("Unsqueeze", _cell_counts(g, width, block), g.const([0], I64)),
        )  # [gh, gw]
        mean = g.op("Div", sums, g.op("Unsqueeze", counts, g.const([2], I64)))  # float64
        planar = g.op("Transpose", g.op("Cast", mean, to=TensorProto.FLOAT), perm=[2, 0, 1])
        g.nodes.append(helper.make_node("Identity", [planar], [name]))
    outputs = [
        helper.make_tensor_value_info(name, TensorProto.FLOAT, [4, f"rows{s}", f"cols{s}"])
        for s, name in zip(LEVELS, GRID_OUTPUTS, strict=True)
    ]
    srgb8 = helper.make_tensor_value_info("srgb8", TensorProto.UINT8, ["h", "w", "c"])
    return finished_model(
        g,
        GRAPH_NAME,
        [srgb8],
        outputs,
        "gamut-onnx carrier context grids: a band of 8-bit sRGB rows -> block means (layout 2)",
    )
