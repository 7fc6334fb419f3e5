#!/usr/bin/python3
"""Writes the models of badinput.sh (and one good model) with the onnx
helper, at test time:

    /usr/bin/python3 make_bad_models.py OUTDIR

OUTDIR/good.onnx            conv+relu+pool+flatten+gemm, valid, for truncation
                            and for selfcontained.sh when torch is absent
OUTDIR/det.onnx             an unsupported op: node 'det_node' (Det)
OUTDIR/lstm.onnx            an unsupported op: node 'lstm_node' (LSTM)
OUTDIR/shape_mismatch.onnx  node 'bad_add' (Add) of [1,3,4] and [1,5,4]
OUTDIR/dangling.onnx        node 'dangling_relu' (Relu) reads 'nowhere', which
                            nothing produces
OUTDIR/int64_input.onnx     a graph input of type int64
OUTDIR/overflow_*.onnx      shapes that overflow int64 or exceed 2^31 elements,
                            each in node 'big' (see overflow_models)
OUTDIR/models/external_escape.onnx  initializer 'w' with external data at
                            '../secret.bin' (outside the model's folder; the
                            file OUTDIR/secret.bin exists, to tempt the reader)
Needs python3-onnx and python3-numpy (Debian); no torch.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 13)]


def model(nodes, inputs, outputs, inits=(), name="bad"):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=OPSET, producer_name="chamcc-tests")
    m.ir_version = 7
    return m


def vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def good(rng):
    w = numpy_helper.from_array(rng.uniform(-1, 1, (8, 3, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.uniform(-1, 1, (8,)).astype(np.float32), "b")
    fw = numpy_helper.from_array(rng.uniform(-1, 1, (10, 8 * 8 * 8)).astype(np.float32), "fw")
    fb = numpy_helper.from_array(rng.uniform(-1, 1, (10,)).astype(np.float32), "fb")
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="fc", transB=1),
    ]
    m = model(nodes, [vi("x", [1, 3, 16, 16])], [vi("y", [1, 10])], [w, b, fw, fb], "good")
    onnx.checker.check_model(m)
    return m


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "models"), exist_ok=True)
    rng = np.random.default_rng(5)
    save = lambda m, n: onnx.save(m, os.path.join(out, n))
    save(good(rng), "good.onnx")
    save(model([helper.make_node("Det", ["x"], ["y"], name="det_node")],
               [vi("x", [4, 4])], [vi("y", [])]), "det.onnx")
    H = 4
    lw = numpy_helper.from_array(rng.uniform(-1, 1, (1, 4 * H, 3)).astype(np.float32), "lw")
    lr = numpy_helper.from_array(rng.uniform(-1, 1, (1, 4 * H, H)).astype(np.float32), "lr")
    save(model([helper.make_node("LSTM", ["x", "lw", "lr"], ["y"], name="lstm_node", hidden_size=H)],
               [vi("x", [2, 1, 3])], [vi("y", [2, 1, 1, H])], [lw, lr]), "lstm.onnx")
    save(model([helper.make_node("Add", ["a", "b"], ["y"], name="bad_add")],
               [vi("a", [1, 3, 4]), vi("b", [1, 5, 4])], [vi("y", [1, 3, 4])]), "shape_mismatch.onnx")
    save(model([helper.make_node("Relu", ["nowhere"], ["y"], name="dangling_relu")],
               [vi("x", [1, 4])], [vi("y", [1, 4])]), "dangling.onnx")
    save(model([helper.make_node("Cast", ["x"], ["c"], name="cast", to=TensorProto.FLOAT),
                helper.make_node("Relu", ["c"], ["y"], name="relu")],
               [vi("x", [1, 4], TensorProto.INT64)], [vi("y", [1, 4])]), "int64_input.onnx")
    secret = np.arange(16, dtype=np.float32)
    with open(os.path.join(out, "secret.bin"), "wb") as f:
        f.write(secret.tobytes())
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4, 4],
                    data_location=TensorProto.EXTERNAL)
    for k, v in (("location", "../secret.bin"), ("offset", "0"), ("length", str(secret.nbytes))):
        e = w.external_data.add()
        e.key, e.value = k, v
    save(model([helper.make_node("MatMul", ["x", "w"], ["y"], name="leaky_matmul")],
               [vi("x", [1, 4])], [vi("y", [1, 4])], [w]), "models/external_escape.onnx")
    for name, m in overflow_models():
        save(m, "overflow_%s.onnx" % name)
    # each constant within the limits, but folding them all would make
    # 8 + 16 + 32 MiB from a file of a few hundred bytes
    save(model([helper.make_node("ConstantOfShape", ["s"], ["c0"], name="c0"),
                helper.make_node("Concat", ["c0", "c0"], ["c1"], name="c1", axis=0),
                helper.make_node("Concat", ["c1", "c1"], ["c2"], name="amplify", axis=0),
                helper.make_node("Add", ["v", "c2"], ["y"], name="add")],
               [vi("v", [1 << 23])], [vi("y", None)], [i64("s", [1 << 21])]), "fold_amplify.onnx")


def i64(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def overflow_models():
    """One model per class of size overflow; the offending node is 'big'
    (input_dims: the graph input 'x' of 2^40 elements, no node)."""
    x4 = [vi("x", [1, 1, 4, 4])]
    y = [vi("y", None)]
    w = numpy_helper.from_array(np.ones((1, 1, 3, 3), np.float32), "w")
    conv = lambda **kw: model([helper.make_node("Conv", ["x", "w"], ["y"], name="big", **kw)],
                              x4, y, [w])
    pad = lambda p: model([helper.make_node("Pad", ["x", "p"], ["y"], name="big")], x4, y,
                          [i64("p", [0, 0, p, 0, 0, 0, p, 0])])
    yield "pad_2_62", pad(1 << 62)
    yield "pad_2_31", pad(1 << 31)
    yield "conv_pads_2_40", conv(pads=[1 << 40] * 4)
    yield "conv_dilation_2_62", conv(dilations=[1 << 62, 1])
    yield "conv_stride_2_62", conv(strides=[1 << 62, 1])
    yield "constant_of_shape", model(
        [helper.make_node("ConstantOfShape", ["s"], ["c"], name="big"),
         helper.make_node("Concat", ["c", "v"], ["y"], name="cat", axis=0)],
        [vi("v", [4])], y, [i64("s", [1 << 62])])
    yield "reshape_product", model(
        [helper.make_node("Reshape", ["x", "s"], ["y"], name="big")], x4, y,
        [i64("s", [1 << 40, 1 << 40, -1])])
    yield "broadcast", model([helper.make_node("Add", ["a", "b"], ["y"], name="big")],
                             [vi("a", [65536, 1]), vi("b", [1, 65536])], y)
    yield "concat_sum", model(
        [helper.make_node("Concat", ["a"] * 40000, ["y"], name="big", axis=0)],
        [vi("a", [65536])], y)
    yield "range", model(
        [helper.make_node("Range", ["r0", "r1", "r2"], ["r"], name="big"),
         helper.make_node("Cast", ["r"], ["rf"], name="cast", to=TensorProto.FLOAT),
         helper.make_node("Add", ["v", "rf"], ["y"], name="add")],
        [vi("v", [1])], y,
        [numpy_helper.from_array(np.array(v, np.float32), n)
         for n, v in (("r0", 0.0), ("r1", 1e30), ("r2", 1.0))])
    yield "input_dims", model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                              [vi("x", [1 << 20, 1 << 20])], y)


if __name__ == "__main__":
    main()
