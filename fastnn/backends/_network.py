"""Whole-network passes built from one backend's layer kernels.

The loop and numpy backends share this code (``bind`` gives each its own copies); the numba backend
compiles its own versions in which the whole epoch runs without returning to Python.
"""

import numpy as np

from .. import losses as loss_codes
from ._layout import layer_views
from ._ops import OPT_SGD


def bind(kernels, step=None):
    """Return ``(forward, loss_and_gradients, train_epoch)`` built on a backend's kernels.

    ``kernels`` maps the layer-kernel names of the backend contract to functions. ``step``, if
    given, replaces the training step of one batch (gradients layer by layer, then the
    optimizer): ``step(flat, net, loss, X, Y, rows, grads, opt) -> (loss, correct)``, ``rows``
    a slice of X or an index array.
    """
    take_rows = kernels["take_rows"]
    dense_forward = kernels["dense_forward"]
    activation_backward = kernels["activation_backward"]
    dense_backward = kernels["dense_backward"]
    loss_value = kernels["loss_value"]
    output_delta = kernels["output_delta"]
    correct_count = kernels["correct_count"]
    sgd_step = kernels["sgd_step"]
    adam_step = kernels["adam_step"]

    def forward(flat, net, X):
        """The output layer's Z and A for X (m, n_in), each (m, k); caches nothing."""
        sizes, acts, _ = net
        Z, A = None, X
        for (W, b), act in zip(layer_views(flat, sizes), acts):
            Z, A = dense_forward(A, W, b, int(act))
        return Z, A

    def loss_and_gradients(flat, net, loss, X, Y, grads):
        """Forward, loss, then backpropagation by the chain rule; fills ``grads`` (flat)."""
        return _layer_batch(flat, net, loss, X, Y, grads)[0]

    def _layer_batch(flat, net, loss, X, Y, grads):
        """``(loss, correct)`` of one batch; fills ``grads``."""
        sizes, acts, biases = net
        layers = layer_views(flat, sizes)
        inputs, caches = [], []
        A = X
        for (W, b), act in zip(layers, acts):
            inputs.append(A)
            Z, A = dense_forward(A, W, b, int(act))
            caches.append((Z, A))
        Z, A = caches[-1]
        value = loss_value(int(loss), int(acts[-1]), Z, A, Y)
        correct = correct_count(int(loss), A, Y)
        dZ = output_delta(int(loss), int(acts[-1]), Z, A, Y)
        grad_layers = layer_views(grads, sizes)
        for layer in range(len(layers) - 1, -1, -1):
            W = layers[layer][0]
            dX, dW, db = dense_backward(dZ, inputs[layer], W, layer > 0)
            grad_layers[layer][0][...] = dW
            grad_layers[layer][1][...] = db if biases[layer] else 0
            if layer > 0:
                Z, A = caches[layer - 1]
                dZ = activation_backward(int(acts[layer - 1]), Z, A, dX)
        return value, correct

    def _layer_step(flat, net, loss, X, Y, rows, grads, opt):
        """One batch X[rows] (``rows`` a slice or indices): gradients layer by layer, then the
        optimizer's update; returns ``(loss, correct)``."""
        X_batch = X[rows] if isinstance(rows, slice) else take_rows(X, rows)
        value, correct = _layer_batch(flat, net, loss, X_batch, Y[rows], grads)
        code, hyper, state1, state2, step = opt
        lr, momentum, beta1, beta2, eps = (float(h) for h in hyper)
        if code == OPT_SGD:
            sgd_step(flat, grads, state1, lr, momentum)
        else:
            step[0] += 1
            adam_step(flat, grads, state1, state2, int(step[0]), lr, beta1, beta2, eps)
        return value, correct

    _step = step or _layer_step

    def train_epoch(flat, net, loss, X, Y, order, batch_size, opt):
        """One epoch of updates; returns ``(loss, correct)`` summed up from the batches.

        Mean losses: the batch losses weighted by batch size, divided by the sample count.
        Sum losses (sse): the batch losses added. Either way, the loss of the whole training set
        if the weights had not moved during the epoch.
        """
        grads = np.empty_like(flat)
        n = len(order)
        in_order = bool((order == np.arange(n)).all())  # then batches are views, not copies
        total, correct = 0.0, 0
        for start in range(0, n, batch_size):
            rows = slice(start, start + batch_size) if in_order else order[start:start + batch_size]
            value, batch_correct = _step(flat, net, loss, X, Y, rows, grads, opt)
            correct += batch_correct
            total += value if loss in loss_codes.SUM_LOSSES else value * min(batch_size, n - start)
        return (total if loss in loss_codes.SUM_LOSSES else total / n), correct

    return forward, loss_and_gradients, train_epoch
