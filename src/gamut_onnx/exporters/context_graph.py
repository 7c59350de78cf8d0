"""The carrier context (input layout 2) in the fixed graph: gamut_onnx/context.py's
`context_inputs` as ONNX, inside an `If` so that a layout-1 blob does not pay for it.

The grids come in as four inputs, one per block size, as the grid graph (`grids.onnx`) makes
them; a layout-1 blob's w1 has no context rows, and the else branch passes the first layer
through unchanged without reading the grids.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

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


def _column(g: GraphBuilder, *vectors: str) -> str:
    """[K] vectors side by side as [K, n]."""
    return g.op("Concat", *(g.op("Unsqueeze", v, g.const([1], I64)) for v in vectors), axis=1)


def _level(g: GraphBuilder, block: int, grid: str, row: str, col: str, reference: str) -> str:
    """The four inputs of one level, [K, 4]: context._level in the graph."""
    shape = g.op("Shape", grid)
    rows, cols = g.item(shape, 0), g.item(shape, 1)
    y0, y1, t = _axis(g, row, block, rows)
    x0, x1, u = _axis(g, col, block, cols)
    one = g.const(1.0)
    not_t, not_u = g.op("Sub", one, t), g.op("Sub", one, u)
    weights = _column(
        g,
        g.op("Mul", not_t, not_u),
        g.op("Mul", not_t, u),
        g.op("Mul", t, not_u),
        g.op("Mul", t, u),
    )  # [K, 4] for the corners 00, 01, 10, 11
    top, bottom = (g.op("Mul", y, cols) for y in (y0, y1))
    corners = _column(
        g,
        g.op("Add", top, x0),
        g.op("Add", top, x1),
        g.op("Add", bottom, x0),
        g.op("Add", bottom, x1),
    )
    cells = g.op("Reshape", grid, g.const([-1, 4], I64))
    values = g.op("Gather", cells, corners, axis=0)  # [K, 4 corners, 4 fields]
    weighted = g.op("Mul", values, g.op("Unsqueeze", weights, g.const([2], I64)))
    # The sum over the corners as a MatMul with a 0/1 matrix: ReduceSum over a middle axis
    # was half of the context's time in onnxruntime (each output adds four exact products).
    flat = g.op("Reshape", weighted, g.const([-1, 16], I64))
    value = g.op("MatMul", flat, g.const(np.tile(np.eye(4, dtype=np.float32), (4, 1))))
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
    [K, 3]; `first` unchanged when `has_context` (a [1] bool) is false."""
    sub = GraphBuilder(prefix="ctx_")
    image_row = sub.op("Add", row, sub.item("origin", 0))
    image_col = sub.op("Add", col, sub.item("origin", 1))
    own = sub.op("Gather", sub.const(SRGB8_TO_LINEAR), sub.op("Cast", codes, to=TensorProto.INT32))
    half = sub.op(
        "Add",
        sub.op(
            "Mul",
            sub.op("Slice", own, *(sub.const([k], I64) for k in (0, 1, 1))),
            sub.const([[0.0]]),
        ),
        sub.const([[0.5]]),
    )  # [K, 1] of 0.5
    reference = sub.op("Concat", own, half, axis=1)  # [K, 4]: LIN of R, G, B, and 0.5
    levels = [
        _level(sub, block, grid, image_row, image_col, reference)
        for block, grid in zip(LEVELS, GRID_INPUTS, strict=True)
    ]
    inputs = sub.op("Concat", *levels, axis=1)  # [K, 16]
    total = sub.op("Add", first, sub.op("MatMul", inputs, w1_context))
    f32 = TensorProto.FLOAT
    then_branch = helper.make_graph(
        sub.nodes,
        "with_context",
        [],
        [helper.make_tensor_value_info(total, f32, None)],
        sub.initializers,
    )
    plain = helper.make_node("Identity", [first], ["plain_first"])
    else_branch = helper.make_graph(
        [plain], "without_context", [], [helper.make_tensor_value_info("plain_first", f32, None)]
    )
    return g.op("If", has_context, then_branch=then_branch, else_branch=else_branch)
