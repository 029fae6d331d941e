"""Whole-network passes built from one backend's layer kernels.

The loop and numpy backends share this code (``bind`` gives each its own copies); the numba
backend compiles its own version, in which whole epochs run without returning to Python.
"""

from typing import NamedTuple

import numpy as np

from .. import losses as loss_codes
from ..network import layer_views


class _Trained(NamedTuple):
    """The flat weights and gradients of a pass, and their ``layer_views`` (made once a
    call: per-sample epochs would pay for them at every batch)."""

    flat: np.ndarray
    grads: np.ndarray
    layers: list
    grad_layers: list

    @classmethod
    def of(cls, flat, grads, net):
        return cls(flat, grads, layer_views(flat, net.sizes), layer_views(grads, net.sizes))


def bind(kernels):
    """Return ``(forward, evaluate, loss_and_gradients, train_epochs)`` built on a backend's
    kernels (``kernels`` maps the layer-kernel names of the backend contract to functions)."""
    take_rows = kernels["take_rows"]
    dense_forward = kernels["dense_forward"]
    dropout_scales = kernels["dropout_scales"]
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
        ``(loss, correct)``. With dropout, the masks of step ``net.masking[1]``, the samples
        at batch positions from ``net.masking[2]``."""
        rows = np.arange(len(Y))  # (a dual net's X is K: its first n rows are the samples)
        return _layer_batch(_Trained.of(flat, grads, net), net, objective, X, (X[:len(Y)], rows),
                            Y, (int(net.masking[1]), int(net.masking[2])))

    def _dropped(net, layer, A, at):
        """(A with the units dropout drops from ``layer``'s inputs, their factors M), or (A,
        None) where that layer drops nothing; ``at``: (step, position of A's first row)."""
        if not net.drops.shape[0] or net.drops[layer] == 0:
            return A, None
        M = np.empty_like(A)
        dropout_scales(int(net.masking[0]), at[0], layer, at[1], float(net.drops[layer]), M)
        return A * M, M

    def _layer_batch(trained, net, objective, X_all, batch, Y, at):
        """``(loss, correct)`` of ``batch`` = (X, rows): the inputs X of the samples ``rows``
        of X_all, their targets Y; fills the gradients (``trained``: ``_Trained``). ``at``:
        (step, position of the first sample) of dropout's masks."""
        (X, rows), layers, grad_layers = batch, trained.layers, trained.grad_layers
        loss, alpha = int(objective.loss), float(objective.alpha)
        weights = objective.sample_weights[rows] if len(objective.sample_weights) else None
        inputs, scales, caches = [], [], []
        A = X
        for layer, ((W, b), act) in enumerate(zip(layers, net.acts)):
            A, M = _dropped(net, layer, A, at)
            inputs.append(A)
            scales.append(M)
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
                if scales[layer] is not None:  # (dropped units pass no gradient back)
                    dX = dX * scales[layer]
                dZ = activation_backward(int(net.acts[layer - 1]), Z, A, dX)
        value += loss_codes.add_penalty(
            layers, grad_layers, alpha, loss_codes.weight_sum(loss, weights, len(rows)),
            lambda W, layer: l2_penalty(W, X_all if layer == 0 and net.dual else None))
        return value, correct

    def _layer_step(trained, net, objective, X, Y, rows, rule):
        """One batch X[rows] (``rows`` a slice or indices): gradients layer by layer, then the
        optimizer's update; returns ``(loss, correct, finite)``."""
        if isinstance(rows, slice):
            batch = X[rows], np.arange(*rows.indices(len(Y)))
        else:
            batch = take_rows(X, rows), rows
        value, correct = _layer_batch(trained, net, objective, X, batch, Y[rows],
                                      (int(rule.step[0]), 0))
        if not np.isfinite(value):
            return value, correct, False
        return value, correct, optimizer_step(rule, trained.flat, trained.grads)

    def train_epochs(flat, net, objective, batches, rule, out):
        """One epoch of updates per row of ``batches.orders``; returns the epochs completed
        (see the contract): batch by batch, layer by layer. An epoch's loss:
        ``losses.EpochLoss`` of its batches."""
        X, Y, orders, batch_size = batches
        trained = _Trained.of(flat, np.empty_like(flat), net)
        n = orders.shape[1]
        every = np.arange(n)
        for epoch, order in enumerate(orders):
            in_order = bool((order == every).all())  # then batches are views, not copies
            total = loss_codes.EpochLoss(objective.loss)
            for start in range(0, n, batch_size):
                rows = slice(start, start + batch_size) if in_order else \
                    order[start:start + batch_size]
                value, batch_correct, finite = _layer_step(trained, net, objective, X, Y, rows,
                                                           rule)
                if not finite:  # a non-finite loss (no update) or a non-finite update
                    out[epoch] = value, total.correct
                    return epoch
                total.add(value, min(batch_size, n - start), batch_correct)
            out[epoch] = total.value, total.correct
        return len(orders)

    return forward, evaluate, loss_and_gradients, train_epochs
