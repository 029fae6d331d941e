"""The numba backend: the contract's functions, running the compiled kernels of
``_numba_kernels``.

Three engines to train (the planner, ``fastnn.plans``, picks): "samples" and "columns" run
whole epochs, every batch, layer and update, in one compiled call (small networks, and the dual
form), sample by sample or a batch at a time; "layers" runs each batch layer by layer: the
head, up to the last layer whose weights outgrow the L1 cache (``TAIL_MAX_BYTES``), in
register-tiled products split into fixed chunks over threads (no result depends on thread
timing or count), and the small layers after it (the tail, with the loss) a batch at a time in
one compiled call. Inference runs the batch-at-a-time engine, in chunks of rows on threads.
"""

import numpy as np

from . import _network
from . import _numba_kernels as kernels
from ._layout import aligned, aligned_empty, layer_views
from ._numba_threads import run_chunks

TAIL_MAX_BYTES = 32 * 1024  # a layer's weights from which it runs in tiles: more than L1 holds


class _Inputs:
    """The training inputs of one fit, X (C-contiguous, aligned), and work arrays that are
    reused from batch to batch."""

    def __init__(self, X):
        self.X = X
        self.workspace = {}

    def buffer(self, name, shape, dtype):
        key = (name, shape, np.dtype(dtype))
        if key not in self.workspace:
            self.workspace[key] = aligned_empty(shape, dtype)
        return self.workspace[key]


def prepare_inputs(X):
    """X as the kernels read it fastest (C-contiguous, aligned; copied once per fit if it is
    not), with room for the work arrays of a fit."""
    return _Inputs(aligned(X))


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


def _forward_into(X, rows, W, b, act, Z, A, WT=None):
    """Z = X[rows] @ W + b;  A = act(Z), large layers on several threads."""
    m = rows.shape[0]
    if WT is None:
        WT = aligned_empty((W.shape[1], W.shape[0]), W.dtype)
    if W.size > kernels.SMALL_LAYER:
        run_chunks(kernels._transpose_into, (W, WT), W.shape[0], W.size)
    run_chunks(kernels._dense_forward_chunk, (X, rows, W, b, act, WT, Z, A), m, m * W.size,
               align=4)


def _weights_gradient(X, rows, dZ, dW):
    """dW = X[rows].T @ dZ, by blocks of inputs on several threads."""
    width = kernels.BLOCK_BYTES // dW.itemsize
    blocks = -(-dW.shape[0] // width)
    run_chunks(kernels._dense_backward_weights_chunk, (X, rows, dZ, dW), blocks,
               dZ.shape[0] * dW.size)


def _input_gradient(dZ, W, dX):
    m = dZ.shape[0]
    run_chunks(kernels._dense_backward_input_chunk, (dZ, W, dX, np.arange(m)), m, m * W.size,
               align=4)


def dense_forward(X, W, b, act):
    """Z = X @ W + b;  A = act(Z).  X (m, n_in) (or take_rows' pair) -> Z, A (m, n_out)."""
    (X, rows), W = _samples(X), np.ascontiguousarray(W)
    Z = aligned_empty((rows.shape[0], W.shape[1]), W.dtype)
    A = aligned_empty(Z.shape, W.dtype)
    _forward_into(X, rows, W, b, act, Z, A)
    return Z, A


def activation_backward(act, Z, A, dA):
    """dZ = dA * f'(Z); for softmax dZ_j = A_j (dA_j - sum_k dA_k A_k).  All (m, n)."""
    dZ = np.empty_like(dA)
    kernels._activation_backward(act, Z, A, dA, dZ)
    return dZ


def dense_backward(dZ, X, W, need_dX):
    """dW = X.T @ dZ;  db = column sums of dZ;  dX = dZ @ W.T (only if need_dX)."""
    (X, rows), dZ, W = _samples(X), np.ascontiguousarray(dZ), np.ascontiguousarray(W)
    dW, db = np.empty_like(W), np.empty(W.shape[1], W.dtype)
    _weights_gradient(X, rows, dZ, dW)
    kernels._column_sums_into(dZ, db)
    dX = None
    if need_dX:
        dX = aligned_empty((rows.shape[0], W.shape[0]), W.dtype)
        _input_gradient(dZ, W, dX)
    return dX, dW, db


def dual_backward(dZ, rows, W):
    """dW = 0 but dW[rows[r]] += dZ[r];  db = column sums of dZ (a first layer in the dual
    form)."""
    dZ = np.ascontiguousarray(dZ)
    dW, db = np.empty_like(W), np.empty(W.shape[1], W.dtype)
    kernels._rows_gradient(dZ, np.asarray(rows, np.int64), dW)
    kernels._column_sums_into(dZ, db)
    return dW, db


def loss_value(loss, act, Z, A, Y):
    """The loss of a batch (see ``fastnn.losses``); bce and cce from the logits when fused."""
    return float(kernels._loss_value(loss, act, Z, A, np.ascontiguousarray(Y)))


def output_delta(loss, act, Z, A, Y):
    """dL/dZ of the output layer: (A - Y) / scale for the fused pairs, else dL/dA through f'."""
    dZ = np.empty_like(A)
    kernels._output_delta(loss, act, Z, A, np.ascontiguousarray(Y), dZ)
    return dZ


def correct_count(loss, A, Y):
    """bce: outputs on the right side of 0.5; cce: rows whose largest output is the target."""
    return int(kernels._correct_count(loss, A, np.ascontiguousarray(Y)))


def optimizer_step(rule, params, grads):
    """One update of params (in place; ``rule.step`` advances first), split over threads when
    large; False if some new value was not finite (that element kept its old one)."""
    rule.step[0] += 1
    return all(run_chunks(kernels._rule_range, (rule, params, grads), params.size, params.size))


def gram(A, B):
    """A @ B.T in float64, returned in A's dtype: BLAS, once per fit (no kernel to compile)."""
    product = np.dot(np.asarray(A, np.float64), np.asarray(B, np.float64).T)
    return np.ascontiguousarray(product, dtype=A.dtype)


def _head(net, itemsize) -> int:
    """The layers that run in tiles: up to the last one whose weights outgrow TAIL_MAX_BYTES
    (0: every layer runs sample by sample)."""
    large = np.flatnonzero(net.sizes[:-1] * net.sizes[1:] * itemsize > TAIL_MAX_BYTES)
    return int(large[-1]) + 1 if large.size else 0


def _head_forward(flat, net, head, X, rows, inputs=None):
    """The head's layers on X[rows]: ``[(input, rows), ...]`` and ``[(Z, A), ...]`` per layer."""
    layer_inputs, outputs = [], []
    for index, ((W, b), act) in enumerate(zip(layer_views(flat, net.sizes)[:head], net.acts)):
        shape = (rows.shape[0], W.shape[1])
        if inputs is None:
            Z, A, WT = aligned_empty(shape, W.dtype), aligned_empty(shape, W.dtype), None
        else:
            Z, A = (inputs.buffer(f"{name}{index}", shape, W.dtype) for name in "ZA")
            WT = inputs.buffer(f"WT{index}", W.shape[::-1], W.dtype)
        _forward_into(X, rows, W, b, int(act), Z, A, WT)
        layer_inputs.append((X, rows))
        outputs.append((Z, A))
        X, rows = A, np.arange(rows.shape[0])
    return layer_inputs, outputs


def _batch(flat, net, loss, X, rows, Y, grads, inputs=None):
    """``(loss, correct)`` of the batch X[rows] with targets Y[rows]; fills ``grads``: the head
    layer by layer, the tail in one compiled call."""
    head = _head(net, flat.itemsize)
    if head == 0:
        no_input_gradient = np.empty((0, 0), flat.dtype)
        return kernels._gradients_columns(flat, net, 0, loss, X, rows, Y, grads,
                                          no_input_gradient)
    Y = np.ascontiguousarray(Y[rows])
    every = np.arange(rows.shape[0])
    layer_inputs, outputs = _head_forward(flat, net, head, X, rows, inputs)
    Z, A = outputs[-1]
    if head < len(net.acts):
        dA = np.empty_like(A)
        value, correct = kernels._gradients_columns(flat, net, head, loss, A, every, Y, grads, dA)
        dZ = activation_backward(int(net.acts[head - 1]), Z, A, dA)
    else:
        act = int(net.acts[-1])
        value, correct = loss_value(loss, act, Z, A, Y), correct_count(loss, A, Y)
        dZ = output_delta(loss, act, Z, A, Y)
    layers, grad_layers = layer_views(flat, net.sizes), layer_views(grads, net.sizes)
    for layer in range(head - 1, -1, -1):
        (W, _), (dW, db) = layers[layer], grad_layers[layer]
        X_layer, rows_layer = layer_inputs[layer]
        if layer == 0 and net.dual:
            kernels._rows_gradient(dZ, rows_layer, dW)
        else:
            _weights_gradient(X_layer, rows_layer, dZ, dW)
        kernels._column_sums_into(dZ, db)
        if not net.biases[layer]:
            db[:] = 0
        if layer > 0:
            dX = aligned_empty((dZ.shape[0], W.shape[0]), W.dtype)
            _input_gradient(dZ, W, dX)
            dZ = activation_backward(int(net.acts[layer - 1]), *outputs[layer - 1], dX)
    return value, correct


def _layered_step(flat, net, loss, X, Y, rows, grads, rule):
    """One batch X[rows] layer by layer, then the update: ``(loss, correct, finite)``."""
    inputs = X if isinstance(X, _Inputs) else None
    X = X.X if isinstance(X, _Inputs) else np.ascontiguousarray(X)
    rows = np.arange(X.shape[0])[rows] if isinstance(rows, slice) else rows
    value, correct = _batch(flat, net, loss, X, np.ascontiguousarray(rows, np.int64), Y, grads,
                            inputs)
    if not np.isfinite(value):
        return float(value), int(correct), False
    return float(value), int(correct), optimizer_step(rule, flat, grads)


_, _, _, _layered_epochs = _network.bind(globals(), step=_layered_step)


def _work(net, m) -> int:
    """Multiply-adds of a forward pass of m samples."""
    return m * int(np.sum(net.sizes[:-1] * net.sizes[1:]))


def forward(flat, net, X):
    """The output layer's Z and A for X (m, n_in), each (m, k): a batch at a time, in chunks
    of rows on threads."""
    X = np.ascontiguousarray(X)
    m = X.shape[0]
    Z = np.empty((m, int(net.sizes[-1])), flat.dtype)
    A = np.empty_like(Z)
    run_chunks(kernels._forward_chunk, (flat, net, X, Z, A), m, _work(net, m), align=2)
    return Z, A


def evaluate(flat, net, loss, X, Y):
    """``(loss, correct)`` of the network on X, Y, in chunks of rows on threads (the losses
    of the samples are added in one place: no result depends on the threads)."""
    X, Y = np.ascontiguousarray(X), np.ascontiguousarray(Y)
    m = X.shape[0]
    each = np.empty(m)  # float64: the sums of the other backends are float64 too
    correct = run_chunks(kernels._evaluate_chunk, (flat, net, loss, X, Y, each), m,
                         _work(net, m), align=2)
    return float(each.sum() / kernels._loss_scale(loss, m, Y.shape[1])), int(sum(correct))


def loss_and_gradients(flat, net, loss, X, Y, grads):
    """Forward, loss, then backpropagation; fills ``grads`` (flat); ``(loss, correct)``."""
    X, Y = np.ascontiguousarray(X), np.ascontiguousarray(Y)
    value, correct = _batch(flat, net, loss, X, np.arange(X.shape[0]), Y, grads)
    return float(value), int(correct)


def train_epochs(flat, net, loss, inputs, Y, orders, batch_size, rule, engine, out):
    """One epoch of updates per row of ``orders``; see the contract. ``engine``: "layers",
    batch by batch; "samples" or "columns", all of them in one compiled call."""
    if engine == "layers":
        return _layered_epochs(flat, net, loss, inputs, Y, orders, batch_size, rule, engine, out)
    X = inputs.X if isinstance(inputs, _Inputs) else np.ascontiguousarray(inputs)
    train = kernels._train_epochs_columns if engine == "columns" else \
        kernels._train_epochs_samples
    return int(train(flat, net, loss, X, np.ascontiguousarray(Y),
                     np.ascontiguousarray(orders, np.int64), batch_size, rule, out))
