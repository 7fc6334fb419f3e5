#!/usr/bin/python3
"""make_layer_models.py — one-layer ONNX models for the ORT column of bench/layers.

    /usr/bin/python3 make_layer_models.py LAYERS.json OUTDIR [--layers a,b,c]

For each layer of cnn_layers.json writes OUTDIR/<name>.onnx: a Conv with
random weights and bias (input "x" [N, C, H, W]) or, for op "dense", a Gemm
with transB = 1 as PyTorch exports it (input "x" [N, IN], weights [OUT, IN],
bias [OUT]). Opset 13. Uses Debian's python3-onnx and numpy only.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def conv_model(l, rng):
    c, k, g = l["C"], l["K"], l.get("group", 1)
    w = rng.standard_normal((k, c // g, l["KH"], l["KW"])).astype(np.float32) * 0.1
    b = rng.standard_normal(k).astype(np.float32) * 0.1
    p, s, d = l["pad"], l["stride"], l.get("dilation", 1)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[l["KH"], l["KW"]],
                            strides=[s, s], pads=[p, p, p, p], dilations=[d, d], group=g)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [l["N"], c, l["H"], l["W"]])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [l["N"], k, l["OH"], l["OW"]])
    return node, x, y, [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]


def dense_model(l, rng):
    n, i, o = l["N"], l["IN"], l["OUT"]
    w = rng.standard_normal((o, i)).astype(np.float32) * 0.05
    b = rng.standard_normal(o).astype(np.float32) * 0.1
    node = helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, i])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, o])
    return node, x, y, [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]


def make(l, rng):
    node, x, y, inits = (dense_model if l["op"] == "dense" else conv_model)(l, rng)
    graph = helper.make_graph([node], l["name"].replace(".", "_"), [x], [y], inits)
    model = helper.make_model(graph, producer_name="chamcc-bench",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


def main(argv):
    if len(argv) not in (3, 5) or (len(argv) == 5 and argv[3] != "--layers"):
        sys.exit("usage: make_layer_models.py LAYERS.json OUTDIR [--layers a,b,c]")
    with open(argv[1]) as f:
        layers = json.load(f)["layers"]
    only = set(argv[4].split(",")) if len(argv) == 5 else None
    os.makedirs(argv[2], exist_ok=True)
    rng = np.random.default_rng(1)
    for l in layers:
        if only is None or l["name"] in only:
            onnx.save(make(l, rng), os.path.join(argv[2], l["name"] + ".onnx"))


if __name__ == "__main__":
    main(sys.argv)
