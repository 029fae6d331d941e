"""Loss names, their integer codes, and which output activation fuses with which loss.

Over a batch of ``m`` samples with outputs ``A`` and targets ``Y``, both ``(m, k)``:

- ``mse``: ``sum((A - Y)**2) / (m k)``                      (the seeds' ``mse_loss``)
- ``sse``: ``sum((A - Y)**2)``                              (seed 001)
- ``bce``: ``-sum(Y log A + (1 - Y) log(1 - A)) / (m k)``   (the Coursera cost)
- ``cce``: ``-sum(Y log A) / m``                            (softmax cross-entropy)

The cross-entropies need outputs that are probabilities (``OUTPUTS``): ``bce`` a ``sigmoid``
or ``softmax`` output, ``cce`` a ``softmax`` output; any other pair is refused (as PyTorch's
``BCELoss`` refuses inputs outside [0, 1]). ``mse`` and ``sse`` take any output.

Fused pairs (the output delta dL/dZ is ``(A - Y) / scale``, computed without dividing by A):
``sigmoid`` + ``bce`` and ``softmax`` + ``cce``. Their loss values come from the logits ``Z``
(``log(1 + exp(-|z|))`` and log-sum-exp), so they never take ``log(0)``. The one other
cross-entropy pair, ``softmax`` + ``bce``, clips ``A`` into ``[LOG_EPS, 1 - LOG_EPS]`` in the
logarithms; where an output is clipped the loss is flat in it, so its gradient there is 0.
"""

from . import activations

MSE = 0
SSE = 1
BCE = 2
CCE = 3

LOSSES = {"mse": MSE, "sse": SSE, "bce": BCE, "cce": CCE}

ALIASES = {
    "mean_squared_error": "mse",
    "binary_crossentropy": "bce",
    "categorical_crossentropy": "cce",
    "sparse_categorical_crossentropy": "cce",
}

CLASSIFICATION = frozenset({BCE, CCE})
# The output activations each cross-entropy accepts: those whose outputs are probabilities.
OUTPUTS = {
    BCE: frozenset({activations.SIGMOID, activations.SOFTMAX}),
    CCE: frozenset({activations.SOFTMAX}),
}
SUM_LOSSES = frozenset({SSE})  # losses that add over samples instead of averaging

# Smallest probability the logarithms see when a loss is not fused with its activation
# (Keras' epsilon; the fused pairs need no clipping).
LOG_EPS = 1e-7
