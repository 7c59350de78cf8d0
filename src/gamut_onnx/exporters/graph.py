"""Builds the fixed restore graph (`restore.onnx`) with the onnx helper API.

One graph restores every image: the MLP weights, the context grids and the residual map's
samples are graph inputs, so a runtime keeps a single cached session and no file ever supplies
executable graph structure. The graph repeats the float32 operations of gamut_onnx/features.py
in the same order (see that module for why); docs/blob-format.md section 6 lists the inputs.

Regenerate the shipped graphs with `python -m gamut_onnx.exporters.graph` (all three:
restore, grids and output).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from gamut_onnx.colour import SRGB8_TO_LINEAR
from gamut_onnx.colour.lattice import MODE_SELECTED, MODE_UNSELECTED
from gamut_onnx.colour.protocol import CARRIER_TRANSFORMS
from gamut_onnx.context import CONTEXT_INPUTS, LEVELS
from gamut_onnx.exporters.builder import GraphBuilder, finished_model
from gamut_onnx.exporters.context_graph import GRID_INPUTS, with_context
from gamut_onnx.exporters.lattice_graph import with_lattice
from gamut_onnx.exporters.map_graph import with_map
from gamut_onnx.features import INPUT_CHANNELS

GRAPH_NAME = "gamut_onnx_restore_v5"
WEIGHT_INPUTS = ("w1", "b1", "w2", "b2", "w3", "b3")
I64 = np.int64


def expansion_matrices() -> np.ndarray:
    """[3, 3, 3] float32: the sRGB -> ProPhoto matrix of carrier transform t at index t (index 0
    is unused), as blob-format.md section 5 tabulates them."""
    out = np.zeros((3, 3, 3), np.float32)
    for code, (_, expand) in CARRIER_TRANSFORMS.items():
        out[code] = expand.astype(np.float32)
    return out


def _coordinate(g: GraphBuilder, size: str, offset: str, local: str) -> str:
    """(offset + local) * (2 / max(size - 1, 1)) - 1: pixel indices of the tile onto [-1, 1]
    of the full image, in the float32 order of features.mlp_inputs."""
    denom = g.op(
        "Cast",
        g.op("Max", g.op("Sub", size, g.const(1, I64)), g.const(1, I64)),
        to=TensorProto.FLOAT,
    )
    scale = g.op("Div", g.const(2.0), denom)
    index = g.op("Cast", g.op("Add", local, offset), to=TensorProto.FLOAT)
    return g.op("Sub", g.op("Mul", index, scale), g.const(1.0))


def _exact_colour(g: GraphBuilder, planes: str, matrix: str) -> str:
    """[3, N] int32 code planes and the carrier transform's [3, 3] `matrix` -> unclipped linear
    ProPhoto planes [3, N], bit-identical to colour.srgb8_to_prophoto.

    That function computes fl(fl(t_R + t_G) + t_B) per output channel i, with the products
    t_c = fl(m[i][c] * LIN[v_c]) depending only on (channel, code value). So the graph builds
    the 3 x 256 products from the matrix (one float32 Mul each, as numpy does), the 65,536 sums
    fl(t_R + t_G) once per run, and does two lookups and one addition per pixel: exact, and
    cheaper than a matrix product. Tables and lookups are planar ([3, ...]): onnxruntime
    broadcasts over a long last axis fast and over an axis of 3 a row at a time, and
    GatherElements is a typed loop, several times faster than Gather's copy per row."""
    lin = g.const(SRGB8_TO_LINEAR.reshape(1, 256))
    products = [
        g.op(
            "Mul",
            g.op("Slice", matrix, g.const([c], I64), g.const([c + 1], I64), g.const([1], I64)),
            lin,
        )
        for c in range(3)
    ]  # [3, 256] each: row i holds m[i][c] * LIN[v] as float32 products
    red_green = g.op(
        "Reshape",
        g.op(
            "Add",
            g.op("Unsqueeze", products[0], g.const([2], I64)),
            g.op("Unsqueeze", products[1], g.const([1], I64)),
        ),
        g.const([3, -1], I64),
    )  # [3, 65536]: column 256 R + G
    red, green, blue = (
        g.op("Slice", planes, g.const([c], I64), g.const([c + 1], I64), g.const([0], I64))
        for c in range(3)
    )  # [1, N]
    pair = g.op("Add", g.op("Mul", red, g.const(256, np.int32)), green)
    three = g.op(
        "Concat",
        g.const([3], I64),
        g.op("Slice", g.op("Shape", red), g.const([1], I64), g.const([2], I64)),
        axis=0,
    )
    colour = g.op(
        "Add",
        g.op("GatherElements", red_green, g.op("Expand", pair, three), axis=1),
        g.op("GatherElements", products[2], g.op("Expand", blue, three), axis=1),
    )
    return colour


def _first_layer(g: GraphBuilder, v: str, w1_octaves: str) -> str:
    """The first layer's pre-activation [K, D] from the octave encoding of the inputs `v`
    [5, K], without building the features.

    Only Sin is evaluated: cos(a_k) = 1 - 2 sin^2(a_k / 2), and a_k / 2 is exactly the angle
    one octave down, so one Sin over octaves -1..L-1 gives both. w1 is rearranged instead: sin
    rows get a zero row for octave -1, cos rows are scaled by -2 and get a zero row for octave
    L-1, and the cos rows' column sums join the bias."""
    feature_count = g.op("Slice", g.op("Shape", w1_octaves), g.const([0], I64), g.const([1], I64))
    octaves = g.op("Div", feature_count, g.const([2 * INPUT_CHANNELS], I64))
    levels = g.op("Add", g.op("Squeeze", octaves, g.const([0], I64)), g.const(1, I64))  # L + 1
    k = g.op(
        "Sub",
        g.op("Cast", g.op("Range", g.const(0, I64), levels, g.const(1, I64)), to=TensorProto.FLOAT),
        g.const(1.0),
    )  # -1, 0, ..., L-1
    freq = g.op("Mul", g.const(np.float32(np.pi)), g.op("Pow", g.const(2.0), k))
    # a_jk = v_j * f_k for all j, k: one broadcast Mul, [5, 1, K] x [L+1, 1] -> [5, L+1, K]. An
    # elementwise product is exact on every provider; a MatMul is not (CUDA may run float32
    # MatMuls in TF32, a 10-bit mantissa: at the top octave that moves an angle by ~0.2 rad).
    width = g.op(
        "Mul", g.op("Unsqueeze", levels, g.const([0], I64)), g.const([INPUT_CHANNELS], I64)
    )
    angles = g.op(
        "Mul", g.op("Unsqueeze", v, g.const([1], I64)), g.op("Unsqueeze", freq, g.const([1], I64))
    )
    angles_flat = g.op(
        "Reshape", angles, g.op("Concat", width, g.const([-1], I64), axis=0)
    )  # [5(L+1), K], row j(L+1) + k+1
    w1_parts = g.op(
        "Reshape",
        w1_octaves,
        g.op("Concat", g.const([INPUT_CHANNELS, 2], I64), octaves, g.const([-1], I64), axis=0),
    )  # [5, 2, L, D]
    w1_sin = g.op("Gather", w1_parts, g.const(0, I64), axis=1)  # [5, L, D]
    w1_cos = g.op("Gather", w1_parts, g.const(1, I64), axis=1)
    zero_row = g.op(
        "Mul",
        g.op("Slice", w1_sin, g.const([0], I64), g.const([1], I64), g.const([1], I64)),
        g.const(0.0),
    )  # [5, 1, D]
    rows = g.op("Concat", width, g.const([-1], I64), axis=0)
    w_sin = g.op("Reshape", g.op("Concat", zero_row, w1_sin, axis=1), rows)
    w_cos = g.op(
        "Reshape", g.op("Concat", g.op("Mul", w1_cos, g.const(-2.0)), zero_row, axis=1), rows
    )
    cos_sums = g.op("ReduceSum", w1_cos, g.const([0, 1], I64), keepdims=0)  # [D]
    # Pixels as rows for Sin and the MatMuls, [K, 5(L+1)]: a pixel's result then does not
    # depend on how many pixels share the tile (tests/test_graph.py: any tiling gives the same
    # bits), which the planar form did not (one ulp at one pixel in 38,000).
    sines = g.op("Sin", _transposed(g, angles_flat))
    sin_part = g.op("MatMul", sines, w_sin)
    cos_part = g.op("MatMul", g.op("Mul", sines, sines), w_cos)
    return g.op("Add", g.op("Add", sin_part, cos_part), g.op("Add", cos_sums, "b1"))


def _transposed(g: GraphBuilder, matrix: str) -> str:
    return g.op("Transpose", matrix, perm=[1, 0])


def _w1_split(g: GraphBuilder) -> tuple[str, str, str]:
    """(octave rows, context rows, has context) of `w1` as the blob stores it: a layout-2 blob
    has F = 10 L + 16 rows, so F mod 10 is 6; a layout-1 blob has 10 L (no context rows)."""
    rows = g.op("Slice", g.op("Shape", "w1"), g.const([0], I64), g.const([1], I64))
    has_context = g.op(
        "Equal", g.op("Mod", rows, g.const([2 * INPUT_CHANNELS], I64)), g.const([6], I64)
    )  # [1] bool
    extra = g.op(
        "Mul", g.op("Cast", has_context, to=TensorProto.INT64), g.const([CONTEXT_INPUTS], I64)
    )
    split = g.op("Sub", rows, extra)
    big = np.iinfo(np.int64).max
    octave_rows = g.op("Slice", "w1", g.const([0], I64), split)
    context_rows = g.op("Slice", "w1", split, g.const([big], I64))
    return octave_rows, context_rows, has_context


def build_restore_graph() -> onnx.ModelProto:
    """The whole restore: 8-bit sRGB tile + blob + grids + map -> linear ProPhoto tile.

    Work is split by cost: every pixel gets only its exact colour (two table lookups and an
    addition); the selected pixels alone get their coordinates, the octave encoding, the MLP
    and the map's correction.
    """
    g = GraphBuilder()
    flat_srgb8 = g.op("Reshape", "srgb8", g.const([-1, 3], I64))  # [N, 3]
    planes = g.op("Transpose", g.op("Cast", flat_srgb8, to=TensorProto.INT32), perm=[1, 0])

    # Colour of every pixel: clipped linear ProPhoto, exactly the MLP's colour input. Pixels
    # are columns ([3, N], [5, K]) outside the MatMuls: onnxruntime broadcasts fastest along a
    # long last axis.
    matrix = g.op("Gather", g.const(expansion_matrices()), "carrier_transform", axis=0)
    base = g.op("Clip", _exact_colour(g, planes, matrix), g.const(0.0), g.const(1.0))  # [3, N]

    # Select the pixels the MLP runs on: boundary pixels when gated, else all of them.
    darkest = g.op(
        "Cast", g.op("ReduceMin", flat_srgb8, axes=[1], keepdims=0), to=TensorProto.FLOAT
    )
    brightest = g.op(
        "Cast", g.op("ReduceMax", flat_srgb8, axes=[1], keepdims=0), to=TensorProto.FLOAT
    )
    low = g.op("Slice", "edges", g.const([0], I64), g.const([1], I64))
    high = g.op("Slice", "edges", g.const([1], I64), g.const([2], I64))
    selected = g.op(
        "Or", g.op("LessOrEqual", darkest, low), g.op("GreaterOrEqual", brightest, high)
    )  # [N]
    index = g.op("Reshape", g.op("NonZero", selected), g.const([-1], I64))  # [K]

    # MLP inputs of the selected pixels: (x, y) from the flat index, colour from the base.
    shape = g.op("Shape", "srgb8")
    tile_w = g.item(shape, 1)
    row = g.op("Div", index, tile_w)
    col = g.op("Sub", index, g.op("Mul", row, tile_w))
    x = _coordinate(g, g.item("image_size", 1), g.item("origin", 1), col)
    y = _coordinate(g, g.item("image_size", 0), g.item("origin", 0), row)
    columns = g.op(
        "Expand",
        g.op("Unsqueeze", index, g.const([0], I64)),
        g.op("Concat", g.const([3], I64), g.op("Shape", index), axis=0),
    )  # [3, K]: the selected columns, once per channel
    colour = g.op("GatherElements", base, columns, axis=1)  # [3, K]
    codes = g.op("GatherElements", planes, columns, axis=1)  # [3, K] int32
    v = g.op(
        "Concat",
        g.op("Unsqueeze", x, g.const([0], I64)),
        g.op("Unsqueeze", y, g.const([0], I64)),
        g.op("Sub", g.op("Mul", colour, g.const(2.0)), g.const(1.0)),
        axis=0,
    )  # [5, K]
    w1_octaves, w1_context, has_context = _w1_split(g)
    first = _first_layer(g, v, w1_octaves)
    first = with_context(g, first, row, col, codes, w1_context, has_context)

    # MLP: two ReLU layers and a linear residual head, added to the exact colour.
    h1 = g.op("Relu", first)  # [K, D]
    h2 = g.op("Relu", g.op("Add", g.op("MatMul", h1, "w2"), "b2"))
    residual = g.op("Add", g.op("MatMul", h2, "w3"), "b3")  # [K, 3]
    restored = g.op(
        "Clip", g.op("Add", colour, _transposed(g, residual)), g.const(0.0), g.const(1.0)
    )  # [3, K]
    # The residual map's correction at the same pixels (blob-format.md section 9).
    restored = with_map(g, restored, columns, codes, matrix)
    # The source's code lattice (blob record 131), after everything else: the MLP saw the
    # carrier's own colours above.
    restored = with_lattice(g, restored, MODE_SELECTED)
    kept = with_lattice(g, base, MODE_UNSELECTED)
    index_2d = g.op("Unsqueeze", index, g.const([1], I64))
    out_flat = g.op("ScatterND", _transposed(g, kept), index_2d, _transposed(g, restored))  # [N, 3]
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
        helper.make_tensor_value_info("carrier_transform", i64t, []),
        helper.make_tensor_value_info("w1", f32, ["features", "width"]),
        helper.make_tensor_value_info("b1", f32, ["width"]),
        helper.make_tensor_value_info("w2", f32, ["width", "width"]),
        helper.make_tensor_value_info("b2", f32, ["width"]),
        helper.make_tensor_value_info("w3", f32, ["width", 3]),
        helper.make_tensor_value_info("b3", f32, [3]),
        *(
            helper.make_tensor_value_info(name, f32, [4, f"rows{s}", f"cols{s}"])
            for s, name in zip(LEVELS, GRID_INPUTS, strict=True)
        ),
        helper.make_tensor_value_info("map_samples", TensorProto.UINT8, ["mh", "mw", 3]),
        helper.make_tensor_value_info("map_params", f32, [2]),
        helper.make_tensor_value_info("lattice_matrices", f32, [2, 3, 3]),
        helper.make_tensor_value_info("lattice_codes", f32, ["curves", "levels"]),
        helper.make_tensor_value_info("lattice_mode", i64t, []),
    ]
    outputs = [
        helper.make_tensor_value_info("prophoto", f32, ["h", "w", 3]),
        helper.make_tensor_value_info("residual_sum", f32, []),
    ]
    return finished_model(
        g,
        GRAPH_NAME,
        graph_inputs,
        outputs,
        "GamutMLP restore v5: 8-bit sRGB + blob (+ grids, + map, + lattice) -> linear ProPhoto",
    )


def bake_restore_graph(feeds: dict[str, np.ndarray], height: int, width: int) -> onnx.ModelProto:
    """A standalone per-image model: the fixed graph with one image's inputs (`feeds`, every
    input but `srgb8`: runtime.feeds.image_feeds of the blob, grids and map, with origin 0)
    as initializers. Its only input is `srgb8` [H, W, 3] for the whole carrier (no tiling)."""
    model = build_restore_graph()
    graph = model.graph
    graph.initializer.extend(numpy_helper.from_array(np.asarray(v), k) for k, v in feeds.items())
    kept = [i for i in graph.input if i.name not in feeds]
    del graph.input[:]
    graph.input.extend(kept)
    graph.input[0].type.tensor_type.shape.dim[0].dim_value = height
    graph.input[0].type.tensor_type.shape.dim[1].dim_value = width
    graph.name = f"{GRAPH_NAME}_baked"
    onnx.checker.check_model(model, full_check=True)
    return model


def graph_bytes(model: onnx.ModelProto) -> bytes:
    """Deterministic serialisation (what ships)."""
    return model.SerializeToString(deterministic=True)


def shipped_graphs() -> dict[str, bytes]:
    """File name -> bytes of every graph the package ships (runtime/)."""
    from gamut_onnx.exporters.grid_graph import build_grid_graph
    from gamut_onnx.exporters.output_graph import build_output_graph

    return {
        "restore.onnx": graph_bytes(build_restore_graph()),
        "grids.onnx": graph_bytes(build_grid_graph()),
        "output.onnx": graph_bytes(build_output_graph()),
    }


def main(argv: list[str] | None = None) -> None:
    """Regenerate the shipped graphs in src/gamut_onnx/runtime/ (or in the folder given)."""
    from gamut_onnx.runtime.graphs import GRAPH_DIR

    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]) if argv else GRAPH_DIR
    for name, data in shipped_graphs().items():
        (folder / name).write_bytes(data)
        print(f"wrote {folder / name} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
