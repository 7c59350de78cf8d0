"""The restore graph's lattice step (blob record 131): restored colours moved to the nearest code
of the source's lattice, bit for bit as colour/lattice.snap computes it.

Finding a code per channel costs two table lookups and one comparison: the per-run tables hold,
for each of BUCKETS buckets of u = s^(1/4), the count of code thresholds in lower buckets (a
scatter-add and a cumulative sum over the thresholds, never a threshold x bucket comparison)
and the next threshold; the encoder checks that no bucket holds two. Everything is elementwise
IEEE arithmetic, square roots and lookups, so every onnxruntime build gives the same codes.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from gamut_onnx.colour.lattice import BUCKETS, MODE_SELECTED, MODE_UNSELECTED
from gamut_onnx.exporters.builder import GraphBuilder

I64 = np.int64
LATTICE_INPUTS = ("lattice_matrices", "lattice_codes", "lattice_mode")


def _slice(g: GraphBuilder, x: str, axis: int, start: int, end: int) -> str:
    return g.op("Slice", x, g.const([start], I64), g.const([end], I64), g.const([axis], I64))


def _times(g: GraphBuilder, matrix: str, planes: str) -> str:
    """[3, 3] x [3, N] as fl(fl(fl(m0 p0) + fl(m1 p1)) + fl(m2 p2)), in elementwise ops (a
    MatMul may fuse or reorder them; a Mul over [3, 3, N] and a ReduceSum cost 1.5x this)."""
    rows = [f"{planes}_{g.prefix}row{c}_{len(g.nodes)}" for c in range(3)]
    g.nodes.append(helper.make_node("Split", [planes], rows, axis=0))
    t = [g.op("Mul", _slice(g, matrix, 1, c, c + 1), rows[c]) for c in range(3)]
    return g.op("Add", g.op("Add", t[0], t[1]), t[2])


def _bucket(g: GraphBuilder, values: str) -> str:
    """int32(fl(sqrt(sqrt(v)) * BUCKETS)) of values in [0, 1]: Cast truncates, a floor here."""
    u = g.op("Sqrt", g.op("Sqrt", values))
    return g.op("Cast", g.op("Mul", u, g.const(float(BUCKETS))), to=TensorProto.INT32)


def _code_tables(g: GraphBuilder, table: str) -> tuple[str, str]:
    """Per run, for each bucket: ([3, BUCKETS + 1] int32 the code thresholds in lower buckets,
    [3, BUCKETS + 1] the next threshold, 2 past the last), from the [3, L] code values."""
    mids = g.op(
        "Mul",
        g.op("Add", _slice(g, table, 1, 0, -1), _slice(g, table, 1, 1, 1 << 30)),
        g.const(0.5),
    )  # [3, L - 1]
    mid_buckets = g.op("Cast", _bucket(g, mids), to=TensorProto.INT64)
    ones = g.op("Expand", g.const(1, I64), g.op("Shape", mid_buckets))
    zeros = g.op(
        "ConstantOfShape",
        g.const([3, BUCKETS + 1], I64),
        value=numpy_helper.from_array(np.zeros(1, I64)),
    )
    counts = g.op("ScatterElements", zeros, mid_buckets, ones, axis=1, reduction="add")
    below = g.op("CumSum", counts, g.const(1, I64), exclusive=1)  # [3, BUCKETS + 1]
    padded = g.op("Concat", mids, g.const(np.full((3, 1), 2.0, np.float32)), axis=1)  # [3, L]
    next_threshold = g.op("GatherElements", padded, below, axis=1)
    return g.op("Cast", below, to=TensorProto.INT32), next_threshold


def snapped(g: GraphBuilder, planes: str) -> str:
    """[3, N] linear ProPhoto -> the nearest lattice colours, clipped to [0, 1]."""
    to_source = g.op("Gather", "lattice_matrices", g.const(0, I64), axis=0)
    to_prophoto = g.op("Gather", "lattice_matrices", g.const(1, I64), axis=0)
    levels = g.op("Slice", g.op("Shape", "lattice_codes"), g.const([1], I64), g.const([2], I64))
    table = g.op("Expand", "lattice_codes", g.op("Concat", g.const([3], I64), levels, axis=0))
    below, next_threshold = _code_tables(g, table)
    s = g.op("Clip", _times(g, to_source, planes), g.const(0.0), g.const(1.0))
    bucket = _bucket(g, s)
    first = g.op("GatherElements", below, bucket, axis=1)
    past = g.op("Greater", s, g.op("GatherElements", next_threshold, bucket, axis=1))
    code = g.op("Add", first, g.op("Cast", past, to=TensorProto.INT32))
    linear = g.op("GatherElements", table, code, axis=1)
    return g.op("Clip", _times(g, to_prophoto, linear), g.const(0.0), g.const(1.0))


def with_lattice(g: GraphBuilder, planes: str, bit: int) -> str:
    """`planes` snapped when `lattice_mode` has `bit` (MODE_UNSELECTED or MODE_SELECTED), else
    unchanged (the step's work is skipped)."""
    name = {MODE_UNSELECTED: "unselected", MODE_SELECTED: "selected"}[bit]
    sub = GraphBuilder(prefix=f"lattice_{name}_")
    result = snapped(sub, planes)
    flag = g.op("Mod", g.op("Div", "lattice_mode", g.const(bit, I64)), g.const(2, I64))
    present = g.op("Greater", flag, g.const(0, I64))
    names = (f"lattice_{name}", f"no_lattice_{name}", f"no_lattice_{name}_out")
    return g.when(present, sub, result, planes, names)
