"""Writes a tiny ONNX CNN for the runner tests: a 3x3 conv with ReLU, global
average pooling and a fully connected layer (a conv task and a dense task),
with seeded random weights. Beside OUT.onnx: OUT.in.bin, a seeded random
input, and OUT.ref.bin, the model's output for it computed here with numpy
(raw float32, for tests/tools/run_model.c's --in and --ref).
Usage: make_model.py OUT.onnx [CHANNELS [SIZE]]"""
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
c = int(sys.argv[2]) if len(sys.argv) > 2 else 8
s = int(sys.argv[3]) if len(sys.argv) > 3 else 8
rng = np.random.default_rng(5)
w = {name: rng.uniform(-0.5, 0.5, shape).astype(np.float32)
     for name, shape in [("w", (2 * c, c, 3, 3)), ("b", (2 * c,)), ("fw", (64, 2 * c)), ("fb", (64,))]}

inits = [numpy_helper.from_array(v, name) for name, v in w.items()]
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


def forward(x):
    """The model in float64: conv (pad 1) + bias, ReLU, mean over the pixels, fc."""
    xp = np.pad(x[0].astype(np.float64), ((0, 0), (1, 1), (1, 1)))
    conv = np.zeros((2 * c, s, s)) + w["b"].astype(np.float64)[:, None, None]
    for i in range(3):
        for j in range(3):
            conv += np.einsum("oc,chw->ohw", w["w"][:, :, i, j].astype(np.float64), xp[:, i:i + s, j:j + s])
    pooled = np.maximum(conv, 0).mean(axis=(1, 2))
    return pooled @ w["fw"].T.astype(np.float64) + w["fb"]


base = out[:-5] if out.endswith(".onnx") else out
x = rng.uniform(-1, 1, (1, c, s, s)).astype(np.float32)
x.tofile(base + ".in.bin")
forward(x).astype(np.float32).tofile(base + ".ref.bin")
