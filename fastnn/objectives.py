"""What a fit minimizes (``fastnn.losses``): the loss, each sample's term weighted, plus the L2
penalty ``alpha / (2 s) * sum W^2`` (s: the batch's summed weights), scikit-learn's.

Per-sample weights come from ``sample_weight`` times the weight of each sample's class
(``class_weight``: a dict ``{class: weight}``, classes absent from it weigh 1, or
``"balanced"``: ``n_samples / (n_classes * count of the class)`` over the classes present, as
scikit-learn's ``compute_class_weight``). A class is a sample's target class: its one-hot
column for ``cce``, its 0/1 label for ``bce`` with one output.
"""

import numbers

import numpy as np

from . import checks, losses
from .network import Objective

NO_WEIGHTS = np.empty(0)


def sample_weights(sample_weight, class_weight, Y: np.ndarray, loss: int) -> np.ndarray:
    """The training samples' weights, float64 (n,), checked; empty when neither is given."""
    weights = np.ones(Y.shape[0])
    if sample_weight is not None:
        weights = checks.sample_weight(sample_weight, Y.shape[0])
    if class_weight is not None:
        weights *= _class_weights(class_weight, Y, loss)
    if sample_weight is None and class_weight is None:
        return NO_WEIGHTS
    if weights.sum() <= 0:
        raise ValueError("sample_weight: the weights are all zero: no sample would count")
    return weights


def _class_weights(class_weight, Y: np.ndarray, loss: int) -> np.ndarray:
    """Each sample's class weight (n,)."""
    if loss == losses.CCE:
        classes, n_classes = Y.argmax(axis=1), Y.shape[1]
    elif loss == losses.BCE and Y.shape[1] == 1:
        classes, n_classes = Y[:, 0].astype(np.int64), 2
    else:
        raise ValueError("class_weight: needs one class per sample: loss 'cce', or 'bce' with "
                         f"one output (this fit has {Y.shape[1]} outputs, loss "
                         f"{next(k for k, v in losses.LOSSES.items() if v == loss)!r})")
    counts = np.bincount(classes, minlength=n_classes)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight: expected 'balanced' or a dict {{class: weight}}, "
                             f"got {class_weight!r}")
        table = np.zeros(n_classes)
        present = counts > 0
        table[present] = len(classes) / (present.sum() * counts[present])
        return table[classes]
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight: expected 'balanced' or a dict {{class: weight}}, got "
                        f"{type(class_weight).__name__}")
    table = np.ones(n_classes)
    for key, value in class_weight.items():
        if isinstance(key, bool) or not isinstance(key, numbers.Integral) \
                or not 0 <= key < n_classes:
            raise ValueError(f"class_weight: unknown class {key!r}; the classes are 0 to "
                             f"{n_classes - 1}")
        table[key] = checks.positive_float(f"class_weight[{key}]", value, allow_zero=True)
    return table[classes]


def objective(loss: int, alpha: float, weights: np.ndarray) -> Objective:
    """The ``Objective`` the kernels take."""
    return Objective(int(loss), float(alpha), weights)


def weight_sum(loss: int, weights: np.ndarray, rows) -> float:
    """``losses.weight_sum`` of the samples ``rows`` (indices) of a fit's weights (empty: all
    1)."""
    return losses.weight_sum(loss, weights[rows] if len(weights) else None, len(rows))
