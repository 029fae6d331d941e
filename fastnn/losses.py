"""Loss names, their integer codes, and which output activation fuses with which loss.

Over a batch of ``m`` samples with outputs ``A`` and targets ``Y``, both ``(m, k)``, and
per-sample weights ``w`` (all 1 unless ``fit(sample_weight=...)``; ``s = sum(w)``):

- ``mse``: ``sum_i w_i sum_j (A_ij - Y_ij)**2 / (s k)``           (the seeds' ``mse_loss``)
- ``sse``: ``sum_i w_i sum_j (A_ij - Y_ij)**2``                   (seed 001)
- ``bce``: ``-sum_i w_i sum_j [Y log A + (1 - Y) log(1 - A)]_ij / (s k)``   (the Coursera cost)
- ``cce``: ``-sum_i w_i sum_j Y_ij log A_ij / s``                 (softmax cross-entropy)
- ``poisson``: ``sum_i w_i sum_j [A - Y log A + Y log Y - Y]_ij / (s k)`` (half the Poisson
  deviance, scikit-learn's; Y >= 0)

With all weights 1 these are the plain means (sums for sse). The L2 penalty of ``fit(alpha=)``
adds ``alpha / (2 s) * sum of every squared weight`` (biases excluded; sse: ``s = 1``),
scikit-learn's meaning.

The cross-entropies need outputs that are probabilities (``OUTPUTS``): ``bce`` a ``sigmoid``
or ``softmax`` output, ``cce`` a ``softmax`` output; ``poisson`` needs a positive rate, an
``exp`` output. Any other pair is refused (as PyTorch's ``BCELoss`` refuses inputs outside
[0, 1]). ``mse`` and ``sse`` take any output.

Fused pairs (the output delta dL/dZ is ``w_i (A - Y) / scale``, computed without dividing by
A): ``sigmoid`` + ``bce``, ``softmax`` + ``cce`` and ``exp`` + ``poisson``. Their loss values
come from the logits ``Z`` (``log(1 + exp(-|z|))``, log-sum-exp, ``exp(z) - y z``), so they
never take ``log(0)``. The one other cross-entropy pair, ``softmax`` + ``bce``, clips ``A`` into
``[LOG_EPS, 1 - LOG_EPS]`` in the logarithms; where an output is clipped the loss is flat in
it, so its gradient there is 0.
"""

import numpy as np

from . import activations

MSE = 0
SSE = 1
BCE = 2
CCE = 3
POISSON = 4

LOSSES = {"mse": MSE, "sse": SSE, "bce": BCE, "cce": CCE, "poisson": POISSON}

ALIASES = {
    "mean_squared_error": "mse",
    "binary_crossentropy": "bce",
    "categorical_crossentropy": "cce",
    "sparse_categorical_crossentropy": "cce",
}

CLASSIFICATION = frozenset({BCE, CCE})
# The output activations each loss accepts where it does not take any: those whose outputs are
# probabilities (the cross-entropies), or positive rates (poisson).
OUTPUTS = {
    BCE: frozenset({activations.SIGMOID, activations.SOFTMAX}),
    CCE: frozenset({activations.SOFTMAX}),
    POISSON: frozenset({activations.EXP}),
}
SUM_LOSSES = frozenset({SSE})  # losses that add over samples instead of averaging

# Smallest probability the logarithms see when a loss is not fused with its activation
# (Keras' epsilon; the fused pairs need no clipping).
LOG_EPS = 1e-7
PER_SAMPLE = frozenset({CCE, SSE})  # losses not divided by the outputs per sample k


def fused(loss: int, act: int) -> bool:
    """Whether dL/dZ of the output is ``w_i (A - Y) / scale``: the pairs sigmoid + bce,
    softmax + cce and exp + poisson (the only pairs cce and poisson take: ``OUTPUTS``)."""
    return ((loss == BCE and act == activations.SIGMOID)
            or (loss == CCE and act == activations.SOFTMAX)
            or (loss == POISSON and act == activations.EXP))


def weight_sum(loss: int, weights, m: int) -> float:
    """s: a batch's summed sample weights (``weights`` None or empty: its size m); 1 for the
    losses that add over samples, and 1 for a batch whose weights add up to 0 (its loss is
    then 0)."""
    if loss in SUM_LOSSES:
        return 1.0
    total = float(m) if weights is None or not len(weights) else float(np.sum(weights))
    return total if total > 0 else 1.0


def scale(loss: int, s: float, k: int) -> float:
    """What a batch's weighted sum of sample losses is divided by: s, times the outputs per
    sample k for the losses that average over them."""
    return s if loss in PER_SAMPLE else s * k


def divisor(loss: int, weights, m: int, k: int) -> float:
    """A batch's: its ``scale`` of its ``weight_sum`` (m samples, k outputs each)."""
    return scale(loss, weight_sum(loss, weights, m), k)


def squared_norm(W, layer: int) -> float:
    """The sum of W's squared entries (``add_penalty``'s default)."""
    return float(np.dot(W.ravel(), W.ravel()))


def add_penalty(layers, grad_layers, alpha: float, s: float, squared=squared_norm) -> float:
    """The L2 penalty of a batch whose weight sum is s: adds ``alpha W / s`` to each layer's
    weight gradient, returns ``alpha / (2 s) * sum W^2`` (biases excluded). ``layers``,
    ``grad_layers``: ``network.layer_views`` of the weights and of their gradients;
    ``squared(W, layer)``: a layer's sum of squared weights (a dual first layer's is that of
    the primal weights it stands for: the backend's ``l2_penalty`` with its Gram matrix)."""
    if not alpha:
        return 0.0
    total = 0.0
    for layer, ((W, _), (dW, _)) in enumerate(zip(layers, grad_layers)):
        total += squared(W, layer)
        dW += (alpha / s) * W
    return alpha / (2 * s) * total


def accuracy(loss: int, correct: int, Y) -> float:
    """The share of correct predictions (``correct_count``) on targets Y (n, k): per sample
    for cce, per output for bce."""
    return correct / (Y.shape[0] if loss == CCE else Y.size)


class EpochLoss:
    """An epoch's loss and correct predictions from its parts (batches, windows, a rank's
    shares): each part's loss weighted by its samples over the epoch's (sse: the parts' losses
    added): the loss of the whole set if the weights had not moved during the epoch. (The
    numba engine keeps the same sums in compiled code.)"""

    def __init__(self, loss: int):
        self.adds = loss in SUM_LOSSES
        self.total, self.samples, self.correct = 0.0, 0, 0

    def add(self, value: float, samples: int, correct: int = 0) -> None:
        """A part of ``samples`` samples whose loss was ``value``."""
        self.total += value if self.adds else value * samples
        self.samples += samples
        self.correct += int(correct)

    @property
    def value(self) -> float:
        return self.total if self.adds else self.total / self.samples
