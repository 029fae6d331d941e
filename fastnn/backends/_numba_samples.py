"""Numba kernels for whole networks sample by sample: per-sample SGD epochs in one call, and the
small layers after a wide first layer.
"""

import numpy as np
from numba import uint64

from ._numba_jit import _jit
from ._numba_math import (
    SSE,
    _activate_segment,
    _activation_backward,
    _activation_backward_segment,
    _loss_scale,
    _sample_correct,
    _sample_delta,
    _sample_loss,
    _update,
)
from ._numba_products import _column_sums_into, _sum_slabs

# ---------------------------------------------------------------- whole network, sample by sample
# For small batches: one int64 table describes the layers, one float buffer holds every unit of
# one sample (Z, A) and two delta segments, parameters are read from ``flat`` by offset, and the
# gradients of a batch add up sample by sample. Few arrays, no views, no allocation inside the
# epoch: per-sample SGD stays in L1 and pays almost no reference counting.

N_IN, N_OUT, ACT, BIAS, W_AT, U_AT = 0, 1, 2, 3, 4, 5  # columns of the layer table


@_jit()
def _layer_table(net):
    """(layers, 6) int64: n_in, n_out, activation, bias, offset of W in flat, offset of units."""
    sizes, acts, biases = net
    table = np.empty((sizes.shape[0] - 1, 6), np.int64)
    w, u = 0, 0
    for layer in range(table.shape[0]):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        table[layer] = (n_in, n_out, acts[layer], biases[layer], w, u)
        w += n_in * n_out + n_out
        u += n_out
    return table


@_jit()
def _scratch(table, dtype_example):
    """One buffer: Z and A of every unit, then two delta segments as wide as the widest layer.
    Returns (buffer, z_at, a_at, d_at, e_at)."""
    units = table[-1, U_AT] + table[-1, N_OUT]
    widest = max(table[:, N_OUT].max(), table[:, N_IN].max())
    buffer = np.empty(2 * units + 2 * widest, dtype_example.dtype)
    return buffer, 0, units, 2 * units, 2 * units + widest


@_jit(inline="always")
def _sample_forward(flat, table, X, i, S, z_at, a_at):
    """One sample, X[i], through every layer into S[z_at + unit], S[a_at + unit]."""
    for layer in range(table.shape[0]):
        n_in, n_out, act = table[layer, N_IN], table[layer, N_OUT], table[layer, ACT]
        wo, zo = table[layer, W_AT], table[layer, U_AT]
        io = a_at + table[layer - 1, U_AT] if layer > 0 else 0
        zs = uint64(z_at + zo)
        for j in range(uint64(n_out)):
            S[zs + j] = flat[uint64(wo + n_in * n_out) + j]
        for k in range(n_in):  # row k of W is contiguous: the j loop vectorizes (unsigned
            x = X[i, k] if layer == 0 else S[io + k]  # indices: no wraparound checks)
            w = uint64(wo + k * n_out)
            for j in range(uint64(n_out)):
                S[zs + j] += x * flat[w + j]
        _activate_segment(act, S, zs, S, a_at + zo, n_out)


@_jit(inline="always")
def _row_dot(flat, w, S, d, n):
    """sum_j S[d + j] flat[w + j] for j < n: a row of W times a delta segment."""
    w, d = uint64(w), uint64(d)
    total = S.dtype.type(0)
    for j in range(uint64(n)):
        total += S[d + j] * flat[w + j]
    return total


@_jit(inline="always")
def _sample_backward(flat, table, X, i, S, z_at, a_at, d_at, e_at, grads, dX):
    """Add the gradients of sample X[i] to ``grads``; S[d_at:] holds dL/dZ of the output. If dX
    has rows, dX[i] = dL/dX[i], the gradient of the first layer's input."""
    for layer in range(table.shape[0] - 1, -1, -1):
        n_in, n_out = table[layer, N_IN], table[layer, N_OUT]
        wo = table[layer, W_AT]
        io = table[layer - 1, U_AT] if layer > 0 else 0
        d = uint64(d_at)
        for k in range(n_in):
            a = X[i, k] if layer == 0 else S[a_at + io + k]
            w = uint64(wo + k * n_out)
            for j in range(uint64(n_out)):
                grads[w + j] += a * S[d + j]
        if table[layer, BIAS]:
            w = uint64(wo + n_in * n_out)
            for j in range(uint64(n_out)):
                grads[w + j] += S[d + j]
        if layer == 0:
            if dX.shape[0] > 0:
                for k in range(n_in):
                    dX[i, k] = _row_dot(flat, wo + k * n_out, S, d, n_out)
            break
        for k in range(n_in):
            S[e_at + k] = _row_dot(flat, wo + k * n_out, S, d, n_out)
        _activation_backward_segment(table[layer - 1, ACT], S, z_at + io, S, a_at + io, S, e_at,
                                     n_in)
        d_at, e_at = e_at, d_at


@_jit(inline="always")
def _batch_gradients(flat, table, loss, X, Y, rows, scratch, grads, dX):
    """``(loss, correct)`` of the batch X[rows], Y[rows]; the gradient of the table's layers
    into ``grads`` (the parameters before them are left alone), dL/dX[rows] into dX if it has
    rows. ``rows = (order, start, stop)``: the batch is order[start:stop], without a view."""
    order, start, stop = rows
    S, z_at, a_at, d_at, e_at = scratch
    last = table.shape[0] - 1
    k, o, act = table[last, N_OUT], table[last, U_AT], table[last, ACT]
    scale = _loss_scale(loss, stop - start, k)
    for p in range(table[0, W_AT], grads.shape[0]):  # (a slice assignment would make a view)
        grads[p] = 0
    value = 0.0
    correct = 0
    for r in range(start, stop):
        i = order[r]
        _sample_forward(flat, table, X, i, S, z_at, a_at)
        value += _sample_loss(loss, act, S, z_at + o, S, a_at + o, Y, i, k)
        correct += _sample_correct(loss, S, a_at + o, Y, i, k)
        _sample_delta(loss, act, S, z_at + o, S, a_at + o, Y, i, k, scale, S, d_at)
        _sample_backward(flat, table, X, i, S, z_at, a_at, d_at, e_at, grads, dX)
    return value / scale, correct


@_jit()
def _forward_samples(flat, net, first, X, Z, A):
    """The output layer's Z and A (m, k) for every row of X, the input of layer ``first``:
    layers first, first + 1, ... sample by sample."""
    table = _layer_table(net)[first:]
    S, z_at, a_at, _, _ = _scratch(table, flat)
    k, o = table[-1, N_OUT], table[-1, U_AT]
    for i in range(X.shape[0]):
        _sample_forward(flat, table, X, i, S, z_at, a_at)
        for j in range(k):
            Z[i, j] = S[z_at + o + j]
            A[i, j] = S[a_at + o + j]


@_jit()
def _gradients_samples(flat, net, first, loss, X, Y, grads, dX):
    """``(loss, correct)`` of the layers from ``first`` on, sample by sample, X their input
    (m, n): their gradients into ``grads``, dL/dX into dX if it has rows."""
    table = _layer_table(net)[first:]
    rows = (np.arange(X.shape[0]), 0, X.shape[0])
    return _batch_gradients(flat, table, loss, X, Y, rows, _scratch(table, flat), grads, dX)


@_jit()
def _first_layer_middle(flat, net, loss, P, pos, Y, Z, A, dZ, grads, opt):
    """A batch between its two passes over X, when only the first layer is wide, in one call:
    Z = b + the slabs' products P of sample pos[r] and A = f(Z) (``_sum_slabs``); the layers
    after it sample by sample (loss, correct, their gradients); dZ = dL/dZ of the first layer,
    its bias gradient, and the optimizer's update of every parameter but the first layer's W
    (Adam's step already counted). Returns ``(loss, correct)``."""
    sizes, acts, biases = net
    w_size, n_out = sizes[0] * sizes[1], sizes[1]
    _sum_slabs(P, pos, flat[w_size:w_size + n_out], acts[0], Z, A)
    value, correct = _gradients_samples(flat, net, 1, loss, A, Y, grads, dZ)
    _activation_backward(acts[0], Z, A, dZ, dZ)
    db = grads[w_size:w_size + n_out]
    _column_sums_into(dZ, db)
    if not biases[0]:
        db[:] = 0
    _update(opt, flat, grads, w_size, flat.shape[0])
    return value, correct


@_jit()
def _train_epoch(flat, net, loss, X, Y, order, batch_size, opt):
    """One epoch of updates, batches, layers and optimizer in one compiled call."""
    code, step = opt[0], opt[4]
    table = _layer_table(net)
    scratch = _scratch(table, flat)
    grads = np.empty_like(flat)
    no_input_gradient = np.empty((0, 0), flat.dtype)
    n = order.shape[0]
    total = 0.0
    correct = 0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        value, batch_correct = _batch_gradients(flat, table, loss, X, Y, (order, start, stop),
                                                scratch, grads, no_input_gradient)
        correct += batch_correct
        total += value if loss == SSE else value * (stop - start)
        if code != 0:
            step[0] += 1
        _update(opt, flat, grads, 0, flat.shape[0])
    return (total if loss == SSE else total / n), correct
