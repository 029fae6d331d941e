"""Finite-difference gradient check, the one the Coursera course uses."""

import numpy as np

from . import backends, checks
from .network import layer_views


def check_gradients(model, X, y, loss: str | None = None, backend: str = "auto",
                    epsilon: float = 1e-7, sample_weight=None, alpha: float = 0.0) -> float:
    """Relative difference between backpropagation and central differences of the objective.

    ``||g - g_num|| / (||g|| + ||g_num||)`` over every weight, with
    ``g_num[i] = (L(w + eps e_i) - L(w - eps e_i)) / (2 eps)``, L the loss with the samples'
    weights plus the L2 penalty ``alpha`` (``fastnn.losses``). Below about 1e-7 the gradients are
    right. The check runs in float64 on a copy of the weights, whatever the model's dtype: float32
    differences would drown in rounding. Costs two forward passes per weight: use a small batch.
    """
    kernels = backends.get(backend)
    epsilon = checks.positive_float("epsilon", epsilon)
    code = model._loss_code(loss)
    X = checks.features(X, model.input_dim, "float64")
    model._require_built(X)
    Y = checks.targets(y, X.shape[0], model.output_dim, code, "float64")
    objective = model._objective(code, Y, sample_weight, None, alpha)
    flat = model._flat.astype(np.float64)
    net = model._net()
    grads = np.zeros_like(flat)
    kernels.loss_and_gradients(flat, net, objective, X, Y, grads)
    scratch = np.zeros_like(flat)
    numeric = np.zeros_like(flat)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + epsilon
        plus = kernels.loss_and_gradients(flat, net, objective, X, Y, scratch)[0]
        flat[i] = original - epsilon
        minus = kernels.loss_and_gradients(flat, net, objective, X, Y, scratch)[0]
        flat[i] = original
        numeric[i] = (plus - minus) / (2 * epsilon)
    if not net[2].all():  # biases that are not trained have no gradient
        for layer, (_, b) in enumerate(layer_views(numeric, model._sizes)):
            if not net[2][layer]:
                b[...] = 0
    denominator = np.linalg.norm(grads) + np.linalg.norm(numeric)
    if denominator == 0:
        return 0.0
    return float(np.linalg.norm(grads - numeric) / denominator)
