"""Loss names, their integer codes, and which output activation fuses with which loss.

Over a batch of ``m`` samples with outputs ``A`` and targets ``Y``, both ``(m, k)``:

- ``mse``: ``sum((A - Y)**2) / (m k)``                      (the seeds' ``mse_loss``)
- ``sse``: ``sum((A - Y)**2)``                              (seed 001)
- ``bce``: ``-sum(Y log A + (1 - Y) log(1 - A)) / (m k)``   (the Coursera cost)
- ``cce``: ``-sum(Y log A) / m``                            (softmax cross-entropy)

Fused pairs (the output delta dL/dZ is ``(A - Y) / scale``, computed without dividing by A):
``sigmoid`` + ``bce`` and ``softmax`` + ``cce``. Their loss values come from the logits ``Z``
(``log(1 + exp(-|z|))`` and log-sum-exp), so they never take ``log(0)``. Every other pair goes
through ``dL/dA`` and the activation's backward pass, with ``A`` clipped away from 0 and 1 in the
logarithms.
"""

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
SUM_LOSSES = frozenset({SSE})  # losses that add over samples instead of averaging

# Smallest probability the logarithms see when a loss is not fused with its activation
# (Keras' epsilon; the fused pairs need no clipping).
LOG_EPS = 1e-7
