"""Finite-difference gradient check, the one the Coursera course uses."""

import numpy as np

from . import checks
from .layers import Dense
from .model import Sequential


def check_gradients(model: Sequential, X, y, loss: str | None = None, backend: str = "auto",
                    epsilon: float = 1e-7, sample_weight=None, alpha: float = 0.0) -> float:
    """Relative difference between backpropagation and central differences of the objective.

    ``||g - g_num|| / (||g|| + ||g_num||)`` over every weight, with
    ``g_num[i] = (L(w + eps e_i) - L(w - eps e_i)) / (2 eps)``, L the loss with the samples'
    weights plus the L2 penalty ``alpha`` (``fastnn.losses``). The check runs in float64 on a
    copy of the model, whatever its dtype: float32 differences would drown in rounding. Costs
    two passes per weight: use a small batch.

    Parameters
    ----------
    model : Sequential
    X : array-like or sparse matrix, shape (n_samples, n_features)
    y : array-like, shape (n_samples,) or (n_samples, n_out)
    loss : str, optional
    backend : str
    epsilon : float
        The step of the differences (> 0).
    sample_weight : array-like of shape (n_samples,), optional
    alpha : float

    Returns
    -------
    float
        Below about 1e-7 the gradients are right.

    Raises
    ------
    ValueError
        A bad argument, named; a model without layers.
    """
    epsilon = checks.positive_float("epsilon", epsilon)
    if not model.built:
        model.build(np.shape(X)[1] if hasattr(X, "shape") else np.asarray(X).shape[1])
    probe = Sequential([Dense(layer.units, layer.activation, layer.use_bias)
                        for layer in model.layers], input_dim=model.input_dim, init="zeros",
                       dtype="float64")
    weights = [w.astype(np.float64) for w in model.get_weights()]
    probe.set_weights(weights)
    options = {"loss": loss if loss is not None else model.loss, "backend": backend,
               "sample_weight": sample_weight, "alpha": alpha}
    analytic = np.concatenate([g.ravel() for g in probe.loss_and_gradients(X, y, **options)[1]])
    numeric = []
    for index, array in enumerate(weights):
        trained = model.layers[index // 2].use_bias or index % 2 == 0
        for position in np.ndindex(array.shape):
            if not trained:  # a bias that is not trained has no gradient
                numeric.append(0.0)
                continue
            original = array[position]
            values = []
            for step in (epsilon, -epsilon):
                array[position] = original + step
                probe.set_weights(weights)
                values.append(probe.loss_and_gradients(X, y, **options)[0])
            array[position] = original
            numeric.append((values[0] - values[1]) / (2 * epsilon))
    numeric = np.array(numeric)
    denominator = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    if denominator == 0:
        return 0.0
    return float(np.linalg.norm(analytic - numeric) / denominator)
