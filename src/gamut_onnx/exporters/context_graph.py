"""The carrier context (input layout 2) in the fixed graph: gamut_onnx/context.py's
`context_inputs` as ONNX, inside an `If` so that a layout-1 blob does not pay for it.

The grids come in as four planar inputs ([4 fields, rows, cols]), one per block size, as the
grid graph (`grids.onnx`) makes them; a layout-1 blob's w1 has no context rows, and the else
branch passes the first layer through unchanged without reading the grids.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from gamut_onnx.colour import SRGB8_TO_LINEAR
from gamut_onnx.context import LEVELS
from gamut_onnx.exporters.builder import GraphBuilder

I64 = np.int64
GRID_INPUTS = tuple(f"grid{s}" for s in LEVELS)


def _axis(g: GraphBuilder, position: str, block: int, cells: str) -> tuple[str, str, str]:
    """context._axis: (first cell, second cell, weight of the second) along one axis, [K]."""
    f32 = TensorProto.FLOAT
    scaled = g.op(
        "Sub",
        g.op("Div", g.op("Add", g.op("Cast", position, to=f32), g.const(0.5)), g.const(block)),
        g.const(0.5),
    )
    last = g.op("Sub", cells, g.const(1, I64))
    floor = g.op("Cast", g.op("Floor", scaled), to=TensorProto.INT64)
    first = g.op("Max", g.op("Min", floor, last), g.const(0, I64))
    weight = g.op(
        "Clip", g.op("Sub", scaled, g.op("Cast", first, to=f32)), g.const(0.0), g.const(1.0)
    )
    return first, g.op("Min", g.op("Add", first, g.const(1, I64)), last), weight


def _level(g: GraphBuilder, block: int, grid: str, row: str, col: str, reference: str) -> str:
    """The four inputs of one level, [4, K]: context._level in the graph. `grid` is planar,
    [4 fields, rows, cols]; every corner is one GatherElements of its cells' four fields."""
    shape = g.op("Shape", grid)
    rows, cols = g.item(shape, 1), g.item(shape, 2)
    y0, y1, t = _axis(g, row, block, rows)
    x0, x1, u = _axis(g, col, block, cols)
    one = g.const(1.0)
    not_t, not_u = g.op("Sub", one, t), g.op("Sub", one, u)
    cells = g.op("Reshape", grid, g.const([4, -1], I64))  # [4, rows * cols]
    four = g.op("Concat", g.const([4], I64), g.op("Shape", row), axis=0)
    value = None
    for y, x, weight in (
        (y0, x0, g.op("Mul", not_t, not_u)),
        (y0, x1, g.op("Mul", not_t, u)),
        (y1, x0, g.op("Mul", t, not_u)),
        (y1, x1, g.op("Mul", t, u)),
    ):  # corners 00, 01, 10, 11, summed in this order: ((q00 w00 + q01 w01) + q10 w10) + q11 w11
        cell = g.op("Add", g.op("Mul", y, cols), x)
        corner = g.op(
            "GatherElements",
            cells,
            g.op("Expand", g.op("Unsqueeze", cell, g.const([0], I64)), four),
            axis=1,
        )  # [4, K]
        term = g.op("Mul", corner, g.op("Unsqueeze", weight, g.const([0], I64)))
        value = term if value is None else g.op("Add", value, term)
    return g.op("Mul", g.op("Sub", value, reference), g.const(2.0))


def with_context(
    g: GraphBuilder,
    first: str,
    row: str,
    col: str,
    codes: str,
    w1_context: str,
    has_context: str,
) -> str:
    """`first` (the first layer's pre-activation, [K, D]) plus the context inputs times the
    context rows of w1, for the selected pixels at tile rows/columns [K] with carrier codes
    [3, K] (int32); `first` unchanged when `has_context` (a [1] bool) is false."""
    sub = GraphBuilder(prefix="ctx_")
    total = context_total(sub, first, row, col, codes, w1_context)
    names = ("with_context", "without_context", "plain_first")
    return g.when(has_context, sub, total, first, names)


def context_total(
    sub: GraphBuilder, first: str, row: str, col: str, codes: str, w1_context: str
) -> str:
    """The then-branch of `with_context`: `first` plus the context rows' contribution."""
    image_row = sub.op("Add", row, sub.item("origin", 0))
    image_col = sub.op("Add", col, sub.item("origin", 1))
    table = sub.const(np.tile(SRGB8_TO_LINEAR, (3, 1)))  # [3, 256]
    own = sub.op("GatherElements", table, codes, axis=1)  # [3, K]: LIN of R, G, B
    red = sub.op("Slice", own, sub.const([0], I64), sub.const([1], I64), sub.const([0], I64))
    half = sub.op("Add", sub.op("Mul", red, sub.const(0.0)), sub.const(0.5))  # [1, K] of 0.5
    reference = sub.op("Concat", own, half, axis=0)  # [4, K]
    levels = [
        _level(sub, block, grid, image_row, image_col, reference)
        for block, grid in zip(LEVELS, GRID_INPUTS, strict=True)
    ]
    inputs = sub.op("Concat", *levels, axis=0)  # [16, K]
    rows = sub.op("Transpose", inputs, perm=[1, 0])  # [K, 16]: pixels as rows, as `first`
    return sub.op("Add", first, sub.op("MatMul", rows, w1_context))
