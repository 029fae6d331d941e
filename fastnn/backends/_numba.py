"""The numba backend: the same kernels as loops compiled by Numba, and a compiled whole epoch.

The kernels are ``@njit`` functions in ``_numba_math`` (element by element), ``_numba_products``
(wide layers' products) and ``_numba_samples`` (whole networks sample by sample); this module
holds the backend contract and runs them. Small batches (per-sample SGD) run whole epochs —
every batch, layer and update — in one compiled call. Large batches run the wide layers layer by
layer, each product split into fixed chunks computed on several threads (no result depends on
thread timing or count), and the small layers after them sample by sample in one compiled call;
a full-batch step reads the training inputs once (the first layer's gradient, update and the
next step's product, block by block). The kernels mirror ``_loop.py``; they are written out
again (not compiled from it) because Numba's disk cache only follows the file that holds a
kernel.
"""

import numpy as np

from .. import backends
from . import _network
from ._layout import layer_views
from ._numba_jit import _aligned, _aligned_empty, _run_chunks
from ._numba_math import (
    _activation_backward,
    _adam_step,
    _correct_count,
    _loss_value,
    _output_delta,
    _sgd_step,
    _update_chunk,
)
from ._numba_products import (
    BLOCK_BYTES,
    SLABS,
    SMALL_LAYER,
    _column_sums_into,
    _dense_backward_input_chunk,
    _dense_backward_weights_chunk,
    _dense_forward_chunk,
    _first_layer_step_chunk,
    _forward_slabs_chunk,
    _sum_slabs,
    _transpose_into,
    _unchanged,
)
from ._numba_samples import _first_layer_middle, _forward_samples, _gradients_samples, _train_epoch
from ._ops import OPT_SGD

# ---------------------------------------------------------------- the backend contract
# Small batches run whole epochs in one compiled call, sample by sample (COMPILED_MAX_WORK
# multiply-adds per batch decide). Large ones split the network in two: the head, up to the last
# layer with more than TAIL_MAX_WEIGHTS weights, runs layer by layer, each product split over
# threads; the small layers after it (the tail, with the loss) run in one compiled call, sample by
# sample, which also returns the gradient the head's backward pass starts from.

COMPILED_MAX_WORK = backends.COMPILED_MAX_WORK
TAIL_MAX_WEIGHTS = 4096


class _Inputs:
    """The training inputs of one fit, X (C-contiguous, aligned), and what a full-batch step
    leaves for the next: ``pending = (P, snapshot)``, the first layer's partial products of all
    of X with the weights it updated, and a copy of those weights (see ``_layered_step``)."""

    def __init__(self, X):
        self.X = X
        self.pending = None
        self.workspace = {}

    def buffer(self, name, shape, dtype):
        """An aligned work array of this fit, reused from step to step."""
        key = (name, shape, np.dtype(dtype))
        if key not in self.workspace:
            self.workspace[key] = _aligned_empty(shape, dtype)
        return self.workspace[key]


def prepare_inputs(X):
    """X as the kernels read it fastest (C-contiguous, aligned; copied once per fit if it is
    not), with room for what one step leaves the next."""
    return _Inputs(_aligned(X))


def take_rows(X, rows):
    """The batch as (X, rows): the kernels read X[rows[r]] in place, nothing is copied."""
    X = X.X if isinstance(X, _Inputs) else X
    return (X, np.ascontiguousarray(rows, dtype=np.int64))


def _samples(X):
    """(X, rows) from an array, from prepare_inputs' object or from take_rows' pair."""
    if isinstance(X, tuple):
        return X
    X = X.X if isinstance(X, _Inputs) else np.ascontiguousarray(X)
    return X, np.arange(X.shape[0])


def _by_slabs(W) -> bool:
    """Whether a layer splits its products by inputs (see SLABS): only its shape decides."""
    return W.shape[0] >= 2 * SLABS * (BLOCK_BYTES // W.itemsize)


def _forward_into(X, rows, W, b, act, Z, A):
    """Z = X[rows] @ W + b;  A = act(Z), large layers on several threads."""
    m = rows.shape[0]
    WT = _aligned_empty((W.shape[1], W.shape[0]), W.dtype)
    if _by_slabs(W):
        P = np.empty((SLABS * m, W.shape[1]), W.dtype)
        _run_chunks(_forward_slabs_chunk, (X, rows, W, WT, P), SLABS, m * W.size)
        _sum_slabs(P, np.arange(m), b, act, Z, A)
        return
    if W.size > SMALL_LAYER:
        _run_chunks(_transpose_into, (W, WT), W.shape[0], W.size)
    _run_chunks(_dense_forward_chunk, (X, rows, W, b, act, WT, Z, A), m, m * W.size, align=4)


def _backward_into(dZ, X, rows, W, dW, db, dX):
    """dW = X[rows].T @ dZ;  db = column sums of dZ;  dX = dZ @ W.T unless dX is None."""
    m = rows.shape[0]
    _run_chunks(_dense_backward_weights_chunk, (X, rows, dZ, dW), _blocks(W), m * W.size)
    _column_sums_into(dZ, db)
    if dX is not None:
        _run_chunks(_dense_backward_input_chunk, (dZ, W, dX, np.arange(m)), m, m * W.size,
                    align=4)


def dense_forward(X, W, b, act):
    """Z = X @ W + b;  A = act(Z).  X (m, n_in) (or take_rows' pair) -> Z, A (m, n_out)."""
    (X, rows), W = _samples(X), np.ascontiguousarray(W)
    Z = _aligned_empty((rows.shape[0], W.shape[1]), W.dtype)
    A = _aligned_empty(Z.shape, W.dtype)
    _forward_into(X, rows, W, b, act, Z, A)
    return Z, A


def activation_backward(act, Z, A, dA):
    """dZ = dA * f'(Z); for softmax dZ_j = A_j (dA_j - sum_k dA_k A_k).  All (m, n)."""
    dZ = np.empty_like(dA)
    _activation_backward(act, Z, A, dA, dZ)
    return dZ


def dense_backward(dZ, X, W, need_dX):
    """dW = X.T @ dZ;  db = column sums of dZ;  dX = dZ @ W.T (only if need_dX)."""
    (X, rows), dZ, W = _samples(X), np.ascontiguousarray(dZ), np.ascontiguousarray(W)
    dW, db = np.empty_like(W), np.empty(W.shape[1], W.dtype)
    dX = _aligned_empty((rows.shape[0], W.shape[0]), W.dtype) if need_dX else None
    _backward_into(dZ, X, rows, W, dW, db, dX)
    return dX, dW, db


def loss_value(loss, act, Z, A, Y):
    """The loss of a batch (see ``fastnn.losses``); bce and cce from the logits when fused."""
    return float(_loss_value(loss, act, Z, A, np.ascontiguousarray(Y), np.arange(A.shape[0])))


def output_delta(loss, act, Z, A, Y):
    """dL/dZ of the output layer: (A - Y) / scale for the fused pairs, else dL/dA through f'."""
    dZ = np.empty_like(A)
    _output_delta(loss, act, Z, A, np.ascontiguousarray(Y), np.arange(A.shape[0]), dZ)
    return dZ


def correct_count(loss, A, Y):
    """bce: outputs on the right side of 0.5; cce: rows whose largest output is the target."""
    return int(_correct_count(loss, A, np.ascontiguousarray(Y), np.arange(A.shape[0])))


def sgd_step(params, grads, velocity, lr, momentum):
    """velocity = momentum velocity - lr grad;  params += velocity (Keras' momentum)."""
    _run_chunks(_sgd_step, (params, grads, velocity, float(lr), float(momentum)), params.size,
                params.size)


def adam_step(params, grads, m, v, t, lr, beta1, beta2, eps):
    """Adam (Kingma & Ba): bias-corrected first and second moments; step number t >= 1."""
    hyper = (int(t), float(lr), float(beta1), float(beta2), float(eps))
    _run_chunks(_adam_step, (params, grads, m, v) + hyper, params.size, params.size)


def _compiled(net, batch) -> bool:
    """Whether a batch is small enough for the compiled, serial whole-network path."""
    sizes = net[0]
    return batch * int(np.sum(sizes[:-1] * sizes[1:])) < COMPILED_MAX_WORK


def _head(net) -> int:
    """How many layers run layer by layer: up to the last one with more than TAIL_MAX_WEIGHTS
    weights, at least one."""
    sizes = net[0]
    large = np.flatnonzero(sizes[:-1] * sizes[1:] > TAIL_MAX_WEIGHTS)
    return int(large[-1]) + 1 if large.size else 1


def _head_forward(flat, net, X, rows, first=None):
    """The head's layers on X[rows]: ``[(input, rows), ...]`` and ``[(Z, A), ...]`` per layer.
    ``first``: the first layer's (Z, A) when they are known already."""
    sizes, acts, _ = net
    inputs, outputs = [], []
    for (W, b), act in zip(layer_views(flat, sizes)[:_head(net)], acts):
        if first is None:
            Z = _aligned_empty((rows.shape[0], W.shape[1]), W.dtype)
            A = _aligned_empty(Z.shape, W.dtype)
            _forward_into(X, rows, W, b, int(act), Z, A)
        else:
            (Z, A), first = first, None
        inputs.append((X, rows))
        outputs.append((Z, A))
        X, rows = A, np.arange(rows.shape[0])
    return inputs, outputs


def _backpropagate(flat, net, loss, X, rows, Y, grads, first=None):
    """Forward and back through a large batch X[rows] with targets Y: the head layer by layer,
    the tail sample by sample. Fills ``grads``, all but the first layer's W; returns
    ``(loss, correct, dZ)``, dZ = dL/dZ of the first layer (m, n_1)."""
    sizes, acts, biases = net
    head = _head(net)
    inputs, outputs = _head_forward(flat, net, X, rows, first)
    Z, A = outputs[-1]
    act = int(acts[head - 1])
    if head < len(acts):
        dA = np.empty_like(A)
        value, correct = _gradients_samples(flat, net, head, int(loss), A, Y, grads, dA)
        dZ = activation_backward(act, Z, A, dA)
    else:
        value, correct = loss_value(loss, act, Z, A, Y), correct_count(loss, A, Y)
        dZ = output_delta(loss, act, Z, A, Y)
    layers, grad_layers = layer_views(flat, sizes), layer_views(grads, sizes)
    for layer in range(head - 1, 0, -1):
        (W, _), (dW, db) = layers[layer], grad_layers[layer]
        dX = _aligned_empty((dZ.shape[0], W.shape[0]), W.dtype)
        _backward_into(dZ, *inputs[layer], W, dW, db, dX)
        dZ = activation_backward(int(acts[layer - 1]), *outputs[layer - 1], dX)
    for layer, (_, db) in enumerate(grad_layers[:head]):
        if layer == 0:
            _column_sums_into(dZ, db)
        if not biases[layer]:
            db[:] = 0
    return float(value), int(correct), dZ


def _layered_gradients(flat, net, loss, X, Y, grads):
    """``(loss, correct)`` of a large batch X, Y; fills ``grads``."""
    (X, rows), Y = _samples(X), np.ascontiguousarray(Y)
    value, correct, dZ = _backpropagate(flat, net, loss, X, rows, Y, grads)
    W, dW = layer_views(flat, net[0])[0][0], layer_views(grads, net[0])[0][0]
    _run_chunks(_dense_backward_weights_chunk, (X, rows, dZ, dW), _blocks(W), dZ.shape[0] * W.size)
    return value, correct


def _blocks(W) -> int:
    """Blocks of BLOCK_BYTES in a row of the layer's input."""
    width = BLOCK_BYTES // W.itemsize
    return -(-W.shape[0] // width)


def _first_products(inputs, flat, W):
    """The slabs' partial products of every sample of X with the first layer's W, in the order
    of X: from what the previous full-batch step left if W has not changed since, else afresh."""
    pending, inputs.pending = inputs.pending, None
    if pending is not None:
        P, snapshot = pending
        if snapshot.shape[0] == W.size and _unchanged(flat, snapshot):
            return P
    X = inputs.X
    every = np.arange(X.shape[0])
    P = inputs.buffer("P", (SLABS * X.shape[0], W.shape[1]), W.dtype)
    WT = inputs.buffer("WT", (W.shape[1], W.shape[0]), W.dtype)
    _run_chunks(_forward_slabs_chunk, (X, every, W, WT, P), SLABS, X.shape[0] * W.size)
    return P


def _layered_step(flat, net, loss, X, Y, rows, grads, opt):
    """One training step on a large batch X[rows] (``rows`` a slice or indices): gradients,
    the first layer's update made block by block with its gradient, then the others' update.

    When only the first layer is wide (``_by_slabs``), a step is three calls: its products
    (threads), the rest of the batch (``_first_layer_middle``), its gradient and update
    (threads). A full-batch step also computes the next step's first products from the updated
    weights while each block of X is in cache (``_first_layer_step_chunk``), kept in ``inputs``
    and used by the next step if the weights have not changed since."""
    inputs = X if isinstance(X, _Inputs) else _Inputs(np.ascontiguousarray(X))
    X = inputs.X
    n = X.shape[0]
    rows = np.arange(n)[rows] if isinstance(rows, slice) else np.ascontiguousarray(rows, np.int64)
    m = rows.shape[0]
    (W, b), (dW, _) = layer_views(flat, net[0])[0], layer_views(grads, net[0])[0]
    n_out = W.shape[1]
    wide = _by_slabs(W)
    fuse = wide and m == n and np.bincount(rows, minlength=n).max() == 1
    if wide and _head(net) == 1 < len(net[1]):
        Z, A, dZ = (inputs.buffer(name, (m, n_out), W.dtype) for name in ("Z", "A", "dZ"))
        if fuse:  # the first products of all of X, in its order, taken in the batch's order
            P, pos = _first_products(inputs, flat, W), rows
        else:
            P, pos = inputs.buffer("P", (SLABS * m, n_out), W.dtype), np.arange(m)
            WT = inputs.buffer("WT", (n_out, W.shape[0]), W.dtype)
            _run_chunks(_forward_slabs_chunk, (X, rows, W, WT, P), SLABS, m * W.size)
        if opt[0] != OPT_SGD:
            opt[4][0] += 1
        value, correct = _first_layer_middle(flat, net, int(loss), P, pos, Y[rows], Z, A, dZ,
                                             grads, opt)
    else:
        first = None
        if fuse:
            first = tuple(inputs.buffer(name, (n, n_out), W.dtype) for name in ("Z", "A"))
            _sum_slabs(_first_products(inputs, flat, W), rows, b, int(net[1][0]), *first)
        value, correct, dZ = _backpropagate(flat, net, loss, X, rows, Y[rows], grads, first)
        if opt[0] != OPT_SGD:
            opt[4][0] += 1
        _run_chunks(_update_chunk, (opt, flat, grads, W.size), flat.size - W.size,
                    flat.size - W.size)
    if wide:
        P = inputs.buffer("P", (SLABS * m if fuse else 0, n_out), W.dtype)
        WT = inputs.buffer("WT", (n_out, W.shape[0]) if fuse else (0, 0), W.dtype)
        snapshot = inputs.buffer("snapshot", (W.size if fuse else 0,), W.dtype)
        _run_chunks(_first_layer_step_chunk,
                    (X, rows, dZ, W, flat, opt, WT, P, snapshot), SLABS, m * W.size)
        inputs.pending = (P, snapshot) if fuse else None
    else:
        _run_chunks(_dense_backward_weights_chunk, (X, rows, dZ, dW), _blocks(W), m * W.size)
        _run_chunks(_update_chunk, (opt, flat, grads, 0), W.size, W.size)
    return float(value), int(correct)


_, _, _layered_epoch = _network.bind(globals(), step=_layered_step)


def forward(flat, net, X):
    """The output layer's Z and A for X (m, n_in), each (m, k)."""
    X = np.ascontiguousarray(X)
    m, first = X.shape[0], 0
    if not _compiled(net, m):
        _, outputs = _head_forward(flat, net, X, np.arange(m))
        first = _head(net)
        if first == len(net[1]):
            return outputs[-1]
        X = outputs[-1][1]
    Z = np.empty((m, int(net[0][-1])), flat.dtype)
    A = np.empty_like(Z)
    _forward_samples(flat, net, first, X, Z, A)
    return Z, A


def loss_and_gradients(flat, net, loss, X, Y, grads):
    """Forward, loss, then backpropagation; fills ``grads`` (flat); returns the loss."""
    X, Y = np.ascontiguousarray(X), np.ascontiguousarray(Y)
    if not _compiled(net, X.shape[0]):
        return _layered_gradients(flat, net, loss, X, Y, grads)[0]
    no_input_gradient = np.empty((0, 0), flat.dtype)
    return float(_gradients_samples(flat, net, 0, loss, X, Y, grads, no_input_gradient)[0])


def train_epoch(flat, net, loss, X, Y, order, batch_size, opt):
    """One epoch of updates over ``order`` in batches; ``(loss, correct)``.

    Small batches: the whole epoch (batches, layers, optimizer) in one compiled call. Large
    ones: batch by batch, the head's kernels on several threads (see above).
    """
    if not _compiled(net, min(batch_size, len(order))):
        return _layered_epoch(flat, net, loss, X, Y, order, batch_size, opt)
    X = X.X if isinstance(X, _Inputs) else X
    value, correct = _train_epoch(flat, net, loss, X, Y, order, batch_size, opt)
    return float(value), int(correct)
