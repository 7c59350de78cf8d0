"""Builds the output graph (`output.onnx`): restored linear ProPhoto -> encoded samples of the
output colour space, so that the conversion every host writes files with is one shared graph.

Inputs                                    Outputs
  prophoto float32 [h, w, 3]  linear        encoded float32 [h, w, 3]  in [0, 1], curve applied
  matrix   float32 [3, 3]     ProPhoto ->   codes   uint16 [h, w, 3]   round(encoded * top), or
                              output linear          [0, 0, 3] when top is 0
  curve    float32 [3, n]     per channel, the encoding curve at x = (i / (n - 1))^4; n = 0:
                              no curve (linear output)
  ootf     float32 [5]        (scale, exponent, wR, wG, wB): x <- clip(d * max(d . w, 1e-12)^e)
                              with d = scale x (BT.2100 HLG's inverse OOTF); exponent 0: none
  top      float32 []         the largest code (65535, 4095, 1023, 255), 0 for float output

The curve is sampled on a fourth-root grid: curves are steepest near black, where a uniform
grid of 4,097 points would be coarse, while in x^(1/4) every curve we write (sRGB, ROMM,
gamma 2.2, BT.709, PQ, HLG, an ICC profile's TRC) is smooth enough that linear interpolation
stays within one 16-bit code of the exact curve.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from gamut_onnx.exporters.builder import GraphBuilder, finished_model

GRAPH_NAME = "gamut_onnx_output_v1"
I64 = np.int64


def _rows(g: GraphBuilder, planes: str) -> list[str]:
    """The three [1, N] rows of a [3, N] tensor."""
    return [
        g.op("Slice", planes, g.const([c], I64), g.const([c + 1], I64), g.const([0], I64))
        for c in range(3)
    ]


def _to_output_linear(g: GraphBuilder, planes: str) -> str:
    """[3, N] ProPhoto planes -> [3, N] output linear, clipped: products and two additions per
    channel (a MatMul could run in TF32 on CUDA). Planes, not pixels: onnxruntime broadcasts
    [1, N] x [3, 1] fast and [N, 3] x [3] a row at a time."""
    columns = [
        g.op("Slice", "matrix", g.const([c], I64), g.const([c + 1], I64), g.const([1], I64))
        for c in range(3)
    ]  # [3, 1]: M[i][c] for every output channel i
    first, second, third = (
        g.op("Mul", plane, column) for plane, column in zip(_rows(g, planes), columns, strict=True)
    )
    linear = g.op("Add", g.op("Add", first, second), third)
    return g.op("Clip", linear, g.const(0.0), g.const(1.0))


def _branch(sub: GraphBuilder, name: str, result: str) -> onnx.GraphProto:
    return helper.make_graph(
        sub.nodes,
        name,
        [],
        [helper.make_tensor_value_info(result, TensorProto.FLOAT, None)],
        sub.initializers,
    )


def _identity(name: str, value: str) -> onnx.GraphProto:
    out = f"{name}_out"
    return helper.make_graph(
        [helper.make_node("Identity", [value], [out])],
        name,
        [],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
    )


def _ootf_entry(g: GraphBuilder, first: int, last: int) -> str:
    return g.op("Slice", "ootf", g.const([first], I64), g.const([last], I64))


def _with_ootf(g: GraphBuilder, linear: str) -> str:
    """HLG's inverse OOTF on [3, N] planes when `ootf`'s exponent is not 0, else unchanged."""
    sub = GraphBuilder(prefix="ootf_")
    display = sub.op("Mul", linear, _ootf_entry(sub, 0, 1))  # [3, N]
    weights = sub.op("Unsqueeze", _ootf_entry(sub, 2, 5), sub.const([1], I64))  # [3, 1]
    red, green, blue = _rows(sub, sub.op("Mul", display, weights))
    luma = sub.op("Max", sub.op("Add", sub.op("Add", red, green), blue), sub.const(1e-12))
    gain = sub.op("Pow", luma, _ootf_entry(sub, 1, 2))  # [1, N]
    scene = sub.op("Clip", sub.op("Mul", display, gain), sub.const(0.0), sub.const(1.0))
    present = g.op("Not", g.op("Equal", _ootf_entry(g, 1, 2), g.const([0.0])))
    return g.op(
        "If",
        present,
        then_branch=_branch(sub, "with_ootf", scene),
        else_branch=_identity("without_ootf", linear),
    )


def _with_curve(g: GraphBuilder, linear: str) -> str:
    """[3, N] planes encoded through `curve` (linear interpolation on the x^(1/4) grid), or
    unchanged when the curve has no samples."""
    sub = GraphBuilder(prefix="curve_")
    samples = sub.item(sub.op("Shape", "curve"), 1)  # n
    segments = sub.op("Cast", sub.op("Sub", samples, sub.const(1, I64)), to=TensorProto.FLOAT)
    position = sub.op("Mul", sub.op("Sqrt", sub.op("Sqrt", linear)), segments)  # [3, N]
    segment = sub.op("Min", sub.op("Floor", position), sub.op("Sub", segments, sub.const(1.0)))
    fraction = sub.op("Sub", position, segment)
    offsets = sub.op(
        "Cast",
        sub.op("Mul", sub.const([[0], [1], [2]], I64), samples),
        to=TensorProto.FLOAT,
    )  # [3, 1]: where each channel's table starts in the flattened curve (exact below 2^24)
    start = sub.op("Cast", sub.op("Add", segment, offsets), to=TensorProto.INT64)
    table = sub.op("Reshape", "curve", sub.const([-1], I64))
    flat_start = sub.op("Reshape", start, sub.const([-1], I64))
    low = sub.op("GatherElements", table, flat_start, axis=0)
    high = sub.op("GatherElements", table, sub.op("Add", flat_start, sub.const(1, I64)), axis=0)
    shape = sub.op("Shape", linear)
    low, high = (sub.op("Reshape", v, shape) for v in (low, high))
    encoded = sub.op("Add", low, sub.op("Mul", fraction, sub.op("Sub", high, low)))
    n = g.op("Slice", g.op("Shape", "curve"), g.const([1], I64), g.const([2], I64))
    return g.op(
        "If",
        g.op("Greater", n, g.const([1], I64)),
        then_branch=_branch(sub, "with_curve", encoded),
        else_branch=_identity("without_curve", linear),
    )


def _codes(g: GraphBuilder, encoded: str, shape: str) -> str:
    """uint16 round(encoded * top) in the image's `shape`, or an empty [0, 0, 3] when `top`
    is 0 (float output needs no codes)."""
    sub = GraphBuilder(prefix="codes_")
    rounded = sub.op("Round", sub.op("Mul", encoded, "top"))
    codes = sub.op("Reshape", sub.op("Cast", rounded, to=TensorProto.UINT16), shape)
    none = GraphBuilder(prefix="nocodes_")
    empty = none.const(np.zeros((0, 0, 3)), np.uint16)
    u16 = TensorProto.UINT16
    return g.op(
        "If",
        g.op("Greater", "top", g.const(0.0)),
        then_branch=helper.make_graph(
            sub.nodes,
            "codes",
            [],
            [helper.make_tensor_value_info(codes, u16, None)],
            sub.initializers,
        ),
        else_branch=helper.make_graph(
            [helper.make_node("Identity", [empty], ["no_codes_out"])],
            "no_codes",
            [],
            [helper.make_tensor_value_info("no_codes_out", u16, None)],
            none.initializers,
        ),
    )


def build_output_graph() -> onnx.ModelProto:
    g = GraphBuilder()
    shape = g.op("Shape", "prophoto")
    planes = g.op("Transpose", g.op("Reshape", "prophoto", g.const([-1, 3], I64)), perm=[1, 0])
    encoded_planes = _with_curve(g, _with_ootf(g, _to_output_linear(g, planes)))
    encoded = g.op("Reshape", g.op("Transpose", encoded_planes, perm=[1, 0]), shape)
    g.nodes.append(helper.make_node("Identity", [encoded], ["encoded"]))
    g.nodes.append(helper.make_node("Identity", [_codes(g, encoded, shape)], ["codes"]))
    f32 = TensorProto.FLOAT
    inputs = [
        helper.make_tensor_value_info("prophoto", f32, ["h", "w", 3]),
        helper.make_tensor_value_info("matrix", f32, [3, 3]),
        helper.make_tensor_value_info("curve", f32, [3, "n"]),
        helper.make_tensor_value_info("ootf", f32, [5]),
        helper.make_tensor_value_info("top", f32, []),
    ]
    outputs = [
        helper.make_tensor_value_info("encoded", f32, ["h", "w", 3]),
        helper.make_tensor_value_info("codes", TensorProto.UINT16, ["ch", "cw", 3]),
    ]
    return finished_model(
        g,
        GRAPH_NAME,
        inputs,
        outputs,
        "gamut-onnx output: linear ProPhoto -> encoded samples (matrix, HLG OOTF, curve, codes)",
    )
