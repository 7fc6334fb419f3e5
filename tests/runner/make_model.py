"""Writes a tiny ONNX CNN for the runner tests: a 3x3 conv with ReLU, global
average pooling and a fully connected layer (a conv task and a dense task),
with seeded random weights.
Usage: make_model.py OUT.onnx [CHANNELS [SIZE]]"""
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
c = int(sys.argv[2]) if len(sys.argv) > 2 else 8
s = int(sys.argv[3]) if len(sys.argv) > 3 else 8
rng = np.random.default_rng(5)


def const(name, shape):
    return numpy_helper.from_array(rng.uniform(-0.5, 0.5, shape).astype(np.float32), name)


inits = [const("w", (2 * c, c, 3, 3)), const("b", (2 * c,)), const("fw", (64, 2 * c)), const("fb", (64,))]
nodes = [
    helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv"),
    helper.make_node("Relu", ["c"], ["r"], name="relu"),
    helper.make_node("GlobalAveragePool", ["r"], ["p"], name="pool"),
    helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
    helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="fc", transB=1),
]
graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, s, s])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
open(out, "wb").write(model.SerializeToString())
