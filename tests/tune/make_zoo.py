"""Writes a small model zoo whose models share tuning tasks, for the sharding,
merging and cluster tests: zoo_a.onnx, zoo_b.onnx, zoo_c.onnx in OUTDIR, chains
of 3x3 / 1x1 convolutions with ReLU (some layers identical across models, so
the same task), global average pooling and, in zoo_c, a dense layer; seeded
random weights. Usage: make_zoo.py OUTDIR"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

# (input channels, height/width, [(out channels, kernel, stride), ...], dense outputs or 0)
ZOO = {
    "zoo_a": (16, 12, [(32, 3, 1), (32, 3, 1), (64, 1, 1)], 0),
    "zoo_b": (16, 12, [(32, 3, 1), (48, 3, 2), (64, 1, 1)], 0),
    "zoo_c": (32, 12, [(32, 3, 1), (64, 1, 1), (64, 3, 2)], 10),
}


def model(name, cin, hw, convs, dense, rng):
    inits, nodes, x = [], [], "x"
    for i, (cout, k, s) in enumerate(convs):
        w = rng.uniform(-0.5, 0.5, (cout, cin, k, k)).astype(np.float32)
        b = rng.uniform(-0.5, 0.5, (cout,)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        p = k // 2
        nodes.append(helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], pads=[p] * 4, strides=[s, s],
                                      name=f"conv{i}"))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"], name=f"relu{i}"))
        x, cin = f"r{i}", cout
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["g"], name="pool"))
    out, shape = "g", [1, cin, 1, 1]
    if dense:
        nodes.append(helper.make_node("Flatten", ["g"], ["f"], name="flatten"))
        wd = rng.uniform(-0.5, 0.5, (dense, cin)).astype(np.float32)
        inits += [numpy_helper.from_array(wd, "wd"), numpy_helper.from_array(np.zeros(dense, np.float32), "bd")]
        nodes.append(helper.make_node("Gemm", ["f", "wd", "bd"], ["y"], transB=1, name="fc"))
        out, shape = "y", [1, dense]
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, ZOO[name][0], hw, hw])],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, shape)], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


os.makedirs(sys.argv[1], exist_ok=True)
for name, (cin, hw, convs, dense) in ZOO.items():
    rng = np.random.default_rng(len(name) + sum(map(ord, name)))
    m = model(name, cin, hw, convs, dense, rng)
    open(os.path.join(sys.argv[1], name + ".onnx"), "wb").write(m.SerializeToString())
