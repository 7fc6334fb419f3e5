#!/usr/bin/env python3
"""Small models whose graphs chamcc rewrites, for rewrites.sh to compare with
ONNX Runtime: each case computes the same thing with the rewrite taken and
(a near twin) with it refused, so both paths are checked.

    make_rewrite_models.py OUT_DIR

Cases (x is 1x4x9x10, seeded random weights):
  pad_conv        Pad of H and W (asymmetric, 0) -> Conv 3x3 stride 2: folded
  pad_conv_value  the same Pad with value 0.5: kept (a Conv pads with 0)
  pad_avg         Pad 0 -> AveragePool 3x3 (count_include_pad 0): folded,
                  the pool counts the zeros
  pad_avg_own     Pad 0 -> AveragePool with pads 1 and count_include_pad 1: folded
  pad_avg_excl    Pad 0 -> AveragePool with pads 1, count_include_pad 0: kept
  pad_max         Pad -inf -> MaxPool 2x2 ceil_mode 1: folded
  pad_two         one Pad read by a Conv and by an AveragePool: folded into both
  pad_shared      one Pad read by a Conv and by a Relu: kept
  concat_pool     Concat of a Conv and a MaxPool of the same blocked tensor,
                  then a Conv: both write into their slices (no copy)
  concat_odd      the same with 6 channels in the Conv branch (not a whole
                  channel block on any target): in place, the gap after
                  them skipped by zero weights of the last Conv
  concat_odd_relu the same with a Relu reading the Concat too: copied
  concat_odd_3x3  concat_odd with a 3x3 Conv to 24 channels last (Winograd
                  F(2x2) on 9x10): in place, zeros at the gap in the
                  transformed weights
  nhwc_conv       (x of 1x4x48x40) Conv 4->20 -> Transpose to NHWC: read
                  straight from the blocked layout (20 channels: a last
                  partial block on every target), shared by the threads
  nhwc_plain      (x of 1x20x48x40) Relu -> Transpose to NHWC: the plain
                  transpose, its loops shared by the threads
  se_block        squeeze-and-excitation on 20 channels (a partial block):
                  GlobalAveragePool -> Conv 'fc1' -> Relu -> Conv -> Sigmoid
                  -> Mul: the pool writes fc1's blocked input, no reorder
  se_out          the same with the pooled channels a graph output too:
                  the pool writes them plain, fc1 reorders
  pool_ceil_incl  Conv 4->16 -> AveragePool 3x3 stride 2, ceil_mode 1,
                  count_include_pad 1, no pads: the last windows hang over
                  the input, and their divisor counts only the taps inside
  wino_*          3x3 convolutions by Winograd F(4x4), F(2x2), or direct
  clamp_chain     Conv 4->20 -> LeakyRelu -> Max with a [1,1,1,1] constant ->
                  Min with a scalar -> Conv: both bounds in the first Conv's
                  epilogue (a clamp), no pass of their own
  clamp_disjoint  the same with a Min below the Max's bound (a constant
                  output): the Min stays a pass of its own
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)
X = helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 4, 9, 10])


def const(name, a):
    return numpy_helper.from_array(np.asarray(a), name)


def pad(pads_hw, value=None, out='p', mode='constant'):
    """Pad of x's H and W: pads_hw = (h_begin, w_begin, h_end, w_end)."""
    hb, wb, he, we = pads_hw
    inits = [const('pads', np.array([0, 0, hb, wb, 0, 0, he, we], np.int64))]
    ins = ['x', 'pads']
    if value is not None:
        inits.append(const('cv', np.array(value, np.float32)))
        ins.append('cv')
    return [helper.make_node('Pad', ins, [out], mode=mode)], inits


def conv(inp, out, name='W', stride=1):
    w = const(name, rng.standard_normal((6, 4, 3, 3)).astype(np.float32))
    b = const(name + 'b', rng.standard_normal(6).astype(np.float32))
    return helper.make_node('Conv', [inp, name, name + 'b'], [out], kernel_shape=[3, 3],
                            strides=[stride, stride]), [w, b]


def concat_pool(branch_channels, relu=False, last_3x3=False):
    """x -> Conv 4->16 -> t; Concat(Conv t -> branch_channels, MaxPool t) -> Conv 1x1 -> y
    (3x3 to 24 channels with last_3x3; and with relu, Relu(Concat) -> z)."""
    def w(name, shape):
        return const(name, rng.standard_normal(shape).astype(np.float32))
    c = 16 + branch_channels
    kc = 3 if last_3x3 else 1
    inits = [w('Wa', (16, 4, 3, 3)), w('Wb', (branch_channels, 16, 1, 1)),
             w('Wc', (24 if last_3x3 else 8, c, kc, kc))]
    nodes = [helper.make_node('Conv', ['x', 'Wa'], ['t'], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node('Relu', ['t'], ['tr']),
             helper.make_node('Conv', ['tr', 'Wb'], ['b'], kernel_shape=[1, 1]),
             helper.make_node('MaxPool', ['tr'], ['m'], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node('Concat', ['b', 'm'], ['cat'], axis=1),
             helper.make_node('Conv', ['cat', 'Wc'], ['y'], kernel_shape=[kc, kc], pads=[kc // 2] * 4)]
    if relu:
        nodes.append(helper.make_node('Relu', ['cat'], ['z']))
    return nodes, inits


def se_block():
    """x -> Conv 4->20 -> t; t * Sigmoid(Conv(Relu(Conv 'fc1'(GlobalAveragePool t)))) -> y."""
    def w(name, shape):
        return const(name, rng.standard_normal(shape).astype(np.float32))
    inits = [w('Ws', (20, 4, 3, 3)), w('W1', (8, 20, 1, 1)), w('b1', (8,)), w('W2', (20, 8, 1, 1)), w('b2', (20,))]
    nodes = [helper.make_node('Conv', ['x', 'Ws'], ['t'], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node('GlobalAveragePool', ['t'], ['p']),
             helper.make_node('Conv', ['p', 'W1', 'b1'], ['f1'], name='fc1', kernel_shape=[1, 1]),
             helper.make_node('Relu', ['f1'], ['r']),
             helper.make_node('Conv', ['r', 'W2', 'b2'], ['f2'], kernel_shape=[1, 1]),
             helper.make_node('Sigmoid', ['f2'], ['s']),
             helper.make_node('Mul', ['t', 's'], ['y'])]
    return nodes, inits


def model(name, nodes, inits, outputs, x_shape=None):
    outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs]
    for o in outs:  # no shape stated: chamcc infers it
        o.type.tensor_type.ClearField('shape')
    x = helper.make_tensor_value_info('x', TensorProto.FLOAT, x_shape) if x_shape else X
    g = helper.make_graph(nodes, name, [x], outs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])
    return m


def cases():
    p, pi = pad((1, 2, 0, 1))
    c, ci = conv('p', 'y', stride=2)
    yield 'pad_conv', p + [c], pi + ci, ['y']
    p, pi = pad((1, 2, 0, 1), value=0.5)
    c, ci = conv('p', 'y', stride=2)
    yield 'pad_conv_value', p + [c], pi + ci, ['y']
    p, pi = pad((1, 1, 2, 0))
    yield 'pad_avg', p + [helper.make_node('AveragePool', ['p'], ['y'], kernel_shape=[3, 3])], pi, ['y']
    p, pi = pad((0, 1, 1, 0))
    yield 'pad_avg_own', p + [helper.make_node('AveragePool', ['p'], ['y'], kernel_shape=[3, 3],
                                               pads=[1, 1, 1, 1], count_include_pad=1)], pi, ['y']
    yield 'pad_avg_excl', p + [helper.make_node('AveragePool', ['p'], ['y'], kernel_shape=[3, 3],
                                                pads=[1, 1, 1, 1], count_include_pad=0)], pi, ['y']
    p, pi = pad((1, 1, 0, 0), value=float('-inf'))  # no window of padding alone: ORT's max of
    # nothing but -inf is -FLT_MAX, not -inf
    yield 'pad_max', p + [helper.make_node('MaxPool', ['p'], ['y'], kernel_shape=[2, 2], strides=[2, 2],
                                           ceil_mode=1)], pi, ['y']
    p, pi = pad((1, 1, 1, 1))
    c, ci = conv('p', 'y')
    yield 'pad_two', p + [c, helper.make_node('AveragePool', ['p'], ['z'], kernel_shape=[3, 3])], pi + ci, ['y', 'z']
    yield 'pad_shared', p + [c, helper.make_node('Relu', ['p'], ['z'])], pi + ci, ['y', 'z']
    yield ('concat_pool',) + concat_pool(16) + (['y'],)
    yield ('concat_odd',) + concat_pool(6) + (['y'],)
    yield ('concat_odd_relu',) + concat_pool(6, relu=True) + (['y', 'z'],)
    yield ('concat_odd_3x3',) + concat_pool(6, last_3x3=True) + (['y'],)
    to_nhwc = helper.make_node('Transpose', ['t'], ['y'], perm=[0, 2, 3, 1])
    w = const('Wn', rng.standard_normal((20, 4, 3, 3)).astype(np.float32))
    yield 'nhwc_conv', [helper.make_node('Conv', ['x', 'Wn'], ['t'], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                        to_nhwc], [w], ['y'], [1, 4, 48, 40]
    yield 'nhwc_plain', [helper.make_node('Relu', ['x'], ['t']), to_nhwc], [], ['y'], [1, 20, 48, 40]
    yield ('se_block',) + se_block() + (['y'],)
    yield ('se_out',) + se_block() + (['y', 'p'],)
    w = const('Wp', rng.standard_normal((16, 4, 3, 3)).astype(np.float32))
    yield 'pool_ceil_incl', [helper.make_node('Conv', ['x', 'Wp'], ['t'], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                             helper.make_node('AveragePool', ['t'], ['y'], kernel_shape=[3, 3], strides=[2, 2],
                                              ceil_mode=1, count_include_pad=1)], [w], ['y']
    # Winograd: F(4x4) on 22x19 (edge tiles on both axes), F(2x2) on 7x7, none on 5x5 (too few tiles)
    yield ('wino_large',) + wino_block([1, 4, 22, 19])
    yield ('wino_small',) + wino_block([1, 4, 7, 7], k=40)
    yield ('wino_tiny',) + wino_block([1, 4, 5, 5])
    yield ('clamp_chain',) + clamp_chain(0.9)
    yield ('clamp_disjoint',) + clamp_chain(-0.5)


def clamp_chain(hi):
    """x -> Conv 4->20 -> LeakyRelu -> Max(-0.3) -> Min(hi) -> Conv 20->8 -> y."""
    inits = [const('Wk', (rng.standard_normal((20, 4, 3, 3)) * 0.5).astype(np.float32)),
             const('Wl', (rng.standard_normal((8, 20, 1, 1)) * 0.5).astype(np.float32)),
             const('lo', np.full((1, 1, 1, 1), -0.3, np.float32)), const('hi', np.array(hi, np.float32))]
    nodes = [helper.make_node('Conv', ['x', 'Wk'], ['t'], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node('LeakyRelu', ['t'], ['u'], alpha=0.2),
             helper.make_node('Max', ['u', 'lo'], ['v']),
             helper.make_node('Min', ['hi', 'v'], ['w']),
             helper.make_node('Conv', ['w', 'Wl'], ['y'], kernel_shape=[1, 1])]
    return nodes, inits, ['y']


def wino_block(x_shape, k=20):
    """x -> Conv 4->k (direct: few channels) -> Relu -> t; y = Relu(Conv t + t) (a residual
    block: the Winograd path's epilogue); z = Conv t -> 24 with pads (1, 0, 2, 1)."""
    def w(name, shape):
        return const(name, (rng.standard_normal(shape) * 0.3).astype(np.float32))
    inits = [w('Wa', (k, 4, 3, 3)), w('Wb', (k, k, 3, 3)), w('bb', (k,)), w('Wc', (24, k, 3, 3))]
    nodes = [helper.make_node('Conv', ['x', 'Wa'], ['t0'], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node('Relu', ['t0'], ['t']),
             helper.make_node('Conv', ['t', 'Wb', 'bb'], ['u'], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node('Add', ['u', 't'], ['v']),
             helper.make_node('Relu', ['v'], ['y']),
             helper.make_node('Conv', ['t', 'Wc'], ['z'], kernel_shape=[3, 3], pads=[1, 0, 2, 1])]
    return nodes, inits, ['y', 'z'], x_shape


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.split('\n\n')[1])
    os.makedirs(sys.argv[1], exist_ok=True)
    for name, nodes, inits, outs, *x_shape in cases():
        m = model(name, nodes, inits, outs, *x_shape)
        onnx.save(m, os.path.join(sys.argv[1], name + '.onnx'))


if __name__ == '__main__':
    main()
