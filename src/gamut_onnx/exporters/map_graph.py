"""The residual map's correction in the fixed graph (docs/blob-format.md section 9), inside an
`If` so that a carrier without a map pays nothing: `map_params` = (scale, weight power), and
a scale of 0 means "no map" (the samples are then not read).

At the selected pixels, with Y the carrier pixel's linear luminance, in binary64 as the spec
writes it: g = (Y + 0.01)^p, e = fl((s - 128) * (g * scale / 127.5)), then in binary32
out = clip(out + M e, 0, 1) with M the blob's carrier-transform matrix. M e is written out as
products and two additions (never a MatMul, which CUDA may run in TF32).
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from gamut_onnx.colour import SRGB8_TO_LINEAR
from gamut_onnx.exporters.builder import GraphBuilder

I64 = np.int64
F64 = np.float64
LUMINANCE = (0.2126, 0.7152, 0.0722)  # Y of linear sRGB (IEC 61966-2-1)
WEIGHT_OFFSET = 0.01


def _rows(g: GraphBuilder, values: str) -> list[str]:
    """[3, K] -> three [1, K] rows."""
    return [
        g.op("Slice", values, g.const([c], I64), g.const([c + 1], I64), g.const([0], I64))
        for c in range(3)
    ]


def _correction(g: GraphBuilder, columns: str, codes: str, matrix: str) -> str:
    """[3, K] float32 M e for the selected pixels: `columns` [3, K] their flat indices in the
    tile (once per channel), `codes` [3, K] their carrier codes (int32), `matrix` the carrier
    transform's [3, 3]."""
    samples = g.op(
        "GatherElements",
        g.op("Transpose", g.op("Reshape", "map_samples", g.const([-1, 3], I64)), perm=[1, 0]),
        columns,
        axis=1,
    )  # [3, K] uint8
    linear = g.op(
        "GatherElements", g.const(np.tile(SRGB8_TO_LINEAR, (3, 1)), F64), codes, axis=1
    )  # [3, K] LIN[code] in binary64 (exact)
    red, green, blue = _rows(g, linear)
    luminance = g.op(
        "Add",
        g.op(
            "Add",
            g.op("Mul", red, g.const(LUMINANCE[0], F64)),
            g.op("Mul", green, g.const(LUMINANCE[1], F64)),
        ),
        g.op("Mul", blue, g.const(LUMINANCE[2], F64)),
    )  # [1, K]
    params = g.op("Cast", "map_params", to=TensorProto.DOUBLE)
    scale = g.op("Slice", params, g.const([0], I64), g.const([1], I64))
    power = g.op("Slice", params, g.const([1], I64), g.const([2], I64))
    weight = g.op("Pow", g.op("Add", luminance, g.const(WEIGHT_OFFSET, F64)), power)  # [1, K]
    step = g.op("Mul", weight, g.op("Div", scale, g.const(127.5, F64)))
    centred = g.op("Sub", g.op("Cast", samples, to=TensorProto.DOUBLE), g.const(128.0, F64))
    error = g.op("Cast", g.op("Mul", centred, step), to=TensorProto.FLOAT)  # [3, K]: e
    first, second, third = (
        g.op(
            "Mul",
            e,
            g.op("Slice", matrix, g.const([c], I64), g.const([c + 1], I64), g.const([1], I64)),
        )
        for c, e in enumerate(_rows(g, error))
    )  # [3, K] each: M[i][c] e_c for output channel i
    return g.op("Add", g.op("Add", first, second), third)


def with_map(g: GraphBuilder, restored: str, columns: str, codes: str, matrix: str) -> str:
    """`restored` [3, K] with the residual map's correction added and clipped to [0, 1], or
    unchanged when `map_params`' scale is 0."""
    sub = GraphBuilder(prefix="map_")
    corrected = corrected_by_map(sub, restored, columns, codes, matrix)
    scale = g.op("Slice", "map_params", g.const([0], I64), g.const([1], I64))
    present = g.op("Greater", scale, g.const([0.0]))
    names = ("with_map", "without_map", "without_map_out")
    return g.when(present, sub, corrected, restored, names)


def corrected_by_map(
    sub: GraphBuilder, restored: str, columns: str, codes: str, matrix: str
) -> str:
    """The then-branch of `with_map`: clip(restored + M e, 0, 1)."""
    correction = _correction(sub, columns, codes, matrix)
    return sub.op("Clip", sub.op("Add", restored, correction), sub.const(0.0), sub.const(1.0))
