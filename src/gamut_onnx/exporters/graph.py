"""Builds the fixed restore graph with the onnx helper API.

One graph restores every image: the MLP weights are graph inputs, so a runtime keeps a single
cached session and no file ever supplies executable graph structure. The graph repeats the
float32 operations of gamut_onnx/features.py in the same order (see that module for why).

Inputs                                        Output
  srgb8      uint8 [h, w, 3]   carrier tile     prophoto  float32 [h, w, 3]  linear, [0, 1]
  origin     int64 [2]         tile (row, col) in the image
  image_size int64 [2]         full image (H, W)
  edges      float32 [2]       (low, high): the MLP runs on pixels with a channel <= low or
                               >= high; (255, 0) selects every pixel, (0, 255) exact clipping
  to_prophoto float32 [3, 3]   the blob's carrier-transform expansion matrix (sRGB -> ProPhoto)
  context    float32 [cells, 4] the carrier's block-mean grids (gamut_onnx/context.py)
  context_layout int64 [4, 4]  per level: block size, grid rows, grid columns, first cell
  w1 [F, D], b1 [D], w2 [D, D], b2 [D], w3 [D, 3], b3 [3]   float32 weights,
                               F = 10 * octaves + 16: a layout-1 blob's context rows are zero
                                              residual_sum float32 []  the MLP outputs' sum:
                                              finite iff every restored value is (a cheap check)

Regenerate the shipped copy with `python -m gamut_onnx.exporters.graph`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from gamut_onnx.blob import Blob, boundary_edges
from gamut_onnx.colour import SRGB8_TO_LINEAR
from gamut_onnx.colour.protocol import expansion_matrix
from gamut_onnx.context import CONTEXT_INPUTS, LEVELS, ContextGrids, empty_grids
from gamut_onnx.exporters.builder import GraphBuilder
from gamut_onnx.exporters.context_graph import with_context
from gamut_onnx.features import INPUT_CHANNELS
from gamut_onnx.runtime.session import GRAPH_PATH, graph_w1  # the shipped copy

OPSET = 17
GRAPH_NAME = "gamut_onnx_restore_v3"
WEIGHT_INPUTS = ("w1", "b1", "w2", "b2", "w3", "b3")


def _coordinate(g: GraphBuilder, size: str, offset: str, local: str) -> str:
    """(offset + local) * (2 / max(size - 1, 1)) - 1: pixel indices of the tile onto [-1, 1]
    of the full image, in the float32 order of features.mlp_inputs."""
    denom = g.op(
        "Cast",
        g.op("Max", g.op("Sub", size, g.const(1, np.int64)), g.const(1, np.int64)),
        to=TensorProto.FLOAT,
    )
    scale = g.op("Div", g.const(2.0), denom)
    index = g.op("Cast", g.op("Add", local, offset), to=TensorProto.FLOAT)
    return g.op("Sub", g.op("Mul", index, scale), g.const(1.0))


def _exact_colour(g: GraphBuilder, flat_srgb8: str) -> str:
    """[N, 3] uint8 -> unclipped linear ProPhoto, bit-identical to colour.srgb8_to_prophoto.

    That function computes fl(fl(t_R + t_G) + t_B) per output channel i, with the products
    t_c = fl(m[i][c] * LIN[v_c]) depending only on (channel, code value). So the graph builds
    the 3 x 256 product rows from the `to_prophoto` input (one float32 Mul each, as numpy does),
    the 65,536 sums fl(t_R + t_G) once per run, and does two row lookups and one addition per
    pixel: exact, and cheaper than a matrix product."""
    i64 = np.int64
    lin = g.const(SRGB8_TO_LINEAR.reshape(256, 1))
    columns = g.op("Transpose", "to_prophoto", perm=[1, 0])  # row c: (m[0][c], m[1][c], m[2][c])
    products = [
        g.op("Mul", lin, g.op("Gather", columns, g.const([c], i64), axis=0)) for c in range(3)
    ]  # [256, 3] each: row v holds (m[0][c], m[1][c], m[2][c]) * LIN[v] as float32 products
    red_green = g.op(
        "Reshape",
        g.op(
            "Add",
            g.op("Unsqueeze", products[0], g.const([1], i64)),
            g.op("Unsqueeze", products[1], g.const([0], i64)),
        ),
        g.const([-1, 3], i64),
    )  # row 256 * R + G
    codes = g.op("Cast", flat_srgb8, to=TensorProto.INT32)
    r, gr, b = (
        g.op(
            "Squeeze",
            g.op("Slice", codes, g.const([c], i64), g.const([c + 1], i64), g.const([1], i64)),
            g.const([1], i64),
        )
        for c in range(3)
    )
    rg_index = g.op("Add", g.op("Mul", r, g.const(256, np.int32)), gr)
    return g.op("Add", g.op("Gather", red_green, rg_index), g.op("Gather", products[2], b))


def build_restore_graph() -> onnx.ModelProto:
    """The whole restore: 8-bit sRGB tile + weights -> linear ProPhoto tile.

    Work is split by cost: every pixel gets only its exact colour (two table rows and an
    addition); the selected pixels alone get their coordinates, the octave encoding and the MLP.
    """
    g = GraphBuilder()
    i64 = np.int64
    flat_srgb8 = g.op("Reshape", "srgb8", g.const([-1, 3], i64))  # [N, 3]

    # Colour of every pixel: clipped linear ProPhoto, exactly the MLP's colour input.
    base = g.op("Clip", _exact_colour(g, flat_srgb8), g.const(0.0), g.const(1.0))  # [N, 3]

    # Select the pixels the MLP runs on: boundary pixels when gated, else all of them.
    darkest = g.op(
        "Cast", g.op("ReduceMin", flat_srgb8, axes=[1], keepdims=0), to=TensorProto.FLOAT
    )
    brightest = g.op(
        "Cast", g.op("ReduceMax", flat_srgb8, axes=[1], keepdims=0), to=TensorProto.FLOAT
    )
    low = g.op("Slice", "edges", g.const([0], i64), g.const([1], i64))
    high = g.op("Slice", "edges", g.const([1], i64), g.const([2], i64))
    selected = g.op(
        "Or", g.op("LessOrEqual", darkest, low), g.op("GreaterOrEqual", brightest, high)
    )  # [N]
    index = g.op("Reshape", g.op("NonZero", selected), g.const([-1], i64))  # [K]

    # MLP inputs of the selected pixels: (x, y) from the flat index, colour from the base.
    shape = g.op("Shape", "srgb8")
    tile_w = g.item(shape, 1)
    row = g.op("Div", index, tile_w)
    col = g.op("Sub", index, g.op("Mul", row, tile_w))
    x = _coordinate(g, g.item("image_size", 1), g.item("origin", 1), col)
    y = _coordinate(g, g.item("image_size", 0), g.item("origin", 0), row)
    colour = g.op("Gather", base, index, axis=0)  # [K, 3]
    v = g.op(
        "Concat",
        g.op("Unsqueeze", x, g.const([1], i64)),
        g.op("Unsqueeze", y, g.const([1], i64)),
        g.op("Sub", g.op("Mul", colour, g.const(2.0)), g.const(1.0)),
        axis=1,
    )  # [K, 5]

    # Octave encoding: for each input, sin over octaves then cos over octaves. Only Sin is
    # evaluated: cos(a_k) = 1 - 2 sin^2(a_k / 2), and a_k / 2 is exactly the angle one octave
    # down, so one Sin over octaves -1..L-1 gives both. Rather than building the features, w1
    # is rearranged: sin rows get a zero row for octave -1, cos rows are scaled by -2 and get a
    # zero row for octave L-1, and the cos rows' column sums join the bias.
    big = np.iinfo(np.int64).max
    w1_octaves = g.op("Slice", "w1", g.const([0], i64), g.const([-CONTEXT_INPUTS], i64))
    w1_context = g.op("Slice", "w1", g.const([-CONTEXT_INPUTS], i64), g.const([big], i64))
    feature_count = g.op("Slice", g.op("Shape", w1_octaves), g.const([0], i64), g.const([1], i64))
    octaves = g.op("Div", feature_count, g.const([2 * INPUT_CHANNELS], i64))
    levels = g.op("Add", g.op("Squeeze", octaves, g.const([0], i64)), g.const(1, i64))  # L + 1
    k = g.op(
        "Sub",
        g.op("Cast", g.op("Range", g.const(0, i64), levels, g.const(1, i64)), to=TensorProto.FLOAT),
        g.const(1.0),
    )  # -1, 0, ..., L-1
    freq = g.op("Mul", g.const(np.float32(np.pi)), g.op("Pow", g.const(2.0), k))
    # a_jk = v_j * f_k for all j, k: one broadcast Mul, [K, 5, 1] x [L+1] -> [K, 5(L+1)]. An
    # elementwise product is exact on every provider; a MatMul is not (CUDA may run float32
    # MatMuls in TF32, a 10-bit mantissa: at the top octave that moves an angle by ~0.2 rad).
    width = g.op(
        "Mul", g.op("Unsqueeze", levels, g.const([0], i64)), g.const([INPUT_CHANNELS], i64)
    )
    angles = g.op("Mul", g.op("Unsqueeze", v, g.const([2], i64)), freq)  # [K, 5, L+1]
    sines = g.op(
        "Sin", g.op("Reshape", angles, g.op("Concat", g.const([-1], i64), width, axis=0))
    )  # [K, 5(L+1)], column j(L+1) + k+1
    w1_parts = g.op(
        "Reshape",
        w1_octaves,
        g.op("Concat", g.const([INPUT_CHANNELS, 2], i64), octaves, g.const([-1], i64), axis=0),
    )  # [5, 2, L, D]
    w1_sin = g.op("Gather", w1_parts, g.const(0, i64), axis=1)  # [5, L, D]
    w1_cos = g.op("Gather", w1_parts, g.const(1, i64), axis=1)
    zero_row = g.op(
        "Mul",
        g.op("Slice", w1_sin, g.const([0], i64), g.const([1], i64), g.const([1], i64)),
        g.const(0.0),
    )  # [5, 1, D]
    rows = g.op("Concat", width, g.const([-1], i64), axis=0)
    w_sin = g.op("Reshape", g.op("Concat", zero_row, w1_sin, axis=1), rows)
    w_cos = g.op(
        "Reshape", g.op("Concat", g.op("Mul", w1_cos, g.const(-2.0)), zero_row, axis=1), rows
    )
    cos_sums = g.op("ReduceSum", w1_cos, g.const([0, 1], i64), keepdims=0)  # [D]
    sin_part = g.op("MatMul", sines, w_sin)
    cos_part = g.op("MatMul", g.op("Mul", sines, sines), w_cos)
    first = g.op("Add", g.op("Add", sin_part, cos_part), g.op("Add", cos_sums, "b1"))
    # Context (input layout 2), only when the grids are real: a layout-1 blob skips it.
    codes = g.op("Gather", flat_srgb8, index, axis=0)  # [K, 3] uint8
    first = with_context(g, first, row, col, codes, w1_context)

    # MLP: two ReLU layers and a linear residual head, added to the exact colour.
    h1 = g.op("Relu", first)
    h2 = g.op("Relu", g.op("Add", g.op("MatMul", h1, "w2"), "b2"))
    residual = g.op("Add", g.op("MatMul", h2, "w3"), "b3")
    restored = g.op("Clip", g.op("Add", colour, residual), g.const(0.0), g.const(1.0))
    index_2d = g.op("Unsqueeze", index, g.const([1], i64))
    out_flat = g.op("ScatterND", base, index_2d, restored)
    g.nodes.append(helper.make_node("Reshape", [out_flat, shape], ["prophoto"]))
    # One float a run that is finite exactly when every restored value is: blobs are bounded,
    # so anything else is a bug or a device fault, and a runtime can refuse the output without
    # reading it all back (0 when no pixel is selected).
    g.nodes.append(helper.make_node("ReduceSum", [residual], ["residual_sum"], keepdims=0))

    f32, i64t = TensorProto.FLOAT, TensorProto.INT64
    graph_inputs = [
        helper.make_tensor_value_info("srgb8", TensorProto.UINT8, ["h", "w", 3]),
        helper.make_tensor_value_info("origin", i64t, [2]),
        helper.make_tensor_value_info("image_size", i64t, [2]),
        helper.make_tensor_value_info("edges", f32, [2]),
        helper.make_tensor_value_info("to_prophoto", f32, [3, 3]),
        helper.make_tensor_value_info("context", f32, ["cells", 4]),
        helper.make_tensor_value_info("context_layout", i64t, [len(LEVELS), 4]),
        helper.make_tensor_value_info("w1", f32, ["features", "width"]),
        helper.make_tensor_value_info("b1", f32, ["width"]),
        helper.make_tensor_value_info("w2", f32, ["width", "width"]),
        helper.make_tensor_value_info("b2", f32, ["width"]),
        helper.make_tensor_value_info("w3", f32, ["width", 3]),
        helper.make_tensor_value_info("b3", f32, [3]),
    ]
    outputs = [
        helper.make_tensor_value_info("prophoto", f32, ["h", "w", 3]),
        helper.make_tensor_value_info("residual_sum", f32, []),
    ]
    graph = helper.make_graph(g.nodes, GRAPH_NAME, graph_inputs, outputs, g.initializers)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="gamut-onnx",
        doc_string="GamutMLP restore v3: 8-bit sRGB + weight blob -> linear ProPhoto RGB",
    )
    model.ir_version = 8  # readable by onnxruntime >= 1.10
    onnx.checker.check_model(model, full_check=True)
    return model


def restore_graph_bytes() -> bytes:
    """Deterministic serialisation of the fixed graph (what ships as restore.onnx)."""
    return build_restore_graph().SerializeToString(deterministic=True)


def bake_restore_graph(blob: Blob, grids: ContextGrids | None = None) -> onnx.ModelProto:
    """A standalone per-image model: the fixed graph with this blob's weights as initializers,
    and for a context blob the carrier's grids (`context.context_grids` of its pixels).

    Its only input is `srgb8` [H, W, 3] for the whole carrier image (no tiling).
    """
    if blob.context and grids is None:
        raise ValueError("a context blob needs the carrier's grids to bake")
    grids = grids if blob.context else empty_grids()
    model = build_restore_graph()
    graph = model.graph
    values = {
        "origin": np.zeros(2, np.int64),
        "image_size": np.array([blob.image_height, blob.image_width], np.int64),
        "edges": boundary_edges(blob),
        "to_prophoto": expansion_matrix(blob.carrier_transform),
        "context": grids.values,
        "context_layout": grids.layout,
        **dict(zip(WEIGHT_INPUTS, [graph_w1(blob), *blob.weights[1:]], strict=True)),
    }
    graph.initializer.extend(numpy_helper.from_array(np.asarray(v), k) for k, v in values.items())
    kept = [i for i in graph.input if i.name not in values]
    del graph.input[:]
    graph.input.extend(kept)
    graph.input[0].type.tensor_type.shape.dim[0].dim_value = blob.image_height
    graph.input[0].type.tensor_type.shape.dim[1].dim_value = blob.image_width
    graph.name = f"{GRAPH_NAME}_baked"
    onnx.checker.check_model(model, full_check=True)
    return model


def main(argv: list[str] | None = None) -> None:
    """Regenerate src/gamut_onnx/runtime/restore.onnx (or write to the path given)."""
    argv = sys.argv[1:] if argv is None else argv
    target = Path(argv[0]) if argv else GRAPH_PATH
    target.write_bytes(restore_graph_bytes())
    print(f"wrote {target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
