"""Whole-network passes built from one backend's layer kernels.

The loop and numpy backends share this code (``bind`` gives each its own copies); the numba
backend compiles its own version, in which whole epochs run without returning to Python.
"""

import numpy as np

from .. import losses as loss_codes
from ..network import layer_views


def weight_sum(loss, weights, m) -> float:
    """s of ``fastnn.losses``: the batch's summed sample weights (m without weights); 1 for the
    losses that add over samples, and 1 for a batch whose weights add up to 0 (its loss is 0)."""
    if loss in loss_codes.SUM_LOSSES:
        return 1.0
    total = float(m) if weights is None else float(np.sum(weights))
    return total if total > 0 else 1.0


def bind(kernels):
    """Return ``(forward, evaluate, loss_and_gradients, train_epochs)`` built on a backend's
    kernels (``kernels`` maps the layer-kernel names of the backend contract to functions)."""
    take_rows = kernels["take_rows"]
    dense_forward = kernels["dense_forward"]
    activation_backward = kernels["activation_backward"]
    dense_backward = kernels["dense_backward"]
    dual_backward = kernels["dual_backward"]
    loss_value = kernels["loss_value"]
    output_delta = kernels["output_delta"]
    correct_count = kernels["correct_count"]
    l2_penalty = kernels["l2_penalty"]
    optimizer_step = kernels["optimizer_step"]

    def forward(flat, net, X):
        """The output layer's Z and A for X (m, n_in), each (m, k); caches nothing."""
        Z, A = None, X
        for (W, b), act in zip(layer_views(flat, net.sizes), net.acts):
            Z, A = dense_forward(A, W, b, int(act))
        return Z, A

    def evaluate(flat, net, loss, X, Y):
        """``(loss, correct)`` of the network on X, Y."""
        Z, A = forward(flat, net, X)
        act = int(net.acts[-1])
        return loss_value(loss, act, Z, A, Y), correct_count(loss, A, Y)

    def loss_and_gradients(flat, net, objective, X, Y, grads):
        """Forward, loss, then backpropagation by the chain rule; fills ``grads`` (flat);
        ``(loss, correct)``."""
        rows = np.arange(len(Y))  # (a dual net's X is K: its first n rows are the samples)
        return _layer_batch(layer_views(flat, net.sizes), layer_views(grads, net.sizes), net,
                            objective, X, X[:len(Y)], Y, rows)

    def _layer_batch(layers, grad_layers, net, objective, X_all, X, Y, rows):
        """``(loss, correct)`` of the batch X, Y: the samples ``rows`` of X_all; fills the
        gradients (``layers``, ``grad_layers``: ``layer_views`` of the weights and of the
        gradients)."""
        loss, alpha = int(objective.loss), float(objective.alpha)
        weights = objective.weights[rows] if len(objective.weights) else None
        inputs, caches = [], []
        A = X
        for (W, b), act in zip(layers, net.acts):
            inputs.append(A)
            Z, A = dense_forward(A, W, b, int(act))
            caches.append((Z, A))
        Z, A = caches[-1]
        value = loss_value(loss, int(net.acts[-1]), Z, A, Y, weights)
        correct = correct_count(loss, A, Y)
        dZ = output_delta(loss, int(net.acts[-1]), Z, A, Y, weights)
        for layer in range(len(layers) - 1, -1, -1):
            W = layers[layer][0]
            if layer == 0 and net.dual:  # the dual form: the gradient goes to the samples' rows
                dX, (dW, db) = None, dual_backward(dZ, rows, W)
            else:
                dX, dW, db = dense_backward(dZ, inputs[layer], W, layer > 0)
            grad_layers[layer][0][...] = dW
            grad_layers[layer][1][...] = db if net.biases[layer] else 0
            if layer > 0:
                Z, A = caches[layer - 1]
                dZ = activation_backward(int(net.acts[layer - 1]), Z, A, dX)
        if alpha:  # the L2 penalty: alpha / (2 s) sum W^2, its gradient alpha W / s
            s = weight_sum(loss, weights, len(rows))
            penalty = 0.0
            for layer, ((W, _), (dW, _)) in enumerate(zip(layers, grad_layers)):
                penalty += l2_penalty(W, X_all if layer == 0 and net.dual else None)
                dW += (alpha / s) * W
            value += alpha / (2 * s) * penalty
        return value, correct

    def _layer_step(flat, views, net, objective, X, Y, rows, grads, rule):
        """One batch X[rows] (``rows`` a slice or indices): gradients layer by layer, then the
        optimizer's update; returns ``(loss, correct, finite)``. ``views``: the
        ``layer_views`` of flat and of grads."""
        if isinstance(rows, slice):
            X_batch, indices = X[rows], np.arange(*rows.indices(len(Y)))
        else:
            X_batch, indices = take_rows(X, rows), rows
        value, correct = _layer_batch(*views, net, objective, X, X_batch, Y[rows], indices)
        if not np.isfinite(value):
            return value, correct, False
        return value, correct, optimizer_step(rule, flat, grads)

    def train_epochs(flat, net, objective, X, Y, orders, batch_size, rule, engine, out):
        """One epoch of updates per row of ``orders``; returns the epochs completed (see the
        contract). The engine is "layers" here: batch by batch, layer by layer. An epoch's
        loss: ``losses.EpochLoss`` of its batches."""
        grads = np.empty_like(flat)
        views = layer_views(flat, net.sizes), layer_views(grads, net.sizes)
        n = orders.shape[1]
        every = np.arange(n)
        for epoch, order in enumerate(orders):
            in_order = bool((order == every).all())  # then batches are views, not copies
            total = loss_codes.EpochLoss(objective.loss)
            for start in range(0, n, batch_size):
                rows = slice(start, start + batch_size) if in_order else \
                    order[start:start + batch_size]
                value, batch_correct, finite = _layer_step(flat, views, net, objective, X, Y,
                                                           rows, grads, rule)
                if not finite:  # a non-finite loss (no update) or a non-finite update
                    out[epoch] = value, total.correct
                    return epoch
                total.add(value, min(batch_size, n - start), batch_correct)
            out[epoch] = total.value, total.correct
        return len(orders)

    return forward, evaluate, loss_and_gradients, train_epochs
