"""A tiny builder for ONNX graphs written with the onnx helper API."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper


class GraphBuilder:
    """Names nodes and collects constants. `prefix` keeps names unique when this builder makes a
    subgraph (ONNX names are global across a model's subgraphs)."""

    def __init__(self, prefix: str = "") -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.prefix = prefix
        self._count = 0

    def const(self, value: np.ndarray | float | int, dtype=np.float32) -> str:
        name = f"{self.prefix}c{len(self.initializers)}"
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, *inputs: str, **attrs) -> str:
        self._count += 1
        out = f"{self.prefix}{op_type.lower()}_{self._count}"
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def item(self, vector: str, i: int) -> str:
        """Element i of a 1-D int64 tensor, as a scalar."""
        return self.op("Gather", vector, self.const(i, np.int64), axis=0)

    def when(self, condition: str, sub: GraphBuilder, result: str, otherwise: str,
             names: tuple[str, str, str]) -> str:  # fmt: skip
        """An If: `sub`'s float `result` where `condition` holds, else `otherwise` unchanged
        (the work in `sub` is skipped). `names`: the then graph, the else graph and its output."""
        then_name, else_name, else_out = names
        f32 = onnx.TensorProto.FLOAT
        then_branch = helper.make_graph(
            sub.nodes, then_name, [], [helper.make_tensor_value_info(result, f32, None)],
            sub.initializers,
        )  # fmt: skip
        plain = helper.make_node("Identity", [otherwise], [else_out])
        else_branch = helper.make_graph(
            [plain], else_name, [], [helper.make_tensor_value_info(else_out, f32, None)]
        )
        return self.op("If", condition, then_branch=then_branch, else_branch=else_branch)


OPSET = 17


def finished_model(
    g: GraphBuilder, name: str, inputs: list, outputs: list, doc: str
) -> onnx.ModelProto:
    """A checked opset-17 model of the builder's nodes (IR 8: onnxruntime >= 1.10 reads it)."""
    graph = helper.make_graph(g.nodes, name, inputs, outputs, g.initializers)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="gamut-onnx",
        doc_string=doc,
    )
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model
